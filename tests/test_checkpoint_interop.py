"""A checkpoint file moves between PyTorch and scratchgen, and the model computes the same.

torch model -> state dict file (.safetensors or .npz) -> sg.load -> our model's
load_state_dict -> same outputs as torch; and the reverse direction.
"""

import numpy as np
import pytest

import scratchgen as sg
from benchmarks.reference_models import conv_vae, dcgan

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


def torch_state_to_file(module, path):
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    if path.suffix == ".safetensors":
        safetensors_torch.save_file(state, str(path))
    else:
        np.savez(path, **{k: v.numpy() for k, v in state.items()})


def file_to_torch_state(path):
    if path.suffix == ".safetensors":
        return safetensors_torch.load_file(str(path))
    with np.load(path) as arrays:
        return {k: torch.from_numpy(arrays[k]) for k in arrays.files}


def build_pair(builder):
    torch.manual_seed(0)
    sg.manual_seed(1)  # different initial weights: only the file can make them agree
    theirs = builder(torch)
    ours = builder(sg)
    return ours, theirs


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_torch_checkpoint_runs_in_scratchgen(tmp_path, suffix):
    (ours_g, ours_d), (theirs_g, theirs_d) = build_pair(dcgan)
    path_g, path_d = tmp_path / f"g{suffix}", tmp_path / f"d{suffix}"
    torch_state_to_file(theirs_g, path_g)
    torch_state_to_file(theirs_d, path_d)
    ours_g.load_state_dict(sg.load(path_g))
    ours_d.load_state_dict(sg.load(path_d))
    for module in (ours_g, ours_d, theirs_g, theirs_d):
        module.eval()  # batch norm on its running statistics
    z = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)
    with torch.no_grad():
        expected_images = theirs_g(torch.from_numpy(z))
        expected_logits = theirs_d(expected_images)
    with sg.no_grad():
        images = ours_g(sg.tensor(z))
        logits = ours_d(images)
    np.testing.assert_allclose(images.numpy(), expected_images.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits.numpy(), expected_logits.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_scratchgen_checkpoint_runs_in_torch(tmp_path, suffix):
    (ours_enc, ours_dec), (theirs_enc, theirs_dec) = build_pair(conv_vae)
    sg.save(ours_enc.state_dict(), tmp_path / f"enc{suffix}")
    sg.save(ours_dec.state_dict(), tmp_path / f"dec{suffix}")
    theirs_enc.load_state_dict(file_to_torch_state(tmp_path / f"enc{suffix}"))
    theirs_dec.load_state_dict(file_to_torch_state(tmp_path / f"dec{suffix}"))
    x = np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)
    with sg.no_grad():
        ours = ours_dec(ours_enc(sg.tensor(x))[:, :16])
    with torch.no_grad():
        theirs = theirs_dec(theirs_enc(torch.from_numpy(x))[:, :16])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-5)
