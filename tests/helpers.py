"""One helper to test an op: gradcheck it, and compare it with PyTorch (as tinygrad does).

    check_op(lambda x, y: x * y, lambda x, y: x * y, [a, b], device)

runs the scratchgen function on float64 Tensors made from the arrays, gradchecks it
with a random upstream gradient, and (if torch is installed) compares its outputs and
gradients with the torch function on the same arrays.
"""

import numpy as np
import pytest

import scratchgen as sg

try:
    import torch
except ImportError:  # conformance checks skip cleanly without torch
    torch = None

# tolerances by dtype (as Chainer sets them)
TOLERANCES = {
    np.dtype("float64"): dict(rtol=1e-7, atol=1e-10),
    np.dtype("float32"): dict(rtol=1e-4, atol=1e-5),
}


def to_sg(arrays, device, requires_grad=True, dtype=None):
    """Tensors on device; floating arrays (cast to dtype if given) require grad."""
    tensors = []
    for a in arrays:
        a = np.asarray(a)
        floating = a.dtype.kind == "f"
        if floating and dtype is not None:
            a = a.astype(dtype)
        tensors.append(sg.tensor(a, device=device, requires_grad=requires_grad and floating))
    return tensors


def to_torch(arrays, requires_grad=True, dtype=None):
    tensors = []
    for a in arrays:
        a = np.asarray(a)
        floating = a.dtype.kind == "f"
        if floating and dtype is not None:
            a = a.astype(dtype)
        t = torch.from_numpy(a.copy())
        tensors.append(t.requires_grad_(requires_grad and floating))
    return tensors


def as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def check_gradient(sg_fn, arrays, device, **tolerances):
    """Float64 gradcheck of sg_fn at the arrays (random upstream gradient)."""
    inputs = to_sg(arrays, device, dtype=np.float64)
    assert sg.gradcheck(sg_fn, inputs, **tolerances)


def check_against_torch(sg_fn, torch_fn, arrays, device, dtype=np.float64, seed=0, grad=True):
    """Outputs and input gradients of sg_fn equal torch_fn's on the same inputs."""
    if torch is None:
        pytest.skip("torch is not installed")
    tol = TOLERANCES[np.dtype(dtype)]
    ours = to_sg(arrays, device, requires_grad=grad, dtype=dtype)
    theirs = to_torch(arrays, requires_grad=grad, dtype=dtype)
    our_out = as_tuple(sg_fn(*ours))
    their_out = as_tuple(torch_fn(*theirs))
    assert len(our_out) == len(their_out)
    for mine, ref in zip(our_out, their_out):
        assert mine.shape == tuple(ref.shape), (mine.shape, tuple(ref.shape))
        np.testing.assert_allclose(mine.numpy(), ref.detach().numpy(), **tol)
    if not grad:
        return
    rng = np.random.default_rng([seed, 1])  # not the inputs' stream: see gradcheck._random_like
    pairs = [(m, r) for m, r in zip(our_out, their_out) if r.requires_grad]
    if not pairs:
        return
    upstream = [rng.standard_normal(r.shape).astype(dtype) for _, r in pairs]
    sg.autograd.backward([m for m, _ in pairs], [sg.tensor(u, device=device) for u in upstream])
    torch.autograd.backward([r for _, r in pairs], [torch.from_numpy(u) for u in upstream])
    for i, (mine, ref) in enumerate(zip(ours, theirs)):
        if not ref.requires_grad:
            continue
        if ref.grad is None:
            assert mine.grad is None or np.allclose(mine.grad.numpy(), 0)
            continue
        assert mine.grad is not None, f"input {i} got no gradient"
        np.testing.assert_allclose(
            mine.grad.numpy(), ref.grad.numpy(), **tol, err_msg=f"gradient of input {i}"
        )


def check_op(sg_fn, torch_fn, arrays, device, **gradcheck_tolerances):
    """The whole check of an op: float64 gradcheck, then torch conformance."""
    check_gradient(sg_fn, arrays, device, **gradcheck_tolerances)
    if torch_fn is not None:
        check_against_torch(sg_fn, torch_fn, arrays, device)


def sg_constant(array, like):
    """A scratchgen tensor outside the graph with like's dtype and device (weights)."""
    return sg.tensor(np.asarray(array, dtype=like.dtype), device=like.device)


def torch_constant(array, like):
    """The torch twin of sg_constant (torch refuses gradients for these weights)."""
    return torch.from_numpy(np.asarray(array)).to(like.dtype)


def check_both_dtypes(sg_fn, torch_fn, arrays, device):
    """Float64 gradcheck + torch comparison, then the float32 torch comparison."""
    check_op(sg_fn, torch_fn, arrays, device)
    check_against_torch(sg_fn, torch_fn, arrays, device, dtype=np.float32)


def class_loss_pair(name, reduction, weight=None, **options):
    """The loss ``name`` of torch.nn.functional (cross_entropy, nll_loss) in scratchgen and
    in torch, with the same options and the class weight as a constant of the input's type."""

    def ours(x, t):
        w = None if weight is None else sg_constant(weight, x)
        return getattr(sg.nn.functional, name)(x, t, w, reduction=reduction, **options)

    def theirs(x, t):
        w = None if weight is None else torch_constant(weight, x)
        return getattr(torch.nn.functional, name)(x, t, w, reduction=reduction, **options)

    return ours, theirs


def lrs_over_run(model, epochs):
    """{optimizer name: its lr at epochs 0 .. epochs} as the model's schedulers step after
    each epoch (after ``model.schedule_over(epochs)``)."""
    model.schedule_over(epochs)
    seen = {name: [] for name in model.optimizers}
    for _ in range(epochs + 1):
        for name, optimizer in model.optimizers.items():
            seen[name].append(optimizer.param_groups[0]["lr"])
        for scheduler in model.schedulers.values():
            scheduler.step()
    return seen
