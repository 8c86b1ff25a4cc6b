"""Compiled prox kernels: numba for large NumPy arrays, one fused ElementwiseKernel for CuPy.

:mod:`cvxpar.prox` imports this module on first use (it imports numba, whose start-up and first kernel
load cost ~0.5 s once per process), for NumPy arrays of more than ``cvxpar.prox.NUMPY_MAX_SIZE``
elements, CuPy arrays and the kernels of other solvers.

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

import math
import threading
from dataclasses import dataclass

import numba
import numpy as np

from cvxpar.prox import TIE_ULPS  # a compile-time constant of the kernels: changing it needs a cleared numba cache

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
def _candidate(v, shift, slope, lo, hi, ax, av, ex, ev):
    """Minimizer x = clip(v - t s, I) of the prox objective over one piece, and psi(x) split as
    ``(level, slope_part)`` = (psi at the nearer end of the piece, s * (x - that end)): psi is
    never extrapolated across the piece (a rounding that could hide real differences)."""
    x = v - shift
    if x < lo:
        x = lo
    elif x > hi:
        x = hi
    if x - ax > ex - x:
        ax = ex
        av = ev
    return x, av, slope * (x - ax)


@numba.njit(inline="always")
def _mid_gap(cx, bx, v):
    """(cx + bx) / 2 - v, its sign exact and rounded once (see :func:`cvxpar.prox.mid_gap`)."""
    hc = 0.5 * cx
    hb = 0.5 * bx
    s = hc + hb
    z = s - hc
    e = (hc - (s - z)) + (hb - z)
    if e != e:  # an infinite candidate: no rounding error to carry
        e = 0.0
    return (s - v) + e


@numba.njit(inline="always")
def _better(t, v, cx, cl, cp, bx, bl, bp):
    """Candidate c beats the best b (see :mod:`cvxpar.prox`, "Comparing candidates"): the sign of
    D = (f(c) - f(b)) / w, f = t psi + (x - v)^2 / 2, w = max(1, t); ties (|D| within 64 ulps of
    its terms) go to the smaller |x|, then the smaller x."""
    w = t if t > 1.0 else 1.0
    tw = t / w
    dl = cl - bl
    quad = (cx - bx) * (_mid_gap(cx, bx, v) / w)
    d = tw * (dl + (cp - bp)) + quad
    if abs(d) == np.inf:  # a real difference beyond the float range: its sign decides
        return d < 0.0
    c = TIE_ULPS * _EPS
    tol = c * (tw * abs(dl)) + c * (tw * abs(cp)) + c * (tw * abs(bp)) + c * abs(quad)
    if d < -tol:
        return True
    if abs(d) <= tol:
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
def _best_of_neighbours(vi, t, a, shift, slope, lo, hi, ax, av, ex, ev):
    """Any psi, scalar t: the best of envelope piece a and its two neighbours."""
    bx, bl, bp = _candidate(vi, shift[a], slope[a], lo[a], hi[a], ax[a], av[a], ex[a], ev[a])
    if a > 0:
        k = a - 1
        cx, cl, cp = _candidate(vi, shift[k], slope[k], lo[k], hi[k], ax[k], av[k], ex[k], ev[k])
        if _better(t, vi, cx, cl, cp, bx, bl, bp):
            bx, bl, bp = cx, cl, cp
    if a + 1 < shift.size:
        k = a + 1
        cx, cl, cp = _candidate(vi, shift[k], slope[k], lo[k], hi[k], ax[k], av[k], ex[k], ev[k])
        if _better(t, vi, cx, cl, cp, bx, bl, bp):
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
    bx, bl, bp = _candidate(vi, ti * slope[0], slope[0], lo[0], hi[0], ax[0], av[0], ex[0], ev[0])
    for k in range(1, slope.size):
        cx, cl, cp = _candidate(vi, ti * slope[k], slope[k], lo[k], hi[k], ax[k], av[k], ex[k], ev[k])
        if _better(ti, vi, cx, cl, cp, bx, bl, bp):
            bx, bl, bp = cx, cl, cp
    return bx


@numba.njit(inline="always")
def scalar_prox(vi, ti, slope, lo, hi, ax, av, ex, ev, convex):
    """The exact prox of ti * psi at the scalar vi, callable from other numba kernels (coordinate descent).

    ``slope, lo, hi, ax, av, ex, ev`` are the piece arrays of :func:`cvxpar.prox.pieces`; ``convex`` selects
    the O(log m) convex search, else every piece is compared (exact for any psi)."""
    if convex:
        return _convex_at_t(vi, ti, slope, lo, hi)
    return _nonconvex_at_t(vi, ti, slope, lo, hi, ax, av, ex, ev)


# One loop per (step, serial/parallel): numba neither unswitches a curvature flag out of the
# loop nor caches loops that take the step as a function argument.  The steps are spelled out
# in each loop body (numba compiles a second inlined helper around _locate to a much slower loop).
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
def _nonconvex_serial(v, out, t, shift, slope, lo, hi, ax, av, ex, ev, padded, start, cells, origin, inv_width, n_buckets, width):
    for i in range(v.size):
        vi = float(v[i])
        a = _locate(vi, padded, start, cells, origin, inv_width, n_buckets, width)
        out[i] = _best_of_neighbours(vi, t, a, shift, slope, lo, hi, ax, av, ex, ev)


@numba.njit(cache=True, nogil=True, parallel=True)
def _nonconvex_parallel(v, out, t, shift, slope, lo, hi, ax, av, ex, ev, padded, start, cells, origin, inv_width, n_buckets, width):
    for i in numba.prange(v.size):
        vi = float(v[i])
        a = _locate(vi, padded, start, cells, origin, inv_width, n_buckets, width)
        out[i] = _best_of_neighbours(vi, t, a, shift, slope, lo, hi, ax, av, ex, ev)


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


# ---------------------------------------------------------------------- ssnal's ray search
#: NumPy's pairwise summation: a block of at most PAIRWISE_BLOCK elements is summed with 8 accumulators.
PAIRWISE_BLOCK = 128


@numba.njit(inline="always")
def _block_sum(a, lo, n):
    """NumPy's pairwise summation of one block a[lo:lo + n], n <= PAIRWISE_BLOCK."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True, nogil=True)
def pairwise_sum(a, lo, n):
    """sum(a[lo:lo + n]) in exactly the order of NumPy's pairwise summation (``np.sum`` of a contiguous float64
    array: eight interleaved accumulators within a block of at most PAIRWISE_BLOCK, above it the sum of the two
    halves, the first rounded down to a multiple of 8), so that a fused kernel's sums are bit-identical to
    ``np.sum`` of the same products.  The recursion runs on an explicit stack (depth log2(n / PAIRWISE_BLOCK))."""
    if n <= PAIRWISE_BLOCK:
        return _block_sum(a, lo, n)
    los = np.empty(64, dtype=np.int64)
    ns = np.empty(64, dtype=np.int64)
    phase = np.zeros(64, dtype=np.int64)
    left = np.empty(64)
    los[0], ns[0], top, ret = lo, n, 0, 0.0
    while top >= 0:
        m = ns[top]
        if m <= PAIRWISE_BLOCK:
            ret = _block_sum(a, los[top], m)
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if phase[top] == 0:  # first the left half
            phase[top] = 1
            top += 1
            los[top], ns[top], phase[top] = los[top - 1], half, 0
        elif phase[top] == 1:  # then the right half
            left[top], phase[top] = ret, 2
            top += 1
            los[top], ns[top], phase[top] = los[top - 1] + half, m - half, 0
        else:
            ret = left[top] + ret
            top -= 1
    return ret


@numba.njit(cache=True, nogil=True)
def ray_prox(x, atu, atdu, alpha, sigma, out, work, rows, lower, upper, bounded, padded, start, cells, origin,
             inv_width, n_buckets, width):
    """One evaluation of ssnal's ray search in one pass: out = clip(prox(x - sigma (atu + alpha atdu)), lower, upper)
    for a convex psi (the scalar-t table's ``rows``), and (sum_i atdu_i out_i, sum_i |atdu_i out_i|), each
    summed as ``np.sum`` sums the array of products (``work`` holds them)."""
    for i in range(x.size):
        out[i] = x[i] - sigma * (atu[i] + alpha * atdu[i])
    # the prox in place by the compiled serial kernel, called rather than inlined: numba compiles the locator's
    # loop inside a larger function to a much slower loop
    _convex_serial(out, out, rows, padded, start, cells, origin, inv_width, n_buckets, width)
    if bounded:  # np.clip: the max with the lower bound, then the min with the upper one (NaN passes)
        for i in range(x.size):
            zi = out[i]
            zi = zi if zi != zi or zi >= lower[i] else lower[i]
            out[i] = zi if zi != zi or zi <= upper[i] else upper[i]
    for i in range(x.size):
        work[i] = atdu[i] * out[i]
    dot = pairwise_sum(work, 0, x.size)
    for i in range(x.size):
        work[i] = abs(work[i])
    return dot, pairwise_sum(work, 0, x.size)


#: Up to this many breakpoints :func:`_count_at_most` counts them all, branch-free; more: bisection.
COUNT_SCAN_MAX = 32


@numba.njit(inline="always")
def _count_at_most(q, xi):
    """#{q_j <= xi} for sorted q (``np.searchsorted(q, xi, side="right")``; NaN counts past the end)."""
    m = q.size
    if xi != xi:
        return m
    if m <= COUNT_SCAN_MAX:
        k = 0
        for j in range(m):
            k += 1 if q[j] <= xi else 0
        return k
    lo, hi = 0, m
    while lo < hi:
        mid = (lo + hi) >> 1
        if q[mid] <= xi:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True)
def split_of(z, q, lower, upper, bounded, fixed, piece):
    """For each z_i: piece_i = #{q_j <= z_i} (``np.searchsorted(q, z, side="right")``, NaN past the end) and
    fixed_i = (z_i is one of the sorted breakpoints q, or equals its bound): :meth:`cvxpar.PAR.piece_index` and
    :meth:`cvxpar.PAR.on_breakpoint` in one pass."""
    for i in range(z.size):
        zi = z[i]
        k = _count_at_most(q, zi)
        piece[i] = k
        fixed[i] = k > 0 and q[k - 1] == zi
    if bounded:
        for i in range(z.size):
            fixed[i] = fixed[i] or z[i] == lower[i] or z[i] == upper[i]


@numba.njit(cache=True, nogil=True)
def psi_sum(x, q, values, slopes, work):
    """sum_i psi(x_i) for a float64 x, as ``np.sum(psi(x))`` computes it: per element the value at the breakpoint
    q_j at or left of x_i (the first one left of the domain) plus the slope of x_i's piece times x_i - q_j, the
    rise taken as 0 on a kink (``cvxpar.par._evaluate_numpy``), then NumPy's pairwise sum (``work`` holds the
    values)."""
    m = q.size
    for i in range(x.size):
        xi = x[i]
        k = _count_at_most(q, xi)  # x_i's piece
        j = min(max(k - 1, 0), m - 1)
        dx = xi - q[j]
        work[i] = values[j] + (0.0 if dx == 0 else slopes[k] * dx)
    return pairwise_sum(work, 0, x.size)


@numba.njit(inline="always")
def _np_max(a, b):
    """np.maximum(a, b): NaN if either is NaN, else a when a >= b."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


@numba.njit(cache=True, nogil=True)
def stationarity(x, c, q, slopes, dom_lo, dom_hi, lam, lower, upper, dist):
    """dist_i = dist(c_i, lam dpsi(x_i) + N_[lower_i, upper_i](x_i)) for a scalar lam > 0, as
    :meth:`cvxpar.PAR.subdifferential_distance` computes it: [lo, hi] the Clarke subdifferential (the slopes either
    side of a kink; +inf, -inf outside the domain; NaN at NaN), times lam, with lo = -inf at a lower bound and
    hi = +inf at an upper one unless the set is empty, then max(lo - c_i, c_i - hi, 0) with NaN propagated."""
    m = q.size
    for i in range(x.size):
        xi = x[i]
        if xi != xi:
            lo = hi = xi
        elif xi < dom_lo or xi > dom_hi:
            lo, hi = math.inf, -math.inf
        else:
            k = _count_at_most(q, xi)
            j = min(max(k - 1, 0), m - 1)
            right = slopes[k]
            left = slopes[j] if xi == q[j] else right
            lo, hi = min(left, right), max(left, right)
        lo, hi = lam * lo, lam * hi
        if not lo > hi:
            if xi <= lower[i]:
                lo = -math.inf
            if xi >= upper[i]:
                hi = math.inf
        dist[i] = _np_max(_np_max(lo - c[i], c[i] - hi), 0.0)


@numba.njit(cache=True, nogil=True)
def grid_hits(x, grid, mids, atol):
    """#{i: |x_i - snap(x_i)| <= atol}, snap(x_i) the grid point of x_i's cell between the midpoints ``mids`` (the
    lower one on a midpoint), as :func:`cvxpar.metrics.quantization_rate` counts; NaN is no hit."""
    hits = 0
    for i in range(x.size):
        xi = x[i]
        if xi != xi:
            continue
        k = 0  # #{mids < x_i}
        if mids.size <= COUNT_SCAN_MAX:
            for j in range(mids.size):
                k += 1 if mids[j] < xi else 0
        else:
            lo, hi = 0, mids.size
            while lo < hi:
                mid = (lo + hi) >> 1
                if mids[mid] < xi:
                    lo = mid + 1
                else:
                    hi = mid
            k = lo
        hits += 1 if abs(xi - grid[k]) <= atol else 0
    return hits


# ---------------------------------------------------------------------- NumPy entry points
#: numba's threading layers that may be entered by several Python threads at once (numba docs,
#: "The Threading Layers"); ``workqueue`` is not, and aborts the process on concurrent use.
THREAD_SAFE_LAYERS = frozenset({"tbb", "omp"})
_PARALLEL_LOCK = threading.Lock()


def _run_parallel(kernel, *args) -> None:
    """Run a ``parallel=True`` kernel, one Python thread at a time unless the layer is thread-safe.

    The layer is known only after numba's first parallel launch (``numba.threading_layer()``
    raises before): until then, and under ``workqueue``, launches are serialized by a lock.
    """
    try:
        safe = numba.threading_layer() in THREAD_SAFE_LAYERS
    except ValueError:
        safe = False
    if safe:
        kernel(*args)
        return
    with _PARALLEL_LOCK:
        kernel(*args)


def prox_numpy(v: np.ndarray, table, t: float) -> np.ndarray:
    """Scalar-t prox of a NumPy array through the compiled kernels."""
    flat = np.ascontiguousarray(v).reshape(-1)
    out = np.empty_like(flat)
    s = table.search
    index = (s.padded, s.start, s.cells, s.origin, s.inv_width, s.n_buckets, s.width)
    if table.exact:
        _launch(_convex_serial, _convex_parallel, flat, out, table.rows, *index)
    else:
        _launch(
            _nonconvex_serial, _nonconvex_parallel, flat, out, float(t), table.shift, table.slope, table.lo, table.hi,
            table.anchor_x, table.anchor_value, table.end_x, table.end_value, *index,
        )  # fmt: skip
    return out.reshape(v.shape)


def prox_numpy_array_t(v: np.ndarray, t: np.ndarray, p, convex: bool) -> np.ndarray:
    """Per-element-t prox of a NumPy array (t already broadcast to v's shape)."""
    flat = np.ascontiguousarray(v).reshape(-1)
    t_flat = np.ascontiguousarray(t, dtype=np.float64).reshape(-1)
    out = np.empty_like(flat)
    if convex:
        _launch(_convex_t_serial, _convex_t_parallel, flat, t_flat, out, p.slope, p.lo, p.hi)
    else:
        _launch(
            _nonconvex_t_serial, _nonconvex_t_parallel, flat, t_flat, out, p.slope, p.lo, p.hi, p.anchor_x,
            p.anchor_value, p.end_x, p.end_value,
        )  # fmt: skip
    return out.reshape(v.shape)


def _launch(serial, parallel, v, *args) -> None:
    """The serial kernel below ``PARALLEL_MIN_SIZE`` elements, else the parallel one (guarded)."""
    if v.size < PARALLEL_MIN_SIZE:
        serial(v, *args)
    else:
        _run_parallel(parallel, v, *args)


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
    const double w = t > 1.0 ? t : 1.0, tw = t / w;
    double best_x = 0, best_l = 0, best_p = 0;
    for (int j = 0; j < (exact ? 1 : 3); ++j) {  // piece a, then a - 1, then a + 1 (as on the CPU)
        int k = j == 0 ? a : (j == 1 ? a - 1 : a + 1);
        if (k < 0 || k >= n_pieces) continue;
        double x = vi - shift[k];
        x = x < lo[k] ? lo[k] : (x > hi[k] ? hi[k] : x);
        bool near_end = (x - ax[k]) > (ex[k] - x);  // psi from the nearer end of the piece, as on the CPU
        double lvl = near_end ? ev[k] : av[k];
        double sp = __dmul_rn(slope[k], x - (near_end ? ex[k] : ax[k]));
        bool take = (j == 0);
        if (!take) {  // the sign of (f(x) - f(best_x)) / max(1, t), as _better on the CPU
            double dl = lvl - best_l;
            const double hc = __dmul_rn(0.5, x), hb = __dmul_rn(0.5, best_x);  // (x + best_x) / 2 - vi: cvxpar.prox.mid_gap
            const double s2 = hc + hb, z = s2 - hc;
            double e2 = (hc - (s2 - z)) + (hb - z);
            e2 = e2 != e2 ? 0.0 : e2;
            double quad = __dmul_rn(x - best_x, ((s2 - vi) + e2) / w);
            double d = __dmul_rn(tw, dl + (sp - best_p)) + quad;
            if (isinf(d)) {
                take = d < 0.0;
            } else {
                double tol = __dmul_rn(tie_tol, __dmul_rn(tw, fabs(dl))) + __dmul_rn(tie_tol, __dmul_rn(tw, fabs(sp)))
                             + __dmul_rn(tie_tol, __dmul_rn(tw, fabs(best_p))) + __dmul_rn(tie_tol, fabs(quad));
                take = (d < -tol) ||
                       (fabs(d) <= tol && (fabs(x) < fabs(best_x) || (fabs(x) == fabs(best_x) && x < best_x)));
            }
        }
        if (take) { best_x = x; best_l = lvl; best_p = sp; }
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
            "T v, float64 t, raw float64 thr, int32 n_thr, raw float64 shift, raw float64 slope, raw float64 lo, raw float64 hi, "
            "raw float64 ax, raw float64 av, raw float64 ex, raw float64 ev, int32 n_pieces, bool exact, float64 tie_tol",
            "T out",
            _CUDA_SOURCE,
            "cvxpar_par_prox",
        )
    thr, shift, slope, lo, hi, ax, av, ex, ev = (
        cupy.asarray(a)
        for a in (
            table.thresholds, table.shift, table.slope, table.lo, table.hi, table.anchor_x, table.anchor_value, table.end_x,
            table.end_value,
        )
    )
    return _cuda_kernel(
        v, float(t), thr, np.int32(thr.size), shift, slope, lo, hi, ax, av, ex, ev, np.int32(shift.size), bool(table.exact),
        TIE_ULPS * _EPS,
    )  # fmt: skip
