"""Compiled prox kernels: numba for NumPy, one fused ElementwiseKernel for CuPy.

Both implement the per-element step of :mod:`cvxpar.prox`: a binary search over the
envelope thresholds, the clipped shift clip(v - t*s_k, I_k), and for nonconvex psi an exact
comparison with the two neighbouring envelope pieces (ties to the smaller |x|, then x).
Arithmetic is float64 whatever the input dtype; the output keeps the input dtype.
"""

from __future__ import annotations

import numba
import numpy as np

TIE_ULPS = 64.0
_EPS = float(np.finfo(np.float64).eps)
#: Below this many elements the serial kernel wins (no thread start-up).
PARALLEL_MIN_SIZE = 1 << 16


@numba.njit(inline="always")
def _objective(v, t, s, lo, hi, ax, av):
    x = v - t * s
    if x < lo:
        x = lo
    elif x > hi:
        x = hi
    psi_part = t * (av + s * (x - ax))
    half_sq = 0.5 * (x - v) * (x - v)
    return x, psi_part + half_sq, abs(psi_part) + half_sq + abs(t * av)


@numba.njit(inline="always")
def _better(cx, cf, cs, bx, bf, bs):
    tol = TIE_ULPS * _EPS * (bs + cs)
    if cf < bf - tol:
        return True
    if abs(cf - bf) <= tol:
        if abs(cx) < abs(bx):
            return True
        if abs(cx) == abs(bx) and cx < bx:
            return True
    return False


@numba.njit(inline="always")
def _one(vi, t, thr, slope, lo, hi, ax, av, exact):
    if vi != vi:
        return vi
    a = 0
    b = thr.size
    while a < b:
        mid = (a + b) >> 1
        if thr[mid] < vi:
            a = mid + 1
        else:
            b = mid
    bx, bf, bs = _objective(vi, t, slope[a], lo[a], hi[a], ax[a], av[a])
    if exact:
        return bx
    n = slope.size
    for k in (a - 1, a + 1):
        if 0 <= k < n:
            cx, cf, cs = _objective(vi, t, slope[k], lo[k], hi[k], ax[k], av[k])
            if _better(cx, cf, cs, bx, bf, bs):
                bx, bf, bs = cx, cf, cs
    return bx


@numba.njit(cache=True, nogil=True)
def _scalar_t_serial(v, out, t, thr, slope, lo, hi, ax, av, exact):
    for i in range(v.size):
        out[i] = _one(float(v[i]), t, thr, slope, lo, hi, ax, av, exact)


@numba.njit(cache=True, nogil=True, parallel=True)
def _scalar_t_parallel(v, out, t, thr, slope, lo, hi, ax, av, exact):
    for i in numba.prange(v.size):
        out[i] = _one(float(v[i]), t, thr, slope, lo, hi, ax, av, exact)


@numba.njit(cache=True, nogil=True)
def _array_t(v, t, out, slope, lo, hi, ax, av, convex):
    n = slope.size
    for i in range(v.size):
        vi = float(v[i])
        ti = float(t[i])
        if vi != vi:
            out[i] = vi
            continue
        if convex:
            a = 0
            b = n - 1
            while a < b:  # count k in 1..n-1 with lo_k + t s_k < v (nondecreasing in k)
                mid = (a + b) >> 1
                if lo[mid + 1] + ti * slope[mid + 1] < vi:
                    a = mid + 1
                else:
                    b = mid
            bx, bf, bs = _objective(vi, ti, slope[a], lo[a], hi[a], ax[a], av[a])
        else:
            bx, bf, bs = _objective(vi, ti, slope[0], lo[0], hi[0], ax[0], av[0])
            for k in range(1, n):
                cx, cf, cs = _objective(vi, ti, slope[k], lo[k], hi[k], ax[k], av[k])
                if _better(cx, cf, cs, bx, bf, bs):
                    bx, bf, bs = cx, cf, cs
        out[i] = bx


def prox_numpy(v: np.ndarray, table, t: float, out: np.ndarray | None = None) -> np.ndarray:
    """Scalar-t prox of a NumPy array through the compiled kernel."""
    flat = np.ascontiguousarray(v).reshape(-1)
    result = np.empty_like(flat) if out is None else out.reshape(-1)
    kernel = _scalar_t_parallel if flat.size >= PARALLEL_MIN_SIZE else _scalar_t_serial
    kernel(
        flat, result, float(t), table.thresholds, table.slope, table.lo, table.hi,
        table.anchor_x, table.anchor_value, table.exact,
    )
    return result.reshape(v.shape)


def prox_numpy_array_t(v: np.ndarray, t: np.ndarray, p, convex: bool) -> np.ndarray:
    """Per-element-t prox of a NumPy array (t already broadcast to v's shape)."""
    flat = np.ascontiguousarray(v).reshape(-1)
    t_flat = np.ascontiguousarray(t, dtype=np.float64).reshape(-1)
    out = np.empty_like(flat)
    _array_t(flat, t_flat, out, p.slope, p.lo, p.hi, p.anchor_x, p.anchor_value, convex)
    return out.reshape(v.shape)


_CUDA_SOURCE = r"""
double vi = (double)v;
if (vi != vi) { out = v; return; }
int a = 0, b = n_thr;
while (a < b) { int mid = (a + b) >> 1; if (thr[mid] < vi) a = mid + 1; else b = mid; }
double best_x = 0, best_f = 0, best_s = 0;
int first = exact ? a : (a > 0 ? a - 1 : 0);
int last = exact ? a : (a + 1 < n_pieces ? a + 1 : n_pieces - 1);
for (int k = first; k <= last; ++k) {
    double x = vi - t * slope[k];
    x = x < lo[k] ? lo[k] : (x > hi[k] ? hi[k] : x);
    double pp = t * (av[k] + slope[k] * (x - ax[k]));
    double hs = 0.5 * (x - vi) * (x - vi);
    double f = pp + hs, s = fabs(pp) + hs + fabs(t * av[k]);
    bool take = (k == first);
    if (!take) {
        double tol = tie_ulps * 2.220446049250313e-16 * (best_s + s);
        take = (f < best_f - tol) ||
               (fabs(f - best_f) <= tol && (fabs(x) < fabs(best_x) || (fabs(x) == fabs(best_x) && x < best_x)));
    }
    if (take) { best_x = x; best_f = f; best_s = s; }
}
out = (T)best_x;
"""

_cuda_kernel = None


def prox_cupy(v, table, t: float):
    """Scalar-t prox of a CuPy array: one fused kernel (search, shift, clip, neighbour check)."""
    import cupy

    global _cuda_kernel
    if _cuda_kernel is None:
        _cuda_kernel = cupy.ElementwiseKernel(
            "T v, float64 t, raw float64 thr, int32 n_thr, raw float64 slope, raw float64 lo, raw float64 hi, "
            "raw float64 ax, raw float64 av, int32 n_pieces, bool exact, float64 tie_ulps",
            "T out",
            _CUDA_SOURCE,
            "cvxpar_par_prox",
        )
    dev = [cupy.asarray(a) for a in (table.thresholds, table.slope, table.lo, table.hi, table.anchor_x, table.anchor_value)]
    thr, slope, lo, hi, ax, av = dev
    return _cuda_kernel(
        v, float(t), thr, np.int32(thr.size), slope, lo, hi, ax, av, np.int32(slope.size), bool(table.exact), TIE_ULPS
    )
