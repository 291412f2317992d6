"""Containers: Sequential (a pipeline) and ModuleList (a list of registered modules).

Children are registered under the names "0", "1", ..., so a state dict reads
``"0.weight"``, ``"2.bias"``, exactly as in torch.
"""

from collections import OrderedDict

from scratchgen.nn.module import Module


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 1))``.

    Also accepts one OrderedDict of name -> module. Supports indexing (an int gives a
    module, a slice a new Sequential), len, iteration and append.
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

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_checked_index(index, len(items), "Sequential")][1]

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


def _checked_index(index, length, container):
    """A non-negative index in range, or an IndexError naming the container."""
    if not -length <= index < length:
        raise IndexError(f"{container}: index {index} is out of range for length {length}")
    return index % length
