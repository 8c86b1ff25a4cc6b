"""Compiled kernels of :mod:`cvxpar.solvers._sparse_gram` on the CSC arrays of a scipy.sparse A (n x d).

The kernels take the free columns J as an index array ``cols`` into A's columns (no slice of A is
copied) and the row scaling S as ``scale`` (an empty array for S = I), and work with B = S A_J (``small_gram``
takes B's rows instead):

- ``gram_lower``: the lower triangle of B B^T added into a Fortran-ordered n x n array, one column's
  outer product b_j b_j^T at a time (nnz(b_j)^2 / 2 multiply-adds each: the Gustavson product of a
  sparse matrix with its transpose, Gustavson 1978, accumulated in the dense result);
- ``small_gram``: the lower triangle of B^T B (|J| x |J|), one row's outer product at a time (the
  row-wise Gustavson product, sum_i nnz(row i of B)^2 / 2 multiply-adds);
- ``dense_columns``: the columns of B, dense (for a block of a few columns);
- ``conjugate_gradient``: CG on (shift I + sigma B B^T) x = rhs (Hestenes and Stiefel 1952; Golub and
  Van Loan 2013, Algorithm 11.3.2), each step one pass over B's columns (4 nnz(B) + 10 n flops), the
  whole loop compiled.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def gram_lower(indptr, indices, data, cols, scale, G):
    """G[i, l] += (B B^T)[i, l] for i >= l (B = S A[:, cols]); G is Fortran-ordered n x n, A's row indices
    sorted within each column."""
    scaled = scale.size > 0
    for jj in range(cols.size):
        j = cols[jj]
        lo, hi = indptr[j], indptr[j + 1]
        for p in range(lo, hi):
            ip = indices[p]
            vp = data[p] * (scale[ip] if scaled else 1.0)
            for q in range(p, hi):
                iq = indices[q]
                G[iq, ip] += vp * data[q] * (scale[iq] if scaled else 1.0)


@numba.njit(cache=True, nogil=True)
def small_gram(indptr, indices, data, C):
    """C[a, b] += (B^T B)[a, b] for a >= b, from the CSR arrays of B (n x k, column indices sorted within each
    row): sum_i nnz(row i)^2 / 2 multiply-adds; C is Fortran-ordered k x k."""
    for i in range(indptr.size - 1):
        lo, hi = indptr[i], indptr[i + 1]
        for p in range(lo, hi):
            vp = data[p]
            jp = indices[p]
            for q in range(p, hi):
                C[indices[q], jp] += vp * data[q]


@numba.njit(cache=True, nogil=True)
def dense_columns(indptr, indices, data, cols, scale, U):
    """U[:, t] = S a_{cols[t]} (U is n x cols.size, zero on entry)."""
    scaled = scale.size > 0
    for t in range(cols.size):
        j = cols[t]
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            U[i, t] = data[p] * (scale[i] if scaled else 1.0)


@numba.njit(cache=True, nogil=True)
def _gram_apply(indptr, indices, data, cols, scale, v, out):
    """out = B B^T v (B = S A[:, cols]), one pass over B's columns."""
    scaled = scale.size > 0
    out[:] = 0.0
    for jj in range(cols.size):
        j = cols[jj]
        t = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            t += data[p] * v[i] * (scale[i] if scaled else 1.0)
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            out[i] += t * data[p] * (scale[i] if scaled else 1.0)


@numba.njit(cache=True, nogil=True)
def residual(indptr, indices, data, cols, scale, sigma, shift, rhs, x):
    """rhs - (shift I + sigma B B^T) x."""
    q = np.empty_like(x)
    _gram_apply(indptr, indices, data, cols, scale, x, q)
    return rhs - shift * x - sigma * q


@numba.njit(cache=True, nogil=True)
def conjugate_gradient(indptr, indices, data, cols, scale, sigma, shift, rhs, steps, rtol):
    """(x, converged): CG from 0 on (shift I + sigma B B^T) x = rhs, stopped at ||rhs - M x|| <= rtol ||rhs||
    (converged) or after ``steps`` steps, or when p^T M p <= 0 (not numerically positive definite)."""
    n = rhs.size
    x = np.zeros(n)
    r = rhs.copy()
    p = r.copy()
    q = np.empty(n)
    rr = r @ r
    stop = rtol * rtol * rr
    if rr == 0.0:
        return x, True
    for _ in range(steps):
        _gram_apply(indptr, indices, data, cols, scale, p, q)
        pq = 0.0
        for i in range(n):
            q[i] = shift * p[i] + sigma * q[i]
            pq += p[i] * q[i]
        if not pq > 0.0:
            return x, False
        a = rr / pq
        rr_new = 0.0
        for i in range(n):
            x[i] += a * p[i]
            r[i] -= a * q[i]
            rr_new += r[i] * r[i]
        if rr_new <= stop:
            return x, bool(np.isfinite(x).all())
        beta = rr_new / rr
        for i in range(n):
            p[i] = r[i] + beta * p[i]
        rr = rr_new
    return x, False
