"""The op-by-op gradient check behind ``scratchgen gradcheck``, and gradient_errors."""

import numpy as np
import pytest

import scratchgen as sg
import scratchgen.nn.functional as F
from scratchgen import backend, opcheck
from scratchgen.gradcheck import gradient_errors
from scratchgen.opcheck import CASES, Case, Row
from scratchgen.tensor import Function

NAMES = [case.name for case in CASES]


class SquareWithDoubledGradient(Function):
    """y = x^2 with a planted bug: backward returns 4 x g, twice the true 2 x g."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0] * 4


def square(x):
    return x * x


# ----------------------------------------------------------------------------------
# the cases
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_case_passes(name, device):
    (row,) = opcheck.run([name], device=device)
    assert row.name == name
    assert row.passed, row
    assert row.max_rel < 1e-6, row


def test_case_names_are_unique_words():
    assert len(set(NAMES)) == len(NAMES)
    assert all(name.isidentifier() for name in NAMES)  # usable as `--op NAME`


@pytest.mark.parametrize("name", sorted(set(F.__all__) - {"dropout", "dropout2d"}))
def test_every_functional_has_a_case(name):
    """dropout and dropout2d are random: central differences cannot check them."""
    assert name in NAMES


@pytest.mark.parametrize(
    "name",
    ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid"]
    + ["clamp", "maximum", "minimum", "where", "sum", "mean", "var", "std", "amax", "amin"]
    + ["reshape", "permute", "transpose", "flatten", "unsqueeze", "squeeze", "expand"]
    + ["sum_to", "getitem", "cat", "stack", "matmul"],
)
def test_every_engine_op_has_a_case(name):
    assert name in NAMES


def test_every_case_checks_at_least_one_float64_leaf():
    for case in CASES:
        inputs = case.make_inputs(np.random.default_rng(opcheck.INPUT_SEED))
        checked = [x for x in inputs if isinstance(x, sg.Tensor) and x.requires_grad]
        assert checked, case.name
        assert all(x.dtype == sg.float64 for x in checked), case.name


def test_run_checks_every_case_in_order(device):
    rows = opcheck.run(device=device)
    assert [row.name for row in rows] == NAMES
    assert all(row.passed and row.seconds >= 0 for row in rows)


def test_run_keeps_the_requested_order(device):
    rows = opcheck.run(["exp", "add"], device=device)
    assert [row.name for row in rows] == ["exp", "add"]


def test_unknown_name_raises_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown op 'convolution'") as caught:
        opcheck.run(["exp", "convolution"])
    assert "conv2d" in str(caught.value) and "cross_entropy" in str(caught.value)


# ----------------------------------------------------------------------------------
# the table
# ----------------------------------------------------------------------------------


def test_format_table_lists_every_case_and_the_summary(device):
    rows = opcheck.run(device=device)
    table = opcheck.format_table(rows)
    for name in NAMES:
        assert name in table
    assert f"{len(rows)}/{len(rows)} passed" in table.splitlines()[-1]


def test_format_table_aligns_columns_and_marks_failures():
    rows = [
        Row("exp", 1.5e-10, 2.5e-10, True, 0.01),
        Row("a_long_op_name", 0.5, 1.0, False, 0.02),
    ]
    header, *body, summary = opcheck.format_table(rows).splitlines()
    assert header.split() == ["op", "max", "abs", "err", "max", "rel", "err", "result"]
    assert body[0].split() == ["exp", "1.50e-10", "2.50e-10", "pass"]
    assert body[1].split() == ["a_long_op_name", "5.00e-01", "1.00e+00", "FAIL"]
    assert len(body[0]) == len(body[1])
    for column in ["max abs err", "max rel err"]:  # numbers end under their heading
        end = header.index(column) + len(column)
        assert all(line[end - 1] != " " and line[end] == " " for line in body)
    assert summary.startswith("1/2 passed")


# ----------------------------------------------------------------------------------
# a planted bug is caught
# ----------------------------------------------------------------------------------


def test_a_planted_bug_fails_with_a_large_error(device, monkeypatch):
    planted = Case(
        "square_with_doubled_gradient",
        lambda x: SquareWithDoubledGradient()(x),
        lambda rng: [opcheck.normal(rng, 3, 4)],
    )
    monkeypatch.setattr(opcheck, "CASES", CASES + [planted])
    (row,) = opcheck.run([planted.name], device=device)
    assert not row.passed
    assert row.max_abs > 0.1
    # analytic = 2 x numerical everywhere: |a - n| = |n|, a relative error of exactly 1
    assert row.max_rel == pytest.approx(1.0, rel=1e-6)
    assert "FAIL" in opcheck.format_table([row])


# ----------------------------------------------------------------------------------
# gradient_errors
# ----------------------------------------------------------------------------------


def test_gradient_errors_of_a_square_are_rounding_only(device):
    """f(x) = x^2: the central difference ((x+e)^2 - (x-e)^2) / 2e = 2x is exact, so
    only rounding is left, about |f| 1e-16 / eps = 1e-10."""
    x = sg.tensor([[0.5, -1.0, 2.0], [1.5, -0.25, 3.0]], dtype=sg.float64, device=device)
    ((index, max_abs, max_rel, passed),) = gradient_errors(square, [x.requires_grad_()])
    assert index == 0 and passed
    assert max_abs < 1e-8 and max_rel < 1e-8


def test_gradient_errors_reports_each_checked_input_by_its_index(device):
    c = sg.tensor([1.0, 2.0], dtype=sg.float64, device=device)  # no gradient: skipped
    x = sg.tensor([0.5, -1.5], dtype=sg.float64, device=device, requires_grad=True)
    y = sg.tensor([2.0, 0.25], dtype=sg.float64, device=device, requires_grad=True)
    checks = gradient_errors(lambda c, x, y: c * x * x + y, [c, x, y])
    assert [check.input_index for check in checks] == [1, 2]
    assert all(check.passed for check in checks)


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_relative_error_of_a_scaled_gradient_is_the_scale_error(factor, device):
    """A backward that returns factor * the right gradient has max|a - n| / max|n|
    = |factor - 1|, whatever the random upstream gradient."""

    class ScaledSquare(Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * self.inputs[0] * (2 * factor)

    x = sg.randn(2, 3, dtype=sg.float64, device=device, requires_grad=True)
    ((_, _, max_rel, passed),) = gradient_errors(lambda t: ScaledSquare()(t), [x])
    assert max_rel == pytest.approx(factor - 1, rel=1e-6)
    assert not passed


@pytest.mark.parametrize("factor", [1.0, 1.0001, 1.01])
def test_passed_is_gradchecks_verdict(factor, device):
    class ScaledExp(Function):
        def forward(self, x):
            return backend.get_array_module(x).exp(x)

        def backward(self, gy):
            return gy * self.output() * factor

    def fn(t):
        return ScaledExp()(t)

    x = sg.randn(3, 2, dtype=sg.float64, device=device, requires_grad=True)
    ((*_, passed),) = gradient_errors(fn, [x])
    assert passed == sg.gradcheck(fn, [x], raise_exception=False)
    assert passed == (factor != 1.01)


def test_gradient_errors_needs_an_input_that_requires_grad():
    x = sg.tensor([1.0, 2.0], dtype=sg.float64)
    with pytest.raises(ValueError, match="gradient_errors: no input"):
        gradient_errors(square, [x])
