"""Test configuration: the device option and hypothesis profiles.

Every test that takes the ``device`` fixture runs once per selected device:
    pytest                      # cpu
    pytest --device cuda        # cuda (skipped cleanly where CuPy or a GPU is missing)
    pytest --device all         # both
The environment variable SCRATCHGEN_TEST_DEVICE sets the default.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

import scratchgen as sg

settings.register_profile(
    "default",
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # `device` is a constant string
    ],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default=os.environ.get("SCRATCHGEN_TEST_DEVICE", "cpu"),
        choices=["cpu", "cuda", "all"],
        help="device(s) to run the device-parametrised tests on",
    )


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--device")
        devices = ["cpu", "cuda"] if chosen == "all" else [chosen]
        metafunc.parametrize("device", devices, indirect=True)


@pytest.fixture
def device(request):
    if request.param == "cuda" and not sg.cuda.is_available():
        pytest.skip("CUDA device requested but CuPy or a GPU is not available")
    return request.param


@pytest.fixture(autouse=True)
def _seeded():
    sg.manual_seed(0)
