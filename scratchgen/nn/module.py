"""Module: the base class of every layer and model.

A Module holds three ordered registries, filled by plain attribute assignment:

    _parameters   name -> Parameter   (self.weight = Parameter(...))
    _buffers      name -> Tensor      (self.register_buffer("running_mean", t))
    _modules      name -> Module      (self.fc = Linear(3, 4))

Everything else (the walk over parameters, the state dict with dotted names such as
``"encoder.0.weight"``, train/eval, moving to a device or dtype) is a recursion over
``_modules``. Names, order and behaviour follow ``torch.nn.Module``, so a state dict
moves between scratchgen and PyTorch unchanged.
"""

from collections import OrderedDict, namedtuple

from scratchgen import backend
from scratchgen.nn.parameter import Parameter
from scratchgen.tensor import Tensor, mark_written

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for layers: subclasses set attributes in ``__init__`` and define ``forward``.

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(8, 1)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the "forward" method')

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- registration ----------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {name!r} before Module.__init__() call "
                    f"(call super().__init__() first in {type(self).__name__}.__init__)"
                )
            object.__setattr__(self, name, value)
        elif isinstance(value, Parameter) or name in self._parameters:
            self.register_parameter(name, value)
        elif isinstance(value, Module) or name in self._modules:
            self.add_module(name, value)
        elif name in self._buffers:
            self.register_buffer(name, value, persistent=name not in self._non_persistent_buffers)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Called only when normal lookup fails: look in the registries.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        registries = (self._parameters, self._buffers, self._modules)
        if any(name in registry for registry in registries):
            for registry in registries:
                registry.pop(name, None)
            self._non_persistent_buffers.discard(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register a Parameter (or None: a declared but absent parameter, e.g. no bias)."""
        self._register(self._parameters, name, param, Parameter, "parameter")

    def register_buffer(self, name, tensor, persistent=True):
        """Register a Tensor that is state but not learned (running statistics), or None.

        Persistent buffers go into the state dict; non-persistent ones do not.
        """
        self._register(self._buffers, name, tensor, Tensor, "buffer")
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Register a child Module (or None) under name, as ``self.name = module`` does."""
        self._register(self._modules, name, module, Module, "child module")

    def _register(self, registry, name, value, expected_type, role):
        """Put value in one registry and remove name from everywhere else.

        Replacing an entry keeps its place, so the state-dict order does not change.
        """
        if value is not None and not isinstance(value, expected_type):
            raise TypeError(
                f"cannot assign a {type(value).__name__} as {role} {name!r} of "
                f"{type(self).__name__} ({expected_type.__name__} or None expected)"
            )
        self.__dict__.pop(name, None)
        for other in (self._parameters, self._buffers, self._modules):
            if other is not registry:
                other.pop(name, None)
        self._non_persistent_buffers.discard(name)
        registry[name] = value

    register_module = add_module

    # -- walking the tree ------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(dotted name, module) for self and every descendant, each module once, pre-order."""
        return _walk(self, prefix, seen=set())

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) for the direct children, each module once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs, each Parameter once (a shared one by its first name)."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True):
        """(dotted name, buffer) pairs, each buffer once."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def _named_members(self, registry, prefix, recurse):
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in modules:
            for name, tensor in getattr(module, registry).items():
                if tensor is None or id(tensor) in seen:
                    continue
                seen.add(id(tensor))
                yield _join(module_name, name), tensor

    # -- state dict ------------------------------------------------------------------
    def state_dict(self):
        """OrderedDict of dotted name -> detached Tensor (sharing memory with the model).

        Holds the parameters and the persistent buffers: for each module its own
        parameters, then its own buffers, then its children's entries, as torch orders them.
        """
        return OrderedDict(
            (name, tensor.detach()) for name, tensor in self._state_tensors("").items()
        )

    def _state_tensors(self, prefix):
        """The live Parameters and persistent buffers under their state-dict names."""
        tensors = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                tensors[prefix + name] = param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                tensors[prefix + name] = buffer
        for name, module in self._modules.items():
            if module is not None:
                tensors.update(module._state_tensors(prefix + name + "."))
        return tensors

    def load_state_dict(self, state_dict, strict=True):
        """Copy the values of state_dict (Tensors or arrays) into this module's tensors.

        Values are written into the existing tensors (cast to their dtype and device), so
        Parameter objects, and the optimizers that hold them, stay valid. A shape mismatch
        is always an error; missing and unexpected keys are errors when ``strict``.
        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        own = self._state_tensors("")
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        if strict and missing:
            errors.append("missing key(s) in state_dict: " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            errors.append("unexpected key(s) in state_dict: " + ", ".join(map(repr, unexpected)))
        for key, target in own.items():
            if key in state_dict:
                shape = tuple(state_dict[key].shape)
                if shape != target.shape:
                    errors.append(
                        f"size mismatch for {key!r}: expected shape {target.shape} "
                        f"(the model's), got {shape}"
                    )
        if errors:
            raise RuntimeError(
                f"load_state_dict: error(s) in loading state_dict for {type(self).__name__}:\n  "
                + "\n  ".join(errors)
            )
        for key, target in own.items():
            if key in state_dict:
                _copy_into(target, state_dict[key])
        return IncompatibleKeys(missing, unexpected)

    # -- modes -----------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics) on self and descendants."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Turn gradients of every parameter on or off (freeze a network)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of every parameter: to None, or to zeros."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = Tensor(backend.get_array_module(param.data).zeros_like(param.data))

    def apply(self, fn):
        """Call fn on every descendant, then on self (e.g. a custom initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- device and dtype ------------------------------------------------------------
    def to(self, *args, device=None, dtype=None):
        """Move parameters and buffers to a device and/or cast floating ones to a dtype.

        ``model.to("cuda")``, ``model.to(sg.float64)``, ``model.to(device, dtype)``.
        It works in place: each Parameter keeps its identity and gets a new ``.data``
        (and ``.grad``), so an optimizer built before the move stays valid.
        """
        for arg in args:
            if backend.is_device(arg):
                device = arg
            else:
                dtype = arg
        if device is not None:
            device = backend.parse_device(device)
        if dtype is not None:
            dtype = backend.as_dtype(dtype)
            if not backend.is_floating(dtype):
                raise TypeError(f"Module.to: expected a floating-point dtype, got {dtype}")
        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor.data = _converted(tensor.data, device, dtype)
            if tensor.grad is not None:
                tensor.grad = Tensor(_converted(tensor.grad.data, device, dtype))
        return self

    def cpu(self):
        return self.to(device="cpu")

    def cuda(self):
        return self.to(device="cuda")

    def float(self):
        return self.to(dtype=backend.float32)

    def double(self):
        return self.to(dtype=backend.float64)

    # -- printing --------------------------------------------------------------------
    def extra_repr(self):
        """The layer's settings shown inside its repr, e.g. ``in_features=3, ...``."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [
            f"({name}): " + repr(module).replace("\n", "\n  ")
            for name, module in self._modules.items()
        ]
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        lines += children
        if not lines:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _walk(module, name, seen):
    """Pre-order walk of the module tree, skipping modules already seen."""
    if module in seen:
        return
    seen.add(module)
    yield name, module
    for key, child in module._modules.items():
        if child is not None:
            yield from _walk(child, _join(name, key), seen)


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _converted(array, device, dtype):
    """array cast to dtype (floating arrays only) and moved to device."""
    if dtype is not None and backend.is_floating(array.dtype):
        array = array.astype(dtype, copy=False)
    if device is not None:
        array = backend.to_device(array, device)
    return array


def _copy_into(target, value):
    """Write value (a Tensor or an array) into target's array, in place."""
    array = value.data if isinstance(value, Tensor) else value
    target.data[...] = backend.to_device(array, target.device)
    mark_written(target)
