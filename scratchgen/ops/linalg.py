"""Matrix multiplication with NumPy's batch broadcasting; mm, bmm, outer; einsum.

For y = a @ b on the last two axes (batch axes broadcast):
    dL/da = sum_to(g @ b^T, a.shape),   dL/db = sum_to(a^T @ g, b.shape)
where ^T swaps the last two axes. A 1-D operand is treated as a row (left) or a
column (right) vector and that axis is dropped from the result, as in torch.
The gradient of an einsum is an einsum of the upstream gradient with the other operands.
"""

import string

from scratchgen import backend
from scratchgen.ops.elementwise import as_operand
from scratchgen.ops.shape import (
    broadcast_shapes,
    broadcast_to,
    squeeze,
    sum_to,
    transpose,
    unsqueeze,
)
from scratchgen.tensor import Function, Tensor


class MatMul(Function):
    """y = a @ b for operands with at least two axes.  dL/da = g @ b^T, dL/db = a^T @ g.

    With an inner size of 1, y[i, j] = a[i, 0] b[0, j] is an outer product: a broadcast
    multiply gives the same numbers ten times faster than NumPy's matmul (the gradient
    of a Linear layer with one output, as a GAN discriminator's last layer).
    """

    def forward(self, a, b):
        if a.shape[-1] == 1:
            return a * b
        return backend.get_array_module(a).matmul(a, b)

    def backward(self, gy):
        a, b = self.inputs
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = sum_to(matmul(gy, transpose(b, -1, -2)), a.shape)
        if self.needs_input_grad[1]:
            grad_b = sum_to(matmul(transpose(a, -1, -2), gy), b.shape)
        return grad_a, grad_b


def _as_tensors(a, b):
    """Both operands as Tensors: a NumPy array (``array @ tensor``) takes the other's device."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(
            f"matmul: expected at least one Tensor operand, got {type(a).__name__} and "
            f"{type(b).__name__}"
        )
    if not isinstance(a, Tensor):
        a = as_operand(a, b, "matmul")
    return a, as_operand(b, a, "matmul")


def matmul(a, b):
    """Matrix product a @ b (1-D vectors, 2-D matrices, batches that broadcast)."""
    a, b = _as_tensors(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: expected operands with at least one axis, got shapes {a.shape} and {b.shape}"
        )
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not fit: expected a.shape[-1] == "
            f"b.shape[-2] (b.shape[0] for a vector), got {a.shape[-1]} and "
            f"{b.shape[-2 if b.ndim > 1 else 0]}"
        )
    if b.ndim == 1:  # first, so that vector @ vector ends as (1, k) @ (k, 1)
        return squeeze(matmul(a, unsqueeze(b, -1)), -1)
    if a.ndim == 1:
        return squeeze(matmul(unsqueeze(a, 0), b), -2)
    broadcast_shapes(a.shape[:-2], b.shape[:-2], op_name="matmul (batch axes)")
    return MatMul()(a, b)


# ----------------------------------------------------------------------------------
# mm, bmm, outer: torch's fixed-rank products
# ----------------------------------------------------------------------------------


def _check_ranks(op_name, a, b, ndim, what):
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        raise TypeError(
            f"{op_name}: expected two Tensors, got {type(a).__name__} and {type(b).__name__}"
        )
    if a.ndim != ndim or b.ndim != ndim:
        raise RuntimeError(f"{op_name}: expected two {what}, got shapes {a.shape} and {b.shape}")


def mm(a, b):
    """The product of two matrices, (n, k) @ (k, m) -> (n, m); gradients as matmul's."""
    _check_ranks("mm", a, b, 2, "matrices (2-D tensors)")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mm: shapes {a.shape} and {b.shape} cannot be multiplied: expected "
            f"a.shape[1] == b.shape[0], got {a.shape[1]} and {b.shape[0]}"
        )
    return MatMul()(a, b)


def bmm(a, b):
    """Batched matrix product, (B, n, k) @ (B, k, m) -> (B, n, m), no broadcasting."""
    _check_ranks("bmm", a, b, 3, "batches of matrices (3-D tensors)")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(
            f"bmm: shapes {a.shape} and {b.shape} cannot be multiplied: expected "
            f"b.shape[:2] == ({a.shape[0]}, {a.shape[2]}), got {b.shape[:2]}"
        )
    return MatMul()(a, b)


def outer(a, b):
    """y[i, j] = a[i] b[j].  dL/da[i] = sum_j g[i, j] b[j], dL/db[j] = sum_i g[i, j] a[i]."""
    _check_ranks("outer", a, b, 1, "vectors (1-D tensors)")
    return unsqueeze(a, 1) * unsqueeze(b, 0)


# ----------------------------------------------------------------------------------
# einsum
# ----------------------------------------------------------------------------------

# in ASCII order, as torch and NumPy sort the output letters of an implicit equation
LETTERS = string.ascii_uppercase + string.ascii_lowercase


class Einsum(Function):
    """y[out] = sum over the letters not in out of prod_k x_k[s_k]  (equation s_1,...,s_n->out,
    every letter explicit, each with one size).

    dL/dx_k is an einsum too: of g (subscripts out) with the other operands, with s_k as
    output. Two extras keep that einsum well formed: a letter repeated in s_k (a
    diagonal, "ii->i") gets a fresh name and an identity matrix joins the two names; a
    letter found only in s_k (summed away, "ij->i") comes in through a vector of ones.
    """

    def __init__(self, subscripts, output):
        self.subscripts = tuple(subscripts)
        self.output_subscript = output

    def forward(self, *arrays):
        equation = ",".join(self.subscripts) + "->" + self.output_subscript
        xp = backend.get_array_module(arrays[0])
        return xp.einsum(equation, *arrays, optimize=len(arrays) > 1)

    def backward(self, gy):
        needed = self.needs_input_grad
        return tuple(self._operand_grad(gy, k) if needed[k] else None for k in range(len(needed)))

    def _operand_grad(self, gy, k):
        others = [i for i in range(len(self.inputs)) if i != k]
        subscripts = [self.output_subscript] + [self.subscripts[i] for i in others]
        tensors = [gy] + [self.inputs[i] for i in others]
        used = set("".join(self.subscripts) + self.output_subscript)
        fresh = iter(letter for letter in LETTERS if letter not in used)
        present = set("".join(subscripts))
        target = ""
        xp = backend.get_array_module(gy.data)
        for letter, size in zip(self.subscripts[k], self.inputs[k].shape):
            if letter in target:  # a diagonal: a new name, tied to the old by the identity
                renamed = next(fresh)
                subscripts.append(letter + renamed)
                tensors.append(Tensor(xp.eye(size, dtype=gy.dtype)))
                letter = renamed
            elif letter not in present:  # summed away in the forward: broadcast back
                subscripts.append(letter)
                tensors.append(Tensor(xp.ones(size, dtype=gy.dtype)))
            target += letter
        return Einsum(subscripts, target)(*tensors)


def einsum(equation, *operands):
    """Einstein summation, torch.einsum(equation, *operands): "ij,jk->ik" (matmul),
    "bij,bjk->bik", "i,j->ij" (outer), "ii->i" (diagonal), "ii" (trace), "...ij->...ji".

    Letters a-z and A-Z; one '...' per operand at most (its axes aligned from the right);
    without "->" the output is the '...' axes, then the letters that appear once, in
    ASCII order. Sizes of one letter must be equal, or 1 (broadcast). See Einsum for the
    formula and the gradient.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    subscripts, output = _parse_einsum(equation, operands)
    sizes = _letter_sizes(equation, subscripts, operands)
    operands = [
        broadcast_to(x, tuple(sizes[letter] for letter in subscript))
        for x, subscript in zip(operands, subscripts)
    ]
    return Einsum(subscripts, output)(*operands)


def _parse_einsum(equation, operands):
    """(subscripts of each operand, output subscript), every axis a letter of its own."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: expected the equation as a str, got {type(equation).__name__}")
    if not all(isinstance(x, Tensor) for x in operands):
        got = ", ".join(type(x).__name__ for x in operands)
        raise TypeError(f"einsum: expected Tensor operands, got {got}")
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(
            f"einsum: the equation {equation!r} has {len(terms)} operand subscripts, "
            f"got {len(operands)} operands"
        )
    for term in terms + [rhs]:
        _check_subscript(equation, term)
    if len({x.dtype for x in operands}) > 1:
        got = " and ".join(sorted({str(x.dtype) for x in operands}))
        raise RuntimeError(f"einsum: expected operands of one dtype, got {got}")
    ellipsis = _ellipsis_letters(equation, terms, operands)
    subscripts = [_expand(term, ellipsis, x.ndim) for term, x in zip(terms, operands)]
    if not arrow:
        counts = "".join(terms)
        rhs = "..." + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c != "."))
    output = rhs.replace("...", ellipsis)
    _check_output(equation, output, subscripts)
    return subscripts, output


def _check_subscript(equation, term):
    letters = term.replace("...", "", 1)
    bad = [c for c in letters if c not in LETTERS]
    if bad:
        raise RuntimeError(
            f"einsum: invalid subscript {bad[0]!r} in {equation!r}: expected letters a-z, "
            "A-Z and at most one '...' per operand"
        )


def _ellipsis_letters(equation, terms, operands):
    """Fresh letters for the axes '...' stands for (as many as the most it covers)."""
    covered = [0]
    for i, (term, x) in enumerate(zip(terms, operands)):
        named = len(term) - 3 if "..." in term else len(term)
        if x.ndim < named or (x.ndim > named and "..." not in term):
            raise RuntimeError(
                f"einsum: operand {i} has {x.ndim} dimensions (shape {x.shape}) but its "
                f"subscripts {term!r} in {equation!r} name {named}"
            )
        covered.append(x.ndim - named)
    free = [letter for letter in LETTERS if letter not in equation]
    if max(covered) > len(free):
        raise RuntimeError(f"einsum: too many dimensions for the letters left in {equation!r}")
    return "".join(free[: max(covered)])


def _expand(term, ellipsis, ndim):
    """term with '...' replaced by the last letters of ellipsis (aligned from the right)."""
    if "..." not in term:
        return term
    count = ndim - (len(term) - 3)
    return term.replace("...", ellipsis[len(ellipsis) - count :])


def _check_output(equation, output, subscripts):
    repeated = sorted({c for c in output if output.count(c) > 1})
    missing = sorted(set(output) - set("".join(subscripts)))
    if repeated or missing:
        problem = f"{repeated[0]!r} repeated" if repeated else f"{missing[0]!r} in no operand"
        raise RuntimeError(
            f"einsum: expected each output letter once and in some operand, got {problem} "
            f"in {equation!r}"
        )


def _letter_sizes(equation, subscripts, operands):
    """{letter: size}: equal sizes within an operand, equal or 1 across operands."""
    sizes = {}
    for i, (subscript, x) in enumerate(zip(subscripts, operands)):
        own = {}
        for letter, size in zip(subscript, x.shape):
            if own.setdefault(letter, size) != size:
                raise RuntimeError(
                    f"einsum: subscript {letter!r} is repeated in operand {i} of {equation!r} "
                    f"with sizes {own[letter]} and {size}; expected equal sizes"
                )
            seen = sizes.setdefault(letter, size)
            if seen != size and 1 not in (seen, size):
                raise RuntimeError(
                    f"einsum: subscript {letter!r} has size {size} in operand {i} of "
                    f"{equation!r} but size {seen} before; expected equal sizes (or 1)"
                )
            sizes[letter] = seen if size == 1 else size
    return sizes
