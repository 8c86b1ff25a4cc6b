"""Exact proximal map of t*psi for any continuous piecewise-affine psi.

Write F(x; v) = t*psi(x) + x^2/2 - v*x (the prox objective minus v^2/2) and split the real
line into the m+1 pieces I_k of psi (I_0 = (-inf, q_0], I_k = [q_{k-1}, q_k], I_m = [q_{m-1},
inf); a hard wall turns an outer piece into the single point q_0 or q_{m-1}).  On I_k, psi is
affine with slope s_k, so

    x_k(v) = clip(v - t*s_k, I_k)          minimizes F over I_k, and
    M_k(v) = F(x_k(v); v)                  is concave and C^1 in v.

The prox is x_{k*}(v) with k* = argmin_k M_k(v).  Because x_k(v) <= x_l(v) for k < l,
M_l - M_k is nonincreasing in v (its derivative is x_k - x_l): each pair crosses once, so
the winning piece is nondecreasing in v and the lower envelope min_k M_k is found once per t
by the convex-hull-trick stack, with closed-form crossings (M_k is a line, a parabola
-(v - t s_k)^2/2 + const, or a line on three consecutive v-intervals).  Each element then
costs one lookup among at most m thresholds: O(1) expected through the bucket index of
:mod:`cvxpar._prox_kernels` (large NumPy arrays), O(log m) binary search otherwise.

- Convex psi (slopes nondecreasing): the thresholds are explicit, v = q_{k-1} + t*s_k, and the
  map is the closed form of PARQ eq. (7) (Jin et al. 2025, arXiv 2503.15748): plateaus
  [q_k + t s_k, q_k + t s_{k+1}] -> q_k and unit-slope shifts v - t s_k in between.
- Quasiconvex and nonconvex psi: the envelope gives a global minimizer; near a threshold the
  two neighbouring envelope pieces are compared exactly, and ties (equal objective up to
  rounding) go to the smaller |x|, then the smaller x (a deterministic choice
  from the set-valued prox).
- Per-element t: the thresholds depend on t, so convex psi uses a per-element binary search
  (O(log m)) and the other curvatures enumerate all m+1 pieces (O(m) per element).
- t = 0: the projection onto the domain, clip(v, q_0, q_{m-1}) with walls, else v.

Comparing candidates.  Two candidates c, b (minimizers over their pieces) are compared by the
sign of

    D = (f(c) - f(b)) / w,   f(x) = t psi(x) + (x - v)^2 / 2,   w = max(1, t),
    D = (t / w) [(l_c - l_b) + (p_c - p_b)] + (x_c - x_b) [((x_c + x_b) / 2 - v) / w],

where psi(x) = l + p splits psi into its value l at the nearer end of the piece and the slope
part p = s (x - that end).  The second line is the first, exactly: the squares factor as
(a^2 - b^2) / 2 = (a - b)(a + b) / 2.  Nothing in it is squared or multiplied by t > 1, so
it neither overflows for huge t (t (x - v)^2 and (t s)^2 leave the float range once t |s|
exceeds ~1e154) nor for huge |v|, and its rounding is proportional to its own terms: the
midpoint gap (x_c + x_b) / 2 - v is formed with its sign exact and one rounding (:func:`mid_gap`,
Knuth's TwoSum), so the quadratic term is accurate to a few ulps of itself even when x_c and x_b lie
almost symmetrically about v.  Ties are |D| <= 64 ulps of (t/w)(|l_c - l_b| + |p_c| + |p_b|) +
|quadratic term|: two breakpoints with equal psi values (l_c = l_b, p = 0) never tie unless they are
equally far from v, and the nearer wins.  For t >> |v|^2 the psi part decides and the quadratic part
breaks exact psi ties, the limit argmin psi nearest to v.  A D beyond the float range (only when the
true difference is) is decided by its sign; one below it (|D| under ~1e-308, e.g. t and |v| both
near 1e-300) is a tie.  The envelope's crossings are roots of the same D expanded about a nearby point, scaled by the
same 1/w (:func:`_gap`): equal psi values cancel exactly there too, for every t.

Backends: NumPy arrays go through the numba kernels of :mod:`cvxpar._prox_kernels`, imported on
first use: arrays of at most :data:`NUMPY_MAX_SIZE` elements take plain array-API calls until then,
so small problems never load numba; CuPy arrays go through one fused ``ElementwiseKernel``; any
other Array-API namespace (array_api_strict, torch) through plain array-API calls.  Every path takes the same
float64 steps in the same order, so all of them return the same bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from cvxpar import _backend
from cvxpar._validation import as_step

if TYPE_CHECKING:
    from cvxpar._prox_kernels import SearchIndex

#: Candidates whose prox objectives differ by less than this many ulps of their terms tie (every prox path).
TIE_ULPS = 64.0
#: Until numba is loaded, NumPy arrays of at most this many elements take the array-API path (a few vectorized
#: NumPy calls, 20-50 us for a convex psi against 10-20 us compiled): loading numba costs ~0.5 s once per
#: process, more than a small problem's whole solve.  Larger arrays, and every array once the compiled
#: kernels are imported, take the compiled kernels.
NUMPY_MAX_SIZE = 256
_FLOAT64 = np.dtype(np.float64)  # native byte order
_CACHE_SIZE = 64
_TIE_TOL = TIE_ULPS * float(np.finfo(np.float64).eps)  # a Python float: strict namespaces refuse NumPy scalars


@dataclass(frozen=True)
class Pieces:
    """All m+1 pieces of psi with finite effective slopes (walls become single points)."""

    slope: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    anchor_x: np.ndarray
    anchor_value: np.ndarray
    end_x: np.ndarray
    end_value: np.ndarray

    def take(self, idx) -> dict:
        """The pieces ``idx`` (all when None), as the keyword arguments of a :class:`Pieces`."""
        return {f.name: getattr(self, f.name) if idx is None else getattr(self, f.name)[idx] for f in fields(Pieces)}


@dataclass(frozen=True)
class ProxTable(Pieces):
    """The pieces that can win for one scalar t, left to right, and the thresholds between them.

    Element v goes to piece ``idx = #{thresholds < v}``; ``exact`` means no neighbour check is
    needed (convex psi); ``enumerate_all`` means the envelope could not be built in float64
    (t |s| near the float range) and every piece must be compared.  ``shift = t * slope`` (the unconstrained step on each piece),
    ``rows`` (shift, lo, hi side by side for the convex kernel) and ``search`` (the O(1)
    threshold locator of the NumPy kernels) are derived once per t.
    Arrays are float64.
    """

    thresholds: np.ndarray
    exact: bool
    t: float
    enumerate_all: bool = False
    shift: np.ndarray = field(init=False)
    rows: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        with np.errstate(over="ignore"):  # t |s| beyond the float range: an infinite shift clips to the piece's end
            shift = self.t * self.slope
        object.__setattr__(self, "shift", shift)
        object.__setattr__(self, "rows", np.ascontiguousarray(np.stack((shift, self.lo, self.hi), axis=1)))

    @cached_property
    def search(self) -> SearchIndex:
        """The bucket locator of the compiled kernels (built on first use)."""
        from cvxpar import _prox_kernels

        return _prox_kernels.search_index(self.thresholds)


def pieces(psi) -> Pieces:
    """The pieces I_k of psi: slope, interval, and two points (x, psi(x)) on it: the anchor (its left
    end; q_0 for the left outer piece) and the end (its right end; the anchor for the right outer
    piece).  Candidates evaluate psi from the nearer of the two, so that psi's level is not
    extrapolated across the piece (a rounding that could hide real objective differences).

    A convex psi's slopes are made nondecreasing (a slope computed from rounded values can fall an ulp
    below its left neighbour); then the thresholds lo_k + t s_k are nondecreasing in k for every t >= 0,
    as rounding is monotone, and a binary search, the bucket locator and a linear count agree."""
    q, vals, s = psi.breakpoints, psi.values, psi.slopes.copy()
    if psi.is_convex:  # slopes recomputed from values may dip by an ulp; nondecreasing, every search below is exact
        s = np.maximum.accumulate(s)
    lo = np.concatenate(([-np.inf], q))
    hi = np.concatenate((q, [np.inf]))
    anchor_x = np.concatenate(([q[0]], q))
    anchor_value = np.concatenate(([vals[0]], vals))
    end_x = np.concatenate((q, [q[-1]]))
    end_value = np.concatenate((vals, [vals[-1]]))
    if s[0] == -np.inf:
        lo[0] = q[0]
        s[0] = s[1] if np.isfinite(s[1]) else 0.0
    if s[-1] == np.inf:
        hi[-1] = q[-1]
        s[-1] = s[-2] if np.isfinite(s[-2]) else 0.0
    return Pieces(s, lo, hi, anchor_x, anchor_value, end_x, end_value)


def prox(psi, v, t=1.0):
    """argmin_x t*psi(x) + (x - v)^2 / 2, elementwise (see the module docstring).

    Real input only (complex raises ``TypeError``); float16 is computed through float32 and
    returned as float16, longdouble is rounded to float64 and returned as float64, big-endian
    arrays are read in native byte order (:func:`cvxpar._backend.prepare`).
    """
    if type(v) is np.ndarray and v.dtype == _FLOAT64 and v.ndim and isinstance(t, float) and 0.0 < t < math.inf and (
            _kernels_loaded()):  # the solvers' hot path: nothing to validate or convert, the compiled kernel as is
        table = prox_table(psi, float(t))
        if not table.enumerate_all:
            return _kernels().prox_numpy(v, table, float(t))
    if type(v) is np.ndarray and v.dtype == _FLOAT64 and v.ndim and type(t) is np.ndarray and t.dtype == _FLOAT64 and (
            t.shape == v.shape and _kernels_loaded() and float(t.min()) >= 0.0 and float(t.max()) < math.inf):
        # the diagonal-metric hot path (per-coordinate steps t = sigma w, ``cvxpar.solvers._metric``): t checked by
        # two reductions (NaN fails them), the pieces cached on psi, the kernel of _prox_array_t as is (same bits)
        return _kernels().prox_numpy_array_t(v, np.broadcast_to(t, v.shape), _cached_pieces(psi), psi.is_convex)
    t = as_step(t)
    xp, arr, scalar = _backend.prepare(v)
    if _backend.is_numpy_namespace(xp) and arr.dtype == np.float16:  # the compiled kernels take float32/64
        return _backend.finish(prox(psi, arr.astype(np.float32), t).astype(np.float16), scalar)
    # IEEE arithmetic throughout, as in the compiled kernels: inf - inf in a comparison that its tie rule
    # settles, overflow to inf that the clip to the piece handles; NumPy would warn on the array path
    with np.errstate(all="ignore"):
        if np.ndim(t) != 0:
            out = _prox_array_t(psi, xp, arr, t)
        elif t == 0.0:  # the projection onto the domain (exact; no objective to compare)
            lo, hi = psi.domain
            out = arr if lo == -math.inf and hi == math.inf else xp.clip(arr, lo, hi)
            out = xp.asarray(out, copy=True) if out is arr else out
        else:
            table = prox_table(psi, t)
            if table.enumerate_all:
                out = _prox_array_t(psi, xp, arr, t)
            elif _compiled(xp, arr):
                out = _kernels().prox_numpy(arr, table, t)
            elif _backend.is_cupy_array(arr):
                out = _kernels().prox_cupy(arr, table, t)
            else:
                out = _prox_generic(xp, arr, table, t)
    return _backend.finish(out, scalar)


def _compiled(xp, arr) -> bool:
    """Whether ``arr`` takes the compiled NumPy kernels: a NumPy array of more than NUMPY_MAX_SIZE elements, or
    any NumPy array once the kernels are imported (then they cost no start-up)."""
    return _backend.is_numpy_namespace(xp) and (arr.size > NUMPY_MAX_SIZE or _kernels_loaded())


def _kernels_loaded() -> bool:
    return _backend.compiled_kernels() is not None


def _kernels():
    """The compiled kernels' module, imported on first use (it imports numba)."""
    from cvxpar import _prox_kernels

    return _prox_kernels


def _cached_pieces(psi) -> Pieces:
    """:func:`pieces` of psi, cached with its prox tables (under a key no step t can take)."""
    cache = psi._prox_cache
    found = cache.get("pieces")
    if found is None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        found = cache["pieces"] = pieces(psi)
    return found


def prox_table(psi, t: float) -> ProxTable:
    """The lower envelope of the M_k for this t (cached on psi, small LRU)."""
    cache = psi._prox_cache
    table = cache.get(t)
    if table is None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        table = _build_table(psi, t)
        cache[t] = table
    return table


class _PieceRows(NamedTuple):
    """The fields of :class:`Pieces` as lists of Python floats, for the scalar work of building the envelope."""

    slope: list[float]
    lo: list[float]
    hi: list[float]
    anchor_x: list[float]
    anchor_value: list[float]
    end_x: list[float]
    end_value: list[float]


def _build_table(psi, t: float) -> ProxTable:
    p = pieces(psi)
    if psi.is_convex:
        with np.errstate(over="ignore"):
            thresholds = p.lo[1:] + t * p.slope[1:]
        return ProxTable(**p.take(None), thresholds=thresholds, exact=True, t=t)
    stack: list[int] = [0]
    crossings: list[float] = []
    rows = _PieceRows(*(getattr(p, f.name).tolist() for f in fields(Pieces)))  # Python floats: ~3x faster scalars
    with np.errstate(over="ignore", invalid="ignore"):  # t |s| near the float range: see the NaN test below
        for k in range(1, p.slope.size):
            while True:
                c = _crossing(rows, stack[-1], k, t)
                if crossings and c <= crossings[-1]:
                    stack.pop()
                    crossings.pop()
                else:
                    break
            stack.append(k)
            crossings.append(c)
    if any(math.isnan(c) for c in crossings):  # the envelope left the float range: compare every piece
        return ProxTable(**p.take(None), thresholds=np.zeros(0), exact=False, t=t, enumerate_all=True)
    idx = np.array(stack)
    thresholds = np.maximum.accumulate(np.array(crossings, dtype=np.float64)) if crossings else np.zeros(0)
    return ProxTable(**p.take(idx), thresholds=thresholds, exact=False, t=t)


def _piece_candidate(p: _PieceRows, k: int, t: float, u: float) -> tuple[float, float, float, float]:
    """``(x, level, part, inner)`` at u: the minimizer x = clip(u - t s_k, I_k) over piece k, psi(x) = level +
    part split as in the candidates' comparison (psi's value at the nearer end of the piece plus the slope
    part), and inner = 1.0 when u - t s_k lies strictly inside I_k (x moves with u), else 0.0."""
    s = p.slope[k]
    raw = u - t * s
    x = min(max(raw, p.lo[k]), p.hi[k])
    inner = 1.0 if x == raw and p.lo[k] < x < p.hi[k] else 0.0
    if (x - p.anchor_x[k]) > (p.end_x[k] - x):
        return x, p.end_value[k], s * (x - p.end_x[k]), inner
    return x, p.anchor_value[k], s * (x - p.anchor_x[k]), inner


def _gap(p: _PieceRows, j: int, k: int, t: float, u: float) -> tuple[float, float, float]:
    """(c, b, a) / max(1, t) with (M_k - M_j)(u + d) = a d^2 + b d + c for small d: the local expansion at u.

    c = f_k(x_k) - f_j(x_j) is the candidates' comparison D of the module docstring at v = u (equal psi values
    cancel exactly, the midpoint gap is exact in sign); b = x_j - x_k, as d/du min_x f(x; u) = u - x(u) (the
    envelope theorem); a = (inner_j - inner_k) / 2, as x_k moves with u exactly when it is inner.  Expanded
    about a point near the crossing, nothing in it cancels: in powers of u itself the terms grow like u^2 / w
    (u ~ t |s| on the regimes' boundaries) and their rounding hid the O(1) differences that decide."""
    w = max(t, 1.0)
    xk, lk, pk, ik = _piece_candidate(p, k, t, u)
    xj, lj, pj, ij = _piece_candidate(p, j, t, u)
    c = (t / w) * ((lk - lj) + (pk - pj)) + (xk - xj) * (mid_gap(xk, xj, u) / w)
    return c, (xj - xk) / w, 0.5 * (ij - ik) / w


#: At most this many expansions per crossing.  The expansion is exact on a regime, so re-expanding about the
#: last root only removes the rounding of u + d for a far expansion point u, an error of ~eps |u|: each step
#: shrinks the distance to the root by ~1e-16 or more, from the float range's end in fewer than 40 steps.
_CROSSING_REFINEMENTS = 64


def _crossing(p: _PieceRows, j: int, k: int, t: float) -> float:
    """A point where M_k - M_j (nonincreasing, j < k) changes sign: piece k wins beyond it.

    The knots u = lo + t s, hi + t s of both pieces bound the intervals on which both regimes are fixed and
    M_k - M_j is one quadratic.  Its sign is read at a point inside each interval (at a knot itself the
    regimes are ambiguous: knots a few units apart round to one float once t |s| >> 1 / eps); the change lies
    between the last positive and the first nonpositive of these probes, on one side of the knot between
    them, where the local expansion (:func:`_gap`) about the probe gives the root."""
    knots = sorted(
        {
            float(x)
            for x in (p.lo[j] + t * p.slope[j], p.hi[j] + t * p.slope[j], p.lo[k] + t * p.slope[k], p.hi[k] + t * p.slope[k])
            if math.isfinite(x)
        }
    )
    if knots:  # half a step beyond the outer knots (no overflow near the float range's end), midpoints between
        probes = [knots[0] - max(1.0, 0.5 * abs(knots[0]))]
        probes += [0.5 * a + 0.5 * b for a, b in zip(knots[:-1], knots[1:], strict=True)]
        probes.append(knots[-1] + max(1.0, 0.5 * abs(knots[-1])))
    else:
        probes = [0.0]
    gaps = [_gap(p, j, k, t, u) for u in probes]
    i = next((i for i, g in enumerate(gaps) if g[0] <= 0), None)
    if i is None:  # positive at every probe: the change lies beyond the last one
        return _refine(p, j, k, t, probes[-1], probes[-1], math.inf)
    if i == 0:
        return _refine(p, j, k, t, probes[0], -math.inf, probes[0])
    knot = knots[i - 1]
    if _polynomial(gaps[i], knot - probes[i]) > 0:  # still positive at the knot: the root is on probe i's side
        return _refine(p, j, k, t, probes[i], knot, probes[i])
    return _refine(p, j, k, t, probes[i - 1], probes[i - 1], knot)


def _polynomial(gap: tuple[float, float, float], d: float) -> float:
    c, b, a = gap
    return (a * d + b) * d + c


def _refine(p: _PieceRows, j: int, k: int, t: float, u: float, left: float, right: float) -> float:
    """The sign change of M_k - M_j on [left, right] (positive left of it, nonpositive right of it): the root of the
    expansion about u, re-expanded about each root.  Each expansion point moves the end of the bracket on its side
    of the change, so a step that lands in the next regime (where the expansion differs, e.g. at the rounded end
    of a piece) stays inside what is known; a point where the difference vanishes is the answer."""
    for _ in range(_CROSSING_REFINEMENTS):
        c, b, a = _gap(p, j, k, t, u)
        if c == 0.0 or math.isnan(c):
            return u
        if c > 0.0:
            left = max(left, u)
        else:
            right = min(right, u)
        root = min(max(u + _root_in(a, b, c, left - u, right - u), left), right)
        if root == u or not left < root < right:
            return root
        u = root
    return u


def _root_in(a: float, b: float, c: float, left: float, right: float) -> float:
    """The root of a w^2 + b w + c on [left, right] (the left end if it vanishes there)."""
    if a == 0.0:
        if b == 0.0:
            return left if math.isfinite(left) else right
        root = -c / b
    else:
        disc = max(b * b - 4.0 * a * c, 0.0)
        sq = math.sqrt(disc)
        qq = -0.5 * (b + math.copysign(sq, b))
        roots = [qq / a] + ([c / qq] if qq != 0.0 else [])
        mid = _midpoint(left, right)
        root = min(roots, key=lambda r: 0.0 if left <= r <= right else abs(r - mid))
    return min(max(root, left), right)


def _midpoint(left: float, right: float) -> float:
    if math.isfinite(left) and math.isfinite(right):
        return 0.5 * (left + right)
    return left if math.isfinite(left) else right


# ---------------------------------------------------------------------- Array-API paths
def _constants(xp, like, *arrays):
    return [_backend.asarray_like(xp, a, like) for a in arrays]


def _clip(xp, x, lo, hi):
    """x clipped to [lo, hi] as the compiled kernels clip (x < lo -> lo, then x > hi -> hi): NaN passes through
    and a zero keeps its sign (minimum / maximum may return either zero of a tie)."""
    x = xp.where(x < lo, lo, x)
    return xp.where(x > hi, hi, x)


def _candidate(xp, v, shift, slope, lo, hi, ax, av, ex, ev):
    """Minimizer x = clip(v - shift, I) of the prox objective over one piece and psi(x) split as
    ``(level, slope_part)``: psi at the nearer end of the piece and slope * (x - that end), as the
    kernels compute them."""
    x = _clip(xp, v - shift, lo, hi)
    near_end = (x - ax) > (ex - x)
    return x, xp.where(near_end, ev, av), slope * (x - xp.where(near_end, ex, ax))


def _pick(xp, best, cand, t, v):
    """Keep the better of two candidates (x, level, slope_part) by the sign of
    D = (f(cand) - f(best)) / max(1, t) (module docstring); ties go to the smaller |x|, then x."""
    bx, bl, bp = best
    cx, cl, cp = cand
    w = max(t, 1.0) if isinstance(t, float) else xp.clip(t, min=1.0)
    tw = t / w
    dl = cl - bl
    quad = (cx - bx) * (mid_gap(cx, bx, v, xp) / w)
    d = tw * (dl + (cp - bp)) + quad
    c = _TIE_TOL
    tol = c * (tw * xp.abs(dl)) + c * (tw * xp.abs(cp)) + c * (tw * xp.abs(bp)) + c * xp.abs(quad)
    finite = xp.abs(d) < math.inf
    tie = finite & (xp.abs(d) <= tol)
    smaller = (xp.abs(cx) < xp.abs(bx)) | ((xp.abs(cx) == xp.abs(bx)) & (cx < bx))
    better = xp.where(finite, d < -tol, d < 0.0) | (tie & smaller)
    return xp.where(better, cx, bx), xp.where(better, cl, bl), xp.where(better, cp, bp)


def mid_gap(cx, bx, v, xp=None):
    """(cx + bx) / 2 - v with its sign exact and one rounding: the halves' sum s and its rounding error e by
    Knuth's TwoSum (The Art of Computer Programming vol. 2, sec. 4.2.2, Theorem B), then (s - v) + e.  s - v is
    exact when s and v are within a factor 2 of each other (Sterbenz) and otherwise far larger than |e|, so
    only the last addition rounds.  Formed as (cx - v) / 2 + (bx - v) / 2, each subtraction rounds by an ulp of
    |c - v|, which can exceed the gap itself when c and b lie almost symmetrically about v: two breakpoints with
    equal psi values then tie by rounding though one is strictly nearer v.  An infinite candidate carries no
    rounding error (e is NaN there: set to 0).  Python floats when ``xp`` is None, else arrays of namespace xp."""
    hc = 0.5 * cx
    hb = 0.5 * bx
    s = hc + hb
    z = s - hc
    e = (hc - (s - z)) + (hb - z)
    if xp is None:
        e = 0.0 if math.isnan(e) else e
    else:
        e = xp.where(xp.isnan(e), xp.zeros_like(e), e)
    return (s - v) + e


def _prox_generic(xp, v, table: ProxTable, t: float):
    """Scalar-t prox through array-API calls: a binary search among the thresholds, the clipped shift
    on that piece and, for a nonconvex psi, the exact comparison with its two neighbours."""
    v64 = xp.astype(v, xp.float64)
    vf = xp.reshape(v64, (-1,))
    if table.thresholds.size:
        idx = xp.searchsorted(_constants(xp, v64, table.thresholds)[0], vf, side="left")
    else:
        idx = xp.zeros(vf.shape, dtype=xp.int64, device=_backend.device(vf))
    if table.exact:  # convex: the clipped shift on piece idx
        shift, lo, hi = (xp.take(a, idx) for a in _constants(xp, v64, table.shift, table.lo, table.hi))
        best = (_clip(xp, vf - shift, lo, hi),)
    else:
        arrays = _constants(xp, v64, table.shift, table.slope, table.lo, table.hi, table.anchor_x, table.anchor_value,
                            table.end_x, table.end_value)
        best = _candidate(xp, vf, *(xp.take(a, idx) for a in arrays))
        for step in (-1, 1):
            k = xp.clip(idx + step, 0, table.slope.size - 1)
            best = _pick(xp, best, _candidate(xp, vf, *(xp.take(a, k) for a in arrays)), t, vf)
    x = xp.where(xp.isnan(vf), vf, best[0])
    return xp.astype(xp.reshape(x, v.shape), v.dtype)


def _prox_array_t(psi, xp, v, t):
    """Per-element t: a search per element (convex) or all pieces (otherwise)."""
    if isinstance(t, (int, float, list, tuple, np.ndarray, np.generic)):
        complex_t = np.iscomplexobj(t)
    else:
        complex_t = _backend.array_namespace(t).isdtype(t.dtype, "complex floating")
    if complex_t:
        raise TypeError("t must be real; got a complex array. The prox of t*psi needs a real t >= 0.")
    if _backend.is_numpy_namespace(xp):
        t_arr = np.asarray(t, dtype=np.float64)
    else:
        t_arr = xp.asarray(t, dtype=xp.float64, device=_backend.device(v))
    if bool(xp.any(t_arr < 0)) or not bool(xp.all(xp.isfinite(t_arr))):
        raise ValueError("t must be finite and nonnegative everywhere; the prox of t*psi needs t >= 0.")
    try:
        t64 = xp.broadcast_to(t_arr, v.shape)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(
            f"t of shape {tuple(t_arr.shape)} does not broadcast to v's shape {tuple(v.shape)}; "
            "pass a scalar t or an array broadcastable to v."
        ) from exc
    p = pieces(psi)
    if _compiled(xp, v):
        return _kernels().prox_numpy_array_t(v, t64, p, psi.is_convex)
    vf = xp.reshape(xp.astype(v, xp.float64), (-1,))
    tf = xp.reshape(t64, (-1,))
    slope, lo, hi, ax, av, ex, ev = _constants(
        xp, vf, p.slope, p.lo, p.hi, p.anchor_x, p.anchor_value, p.end_x, p.end_value
    )
    n = p.slope.size
    if psi.is_convex:
        k = _searchsorted_rows(xp, vf, tf, lo, slope, n)
        s_k, lo_k, hi_k = (xp.take(a, k) for a in (slope, lo, hi))
        x = _clip(xp, vf - tf * s_k, lo_k, hi_k)
    else:
        best = None
        for k in range(n):
            cand = _candidate(xp, vf, tf * slope[k], slope[k], lo[k], hi[k], ax[k], av[k], ex[k], ev[k])
            best = cand if best is None else _pick(xp, best, cand, tf, vf)
        x = best[0]
    x = xp.where(xp.isnan(vf), vf, x)
    return xp.astype(xp.reshape(x, v.shape), v.dtype)


def _searchsorted_rows(xp, v, t, lo, slope, n):
    """#{k in 1..n-1 : lo_k + t*slope_k < v} for 1-D v, t, by a vectorized binary search."""
    a = xp.zeros(v.shape, dtype=xp.int64, device=_backend.device(v))
    b = xp.full(v.shape, n - 1, dtype=xp.int64, device=_backend.device(v))
    for _ in range(max(1, int(math.ceil(math.log2(n))) + 1)):
        open_ = a < b
        mid = (a + b) // 2
        k = xp.clip(mid + 1, 1, n - 1)
        below = xp.take(lo, k) + t * xp.take(slope, k) < v
        a = xp.where(open_ & below, mid + 1, a)
        b = xp.where(open_ & ~below, mid, b)
    return a
