"""conv2d, conv_transpose2d, max/avg/adaptive pooling and pad: float64 gradchecks over
hypothesis-drawn geometry, torch conformance at the reference shapes (float64 and float32),
double backward against torch, the maths as properties (adjoint, bounds), bad input."""

import numpy as np
import pytest
from helpers import check_against_torch, check_op
from hypothesis import assume, given
from hypothesis import strategies as st

import scratchgen as sg
from scratchgen.ops import conv as conv_module
from scratchgen.ops import pool as pool_module
from scratchgen.ops.conv import conv2d, conv_transpose2d
from scratchgen.ops.pad import pad
from scratchgen.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the torch halves of check_op skip cleanly
    torch = F = None


def random_arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in shapes]


def conv_out(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pairs(low, high):
    return st.tuples(st.integers(low, high), st.integers(low, high))


@st.composite
def conv_geometry(draw):
    """(N, C_in, C_out, (H, W), kernel, stride, padding, dilation) whose kernel fits, small."""
    kernel = draw(pairs(1, 3))
    stride = draw(pairs(1, 3))
    padding = draw(pairs(0, 2))
    dilation = draw(pairs(1, 2))
    hw = tuple(
        draw(st.integers(max(1, dilation[k] * (kernel[k] - 1) + 1 - 2 * padding[k]), 7))
        for k in range(2)
    )
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return n, c_in, c_out, hw, kernel, stride, padding, dilation


@st.composite
def pool_geometry(draw, max_padding=True):
    """(shape, kernel, stride, padding) of a valid pooling: padding <= kernel // 2."""
    kernel, stride = draw(pairs(1, 3)), draw(pairs(1, 3))
    padding = tuple(draw(st.integers(0, k // 2)) if max_padding else 0 for k in kernel)
    hw = tuple(draw(st.integers(max(1, kernel[k] - 2 * padding[k]), 7)) for k in range(2))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *hw)
    return shape, kernel, stride, padding


# ----------------------------------------------------------------------------------
# gradchecks (float64, random upstream) + torch over drawn geometry
# ----------------------------------------------------------------------------------


@given(geometry=conv_geometry(), with_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_gradcheck_and_torch(geometry, with_bias, seed, device):
    n, cin, cout, hw, kernel, stride, padding, dilation = geometry
    x, w, b = random_arrays(seed, (n, cin, *hw), (cout, cin, *kernel), (cout,))
    arrays = [x, w, b] if with_bias else [x, w]
    check_op(
        lambda x, w, b=None: conv2d(x, w, b, stride, padding, dilation),
        lambda x, w, b=None: F.conv2d(x, w, b, stride, padding, dilation),
        arrays,
        device,
    )


@given(
    geometry=conv_geometry(),
    with_bias=st.booleans(),
    extra=pairs(0, 2),
    hw=pairs(1, 4),
    seed=st.integers(0, 2**16),
)
def test_conv_transpose2d_gradcheck_and_torch(geometry, with_bias, extra, hw, seed, device):
    n, cin, cout, _, kernel, stride, padding, dilation = geometry
    output_padding = tuple(min(e, s - 1) for e, s in zip(extra, stride))
    out_hw = [
        (hw[k] - 1) * stride[k]
        - 2 * padding[k]
        + dilation[k] * (kernel[k] - 1)
        + output_padding[k]
        + 1
        for k in range(2)
    ]
    assume(min(out_hw) >= 1)
    x, w, b = random_arrays(seed, (n, cin, *hw), (cin, cout, *kernel), (cout,))
    arrays = [x, w, b] if with_bias else [x, w]
    check_op(
        lambda x, w, b=None: conv_transpose2d(x, w, b, stride, padding, output_padding, dilation),
        lambda x, w, b=None: F.conv_transpose2d(
            x, w, b, stride, padding, output_padding, 1, dilation
        ),
        arrays,
        device,
    )


# kernel widths that the stride divides: col2im adds s offsets as one block
# (ops/conv.py, _column_group); the last case has dilation, which turns that off.
GROUPED_GEOMETRY = [
    # (kernel, stride, padding, output_padding, dilation), input (1, 2, 4, 5)
    ((4, 4), (2, 2), (1, 1), (0, 1), (1, 1)),
    ((3, 6), (1, 3), (0, 2), (0, 2), (2, 1)),
    ((2, 4), (2, 2), (1, 1), (1, 0), (1, 1)),
    ((2, 4), (2, 2), (0, 1), (1, 0), (1, 2)),
]


@pytest.mark.parametrize("kernel, stride, padding, output_padding, dilation", GROUPED_GEOMETRY)
def test_grouped_col2im_matches_torch(kernel, stride, padding, output_padding, dilation, device):
    x, w, xc, wc = random_arrays(0, (1, 2, 4, 5), (2, 3, *kernel), (1, 3, 9, 11), (2, 3, *kernel))
    check_op(
        lambda x, w: conv_transpose2d(x, w, None, stride, padding, output_padding, dilation),
        lambda x, w: F.conv_transpose2d(x, w, None, stride, padding, output_padding, 1, dilation),
        [x, w],
        device,
    )
    check_op(  # conv2d's input gradient is the same col2im
        lambda x, w: conv2d(x, w, None, stride, padding, dilation),
        lambda x, w: F.conv2d(x, w, None, stride, padding, dilation),
        [xc, wc],
        device,
    )


# ----------------------------------------------------------------------------------
# the plain im2col / col2im path (ops/conv.py, part 1) and the fast path built on it
# ----------------------------------------------------------------------------------


def test_im2col_lays_out_the_windows_of_the_docstrings_picture():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # a b c / d e f / g h i as 1 .. 9
    cols = conv_module.im2col(x, (2, 2), (1, 1), (0, 0), (1, 1), (2, 2))
    np.testing.assert_array_equal(cols, [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]])


@given(geometry=conv_geometry(), seed=st.integers(0, 2**16))
def test_col2im_is_the_adjoint_of_im2col(geometry, seed):
    n, cin, _, hw, kernel, stride, padding, dilation = geometry
    out_hw = tuple(conv_out(hw[k], kernel[k], stride[k], padding[k], dilation[k]) for k in range(2))
    x, c = random_arrays(
        seed, (n, cin, *hw), (n * out_hw[0] * out_hw[1], cin * kernel[0] * kernel[1])
    )
    cols = conv_module.im2col(x, kernel, stride, padding, dilation, out_hw)
    back = conv_module.col2im(c, hw, kernel, stride, padding, dilation, out_hw)
    assert np.sum(cols * c) == pytest.approx(np.sum(x * back), rel=1e-10, abs=1e-10)


@given(geometry=conv_geometry(), seed=st.integers(0, 2**16))
def test_the_fast_path_computes_what_the_plain_path_does(geometry, seed, device):
    n, cin, cout, hw, kernel, stride, padding, dilation = geometry
    x, w, b = random_arrays(seed, (n, cin, *hw), (cout, cin, *kernel), (cout,))
    expected_y = conv_module.conv2d_plain(x, w, b, stride, padding, dilation)
    g = random_arrays(seed + 1, expected_y.shape)[0]
    expected_grads = conv_module.conv2d_plain_grads(x, w, g, stride, padding, dilation)
    inputs = [sg.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
    y = conv2d(*inputs, stride, padding, dilation)
    y.backward(sg.tensor(g, device=device))
    np.testing.assert_allclose(y.numpy(), expected_y, rtol=1e-10, atol=1e-12)
    for tensor, expected in zip(inputs, expected_grads):
        np.testing.assert_allclose(tensor.grad.numpy(), expected, rtol=1e-10, atol=1e-12)
    # the rows dropped by the stride: (H + 2p - d (k - 1) - 1) mod s, always < s
    output_padding = conv_module._transpose_output_padding(
        hw, g.shape[2:], kernel, stride, padding, dilation
    )
    transposed = conv_transpose2d(
        sg.tensor(g, device=device),
        inputs[1].detach(),
        None,
        stride,
        padding,
        output_padding,
        dilation,
    )
    np.testing.assert_allclose(transposed.numpy(), expected_grads[0], rtol=1e-10, atol=1e-12)


@given(geometry=pool_geometry(), seed=st.integers(0, 2**16))
def test_max_pool2d_gradcheck_and_torch(geometry, seed, device):
    shape, kernel, stride, padding = geometry
    # a permutation: no two values within eps of each other, so no window has a tie
    x = np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape) / 10.0
    check_op(
        lambda x: max_pool2d(x, kernel, stride, padding),
        lambda x: F.max_pool2d(x, kernel, stride, padding),
        [x],
        device,
    )


@given(geometry=pool_geometry(), seed=st.integers(0, 2**16))
def test_avg_pool2d_gradcheck_and_torch(geometry, seed, device):
    shape, kernel, stride, padding = geometry
    check_op(
        lambda x: avg_pool2d(x, kernel, stride, padding),
        lambda x: F.avg_pool2d(x, kernel, stride, padding),
        random_arrays(seed, shape),
        device,
    )


@given(hw=pairs(1, 7), out=st.one_of(st.integers(1, 4), pairs(1, 4)), seed=st.integers(0, 2**16))
def test_adaptive_avg_pool2d_gradcheck_and_torch(hw, out, seed, device):
    check_op(
        lambda x: adaptive_avg_pool2d(x, out),
        lambda x: F.adaptive_avg_pool2d(x, out),
        random_arrays(seed, (2, 3, *hw)),
        device,
    )


def test_adaptive_avg_pool2d_none_keeps_the_axis(device):
    (x,) = random_arrays(0, (2, 3, 6, 5))
    check_op(
        lambda x: adaptive_avg_pool2d(x, (3, None)),
        lambda x: F.adaptive_avg_pool2d(x, (3, None)),
        [x],
        device,
    )


@given(
    hw=pairs(2, 6),
    pads=st.tuples(*[st.integers(0, 3)] * 4),
    mode=st.sampled_from(["constant", "reflect"]),
    value=st.floats(-2, 2),
    seed=st.integers(0, 2**16),
)
def test_pad_gradcheck_and_torch(hw, pads, mode, value, seed, device):
    if mode == "reflect":
        pads = (
            min(pads[0], hw[1] - 1),
            min(pads[1], hw[1] - 1),
            min(pads[2], hw[0] - 1),
            min(pads[3], hw[0] - 1),
        )
    check_op(
        lambda x: pad(x, pads, mode, value),
        lambda x: F.pad(x, pads, mode, value if mode == "constant" else None),
        random_arrays(seed, (2, 2, *hw)),
        device,
    )


@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_pad_two_element_form_pads_the_width(mode, device):
    (x,) = random_arrays(1, (2, 3, 4, 5))

    def torch_pad(x):  # torch takes a 2-element reflect pad only for 2-D/3-D input
        return F.pad(x.reshape(6, 4, 5), (2, 3), mode).reshape(2, 3, 4, 10)

    check_op(lambda x: pad(x, (2, 3), mode), torch_pad, [x], device)


# ----------------------------------------------------------------------------------
# torch conformance at the reference shapes, float64 and float32
# ----------------------------------------------------------------------------------

REFERENCE = [
    # (op, input shape, weight shape, stride, padding)
    ("conv", (8, 1, 28, 28), (32, 1, 3, 3), 2, 1),
    ("conv", (8, 32, 14, 14), (64, 32, 3, 3), 2, 1),
    ("conv", (4, 64, 14, 14), (128, 64, 4, 4), 2, 1),
    ("conv", (2, 3, 32, 32), (8, 3, 7, 7), 1, 3),
    ("convT", (8, 64, 7, 7), (64, 32, 4, 4), 2, 1),
    ("convT", (8, 32, 14, 14), (32, 1, 4, 4), 2, 1),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", REFERENCE, ids=lambda c: f"{c[0]}{c[1]}x{c[2]}")
def test_conv_matches_torch_at_reference_shapes(case, dtype, device):
    kind, x_shape, w_shape, stride, padding = case
    bias_size = w_shape[0] if kind == "conv" else w_shape[1]
    x, w, b = random_arrays(2, x_shape, w_shape, (bias_size,))
    ours, theirs = (conv2d, F.conv2d) if kind == "conv" else (conv_transpose2d, F.conv_transpose2d)
    check_against_torch(
        lambda x, w, b: ours(x, w, b, stride, padding),
        lambda x, w, b: theirs(x, w, b, stride, padding),
        [x * 0.1, w * 0.2, b],  # small values: float32 sums of ~1000 terms within atol
        device,
        dtype=dtype,
    )


@pytest.mark.parametrize("padding", [0, 1])
def test_a_chain_of_convs_matches_torch(padding, device):
    """A conv output is an NCHW view of channels-last memory: the next conv and the
    gradients flowing back must read it right (the strided paths of im2col and GEMM)."""
    x, w1, w2, w3 = random_arrays(10, (2, 3, 9, 8), (4, 3, 3, 3), (4, 5, 4, 4), (2, 5, 3, 3))

    def chain(conv, conv_t, pool):
        def run(x, w1, w2, w3):
            h = conv(x, w1, None, 1, padding)
            h = conv_t(h * h, w2, None, 2, padding)
            return pool(conv(h, w3, None, 2, padding), 2)

        return run

    check_op(
        chain(conv2d, conv_transpose2d, max_pool2d),
        chain(F.conv2d, F.conv_transpose2d, F.max_pool2d) if F else None,
        [x, w1, w2, w3],
        device,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_pooling_matches_torch_at_reference_shapes(dtype, device):
    (x,) = random_arrays(3, (16, 32, 28, 28))
    for ours, theirs in [
        (lambda x: max_pool2d(x, 2), lambda x: F.max_pool2d(x, 2)),
        (lambda x: avg_pool2d(x, 3, 2, 1), lambda x: F.avg_pool2d(x, 3, 2, 1)),
        (lambda x: adaptive_avg_pool2d(x, 1), lambda x: F.adaptive_avg_pool2d(x, 1)),
        (lambda x: pad(x, (3, 3, 3, 3), "reflect"), lambda x: F.pad(x, (3, 3, 3, 3), "reflect")),
    ]:
        check_against_torch(ours, theirs, [x], device, dtype=dtype)


@pytest.mark.parametrize("kind", ["conv", "convT"])
def test_float32_stays_float32(kind, device):
    w_shape = (4, 3, 3, 3)
    x, w, b = (
        sg.tensor(a.astype(np.float32), device=device, requires_grad=True)
        for a in random_arrays(4, (2, 3, 6, 6), w_shape, (4,))
    )
    if kind == "conv":
        y = conv2d(x, w, b, padding=1)
    else:
        x = sg.tensor(np.ones((2, 4, 6, 6), np.float32), device=device, requires_grad=True)
        b = sg.tensor(np.ones(3, np.float32), device=device, requires_grad=True)
        y = conv_transpose2d(x, w, b, stride=2)
    y.backward(sg.ones(*y.shape, device=device))
    assert {y.dtype, x.grad.dtype, w.grad.dtype, b.grad.dtype} == {sg.float32}


# ----------------------------------------------------------------------------------
# double backward (gradient penalties)
# ----------------------------------------------------------------------------------


def gradient_penalty_grads(lib, op, arrays, make_tensor):
    """d/d(x, w, b) of a gradient penalty built with create_graph: with g = d<v, y>/d(x, w),
    P = sum(g_x^2) + <u, g_w> + sum(y^2). Runs the same code on torch and on scratchgen."""
    x, w, b = (make_tensor(a, True) for a in arrays)
    y = op(x, w, b, 2, 1)
    v = make_tensor(np.random.default_rng(6).standard_normal(tuple(y.shape)), False)
    u = make_tensor(np.random.default_rng(7).standard_normal(arrays[1].shape), False)
    grad_x, grad_w = lib.autograd.grad(y, (x, w), v, create_graph=True)
    penalty = (grad_x * grad_x).sum() + (grad_w * u).sum() + (y * y).sum()
    return [g.detach().numpy() for g in lib.autograd.grad(penalty, (x, w, b))]


@pytest.mark.parametrize("kind", ["conv", "convT"])
def test_double_backward_matches_torch(kind, device):
    if torch is None:
        pytest.skip("torch is not installed")
    w_shape = (4, 3, 3, 3) if kind == "conv" else (3, 4, 3, 3)
    arrays = random_arrays(5, (2, 3, 7, 6), w_shape, (4,))
    ours = gradient_penalty_grads(
        sg,
        conv2d if kind == "conv" else conv_transpose2d,
        arrays,
        lambda a, grad: sg.tensor(a, device=device, requires_grad=grad),
    )
    theirs = gradient_penalty_grads(
        torch,
        F.conv2d if kind == "conv" else F.conv_transpose2d,
        arrays,
        lambda a, grad: torch.tensor(a, requires_grad=grad),
    )
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine, ref, rtol=1e-7, atol=1e-10)


@given(geometry=conv_geometry(), seed=st.integers(0, 2**16))
def test_conv2d_gradgradcheck(geometry, seed, device):
    n, cin, cout, hw, kernel, stride, padding, dilation = geometry
    x, w = random_arrays(seed, (1, cin, *hw), (cout, cin, *kernel))
    inputs = [sg.tensor(a, device=device, requires_grad=True) for a in (x, w)]
    assert sg.gradgradcheck(lambda x, w: conv2d(x, w, None, stride, padding, dilation), inputs)


@pytest.mark.parametrize("op", ["max", "avg", "reflect"])
def test_pool_and_pad_gradgradcheck(op, device):
    x = np.random.default_rng(8).permutation(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) / 10.0
    fn = {
        "max": lambda x: max_pool2d(x, 3, 2, 1) ** 2,
        "avg": lambda x: avg_pool2d(x, 3, 2, 1) ** 2,
        "reflect": lambda x: pad(x, (2, 1, 1, 3), "reflect") ** 2,
    }[op]
    assert sg.gradgradcheck(fn, [sg.tensor(x, device=device, requires_grad=True)])


# ----------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------


@given(geometry=conv_geometry(), seed=st.integers(0, 2**16))
def test_conv_transpose2d_is_the_adjoint_of_conv2d(geometry, seed, device):
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for every geometry."""
    n, cin, cout, hw, kernel, stride, padding, dilation = geometry
    out_hw = [conv_out(hw[k], kernel[k], stride[k], padding[k], dilation[k]) for k in range(2)]
    output_padding = tuple(
        hw[k] - ((out_hw[k] - 1) * stride[k] - 2 * padding[k] + dilation[k] * (kernel[k] - 1) + 1)
        for k in range(2)
    )
    x, w, y = (
        sg.tensor(a, device=device)
        for a in random_arrays(seed, (n, cin, *hw), (cout, cin, *kernel), (n, cout, *out_hw))
    )
    left = (conv2d(x, w, None, stride, padding, dilation) * y).sum().item()
    right = (
        (x * conv_transpose2d(y, w, None, stride, padding, output_padding, dilation)).sum().item()
    )
    assert left == pytest.approx(right, rel=1e-9, abs=1e-9)


@given(geometry=pool_geometry(max_padding=False), value=st.floats(-5, 5))
def test_avg_pool_of_a_constant_is_the_constant(geometry, value, device):
    shape, kernel, stride, _ = geometry
    y = avg_pool2d(sg.full(shape, value, dtype=sg.float64, device=device), kernel, stride)
    np.testing.assert_allclose(y.numpy(), value, rtol=1e-12, atol=1e-12)


@given(geometry=pool_geometry(max_padding=False), seed=st.integers(0, 2**16))
def test_max_pool_is_at_least_avg_pool(geometry, seed, device):
    shape, kernel, stride, _ = geometry
    x = sg.tensor(random_arrays(seed, shape)[0], device=device)
    biggest = max_pool2d(x, kernel, stride).numpy()
    average = avg_pool2d(x, kernel, stride).numpy()
    assert (biggest >= average - 1e-12).all()


def test_max_pool_ties_send_the_gradient_to_the_first_maximum(device):
    """Overlapping windows on a constant input: torch routes each window's gradient to
    the first element in row-major window order, and so do we."""
    x = np.ones((1, 2, 5, 5))
    check_against_torch(
        lambda x: max_pool2d(x, 3, 1, 1), lambda x: F.max_pool2d(x, 3, 1, 1), [x], device
    )


@pytest.mark.parametrize("hw", [(8, 6), (7, 6)])
def test_max_pool_backward_on_tiles_and_not_matches_torch_with_ties(hw, device):
    """max_pool2d(x, 2): on even sizes the windows tile the input and backward writes
    each offset's slice once (``scatter_tiles``); an odd height leaves a row outside
    every window, which must get a zero gradient. ReLU-like zeros make ties."""
    x = np.maximum(np.random.default_rng(0).standard_normal((2, 3, *hw)), 0)
    scatter = pool_module._MaxPoolScatter(None, (2, 2), (2, 2), (0, 0), hw, None)
    assert scatter.tiles() == (hw[0] % 2 == 0)
    check_against_torch(lambda x: max_pool2d(x, 2), lambda x: F.max_pool2d(x, 2), [x], device)


def test_global_adaptive_avg_pool_is_the_mean(device):
    (x,) = random_arrays(9, (3, 4, 5, 6))
    y = adaptive_avg_pool2d(sg.tensor(x, device=device), 1)
    np.testing.assert_allclose(y.numpy(), x.mean(axis=(2, 3), keepdims=True), rtol=1e-12)


def test_reflect_pad_mirrors_without_repeating_the_edge(device):
    x = sg.tensor(np.arange(4.0).reshape(1, 1, 1, 4), device=device)
    np.testing.assert_array_equal(pad(x, (2, 1), "reflect").numpy()[0, 0, 0], [2, 1, 0, 1, 2, 3, 2])


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------


def _t(*shape, device="cpu"):
    return sg.zeros(*shape, dtype=sg.float64, device=device)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conv2d(_t(3, 8, 8), _t(4, 3, 3, 3)), r"conv2d: expected a 4-D input.*\(3, 8, 8\)"),
        (lambda: conv2d(_t(1, 3, 8, 8), _t(4, 3, 3)), r"conv2d: expected a 4-D weight"),
        (
            lambda: conv2d(_t(1, 4, 8, 8), _t(4, 3, 3, 3)),
            r"conv2d: expected input with 3 channels \(weight.shape\[1\]\), got 4",
        ),
        (
            lambda: conv_transpose2d(_t(1, 4, 8, 8), _t(3, 2, 3, 3)),
            r"conv_transpose2d: expected input with 3 channels \(weight.shape\[0\]\), got 4",
        ),
        (lambda: conv2d(_t(1, 3, 4, 4), _t(4, 3, 5, 5)), r"conv2d: expected the kernel"),
        (
            lambda: conv2d(_t(1, 3, 4, 4), _t(4, 3, 3, 3), dilation=2),
            r"conv2d: expected the kernel \(extent 5",
        ),
        (
            lambda: conv2d(_t(1, 3, 8, 8), _t(4, 3, 3, 3), stride=0),
            r"conv2d: expected stride >= 1, got 0",
        ),
        (
            lambda: conv2d(_t(1, 3, 8, 8), _t(4, 3, 3, 3), padding=-1),
            r"conv2d: expected padding >= 0, got -1",
        ),
        (
            lambda: conv2d(_t(1, 3, 8, 8), _t(4, 3, 3, 3), padding=(1, 2, 3)),
            r"conv2d: expected padding to be an int or a pair",
        ),
        (
            lambda: conv2d(_t(1, 3, 8, 8), _t(4, 3, 3, 3), _t(3)),
            r"conv2d: expected a bias of shape \(4,\), got \(3,\)",
        ),
        (
            lambda: conv_transpose2d(_t(1, 3, 8, 8), _t(3, 2, 3, 3), stride=2, output_padding=2),
            r"conv_transpose2d: expected output_padding < stride",
        ),
        (
            lambda: conv_transpose2d(_t(1, 3, 1, 1), _t(3, 2, 3, 3), padding=2),
            r"conv_transpose2d: expected a positive output size",
        ),
        (
            lambda: max_pool2d(_t(1, 3, 8, 8), 3, padding=2),
            r"max_pool2d: expected padding at most half",
        ),
        (lambda: avg_pool2d(_t(1, 3, 2, 2), 3), r"avg_pool2d: expected the kernel"),
        (lambda: avg_pool2d(_t(3, 8, 8), 2), r"avg_pool2d: expected a 4-D input"),
        (lambda: max_pool2d(_t(1, 3, 8, 8), 0), r"max_pool2d: expected kernel_size >= 1"),
        (
            lambda: adaptive_avg_pool2d(_t(1, 3, 8, 8), (2, 2, 2)),
            r"adaptive_avg_pool2d: expected output_size to be an int or a pair",
        ),
        (
            lambda: adaptive_avg_pool2d(_t(1, 3, 8, 8), 0),
            r"adaptive_avg_pool2d: expected output_size >= 1",
        ),
        (lambda: pad(_t(1, 3, 4, 4), (1, 2, 3)), r"pad: expected pad = \(left, right\)"),
        (
            lambda: pad(_t(1, 3, 4, 4), (4, 0), "reflect"),
            r"pad: expected reflect padding smaller than the input size 4",
        ),
        (
            lambda: pad(_t(1, 3, 4, 4), (1, 1), "circular"),
            r"pad: expected mode 'constant' or 'reflect', got 'circular'",
        ),
        (lambda: pad(_t(1, 3, 4, 4), (-1, 1)), r"pad: expected non-negative int paddings"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_conv2d_rejects_mixed_dtypes():
    x = sg.zeros(1, 3, 8, 8, dtype=sg.float32)
    with pytest.raises(
        TypeError,
        match=r"conv2d: expected input, weight \(and bias\) of one "
        r"dtype, got float32, float64",
    ):
        conv2d(x, _t(4, 3, 3, 3))
