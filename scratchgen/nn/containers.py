"""Containers: Sequential (a pipeline), ModuleList (a list of registered modules) and
ModuleDict (a dict of them).

Children are registered under the names "0", "1", ... (a ModuleDict: under its keys), so a
state dict reads ``"0.weight"``, ``"2.bias"``, ``"encoder.weight"``, exactly as in torch.
"""

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from scratchgen.nn.module import Module


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 1))``.

    Also accepts one OrderedDict of name -> module. Supports indexing (an int gives a
    module, a slice a new Sequential), assignment to an index, ``del`` of an index or a
    slice, len, iteration, append, extend, insert and pop. As in torch, ``del`` renumbers
    the modules left 0, 1, ..., and so does insert.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x

    def append(self, module):
        """Add a module at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Add every module of an iterable (another Sequential, a list) at the end."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put module before position index (-len <= index <= len); the modules are then
        numbered 0, 1, ... again."""
        if not isinstance(module, Module):  # torch's error type
            raise AssertionError(
                f"Sequential.insert: expected a Module, got {type(module).__name__}"
            )
        length = len(self)
        if not -length <= operator.index(index) <= length:
            raise IndexError(
                f"Sequential.insert: index {index} is out of range for length {length}"
            )
        modules = list(self)
        modules.insert(index, module)
        self._renumber(modules)
        return self

    def pop(self, index):
        """Remove the module (or the Sequential of a slice) at index and return it."""
        removed = self[index]
        del self[index]
        return removed

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_checked_index(index, len(items), "Sequential")][1]

    def __setitem__(self, index, module):
        self.add_module(self._key(index), module)

    def __delitem__(self, index):
        keys = list(self._modules)[index] if isinstance(index, slice) else [self._key(index)]
        for key in keys:
            delattr(self, key)
        self._renumber(list(self))

    def _key(self, index):
        """The name of the module at an integer index."""
        return list(self._modules)[_checked_index(index, len(self), "Sequential")]

    def _renumber(self, modules):
        """Register modules under "0", "1", ... in this order, as the only children."""
        self._modules.clear()
        for position, module in enumerate(modules):
            self.add_module(str(position), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules whose parameters are registered: ``ModuleList([Linear(4, 4)] * 3)``.

    Supports indexing (an int gives a module, a slice a new ModuleList), assignment to an
    index, len, iteration, append and extend. It has no forward: iterate over it.
    """

    def __init__(self, modules=None):
        super().__init__()
        self.extend(modules or [])

    def append(self, module):
        """Add a module at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Add every module of an iterable at the end."""
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_checked_index(index, len(modules), "ModuleList")]

    def __setitem__(self, index, module):
        self.add_module(str(_checked_index(index, len(self), "ModuleList")), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules whose parameters are registered: ``ModuleDict({"enc": Linear(4, 2)})``.

    Keys keep their insertion order and name the children in the state dict
    (``"enc.weight"``). Supports ``d[key]``, ``d[key] = module``, ``del d[key]``, ``in``,
    len, iteration over the keys, keys, values, items, update, pop and clear. It has no
    forward: pick a module by its key.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def update(self, modules):
        """Add (or replace) the modules of a mapping, or of an iterable of (key, module)."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = modules.items()
        elif isinstance(modules, Iterable):
            pairs = [_checked_pair(pair, number) for number, pair in enumerate(modules)]
        else:
            raise TypeError(
                "ModuleDict.update: expected a mapping or an iterable of (key, module) "
                f"pairs, got {type(modules).__name__}"
            )
        for key, module in pairs:
            self[key] = module

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        """Remove the module under key and return it."""
        removed = self[key]
        del self[key]
        return removed

    def clear(self):
        """Remove every module."""
        self._modules.clear()

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(self._checked_key(key), module)

    def __delitem__(self, key):
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def _checked_key(self, key):
        """key as torch's add_module accepts it: a non-empty string without ".", not the
        name of one of the ModuleDict's own attributes."""
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: expected a string key, got {type(key).__name__}")
        if not key or "." in key:
            raise KeyError(f"ModuleDict: a key must be non-empty and without a dot, got {key!r}")
        if key not in self._modules and hasattr(self, key):
            raise KeyError(f"ModuleDict: key {key!r} is the name of an attribute of ModuleDict")
        return key


def _checked_pair(pair, number):
    """One (key, module) element of an update sequence, or an error naming its position."""
    if not isinstance(pair, Iterable) or isinstance(pair, str):
        raise TypeError(
            f"ModuleDict.update: expected element #{number} to be a (key, module) pair, "
            f"got {type(pair).__name__}"
        )
    pair = tuple(pair)
    if len(pair) != 2:
        raise ValueError(
            f"ModuleDict.update: expected element #{number} to have length 2 (key, module), "
            f"got length {len(pair)}"
        )
    return pair


def _checked_index(index, length, container):
    """A non-negative index in range, or an error naming the container."""
    if not hasattr(type(index), "__index__"):
        raise TypeError(
            f"{container}: expected an integer index or a slice, got {type(index).__name__}"
        )
    if not -length <= index < length:
        raise IndexError(f"{container}: index {index} is out of range for length {length}")
    return operator.index(index) % length
