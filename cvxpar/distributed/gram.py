"""One pass over tall data: the Gram matrix of [A | b] as a tree reduction, and the in-memory
least-squares problem it defines.

For f(x) = 1/2 ||A x - b||^2 with A of shape (n, d), n >> d, everything f knows about x is in

    G = A^T A (d x d),   c = A^T b (d),   beta = b^T b,

since f(x) = 1/2 x^T G x - c^T x + beta / 2.  Each row chunk k contributes the partial Gram
M_k^T M_k of M_k = [A_k | b_k | 1] ((d + 2) x (d + 2)), and the partials are summed by a tree
reduction (:func:`cvxpar.distributed._reduce.row_chunk_sum`): one pass over the data, O(d^2) memory per
task.  The all-ones column counts the rows each chunk actually delivered, so the pass checks that
it saw n samples.

With G = R^T R (Cholesky, R upper triangular) and t = R^{-T} c,

    1/2 ||A x - b||^2 = 1/2 ||R x - t||^2 + kappa,    kappa = 1/2 (beta - ||t||^2) >= 0,

an exact identity (expand both sides; Golub & Van Loan 2013, sec. 5.3.2, the normal equations
in Cholesky form), so the d-dimensional ``LeastSquares(R, t)`` has the same minimizers, gradient
(R^T (R x - t) = G x - c = A^T (A x - b)) and Hessian as the distributed loss.  When G is
singular to working precision (collinear columns, d > n) R comes from the eigendecomposition
G = V diag(mu) V^T instead: R = diag(sqrt(mu_k)) V_k^T over the eigenvalues above
d * eps * max(mu), t = diag(mu_k^{-1/2}) V_k^T c (c lies in range(G), so the identity holds up
to the dropped eigenvalues' rounding).  Forming G squares A's condition number: x is accurate
to about cond(A)^2 * eps relative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxpar._backend import device
from cvxpar.distributed._reduce import on_chunk, row_chunk_sum
from cvxpar.losses.dask_chunks import raise_bad_chunks


@dataclass
class Gram:
    """G = A^T A, c = A^T b, beta = b^T b and the number of rows the pass saw."""

    G: np.ndarray
    c: np.ndarray
    beta: float
    rows_seen: int


def _chunk_gram(a, b):
    """[a | b | 1]^T [a | b | 1] for one row chunk (b the (rows, 1) target chunk), flattened to (1, (d + 2)^2),
    in the chunk's namespace."""
    xp, (a64, b64) = on_chunk(a, a, b)
    ones = xp.ones((a.shape[0], 1), dtype=xp.float64, device=device(a))
    m = xp.concat([a64, b64, ones], axis=1)
    return xp.reshape(m.T @ m, (1, -1))


def gram_pass(op, target) -> Gram:
    """One distributed pass: the Gram of [A | b] (``op`` a :class:`~cvxpar.losses.dask_operator.DaskOperator`,
    ``target`` b chunked like A's rows), computed on the active Dask scheduler.

    Raises ValueError when the data hold NaN/inf, RuntimeError when the pass did not see n rows,
    naming the chunks responsible (:mod:`cvxpar.losses.dask_chunks`).
    """
    n, d = op.shape
    k = d + 2
    P = row_chunk_sum(op.A, target, _chunk_gram, k * k, target_name="b").reshape(k, k)
    rows_seen = P[-1, -1]
    if rows_seen != n or not np.isfinite(P).all():
        raise_bad_chunks({"A": op.A, "b": target}, n, rows_seen)
    return Gram(G=P[:d, :d], c=P[:d, d], beta=float(P[d, d]), rows_seen=int(rows_seen))


def equivalent_least_squares(gram: Gram):
    """(R, t, kappa) with 1/2 ||A x - b||^2 = 1/2 ||R x - t||^2 + kappa (see the module docstring)."""
    import scipy.linalg as sla

    G, c = gram.G, gram.c
    try:
        R = sla.cholesky(G, lower=False, check_finite=False)
        t = sla.solve_triangular(R, c, trans="T", lower=False, check_finite=False)
        ok = np.isfinite(R).all() and np.isfinite(t).all() and np.all(np.diag(R) > 0)
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        mu, V = np.linalg.eigh(G)
        keep = mu > G.shape[0] * np.finfo(np.float64).eps * max(float(mu[-1]), 0.0)
        if not keep.any():  # A = 0: f is the constant beta / 2
            keep[-1] = True
        root = np.sqrt(np.maximum(mu[keep], 0.0))
        R = root[:, None] * V[:, keep].T
        t = np.divide(V[:, keep].T @ c, root, out=np.zeros_like(root), where=root > 0)
    kappa = 0.5 * (gram.beta - float(t @ t))
    return R, t, kappa
