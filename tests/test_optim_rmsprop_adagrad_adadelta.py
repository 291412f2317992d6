"""RMSprop, Adagrad and Adadelta: torch conformance, state dicts, properties, bad input.

The conformance tests reuse tests/test_optim.py's tiny MLP problem: the same float64
initial parameters in scratchgen and torch, 20 steps, the parameters compared after each.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, floats
from test_optim import (
    TRAJECTORY_TOLERANCE,
    a_param,
    assert_same_trajectory,
    resume_half_way,
    sg_params,
    sg_run,
    torch_run,
)

import scratchgen as sg
from scratchgen import optim

RMSPROP_CASES = [
    dict(),
    dict(lr=1e-3, alpha=0.9, eps=1e-6),
    dict(momentum=0.9),
    dict(centered=True),
    dict(momentum=0.5, centered=True, weight_decay=0.1),
    dict(weight_decay=0.05, maximize=True),
]
ADAGRAD_CASES = [
    dict(),
    dict(lr=0.1, lr_decay=0.05),
    dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6),
    dict(weight_decay=0.1),
    dict(lr=0.05, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1, maximize=True),
]
ADADELTA_CASES = [
    dict(),
    dict(lr=0.5, rho=0.5, eps=1e-4),
    dict(weight_decay=0.1),
    dict(rho=0.95, weight_decay=0.05, maximize=True),
]
CASES = (
    [("RMSprop", kwargs) for kwargs in RMSPROP_CASES]
    + [("Adagrad", kwargs) for kwargs in ADAGRAD_CASES]
    + [("Adadelta", kwargs) for kwargs in ADADELTA_CASES]
)
CASE_IDS = [
    f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'defaults'}"
    for name, kwargs in CASES
]
NAMES = ["RMSprop", "Adagrad", "Adadelta"]


def state_as_numpy(state):
    """One parameter's state, the Tensors (torch's or ours) as NumPy arrays."""
    return {
        key: np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        for key, value in state.items()
    }


def assert_same_state_dict(mine, ref):
    assert sorted(mine) == ["param_groups", "state"]
    assert sorted(mine["state"]) == sorted(ref["state"])
    for index, ref_state in ref["state"].items():
        ours, theirs = state_as_numpy(mine["state"][index]), state_as_numpy(ref_state)
        assert set(ours) == set(theirs)
        for key, value in theirs.items():
            np.testing.assert_allclose(ours[key], value, **TRAJECTORY_TOLERANCE, err_msg=key)
    for group, ref_group in zip(mine["param_groups"], ref["param_groups"]):
        assert group["params"] == ref_group["params"]
        for option, value in group.items():
            assert ref_group[option] == value, option


# -- torch conformance --------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_trajectory_matches_torch(device, name, kwargs):
    torch = pytest.importorskip("torch")
    ours, optimizer, _ = sg_run(name, kwargs, device)
    theirs, torch_optimizer = torch_run(torch, name, kwargs)
    assert_same_trajectory(ours, theirs, **TRAJECTORY_TOLERANCE)
    assert_same_state_dict(optimizer.state_dict(), torch_optimizer.state_dict())


@pytest.mark.parametrize("name", NAMES)
def test_defaults_are_torchs(name):
    torch = pytest.importorskip("torch")
    ours = getattr(optim, name)([a_param()]).defaults
    theirs = getattr(torch.optim, name)([torch.zeros(3, requires_grad=True)]).defaults
    assert ours == {option: theirs[option] for option in ours}


def test_adagrad_holds_state_for_every_parameter_from_the_start_as_torch_does(device):
    torch = pytest.importorskip("torch")
    used, unused = sg_params([np.ones(2), np.ones(3)], device)
    optimizer = optim.Adagrad([used, unused], initial_accumulator_value=0.25)
    torch_used, torch_unused = (torch.ones(n, requires_grad=True) for n in (2, 3))
    torch_optimizer = torch.optim.Adagrad(
        [torch_used, torch_unused], initial_accumulator_value=0.25
    )
    assert_same_state_dict(optimizer.state_dict(), torch_optimizer.state_dict())
    for params, opt in [([used], optimizer), ([torch_used], torch_optimizer)]:
        (params[0] ** 3).sum().backward()
        opt.step()
    assert_same_state_dict(optimizer.state_dict(), torch_optimizer.state_dict())
    np.testing.assert_array_equal(optimizer.state[unused]["sum"].numpy(), [0.25] * 3)
    assert optimizer.state[unused]["step"] == 0 and optimizer.state[used]["step"] == 1


def test_adagrad_groups_fill_the_sum_from_their_own_initial_value(device):
    first, second = sg_params([np.zeros(2), np.zeros(2)], device)
    optimizer = optim.Adagrad(
        [{"params": [first]}, {"params": [second], "initial_accumulator_value": 2.0}],
        initial_accumulator_value=0.5,
    )
    optimizer.add_param_group({"params": sg_params([np.zeros(1)], device)})
    sums = [optimizer.state[p]["sum"].numpy() for g in optimizer.param_groups for p in g["params"]]
    assert [s.tolist() for s in sums] == [[0.5, 0.5], [2.0, 2.0], [0.5]]


# -- behaviour ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_step_updates_in_place_and_never_writes_the_gradient(device, name):
    # w.sum()'s gradient reaches w as a read-only broadcast view, which must stay untouched
    w = sg.tensor(np.arange(6.0).reshape(2, 3), device=device, requires_grad=True)
    array = w.data
    optimizer = getattr(optim, name)([w], lr=0.1, weight_decay=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        w.sum().backward()
        optimizer.step()
        np.testing.assert_array_equal(w.grad.numpy(), np.ones((2, 3)))
    assert w.data is array
    assert np.all(w.numpy() < np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("RMSprop", dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=0.01)),
        ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.3)),
        ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.01, maximize=True)),
    ],
)
def test_state_dict_round_trip_continues_bit_exactly(device, name, kwargs):
    resumed, checkpoint, params, second_half, uninterrupted = resume_half_way(name, kwargs, device)
    assert resumed.param_groups[0] == {**checkpoint["param_groups"][0], "params": params}
    for mine, ref in zip(second_half[-1], uninterrupted[-1]):
        np.testing.assert_array_equal(mine, ref)


# -- properties ---------------------------------------------------------------------------

SETTINGS = {
    "RMSprop": st.fixed_dictionaries(
        dict(
            lr=floats(0.0, 1.0),
            alpha=floats(0.5, 0.99),
            momentum=floats(0.0, 0.9),
            centered=st.booleans(),
            maximize=st.booleans(),
        )
    ),
    "Adagrad": st.fixed_dictionaries(
        dict(
            lr=floats(0.0, 1.0),
            lr_decay=floats(0.0, 1.0),
            initial_accumulator_value=floats(0.0, 1.0),
            maximize=st.booleans(),
        )
    ),
    "Adadelta": st.fixed_dictionaries(
        dict(lr=floats(0.0, 2.0), rho=floats(0.0, 1.0), maximize=st.booleans())
    ),
}


def grads_with_zero_coordinates(draw, shape, steps):
    """``steps`` gradients of ``shape``, all zero on a drawn mask of coordinates."""
    frozen = draw(arrays(shape)) > 0
    gradients = [draw(arrays(shape)) for _ in range(steps)]
    return frozen, [np.where(frozen, 0.0, g) for g in gradients]


def run_steps(optimizer_cls, kwargs, start, gradients):
    """Parameters after each step with the given gradients (set by hand, no backward)."""
    param = sg.tensor(start, requires_grad=True)
    optimizer = optimizer_cls([param], **kwargs)
    trajectory = []
    for grad in gradients:
        param.grad = sg.tensor(grad)
        optimizer.step()
        trajectory.append(param.numpy().copy())
    return trajectory, optimizer.state[param]


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data(), steps=st.integers(1, 6))
def test_coordinates_with_zero_gradient_never_move(name, data, steps):
    kwargs = data.draw(SETTINGS[name])
    start = data.draw(arrays((3, 4)))
    frozen, gradients = grads_with_zero_coordinates(data.draw, (3, 4), steps)
    trajectory, _ = run_steps(getattr(optim, name), kwargs, start, gradients)
    for param in trajectory:
        np.testing.assert_array_equal(param[frozen], start[frozen])


@given(data=st.data(), steps=st.integers(1, 8))
def test_adagrad_sum_grows_by_the_squared_gradients_and_steps_stay_within_lr(data, steps):
    kwargs = data.draw(SETTINGS["Adagrad"])
    start = data.draw(arrays((5,)))
    gradients = [data.draw(arrays((5,))) for _ in range(steps)]
    param = sg.tensor(start, requires_grad=True)
    optimizer = optim.Adagrad([param], **kwargs)
    sums = [optimizer.state[param]["sum"].numpy().copy()]
    positions = [start]
    for grad in gradients:
        param.grad = sg.tensor(grad)
        optimizer.step()
        sums.append(optimizer.state[param]["sum"].numpy().copy())
        positions.append(param.numpy().copy())
    np.testing.assert_allclose(np.diff(sums, axis=0), np.square(gradients), rtol=1e-12, atol=1e-12)
    assert np.all(np.diff(sums, axis=0) >= 0)
    decayed_lrs = kwargs["lr"] / (1 + np.arange(steps) * kwargs["lr_decay"])
    rounding = 4e-16 * np.abs(positions).max()  # the difference of two float64 positions
    assert np.all(
        np.abs(np.diff(positions, axis=0)) <= decayed_lrs[:, None] * (1 + 1e-12) + rounding
    )


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lr", [-1, float("nan"), "0.1", None])
def test_bad_learning_rate(device, name, lr):
    with pytest.raises(ValueError, match=rf"{name}: expected lr >= 0, got {lr!r}"):
        getattr(optim, name)([a_param(device)], lr=lr)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("RMSprop", dict(eps=-1e-8), r"eps >= 0, got -1e-08"),
        ("RMSprop", dict(weight_decay=-0.1), r"weight_decay >= 0, got -0.1"),
        ("RMSprop", dict(momentum=-0.9), r"momentum >= 0, got -0.9"),
        ("RMSprop", dict(alpha=1.5), r"alpha in \[0, 1\], got 1.5"),
        ("RMSprop", dict(alpha=-0.1), r"alpha in \[0, 1\], got -0.1"),
        ("Adagrad", dict(lr_decay=-0.1), r"lr_decay >= 0, got -0.1"),
        ("Adagrad", dict(weight_decay=-1), r"weight_decay >= 0, got -1"),
        ("Adagrad", dict(initial_accumulator_value=-0.5), r"initial_accumulator_value >= 0"),
        ("Adagrad", dict(eps=True), r"eps >= 0, got True"),
        ("Adadelta", dict(rho=1.1), r"rho in \[0, 1\], got 1.1"),
        ("Adadelta", dict(rho="0.9"), r"rho in \[0, 1\], got '0.9'"),
        ("Adadelta", dict(eps=-1e-6), r"eps >= 0, got -1e-06"),
        ("Adadelta", dict(weight_decay=-0.1), r"weight_decay >= 0, got -0.1"),
    ],
)
def test_bad_options(device, name, kwargs, message):
    with pytest.raises(ValueError, match=f"{name}: expected {message}"):
        getattr(optim, name)([a_param(device)], **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_bad_option_in_a_group(device, name):
    groups = [{"params": [a_param(device)]}, {"params": [a_param(device)], "weight_decay": -2}]
    with pytest.raises(ValueError, match=f"{name}: expected weight_decay >= 0, got -2"):
        getattr(optim, name)(groups)
