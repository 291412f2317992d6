"""Optimizer: what SGD, Adam and AdamW share.

An optimizer holds *parameter groups*, as in PyTorch: a list of dicts, each with the
tensors it updates under ``"params"`` and its options (``"lr"``, ...). Options a group
does not set come from the optimizer's defaults, so

    optim.SGD([{"params": encoder_params}, {"params": decoder_params, "lr": 1e-2}],
              lr=1e-3, momentum=0.9)

trains the decoder ten times faster than the encoder. A learning-rate schedule
changes ``group["lr"]`` between steps.

Each parameter also has a *state* (momentum buffers, moment estimates, a step count),
created at its first update and kept in ``optimizer.state[param]``.

``step()`` updates the parameters in place, on the raw arrays of their backend
(NumPy or CuPy): no graph is recorded, and the parameter arrays stay the same
objects, so models and views that share them see the new values.
"""

import numbers

from scratchgen import backend
from scratchgen.tensor import Tensor, enable_grad, mark_written, no_grad


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad`` and state dicts.

    Args:
        params: an iterable of Tensors, or of dicts ``{"params": tensors, option: value}``
            that give a group its own options.
        defaults: the options of every group that does not set them.

    Subclasses implement ``_check_group(group)``, which raises on bad options, and
    ``_update(param, grad, state, group)``, which updates the raw array ``param`` in
    place from the raw array ``grad``.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        for group in _as_groups(params, type(self).__name__):
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} params, {options}")
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with "params" and optional options)."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(
                f"{name}: expected a parameter group as a dict with a 'params' entry, "
                f"got {param_group!r:.80}"
            )
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for index, param in enumerate(params):
            _check_param(param, index, name)
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        already_held = {p for g in self.param_groups for p in g["params"]}
        if len(set(params)) != len(params) or any(p in already_held for p in params):
            raise ValueError(f"{name}: a parameter appears twice among the parameter groups")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``.grad = None`` (default), or a fresh zero Tensor.

        The zero Tensor is new rather than the old gradient zeroed in place: a gradient
        array may be shared with other tensors or be a read-only broadcast view.
        """
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none or param.grad is None:
                    param.grad = None
                else:
                    xp = backend.get_array_module(param.data)
                    param.grad = Tensor(xp.zeros_like(param.data))

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place (one optimisation step).

        ``closure``, if given, re-evaluates the model and returns the loss (as in torch);
        step returns that loss.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is not None:
                        state = self.state.setdefault(param, {})
                        self._update(param.data, param.grad.data, state, group)
                        mark_written(param)  # a graph that read the old value refuses backward
        return loss

    def _check_group(self, group):
        raise NotImplementedError

    def _update(self, param, grad, state, group):
        raise NotImplementedError

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state in torch's layout.

        ``{"state": {index: {name: value}}, "param_groups": [{option: value,
        "params": [index, ...]}]}``: parameters are numbered 0, 1, ... in group order,
        since the tensors themselves are not saved. As in torch, the state Tensors are
        the optimizer's own, not copies: save them (``sg.save``) or deep-copy them before
        training on.
        """
        index_of = {}
        packed_groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for param in group["params"]:
                index_of[param] = len(index_of)
            packed["params"] = [index_of[param] for param in group["params"]]
            packed_groups.append(packed)
        state = {
            index: dict(self.state[param])
            for param, index in index_of.items()
            if self.state.get(param)  # plain SGD keeps no state, as in torch
        }
        return {"state": state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict):
        """Restore a state from ``state_dict()`` of an optimizer over parameters of the same
        shapes, in the same groups. The state is copied onto each parameter's device and
        dtype; the group options (lr, betas, ...) are replaced by the saved ones.
        """
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: expected {len(self.param_groups)} parameter "
                f"groups, got {len(saved_groups)}"
            )
        param_of = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} holds "
                    f"{len(group['params'])} parameters, the saved one {len(saved['params'])}"
                )
            param_of.update(zip(saved["params"], group["params"]))
        state = {}
        for index, saved_state in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(
                    f"{name}.load_state_dict: the saved state names parameter {index!r}, "
                    f"but the groups hold parameters 0..{len(param_of) - 1}"
                )
            param = param_of[index]
            state[param] = {
                key: _copied_state_value(value, param, f"{name}.load_state_dict", key)
                for key, value in saved_state.items()
            }
        self.state = state
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({key: value for key, value in saved.items() if key != "params"})


def _as_groups(params, name):
    """The constructor's ``params`` as a list of group dicts."""
    if isinstance(params, Tensor):
        raise TypeError(
            f"{name}: expected an iterable of Tensors or of dicts (parameter groups), "
            "got a single Tensor; pass [tensor] or model.parameters()"
        )
    params = list(params)
    if not params:
        raise ValueError(f"{name}: got an empty parameter list")
    if all(isinstance(item, dict) for item in params):
        return params
    return [{"params": params}]


def _check_param(param, index, name):
    """A parameter must be a leaf Tensor that requires grad."""
    if not isinstance(param, Tensor):
        raise TypeError(
            f"{name}: expected parameters to be Tensors, got {type(param).__name__} "
            f"at position {index}"
        )
    if not param.requires_grad:
        raise ValueError(
            f"{name}: parameter {index} (shape {param.shape}) does not require grad; "
            "create it with requires_grad=True or call .requires_grad_()"
        )
    if not param.is_leaf:
        raise ValueError(
            f"{name}: parameter {index} (shape {param.shape}) is not a leaf (an op made it); "
            "optimise the tensor it was computed from"
        )


def _copied_state_value(value, param, where, key):
    """A saved state entry for ``param``: Tensors copied to its device and dtype."""
    if not isinstance(value, Tensor):
        return value
    if value.shape != param.shape:
        raise ValueError(
            f"{where}: state '{key}' has shape {value.shape}, "
            f"but its parameter has shape {param.shape}"
        )
    array = backend.to_device(value.data, param.device)
    return Tensor(array.astype(param.dtype, copy=True))


def check_non_negative(name, group, option):
    """Raise unless ``group[option]`` is a real number >= 0."""
    value = group[option]
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name}: expected {option} >= 0, got {value!r}")


def check_decay_rate(name, group, option):
    """Raise unless ``group[option]`` is a real number in [0, 1] (the weight of the past)."""
    value = group[option]
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name}: expected {option} in [0, 1], got {value!r}")


def ascent_or_l2_gradient(param, grad, maximize, weight_decay):
    """The gradient a step follows: ``g`` (``-g`` to maximize) ``+ weight_decay * param``.

    ``weight_decay * param`` is the gradient of the L2 penalty ``weight_decay/2 * |p|^2``.
    A new array is made when anything changes: the parameter's ``.grad`` is never
    written (its array may be shared with other tensors or be a read-only view).
    """
    xp = backend.get_array_module(param)
    if maximize:
        grad = xp.negative(grad)
    if weight_decay != 0:
        decayed = xp.multiply(param, weight_decay)
        decayed += grad
        grad = decayed
    return grad
