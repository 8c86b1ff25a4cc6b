"""The PAR object: a continuous scalar piecewise-affine function psi.

A PAR is given by breakpoints q_0 < ... < q_{m-1}, values psi(q_j), and the outer slopes
s_0 (left of q_0) and s_m (right of q_{m-1}).  The inner slopes are the secants
s_j = (psi(q_j) - psi(q_{j-1})) / (q_j - q_{j-1}), j = 1..m-1.  An outer slope of -inf (left)
or +inf (right) means psi = +inf outside [q_0, q_{m-1}]: a hard box, as in PARQ
(Jin et al. 2025, eq. 6, a_m = +inf).

Curvature (Ma & Xiao 2025, Fig. 1):
- ``"convex"``: the slopes are nondecreasing (psi is a max of affine pieces);
- ``"quasiconvex"``: not convex, but no positive slope is followed by a negative one, so every
  sublevel set is an interval (psi is nonincreasing, then nondecreasing);
- ``"nonconvex"``: everything else (for example the sawtooth dist(x, Q)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from cvxpar import _backend
from cvxpar._validation import as_finite_vector, as_slope, check_strictly_increasing

#: Relative tolerance for "a slope does not decrease": secants of data that is affine in exact
#: arithmetic can differ by a few ulps, and that must not turn a convex PAR into a nonconvex one.
SLOPE_RTOL = 1e-12


class PAR:
    """A continuous piecewise-affine regularizer psi, with Psi(x) = sum_i psi(x_i).

    Parameters
    ----------
    breakpoints : sequence of float
        Strictly increasing kinks q_0 < ... < q_{m-1} (m >= 1), all finite.
    values : sequence of float
        psi(q_j), finite, same length as ``breakpoints``.
    left_slope, right_slope : float
        Slope of psi left of q_0 and right of q_{m-1}.  ``left_slope=-inf`` and
        ``right_slope=+inf`` mean psi = +inf outside the breakpoints (a hard box).

    Raises
    ------
    ValueError
        If the breakpoints are not strictly increasing or not finite, the values do not match
        them in number or are not finite, or an outer slope is infinite on the wrong side.

    See Also
    --------
    cvxpar.pars : ready-made families (l1, ridge, parq, mcp, sawtooth, staircase).

    Examples
    --------
    >>> import cvxpar
    >>> psi = cvxpar.PAR([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0], -2.0, 2.0)
    >>> psi.curvature
    'convex'
    >>> float(psi.prox(0.3, t=0.5))
    0.0
    """

    __slots__ = ("_q", "_values", "_slopes", "_curvature", "_prox_cache", "__weakref__")

    def __init__(self, breakpoints: npt.ArrayLike, values: npt.ArrayLike, left_slope: float, right_slope: float) -> None:
        q = as_finite_vector(breakpoints, "breakpoints")
        check_strictly_increasing(q, "breakpoints")
        vals = as_finite_vector(values, "values")
        if vals.size != q.size:
            raise ValueError(
                f"values has {vals.size} entries but breakpoints has {q.size}; give one value psi(q_j) per breakpoint."
            )
        left = as_slope(left_slope, "left_slope", forbidden_inf=np.inf)
        right = as_slope(right_slope, "right_slope", forbidden_inf=-np.inf)
        slopes = np.concatenate(([left], np.diff(vals) / np.diff(q), [right]))
        slopes.setflags(write=False)
        self._q = q
        self._values = vals
        self._slopes = slopes
        self._curvature = _classify(slopes)
        self._prox_cache: dict[Any, Any] = {}

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_slopes(cls, breakpoints: npt.ArrayLike, slopes: npt.ArrayLike, offset: float = 0.0) -> PAR:
        """Build psi from its m+1 slopes, with psi = ``offset`` at the breakpoint nearest 0.

        Parameters
        ----------
        breakpoints : sequence of float
            Strictly increasing kinks q_0 < ... < q_{m-1}.
        slopes : sequence of float
            m+1 slopes: ``slopes[0]`` left of q_0, ``slopes[j]`` on [q_{j-1}, q_j], ``slopes[m]``
            right of q_{m-1} (+/-inf allowed only at the two ends: a hard wall).
        offset : float, default 0.0
            psi at the breakpoint nearest 0.

        Returns
        -------
        PAR

        Raises
        ------
        ValueError
            If ``slopes`` does not have ``len(breakpoints) + 1`` entries, an inner slope is not
            finite, or ``offset`` is not finite.

        Examples
        --------
        >>> from cvxpar import PAR
        >>> psi = PAR.from_slopes([-1.0, 0.0, 1.0], [-2.0, -1.0, 1.0, 2.0])
        >>> psi.values
        array([1., 0., 1.])
        """
        q = as_finite_vector(breakpoints, "breakpoints")
        check_strictly_increasing(q, "breakpoints")
        s = np.asarray(slopes, dtype=np.float64)
        if s.ndim != 1 or s.size != q.size + 1:
            raise ValueError(
                f"slopes must have len(breakpoints) + 1 = {q.size + 1} entries (left outer, the {q.size - 1} inner, "
                f"right outer); got shape {s.shape}."
            )
        inner = as_finite_vector(s[1:-1], "inner slopes", min_length=0)
        if not np.isfinite(offset):
            raise ValueError(f"offset must be finite; got {offset}.")
        # accumulate outward from the anchor, so that rounding grows with the distance from it
        steps = inner * np.diff(q)
        anchor = int(np.argmin(np.abs(q)))
        values = np.full(q.size, float(offset))
        values[anchor + 1 :] += np.cumsum(steps[anchor:])
        values[:anchor] -= np.cumsum(steps[:anchor][::-1])[::-1]
        return cls(q, values, s[0], s[-1])

    @classmethod
    def from_pieces(cls, slopes: npt.ArrayLike, intercepts: npt.ArrayLike) -> PAR:
        """Build the convex psi(x) = max_k (slopes[k] * x + intercepts[k]).

        The pieces are listed left to right, so ``slopes`` must be nondecreasing; pieces that
        never attain the max are dropped, and for equal slopes the larger intercept is kept.
        The breakpoints are the crossing points of consecutive active pieces (PARQ's form,
        Jin et al. 2025, eq. 6).

        Parameters
        ----------
        slopes : sequence of float
            Nondecreasing, finite slopes a_k.
        intercepts : sequence of float
            Finite intercepts b_k, one per slope.

        Returns
        -------
        PAR
            A convex PAR.

        Raises
        ------
        ValueError
            If the slopes decrease somewhere (the max of affine pieces is convex: build a
            nonconvex psi with the constructor or :meth:`from_slopes`), or the lengths differ.

        Examples
        --------
        >>> from cvxpar import PAR
        >>> psi = PAR.from_pieces([-1.0, 0.0, 1.0], [0.0, 0.5, 0.0])   # max(-x, 1/2, x)
        >>> psi.breakpoints
        array([-0.5,  0.5])
        """
        a = as_finite_vector(slopes, "slopes")
        b = as_finite_vector(intercepts, "intercepts")
        if a.size != b.size:
            raise ValueError(f"slopes has {a.size} entries but intercepts has {b.size}; give one intercept per piece.")
        drops = np.flatnonzero(np.diff(a) < 0)
        if drops.size:
            i = int(drops[0])
            raise ValueError(
                f"slopes[{i}] = {a[i]} > slopes[{i + 1}] = {a[i + 1]}: from_pieces builds the convex max of affine "
                "pieces listed left to right, so the slopes must be nondecreasing. For a nonconvex psi use "
                "PAR(breakpoints, values, left_slope, right_slope) or PAR.from_slopes."
            )
        keep_a, keep_b = _upper_envelope(a, b)
        if keep_a.size == 1:
            return cls([0.0], [keep_b[0]], keep_a[0], keep_a[0])
        q = _crossings(keep_a, keep_b)
        while not np.isfinite(q).all():
            # two pieces so nearly parallel that they cross beyond the floats: on every finite x one
            # of them is the max, so the other (left of a -inf crossing, right of a +inf one) goes
            k = int(np.flatnonzero(~np.isfinite(q))[0])
            drop = k if q[k] < 0 else k + 1
            keep_a, keep_b = np.delete(keep_a, drop), np.delete(keep_b, drop)
            if keep_a.size == 1:
                return cls([0.0], [keep_b[0]], keep_a[0], keep_a[0])
            q = _crossings(keep_a, keep_b)
        while q.size > 1 and not np.all(np.diff(q) > 0):
            # three pieces through one point up to rounding (decimal data): the middle one is the max on an
            # empty interval, which the hull test's float products can keep; it goes
            keep_a, keep_b = np.delete(keep_a, int(np.flatnonzero(np.diff(q) <= 0)[0]) + 1), np.delete(
                keep_b, int(np.flatnonzero(np.diff(q) <= 0)[0]) + 1)
            q = _crossings(keep_a, keep_b)
        return cls(q, keep_a[1:] * q + keep_b[1:], keep_a[0], keep_a[-1])

    @classmethod
    def interpolate(
        cls,
        fn: Callable[[np.ndarray], Any],
        breakpoints: npt.ArrayLike,
        left_slope: float | None = None,
        right_slope: float | None = None,
    ) -> PAR:
        """The piecewise-affine interpolant of ``fn`` with psi(q_j) = fn(q_j).

        Parameters
        ----------
        fn : callable
            Elementwise function of a float64 array.
        breakpoints : sequence of float
            Strictly increasing points where psi = fn.
        left_slope, right_slope : float, optional
            Outer slopes; by default the end secants (continuing the first and last pieces).

        Returns
        -------
        PAR

        Raises
        ------
        TypeError
            If ``fn`` is not callable.
        ValueError
            If ``fn`` is not elementwise or returns non-numbers, or a single breakpoint is given without both
            outer slopes.

        Examples
        --------
        >>> import numpy as np
        >>> from cvxpar import PAR
        >>> psi = PAR.interpolate(np.abs, [-1.0, 0.0, 1.0])
        >>> psi.slopes
        array([-1., -1.,  1.,  1.])
        """
        q = as_finite_vector(breakpoints, "breakpoints")
        check_strictly_increasing(q, "breakpoints")
        if not callable(fn):
            raise TypeError(f"fn must be a function evaluated elementwise on the breakpoints (e.g. np.abs or "
                            f"lambda q: q**2 / 2); got {type(fn).__name__}.")
        out = fn(q)
        try:
            vals = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fn(breakpoints) must return real numbers, one per breakpoint; got {out!r}.") from exc
        if vals.shape != q.shape:
            raise ValueError(f"fn(breakpoints) returned shape {vals.shape}; it must be elementwise (shape {q.shape}).")
        if (left_slope is None or right_slope is None) and q.size < 2:
            raise ValueError("with a single breakpoint there is no end secant: pass left_slope and right_slope.")
        if left_slope is None:
            left_slope = (vals[1] - vals[0]) / (q[1] - q[0])
        if right_slope is None:
            right_slope = (vals[-1] - vals[-2]) / (q[-1] - q[-2])
        return cls(q, vals, left_slope, right_slope)

    # ------------------------------------------------------------------ data
    @property
    def breakpoints(self) -> np.ndarray:
        """The kinks q_0 < ... < q_{m-1} (read-only float64 array)."""
        return self._q

    @property
    def values(self) -> np.ndarray:
        """psi(q_j) (read-only float64 array)."""
        return self._values

    @property
    def slopes(self) -> np.ndarray:
        """The m+1 slopes, left to right: s_0 (left outer), the secants, s_m (right outer)."""
        return self._slopes

    @property
    def left_slope(self) -> float:
        """The slope of psi left of the first breakpoint (-inf: a hard wall there)."""
        return float(self._slopes[0])

    @property
    def right_slope(self) -> float:
        """The slope of psi right of the last breakpoint (+inf: a hard wall there)."""
        return float(self._slopes[-1])

    @property
    def curvature(self) -> str:
        """``"convex"``, ``"quasiconvex"`` or ``"nonconvex"`` (see the module docstring)."""
        return self._curvature

    @property
    def is_convex(self) -> bool:
        """True when ``curvature == "convex"``."""
        return self._curvature == "convex"

    @property
    def domain(self) -> tuple[float, float]:
        """The interval where psi is finite: [q_0, q_{m-1}] sides with hard walls, else unbounded."""
        lo = float(self._q[0]) if self._slopes[0] == -np.inf else -np.inf
        hi = float(self._q[-1]) if self._slopes[-1] == np.inf else np.inf
        return lo, hi

    @property
    def grid(self) -> np.ndarray:
        """The quantization grid Q: the breakpoints that are convex kinks (the slope increases there).

        These are the points the prox lands on for a whole interval of inputs (plateaus of width
        t*(s_{j+1} - s_j)); a concave kink (a sawtooth midpoint) is never such a point, so it is not
        part of Q.  A hard wall counts as a convex kink.  For a convex PAR with strictly increasing
        slopes Q is every breakpoint; a PAR without any convex kink falls back to its breakpoints.
        """
        s = self._slopes
        scale = 1.0 + float(np.max(np.abs(s[np.isfinite(s)]), initial=0.0))
        rises = s[1:] > s[:-1] + SLOPE_RTOL * scale
        return self._q[rises] if rises.any() else self._q

    @property
    def n_breakpoints(self) -> int:
        """m, the number of breakpoints."""
        return int(self._q.size)

    def max_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """Slopes a_k and intercepts b_k with psi(x) = max_k (a_k x + b_k) on the domain (convex psi only).

        Pieces with an infinite slope (the hard walls) are left out; the caller enforces
        the domain.  Source: PARQ eq. (6), here for any convex PAR.

        Returns
        -------
        a, b : numpy.ndarray
            Slopes and intercepts of the affine pieces, left to right.

        Raises
        ------
        ValueError
            If psi is not convex.

        Examples
        --------
        >>> import cvxpar
        >>> cvxpar.PAR([0.0], [0.0], -1.0, 1.0).max_affine()
        (array([-1.,  1.]), array([0., 0.]))
        """
        if not self.is_convex:
            raise ValueError(f"max_affine needs a convex PAR; this one is {self._curvature}.")
        finite = np.isfinite(self._slopes)
        a = self._slopes[finite]
        knots = np.concatenate(([self._q[0]], self._q))[finite]
        knot_values = np.concatenate(([self._values[0]], self._values))[finite]
        if a.size == 0:  # a single breakpoint boxed on both sides: psi is constant on {q_0}
            return np.zeros(1), self._values[:1].copy()
        return a.copy(), knot_values - a * knots

    # ------------------------------------------------------------------ evaluation
    def __call__(self, x: npt.ArrayLike) -> Any:
        """psi(x) elementwise, same shape and array type as ``x``; +inf outside the domain, NaN stays NaN.

        Real input only: complex raises ``TypeError``; dtypes as in :meth:`prox`.

        Examples
        --------
        >>> import cvxpar
        >>> psi = cvxpar.pars.sawtooth([0.0, 1.0])
        >>> psi([0.0, 0.25, 0.5])
        array([0.  , 0.25, 0.5 ])
        """
        xp, arr, scalar = _backend.prepare(x)
        out = _evaluate(xp, arr, self)
        return _backend.finish(out, scalar)

    def subdifferential(self, x: npt.ArrayLike) -> tuple[Any, Any]:
        """Clarke subdifferential [lo, hi] of psi at each x, as two arrays.

        At a breakpoint q_j it is [min(s_j, s_{j+1}), max(s_j, s_{j+1})] (the convex hull of the
        adjacent slopes); inside a piece it is the single slope.  Outside the domain it is empty,
        returned as lo = +inf, hi = -inf so that any distance to it is +inf.  NaN gives NaN.
        Real input only: complex raises ``TypeError``; dtypes as in :meth:`prox`.

        Parameters
        ----------
        x : array_like
            Points (NumPy, CuPy or Array-API array, or a scalar).

        Returns
        -------
        lo, hi : array
            The ends of the interval, same shape and array type as ``x``.

        Raises
        ------
        TypeError
            Complex input.

        Examples
        --------
        >>> import cvxpar
        >>> psi = cvxpar.PAR([0.0], [0.0], -1.0, 1.0)      # |x|
        >>> psi.subdifferential([-2.0, 0.0, 2.0])
        (array([-1., -1.,  1.]), array([-1.,  1.,  1.]))
        """
        xp, arr, scalar = _backend.prepare(x)
        lo, hi = _subdifferential(xp, arr, self)
        lo = xp.where(xp.isnan(arr), arr, lo)
        hi = xp.where(xp.isnan(arr), arr, hi)
        return _backend.finish(lo, scalar), _backend.finish(hi, scalar)

    def prox(self, v, t=1.0):
        """Exact proximal map of t*psi, elementwise: argmin_x t*psi(x) + (x - v)^2 / 2.

        ``t`` is a nonnegative scalar or an array broadcastable to ``v``; ``t = 0`` projects onto
        the domain.  For a nonconvex psi the result is a global minimizer, ties broken toward the
        smaller |x|, then the smaller x.  NaN entries of ``v`` give NaN.  float16, float32 and float64
        keep their dtype (float16 is computed through float32); longdouble is rounded to float64 and
        returned as float64 (psi's data is float64); big-endian arrays are accepted; complex input
        raises ``TypeError``.  NumPy, CuPy and Array-API arrays keep their type and device.
        For a convex psi this is the closed form of PARQ (Jin et al. 2025, eq. 7): the interval
        [q_j + t s_j, q_j + t s_{j+1}] maps onto q_j and the rest shifts by -t s_j; the general
        algorithm is in :mod:`cvxpar.prox`.

        Parameters
        ----------
        v : array_like
            Input points.
        t : float or array_like, default 1.0
            Nonnegative step, a scalar or broadcastable to ``v``.

        Returns
        -------
        array
            Same shape, dtype and array type as ``v``.

        Raises
        ------
        ValueError
            If ``t`` is negative or not finite.
        TypeError
            If ``v`` or ``t`` is complex or not numeric.

        Examples
        --------
        >>> import numpy as np
        >>> import cvxpar
        >>> psi = cvxpar.PAR([0.0], [0.0], -1.0, 1.0)      # |x|: the prox is soft thresholding
        >>> psi.prox(np.array([-2.0, 0.3, 1.5]), t=0.5)
        array([-1.5,  0. ,  1. ])
        """
        from cvxpar.prox import prox

        return prox(self, v, t)

    def conjugate(self, u):
        """Convex conjugate psi*(u) = sup_x u x - psi(x), elementwise.

        For any PAR the sup is attained at a breakpoint when u lies in [min slope, max slope]
        (the slopes of the outer pieces), so psi*(u) = max_j (u q_j - psi(q_j)) there and +inf
        outside.  It is the conjugate of the convex envelope, used in Fenchel duality gaps.

        Parameters
        ----------
        u : array_like
            Dual points.

        Returns
        -------
        numpy.ndarray
            psi*(u), same shape as ``u`` (+inf outside [min slope, max slope]).

        Examples
        --------
        >>> import cvxpar
        >>> psi = cvxpar.PAR([0.0], [0.0], -1.0, 1.0)      # |x|: psi* is the indicator of [-1, 1]
        >>> psi.conjugate([0.5, 2.0])
        array([ 0., inf])
        """
        xp, arr, scalar = _backend.prepare(u)
        q = _backend.asarray_like(xp, self._q, arr)
        vals = _backend.asarray_like(xp, self._values, arr)
        best = xp.max(arr[..., None] * q - vals, axis=-1)
        outside = (arr < self._slopes[0]) | (arr > self._slopes[-1])
        best = xp.where(outside, xp.asarray(np.inf, dtype=best.dtype, device=_backend.device(arr)), best)
        return _backend.finish(best, scalar)

    # ------------------------------------------------------------------ what solvers, certificates and front doors ask
    def scaled_subdifferential(self, x, lam=1.0, lower=None, upper=None):
        """The interval lam * dpsi(x) + N_[lower, upper](x), elementwise, as two arrays (lo, hi).

        dpsi is the Clarke subdifferential (:meth:`subdifferential`).  A zero weight switches psi off
        inside its domain (0 * dpsi(x) = {0}) and keeps the empty set outside it (lo = +inf,
        hi = -inf).  N_[l, u] is the normal cone of the interval (Rockafellar & Wets 1998, Ex. 6.10):
        (-inf, 0] at x <= l, [0, +inf) at x >= u, {0} inside, so lo = -inf at a lower bound and
        hi = +inf at an upper one; outside psi's domain the sum stays empty (the empty set plus any
        cone is empty), whatever the bounds.  This is the set that -grad f(x) must meet for x to be a
        (Clarke) critical point of f + sum_i lam_i psi(x_i) over the box (Fermat's rule,
        Rockafellar & Wets 1998, Thm. 10.1).

        Parameters
        ----------
        x : array
            Points (any shape; NumPy, CuPy or an Array-API namespace).
        lam : float or array, default 1.0
            Nonnegative weights broadcasting against ``x`` (e.g. one per coordinate, or a (k,) row
            against (n, k) columns), in x's namespace.
        lower, upper : float, array or None
            Bounds broadcasting against ``x``; None for none.

        Returns
        -------
        lo, hi : array
            Same shape and array type as ``x``.

        Examples
        --------
        >>> import numpy as np, cvxpar
        >>> psi = cvxpar.PAR([0.0], [0.0], -1.0, 1.0)      # |x|
        >>> psi.scaled_subdifferential(np.array([0.0, 2.0, 0.0]), 0.5, lower=0.0)
        (array([-inf,  0.5, -inf]), array([0.5, 0.5, 0.5]))
        """
        xp = _backend.array_namespace(x)
        lo, hi = (xp.reshape(a, x.shape) for a in self.subdifferential(xp.reshape(x, (-1,))))
        lo, hi = _weighted(xp, lam, lo), _weighted(xp, lam, hi)
        empty = lo > hi  # outside psi's domain: adding a normal cone keeps the set empty
        if lower is not None:
            lo = xp.where((x <= lower) & ~empty, xp.full_like(lo, -np.inf), lo)
        if upper is not None:
            hi = xp.where((x >= upper) & ~empty, xp.full_like(hi, np.inf), hi)
        return lo, hi

    def subdifferential_distance(self, x, c, lam=1.0, lower=None, upper=None):
        """dist(c_i, lam_i dpsi(x_i) + N_[l_i, u_i](x_i)) elementwise (:meth:`scaled_subdifferential`).

        With c = -grad f(x) this is the per-coordinate stationarity residual of
        f + sum_i lam_i psi(x_i) over the box: the subdifferential distance of skglm (Bertrand et al.
        2022, sec. 2), here for the Clarke subdifferential of a piecewise-affine psi.  It is 0 exactly
        where x_i is critical, +inf where x_i is outside psi's domain.

        Parameters
        ----------
        x, c : array
            Points and the vector to measure (same shape, same namespace).
        lam, lower, upper
            As in :meth:`scaled_subdifferential`.

        Returns
        -------
        array
            max(lo - c, c - hi, 0), same shape and array type as ``x``.

        Examples
        --------
        >>> import numpy as np, cvxpar
        >>> psi = cvxpar.PAR([0.0], [0.0], -1.0, 1.0)      # |x|
        >>> psi.subdifferential_distance(np.array([0.0, 1.0]), np.array([1.5, 0.2]), lam=1.0)
        array([0.5, 0.8])
        """
        xp = _backend.array_namespace(x)
        lo, hi = self.scaled_subdifferential(x, lam, lower, upper)
        return xp.maximum(xp.maximum(lo - c, c - hi), xp.zeros_like(c))

    def lam_max(self, c) -> float:
        """The smallest lam >= 0 with c_i in lam * dpsi(0) for every i; +inf when no lam has it.

        With c = -grad f(0) this is the smallest weight for which x = 0 is a critical point of
        f + lam * Psi (Fermat's rule; for a convex psi and f the smallest lam with 0 optimal, the
        ``lambda_max`` of the Lasso path, Friedman, Hastie & Tibshirani 2010, sec. 2.5).  Coordinate i
        allows the lam with lam * lo <= c_i <= lam * hi, [lo, hi] = dpsi(0): an interval of lam, and the
        answer is the left end of their intersection (+inf when 0 is outside psi's domain or the
        intervals do not meet, e.g. c_i != 0 where dpsi(0) = {0}).

        Parameters
        ----------
        c : array_like
            The vector -grad f(0) (any namespace; read on the host).

        Returns
        -------
        float

        Examples
        --------
        >>> import cvxpar
        >>> cvxpar.pars.l1().lam_max([1.0, -3.0])      # max |c_i| for psi = |x|
        3.0
        >>> cvxpar.pars.ridge(cvxpar.grids.uniform(1.0, 3)).lam_max([1.0])   # dpsi(0) = [-1/2, 1/2]
        2.0
        """
        cn = np.asarray(_backend.to_host(c), dtype=np.float64).reshape(-1)
        lo, hi = (float(v) for v in self.subdifferential(0.0))
        if not lo <= hi:  # 0 is outside the domain
            return math.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            # lam >= c / hi (c > 0, hi > 0), lam >= c / lo (c < 0, lo < 0); lam <= c / lo (c > 0, lo > 0), lam <= c / hi
            low = np.where(cn > 0, np.where(hi > 0, cn / hi, math.inf), np.where(cn < 0, np.where(lo < 0, cn / lo, math.inf), 0.0))
            high = np.where(cn > 0, np.where(lo > 0, cn / lo, math.inf),
                            np.where(cn < 0, np.where(hi < 0, cn / hi, math.inf), np.where((lo > 0) | (hi < 0), 0.0, math.inf)))
        a, b = float(np.max(low, initial=0.0)), float(np.min(high, initial=math.inf))
        return a if a <= b else math.inf

    def on_breakpoint(self, x, lower=None, upper=None):
        """True where x_i is a breakpoint of psi, or equals its bound ``lower_i`` / ``upper_i``.

        These are the coordinates an active-set method holds fixed: there dpsi (plus the normal cone)
        is an interval, elsewhere psi is affine near x_i and its gradient is the piece's slope.

        Parameters
        ----------
        x : array
            Points (NumPy, CuPy or an Array-API namespace).
        lower, upper : float, array or None
            Bounds broadcasting against ``x``; None for none.

        Returns
        -------
        array of bool
            Same shape and array type as ``x``.

        Examples
        --------
        >>> import numpy as np, cvxpar
        >>> cvxpar.pars.l1().on_breakpoint(np.array([0.0, 0.5, 1.0]), upper=1.0)
        array([ True, False,  True])
        """
        xp = _backend.array_namespace(x)
        q = _backend.asarray_like(xp, self._q, x)
        j = xp.clip(xp.searchsorted(q, x), 0, q.shape[0] - 1)
        on = xp.take(q, j) == x
        if lower is not None:
            on = on | (x == lower)
        if upper is not None:
            on = on | (x == upper)
        return on

    def piece_index(self, x):
        """The index k of the piece x_i lies in: q_{k-1} <= x_i < q_k (k = 0..m, a breakpoint belongs to the right).

        Parameters
        ----------
        x : array
            Points (NumPy, CuPy or an Array-API namespace).

        Returns
        -------
        array of int
            Same shape and array type as ``x``; k indexes :attr:`slopes`.

        Examples
        --------
        >>> import numpy as np, cvxpar
        >>> cvxpar.PAR([0.0, 1.0], [0.0, 1.0], 0.0, 2.0).piece_index(np.array([-1.0, 0.0, 0.5, 3.0]))
        array([0, 1, 1, 2])
        """
        xp = _backend.array_namespace(x)
        return xp.searchsorted(_backend.asarray_like(xp, self._q, x), x, side="right")

    def piece(self, x, lower=None, upper=None):
        """(slope, lo, hi) of the piece x_i lies in (:meth:`piece_index`): psi(u) = psi(x_i) + slope (u - x_i) on [lo, hi].

        The interval is the piece intersected with [lower_i, upper_i]; a wall's infinite slope is given
        as 0 (psi is +inf there, and x never lies beyond a wall).

        Parameters
        ----------
        x : array
            Points inside psi's domain (any array namespace).
        lower, upper : float, array or None
            Bounds that cut the piece's interval (broadcasting against ``x``); None for none.

        Returns
        -------
        slope, lo, hi : array
            The piece's slope and ends, each of x's shape and array type.

        Examples
        --------
        >>> import numpy as np, cvxpar
        >>> cvxpar.PAR([0.0, 1.0], [0.0, 1.0], 0.0, 2.0).piece(np.array([0.5, 3.0]), upper=4.0)
        (array([1., 2.]), array([0., 1.]), array([1., 4.]))
        """
        xp = _backend.array_namespace(x)
        m = self._q.size
        k = self.piece_index(x)
        s = xp.take(_backend.asarray_like(xp, np.where(np.isfinite(self._slopes), self._slopes, 0.0), x), k)
        qpad = _backend.asarray_like(xp, np.concatenate(([-np.inf], self._q, [np.inf])), x)
        lo, hi = xp.take(qpad, k), xp.take(qpad, xp.clip(k + 1, 0, m + 1))
        if lower is not None:
            lo = xp.maximum(lo, lower)
        if upper is not None:
            hi = xp.minimum(hi, upper)
        return s, lo, hi

    def value_range(self, lower: float = -np.inf, upper: float = np.inf) -> tuple[float, float]:
        """(inf, sup) of psi over [lower, upper] intersected with its domain; (+inf, -inf) when that is empty.

        psi is affine between breakpoints, so the extremes over a bounded interval are at breakpoints
        inside it or at its ends; an unbounded end adds -inf or +inf by the sign of the outer slope.

        Parameters
        ----------
        lower, upper : float, default -inf, +inf
            The interval.

        Returns
        -------
        (float, float)
            The infimum and the supremum (possibly infinite).

        Examples
        --------
        >>> import cvxpar
        >>> cvxpar.pars.l1().value_range(-1.0, 3.0)
        (0.0, 3.0)
        >>> cvxpar.pars.l1().value_range(2.0)
        (2.0, inf)
        """
        dom_lo, dom_hi = self.domain
        a, b = max(lower, dom_lo), min(upper, dom_hi)
        if a > b:
            return math.inf, -math.inf
        q = self._q
        candidates = [float(v) for v in self._values[(q >= a) & (q <= b)]]
        candidates += [float(self(e)) for e in (a, b) if math.isfinite(e)]
        low, high = min(candidates, default=math.inf), max(candidates, default=-math.inf)
        s = self._slopes
        if a == -math.inf:  # the left tail x -> -inf is in range
            low = -math.inf if s[0] > 0 else low
            high = math.inf if s[0] < 0 else high
        if b == math.inf:
            low = -math.inf if s[-1] < 0 else low
            high = math.inf if s[-1] > 0 else high
        return low, high

    def restrict(self, lower: float, upper: float) -> PAR | None:
        """psi + indicator of [lower, upper] as one PAR (walls at the bounds); None when that misses the domain.

        Exact for any curvature: the breakpoints inside the interval are kept and the bounds become
        breakpoints with hard walls beyond them, so :meth:`prox` of the result is the exact prox of
        t psi + indicator([lower, upper]) even for a nonconvex psi, where clipping the unconstrained
        prox would not be.

        Parameters
        ----------
        lower, upper : float
            The interval (``-inf`` / ``+inf`` for no bound).

        Returns
        -------
        PAR or None
            The restricted PAR; None when [lower, upper] misses psi's domain.

        Raises
        ------
        ValueError
            A NaN bound.

        Examples
        --------
        >>> import cvxpar
        >>> saw = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5)).restrict(-0.6, 0.9)
        >>> saw.breakpoints.tolist(), saw.domain
        ([-0.6, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 0.9], (-0.6, 0.9))
        """
        if math.isnan(lower) or math.isnan(upper):
            raise ValueError(f"restrict needs numeric bounds; got lower={lower}, upper={upper} (use -inf / inf for none).")
        dom_lo, dom_hi = self.domain
        lo, hi = max(lower, dom_lo), min(upper, dom_hi)
        if lo > hi:
            return None
        if lo == -np.inf and hi == np.inf:
            return self
        if lo == hi:
            return PAR([lo], self([lo]), -np.inf, np.inf)
        q = self._q
        inner = q[(q > lo) & (q < hi)]
        pts = np.concatenate(([lo] if np.isfinite(lo) else [], inner, [hi] if np.isfinite(hi) else []))
        if pts.size == 0:  # an unbounded side with every breakpoint cut off: keep one point inside
            pts = np.array([lo if np.isfinite(lo) else hi])
        left = -np.inf if np.isfinite(lo) else self.left_slope
        right = np.inf if np.isfinite(hi) else self.right_slope
        return PAR(pts, self(pts), left, right)

    @classmethod
    def weighted_sum(cls, psis, weights) -> PAR:
        """The PAR sum_k w_k psi_k (w_k >= 0): its domain is the intersection of the domains.

        A sum of continuous piecewise-affine functions is one, with the union of the breakpoints (those
        inside the common domain, plus its finite ends); outer slopes add, and a finite end of the common
        domain is a hard wall.

        Parameters
        ----------
        psis : sequence of PAR
            The terms psi_k.
        weights : sequence of float
            Their weights w_k >= 0, one per PAR.

        Returns
        -------
        PAR
            sum_k w_k psi_k, on the common domain.

        Raises
        ------
        ValueError
            If a weight is negative or not finite, the lengths differ, or the domains do not intersect
            (the sum is +inf everywhere).

        Examples
        --------
        >>> import cvxpar
        >>> psi = cvxpar.PAR.weighted_sum([cvxpar.pars.l1(), cvxpar.PAR([1.0], [0.0], 0.0, 1.0)], [2.0, 1.0])
        >>> psi.breakpoints, psi.values, psi.slopes
        (array([0., 1.]), array([0., 2.]), array([-2.,  2.,  3.]))
        """
        psis = list(psis)
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size != len(psis) or not psis:
            raise ValueError(f"weighted_sum needs one weight per PAR (at least one); got {len(psis)} PARs and {w.size} weights.")
        if not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValueError(f"weighted_sum needs finite nonnegative weights; got {w.tolist()}.")
        lo = max(p.domain[0] for p in psis)
        hi = min(p.domain[1] for p in psis)
        if lo > hi:
            raise ValueError(f"the PARs' domains do not intersect (the common domain would be [{lo:g}, {hi:g}]), so "
                             "their sum is +inf everywhere.")
        used = [(p, float(c)) for p, c in zip(psis, w, strict=True) if c != 0]
        q = np.unique(np.concatenate([p.breakpoints for p in psis] + [[v] for v in (lo, hi) if np.isfinite(v)]))
        q = q[(q >= lo) & (q <= hi)]
        values = sum((c * p(q) for p, c in used), np.zeros(q.size))
        left = -np.inf if np.isfinite(lo) else sum(c * p.left_slope for p, c in used)
        right = np.inf if np.isfinite(hi) else sum(c * p.right_slope for p, c in used)
        return cls(q, values, float(left), float(right))

    # ------------------------------------------------------------------ dunder
    def __repr__(self) -> str:
        opts = {"precision": 6, "threshold": 12, "edgeitems": 3, "separator": ", "}
        q = np.array2string(self._q, **opts)
        vals = np.array2string(self._values, **opts)
        return (
            f"PAR(breakpoints={q}, values={vals}, left_slope={self.left_slope:g}, "
            f"right_slope={self.right_slope:g}, curvature={self._curvature!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PAR):
            return NotImplemented
        return (
            np.array_equal(self._q, other._q)
            and np.array_equal(self._values, other._values)
            and np.array_equal(self._slopes[[0, -1]], other._slopes[[0, -1]])
        )

    def __hash__(self) -> int:
        # + 0.0 maps -0.0 to 0.0: equal PARs (array_equal treats -0.0 == 0.0) hash equal
        return hash(((self._q + 0.0).tobytes(), (self._values + 0.0).tobytes(), self.left_slope, self.right_slope))

    def __reduce__(self):
        return (PAR, (self._q, self._values, self.left_slope, self.right_slope))


def _classify(slopes: np.ndarray) -> str:
    scale = 1.0 + float(np.max(np.abs(slopes[np.isfinite(slopes)]), initial=0.0))
    tol = SLOPE_RTOL * scale
    if (np.diff(slopes) >= -tol).all() or slopes.size == 1:
        return "convex"
    rising = slopes > tol
    falling = slopes < -tol
    first_rise = np.argmax(rising) if rising.any() else slopes.size
    if not falling[first_rise:].any():
        return "quasiconvex"
    return "nonconvex"


def _crossings(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where consecutive pieces a_k x + b_k cross (+/-inf when they are too nearly parallel)."""
    with np.errstate(over="ignore", divide="ignore"):
        return -np.diff(b) / np.diff(a)


def _upper_envelope(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Active pieces of max_k a_k x + b_k, with a sorted nondecreasing (the convex hull trick)."""
    keep: list[int] = []
    for k in range(a.size):
        if keep and a[keep[-1]] == a[k]:
            if b[k] <= b[keep[-1]]:
                continue
            keep.pop()
        while len(keep) >= 2:
            i, j = keep[-2], keep[-1]
            # piece j is useless if piece k overtakes i no later than j does
            if (b[i] - b[k]) * (a[j] - a[i]) <= (b[i] - b[j]) * (a[k] - a[i]):
                keep.pop()
            else:
                break
        keep.append(k)
    idx = np.array(keep)
    return a[idx], b[idx]


def _locate(xp, x, psi: PAR):
    """Index of the piece right of the last breakpoint <= x (0..m), and the clipped breakpoint index."""
    q = _backend.asarray_like(xp, psi.breakpoints, x)
    piece = xp.searchsorted(q, x, side="right")
    j = xp.clip(piece - 1, 0, psi.n_breakpoints - 1)
    return q, piece, j


def _evaluate(xp, x, psi: PAR):
    if type(x) is np.ndarray:  # NumPy directly: the namespace wrappers cost more than the arithmetic on small x
        return _evaluate_numpy(x, psi)
    q, piece, j = _locate(xp, x, psi)
    vals = _backend.asarray_like(xp, psi.values, x)
    slopes = _backend.asarray_like(xp, psi.slopes, x)
    qj = xp.take(q, j)
    dx = x - qj
    s = xp.take(slopes, piece)
    on_kink = dx == 0
    rise = xp.where(on_kink, xp.zeros_like(x), s * xp.where(on_kink, xp.ones_like(x), dx))
    return xp.take(vals, j) + rise


def _evaluate_numpy(x: np.ndarray, psi: PAR) -> np.ndarray:
    """_evaluate for NumPy arrays: psi(q_j) + s_k (x - q_j) from the breakpoint q_j at or left of x (the first
    one left of the domain) with the slope s_k of x's piece, the rise taken as 0 on a kink (so an infinite wall
    slope never meets 0 * inf)."""
    dt = x.dtype  # psi's data in x's precision, as the namespace path does
    q = psi.breakpoints.astype(dt, copy=False)
    piece = np.searchsorted(q, x, side="right")
    j = np.clip(piece - 1, 0, q.size - 1)
    dx = x - q[j]
    on_kink = dx == 0
    rise = np.where(on_kink, dt.type(0), psi.slopes.astype(dt, copy=False)[piece] * np.where(on_kink, dt.type(1), dx))
    return psi.values.astype(dt, copy=False)[j] + rise


def _subdifferential(xp, x, psi: PAR):
    q, piece, j = _locate(xp, x, psi)
    slopes = _backend.asarray_like(xp, psi.slopes, x)
    right = xp.take(slopes, piece)
    at_kink = x == xp.take(q, j)
    left = xp.where(at_kink, xp.take(slopes, j), right)
    lo = xp.minimum(left, right)
    hi = xp.maximum(left, right)
    dom_lo, dom_hi = psi.domain
    outside = (x < dom_lo) | (x > dom_hi)
    inf = xp.full_like(x, np.inf)
    return xp.where(outside, inf, lo), xp.where(outside, -inf, hi)


def _weighted(xp, lam, s):
    """lam * s for subdifferential ends s, with 0 * (finite) = 0 and the empty-set markers (+/-inf) kept."""
    if isinstance(lam, (int, float)):
        return lam * s if lam > 0 else xp.where(xp.isfinite(s), xp.zeros_like(s), s)
    positive = lam > 0
    safe = xp.where(positive, lam, xp.ones_like(lam))
    return xp.where(positive, safe * s, xp.where(xp.isfinite(s), xp.zeros_like(s), s))
