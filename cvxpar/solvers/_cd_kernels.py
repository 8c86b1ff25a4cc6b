"""The compiled coordinate-descent epoch of :mod:`cvxpar.solvers.cd`, one kernel for dense and sparse A.

An epoch visits the working set once; coordinate j takes the exact 1-D prox of a quadratic model

    x_j <- clip( prox_{(lam_j / c_j) psi}( x_j + a_j^T r / c_j ), [lb_j, ub_j] ),   c_j = a_j^T W a_j,

and updates the model's negative gradient in sample space, r <- r - dx_j W a_j (W = I when the
weights are empty).  A enters as its column storage: a dense A as its Fortran-ordered values
(column j at data[j n : (j + 1) n]), a scipy.sparse A as its CSC arrays; the two column primitives
below are the only place where the two differ.
"""

from __future__ import annotations

import numba
import numpy as np

from cvxpar._prox_kernels import scalar_prox


@numba.njit(inline="always")
def _column_dot(data, indptr, indices, n, dense, j, r):
    """a_j^T r (dense: one BLAS dot over the contiguous column)."""
    if dense:
        return np.dot(data[j * n:(j + 1) * n], r)
    s = 0.0
    for p in range(indptr[j], indptr[j + 1]):
        s += data[p] * r[indices[p]]
    return s


@numba.njit(inline="always")
def _column_update(data, indptr, indices, n, dense, j, dx, wt, r):
    """r <- r - dx W a_j (W = diag(wt), or I when wt is empty)."""
    if dense:
        base = j * n
        if wt.size:
            for i in range(n):
                r[i] -= dx * wt[i] * data[base + i]
        else:
            for i in range(n):
                r[i] -= dx * data[base + i]
    else:
        for p in range(indptr[j], indptr[j + 1]):
            i = indices[p]
            r[i] -= dx * (wt[i] if wt.size else 1.0) * data[p]


@numba.njit(cache=True, nogil=True)
def epochs(data, indptr, indices, n, dense, r, x, ws, curv, wt, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub,
           n_epochs, xs, rs):
    """``n_epochs`` sweeps over the coordinates ``ws`` (in order), updating x and r in place.

    ``curv`` holds c_j (a coordinate with c_j = 0 is left alone), ``lam`` one weight or one per
    coordinate, ``lb``/``ub`` per-coordinate bounds or empty arrays.  When ``xs`` has columns, the
    iterate after epoch e is recorded: ``xs[:, e] = x[ws]``, ``rs[:, e] = r`` (for an extrapolation)."""
    record = xs.shape[1] > 0
    for e in range(n_epochs):
        for jj in range(ws.size):
            j = ws[jj]
            c = curv[j]
            if c == 0.0:
                continue
            s = _column_dot(data, indptr, indices, n, dense, j, r)
            lj = lam[0] if lam.size == 1 else lam[j]
            xn = scalar_prox(x[j] + s / c, lj / c, slope, lo, hi, ax, av, ex, ev, convex)
            if lb.size:
                xn = min(max(xn, lb[j]), ub[j])
            dx = xn - x[j]
            if dx != 0.0:
                _column_update(data, indptr, indices, n, dense, j, dx, wt, r)
                x[j] = xn
        if record:
            for jj in range(ws.size):
                xs[jj, e] = x[ws[jj]]
            rs[:, e] = r


@numba.njit(cache=True, nogil=True)
def _sq_norms(data, indptr, indices, n, dense, d):
    out = np.empty(d)
    for j in range(d):
        if dense:
            col = data[j * n:(j + 1) * n]
            out[j] = np.dot(col, col)
        else:
            s = 0.0
            for p in range(indptr[j], indptr[j + 1]):
                s += data[p] * data[p]
            out[j] = s
    return out


@numba.njit(cache=True, nogil=True)
def penalty_at(x, ws, lam, slope, lo, hi, ax, av, ex, ev):
    """sum_{j in ws} lam_j psi(x_j) for x_j in psi's domain (inf outside), psi given by its pieces
    (:func:`cvxpar.prox.pieces`: on piece k, psi(x) = psi(end) + s_k (x - end) from the nearer end of the
    piece, as the prox kernels evaluate it); a term with lam_j = 0 counts 0."""
    total = 0.0
    m = slope.size
    for jj in range(ws.size):
        j = ws[jj]
        lj = lam[0] if lam.size == 1 else lam[j]
        xj = x[jj]
        if xj < lo[0] or xj > hi[m - 1]:
            return np.inf
        if lj == 0.0:
            continue
        k, top = 0, m - 1  # the last piece k with lo[k] <= x_j (bisection)
        while k < top:
            mid = (k + top + 1) >> 1
            if lo[mid] <= xj:
                k = mid
            else:
                top = mid - 1
        if xj - ax[k] > ex[k] - xj:
            total += lj * (ev[k] + slope[k] * (xj - ex[k]))
        else:
            total += lj * (av[k] + slope[k] * (xj - ax[k]))
    return total


@numba.njit(cache=True, nogil=True)
def scores(x, g, idx, lam, q, slopes, dom_lo, dom_hi, lb, ub):
    """dist(-g_jj, lam_j dpsi(x_j) + N_[lb_j, ub_j](x_j)) for the jj-th j of ``idx`` (x indexed by j, g by
    jj: g holds the gradient's entries at idx): the
    compiled form of :meth:`cvxpar.PAR.subdifferential_distance`, with the same conventions.

    psi is given by its breakpoints ``q`` and its m + 1 slopes; dpsi(x) is the single slope of x's piece,
    [min, max] of the two adjacent slopes on a breakpoint, empty outside [dom_lo, dom_hi] (distance +inf);
    a zero weight switches psi off inside its domain (an infinite slope at a domain end stays); ``lam`` one weight or one per coordinate, ``lb``/``ub``
    one bound each or one per coordinate (+-inf for none)."""
    m = q.size
    out = np.empty(idx.size)
    for jj in range(idx.size):
        j = idx[jj]
        xj = x[j]
        if xj < dom_lo or xj > dom_hi:
            out[jj] = np.inf
            continue
        k, top = 0, m  # the piece right of the last breakpoint <= x_j: searchsorted(q, x_j, "right")
        while k < top:
            mid = (k + top) >> 1
            if q[mid] <= xj:
                k = mid + 1
            else:
                top = mid
        right = slopes[k]
        b = k - 1 if k > 0 else 0
        left = slopes[b] if xj == q[b] else right
        lj = lam[0] if lam.size == 1 else lam[j]
        lo, hi = min(left, right), max(left, right)
        if lj > 0.0:
            lo, hi = lj * lo, lj * hi
        else:  # psi switched off inside its domain; a wall's normal cone (an infinite slope) stays
            lo = lo if np.isinf(lo) else 0.0
            hi = hi if np.isinf(hi) else 0.0
        if xj <= (lb[0] if lb.size == 1 else lb[j]):
            lo = -np.inf
        if xj >= (ub[0] if ub.size == 1 else ub[j]):
            hi = np.inf
        c = -g[jj]
        out[jj] = max(lo - c, c - hi, 0.0)
    return out


class Columns:
    """A's column storage in the form :func:`epochs` takes (dense: Fortran-ordered values; sparse: CSC)."""

    def __init__(self, op) -> None:
        n = op.shape[0]
        if op.kind == "dense":
            self.matrix = np.asfortranarray(op.A, dtype=np.float64)
            self.args = (self.matrix.ravel(order="F"), np.zeros(1, np.int64), np.zeros(0, np.int64), n, True)
        else:
            self.matrix = op.A
            self.args = (np.asarray(op.A.data, dtype=np.float64), op.A.indptr, op.A.indices, n, False)
        #: ||a_j||^2 for every column j.
        self.sq_norms = _sq_norms(*self.args, op.shape[1])

    def take(self, ws):
        """The columns ws of A (for the working set's gradient A_ws^T r)."""
        return self.matrix[:, ws]
