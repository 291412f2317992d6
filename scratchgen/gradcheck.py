"""Numerical gradient checks: compare backward with central differences.

For f with outputs y and a *random* upstream gradient v, backward computes
    a = d<v, f(x)>/dx,
and central differences estimate the same number element by element:
    n_j = (<v, f(x + eps e_j)> - <v, f(x - eps e_j)>) / (2 eps).
The check passes when |a_j - n_j| <= atol + rtol |n_j| for every j. gradcheck gives
that verdict (or an error naming the worst element); gradient_errors also gives the
sizes of the errors, input by input (the table of ``scratchgen gradcheck``).

The upstream gradient is random on purpose: with v = 1 (backward of ``sum()``) the
check tells nothing for ops whose outputs sum to a constant, such as softmax or a
normalisation, because both sides are then 0.
Use float64 inputs: in float32 the differences drown in rounding.
"""

from typing import NamedTuple

from scratchgen import backend
from scratchgen.tensor import Tensor, enable_grad, grad, no_grad


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with central differences."""


class InputCheck(NamedTuple):
    """How far the gradient of one input is from central differences (see gradient_errors)."""

    input_index: int
    max_abs_error: float
    max_rel_error: float
    passed: bool


# the smallest normal float64: makes 0 / 0 (both gradients exactly 0) a relative error of 0
_TINY = float(backend.numpy.finfo(backend.float64).tiny)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, raise_exception=True):
    """Check the gradient of fn at inputs; True, or a GradcheckError naming the culprit.

    fn takes the inputs and returns a Tensor or a tuple of Tensors. Inputs that are
    Tensors with requires_grad=True are checked; anything else is passed unchanged.
    """
    for index, analytic, numerical in _gradient_pairs(fn, inputs, eps, seed, "gradcheck"):
        try:
            _compare(index, analytic, numerical, atol, rtol)
        except GradcheckError:
            if raise_exception:
                raise
            return False
    return True


def gradient_errors(fn, inputs, eps=1e-6, seed=0, atol=1e-5, rtol=1e-3):
    """The error of every checked input's gradient: a list of InputCheck
    (input_index, max_abs_error, max_rel_error, passed), in input order.

    With a the analytic gradient and n the central-difference estimate (the same
    comparison as gradcheck, with the same random upstream gradient):
        max_abs_error = max_j |a_j - n_j|
        max_rel_error = max_j |a_j - n_j| / (max_j |n_j| + tiny)
    i.e. the worst error relative to the size of the gradient as a whole, so an element
    whose true gradient is nearly 0 does not blow the relative error up. tiny (the
    smallest normal float64) makes 0 / 0 give 0; a nonzero analytic gradient where the
    numerical one is exactly 0 gives a huge (or infinite) relative error, as it should.
    passed is gradcheck's verdict: |a_j - n_j| <= atol + rtol |n_j| for every j.
    """
    checks = []
    for index, analytic, numerical in _gradient_pairs(fn, inputs, eps, seed, "gradient_errors"):
        difference = abs(analytic - numerical)
        max_abs = float(difference.max()) if difference.size else 0.0
        scale = float(abs(numerical).max()) if numerical.size else 0.0
        passed = _all_pass(_excess(analytic, numerical, atol, rtol))
        checks.append(InputCheck(index, max_abs, max_abs / (scale + _TINY), passed))
    return checks


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
    """A standard-normal upstream gradient for every floating output.

    Drawn from its own stream ([seed, 1]): inputs made with default_rng(seed) would
    otherwise equal the upstream gradient, a direction in which a normalisation's input
    gradient is 0, and the check would test nothing.
    """
    rng = backend.numpy.random.default_rng([seed, 1])
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


def _gradient_pairs(fn, inputs, eps, seed, caller):
    """For each checked input in turn: (index, analytic, numerical) as float64 NumPy arrays.

    analytic = d<v, fn(x)>/dx by backward, numerical = its central-difference estimate,
    for one random upstream gradient v. A generator: a caller that stops at the first
    wrong input saves the central differences of the others.
    """
    inputs = _probe_copies(inputs)
    checked = _checked_indices(inputs, caller)
    outputs = _as_tuple(fn(*inputs))
    upstream = _random_like(outputs, seed)
    analytic = _analytic_grads(outputs, upstream, [inputs[i] for i in checked])
    for i, a in zip(checked, analytic):
        numerical = _numerical_grad(fn, inputs, i, upstream, eps)
        yield i, _float64_numpy(a.data), _float64_numpy(numerical)


def _checked_indices(inputs, caller):
    """Positions of the float64 Tensors that require grad (an error if there are none)."""
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError(f"{caller}: no input is a Tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != backend.float64:
            raise TypeError(
                f"{caller}: input {i} has dtype {inputs[i].dtype}; "
                "central differences need float64 inputs"
            )
    return checked


def _float64_numpy(array):
    return backend.to_numpy(array).astype("float64")


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


def _excess(analytic, numerical, atol, rtol):
    """|a - n| - (atol + rtol |n|): an element fails the check where this is positive."""
    return abs(analytic - numerical) - (atol + rtol * abs(numerical))


def _all_pass(excess):
    return bool(excess.size == 0 or excess.max() <= 0)


def _compare(index, a, n, atol, rtol):
    """Raise a GradcheckError describing the worst element, unless every element passes."""
    excess = _excess(a, n, atol, rtol)
    if _all_pass(excess):
        return
    worst = backend.numpy.unravel_index(excess.argmax(), a.shape) if a.shape else ()
    raise GradcheckError(
        f"gradcheck: the gradient of input {index} (shape {a.shape}) is wrong at index "
        f"{tuple(int(k) for k in worst)}: analytic {a[worst]:.8g}, numerical {n[worst]:.8g} "
        f"(|difference| {abs(a[worst] - n[worst]):.3g} > atol {atol:g} + rtol {rtol:g} * "
        f"|numerical|); {int((excess > 0).sum())} of {excess.size} elements fail"
    )
