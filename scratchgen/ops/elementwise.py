"""Elementwise ops: arithmetic with broadcasting, exp/log/sqrt/abs/tanh/sigmoid,
sin/cos/log1p/expm1/square/rsqrt, clamp, maximum/minimum, where, masked_fill, comparisons,
and the new tensors a tensor makes like itself (``x.new_zeros``, ``x.new_tensor``).

For a binary op on broadcast operands, the gradient of each input is the upstream
gradient times the local derivative, summed back over the axes broadcasting added
(``sum_to``).
"""

from scratchgen import backend
from scratchgen.ops.convert import cast
from scratchgen.ops.shape import broadcast_shapes, sum_to
from scratchgen.tensor import Function, Tensor


def as_operand(value, like, op_name):
    """A Tensor for value: Tensors pass through, numbers and arrays take like's device.

    A Python number takes like's dtype when like is floating point (so float32 stays
    float32), and the default float32 when a float meets an integer tensor.
    """
    if isinstance(value, Tensor):
        return value
    xp = backend.get_array_module(like.data)
    if isinstance(value, (bool, int, float)):
        if backend.is_floating(like.dtype) or isinstance(value, int):
            dtype = like.dtype
        else:
            dtype = backend.float32
        return Tensor(xp.asarray(value, dtype=dtype))
    if hasattr(value, "dtype") or isinstance(value, (list, tuple)):
        return Tensor(backend.to_device(xp.asarray(value), like.device))
    raise TypeError(f"{op_name}: expected a Tensor or a number, got {type(value).__name__}")


def _operands(a, b, op_name):
    """Both operands as Tensors, checked to broadcast against each other."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op_name}: expected at least one Tensor operand")
    a = as_operand(a, b, op_name) if isinstance(b, Tensor) else a
    b = as_operand(b, a, op_name)
    broadcast_shapes(a.shape, b.shape, op_name=op_name)
    return _promote_integer(a, b.dtype), _promote_integer(b, a.dtype)


def _promote_integer(x, other_dtype):
    """torch's rule: an integer tensor meeting a floating one takes the floating dtype."""
    if backend.is_floating(x.dtype) or not backend.is_floating(other_dtype):
        return x
    return Tensor(x.data.astype(other_dtype))  # integers carry no gradient


def _constant(array):
    """A Tensor outside the graph (a mask, a sign): its derivative is zero."""
    return Tensor(array)


# ----------------------------------------------------------------------------------
# arithmetic
# ----------------------------------------------------------------------------------


class Add(Function):
    """y = a + b.  dL/da = sum_to(g), dL/db = sum_to(g)."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        grad_a = sum_to(gy, a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(gy, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Sub(Function):
    """y = a - b.  dL/da = sum_to(g), dL/db = -sum_to(g)."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        grad_a = sum_to(gy, a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(neg(gy), b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Mul(Function):
    """y = a * b.  dL/da = sum_to(g * b), dL/db = sum_to(g * a)."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        grad_a = sum_to(gy * b, a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(gy * a, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    """y = a / b.  dL/da = sum_to(g / b), dL/db = sum_to(-g * a / b^2)."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        g_over_b = gy / b
        grad_a = sum_to(g_over_b, a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(-g_over_b * a / b, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Pow(Function):
    """y = a ** b.  dL/da = sum_to(g * b * a^(b-1)), dL/db = sum_to(g * y * log a)."""

    def forward(self, a, b):
        return a**b

    def backward(self, gy):
        a, b = self.inputs
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = sum_to(gy * b * a ** (b - 1), a.shape)
        if self.needs_input_grad[1]:
            grad_b = sum_to(gy * self.output() * log(a), b.shape)
        return grad_a, grad_b


class Neg(Function):
    """y = -x.  dL/dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return neg(gy)


def add(a, b):
    """a + b with broadcasting."""
    return Add()(*_operands(a, b, "add"))


def sub(a, b):
    """a - b with broadcasting."""
    return Sub()(*_operands(a, b, "sub"))


def mul(a, b):
    """a * b with broadcasting."""
    return Mul()(*_operands(a, b, "mul"))


def div(a, b):
    """a / b with broadcasting (true division: integers divide as float32)."""
    a, b = _operands(a, b, "div")
    if not backend.is_floating(a.dtype):
        a, b = (Tensor(t.data.astype(backend.float32)) for t in (a, b))
    return Div()(a, b)


def pow(a, b):
    """a ** b with broadcasting; either may be a number."""
    return Pow()(*_operands(a, b, "pow"))


def neg(x):
    """-x."""
    return Neg()(x)


# ----------------------------------------------------------------------------------
# unary maths
# ----------------------------------------------------------------------------------


class Exp(Function):
    """y = e^x.  dL/dx = g * y."""

    def forward(self, x):
        return backend.get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    """y = ln x.  dL/dx = g / x."""

    def forward(self, x):
        return backend.get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x).  dL/dx = g / (2 y)."""

    def forward(self, x):
        return backend.get_array_module(x).sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output())


class Abs(Function):
    """y = |x|.  dL/dx = g * sign(x)  (0 at x = 0, as in torch)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, gy):
        return gy * _constant(self.sign)


class Tanh(Function):
    """y = tanh x.  dL/dx = g * (1 - y^2)."""

    def forward(self, x):
        return backend.get_array_module(x).tanh(x)

    def backward(self, gy):
        y = self.output()
        return gy * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x) (``backend.sigmoid``: exact 0 where e^-x overflows).
    dL/dx = g * y * (1 - y)."""

    def forward(self, x):
        return backend.sigmoid(x)

    def backward(self, gy):
        y = self.output()
        return gy * y * (1 - y)


class Clamp(Function):
    """y = min(max(x, low), high).  dL/dx = g where low <= x <= high, else 0."""

    def __init__(self, low, high):
        self.low = low
        self.high = high

    def forward(self, x):
        xp = backend.get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        self.inside = inside.astype(x.dtype)
        return xp.clip(x, self.low, self.high)

    def backward(self, gy):
        return gy * _constant(self.inside)


class Sin(Function):
    """y = sin x.  dL/dx = g * cos x."""

    def forward(self, x):
        return backend.get_array_module(x).sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])


class Cos(Function):
    """y = cos x.  dL/dx = -g * sin x."""

    def forward(self, x):
        return backend.get_array_module(x).cos(x)

    def backward(self, gy):
        return -gy * sin(self.inputs[0])


class Log1p(Function):
    """y = ln(1 + x), exact for tiny x.  dL/dx = g / (1 + x)."""

    def forward(self, x):
        return backend.get_array_module(x).log1p(x)

    def backward(self, gy):
        return gy / (1 + self.inputs[0])


class Expm1(Function):
    """y = e^x - 1, exact for tiny x.  dL/dx = g * e^x = g * (y + 1)."""

    def forward(self, x):
        return backend.get_array_module(x).expm1(x)

    def backward(self, gy):
        return gy * (self.output() + 1)


class Square(Function):
    """y = x^2.  dL/dx = 2 g x."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return 2 * gy * self.inputs[0]


class Rsqrt(Function):
    """y = 1 / sqrt(x).  dL/dx = -g x^(-3/2) / 2 = -g y^3 / 2."""

    def forward(self, x):
        return 1 / backend.get_array_module(x).sqrt(x)

    def backward(self, gy):
        y = self.output()
        return -0.5 * gy * y * y * y


def exp(x):
    """e^x."""
    return Exp()(x)


def log(x):
    """Natural logarithm."""
    return Log()(x)


def sqrt(x):
    """Square root."""
    return Sqrt()(x)


def abs(x):
    """Absolute value."""
    return Abs()(x)


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh()(x)


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^-x)."""
    return Sigmoid()(x)


def sin(x):
    """Sine (radians)."""
    return Sin()(x)


def cos(x):
    """Cosine (radians)."""
    return Cos()(x)


def log1p(x):
    """ln(1 + x), accurate where x is near 0."""
    return Log1p()(x)


def expm1(x):
    """e^x - 1, accurate where x is near 0."""
    return Expm1()(x)


def square(x):
    """x^2."""
    return Square()(x)


def rsqrt(x):
    """1 / sqrt(x)."""
    return Rsqrt()(x)


def clamp(x, min=None, max=None):
    """x limited to [min, max] (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clamp: expected at least one of min and max")
    return Clamp(min, max)(x)


# ----------------------------------------------------------------------------------
# maximum, minimum, where
# ----------------------------------------------------------------------------------


class Maximum(Function):
    """y = max(a, b).  The gradient goes to the larger input; ties split it in half."""

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.share_a = (a > b) + 0.5 * (a == b)
        return xp.maximum(a, b)

    def backward(self, gy):
        return _split_grad(gy, self.inputs, self.share_a)


class Minimum(Function):
    """y = min(a, b).  The gradient goes to the smaller input; ties split it in half."""

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.share_a = (a < b) + 0.5 * (a == b)
        return xp.minimum(a, b)

    def backward(self, gy):
        return _split_grad(gy, self.inputs, self.share_a)


def _split_grad(gy, inputs, share_a):
    """dL/da = sum_to(g * s), dL/db = sum_to(g * (1 - s)) for a share s of a."""
    a, b = inputs
    share_a = _constant(share_a.astype(gy.dtype))
    return sum_to(gy * share_a, a.shape), sum_to(gy * (1 - share_a), b.shape)


class Where(Function):
    """y = a where condition else b.  dL/da = sum_to(g * c), dL/db = sum_to(g * (1 - c))."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return backend.get_array_module(a).where(self.condition, a, b)

    def backward(self, gy):
        return _split_grad(gy, self.inputs, self.condition)


def maximum(a, b):
    """Elementwise maximum with broadcasting."""
    return Maximum()(*_operands(a, b, "maximum"))


def minimum(a, b):
    """Elementwise minimum with broadcasting."""
    return Minimum()(*_operands(a, b, "minimum"))


def where(condition, a, b):
    """Elementwise choice: a where condition is true, b elsewhere (broadcasting)."""
    a, b = _operands(a, b, "where")
    condition = as_operand(condition, a, "where")
    if condition.dtype != backend.bool_:
        raise TypeError(f"where: expected a boolean condition, got dtype {condition.dtype}")
    shape = broadcast_shapes(condition.shape, a.shape, b.shape, op_name="where")
    xp = backend.get_array_module(a.data)
    return Where(xp.broadcast_to(condition.data, shape))(a, b)


def masked_fill(x, mask, value):
    """y = value where mask else x (mask broadcasts, as in torch).

    dL/dx = g where the mask is False, 0 elsewhere; a 0-d Tensor value gets the sum of g
    over the masked places.
    """
    if not isinstance(mask, Tensor) or mask.dtype != backend.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_fill: expected a boolean mask Tensor, got {got}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            f"masked_fill: expected a number or a 0-dimensional value tensor, "
            f"got a tensor of shape {value.shape}"
        )
    if not isinstance(value, Tensor):  # a number takes x's dtype, as in torch
        value = Tensor(backend.get_array_module(x.data).asarray(value, dtype=x.dtype))
    elif value.dtype != x.dtype:  # so does a 0-d tensor
        value = cast(value, x.dtype)
    return where(mask, value, x)


# ----------------------------------------------------------------------------------
# comparisons: boolean results, never gradients
# ----------------------------------------------------------------------------------


def _compare(a, b, op_name, compare):
    a, b = _operands(a, b, op_name)
    if a.device != b.device:
        raise RuntimeError(
            f"{op_name}: expected tensors on one device, got {a.device} and {b.device}"
        )
    return Tensor(compare(a.data, b.data))


def eq(a, b):
    """a == b elementwise (a boolean tensor)."""
    return _compare(a, b, "eq", lambda x, y: x == y)


def ne(a, b):
    """a != b elementwise."""
    return _compare(a, b, "ne", lambda x, y: x != y)


def lt(a, b):
    """a < b elementwise."""
    return _compare(a, b, "lt", lambda x, y: x < y)


def le(a, b):
    """a <= b elementwise."""
    return _compare(a, b, "le", lambda x, y: x <= y)


def gt(a, b):
    """a > b elementwise."""
    return _compare(a, b, "gt", lambda x, y: x > y)


def ge(a, b):
    """a >= b elementwise."""
    return _compare(a, b, "ge", lambda x, y: x >= y)


# ----------------------------------------------------------------------------------
# new tensors like another: x.new_zeros / new_ones / new_full / new_tensor
# ----------------------------------------------------------------------------------


def _like(x, dtype, device):
    """The device and dtype of a new tensor: x's unless given."""
    device = x.device if device is None else backend.parse_device(device)
    return device, x.dtype if dtype is None else backend.as_dtype(dtype)


def _sizes(size, op_name):
    """size as a tuple of ints, or torch's errors (TypeError, RuntimeError if negative)."""
    size = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    if not all(hasattr(s, "__index__") and not isinstance(s, bool) for s in size):
        raise TypeError(f"{op_name}: expected size to be a tuple of ints, got {size}")
    if any(s < 0 for s in size):
        raise RuntimeError(f"{op_name}: expected non-negative sizes, got {size}")
    return tuple(int(s) for s in size)


def _filled(x, size, fill_value, dtype, device, requires_grad, op_name):
    device, dtype = _like(x, dtype, device)
    xp = backend.array_module(device)
    return Tensor(xp.full(_sizes(size, op_name), fill_value, dtype=dtype), requires_grad)


def new_zeros(x, size, dtype=None, device=None, requires_grad=False):
    """Zeros of the given size, with x's dtype and device unless given."""
    return _filled(x, size, 0, dtype, device, requires_grad, "new_zeros")


def new_ones(x, size, dtype=None, device=None, requires_grad=False):
    """Ones of the given size, with x's dtype and device unless given."""
    return _filled(x, size, 1, dtype, device, requires_grad, "new_ones")


def new_full(x, size, fill_value, dtype=None, device=None, requires_grad=False):
    """fill_value everywhere, with x's dtype and device unless given."""
    return _filled(x, size, fill_value, dtype, device, requires_grad, "new_full")


def new_tensor(x, data, dtype=None, device=None, requires_grad=False):
    """A copy of data (a number, nested lists, an array, a Tensor) with x's dtype and
    device unless given; it is a leaf, cut from any graph data was part of."""
    device, dtype = _like(x, dtype, device)
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "dtype"):
        data = backend.to_device(data, device)
    return Tensor(backend.array_module(device).array(data, dtype=dtype), requires_grad)
