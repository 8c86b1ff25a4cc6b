"""Compiled prox kernels: numba for NumPy, one fused ElementwiseKernel for CuPy.

Both implement the per-element step of :mod:`cvxpar.prox`: locate v among the envelope
thresholds (``a = #{thresholds < v}``), take the clipped shift clip(v - t*s_a, I_a), and for a
nonconvex psi compare exactly with the two neighbouring envelope pieces (ties to the smaller
|x|, then x).  Arithmetic is float64 whatever the input dtype; the output keeps the input dtype.

The NumPy kernels locate v in O(1) for evenly spread thresholds (:class:`SearchIndex`): a
uniform bucket grid over [thr_0, thr_last] (2 buckets per threshold) maps v to a bucket b, a
precomputed table gives the number of thresholds in earlier buckets, and a short branch-free
count over bucket b's own copy of its thresholds (or, for a bucket holding more than
``LINEAR_SCAN_MAX``, a branch-free bisection) finishes the job, so the worst case stays
O(log m).  Up to ``LINEAR_SCAN_MAX`` thresholds in all use one bucket: a plain count.
The bucket map is a monotone float function applied identically to v and to the thresholds,
which makes the lookup exact: a threshold in an earlier bucket is < v, one in a later bucket
is > v.  No fast-math, so results are bit-identical to a plain binary search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

TIE_ULPS = 64.0
_EPS = float(np.finfo(np.float64).eps)
#: Below this many elements the serial kernel wins (no thread start-up).
PARALLEL_MIN_SIZE = 1 << 16
#: Buckets per threshold of the O(1) locator.
BUCKETS_PER_THRESHOLD = 2
#: A bucket holding at most this many thresholds is scanned branch-free; more: binary search.
LINEAR_SCAN_MAX = 8
#: Per-element t: a convex psi with at most this many thresholds is scanned, above it bisected.
ARRAY_T_LINEAR_MAX = 16


# ---------------------------------------------------------------------- threshold locator
@dataclass(frozen=True)
class SearchIndex:
    """O(1)-expected locator of v among sorted thresholds (see the module docstring).

    ``start[b]``: the number of thresholds in buckets before b (``start[n_buckets]`` = all);
    ``width``: the most thresholds any bucket holds; ``cells[b]``: bucket b's thresholds padded
    with +inf to ``width`` (read side by side with ``start[b]``, no dependent load);
    ``padded``: all thresholds then ``width`` times +inf (for the bisection of crowded buckets).
    """

    padded: np.ndarray
    start: np.ndarray
    cells: np.ndarray
    origin: float
    inv_width: float
    n_buckets: int
    width: int


@numba.njit(inline="always")
def _bucket(v, origin, inv_width, n_buckets):
    """Monotone nondecreasing map of v to 0..n_buckets-1 (NaN and -inf go to 0), branch-free."""
    f = (v - origin) * inv_width
    f = f if f >= 0.0 else 0.0
    top = n_buckets - 1.0
    return int(f if f < top else top)


@numba.njit(cache=True)
def _buckets_of(thresholds, origin, inv_width, n_buckets):
    out = np.empty(thresholds.size, dtype=np.int64)
    for i in range(thresholds.size):
        out[i] = _bucket(thresholds[i], origin, inv_width, n_buckets)
    return out


def search_index(thresholds: np.ndarray) -> SearchIndex:
    """Build the bucket locator for nondecreasing ``thresholds``."""
    thr = np.ascontiguousarray(thresholds, dtype=np.float64)
    n = thr.size
    n_buckets = 1
    origin = inv_width = 0.0
    with np.errstate(over="ignore"):
        span = float(thr[-1] - thr[0]) if n >= 2 else 0.0
    if n > LINEAR_SCAN_MAX and np.isfinite(span) and span > 0:  # else one bucket: a plain scan
        inv = BUCKETS_PER_THRESHOLD * n / span
        if np.isfinite(inv):
            n_buckets, origin, inv_width = BUCKETS_PER_THRESHOLD * n, float(thr[0]), float(inv)
    buckets = _buckets_of(thr, origin, inv_width, n_buckets)
    start = np.searchsorted(buckets, np.arange(n_buckets + 1), side="left").astype(np.int64)
    width = int(np.max(np.diff(start))) if n else 0
    padded = np.concatenate((thr, np.full(width, np.inf)))
    cells = padded[start[:-1, None] + np.arange(min(width, LINEAR_SCAN_MAX))[None, :]]
    return SearchIndex(padded, start, np.ascontiguousarray(cells), origin, inv_width, n_buckets, width)


@numba.njit(inline="always")
def _locate(vi, padded, start, cells, origin, inv_width, n_buckets, width):
    """#{thresholds < vi} (0 for NaN)."""
    b = _bucket(vi, origin, inv_width, n_buckets)
    a = start[b]
    if width <= LINEAR_SCAN_MAX:  # a few thresholds in the bucket: compare them all, branch-free
        for j in range(width):
            a += 1 if cells[b, j] < vi else 0
        return a
    n = start[b + 1] - a  # a crowded bucket: branch-free bisection (a fixed number of halvings)
    while n > 1:
        half = n >> 1
        a = a + half if padded[a + half - 1] < vi else a
        n -= half
    return a + (1 if n == 1 and padded[a] < vi else 0)


# ---------------------------------------------------------------------- per-element steps
@numba.njit(inline="always")
def _objective(v, shift, lo, hi, ax, av, ex, ev, t, ref):
    """Minimizer x of the prox objective over one piece, its value and its rounding scale.

    The value is taken relative to t*ref, a constant shared by the candidates being compared
    (psi's value on the piece that holds v): a large common level of psi would otherwise hide
    real differences below its rounding (a flat piece at height 30 against a kink 1e-8 away).
    """
    x = v - shift
    if x < lo:
        x = lo
    elif x > hi:
        x = hi
    if x - ax > ex - x:  # psi from the nearer end of the piece (no extrapolation across it)
        ax = ex
        av = ev
    level = t * (av - ref)
    slope_part = shift * (x - ax)
    half_sq = 0.5 * (x - v) * (x - v)
    return x, level + slope_part + half_sq, abs(level) + abs(slope_part) + half_sq


@numba.njit(inline="always")
def _better(cx, cf, cs, bx, bf, bs):
    """Candidate c beats the best b: lower objective, or a tie and smaller |x|, then smaller x."""
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
def _clipped_shift(vi, shift, lo, hi):
    """clip(vi - shift, lo, hi) with NaN passing through (the convex prox on one piece)."""
    x = vi - shift
    x = lo if x < lo else x
    return hi if x > hi else x


@numba.njit(inline="always")
def _best_of_neighbours(vi, t, a, shift, lo, hi, ax, av, ex, ev):
    """Any psi, scalar t: the best of envelope piece a and its two neighbours."""
    ref = av[a]
    bx, bf, bs = _objective(vi, shift[a], lo[a], hi[a], ax[a], av[a], ex[a], ev[a], t, ref)
    if a > 0:
        k = a - 1
        cx, cf, cs = _objective(vi, shift[k], lo[k], hi[k], ax[k], av[k], ex[k], ev[k], t, ref)
        if _better(cx, cf, cs, bx, bf, bs):
            bx, bf, bs = cx, cf, cs
    if a + 1 < shift.size:
        k = a + 1
        cx, cf, cs = _objective(vi, shift[k], lo[k], hi[k], ax[k], av[k], ex[k], ev[k], t, ref)
        if _better(cx, cf, cs, bx, bf, bs):
            bx = cx
    return bx if vi == vi else vi


@numba.njit(inline="always")
def _convex_at_t(vi, ti, slope, lo, hi):
    """Convex psi, per-element t: a = #{k in 1..n-1 : lo_k + t s_k < v} (nondecreasing in k)."""
    n = slope.size
    a = 0
    if n - 1 <= ARRAY_T_LINEAR_MAX:
        for k in range(1, n):
            a += 1 if lo[k] + ti * slope[k] < vi else 0
    else:  # branch-free bisection over k = 1..n-1 (a fixed number of halvings)
        count = n - 1
        while count > 1:
            half = count >> 1
            k = a + half
            a = k if lo[k] + ti * slope[k] < vi else a
            count -= half
        a += 1 if lo[a + 1] + ti * slope[a + 1] < vi else 0
    return _clipped_shift(vi, ti * slope[a], lo[a], hi[a])


@numba.njit(inline="always")
def _nonconvex_at_t(vi, ti, slope, lo, hi, ax, av, ex, ev):
    """Any psi, per-element t: the best of all pieces (O(m))."""
    if vi != vi:
        return vi
    ref = av[0]  # the value level of the piece holding v (shared by all candidates)
    for k in range(slope.size):
        if lo[k] <= vi <= hi[k]:
            ref = av[k]
            break
    bx, bf, bs = _objective(vi, ti * slope[0], lo[0], hi[0], ax[0], av[0], ex[0], ev[0], ti, ref)
    for k in range(1, slope.size):
        cx, cf, cs = _objective(vi, ti * slope[k], lo[k], hi[k], ax[k], av[k], ex[k], ev[k], ti, ref)
        if _better(cx, cf, cs, bx, bf, bs):
            bx, bf, bs = cx, cf, cs
    return bx


# One loop per (step, serial/parallel): numba neither unswitches a curvature flag out of the
# loop nor caches loops that take the step as a function argument.  The steps are spelled out
# in each loop body: wrapping _locate in a second inlined helper made the loop ~8x slower.
@numba.njit(cache=True, nogil=True)
def _convex_serial(v, out, rows, padded, start, cells, origin, inv_width, n_buckets, width):
    for i in range(v.size):
        vi = float(v[i])
        a = _locate(vi, padded, start, cells, origin, inv_width, n_buckets, width)
        out[i] = _clipped_shift(vi, rows[a, 0], rows[a, 1], rows[a, 2])


@numba.njit(cache=True, nogil=True, parallel=True)
def _convex_parallel(v, out, rows, padded, start, cells, origin, inv_width, n_buckets, width):
    for i in numba.prange(v.size):
        vi = float(v[i])
        a = _locate(vi, padded, start, cells, origin, inv_width, n_buckets, width)
        out[i] = _clipped_shift(vi, rows[a, 0], rows[a, 1], rows[a, 2])


@numba.njit(cache=True, nogil=True)
def _nonconvex_serial(v, out, t, shift, lo, hi, ax, av, ex, ev, padded, start, cells, origin, inv_width, n_buckets, width):
    for i in range(v.size):
        vi = float(v[i])
        a = _locate(vi, padded, start, cells, origin, inv_width, n_buckets, width)
        out[i] = _best_of_neighbours(vi, t, a, shift, lo, hi, ax, av, ex, ev)


@numba.njit(cache=True, nogil=True, parallel=True)
def _nonconvex_parallel(v, out, t, shift, lo, hi, ax, av, ex, ev, padded, start, cells, origin, inv_width, n_buckets, width):
    for i in numba.prange(v.size):
        vi = float(v[i])
        a = _locate(vi, padded, start, cells, origin, inv_width, n_buckets, width)
        out[i] = _best_of_neighbours(vi, t, a, shift, lo, hi, ax, av, ex, ev)


@numba.njit(cache=True, nogil=True)
def _convex_t_serial(v, t, out, slope, lo, hi):
    for i in range(v.size):
        out[i] = _convex_at_t(float(v[i]), float(t[i]), slope, lo, hi)


@numba.njit(cache=True, nogil=True, parallel=True)
def _convex_t_parallel(v, t, out, slope, lo, hi):
    for i in numba.prange(v.size):
        out[i] = _convex_at_t(float(v[i]), float(t[i]), slope, lo, hi)


@numba.njit(cache=True, nogil=True)
def _nonconvex_t_serial(v, t, out, slope, lo, hi, ax, av, ex, ev):
    for i in range(v.size):
        out[i] = _nonconvex_at_t(float(v[i]), float(t[i]), slope, lo, hi, ax, av, ex, ev)


@numba.njit(cache=True, nogil=True, parallel=True)
def _nonconvex_t_parallel(v, t, out, slope, lo, hi, ax, av, ex, ev):
    for i in numba.prange(v.size):
        out[i] = _nonconvex_at_t(float(v[i]), float(t[i]), slope, lo, hi, ax, av, ex, ev)


# ---------------------------------------------------------------------- NumPy entry points
def prox_numpy(v: np.ndarray, table, t: float) -> np.ndarray:
    """Scalar-t prox of a NumPy array through the compiled kernels."""
    flat = np.ascontiguousarray(v).reshape(-1)
    out = np.empty_like(flat)
    parallel = flat.size >= PARALLEL_MIN_SIZE
    s = table.search
    index = (s.padded, s.start, s.cells, s.origin, s.inv_width, s.n_buckets, s.width)
    if table.exact:
        kernel = _convex_parallel if parallel else _convex_serial
        kernel(flat, out, table.rows, *index)
    else:
        kernel = _nonconvex_parallel if parallel else _nonconvex_serial
        kernel(
            flat, out, float(t), table.shift, table.lo, table.hi, table.anchor_x, table.anchor_value, table.end_x,
            table.end_value, *index,
        )
    return out.reshape(v.shape)


def prox_numpy_array_t(v: np.ndarray, t: np.ndarray, p, convex: bool) -> np.ndarray:
    """Per-element-t prox of a NumPy array (t already broadcast to v's shape)."""
    flat = np.ascontiguousarray(v).reshape(-1)
    t_flat = np.ascontiguousarray(t, dtype=np.float64).reshape(-1)
    out = np.empty_like(flat)
    parallel = flat.size >= PARALLEL_MIN_SIZE
    if convex:
        kernel = _convex_t_parallel if parallel else _convex_t_serial
        kernel(flat, t_flat, out, p.slope, p.lo, p.hi)
    else:
        kernel = _nonconvex_t_parallel if parallel else _nonconvex_t_serial
        kernel(flat, t_flat, out, p.slope, p.lo, p.hi, p.anchor_x, p.anchor_value, p.end_x, p.end_value)
    return out.reshape(v.shape)


# ---------------------------------------------------------------------- CuPy
# NaN falls through to `out = v` (no early return inside CuPy's grid-stride loop).  Products
# use __dmul_rn so that NVRTC cannot contract them into FMAs: the result then matches the
# NumPy kernel bit for bit (shift = t*slope is computed on the host, as there).
_CUDA_SOURCE = r"""
double vi = (double)v;
if (vi != vi) {
    out = v;
} else {
    int a = 0, b = n_thr;
    while (a < b) { int mid = (a + b) >> 1; if (thr[mid] < vi) a = mid + 1; else b = mid; }
    double best_x = 0, best_f = 0, best_s = 0, ref = av[a];
    for (int j = 0; j < (exact ? 1 : 3); ++j) {  // piece a, then a - 1, then a + 1 (as on the CPU)
        int k = j == 0 ? a : (j == 1 ? a - 1 : a + 1);
        if (k < 0 || k >= n_pieces) continue;
        double x = vi - shift[k];
        x = x < lo[k] ? lo[k] : (x > hi[k] ? hi[k] : x);
        bool near_end = (x - ax[k]) > (ex[k] - x);  // psi from the nearer end of the piece, as on the CPU
        double level = __dmul_rn(t, (near_end ? ev[k] : av[k]) - ref);
        double sp = __dmul_rn(shift[k], x - (near_end ? ex[k] : ax[k]));
        double hs = __dmul_rn(__dmul_rn(0.5, x - vi), x - vi);
        double f = level + sp + hs, s = fabs(level) + fabs(sp) + hs;
        bool take = (j == 0);
        if (!take) {
            double tol = __dmul_rn(tie_tol, best_s + s);
            take = (f < best_f - tol) ||
                   (fabs(f - best_f) <= tol && (fabs(x) < fabs(best_x) || (fabs(x) == fabs(best_x) && x < best_x)));
        }
        if (take) { best_x = x; best_f = f; best_s = s; }
    }
    out = (T)best_x;
}
"""

_cuda_kernel = None


def prox_cupy(v, table, t: float):
    """Scalar-t prox of a CuPy array: one fused kernel (search, shift, clip, neighbour check)."""
    import cupy

    global _cuda_kernel
    if _cuda_kernel is None:
        _cuda_kernel = cupy.ElementwiseKernel(
            "T v, float64 t, raw float64 thr, int32 n_thr, raw float64 shift, raw float64 lo, raw float64 hi, "
            "raw float64 ax, raw float64 av, raw float64 ex, raw float64 ev, int32 n_pieces, bool exact, float64 tie_tol",
            "T out",
            _CUDA_SOURCE,
            "cvxpar_par_prox",
        )
    thr, shift, lo, hi, ax, av, ex, ev = (
        cupy.asarray(a)
        for a in (
            table.thresholds, table.shift, table.lo, table.hi, table.anchor_x, table.anchor_value, table.end_x,
            table.end_value,
        )
    )
    return _cuda_kernel(
        v, float(t), thr, np.int32(thr.size), shift, lo, hi, ax, av, ex, ev, np.int32(shift.size), bool(table.exact),
        TIE_ULPS * _EPS,
    )  # fmt: skip
