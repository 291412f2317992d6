"""What the losses share: the reduction argument and the checks of their inputs."""

from scratchgen.ops import reshape

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, op_name):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op_name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def check_batch_pair(a, b, names, op_name):
    """a and b: tensors of one shape with a batch axis first."""
    if a.ndim == 0:
        raise ValueError(f"{op_name}: expected a batch of shape (N, ...), got a 0-d {names[0]}")
    if a.shape != b.shape:
        raise ValueError(
            f"{op_name}: expected {names[1]} of the {names[0]}'s shape {a.shape}, got {b.shape}"
        )


def per_example(losses, reduction):
    """Sum losses over every axis but the first; then "none": per example (N,),
    "sum": over the batch, "mean": over the batch divided by N."""
    n = losses.shape[0]
    if reduction == "none":
        return reshape(losses, (n, -1)).sum(1)
    total = losses.sum()
    return total if reduction == "sum" else total * (1.0 / n)
