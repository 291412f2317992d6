"""Batch-norm statistics for averaged weights (torch.optim.swa_utils.update_bn).

A model whose weights are an average of past weights (stochastic weight averaging, or
the EMA of a GAN generator) has no running statistics of its own: the ones it carries
were measured on other weights. ``update_bn`` measures them again. It resets every
batch-norm layer and runs the model in training mode over a set of inputs with
momentum None, so each layer ends with the plain average over the K batches

    running_mean = (1/K) sum_k mean_k,   running_var = (1/K) sum_k var_k (unbiased)

of the statistics of the model's own activations.
"""

from scratchgen.nn.norm import _BatchNorm
from scratchgen.tensor import no_grad


def update_bn(loader, model, device=None):
    """Recompute the running statistics of every BatchNorm layer of ``model``.

    loader: an iterable of input batches (Tensors; for a list or tuple the first item
    is the input). device: where to move each batch first (None: leave it).
    The model's mode and each layer's momentum are restored afterwards. Unlike torch's
    version it runs under no_grad (statistics need no graph); the numbers are the same.
    """
    momenta = {layer: layer.momentum for layer in model.modules() if isinstance(layer, _BatchNorm)}
    if not momenta:
        return
    for layer in momenta:
        layer.reset_running_stats()
        layer.momentum = None
    was_training = model.training
    model.train()
    try:
        with no_grad():
            for batch in loader:
                inputs = batch[0] if isinstance(batch, (list, tuple)) else batch
                model(inputs if device is None else inputs.to(device))
    finally:
        for layer, momentum in momenta.items():
            layer.momentum = momentum
        model.train(was_training)
