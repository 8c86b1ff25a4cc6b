"""One pass over tall data: the Gram matrix of [A | b] as a tree reduction, and the in-memory
least-squares problem it defines.

For f(x) = 1/2 ||A x - b||^2 with A of shape (n, d), n >> d, everything f knows about x is in

    G = A^T A (d x d),   c = A^T b (d),   beta = b^T b,

since f(x) = 1/2 x^T G x - c^T x + beta / 2.  Each row chunk k contributes the partial Gram
M_k^T M_k of M_k = [A_k | b_k | 1] ((d + 2) x (d + 2)), and the partials are summed by a tree
reduction (:func:`cvxpar.distributed._reduce.row_chunk_sum`): one pass over the data, O(d^2) memory per
task.  The all-ones column counts the rows each chunk actually delivered, so the pass checks that
it saw n samples.

Only the upper triangle of each partial is used (the sum is symmetrized once, on the client).  On
NumPy chunks M_k is never formed: A_k^T A_k is the BLAS rank-k update ``dsyrk`` (one triangle, half
the flops of a general product; Dongarra et al. 1990, "A set of level 3 BLAS"), and the last two
columns are A_k^T [b_k | 1] and [b_k | 1]^T [b_k | 1].  Copying A_k into a (d + 2)-column buffer
would cost a fresh allocation of the chunk's size per task, which the memory settings of Dask
workers make as slow as the product itself.

With G = R^T R, ``equivalent_least_squares`` gives the exactly equivalent d-dimensional
``LeastSquares(R, t)`` (1/2 ||A x - b||^2 = 1/2 ||R x - t||^2 + kappa; the identity, its
rank-deficient form and its accuracy are in :mod:`cvxpar.solvers._tall`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxpar._backend import device, is_numpy_namespace
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
    in the chunk's namespace; only its upper triangle is meaningful (NumPy chunks leave the rest 0)."""
    xp, (a64, b64) = on_chunk(a, a, b)
    if is_numpy_namespace(xp):
        return _numpy_chunk_gram(a64, b64)
    ones = xp.ones((a.shape[0], 1), dtype=xp.float64, device=device(a))
    m = xp.concat([a64, b64, ones], axis=1)
    return xp.reshape(m.T @ m, (1, -1))


def _numpy_chunk_gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The upper triangle of [a | b | 1]^T [a | b | 1] without forming [a | b | 1] (see the module docstring)."""
    from scipy.linalg.blas import dsyrk

    rows, d = a.shape
    w = np.empty((rows, 2))
    w[:, 0], w[:, 1] = b[:, 0], 1.0
    out = np.zeros((d + 2, d + 2))
    # a^T a as (a^T)(a^T)^T with a^T Fortran-ordered when a is C-ordered (no copy), or a^T a directly
    out[:d, :d] = dsyrk(1.0, a, trans=1) if a.flags.f_contiguous else dsyrk(1.0, a.T, trans=0)
    out[:d, d:] = a.T @ w
    out[d:, d:] = w.T @ w
    return out.reshape(1, -1)


def _symmetric(upper: np.ndarray) -> np.ndarray:
    """The symmetric matrix whose upper triangle is that of ``upper``."""
    return np.triu(upper) + np.triu(upper, 1).T


def gram_pass(op, target) -> Gram:
    """One distributed pass: the Gram of [A | b] (``op`` a :class:`~cvxpar.losses.dask_operator.DaskOperator`,
    ``target`` b chunked like A's rows), computed on the active Dask scheduler.

    Raises ValueError when the data hold NaN/inf, RuntimeError when the pass did not see n rows,
    naming the chunks responsible (:mod:`cvxpar.losses.dask_chunks`).
    """
    n, d = op.shape
    k = d + 2
    P = _symmetric(row_chunk_sum(op.A, target, _chunk_gram, k * k, target_name="b").reshape(k, k))
    rows_seen = P[-1, -1]
    if rows_seen != n or not np.isfinite(P).all():
        raise_bad_chunks({"A": op.A, "b": target}, n, rows_seen)
    return Gram(G=P[:d, :d], c=P[:d, d], beta=float(P[d, d]), rows_seen=int(rows_seen))


def equivalent_least_squares(gram: Gram):
    """(R, t, kappa) with 1/2 ||A x - b||^2 = 1/2 ||R x - t||^2 + kappa (see the module docstring)."""
    from cvxpar.solvers._tall import normal_equations_factor

    return normal_equations_factor(gram.G, gram.c, gram.beta)
