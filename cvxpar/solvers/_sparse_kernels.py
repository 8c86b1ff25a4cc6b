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
- ``newton_matrix``: shift I + sigma B B^T as a sparse matrix (CSC) for the sparse factorization, its
  uncoupled rows split off as a diagonal (the column-wise Gustavson product, sum_j nnz(b_j)^2 multiply-adds);
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


@numba.njit(cache=True, nogil=True)
def newton_matrix(indptr, indices, data, rptr, rcols, rdata, free, scale, sigma, shift):
    """M = shift I + sigma B B^T (n x n), B = S A[:, J] with J the columns where ``free`` is True, split into its
    diagonal rows and the rest: (coupled, diag, indptr, indices, data) with ``coupled`` the rows i that some
    column of B shares with another row (M_il != 0 for some l != i), ``diag`` M's diagonal, and the CSC arrays
    of M[coupled, coupled] (both triangles, row indices sorted, numbered within ``coupled``); every other row
    of M is its diagonal entry alone.  From A's CSC arrays and its CSR arrays (rptr, rcols, rdata): column i of
    B B^T is sum_{j in J} B_ij b_j (Gustavson 1978), gathered in a dense accumulator with a marker per row,
    sum_{j in J} nnz(b_j)^2 multiply-adds."""
    n = rptr.size - 1
    scaled = scale.size > 0
    diag = np.full(n, shift)
    where = np.full(n, -1, dtype=np.int64)
    coupled = np.empty(n, dtype=np.int64)
    m = 0
    bound = 0
    for i in range(n):
        si = scale[i] if scaled else 1.0
        link = False
        for p in range(rptr[i], rptr[i + 1]):
            j = rcols[p]
            if free[j]:
                v = rdata[p] * si
                diag[i] += sigma * v * v
                width = indptr[j + 1] - indptr[j]
                bound += width
                link = link or width > 1
        if link:
            where[i] = m
            coupled[m] = i
            m += 1
    out_ptr = np.zeros(m + 1, dtype=np.int64)
    out_idx = np.empty(bound + m, dtype=np.int64)
    out_val = np.empty(bound + m)
    acc = np.zeros(n)
    mark = np.full(n, -1, dtype=np.int64)
    rows = np.empty(n, dtype=np.int64)
    nnz = 0
    for c in range(m):
        i = coupled[c]
        count = 0
        si = scale[i] if scaled else 1.0
        for p in range(rptr[i], rptr[i + 1]):
            j = rcols[p]
            if not free[j]:
                continue
            v = rdata[p] * si
            for q in range(indptr[j], indptr[j + 1]):
                r = indices[q]
                if mark[r] != i:
                    mark[r] = i
                    acc[r] = 0.0
                    # insertion into the sorted list of this column's rows (a few entries each)
                    t = count
                    while t > 0 and rows[t - 1] > r:
                        rows[t] = rows[t - 1]
                        t -= 1
                    rows[t] = r
                    count += 1
                acc[r] += v * data[q] * (scale[r] if scaled else 1.0)
        for t in range(count):
            r = rows[t]
            out_idx[nnz] = where[r]
            out_val[nnz] = diag[i] if r == i else sigma * acc[r]
            nnz += 1
        out_ptr[c + 1] = nnz
    return coupled[:m], diag, out_ptr, out_idx[:nnz], out_val[:nnz]
