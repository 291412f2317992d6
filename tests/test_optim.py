"""Optimizers and learning-rate schedules: torch conformance, state dicts, bad input.

The conformance tests train the same tiny MLP in scratchgen and in torch (float64, same
initial parameters, each framework computing its own gradients) and compare the
parameters after every one of 20 steps.
"""

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen import optim
from scratchgen.optim.lr_scheduler import (
    CosineAnnealingLR,
    LambdaLR,
    LinearDecayLR,
    StepLR,
    linear_decay_factor,
    linear_decay_lambda,
)

TRAJECTORY_TOLERANCE = dict(rtol=1e-10, atol=1e-12)

SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.1, momentum=0.9, dampening=0.3),
    dict(lr=0.01, momentum=0.5, weight_decay=0.1, nesterov=True, maximize=True),
]
ADAM_CASES = [
    dict(lr=1e-2),
    dict(lr=1e-2, weight_decay=0.1),
    dict(lr=1e-2, amsgrad=True),
    dict(lr=1e-2, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.05, amsgrad=True),
    dict(lr=1e-2, maximize=True),
]
ADAMW_CASES = [
    dict(lr=1e-2),
    dict(lr=1e-2, weight_decay=0.1, amsgrad=True),
    dict(lr=1e-2, betas=(0.3, 0.99), maximize=True),
]
CASES = (
    [("SGD", kwargs) for kwargs in SGD_CASES]
    + [("Adam", kwargs) for kwargs in ADAM_CASES]
    + [("AdamW", kwargs) for kwargs in ADAMW_CASES]
)
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}" for name, kwargs in CASES]


# -- a tiny problem, written once for both frameworks --------------------------------------


def problem(seed=0):
    """Initial parameters of a 3-5-2 MLP, and a batch (x, y)."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(shape) for shape in [(5, 3), (5,), (2, 5), (2,)]]
    return init, rng.standard_normal((8, 3)), rng.standard_normal((8, 2))


def mlp_loss(params, x, y):
    """Mean squared error of tanh-MLP outputs; the same code runs on sg and torch tensors."""
    w1, b1, w2, b2 = params
    hidden = (x @ w1.T + b1).tanh()
    return ((hidden @ w2.T + b2 - y) ** 2).mean()


def sg_params(arrays, device):
    return [sg.tensor(a, device=device, requires_grad=True) for a in arrays]


def train(params, optimizer, x, y, steps):
    """``steps`` optimisation steps; the parameters (as NumPy copies) after each."""
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        mlp_loss(params, x, y).backward()
        optimizer.step()
        trajectory.append([np.array(p.detach().numpy()) for p in params])
    return trajectory


def sg_run(name, kwargs, device, steps=20, init=None):
    init_params, x, y = problem()
    params = sg_params(init if init is not None else init_params, device)
    optimizer = getattr(optim, name)(params, **kwargs)
    xs, ys = sg.tensor(x, device=device), sg.tensor(y, device=device)
    return train(params, optimizer, xs, ys, steps), optimizer, params


def torch_run(torch, name, kwargs, steps=20):
    init, x, y = problem()
    params = [torch.tensor(a, requires_grad=True) for a in init]
    optimizer = getattr(torch.optim, name)(params, **kwargs)
    return train(params, optimizer, torch.from_numpy(x), torch.from_numpy(y), steps), optimizer


def assert_same_trajectory(ours, theirs, **tolerance):
    for step, (mine, ref) in enumerate(zip(ours, theirs)):
        for i, (a, b) in enumerate(zip(mine, ref)):
            np.testing.assert_allclose(a, b, **tolerance, err_msg=f"param {i}, step {step + 1}")


# -- torch conformance --------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_trajectory_matches_torch(device, name, kwargs):
    torch = pytest.importorskip("torch")
    ours, optimizer, _ = sg_run(name, kwargs, device)
    theirs, torch_optimizer = torch_run(torch, name, kwargs)
    assert_same_trajectory(ours, theirs, **TRAJECTORY_TOLERANCE)

    # the state dicts have torch's layout and the same state values
    mine, ref = optimizer.state_dict(), torch_optimizer.state_dict()
    assert sorted(mine) == ["param_groups", "state"]
    assert sorted(mine["state"]) == sorted(ref["state"])
    for index, state in ref["state"].items():
        assert set(mine["state"][index]) == set(state)
        for key, value in state.items():
            np.testing.assert_allclose(
                np.asarray(
                    mine["state"][index][key].numpy()
                    if key != "step"
                    else mine["state"][index][key]
                ),
                value.numpy(),
                **TRAJECTORY_TOLERANCE,
                err_msg=key,
            )
    for group, ref_group in zip(mine["param_groups"], ref["param_groups"]):
        assert group["params"] == ref_group["params"]
        for option, value in group.items():
            assert ref_group[option] == value, option


def test_param_groups_with_their_own_lr_match_torch(device):
    torch = pytest.importorskip("torch")
    init, x, y = problem()
    ours = sg_params(init, device)
    theirs = [torch.tensor(a, requires_grad=True) for a in init]

    def groups(p):
        return [{"params": p[:2], "lr": 0.1}, {"params": p[2:], "nesterov": True}]

    optimizer = optim.SGD(groups(ours), lr=0.01, momentum=0.9)
    torch_optimizer = torch.optim.SGD(groups(theirs), lr=0.01, momentum=0.9)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in optimizer.param_groups] == [0.9, 0.9]
    assert [g["nesterov"] for g in optimizer.param_groups] == [False, True]
    xs, ys = sg.tensor(x, device=device), sg.tensor(y, device=device)
    assert_same_trajectory(
        train(ours, optimizer, xs, ys, 20),
        train(theirs, torch_optimizer, torch.from_numpy(x), torch.from_numpy(y), 20),
        **TRAJECTORY_TOLERANCE,
    )


def test_add_param_group_matches_torch(device):
    torch = pytest.importorskip("torch")
    init, x, y = problem()
    ours = sg_params(init, device)
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    optimizer = optim.Adam(ours[:2], lr=1e-2)
    optimizer.add_param_group({"params": ours[2:], "lr": 3e-2, "amsgrad": True})
    torch_optimizer = torch.optim.Adam(theirs[:2], lr=1e-2)
    torch_optimizer.add_param_group({"params": theirs[2:], "lr": 3e-2, "amsgrad": True})
    xs, ys = sg.tensor(x, device=device), sg.tensor(y, device=device)
    assert_same_trajectory(
        train(ours, optimizer, xs, ys, 20),
        train(theirs, torch_optimizer, torch.from_numpy(x), torch.from_numpy(y), 20),
        **TRAJECTORY_TOLERANCE,
    )


# -- behaviour ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_step_updates_in_place_and_never_writes_the_gradient(device, name):
    init, x, y = problem()
    params = sg_params(init, device)
    arrays = [p.data for p in params]
    optimizer = getattr(optim, name)(params, lr=0.1, weight_decay=0.1, maximize=True)
    mlp_loss(params, sg.tensor(x, device=device), sg.tensor(y, device=device)).backward()
    grads = [p.grad.numpy().copy() for p in params]
    optimizer.step()
    assert all(p.data is a for p, a in zip(params, arrays))
    assert not any(np.array_equal(p.numpy(), a) for p, a in zip(params, init))
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_read_only_broadcast_gradients_are_fine(device, name):
    # the gradient of sum() reaches w as a read-only broadcast view of one value
    w = sg.tensor(np.arange(6.0).reshape(2, 3), device=device, requires_grad=True)
    kwargs = dict(momentum=0.9) if name == "SGD" else {}
    optimizer = getattr(optim, name)([w], lr=0.1, **kwargs)
    for _ in range(3):
        optimizer.zero_grad()
        w.sum().backward()
        optimizer.step()
    assert np.all(np.isfinite(w.numpy()))
    assert np.all(w.numpy() < np.arange(6.0).reshape(2, 3))


def test_zero_grad(device):
    init, x, y = problem()
    params = sg_params(init, device)
    optimizer = optim.SGD(params, lr=0.1)
    loss = mlp_loss(params, sg.tensor(x, device=device), sg.tensor(y, device=device))
    loss.backward()
    old_grads = [p.grad for p in params]
    optimizer.zero_grad(set_to_none=False)
    for p, old in zip(params, old_grads):
        assert p.grad is not old
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype
        assert p.grad.device == device
        assert not np.any(p.grad.numpy())
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_parameters_without_gradient_are_skipped(device):
    used = sg.tensor([1.0, 2.0], device=device, requires_grad=True)
    unused = sg.tensor([3.0, 4.0], device=device, requires_grad=True)
    optimizer = optim.Adam([used, unused], lr=0.1)
    (used * used).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(unused.numpy(), [3.0, 4.0])
    assert unused not in optimizer.state and used in optimizer.state
    assert list(optimizer.state_dict()["state"]) == [0]


def test_step_with_closure_returns_the_loss(device):
    init, x, y = problem()
    params = sg_params(init, device)
    xs, ys = sg.tensor(x, device=device), sg.tensor(y, device=device)
    optimizer = optim.SGD(params, lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = mlp_loss(params, xs, ys)
        loss.backward()
        return loss

    with sg.no_grad():  # the closure still records its graph
        first = optimizer.step(closure).item()
    second = optimizer.step(closure).item()
    assert second < first


# -- state dicts --------------------------------------------------------------------------


def resume_half_way(name, kwargs, device):
    """10 steps straight, and 5 steps + a state-dict round trip + 5 steps: (the resumed
    optimizer, its checkpoint, its params, the resumed trajectory, the straight one)."""
    uninterrupted, _, _ = sg_run(name, kwargs, device, steps=10)
    first_half, optimizer, _ = sg_run(name, kwargs, device, steps=5)
    checkpoint = copy.deepcopy(optimizer.state_dict())
    _, x, y = problem()
    params = sg_params(first_half[-1], device)
    resumed = getattr(optim, name)(params, lr=123.0)  # the saved options win
    resumed.load_state_dict(checkpoint)
    xs, ys = sg.tensor(x, device=device), sg.tensor(y, device=device)
    second_half = train(params, resumed, xs, ys, 5)
    return resumed, checkpoint, params, second_half, uninterrupted


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.01)),
        ("AdamW", dict(lr=1e-2, betas=(0.8, 0.95))),
    ],
)
def test_state_dict_round_trip_continues_bit_exactly(device, name, kwargs):
    resumed, _, _, second_half, uninterrupted = resume_half_way(name, kwargs, device)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    for mine, ref in zip(second_half[-1], uninterrupted[-1]):
        np.testing.assert_array_equal(mine, ref)


def test_load_state_dict_copies_the_state(device):
    _, optimizer, params = sg_run("Adam", dict(lr=1e-2), device, steps=3)
    saved = optimizer.state_dict()
    other = optim.Adam(sg_params([p.numpy() for p in params], device))
    other.load_state_dict(saved)
    saved["state"][0]["exp_avg"].data[...] = 0
    assert np.any(other.state[other.param_groups[0]["params"][0]]["exp_avg"].numpy())


def test_load_state_dict_casts_to_the_parameter_dtype(device):
    _, optimizer, params = sg_run("Adam", dict(lr=1e-2), device, steps=2)
    single = [
        sg.tensor(p.numpy().astype(np.float32), device=device, requires_grad=True) for p in params
    ]
    other = optim.Adam(single)
    other.load_state_dict(optimizer.state_dict())
    state = other.state[single[0]]
    assert state["exp_avg"].dtype == sg.float32 and state["step"] == 2


def test_load_state_dict_rejects_a_different_layout(device):
    _, optimizer, params = sg_run("SGD", dict(lr=0.1, momentum=0.9), device, steps=2)
    saved = optimizer.state_dict()
    with pytest.raises(ValueError, match="SGD.load_state_dict: expected 2 parameter groups"):
        optim.SGD([{"params": params[:2]}, {"params": params[2:]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match="group 0 holds 3 parameters, the saved one 4"):
        optim.SGD(params[:3]).load_state_dict(saved)
    transposed = [sg.tensor(p.numpy().T.copy(), device=device, requires_grad=True) for p in params]
    with pytest.raises(ValueError, match=r"momentum_buffer' has shape \(5, 3\)"):
        optim.SGD(transposed).load_state_dict(saved)


# -- learning-rate schedules --------------------------------------------------------------


def two_group_optimizers(torch, device):
    """The same two-group SGD in scratchgen and torch (lrs 0.1 and 0.02)."""
    ours = optim.SGD(
        [
            {"params": [sg.zeros(2, device=device, requires_grad=True)]},
            {"params": [sg.zeros(3, device=device, requires_grad=True)], "lr": 0.02},
        ],
        lr=0.1,
    )
    theirs = torch.optim.SGD(
        [
            {"params": [torch.zeros(2, requires_grad=True)]},
            {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.02},
        ],
        lr=0.1,
    )
    return ours, theirs


def lr_sequences(scheduler, torch_scheduler, epochs=25):
    ours, theirs = [scheduler.get_last_lr()], [torch_scheduler.get_last_lr()]
    for _ in range(epochs):
        scheduler.optimizer.step()
        torch_scheduler.optimizer.step()
        scheduler.step()
        torch_scheduler.step()
        ours.append(scheduler.get_last_lr())
        theirs.append(torch_scheduler.get_last_lr())
    return ours, theirs


def wavy(epoch):
    return 0.9**epoch + 0.1 * (epoch % 3)


def test_cosine_annealing_matches_torch(device):
    torch = pytest.importorskip("torch")
    ours, theirs = two_group_optimizers(torch, device)
    sequence, torch_sequence = lr_sequences(
        optim.lr_scheduler.CosineAnnealingLR(ours, T_max=10, eta_min=0.001),
        torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=10, eta_min=0.001),
    )  # 25 epochs: down to eta_min at 10, up again to the initial lr at 20
    np.testing.assert_allclose(sequence, torch_sequence, rtol=1e-12, atol=1e-15)
    assert sequence[10] == pytest.approx([0.001, 0.001])


@pytest.mark.parametrize(
    "make",
    [
        lambda lr, opt: lr.LambdaLR(opt, wavy),
        lambda lr, opt: lr.LambdaLR(opt, [wavy, lambda e: 1 / (1 + e)]),
        lambda lr, opt: lr.StepLR(opt, step_size=3, gamma=0.5),
        lambda lr, opt: lr.StepLR(opt, step_size=1),
        lambda lr, opt: lr.LambdaLR(opt, linear_decay_lambda(5, 7)),
    ],
    ids=["lambda", "lambda-per-group", "step-3-0.5", "step-1", "linear-decay-lambda"],
)
def test_schedules_match_torch_exactly(device, make):
    torch = pytest.importorskip("torch")
    ours, theirs = two_group_optimizers(torch, device)
    sequence, torch_sequence = lr_sequences(
        make(optim.lr_scheduler, ours), make(torch.optim.lr_scheduler, theirs)
    )
    assert sequence == torch_sequence
    assert [g["lr"] for g in ours.param_groups] == sequence[-1]
    assert [g["initial_lr"] for g in ours.param_groups] == [0.1, 0.02]


def test_linear_decay_lr_sequence_is_as_documented(device):
    optimizer = optim.Adam([sg.zeros(2, device=device, requires_grad=True)], lr=0.2)
    scheduler = LinearDecayLR(optimizer, n_constant=3, n_decay=4)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(9):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    # epochs 0..3 at 0.2; then 0.2 * (1 - k/4) at epoch 3 + k; 0 from epoch 7 on
    assert lrs == pytest.approx([0.2, 0.2, 0.2, 0.2, 0.15, 0.1, 0.05, 0.0, 0.0, 0.0])
    assert optimizer.param_groups[0]["lr"] == 0.0


@given(
    n_constant=st.integers(0, 30),
    n_decay=st.integers(1, 30),
)
def test_linear_decay_factor_shape(n_constant, n_decay):
    factors = np.array([linear_decay_factor(e, n_constant, n_decay) for e in range(70)])
    assert np.all(factors[: n_constant + 1] == 1.0)
    assert np.all(factors[n_constant + n_decay :] == 0.0)
    assert np.all(np.diff(factors) <= 0)
    steps = np.diff(factors[n_constant : n_constant + n_decay + 1])
    np.testing.assert_allclose(steps, -1.0 / n_decay, rtol=1e-12)
    lam = linear_decay_lambda(n_constant, n_decay)
    assert [lam(e) for e in range(70)] == factors.tolist()


def test_scheduler_state_dict_round_trip(device):
    def build(lr=0.5):
        optimizer = optim.SGD([sg.zeros(2, device=device, requires_grad=True)], lr=lr)
        return optimizer, LinearDecayLR(optimizer, n_constant=2, n_decay=5)

    optimizer, scheduler = build()
    for _ in range(3):
        scheduler.step()
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    assert "lr_lambdas" not in saved_scheduler and "optimizer" not in saved_scheduler
    assert saved_scheduler["last_epoch"] == 3

    resumed_optimizer, resumed = build(lr=9.0)
    resumed_optimizer.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved_scheduler)
    for _ in range(5):
        scheduler.step()
        resumed.step()
        assert resumed.get_last_lr() == scheduler.get_last_lr()


def test_step_lr_state_dict_holds_its_settings(device):
    optimizer = optim.SGD([sg.zeros(1, device=device, requires_grad=True)], lr=1.0)
    state = StepLR(optimizer, step_size=4, gamma=0.3).state_dict()
    assert state["step_size"] == 4 and state["gamma"] == 0.3
    assert state["base_lrs"] == [1.0] and state["last_epoch"] == 0


def test_resuming_a_scheduler_needs_initial_lr(device):
    optimizer = optim.SGD([sg.zeros(1, device=device, requires_grad=True)], lr=1.0)
    with pytest.raises(KeyError, match="initial_lr"):
        LambdaLR(optimizer, wavy, last_epoch=5)


# -- bad input ----------------------------------------------------------------------------


def a_param(device="cpu"):
    return sg.zeros(3, device=device, requires_grad=True)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
@pytest.mark.parametrize("lr", [-0.1, float("nan"), "0.1", None])
def test_bad_learning_rate(device, name, lr):
    with pytest.raises(ValueError, match=rf"{name}: expected lr >= 0, got"):
        getattr(optim, name)([a_param(device)], lr=lr)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize(
    "betas, message",
    [
        ((1.0, 0.999), r"betas\[0\] in \[0, 1\), got 1.0"),
        ((0.9, -0.1), r"betas\[1\] in \[0, 1\), got -0.1"),
        ((0.9, 1.5), r"betas\[1\] in \[0, 1\), got 1.5"),
        ((0.9,), r"betas as a pair"),
        (0.9, r"betas as a pair"),
    ],
)
def test_bad_betas(device, name, betas, message):
    with pytest.raises(ValueError, match=rf"{name}: expected {message}"):
        getattr(optim, name)([a_param(device)], betas=betas)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("Adam", dict(eps=-1e-8), "eps >= 0"),
        ("AdamW", dict(weight_decay=-0.1), "weight_decay >= 0"),
        ("SGD", dict(momentum=-0.9), "momentum >= 0"),
        ("SGD", dict(weight_decay=-1), "weight_decay >= 0"),
        ("SGD", dict(nesterov=True), "Nesterov momentum needs momentum > 0"),
        ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "and dampening = 0"),
    ],
)
def test_bad_options(device, name, kwargs, message):
    with pytest.raises(ValueError, match=f"{name}: .*{message}"):
        getattr(optim, name)([a_param(device)], **kwargs)


def test_bad_option_in_a_group(device):
    groups = [{"params": [a_param(device)]}, {"params": [a_param(device)], "lr": -1.0}]
    with pytest.raises(ValueError, match="SGD: expected lr >= 0, got -1.0"):
        optim.SGD(groups, lr=0.1)


def test_bad_params(device):
    with pytest.raises(TypeError, match="SGD: expected parameters to be Tensors, got ndarray"):
        optim.SGD([np.zeros(3)])
    with pytest.raises(ValueError, match="Adam: parameter 1 .* does not require grad"):
        optim.Adam([a_param(device), sg.zeros(2, device=device)])
    with pytest.raises(ValueError, match="Adam: parameter 0 .* is not a leaf"):
        optim.Adam([a_param(device) * 2])
    with pytest.raises(ValueError, match="AdamW: got an empty parameter list"):
        optim.AdamW([])
    with pytest.raises(TypeError, match="got a single Tensor"):
        optim.SGD(a_param(device))
    shared = a_param(device)
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([{"params": [shared]}, {"params": [shared]}])
    with pytest.raises(
        TypeError, match="SGD: expected a parameter group as a dict with a 'params'"
    ):
        optim.SGD([{"lr": 0.1}])


def test_bad_scheduler_input(device):
    optimizer = optim.SGD([a_param(device)], lr=0.1)
    with pytest.raises(TypeError, match="StepLR: expected an Optimizer, got list"):
        StepLR([a_param(device)], step_size=2)
    with pytest.raises(ValueError, match="CosineAnnealingLR: expected T_max as an int >= 1"):
        CosineAnnealingLR(optim.SGD([a_param(device)], lr=0.1), T_max=0)
    with pytest.raises(ValueError, match="StepLR: expected step_size as an int >= 1, got 0"):
        StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match="LambdaLR: expected 1 lr_lambdas .*got 2"):
        LambdaLR(optimizer, [wavy, wavy])
    with pytest.raises(ValueError, match="LinearDecayLR: expected n_decay as an int >= 1"):
        LinearDecayLR(optimizer, n_constant=3, n_decay=0)
    with pytest.raises(ValueError, match="LinearDecayLR: expected n_constant as an int >= 0"):
        LinearDecayLR(optimizer, n_constant=-1, n_decay=3)
    with pytest.raises(ValueError, match="linear_decay_lambda: expected n_constant"):
        linear_decay_lambda(1.5, 3)


@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_a_0d_parameter_matches_torch(device, name, kwargs):
    """A scalar parameter (CLIP's logit scale, a temperature) steps as torch's does."""
    torch = pytest.importorskip("torch")
    ours = sg.nn.Parameter(sg.tensor(np.float64(0.5), device=device))
    theirs = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    opt_ours = getattr(sg.optim, name)([ours], **kwargs)
    opt_theirs = getattr(torch.optim, name)([theirs], **kwargs)
    for _ in range(5):
        for param, optimizer in ((ours, opt_ours), (theirs, opt_theirs)):
            optimizer.zero_grad()
            ((param - 3.0) ** 2 * param.exp()).backward()
            optimizer.step()
    assert ours.shape == ()
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), **TRAJECTORY_TOLERANCE)
