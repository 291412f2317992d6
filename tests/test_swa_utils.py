"""optim.swa_utils.update_bn: batch-norm statistics measured again for the current weights."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from benchmarks.reference_models import dcgan
from scratchgen import nn
from scratchgen.optim.swa_utils import update_bn


def batch_norm_layers(model):
    return [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]


@given(
    batches=st.integers(1, 4),
    batch_size=st.integers(2, 6),
    seed=st.integers(0, 2**16),
)
def test_running_statistics_are_the_average_of_the_batch_statistics(batches, batch_size, seed):
    rng = np.random.default_rng(seed)
    data = [rng.normal(3.0, 2.0, (batch_size, 5)) for _ in range(batches)]
    layer = nn.BatchNorm1d(5).double()
    layer.running_mean.data[...] = 7.0  # stale statistics that must be forgotten
    update_bn([sg.tensor(x) for x in data], layer)
    expected_mean = np.mean([x.mean(axis=0) for x in data], axis=0)
    expected_var = np.mean([x.var(axis=0, ddof=1) for x in data], axis=0)
    np.testing.assert_allclose(layer.running_mean.numpy(), expected_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), expected_var, rtol=1e-12)
    assert layer.num_batches_tracked.item() == batches


def test_mode_and_momentum_are_restored(device):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=0.3)).to(device)
    model.eval()
    update_bn([sg.randn(8, 3, device=device), (sg.randn(8, 3, device=device), "label")], model)
    assert not model.training and not model[1].training
    assert model[1].momentum == 0.3
    assert model[1].num_batches_tracked.item() == 2  # a list's first item is the input


def test_a_model_without_batch_norm_is_left_alone(device):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU()).to(device).eval()
    first = sg.randn(8, 3, device=device)
    batches = iter([first])
    update_bn(batches, model)
    assert not model.training
    assert next(batches) is first  # returned before reading any input, as torch does


def test_matches_torch_update_bn_on_the_dcgan_generator():
    torch = pytest.importorskip("torch")
    from torch.optim.swa_utils import update_bn as torch_update_bn

    theirs, _ = dcgan(torch)
    ours, _ = dcgan(sg)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    latents = [rng.standard_normal((16, 64)).astype(np.float32) for _ in range(3)]
    torch_update_bn([torch.from_numpy(z) for z in latents], theirs)
    update_bn([sg.tensor(z) for z in latents], ours)
    expected = theirs.state_dict()
    for name, value in ours.state_dict().items():
        if "running" in name or "num_batches" in name:
            np.testing.assert_allclose(
                value.numpy(),
                expected[name].numpy(),
                rtol=1e-4,
                atol=1e-6,
                err_msg=name,
            )
    assert len(batch_norm_layers(ours)) == 2
