"""Learning-rate schedules: change ``group["lr"]`` of an optimizer once per epoch.

    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(...)        # optimizer.step() inside
        scheduler.step()            # then the next epoch's learning rate

As in torch, building a scheduler sets the epoch-0 learning rate, and each ``step()``
moves to the next epoch. Every group keeps its starting rate in ``group["initial_lr"]``.
"""

import math
import numbers

from scratchgen.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses say in ``get_lr()`` what each group's lr is at ``last_epoch``.

    Attributes:
        optimizer: the optimizer whose learning rates are set.
        base_lrs: each group's initial learning rate.
        last_epoch: the epoch whose learning rate is in place (0 after construction).
    """

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{name}: resuming at last_epoch={last_epoch} needs "
                    f"param_groups[{i}]['initial_lr']; load the optimizer's state dict first"
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self):
        """The learning rate of every group at epoch ``last_epoch``."""
        raise NotImplementedError

    def step(self):
        """Move to the next epoch and set its learning rates."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates set by the last ``step()`` (one per group)."""
        return list(self._last_lr)

    def state_dict(self):
        """Every attribute but the optimizer (epoch, base rates, schedule settings)."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore the attributes saved by ``state_dict()``."""
        self.__dict__.update(state_dict)


class LambdaLR(LRScheduler):
    """lr(epoch) = initial_lr * lr_lambda(epoch).

    ``lr_lambda`` is a function of the epoch (an int), or a list with one function per
    parameter group.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(groups):
                raise ValueError(
                    f"{type(self).__name__}: expected {len(groups)} lr_lambdas "
                    f"(one per parameter group), got {len(lr_lambda)}"
                )
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [
            base_lr * lr_lambda(self.last_epoch)
            for base_lr, lr_lambda in zip(self.base_lrs, self.lr_lambdas)
        ]

    def state_dict(self):
        """As the base class, without the lambdas: they are code, not state. Rebuild the
        scheduler with the same lambdas, then load the state dict."""
        state = super().state_dict()
        del state["lr_lambdas"]
        return state


class StepLR(LRScheduler):
    """lr <- lr * gamma every ``step_size`` epochs: initial_lr * gamma^(epoch // step_size).

    Like torch, each decay multiplies the group's current lr (so it composes with
    other changes to it) rather than recomputing the closed form.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: expected step_size as an int >= 1, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the initial lr down to ``eta_min`` over ``T_max`` epochs:

        lr(epoch) = eta_min + (initial_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2

    (torch's closed form; past T_max the cosine climbs again, as in torch). Fast early
    progress at a high rate, then small careful steps at the end of the run.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if isinstance(T_max, bool) or not isinstance(T_max, numbers.Integral) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: expected T_max as an int >= 1, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        half_cosine = (1.0 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2.0
        return [self.eta_min + (base_lr - self.eta_min) * half_cosine for base_lr in self.base_lrs]


def linear_decay_factor(epoch, n_constant, n_decay):
    """CycleGAN's lr factor: 1 up to epoch ``n_constant``, then linear down to 0.

        factor(epoch) = clip((n_constant + n_decay - epoch) / n_decay, 0, 1)

    Epochs 0 .. n_constant train at the initial lr, epoch n_constant + k at
    (1 - k / n_decay) times it, and from epoch n_constant + n_decay on the lr is 0.
    Training for n_constant + n_decay epochs (CycleGAN: 100 + 100) thus ends at
    initial_lr / n_decay, and the scheduler's last ``step()`` reaches 0.
    """
    return min(1.0, max(0.0, (n_constant + n_decay - epoch) / n_decay))


def linear_decay_lambda(n_constant, n_decay):
    """``linear_decay_factor`` as a function of the epoch alone, for :class:`LambdaLR`
    (torch's ``LambdaLR`` takes it too)."""
    _check_counts("linear_decay_lambda", n_constant, n_decay)
    return lambda epoch: linear_decay_factor(epoch, n_constant, n_decay)


class LinearDecayLR(LambdaLR):
    """CycleGAN's schedule: constant lr for ``n_constant`` epochs, then linear decay to 0
    over ``n_decay`` epochs (see :func:`linear_decay_factor`):

        lr(epoch) = initial_lr * clip((n_constant + n_decay - epoch) / n_decay, 0, 1)

    ``n_constant`` and ``n_decay`` are saved in the state dict and used after loading.
    """

    def __init__(self, optimizer, n_constant, n_decay, last_epoch=-1):
        _check_counts("LinearDecayLR", n_constant, n_decay)
        self.n_constant = n_constant
        self.n_decay = n_decay
        super().__init__(optimizer, self.factor, last_epoch)

    def factor(self, epoch):
        """The lr factor at an epoch."""
        return linear_decay_factor(epoch, self.n_constant, self.n_decay)

    @classmethod
    def over_run(cls, optimizer, epochs):
        """The pix2pix / CycleGAN reference's rule for a run of E = epochs epochs, n = E // 2
        of them at the full lr (its n_epochs) and E - n decaying (its n_epochs_decay):
        epoch e trains at

            lr(e) = lr min(1, (E - e) / (E - n + 1))

        constant through epoch n - 1, then falling by equal steps, the last epoch at
        lr / (E - n + 1), and 0 after it: n_constant = n - 1 (at least 0), n_decay =
        E - n_constant."""
        n_constant = max(epochs // 2 - 1, 0)
        return cls(optimizer, n_constant, epochs - n_constant)


def _check_counts(where, n_constant, n_decay):
    for name, value, minimum in (("n_constant", n_constant, 0), ("n_decay", n_decay, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise ValueError(f"{where}: expected {name} as an int >= {minimum}, got {value!r}")
