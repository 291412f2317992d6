"""``sg.autograd``: torch's names for the backward engine."""

from scratchgen.gradcheck import gradcheck, gradgradcheck
from scratchgen.tensor import Function, grad, run_backward


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate gradients of several tensors at once (as torch.autograd.backward)."""
    tensors = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    run_backward(tensors, list(grad_tensors), retain_graph, create_graph)


__all__ = ["Function", "backward", "grad", "gradcheck", "gradgradcheck"]
