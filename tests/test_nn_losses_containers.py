"""The PyTorch surface, part a: elu, silu and nll_loss (gradchecks, torch, properties, bad
input), the loss modules, the activation layers, ModuleDict and the editing of Sequential
(names equal to torch's), and nn.utils' gradient clipping against torch's."""

import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from helpers import (
    check_against_torch,
    check_both_dtypes,
    class_loss_pair,
    sg_constant,
    to_sg,
    torch,
    torch_constant,
)
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays

import scratchgen as sg
import scratchgen.nn.functional as F
from scratchgen import nn
from scratchgen.nn.utils import clip_grad_norm_, clip_grad_value_

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
REDUCTIONS = ["mean", "sum", "none"]


def tf():
    """torch.nn.functional (the cases below only call it when torch is installed)."""
    return torch.nn.functional


rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(4, 4))
AWAY_FROM_ZERO = rng.choice([-1, 1], size=(2, 3, 4)) * rng.uniform(0.05, 3, size=(2, 3, 4))
LOG_PROBS = np.log(rng.dirichlet(np.ones(4), size=4))
LABELS = np.array([0, 3, 1, 1], dtype=np.int64)
CLASS_WEIGHT = rng.uniform(0.5, 2, size=(4,))
PROBS = rng.uniform(0.05, 0.95, size=(4, 4))
TARGETS01 = rng.uniform(0, 1, size=(4, 4))


# ----------------------------------------------------------------------------------
# elu, silu
# ----------------------------------------------------------------------------------

# name: (scratchgen function, torch function)
ACTIVATIONS = {
    "elu": (F.elu, lambda x: tf().elu(x)),
    "elu_alpha0.5": (lambda x: F.elu(x, 0.5), lambda x: tf().elu(x, 0.5)),
    "elu_alpha2": (lambda x: F.elu(x, alpha=2.0), lambda x: tf().elu(x, alpha=2.0)),
    "silu": (F.silu, lambda x: tf().silu(x)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck_and_torch(name, device):
    sg_fn, torch_fn = ACTIVATIONS[name]
    check_both_dtypes(sg_fn, torch_fn, [AWAY_FROM_ZERO], device)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_second_derivatives_and_float32(name, device):
    sg_fn, _ = ACTIVATIONS[name]
    (x,) = to_sg([AWAY_FROM_ZERO[0]], device)
    assert sg.gradgradcheck(sg_fn, [x])
    assert sg_fn(x.float()).dtype == sg.float32


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_at_zero_matches_torch(name, device):
    """At the kink of elu the derivative is alpha (torch's left side)."""
    sg_fn, torch_fn = ACTIVATIONS[name]
    check_against_torch(sg_fn, torch_fn, [np.array([-1.0, 0.0, 1.0])], device)


@given(values=arrays((3, 5), -6.0, 6.0), alpha=st.floats(0.1, 3.0))
def test_elu_is_x_above_zero_and_bounded_increasing_below(values, alpha, device):
    y = F.elu(sg.tensor(np.sort(values, axis=1), device=device), alpha).numpy()
    positive = np.sort(values, axis=1) > 0
    np.testing.assert_array_equal(y[positive], np.sort(values, axis=1)[positive])
    assert (y[~positive] >= -alpha).all() and (y[~positive] <= 0).all()
    assert (np.diff(y, axis=1) >= 0).all()


@given(values=arrays((3, 5), -8.0, 8.0))
def test_silu_is_odd_up_to_x_and_above_its_minimum(values, device):
    """x s(x) - (-x) s(-x) = x (s(x) + s(-x)) = x; the minimum of x s(x) is -0.2785."""
    x = sg.tensor(values, device=device)
    np.testing.assert_allclose((F.silu(x) - F.silu(-x)).numpy(), values, atol=1e-12)
    assert (F.silu(x).numpy() >= -0.27847).all()


@pytest.mark.parametrize("name", ["elu", "silu"])
def test_activation_is_finite_for_huge_inputs(name, device):
    x = sg.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=sg.float64, device=device)
    x.requires_grad_()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = getattr(F, name)(x)
        y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("name", ["elu", "silu"])
def test_activation_needs_floating_input(name, device):
    with pytest.raises(TypeError, match=f"{name}: expected a floating-point tensor, got dtype"):
        getattr(F, name)(sg.tensor([1, 2], device=device))


# ----------------------------------------------------------------------------------
# nll_loss
# ----------------------------------------------------------------------------------

NLL_CASES = {
    "plain": dict(),
    "weight": dict(weight=CLASS_WEIGHT),
    "ignore_index": dict(ignore_index=1),
    "weight_ignore_index": dict(weight=CLASS_WEIGHT, ignore_index=3),
}


def nll_loss_pair(reduction, weight=None, **options):
    """nll_loss of scratchgen and of torch with the same options (weight constant)."""
    return class_loss_pair("nll_loss", reduction, weight, **options)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(NLL_CASES))
def test_nll_loss(reduction, case, device):
    ours, theirs = nll_loss_pair(reduction, **NLL_CASES[case])
    check_both_dtypes(ours, theirs, [LOG_PROBS, LABELS], device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_with_spatial_axes(reduction, device):
    log_probs = rng.uniform(-3, 0, size=(2, 4, 2, 3))
    labels = rng.integers(0, 4, size=(2, 2, 3))
    labels[0, 1, 2] = 3
    ours, theirs = nll_loss_pair(reduction, **NLL_CASES["weight_ignore_index"])
    check_both_dtypes(ours, theirs, [log_probs, labels], device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_of_one_sample(reduction, device):
    ours, theirs = nll_loss_pair(reduction, weight=CLASS_WEIGHT)
    check_both_dtypes(ours, theirs, [LOG_PROBS[0], np.array(2)], device)


def test_nll_loss_second_derivatives(device):
    ours, _ = nll_loss_pair("none", weight=CLASS_WEIGHT, ignore_index=1)
    assert sg.gradgradcheck(ours, to_sg([LOG_PROBS, LABELS], device))


@st.composite
def class_problems(draw):
    """(logits (N, C[, D]), targets (N[, D]) with targets[0] != 0, class weights (C,))."""
    n, classes, spatial = draw(st.integers(1, 4)), draw(st.integers(2, 5)), draw(st.booleans())
    shape = (n, classes, 3) if spatial else (n, classes)
    logits = draw(arrays(shape, -5.0, 5.0))
    targets = draw(arrays((n, 3) if spatial else (n,), 0.0, classes - 1.0)).round().astype(int)
    targets.reshape(-1)[0] = classes - 1  # one target survives ignore_index=0
    weight = draw(arrays((classes,), 0.5, 2.0))
    return logits, targets, weight


@given(
    problem=class_problems(),
    ignore_index=st.sampled_from([-100, 0]),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
)
def test_nll_loss_of_log_softmax_is_cross_entropy(
    problem, ignore_index, reduction, weighted, device
):
    logits, targets, weight = problem
    x = sg.tensor(logits, device=device, requires_grad=True)
    t = sg.tensor(targets, device=device)
    w = sg.tensor(weight, device=device) if weighted else None
    options = dict(ignore_index=ignore_index, reduction=reduction)
    nll = F.nll_loss(F.log_softmax(x, 1), t, w, **options)
    (nll_grad,) = sg.autograd.grad(nll.sum(), [x])
    ce = F.cross_entropy(x, t, w, **options)
    (ce_grad,) = sg.autograd.grad(ce.sum(), [x])
    np.testing.assert_allclose(nll.numpy(), ce.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nll_grad.numpy(), ce_grad.numpy(), rtol=1e-9, atol=1e-12)


@given(problem=class_problems(), scale=st.floats(0.1, 10.0))
def test_nll_loss_mean_does_not_depend_on_the_scale_of_the_weight(problem, scale, device):
    """mean = sum_n w_(t_n) (-x_n) / sum_n w_(t_n): scaling every w cancels."""
    logits, targets, weight = problem
    x, t = sg.tensor(logits, device=device), sg.tensor(targets, device=device)
    w = sg.tensor(weight, device=device)
    np.testing.assert_allclose(
        F.nll_loss(x, t, w * scale).item(), F.nll_loss(x, t, w).item(), rtol=1e-10
    )


def test_nll_loss_target_out_of_range(device):
    x = sg.zeros(3, 4, device=device)
    with pytest.raises(
        IndexError,
        match=r"nll_loss: target class indices must be in \[0, 3\] \(or ignore_index -100\), "
        r"got 4",
    ):
        F.nll_loss(x, sg.tensor([0, 4, 1], device=device))
    with pytest.raises(IndexError, match=r"nll_loss: .* \(or ignore_index 2\), got -1"):
        F.nll_loss(x, sg.tensor([0, -1, 2], device=device), ignore_index=2)


@pytest.mark.parametrize(
    "input_shape, target, error, message",
    [
        ((3, 4), [0, 1], ValueError, r"expected a target of shape \(3,\) for log-probabilities "),
        ((4,), [0, 1], ValueError, r"expected a 0-d target for log-probabilities of shape \(4,\)"),
        ((), 0, ValueError, r"expected log-probabilities of shape \(N, C\) or \(N, C, d...\)"),
        ((3, 4), [0.0, 1.0, 2.0], TypeError, r"expected a target of integer class indices"),
    ],
)
def test_nll_loss_shape_and_dtype_checks(input_shape, target, error, message, device):
    with pytest.raises(error, match="nll_loss: " + message):
        F.nll_loss(sg.zeros(input_shape, device=device), sg.tensor(target, device=device))


def test_nll_loss_setting_checks(device):
    x, t = sg.zeros(3, 4, device=device), sg.tensor([0, 1, 2], device=device)
    with pytest.raises(ValueError, match=r"nll_loss: expected a weight of shape \(4,\), one per"):
        F.nll_loss(x, t, sg.ones(3, device=device))
    with pytest.raises(ValueError, match="nll_loss: reduction must be 'mean', 'sum' or 'none', "):
        F.nll_loss(x, t, reduction="avg")
    with pytest.raises(TypeError, match=r"nll_loss: expected a floating-point input \(log-prob"):
        F.nll_loss(sg.tensor([[0, 1]], device=device), sg.tensor([0], device=device))


# ----------------------------------------------------------------------------------
# loss modules
# ----------------------------------------------------------------------------------

# name: (make(nn_, constant, like) -> the criterion, its input arrays)
LOSS_MODULES = {
    "MSELoss": (lambda nn_, c, x: nn_.MSELoss(), [X, PROBS]),
    "MSELoss-sum": (lambda nn_, c, x: nn_.MSELoss(reduction="sum"), [X, PROBS]),
    "L1Loss-none": (lambda nn_, c, x: nn_.L1Loss(reduction="none"), [X, X + 0.5]),
    "BCELoss-weight": (lambda nn_, c, x: nn_.BCELoss(c(TARGETS01, x)), [PROBS, TARGETS01]),
    "BCEWithLogitsLoss-pos_weight": (
        lambda nn_, c, x: nn_.BCEWithLogitsLoss(reduction="sum", pos_weight=c(CLASS_WEIGHT, x)),
        [X, TARGETS01],
    ),
    "CrossEntropyLoss-all": (
        lambda nn_, c, x: nn_.CrossEntropyLoss(
            c(CLASS_WEIGHT, x), ignore_index=3, label_smoothing=0.2
        ),
        [X, LABELS],
    ),
    "NLLLoss-weight-ignore": (
        lambda nn_, c, x: nn_.NLLLoss(c(CLASS_WEIGHT, x), ignore_index=1, reduction="mean"),
        [LOG_PROBS, LABELS],
    ),
}


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(LOSS_MODULES))
def test_loss_module_matches_torch(name, dtype, device):
    make, arrays_ = LOSS_MODULES[name]
    check_against_torch(
        lambda x, y: make(nn, sg_constant, x)(x, y),
        lambda x, y: make(torch.nn, torch_constant, x)(x, y),
        arrays_,
        device,
        dtype=dtype,
    )


@needs_torch
@pytest.mark.parametrize("name", sorted(LOSS_MODULES))
def test_loss_module_state_dict_and_repr_are_torchs(name):
    """The weight and pos_weight are buffers, in the state dict only when given."""
    make, _ = LOSS_MODULES[name]
    ours = make(nn, sg_constant, sg.zeros(1, dtype=sg.float64))
    theirs = make(torch.nn, torch_constant, torch.zeros(1, dtype=torch.float64))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(), value.numpy())


def test_loss_module_weight_moves_with_the_module(device):
    criterion = nn.CrossEntropyLoss(sg.tensor(CLASS_WEIGHT)).to(device)
    assert criterion.weight.device == sg.tensor(0.0, device=device).device
    loss = criterion(sg.tensor(X, device=device), sg.tensor(LABELS, device=device))
    expected = F.cross_entropy(
        sg.tensor(X, device=device), sg.tensor(LABELS, device=device), criterion.weight
    )
    assert loss.item() == expected.item()


def test_loss_modules_report_bad_settings_by_op(device):
    x = sg.zeros(2, 3, device=device)
    with pytest.raises(ValueError, match="mse_loss: reduction must be 'mean', 'sum' or 'none'"):
        nn.MSELoss(reduction="avg")(x, x)
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        nn.CrossEntropyLoss(label_smoothing=2.0)(x, sg.tensor([0, 1], device=device))
    with pytest.raises(TypeError, match="cannot assign a ndarray as buffer 'weight' of BCELoss"):
        nn.BCELoss(np.ones(3))


# ----------------------------------------------------------------------------------
# activation layers
# ----------------------------------------------------------------------------------

ACTIVATION_LAYERS = {
    "ELU": lambda nn_: nn_.ELU(),
    "ELU-alpha-inplace": lambda nn_: nn_.ELU(alpha=0.5, inplace=True),
    "SiLU": lambda nn_: nn_.SiLU(),
    "SiLU-inplace": lambda nn_: nn_.SiLU(inplace=True),
    "Softmax": lambda nn_: nn_.Softmax(dim=1),
    "LogSoftmax": lambda nn_: nn_.LogSoftmax(-1),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(ACTIVATION_LAYERS))
def test_activation_layer_matches_torch(name, device):
    make = ACTIVATION_LAYERS[name]
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    for setting in ("alpha", "inplace", "dim"):
        assert getattr(ours, setting, None) == getattr(theirs, setting, None), setting
    check_against_torch(  # in place only into a non-leaf (both libraries): a clone
        lambda x: make(nn)(x.clone()), lambda x: make(torch.nn)(x.clone()), [AWAY_FROM_ZERO], device
    )


@needs_torch
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4), (2, 3, 2, 2)])
def test_softmax_layer_without_dim_warns_and_picks_torchs_axis(name, shape, device):
    values = rng.standard_normal(shape)
    with pytest.warns(UserWarning, match=f"{name}: implicit dimension choice"):
        ours = getattr(nn, name)()(sg.tensor(values, device=device)).numpy()
    if torch is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(torch.nn, name)()(torch.from_numpy(values)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# ----------------------------------------------------------------------------------
# Sequential editing, ModuleDict
# ----------------------------------------------------------------------------------


def edited_sequential(nn_):
    """The same edits on a Sequential of nn_ (ours or torch.nn)."""
    model = nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU(), nn_.Linear(3, 4))
    model[1] = nn_.Linear(3, 3)
    model.insert(0, nn_.Linear(2, 2))
    model.insert(-1, nn_.Tanh())
    model.extend(nn_.Sequential(nn_.Linear(4, 5), nn_.Sigmoid()))
    model.append(nn_.Linear(3, 4))
    del model[4]
    del model[-3:-1]
    model.pop(-2)
    return model


@needs_torch
def test_sequential_edits_name_and_order_like_torch(device):
    ours, theirs = edited_sequential(nn), edited_sequential(torch.nn)
    assert repr(ours) == repr(theirs)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    assert ours.to(device)(sg.randn(5, 2, device=device)).shape == (5, 4)


def test_sequential_delete_and_insert_renumber():
    a, b, c = nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)
    model = nn.Sequential(OrderedDict([("first", a), ("act", b), ("last", c)]))
    model[-1] = nn.Linear(2, 3)
    assert list(model._modules) == ["first", "act", "last"] and model.last.out_features == 3
    del model[0]
    assert list(model._modules) == ["0", "1"] and model[0] is b
    model.insert(1, a)
    assert list(model) == [b, a, model[2]] and list(model._modules) == ["0", "1", "2"]
    assert model.pop(slice(0, 2))[1] is a and len(model) == 1
    assert list(model.state_dict()) == ["0.weight", "0.bias"]


def test_sequential_edit_errors():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for length 3"):
        model[3] = nn.ReLU()
    with pytest.raises(IndexError, match="Sequential: index -4 is out of range for length 3"):
        del model[-4]
    with pytest.raises(TypeError, match="Sequential: expected an integer index or a slice, got"):
        model["0"]
    with pytest.raises(IndexError, match="Sequential.insert: index 4 is out of range for len"):
        model.insert(4, nn.ReLU())
    with pytest.raises(AssertionError, match="Sequential.insert: expected a Module, got int"):
        model.insert(0, 3)
    with pytest.raises(TypeError, match="cannot assign a int as child module '1' of Sequential"):
        model[1] = 3
    assert len(model) == 3  # no failed edit changed it


def module_dict_model(nn_):
    """A Module holding a ModuleDict built and edited the same way in nn_."""

    class Model(nn_.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn_.ModuleDict({"encoder": nn_.Linear(4, 2), "act": nn_.ReLU()})
            self.blocks["decoder"] = nn_.Linear(2, 4)
            self.blocks.update([("head", nn_.Linear(4, 1)), ("act", nn_.Tanh())])
            self.blocks.update(nn_.ModuleDict({"extra": nn_.Linear(1, 3)}))
            del self.blocks["head"]
            self.out = nn_.Linear(3, 1)

    return Model()


@needs_torch
def test_module_dict_registers_its_modules_like_torch():
    ours, theirs = module_dict_model(nn), module_dict_model(torch.nn)
    assert repr(ours) == repr(theirs)
    assert [(k, v.shape) for k, v in ours.named_parameters()] == [
        (k, tuple(v.shape)) for k, v in theirs.named_parameters()
    ]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_module_dict_is_a_dict_of_modules(device):
    encoder, act = nn.Linear(4, 2), nn.ReLU()
    blocks = nn.ModuleDict(OrderedDict([("encoder", encoder), ("act", act)])).to(device)
    assert len(blocks) == 2 and list(blocks) == ["encoder", "act"] == list(blocks.keys())
    assert list(blocks.values()) == [encoder, act] and list(blocks.items())[1] == ("act", act)
    assert "encoder" in blocks and "decoder" not in blocks and blocks["act"] is act
    assert blocks.pop("encoder") is encoder and list(blocks) == ["act"]
    assert list(blocks.parameters()) == [] and nn.ModuleDict().state_dict() == OrderedDict()
    blocks.clear()
    assert len(blocks) == 0
    with pytest.raises(KeyError, match="missing"):
        blocks["missing"]


@pytest.mark.parametrize(
    "edit, error, message",
    [
        (
            lambda d: d.__setitem__(1, nn.ReLU()),
            TypeError,
            "ModuleDict: expected a string key, got int",
        ),
        (
            lambda d: d.__setitem__("a.b", nn.ReLU()),
            KeyError,
            "ModuleDict: .* without a dot, got 'a.b'",
        ),
        (lambda d: d.__setitem__("", nn.ReLU()), KeyError, "ModuleDict: a key must be non-empty"),
        (
            lambda d: d.__setitem__("train", nn.ReLU()),
            KeyError,
            "ModuleDict: key 'train' is the name",
        ),
        (lambda d: d.__setitem__("x", 3), TypeError, "child module 'x' of ModuleDict"),
        (lambda d: d.update(5), TypeError, "ModuleDict.update: expected a mapping or"),
        (lambda d: d.update([("a",)]), ValueError, "ModuleDict.update: .*#0 to have length 2"),
        (lambda d: d.update([nn.ReLU()]), TypeError, "ModuleDict.update: .*#0 to be a \\(key"),
    ],
)
def test_module_dict_errors(edit, error, message):
    blocks = nn.ModuleDict({"x": nn.ReLU()})
    with pytest.raises(error, match=message):
        edit(blocks)
    assert list(blocks) == ["x"] and isinstance(blocks["x"], nn.ReLU)


# ----------------------------------------------------------------------------------
# nn.utils: clip_grad_norm_, clip_grad_value_
# ----------------------------------------------------------------------------------

GRAD_SHAPES = [(3, 4), (4,), (), (2, 1, 3)]


def grads_for(seed, dtype=np.float32):
    generator = np.random.default_rng(seed)
    return [generator.standard_normal(shape).astype(dtype) for shape in GRAD_SHAPES]


def sg_parameters(grads, device):
    """Parameters whose .grad are the arrays, and one without a gradient."""
    params = [nn.Parameter(sg.zeros(g.shape, device=device)) for g in grads]
    for param, grad in zip(params, grads):
        param.grad = sg.tensor(grad, device=device)
    return params + [nn.Parameter(sg.zeros(2, device=device))]


def torch_parameters(grads):
    params = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for param, grad in zip(params, grads):
        param.grad = torch.from_numpy(grad.copy())
    return params + [torch.nn.Parameter(torch.zeros(2))]


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, -math.inf, 0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, device):
    grads = grads_for(0)
    ours, theirs = sg_parameters(grads, device), torch_parameters(grads)
    arrays_before = [p.grad.data for p in ours[:-1]]
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, sg.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-5)
    for mine, ref, before in zip(ours, theirs, arrays_before):
        assert mine.grad.data is before  # scaled in place
        np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert ours[-1].grad is None


@needs_torch
def test_clip_grad_norm_of_non_finite_gradients_matches_torch(device):
    grads = grads_for(1)
    grads[0][1, 2] = np.inf
    ours, theirs = sg_parameters(grads, device), torch_parameters(grads)
    with np.errstate(invalid="ignore"):
        total = clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.item() == expected.item() == math.inf
    for mine, ref in zip(ours[:-1], theirs):
        np.testing.assert_array_equal(mine.grad.numpy(), ref.grad.numpy())


def test_clip_grad_norm_refuses_non_finite_gradients_when_asked(device):
    grads = grads_for(1)
    grads[2][...] = np.nan
    params = sg_parameters(grads, device)
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm of order 2.0 of the "):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(params[0].grad.numpy(), grads[0])  # untouched


@given(values=arrays((3, 4), -10.0, 10.0), max_norm=st.floats(0.01, 50.0))
def test_clip_grad_norm_bounds_the_norm_and_keeps_the_direction(values, max_norm, device):
    params = sg_parameters([values[:2], values[2]], device)
    total = clip_grad_norm_(params, max_norm).item()
    clipped = np.concatenate([p.grad.numpy().reshape(-1) for p in params[:-1]])
    np.testing.assert_allclose(total, np.linalg.norm(values), rtol=1e-12)
    assert np.linalg.norm(clipped) <= max_norm * (1 + 1e-12)
    factor = min(max_norm / (total + 1e-6), 1.0)
    np.testing.assert_allclose(clipped, factor * values.reshape(-1), rtol=1e-12)


def test_clip_grad_norm_of_one_tensor_and_of_none(device):
    param = nn.Parameter(sg.zeros(2, device=device))
    param.grad = sg.tensor([3.0, 4.0], device=device)
    assert clip_grad_norm_(param, 1.0).item() == 5.0
    np.testing.assert_allclose(param.grad.numpy(), [3 / (5 + 1e-6), 4 / (5 + 1e-6)], rtol=1e-6)
    assert nn.utils.clip_grad_norm_([nn.Parameter(sg.zeros(2))], 1.0).item() == 0.0


@needs_torch
def test_clip_grad_value_matches_torch(device):
    grads = grads_for(2)
    ours, theirs = sg_parameters(grads, device), torch_parameters(grads)
    assert clip_grad_value_(ours, 0.3) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    for mine, ref in zip(ours[:-1], theirs):
        np.testing.assert_array_equal(mine.grad.numpy(), ref.grad.numpy())
    assert ours[-1].grad is None


@given(values=arrays((3, 4), -3.0, 3.0), clip_value=st.floats(0.0, 4.0))
def test_clip_grad_value_clamps_and_keeps_what_is_inside(values, clip_value, device):
    (param, _) = sg_parameters([values], device)
    nn.utils.clip_grad_value_(param, clip_value)
    np.testing.assert_array_equal(param.grad.numpy(), np.clip(values, -clip_value, clip_value))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda ps: clip_grad_norm_(ps, 1.0, "fro"), ValueError, "norm_type, got 'fro'"),
        (lambda ps: clip_grad_norm_(ps, None), TypeError, "max_norm, got None"),
        (lambda ps: clip_grad_norm_([1.0], 1.0), TypeError, "parameters as Tensors, got float"),
        (lambda ps: clip_grad_value_(ps, "a"), ValueError, "clip_value, got 'a'"),
    ],
)
def test_clip_grad_errors_name_the_setting(call, error, message, device):
    params = sg_parameters(grads_for(3), device)
    with pytest.raises(error, match=r"clip_grad_(norm|value)_: expected .*" + message):
        call(params)


def test_nll_loss_is_finite_with_a_zero_probability_at_another_class(device):
    log_probs = np.log(np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]]))
    target = np.array([0, 2])
    check_against_torch(
        lambda x, t: F.nll_loss(x, t),
        lambda x, t: torch.nn.functional.nll_loss(x, t),
        [log_probs, target],
        device,
    )
    loss = F.nll_loss(sg.tensor(log_probs, device=device), sg.tensor(target, device=device))
    assert np.isfinite(loss.item())
