"""Numerical gradient checks: compare backward with central differences.

For f with outputs y and a *random* upstream gradient v, backward computes
    a = d<v, f(x)>/dx,
and central differences estimate the same number element by element:
    n_j = (<v, f(x + eps e_j)> - <v, f(x - eps e_j)>) / (2 eps).
The check passes when |a_j - n_j| <= atol + rtol |n_j| for every j.

The upstream gradient is random on purpose: with v = 1 (backward of ``sum()``) the
check tells nothing for ops whose outputs sum to a constant, such as softmax or a
normalisation, because both sides are then 0.
Use float64 inputs: in float32 the differences drown in rounding.
"""

from scratchgen import backend
from scratchgen.tensor import Tensor, enable_grad, grad, no_grad


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with central differences."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Check the gradient of fn at inputs; True, or a GradcheckError naming the culprit.

    fn takes the inputs and returns a Tensor or a tuple of Tensors. Inputs that are
    Tensors with requires_grad=True are checked; anything else is passed unchanged.
    """
    inputs = _probe_copies(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != backend.float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; "
                "central differences need float64 inputs"
            )
    outputs = _as_tuple(fn(*inputs))
    upstream = _random_like(outputs, seed)
    analytic = _analytic_grads(outputs, upstream, [inputs[i] for i in checked])
    for i, a in zip(checked, analytic):
        numerical = _numerical_grad(fn, inputs, i, upstream, eps)
        try:
            _compare(i, inputs[i].shape, a, numerical, atol, rtol)
        except GradcheckError:
            if raise_exception:
                raise
            return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Check second derivatives: gradcheck of x -> d<v, fn(x)>/dx built with create_graph."""
    inputs = _probe_copies(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    upstream = _random_like(_as_tuple(fn(*inputs)), seed + 1)

    def first_derivative(*xs):
        with enable_grad():  # the numerical pass runs under no_grad; this needs a graph
            outputs = _as_tuple(fn(*xs))
            grads = grad(
                outputs, [xs[i] for i in checked], upstream, create_graph=True, allow_unused=True
            )
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs, eps, atol, rtol, seed, raise_exception)


def _as_tuple(outputs):
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def _probe_copies(inputs):
    """Fresh leaf copies of the tensor inputs, so the check never touches the caller's."""
    inputs = _as_tuple(inputs)
    copies = []
    for x in inputs:
        if isinstance(x, Tensor):
            xp = backend.get_array_module(x.data)
            x = Tensor(xp.array(x.data, copy=True), requires_grad=x.requires_grad)
        copies.append(x)
    return copies


def _random_like(outputs, seed):
    """A standard-normal upstream gradient for every floating output."""
    rng = backend.numpy.random.default_rng(seed)
    upstream = []
    for y in outputs:
        v = rng.standard_normal(y.shape).astype(y.dtype)
        upstream.append(Tensor(backend.to_device(v, y.device)))
    return upstream


def _analytic_grads(outputs, upstream, wrt):
    pairs = [(y, v) for y, v in zip(outputs, upstream) if y.requires_grad]
    if not pairs:
        return [_zeros(x) for x in wrt]
    ys, vs = zip(*pairs)
    grads = grad(list(ys), wrt, list(vs), allow_unused=True)
    return [_zeros(x) if g is None else g for x, g in zip(wrt, grads)]


def _zeros(x):
    return Tensor(backend.get_array_module(x.data).zeros_like(x.data))


def _inner(outputs, upstream):
    """<v, f(x)>: the sum over outputs of the elementwise product, as a float."""
    return sum(float((y.data * v.data).sum()) for y, v in zip(_as_tuple(outputs), upstream))


def _numerical_grad(fn, inputs, index, upstream, eps):
    x = inputs[index]
    xp = backend.get_array_module(x.data)
    flat = x.data.reshape(-1)  # a view: the probe copy is contiguous
    estimate = xp.zeros(flat.shape, dtype=x.dtype)
    with no_grad():
        for j in range(flat.size):
            original = flat[j].item()
            flat[j] = original + eps
            plus = _inner(fn(*inputs), upstream)
            flat[j] = original - eps
            minus = _inner(fn(*inputs), upstream)
            flat[j] = original
            estimate[j] = (plus - minus) / (2 * eps)
    return estimate.reshape(x.shape)


def _compare(index, shape, analytic, numerical, atol, rtol):
    a = backend.to_numpy(analytic.data).astype("float64")
    n = backend.to_numpy(numerical).astype("float64")
    excess = abs(a - n) - (atol + rtol * abs(n))
    if excess.size == 0 or excess.max() <= 0:
        return
    worst = backend.numpy.unravel_index(excess.argmax(), shape) if shape else ()
    raise GradcheckError(
        f"gradcheck: the gradient of input {index} (shape {tuple(shape)}) is wrong at index "
        f"{tuple(int(k) for k in worst)}: analytic {a[worst]:.8g}, numerical {n[worst]:.8g} "
        f"(|difference| {abs(a[worst] - n[worst]):.3g} > atol {atol:g} + rtol {rtol:g} * "
        f"|numerical|); {int((excess > 0).sum())} of {excess.size} elements fail"
    )
