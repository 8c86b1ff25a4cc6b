"""Products with A in doubled precision, with rigorous error bounds: what the certificate uses when the gradient's
rounding estimate alone keeps a point from certifying (:meth:`cvxpar.losses.LinearModelLoss.accurate_gradient`).

Each entry of a product is a dot product computed by Dot2 (Ogita, Rump & Oishi 2005, "Accurate sum and dot
product", SIAM J. Sci. Comput. 26(6), sec. 5): every product a_k v_k is split exactly into h_k + r_k
(TwoProduct, with Dekker's splitting, Dekker 1971), the h_k are summed by TwoSum (Knuth 1969) whose exact
errors q_k are added to the r_k into a second accumulator s.  The pair (p, s) then represents the dot product
to within

    |p + s - a^T v| <= gamma_m^2 |a|^T |v|,   gamma_m = m u / (1 - m u),  u = 2^-53,

for m terms (their Proposition on Dot2, before its final rounding p + s), barring underflow and overflow: as
accurate as a product in twice the working precision.  A vector v may itself be a pair (vh, vl) (a double-double
vector: 2 terms per entry).  Every kernel also returns |A||v| and |A| e for an error vector e, in plain float64
(each within a relative gamma_m of its exact value), from which the caller's bounds are built.

Dense A is read in its memory order (row-major: one dot per row for A v, and the transposed product accumulated
row by row); scipy.sparse A in its CSC arrays.
"""

from __future__ import annotations

import numba
import numpy as np

#: Dekker's splitting constant 2^27 + 1 for float64.
_SPLITTER = 134217729.0
#: The unit roundoff of float64.
UNIT_ROUNDOFF = 2.0**-53


def gamma(m: int) -> float:
    """gamma_m = m u / (1 - m u) (Higham 2002, *Accuracy and Stability of Numerical Algorithms*, Lemma 3.1)."""
    mu = m * UNIT_ROUNDOFF
    if mu >= 0.5:
        return float("inf")
    return mu / (1.0 - mu)


@numba.njit(inline="always", cache=True)
def _two_sum(a, b):
    """s + e = a + b exactly, s = fl(a + b) (Knuth 1969)."""
    s = a + b
    z = s - a
    return s, (a - (s - z)) + (b - z)


@numba.njit(inline="always", cache=True)
def _two_product(a, b):
    """p + e = a b exactly, p = fl(a b) (Dekker 1971: Veltkamp's split of each factor into 26-bit halves)."""
    p = a * b
    c = _SPLITTER * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLITTER * b
    bh = c - (c - b)
    bl = b - bh
    return p, al * bl - (((p - ah * bh) - al * bh) - ah * bl)


@numba.njit(inline="always", cache=True)
def _add(p, s, a, v):
    """One Dot2 step: (p, s) += a v."""
    h, r = _two_product(a, v)
    p, q = _two_sum(p, h)
    return p, s + (q + r)


@numba.njit(cache=True)
def _rows(A, vh, vl, e):
    """Dot2 of every row of a row-major A with (vh, vl): (p, s) with p + s ~ A (vh + vl), and |A|(|vh| + |vl|), |A| e."""
    n, m = A.shape
    p = np.zeros(n)
    s = np.zeros(n)
    absv = np.zeros(n)
    abse = np.zeros(n)
    for i in range(n):
        pi = 0.0
        si = 0.0
        av = 0.0
        ae = 0.0
        for k in range(m):
            a = A[i, k]
            pi, si = _add(pi, si, a, vh[k])
            if vl[k] != 0.0:
                pi, si = _add(pi, si, a, vl[k])
            aa = abs(a)
            av += aa * (abs(vh[k]) + abs(vl[k]))
            ae += aa * e[k]
        p[i] = pi
        s[i] = si
        absv[i] = av
        abse[i] = ae
    return p, s, absv, abse


@numba.njit(cache=True)
def _rows_transposed(A, vh, vl, e):
    """The same for A^T (vh + vl) of a row-major A, accumulated row by row."""
    n, m = A.shape
    p = np.zeros(m)
    s = np.zeros(m)
    absv = np.zeros(m)
    abse = np.zeros(m)
    for i in range(n):
        h = vh[i]
        lo = vl[i]
        w = abs(h) + abs(lo)
        ei = e[i]
        for k in range(m):
            a = A[i, k]
            p[k], s[k] = _add(p[k], s[k], a, h)
            if lo != 0.0:
                p[k], s[k] = _add(p[k], s[k], a, lo)
            aa = abs(a)
            absv[k] += aa * w
            abse[k] += aa * ei
    return p, s, absv, abse


@numba.njit(cache=True)
def _csc_columns(indptr, indices, data, vh, vl, e, n_cols):
    """A^T (vh + vl) of a CSC A: one Dot2 per column."""
    p = np.zeros(n_cols)
    s = np.zeros(n_cols)
    absv = np.zeros(n_cols)
    abse = np.zeros(n_cols)
    for j in range(n_cols):
        pj = 0.0
        sj = 0.0
        av = 0.0
        ae = 0.0
        for t in range(indptr[j], indptr[j + 1]):
            i = indices[t]
            a = data[t]
            pj, sj = _add(pj, sj, a, vh[i])
            if vl[i] != 0.0:
                pj, sj = _add(pj, sj, a, vl[i])
            aa = abs(a)
            av += aa * (abs(vh[i]) + abs(vl[i]))
            ae += aa * e[i]
        p[j] = pj
        s[j] = sj
        absv[j] = av
        abse[j] = ae
    return p, s, absv, abse


@numba.njit(cache=True)
def _csc_rows(indptr, indices, data, vh, vl, e, n_rows):
    """A (vh + vl) of a CSC A, accumulated column by column."""
    n_cols = indptr.shape[0] - 1
    p = np.zeros(n_rows)
    s = np.zeros(n_rows)
    absv = np.zeros(n_rows)
    abse = np.zeros(n_rows)
    for j in range(n_cols):
        h = vh[j]
        lo = vl[j]
        w = abs(h) + abs(lo)
        ej = e[j]
        for t in range(indptr[j], indptr[j + 1]):
            i = indices[t]
            a = data[t]
            p[i], s[i] = _add(p[i], s[i], a, h)
            if lo != 0.0:
                p[i], s[i] = _add(p[i], s[i], a, lo)
            aa = abs(a)
            absv[i] += aa * w
            abse[i] += aa * ej
    return p, s, absv, abse


def product(A, vh, vl, e, transpose: bool):
    """(p, s, |A||v|, |A| e) for A v (A^T v when ``transpose``), v = vh + vl, on host float64 data.

    Parameters
    ----------
    A : numpy.ndarray or scipy.sparse CSC array
        Any float dtype (converted to float64, exactly).
    vh, vl, e : numpy.ndarray of float64
        The high and low parts of v and an error vector (e >= 0), of A's matching dimension.
    transpose : bool

    Returns
    -------
    tuple of four numpy.ndarray
    """
    import scipy.sparse as sp

    if sp.issparse(A):
        A = sp.csc_array(A, dtype=np.float64)
        n, d = A.shape
        args = (A.indptr, A.indices, A.data, vh, vl, e)
        return _csc_columns(*args, d) if transpose else _csc_rows(*args, n)
    A = np.asarray(A, dtype=np.float64)
    if A.flags.f_contiguous and not A.flags.c_contiguous:
        At = A.T  # row-major
        return _rows(At, vh, vl, e) if transpose else _rows_transposed(At, vh, vl, e)
    A = np.ascontiguousarray(A)
    return _rows_transposed(A, vh, vl, e) if transpose else _rows(A, vh, vl, e)


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise (s, e) with s + e = a + b exactly and s = fl(a + b) (Knuth 1969), in NumPy."""
    s = a + b
    z = s - a
    return s, (a - (s - z)) + (b - z)
