"""Tensor, the computation graph and reverse-mode differentiation.

A ``Tensor`` wraps a raw array (``.data``, NumPy or CuPy). When an op is applied to
tensors that require gradients, it records a ``Function`` node: the node holds its
inputs, whatever its backward needs, and its outputs by weak reference (so the graph
has no reference cycles and dies with the last tensor that uses it).

``backward`` visits the nodes in reverse topological order without recursion: every
node has a *generation* one more than the newest node it depends on, so taking nodes
from a heap in decreasing generation visits each one after all its consumers.

The backward of every Function is written with differentiable ops on Tensors. With
``create_graph=False`` it runs under ``no_grad``: each op computes on the raw arrays
and records nothing. With ``create_graph=True`` the same code records a graph of
the gradient itself, which can be differentiated again (double backprop).
"""

import contextlib
import heapq
import itertools
import weakref

from scratchgen import backend

# ----------------------------------------------------------------------------------
# Gradient mode
# ----------------------------------------------------------------------------------

_grad_enabled = True


def is_grad_enabled():
    """Whether new ops record the graph."""
    return _grad_enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn graph recording on or off inside a ``with`` block (or a decorated function)."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        global _grad_enabled
        self.previous = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc_info):
        global _grad_enabled
        _grad_enabled = self.previous
        return False

    def _recreate_cm(self):
        """A fresh context per call of a decorated function (so recursion nests)."""
        fresh = object.__new__(type(self))
        fresh.mode = self.mode
        return fresh


class _FixedMode(set_grad_enabled):
    """A set_grad_enabled with its mode fixed by the class; also a bare decorator:
    ``@sg.no_grad`` works as ``@sg.no_grad()`` does."""

    mode_of_class = False

    def __new__(cls, function=None):
        if function is None:
            return super().__new__(cls)
        return cls()(function)  # bare @no_grad: the decorated function

    def __init__(self, function=None):
        super().__init__(self.mode_of_class)


class no_grad(_FixedMode):
    """``with sg.no_grad():`` — ops inside record no graph (evaluation, updates)."""

    mode_of_class = False


class enable_grad(_FixedMode):
    """``with sg.enable_grad():`` — record the graph even inside ``no_grad``."""

    mode_of_class = True


# ----------------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------------


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Attributes:
        data: the raw array (numpy.ndarray or cupy.ndarray).
        grad: the accumulated gradient (a Tensor) after ``backward``, for leaves.
        requires_grad: whether gradients flow to this tensor.
        creator: the Function that produced it (None for a leaf).
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "generation", "retains_grad")
    __slots__ += ("_version", "__weakref__")
    # Let NumPy hand `ndarray * tensor` back to Tensor.__rmul__ instead of looping.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = data
        self.grad = None
        self.creator = None
        self.generation = 0
        self.retains_grad = False
        self.requires_grad = False
        self._version = 0  # bumped by every in-place op (see in_place)
        if requires_grad:
            self.requires_grad_(True)

    # -- metadata -------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def grad_fn(self):
        return self.creator

    @property
    def T(self):
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    def dim(self):
        return self.data.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        body = backend.format_array(self.data, prefix="tensor(")
        extras = ""
        if self.numel() == 0:
            extras += f", size={self.shape}"
        if self.dtype not in (backend.float32, backend.int64, backend.bool_):
            extras += f", dtype={self.dtype}"
        if self.device != "cpu":
            extras += f", device='{self.device}'"
        if self.creator is not None:
            extras += f", grad_fn=<{type(self.creator).__name__}>"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    # Tensors compare elementwise (`==` gives a tensor), so hash by identity.
    __hash__ = object.__hash__

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(
                f"bool: a tensor with {self.numel()} elements is ambiguous; use .any() or .all()"
            )
        return bool(self.item())

    # -- gradients ------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        """Mark a leaf as needing gradients (floating-point tensors only)."""
        if requires_grad and not backend.is_floating(self.dtype):
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, "
                f"got dtype {self.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        self.retains_grad = True
        return self

    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``grad`` is the upstream gradient (needed unless self has one element).
        ``create_graph=True`` records the backward pass so gradients can be
        differentiated again; the graph is freed afterwards unless ``retain_graph``.
        """
        run_backward([self], [grad], retain_graph, create_graph)

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    # -- in-place ops (torch's autograd rules: see in_place) ------------------------
    def add_(self, other, alpha=1):
        """self <- self + alpha * other, in place."""
        return in_place(
            self, "add_", lambda old: old + _scaled(_same(other, self, old), alpha), other
        )

    def sub_(self, other, alpha=1):
        """self <- self - alpha * other, in place."""
        return in_place(
            self, "sub_", lambda old: old - _scaled(_same(other, self, old), alpha), other
        )

    def mul_(self, other):
        """self <- self * other, in place."""
        return in_place(self, "mul_", lambda old: old * _same(other, self, old), other)

    def div_(self, other):
        """self <- self / other, in place."""
        return in_place(self, "div_", lambda old: old / _same(other, self, old), other)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def clamp_(self, min=None, max=None):
        """self <- clamp(self, min, max), in place."""
        return in_place(self, "clamp_", lambda old: ops.clamp(old, min, max))

    def relu_(self):
        """self <- max(self, 0), in place (ReLU(inplace=True))."""
        return in_place(self, "relu_", lambda old: ops.relu(old))

    def fill_(self, value):
        """Every element <- value (a number or a one-element tensor), in place."""
        if isinstance(value, Tensor):
            value = value.item()
        return in_place(self, "fill_", lambda old: ops.inplace.filled(old, value))

    def zero_(self):
        """Every element <- 0, in place."""
        return self.fill_(0)

    def copy_(self, src):
        """self <- src (broadcast to self's shape, cast to its dtype), in place."""
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_: expected a Tensor source, got {type(src).__name__}")
        return in_place(self, "copy_", lambda old: ops.inplace.copied(old, src), src)

    def normal_(self, mean=0.0, std=1.0):
        """Every element <- a draw from N(mean, std^2), in place (the device's generator)."""
        values = ops.inplace.normal_values(self, mean, std)
        return in_place(self, "normal_", lambda old: ops.inplace.filled(old, values))

    def uniform_(self, a=0.0, b=1.0):
        """Every element <- a draw from U[a, b), in place."""
        values = ops.inplace.uniform_values(self, a, b)
        return in_place(self, "uniform_", lambda old: ops.inplace.filled(old, values))

    def __setitem__(self, index, value):
        """self[index] = value (a number or a Tensor broadcast to the indexed shape)."""
        set_item(self, index, value)

    # -- conversion ------------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (a host copy for a CUDA tensor)."""
        return backend.to_numpy(self.data)

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item: expected a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def to(self, device=None, dtype=None):
        """Move to a device ("cpu" / "cuda") and/or cast to a dtype; differentiable."""
        if dtype is None and device is not None and not backend.is_device(device):
            device, dtype = None, device
        result = self
        if dtype is not None:
            result = ops.cast(result, dtype)
        if device is not None:
            result = ops.to_device(result, device)
        return result

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(dtype=backend.float32)

    def double(self):
        return self.to(dtype=backend.float64)

    def long(self):
        return self.to(dtype=backend.int64)

    def type(self, dtype):
        return self.to(dtype=dtype)

    # -- arithmetic ------------------------------------------------------------------
    # torch's named forms of the operators (alpha scales other, as torch.add)
    def add(self, other, alpha=1):
        return ops.add(self, _scaled(other, alpha))

    def sub(self, other, alpha=1):
        return ops.sub(self, _scaled(other, alpha))

    def mul(self, other):
        return ops.mul(self, other)

    def div(self, other):
        return ops.div(self, other)

    def neg(self):
        return ops.neg(self)

    def matmul(self, other):
        return ops.matmul(self, other)

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # comparisons give boolean tensors and never gradients
    def __eq__(self, other):
        return ops.eq(self, other)

    def __ne__(self, other):
        return ops.ne(self, other)

    def __lt__(self, other):
        return ops.lt(self, other)

    def __le__(self, other):
        return ops.le(self, other)

    def __gt__(self, other):
        return ops.gt(self, other)

    def __ge__(self, other):
        return ops.ge(self, other)

    # logical ops on boolean masks (no gradients)
    def __invert__(self):
        return Tensor(~self.data)

    def __and__(self, other):
        return Tensor(self.data & _raw(other))

    def __or__(self, other):
        return Tensor(self.data | _raw(other))

    # -- elementwise -----------------------------------------------------------------
    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def clamp(self, min=None, max=None):
        return ops.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    # -- reductions ------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False):
        return ops.sum(self, dim, keepdim)

    def mean(self, dim=None, keepdim=False):
        return ops.mean(self, dim, keepdim)

    def var(self, dim=None, keepdim=False, correction=1, unbiased=None):
        return ops.var(self, dim, keepdim, correction=correction, unbiased=unbiased)

    def std(self, dim=None, keepdim=False, correction=1, unbiased=None):
        return ops.std(self, dim, keepdim, correction=correction, unbiased=unbiased)

    def max(self, dim=None, keepdim=False):
        return ops.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return ops.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return ops.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return ops.amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return ops.argmin(self, dim, keepdim)

    def any(self):
        return Tensor(self.data.any())

    def all(self):
        return Tensor(self.data.all())

    # -- shape -----------------------------------------------------------------------
    def reshape(self, *shape):
        return ops.reshape(self, _shape_args(shape))

    def view(self, *shape):
        return ops.reshape(self, _shape_args(shape))

    def transpose(self, dim0, dim1):
        return ops.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return ops.permute(self, _shape_args(dims))

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)

    def unsqueeze(self, dim):
        return ops.unsqueeze(self, dim)

    def squeeze(self, dim=None):
        return ops.squeeze(self, dim)

    def expand(self, *shape):
        return ops.expand(self, _shape_args(shape))

    def expand_as(self, other):
        return ops.expand(self, other.shape)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def contiguous(self):
        return self

    # -- torch's other methods (issue 18) ----------------------------------------------
    @property
    def is_cuda(self):
        return self.device == "cuda"

    def clone(self):
        return ops.clone(self)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return ops.new_zeros(self, _shape_args(size), dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return ops.new_ones(self, _shape_args(size), dtype, device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return ops.new_full(self, size, fill_value, dtype, device, requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        return ops.new_tensor(self, data, dtype, device, requires_grad)

    def view_as(self, other):
        return ops.reshape(self, other.shape)

    def reshape_as(self, other):
        return ops.reshape(self, other.shape)

    def repeat(self, *sizes):
        return ops.repeat(self, _shape_args(sizes))

    def chunk(self, chunks, dim=0):
        return ops.chunk(self, chunks, dim)

    def split(self, split_size, dim=0):
        return ops.split(self, split_size, dim)

    def narrow(self, dim, start, length):
        return ops.narrow(self, dim, start, length)

    def t(self):
        return ops.t(self)

    def flip(self, *dims):
        return ops.flip(self, _shape_args(dims))

    def gather(self, dim, index):
        return ops.gather(self, dim, index)

    def tril(self, diagonal=0):
        return ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        return ops.triu(self, diagonal)

    def masked_fill(self, mask, value):
        return ops.masked_fill(self, mask, value)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def log1p(self):
        return ops.log1p(self)

    def expm1(self):
        return ops.expm1(self)

    def square(self):
        return ops.square(self)

    def rsqrt(self):
        return ops.rsqrt(self)

    def eq(self, other):
        return ops.eq(self, other)

    def ne(self, other):
        return ops.ne(self, other)

    def lt(self, other):
        return ops.lt(self, other)

    def le(self, other):
        return ops.le(self, other)

    def gt(self, other):
        return ops.gt(self, other)

    def ge(self, other):
        return ops.ge(self, other)

    def mm(self, mat2):
        return ops.mm(self, mat2)

    def bmm(self, mat2):
        return ops.bmm(self, mat2)

    def outer(self, vec2):
        return ops.outer(self, vec2)

    def logsumexp(self, dim, keepdim=False):
        return ops.logsumexp(self, dim, keepdim)

    def cumsum(self, dim, dtype=None):
        return ops.cumsum(self, dim, dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return ops.reduce.norm(self, p, dim, keepdim, dtype)  # ops.norm: the layers' module


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _shape_args(args):
    """Accept both ``x.reshape(2, 3)`` and ``x.reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


# ----------------------------------------------------------------------------------
# In-place ops
# ----------------------------------------------------------------------------------


def _same(operand, tensor, old):
    """The operand of an in-place op on ``tensor``, with tensor itself replaced by ``old``
    (its value before the op), so that x.add_(x) reads the old x, not a loop in the graph."""
    return old if operand is tensor else operand


def _scaled(other, alpha):
    return other if alpha == 1 else other * alpha


def in_place(tensor, name, compute, *operands):
    """Write compute(old) into ``tensor``'s array; returns ``tensor`` (torch's rules).

    - A leaf that requires grad can be changed only under ``no_grad`` (an optimiser's
      update); otherwise a RuntimeError, as torch.
    - Without a graph to record (no_grad, or nothing requires grad): the new value is
      computed from ``tensor`` itself and written into its array.
    - With a graph: ``old``, a copy holding the value before the op, takes over the
      tensor's place in the graph (its creator's output), the new value is computed from
      old with graph, and ``tensor`` becomes that result: its creator is the op's node.
      A view of another tensor (a reshape, a slice, a transpose) is refused here: the
      write would change that tensor behind the graph's back.
    Either way the tensor's version goes up by one (and that of the tensors it is a view
    of, where the graph knows it). An op that used the tensor earlier recorded the
    version it saw, and backward refuses to run it on a changed tensor
    (_check_versions): its gradient would be computed from the wrong value, or routed
    through the in-place op. An op whose backward reads its own output, changed here
    without a graph, refuses too (Function.output).
    """
    graph = _records_graph(tensor, operands)
    _check_writable(tensor, name, graph)
    old = tensor
    if graph:
        old = Tensor(tensor.data.copy())
        old.requires_grad, old.generation = tensor.requires_grad, tensor.generation
        old.creator = tensor.creator
    result = _checked_result(tensor, name, compute(old), graph)
    tensor.data[...] = result.data
    mark_written(tensor, keep_creator_output=graph)
    if graph:
        if tensor.creator is not None:
            _replace_output(tensor.creator, tensor, old)
        tensor.creator, tensor.generation = result.creator, result.generation
        tensor.requires_grad = True
        _replace_output(result.creator, result, tensor)
    return tensor


def maybe_in_place(input, inplace, op_name, apply):
    """apply(input), or with inplace=True (the ``inplace`` argument of torch's
    activations and dropout) the same value written into input by ``in_place``."""
    if not inplace:
        return apply(input)
    return in_place(input, f"{op_name}(inplace=True)", apply)


def _records_graph(tensor, operands):
    """Whether an in-place op on tensor with these operands must be recorded."""
    return _grad_enabled and any(
        t.requires_grad for t in (tensor, *operands) if isinstance(t, Tensor)
    )


def _check_writable(tensor, name, graph):
    """Refuse what torch refuses (a leaf that requires grad, in graph mode) and what
    cannot be written safely here (a read-only broadcast, a view in graph mode)."""
    if graph and tensor.requires_grad and tensor.creator is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad cannot be changed in place while the "
            "graph is recorded; update it under `with sg.no_grad():` or use an out-of-place op"
        )
    if not getattr(tensor.data.flags, "writeable", True):
        raise RuntimeError(
            f"{name}: the tensor is a read-only broadcast (expand / broadcast_to) of "
            f"another one; clone() it before changing it in place"
        )
    if graph and _viewed_tensors(tensor):
        kind = type(tensor.creator).__name__
        raise RuntimeError(
            f"{name}: the tensor is a view of another one (the output of {kind}); an "
            "in-place op in the graph would change that tensor behind the graph's back; "
            "clone() it first or use an out-of-place op"
        )


def _checked_result(tensor, name, result, graph):
    """The result of an in-place op, checked to fit tensor's shape and dtype."""
    if result.shape != tensor.shape:
        raise RuntimeError(
            f"{name}: the result has shape {result.shape}, which cannot be written into a "
            f"tensor of shape {tensor.shape}"
        )
    xp = backend.get_array_module(tensor.data)
    if not xp.can_cast(result.dtype, tensor.dtype, casting="same_kind"):
        raise RuntimeError(
            f"{name}: the result has dtype {result.dtype}, which cannot be written into a "
            f"tensor of dtype {tensor.dtype}"
        )
    if graph and result.dtype != tensor.dtype:
        result = ops.cast(result, tensor.dtype)
    return result


def _viewed_tensors(tensor):
    """The inputs of tensor's recorded creator whose memory tensor shares (it is a view)."""
    creator = tensor.creator
    if creator is None or not hasattr(creator, "inputs"):
        return []
    xp = backend.get_array_module(tensor.data)
    return [x for x in creator.inputs if xp.may_share_memory(x.data, tensor.data)]


def mark_written(tensor, keep_creator_output=False):
    """Record that tensor's array was changed in place: bump the version of tensor and of
    the tensors it is a view of (as far as the graph records them); their creators'
    outputs can no longer be read by backward (unless the graph keeps the old value:
    keep_creator_output for tensor). Whatever writes into ``.data`` directly (an
    optimiser's step, load_state_dict, the EMA update) calls this afterwards."""
    written, seen = [tensor], set()
    while written:
        current = written.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current._version += 1
        creator = current.creator
        if creator is not None and hasattr(creator, "outputs"):
            if not (keep_creator_output and current is tensor):
                index = next(i for i, ref in enumerate(creator.outputs) if ref() is current)
                creator.modified_outputs = {*getattr(creator, "modified_outputs", ()), index}
            written.extend(_viewed_tensors(current))


def set_item(tensor, index, value):
    """tensor[index] = value. Outside a graph it writes straight into the indexed
    elements (no copy of the whole array); in a graph it goes through ``in_place``."""
    if _records_graph(tensor, (value,)):
        return in_place(
            tensor,
            "__setitem__",
            lambda old: ops.inplace.setitem(old, index, old if value is tensor else value),
            value,
        )
    _check_writable(tensor, "__setitem__", graph=False)
    ops.inplace.write_item(tensor, index, value)
    mark_written(tensor)
    return tensor


def _replace_output(function, previous, replacement):
    """Point the output of ``function`` that is ``previous`` at ``replacement``."""
    for index, ref in enumerate(function.outputs):
        if ref() is previous:
            function.outputs[index] = weakref.ref(replacement)


# ----------------------------------------------------------------------------------
# Function: one node of the graph
# ----------------------------------------------------------------------------------


class Function:
    """A differentiable operation.

    Subclasses define
      ``forward(*arrays)``   on raw arrays, returning an array (or a tuple of arrays);
                             it may store on ``self`` what backward will need;
      ``backward(*grads)``   on Tensors, returning one gradient per input (None where
                             an input needs none), written with differentiable ops so
                             that it can itself be differentiated.
    Calling an instance on tensors runs forward and, if any input requires grad and
    grad mode is on, links the node into the graph.
    """

    def __call__(self, *inputs):
        _check_same_device(self, inputs)
        outputs = self.forward(*[x.data for x in inputs])
        is_tuple = isinstance(outputs, tuple)
        outputs = [Tensor(y) for y in (outputs if is_tuple else (outputs,))]
        if _grad_enabled and any(x.requires_grad for x in inputs):
            self._link(inputs, outputs)
        return tuple(outputs) if is_tuple else outputs[0]

    def _link(self, inputs, outputs):
        self.inputs = inputs
        self.input_versions = tuple(x._version for x in inputs)
        self.needs_input_grad = tuple(x.requires_grad for x in inputs)
        self.generation = max(x.generation for x in inputs)
        self.outputs = [weakref.ref(y) for y in outputs]
        self.output_specs = [(y.shape, y.dtype) for y in outputs]  # zeros for a lost output
        for y in outputs:
            y.requires_grad = True
            y.creator = self
            y.generation = self.generation + 1

    def output(self, index=0):
        """The index-th output Tensor (alive while backward runs); an error if an in-place
        op has changed it since (the value backward would read is gone)."""
        if index in getattr(self, "modified_outputs", ()):
            raise RuntimeError(
                f"backward: the output of {type(self).__name__} that its backward reads was "
                "modified by an in-place op; compute it out of place (y = y + 1, or clone "
                "it first)"
            )
        return self.outputs[index]()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grads):
        raise NotImplementedError

    def release(self):
        """Drop the inputs and saved arrays once backward has used them."""
        self.__dict__.clear()

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _check_same_device(function, inputs):
    if len(inputs) < 2 or len({type(x.data) for x in inputs}) == 1:
        return  # one input, or all arrays of one library: one device
    devices = {x.device for x in inputs}
    if len(devices) > 1:
        raise RuntimeError(
            f"{type(function).__name__}: expected all tensors on one device, "
            f"got tensors on {' and '.join(sorted(devices))}"
        )


# ----------------------------------------------------------------------------------
# The backward pass
# ----------------------------------------------------------------------------------


def run_backward(roots, root_grads, retain_graph=None, create_graph=False):
    """Backpropagate from ``roots`` and accumulate into the leaves' ``.grad``."""
    leaf_grads = _backpropagate(roots, root_grads, retain_graph, create_graph, capture=())
    held = set()  # arrays already handed to a leaf in this backward
    with set_grad_enabled(create_graph):
        for leaf, leaf_grad in leaf_grads.items():
            if leaf.grad is not None:
                leaf.grad = leaf.grad + leaf_grad
            else:
                leaf.grad = leaf_grad if create_graph else _own_grad(leaf_grad, held)


def _own_grad(grad, held):
    """A gradient a leaf may keep and change in place (p.grad.zero_(), clipping): a copy
    when its array is read-only (a broadcast), a view of another array, or already some
    other leaf's gradient (x + y hands both the same one)."""
    array = grad.data
    shared = array.base is not None or id(array) in held
    if shared or not getattr(array.flags, "writeable", True):
        grad = Tensor(array.copy())
    held.add(id(grad.data))
    return grad


def grad(
    outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False
):
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``: with ``create_graph=True`` the returned gradients are
    part of a graph and can be differentiated again (gradient penalties).
    """
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    found = _backpropagate(outputs, grad_outputs, retain_graph, create_graph, capture=inputs)
    grads = []
    for i, x in enumerate(inputs):
        if x not in found and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {x.shape}) is not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        grads.append(found.get(x))
    return tuple(grads)


def _backpropagate(roots, root_grads, retain_graph, create_graph, capture):
    """Walk the graph from roots; return {tensor: gradient} for the leaves and ``capture``.

    Gradients waiting to be used are keyed by the tensor itself (held strongly), so a
    tensor cannot disappear while its gradient is pending. A non-leaf's gradient is
    complete when its creator leaves the heap: every consumer came earlier.
    """
    if retain_graph is None:
        retain_graph = create_graph
    capture = set(capture)
    pending = {}
    captured = {}
    queue = []
    queued = set()
    order = itertools.count()  # tie-breaker so the heap never compares Functions

    def add_grad(tensor, g):
        pending[tensor] = g if tensor not in pending else pending[tensor] + g
        function = tensor.creator
        if function is not None and function not in queued:
            _check_not_released(function)
            queued.add(function)
            heapq.heappush(queue, (-function.generation, next(order), function))

    def take_grad(tensor):
        g = pending.pop(tensor, None) if tensor is not None else None
        if g is not None and tensor.retains_grad:
            tensor.grad = g if tensor.grad is None else tensor.grad + g
        if g is not None and tensor in capture:
            captured[tensor] = g
        return g

    with set_grad_enabled(create_graph):
        for root, g in zip(roots, root_grads):
            add_grad(root, _initial_grad(root, g))
        while queue:
            function = heapq.heappop(queue)[2]
            # Hold the outputs while backward runs: it may read them (exp, tanh, ...).
            outputs = [ref() for ref in function.outputs]
            # A node is queued only once an output got a gradient; its other outputs
            # may have none (unused, or dropped): they count as zeros.
            grads_out = [take_grad(y) for y in outputs]
            grads_out = [_zeros_if_none(g, function, i) for i, g in enumerate(grads_out)]
            _check_versions(function)
            grads_in = function.backward(*grads_out)
            if not isinstance(grads_in, tuple):
                grads_in = (grads_in,)
            for x, g, needed in zip(function.inputs, grads_in, function.needs_input_grad):
                if needed and g is not None:
                    add_grad(x, _checked_grad(function, x, g))
            del outputs
            if not retain_graph:
                function.release()
    pending.update(captured)
    return pending


def _initial_grad(root, g):
    if not root.requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no grad_fn "
            f"(shape {root.shape}); did an op run under no_grad or on detached data?"
        )
    if g is None:
        if root.numel() != 1:
            raise RuntimeError(
                "backward: grad can be implicitly created only for a tensor with one element; "
                f"got shape {root.shape}, so pass grad= of that shape"
            )
        return Tensor(backend.get_array_module(root.data).ones_like(root.data))
    g = g if isinstance(g, Tensor) else Tensor(g)
    if g.shape != root.shape:
        raise RuntimeError(
            f"backward: grad must have the output's shape {root.shape}, got {g.shape}"
        )
    return g


def _zeros_if_none(g, function, index):
    """The gradient of output `index`, or zeros when it received none (or was dropped)."""
    if g is not None:
        return g
    shape, dtype = function.output_specs[index]
    xp = backend.get_array_module(function.inputs[0].data)
    return Tensor(xp.zeros(shape, dtype=dtype))


def _checked_grad(function, x, g):
    """A gradient must have its input's shape; its dtype follows the input's."""
    if g.shape != x.shape:
        raise RuntimeError(
            f"{type(function).__name__}.backward: returned a gradient of shape {g.shape} "
            f"for an input of shape {x.shape}"
        )
    return g if g.dtype == x.dtype else ops.cast(g, x.dtype)


def _check_versions(function):
    """Raise if an input of ``function`` was modified in place after the op read it."""
    for position, (x, seen) in enumerate(zip(function.inputs, function.input_versions)):
        if x._version != seen:
            raise RuntimeError(
                f"backward: input {position} of {type(function).__name__} (shape {x.shape}) "
                f"was modified by an in-place op after {type(function).__name__} used it "
                f"(its version is {x._version}, the op saw version {seen}); compute it out "
                "of place (x = x + 1) or clone it before the in-place op"
            )


def _check_not_released(function):
    if not hasattr(function, "inputs"):
        raise RuntimeError(
            f"backward: the graph through {type(function).__name__} was already freed by an "
            "earlier backward(); call the first backward with retain_graph=True to go "
            "through it twice"
        )


# Tensor's methods call the ops, which build on Function above.
from scratchgen import ops  # noqa: E402
