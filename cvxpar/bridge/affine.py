"""Affine maps r(x) = A x + b read off a CVXPY expression of one vector variable.

An :class:`Affine` holds two callables that return the current ``A`` (a dense ``ndarray`` or a
SciPy sparse matrix, shape ``(m, n)``) and ``b`` (shape ``(m,)``), so that CVXPY Parameters are
read at solve time.  A sub-expression without Parameters is evaluated once and remembered, so a
re-solve of a cached problem does no work here.

Common shapes (``x``, ``C @ e``, ``e @ C``, ``c * e``, ``e / c``, ``-e``, ``e + f``, ``sum(e)``)
are read structurally, which keeps a dense ``A`` dense and avoids any copy of it; anything else
that CVXPY calls affine (indexing, stacking, reshaping, ...) falls back to CVXPY's own Jacobian
(``expr.grad``), which is exact for affine expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from cvxpy.atoms.affine.add_expr import AddExpression
from cvxpy.atoms.affine.binary_operators import DivExpression, MulExpression, multiply
from cvxpy.atoms.affine.sum import Sum
from cvxpy.atoms.affine.unary_operators import NegExpression
from cvxpy.atoms.atom import Atom
from cvxpy.expressions.expression import Expression
from cvxpy.expressions.variable import Variable

Matrix = Any  # np.ndarray (2-D) or a scipy.sparse matrix


def memo(fn: Callable[[], Any], expr: Expression) -> Callable[[], Any]:
    """``fn`` itself if ``expr`` holds a CVXPY Parameter, else ``fn`` evaluated once and remembered.

    ``expr`` must be the expression ``fn`` reads: the one rule that decides what a re-solve
    re-reads, so every Parameter value is read at each solve.
    """
    if not isinstance(expr, Expression):
        raise TypeError(f"memo needs the CVXPY expression that fn reads; got {type(expr).__name__}.")
    if expr.parameters():
        return fn
    box: list = []

    def frozen():
        if not box:
            box.append(fn())
        return box[0]

    return frozen


def value_of(expr: Expression, keep_sparse: bool = False) -> Callable[[], Any]:
    """A callable returning the current value of a variable-free expression as a float array
    (a SciPy sparse matrix stays sparse when ``keep_sparse``)."""

    def read() -> Any:
        v = expr.value
        if v is None:
            names = ", ".join(p.name() for p in expr.parameters())
            raise ValueError(f"the Parameter(s) {names} in {expr} have no value; set param.value before solving.")
        if sp.issparse(v):
            return sp.csr_matrix(v, dtype=np.float64) if keep_sparse else v.toarray().astype(np.float64)
        return np.asarray(v, dtype=np.float64)

    return memo(read, expr)


@dataclass(frozen=True)
class Affine:
    """r(x) = A() @ x + b(), with ``m`` rows, for a variable of ``n`` entries."""

    A: Callable[[], Matrix]
    b: Callable[[], np.ndarray]
    m: int
    n: int


def is_affine(expr: Expression) -> bool:
    """True when every atom of ``expr`` is affine.

    CVXPY's own ``expr.is_affine()`` also holds for ``0 * f`` with f convex (the product of a zero constant is
    affine by its sign rules), yet CVXPY keeps f's domain (e.g. a PAR's walls) in the problem it solves; read as
    a constant, such a term would silently drop that domain.  Here it is not affine, so the bridge reads the
    atom itself, with weight 0.
    """
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, Atom) and not e.is_atom_affine():
            return False
        stack.extend(getattr(e, "args", ()))
    return bool(expr.is_affine())


def affine(expr: Expression, x: Variable) -> Affine:
    """Read ``expr`` (affine in ``x``, any shape) as A x + b over its entries in C (column-major) order.

    Raises ``ValueError`` if ``expr`` is not affine (:func:`is_affine`) or involves another variable.
    """
    if not is_affine(expr):
        raise ValueError(f"{expr} is not affine")
    if any(v is not x for v in expr.variables()):
        raise ValueError(f"{expr} involves a variable other than {x}")
    n, m = x.size, expr.size
    A, b = _read(expr, x)
    return Affine(memo(A, expr), memo(b, expr), m, n)


def _read(expr: Expression, x: Variable) -> tuple[Callable[[], Matrix], Callable[[], np.ndarray]]:
    n, m = x.size, expr.size
    if expr is x:
        return (lambda: sp.identity(n, format="csr")), (lambda: np.zeros(n))
    if not expr.variables():
        val = value_of(expr)
        return (lambda: sp.csr_matrix((m, n))), (lambda: np.broadcast_to(val(), expr.shape).ravel(order="F").copy())
    if expr.ndim <= 1:
        if isinstance(expr, NegExpression):
            A, b = _sub(expr.args[0], x)
            return (lambda: -A()), (lambda: -b())
        if isinstance(expr, AddExpression):
            parts = [(_sub(a, x), a.size) for a in expr.args]
            return (lambda: _sum_mats([_broadcast_rows(A(), k, m) for (A, _), k in parts], m, n)), (
                lambda: sum(np.broadcast_to(b(), (m,)) if k != m else b() for (_, b), k in parts)
            )
        if isinstance(expr, multiply | DivExpression):
            coef, other = _constant_factor(expr)
            if coef is not None and other.ndim <= 1:
                A, b = _sub(other, x)
                c = value_of(coef)
                divide = isinstance(expr, DivExpression)

                def scale() -> np.ndarray:
                    s = np.broadcast_to(c(), expr.shape).ravel(order="F")
                    return 1.0 / s if divide else s

                return (lambda: _scale_rows(_broadcast_rows(A(), other.size, m), scale())), (
                    lambda: np.broadcast_to(b(), (m,)) * scale()
                )
        if isinstance(expr, MulExpression):
            left, right = expr.args
            if not left.variables() and right.ndim <= 1:
                A, b = _sub(right, x)
                c = value_of(left, keep_sparse=True)
                return (lambda: _matmul(_as_2d_row(c()), A())), (lambda: np.atleast_1d(_as_2d_row(c()) @ b()))
            if not right.variables() and left.ndim <= 1:
                A, b = _sub(left, x)
                c = value_of(right, keep_sparse=True)
                return (lambda: _matmul(_as_2d_col(c()).T, A())), (lambda: np.atleast_1d(_as_2d_col(c()).T @ b()))
        if isinstance(expr, Sum) and expr.axis is None and expr.args[0].ndim <= 1:
            A, b = _sub(expr.args[0], x)
            return (lambda: _sum_rows(A())), (lambda: np.atleast_1d(b().sum()))
    return _by_jacobian(expr, x)


def _sub(expr: Expression, x: Variable):
    A, b = _read(expr, x)
    return memo(A, expr), memo(b, expr)


def _by_jacobian(expr: Expression, x: Variable):
    """A and b from CVXPY's Jacobian: b = expr(0), A = (d expr / d x) (CVXPY stores its transpose)."""

    def both() -> tuple[Matrix, np.ndarray]:
        saved = x.value
        try:
            x.value = np.zeros(x.shape)
            b = np.asarray(expr.value, dtype=np.float64).ravel(order="F")
            jac_t = expr.grad[x]
        finally:
            x.value = saved
        jac = sp.csr_matrix(jac_t.T) if sp.issparse(jac_t) else np.atleast_2d(np.asarray(jac_t, dtype=np.float64)).T
        return jac, b

    return (lambda: both()[0]), (lambda: both()[1])


def _constant_factor(expr: Expression) -> tuple[Expression | None, Expression]:
    """For ``c * e`` / ``e * c`` / ``e / c``: (c, e) when c is variable-free, else (None, expr)."""
    left, right = expr.args
    if isinstance(expr, DivExpression):
        return (right, left) if not right.variables() else (None, expr)
    if not left.variables():
        return left, right
    if not right.variables():
        return right, left
    return None, expr


def _as_2d_row(c: Matrix) -> Matrix:
    return c if sp.issparse(c) or c.ndim == 2 else c.reshape(1, -1)


def _as_2d_col(c: Matrix) -> Matrix:
    return c if sp.issparse(c) or c.ndim == 2 else c.reshape(-1, 1)


def _matmul(C: Matrix, A: Matrix) -> Matrix:
    """C @ A, sparse only when both are."""
    if sp.issparse(C) and sp.issparse(A):
        return sp.csr_matrix(C @ A)
    if sp.issparse(C):
        return np.asarray(C @ A)
    if sp.issparse(A):
        return np.asarray((A.T @ C.T).T)
    return C @ A


def _scale_rows(A: Matrix, s: np.ndarray) -> Matrix:
    if sp.issparse(A):
        return sp.csr_matrix(sp.diags(s) @ A)
    return s[:, None] * A


def _broadcast_rows(A: Matrix, k: int, m: int) -> Matrix:
    """A with k rows stretched to m rows (k == 1 broadcast to every row)."""
    if k == m:
        return A
    return sp.csr_matrix(sp.vstack([A] * m)) if sp.issparse(A) else np.repeat(A, m, axis=0)


def _sum_rows(A: Matrix) -> Matrix:
    return sp.csr_matrix(A.sum(axis=0)) if sp.issparse(A) else A.sum(axis=0, keepdims=True)


def _sum_mats(mats: list[Matrix], m: int, n: int) -> Matrix:
    nonzero = [M for M in mats if not (sp.issparse(M) and M.nnz == 0)]
    if not nonzero:
        return sp.csr_matrix((m, n))
    if len(nonzero) == 1:
        return nonzero[0]
    if all(sp.issparse(M) for M in nonzero):
        return sp.csr_matrix(sum(nonzero[1:], nonzero[0]))
    out = np.zeros((m, n))
    for M in nonzero:
        if sp.issparse(M):
            out += M.toarray()
        else:
            out += M
    return out
