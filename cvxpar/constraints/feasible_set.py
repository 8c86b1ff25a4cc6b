"""The merged view of a list of constraints that solvers, the certificate and the references consume.

:class:`FeasibleSet` intersects the constraints' separable bounds (lower = max of the lowers, upper = min
of the uppers) and stacks their linear rows, so a consumer asks one object, whatever the kinds:

- ``lower``, ``upper`` (NumPy, length d) and ``scalar_bounds`` (the pair of floats when every coordinate
  has the same bounds);
- ``A_eq, b_eq, A_ub, b_ub`` (stacked, or None) and ``stacked()`` = (G, h, n_eq);
- ``violation(x)``: the largest violation in x's units (:meth:`Constraint.violation`);
- ``normal_cone_distance(x, c, lo, hi)``: min over the row multipliers of the largest distance
  dist(c_i - (G_act^T y)_i, [lo_i, hi_i]) (the stationarity residual with the rows' normal cone);
- ``active_rows(x)``, ``cvxpy(x)``, and ``find_point(...)`` (a phase-1 LP that proves emptiness).
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import _backend
from cvxpar.constraints.base import Constraint

#: A point found without the phase-1 LP (FeasibleSet._direct_point) is used when its violation is at most this,
#: relative to max(1, ||x||_inf): the rounding of its row products.
DIRECT_POINT_RTOL = 1e-12

#: A row is active (in the normal cone) when x is within this distance of its hyperplane, relative to
#: max(1, ||x||_inf) (the distance is in x's units, like the feasibility rule).
ACTIVE_RTOL = 1e-9


def as_list(constraints) -> list[Constraint]:
    """Normalize ``constraints`` (None, one set, or a list) to a list, checking the types.

    Parameters
    ----------
    constraints : None, a constraint, a FeasibleSet, or a list or tuple of constraints

    Returns
    -------
    list of Constraint

    Raises
    ------
    TypeError
        If an item is not a :class:`~cvxpar.constraints.Constraint`.

    Examples
    --------
    >>> from cvxpar.constraints import NonNeg, as_list
    >>> as_list(None), as_list(NonNeg())
    ([], [NonNeg()])
    """
    if constraints is None:
        return []
    if isinstance(constraints, FeasibleSet):
        return list(constraints.items)
    items = list(constraints) if isinstance(constraints, (list, tuple)) else [constraints]
    for c in items:
        if not isinstance(c, Constraint):
            raise TypeError(
                "constraints must be Box, NonNeg, Simplex or Linear objects from cvxpar.constraints "
                f"(or a list of them); got {type(c).__name__}."
            )
    return items


class FeasibleSet:
    """The intersection of a list of constraints on x in R^d (see the module docstring).

    Bounds of all constraints are merged into ``lower`` and ``upper``; rows are stacked into
    ``A_eq``, ``b_eq``, ``A_ub``, ``b_ub`` (each None when there are none).  ``empty`` is None, or
    a sentence naming why the bounds alone leave no point (then the problem is infeasible; rows are
    checked by :meth:`find_point`).

    Parameters
    ----------
    constraints : constraint, list of constraints or None
        :class:`Box`, :class:`NonNeg`, :class:`Simplex`, :class:`Linear` (any mix).
    d : int
        The length of x.

    Raises
    ------
    TypeError
        An entry that is not a cvxpar constraint.
    ValueError
        A constraint whose data does not fit d entries.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.constraints import Box, FeasibleSet, Linear
    >>> S = FeasibleSet([Box(0.0, 1.0), Linear(A_eq=np.ones((1, 3)), b_eq=[2.0])], d=3)
    >>> S.has_bounds, S.has_rows, S.scalar_bounds
    (True, True, (0.0, 1.0))
    >>> x = S.find_point()
    >>> bool(abs(x.sum() - 2.0) < 1e-9 and S.violation(x) < 1e-9)
    True
    >>> G, h, n_eq = S.stacked()
    >>> G.shape, n_eq
    ((1, 3), 1)
    """

    def __init__(self, constraints, d: int) -> None:
        self.items = as_list(constraints)
        self.d = d
        lower, upper = np.full(d, -np.inf), np.full(d, np.inf)
        eq, ub = [], []
        self.empty: str | None = None
        for c in self.items:
            c.check_size(d)
            lo, hi = c.bounds(d)
            lower, upper = np.maximum(lower, lo), np.minimum(upper, hi)
            A_eq, b_eq, A_ub, b_ub = c.rows(d)
            if A_eq is not None:
                eq.append((A_eq, b_eq))
            if A_ub is not None:
                ub.append((A_ub, b_ub))
        bad = np.flatnonzero(lower > upper)
        if bad.size:
            i = int(bad[0])
            names = ", ".join(repr(c) for c in self.items)
            self.empty = (f"the bounds of the constraints ({names}) do not intersect: coordinate {i} would need "
                          f"{lower[i]:g} <= x_{i} <= {upper[i]:g}")
        self.lower, self.upper = lower, upper
        self.A_eq, self.b_eq = _stack(eq)
        self.A_ub, self.b_ub = _stack(ub)
        #: The last LP_MEMO LP queries of :meth:`multipliers` with their answers, (x, c, lo, hi, y, active-row mask),
        #: oldest first: the same query again (a polish step's row force at a point its certificate just measured)
        #: returns y without an LP, and the last y starts the next LP's constraint generation where the active rows
        #: are the same (a hint only: the LP's own stopping test decides).
        self._last_lp: list[tuple] = []

    # ------------------------------------------------------------------ the separable part
    @property
    def has_bounds(self) -> bool:
        """True when some coordinate has a finite lower or upper bound."""
        return bool(np.isfinite(self.lower).any() or np.isfinite(self.upper).any())

    @property
    def has_rows(self) -> bool:
        """True when there are linear rows (Simplex or Linear): these need ``method="alm"`` or ``"admm"``."""
        return self.A_eq is not None or self.A_ub is not None

    @property
    def scalar_bounds(self) -> tuple[float, float] | None:
        """(lo, hi) when every coordinate has the same bounds (or d = 0), else None."""
        if self.d == 0:
            return -math.inf, math.inf
        lo, hi = self.lower[0], self.upper[0]
        if np.all(self.lower == lo) and np.all(self.upper == hi):
            return float(lo), float(hi)
        return None

    def bounds_like(self, x):
        """(lower, upper) as Python floats when uniform, else arrays in x's namespace and device (float64 on NumPy:
        the certificate checks the bounds as given, not rounded to a float32 x's precision).

        Parameters
        ----------
        x : array of shape (d,)
            Any Array-API namespace.

        Returns
        -------
        (float, float) or (array, array)
        """
        sb = self.scalar_bounds
        if sb is not None:
            return sb
        xp = _backend.array_namespace(x)
        if _backend.is_numpy_namespace(xp):  # float64 whatever x's dtype: the bounds as given, not rounded to x's
            return np.asarray(self.lower, dtype=np.float64), np.asarray(self.upper, dtype=np.float64)
        return _backend.asarray_like(xp, self.lower, x), _backend.asarray_like(xp, self.upper, x)

    def box(self):
        """The merged bounds as a :class:`~cvxpar.constraints.Box` (scalar bounds when uniform), or None.

        Returns
        -------
        Box or None
            None when there are no finite bounds or they do not intersect.
        """
        from cvxpar.constraints.box import Box

        if not self.has_bounds or self.empty is not None:
            return None
        sb = self.scalar_bounds
        return Box(*sb) if sb is not None else Box(self.lower, self.upper)

    # ------------------------------------------------------------------ the rows
    def stacked(self):
        """(G, h, n_eq): the rows [A_eq; A_ub] and their right-hand sides, the first n_eq equalities.

        Returns
        -------
        G : numpy.ndarray of shape (n_rows, d)
        h : numpy.ndarray of shape (n_rows,)
        n_eq : int
        """
        blocks = [(M, v) for M, v in ((self.A_eq, self.b_eq), (self.A_ub, self.b_ub)) if M is not None]
        if not blocks:
            return np.zeros((0, self.d)), np.zeros(0), 0
        G = np.vstack([M for M, _ in blocks])
        h = np.concatenate([v for _, v in blocks])
        return G, h, 0 if self.A_eq is None else self.A_eq.shape[0]

    def active_rows(self, x) -> np.ndarray:
        """Mask over ``stacked()`` rows: every equality, and the inequalities within ACTIVE_RTOL of their
        hyperplane (distance relative to max(1, ||x||_inf)).

        Parameters
        ----------
        x : array of shape (d,)
            Any Array-API namespace.

        Returns
        -------
        numpy.ndarray of bool, shape (n_rows,)
        """
        xn = np.asarray(_backend.to_host(x), dtype=np.float64)
        G, h, n_eq = self.stacked()
        slack = h[n_eq:] - G[n_eq:] @ xn
        norms = np.linalg.norm(G[n_eq:], axis=1)
        scale = max(1.0, float(np.max(np.abs(xn), initial=0.0)))
        return np.concatenate([np.ones(n_eq, bool), slack <= ACTIVE_RTOL * scale * np.maximum(norms, 1e-300)])

    # ------------------------------------------------------------------ contract queries
    def violation(self, x) -> float:
        """The largest violation of any constraint, in x's units (0 when there are none).

        Parameters
        ----------
        x : array of shape (d,)
            Any Array-API namespace.

        Returns
        -------
        float
            The largest bound violation and distance |a_j^T x - b_j| / ||a_j||_2 to a violated row's
            hyperplane; +inf when x is not finite.
        """
        xn = np.asarray(_backend.to_host(x), dtype=np.float64)
        if not np.isfinite(xn).all():
            return math.inf
        return max((c.violation(xn) for c in self.items), default=0.0)

    def cvxpy(self, x) -> list:
        """Every constraint as CVXPY constraints on x.

        Parameters
        ----------
        x : cvxpy.Expression of shape (d,)

        Returns
        -------
        list of cvxpy constraints
        """
        return [con for c in self.items for con in c.cvxpy(x)]

    def normal_cone_distance(self, x, c, lo, hi):
        """(stat, per-coordinate distances) of  min_y max_i dist(c_i - (G_act^T y)_i, [lo_i, hi_i]).

        y is free on equality rows and >= 0 on active inequality rows; [lo_i, hi_i] already holds
        lam_i dpsi(x_i) + N_[l_i, u_i](x_i).  One row with equal coefficients (a simplex or budget row)
        has a closed form: with P = max_i (lo_i - c_i) and Q = max_i (c_i - hi_i) the distance at
        m = a y is max(P + m, Q - m, 0), minimized at m = (Q - P) / 2 (projected onto m's allowed
        half-line for an inequality).  Otherwise a small LP in (y, s): minimize s subject to
        |c_i - (G^T y)_i - clip| <= s (a dense simplex method; SciPy's HiGHS for large ones).  NaN
        anywhere gives an infinite distance.

        Parameters
        ----------
        x : array of shape (d,)
            The point (its active rows are used).
        c, lo, hi : arrays of shape (d,)
            c = -grad f(x) and the interval [lo, hi] per coordinate.

        Returns
        -------
        stat : float
            The smallest largest distance.
        dist : numpy.ndarray of shape (d,)
            The per-coordinate distances at the minimizing multipliers.
        """
        cn, lon, hin = (np.asarray(_backend.to_host(a), dtype=np.float64) for a in (c, lo, hi))
        Ga, y = self.multipliers(x, cn, lon, hin)
        if y is None:
            return math.inf, np.full(cn.shape, math.inf)
        shifted = cn - Ga.T @ y if Ga.shape[0] else cn
        dist = np.maximum(np.maximum(lon - shifted, shifted - hin), 0.0)
        return float(np.max(dist, initial=0.0)), dist

    def multipliers(self, x, c, lo, hi):
        """(G_act, y): the active rows at x and the multipliers that minimize the largest distance.

        Parameters
        ----------
        x, c, lo, hi : arrays of shape (d,)
            As in :meth:`normal_cone_distance`.

        Returns
        -------
        G_act : numpy.ndarray of shape (k, d)
            The active rows.
        y : numpy.ndarray of shape (k,) or None
            Their multipliers; None when the data has NaN or the LP fails.
        """
        G, _, n_eq = self.stacked()
        act = self.active_rows(x)
        Ga = G[act]
        if np.isnan(c).any() or np.isnan(lo).any() or np.isnan(hi).any():
            return Ga, None
        k, n_act_eq = Ga.shape[0], min(n_eq, int(act[:n_eq].sum()))
        if k == 0:
            return Ga, np.zeros(0)
        if k == 1 and np.all(Ga[0] == Ga[0, 0]) and Ga[0, 0] != 0:
            return Ga, np.array([_one_row_multiplier(c, lo, hi, Ga[0, 0], equality=n_act_eq == 1)])
        xn = np.asarray(_backend.to_host(x), dtype=np.float64)
        for seen in self._last_lp:  # a query asked again (a polish step's row force at a point just certified)
            if all(np.array_equal(u, v) for u, v in zip(seen[:4], (xn, c, lo, hi), strict=True)):
                return Ga, seen[4].copy()
        last = self._last_lp[-1] if self._last_lp else None
        warm = last[4] if last is not None and np.array_equal(last[5], act) else _estimate(c, lo, hi, Ga, n_act_eq)
        y = _lp_multipliers(c, lo, hi, Ga, n_act_eq, warm)
        if y is not None:
            self._last_lp = [*self._last_lp[1 - LP_MEMO:], (xn.copy(), c.copy(), lo.copy(), hi.copy(), y.copy(), act)]
        return Ga, y

    def find_point(self, lower=None, upper=None) -> np.ndarray | None:
        """A point of the set (within [lower, upper] if given, e.g. psi's domain), or None if there is none.

        First without an LP (:meth:`_direct_point`): 0 clipped into the bounds, and with one row, that point
        moved along the row within the bounds until the row holds; it is kept when it violates the set by at
        most DIRECT_POINT_RTOL max(1, ||x||_inf) (its rounding).  Otherwise a phase-1 LP (HiGHS): find x with
        max(l, lower) <= x <= min(u, upper), A_eq x = b_eq, A_ub x <= b_ub, which also proves emptiness.

        Parameters
        ----------
        lower, upper : array of shape (d,) or None
            Extra bounds intersected with the set's own.

        Returns
        -------
        numpy.ndarray or None
            A feasible point (the clipped 0 when there are no rows), or None when the set is empty.
        """
        lo = self.lower if lower is None else np.maximum(self.lower, lower)
        hi = self.upper if upper is None else np.minimum(self.upper, upper)
        if np.any(lo > hi):
            return None
        if not self.has_rows:
            return np.clip(np.zeros(self.d), lo, hi)
        x = self._direct_point(lo, hi)
        if x is not None:
            return x
        from scipy.optimize import linprog  # imported only here: its import costs a fresh process ~0.5 s

        res = linprog(np.zeros(self.d), A_ub=self.A_ub, b_ub=self.b_ub, A_eq=self.A_eq, b_eq=self.b_eq,
                      bounds=np.column_stack([lo, hi]), method="highs")
        if res.status == 2:
            return None
        return None if res.x is None else np.asarray(res.x)

    def _direct_point(self, lo, hi) -> np.ndarray | None:
        """A point of the set found without an LP, or None (then the LP decides).

        z = 0 clipped into [lo, hi]; with a single row a^T x = b (or <= b) that z misses, the coordinates are
        moved in turn to the end of their interval that brings a^T z towards b (the vertex a phase-1 simplex
        method would reach), the last one only as far as the row needs; an infinite end reaches any b at once.
        Kept when its violation is at most DIRECT_POINT_RTOL max(1, ||z||_inf)."""
        z = np.clip(np.zeros(self.d), lo, hi)
        G, h, n_eq = self.stacked()
        if G.shape[0] == 1:
            z = _onto_row(z, G[0], float(h[0]), lo, hi, equality=n_eq == 1)
        if z is None or not np.isfinite(z).all():
            return None
        return z if self.violation(z) <= DIRECT_POINT_RTOL * max(1.0, float(np.max(np.abs(z), initial=0.0))) else None

    def __repr__(self) -> str:
        return f"FeasibleSet({self.items!r}, d={self.d})"


def _onto_row(z, a, b: float, lo, hi, equality: bool):
    """z moved within [lo, hi] until a^T z = b (or <= b), one coordinate at a time (FeasibleSet._direct_point);
    None when the bounds do not let a^T z reach b."""
    need = b - float(a @ z)
    if need == 0.0 or (need > 0.0 and not equality):
        return z
    sign = 1.0 if need > 0.0 else -1.0
    end = np.where(sign * a > 0.0, hi, np.where(sign * a < 0.0, lo, z))  # the end that moves a^T z towards b
    with np.errstate(invalid="ignore"):
        gain = np.where(a != 0.0, sign * a * (end - z), 0.0)  # how far each coordinate alone moves a^T z
    cum = np.cumsum(gain)
    j = int(np.searchsorted(cum, abs(need)))  # the first coordinate that, with those before it, gets there
    if j == z.size:
        return None
    out = z.copy()
    out[:j] = end[:j]
    done = float(cum[j - 1]) if j else 0.0
    out[j] = min(max(z[j] + sign * (abs(need) - done) / a[j], lo[j]), hi[j])  # a_j moves the rest: sign (|need| - done)
    return out


def _stack(pairs):
    if not pairs:
        return None, None
    return np.vstack([M for M, _ in pairs]), np.concatenate([v for _, v in pairs])


def _one_row_multiplier(c, lo, hi, a: float, equality: bool) -> float:
    P = float(np.max(lo - c, initial=-math.inf))
    Q = float(np.max(c - hi, initial=-math.inf))
    if not (math.isfinite(P) or math.isfinite(Q)):
        return 0.0
    if not math.isfinite(P):  # the distance Q - m decreases without bound in m: any large m works
        m = Q
    elif not math.isfinite(Q):
        m = -P
    else:
        m = 0.5 * (Q - P)
    y = m / a
    return y if equality else max(y, 0.0)


def _estimate(c, lo, hi, Ga, n_act_eq: int):
    """Multipliers that explain the coordinates with a one-point interval (lo_i = hi_i: a free coordinate, where the
    optimum's c_i - (G^T y)_i equals lo_i) in the least-squares sense, the inequality rows' entries clipped at 0;
    None when fewer such coordinates than rows (a start for :func:`_lp_multipliers`, not a solution)."""
    point = (lo == hi) & np.isfinite(lo)
    if int(point.sum()) < Ga.shape[0]:
        return None
    Gp = Ga[:, point]
    try:  # the normal equations of a k-column least squares (k active rows): a start needs no more accuracy
        y = np.linalg.solve(Gp @ Gp.T, Gp @ (c[point] - lo[point]))
    except np.linalg.LinAlgError:
        return None
    y[n_act_eq:] = np.maximum(y[n_act_eq:], 0.0)
    return y if np.isfinite(y).all() else None


def _lp_multipliers(c, lo, hi, Ga, n_act_eq: int, y0=None):
    """The multipliers y minimizing max_i dist(c_i - (G_act^T y)_i, [lo_i, hi_i]) (free on the n_act_eq equality
    rows, >= 0 on the rest), by constraint generation on the LP of :meth:`FeasibleSet.normal_cone_distance`: the LP
    on the CUT_ROWS coordinates farthest outside their intervals at y = 0, grown, while the last solution y leaves
    a coordinate outside the subset farther outside than the subset's level (the larger of its LP optimum s and the
    largest distance y leaves on the subset, beyond CUT_SLACK), by all such coordinates and the CUT_ROWS farthest
    outside.  Where none is, y's largest distance over all coordinates is its largest over the subset: that of the
    subset's LP solution, whose optimum is at most the whole LP's (Dantzig, Fulkerson and Johnson 1954; Kelley
    1960), so y is as good as the whole LP's solution to the LP solver's tolerance.  After CUT_ROUNDS rounds, or where the
    subset LP fails, the LP on every coordinate runs.  ``y0``, when given, replaces y = 0 in choosing the first
    subset (the coordinates farthest outside at y0): a y0 near the solution (the last call's, or
    :func:`_estimate`'s) usually picks the binding coordinates at once, so one LP ends the search; the stopping
    test is the same."""
    d = c.shape[0]
    if d <= 2 * CUT_ROWS:
        return _lp_on(c, lo, hi, Ga, n_act_eq)
    chosen = np.zeros(d, dtype=bool)
    y = np.zeros(Ga.shape[0]) if y0 is None else np.asarray(y0, dtype=np.float64)
    level = np.inf  # no solution yet: the first round takes the CUT_ROWS farthest outside at y
    for _ in range(CUT_ROUNDS):
        shifted = c - Ga.T @ y
        with np.errstate(invalid="ignore"):
            outside = np.maximum(lo - shifted, shifted - hi)
        outside[chosen] = -np.inf
        chosen |= outside > level  # every coordinate the last solution leaves farther outside than the subset's
        chosen[np.argpartition(outside, d - CUT_ROWS)[d - CUT_ROWS:]] = True
        found = _lp_on(c[chosen], lo[chosen], hi[chosen], Ga[:, chosen], n_act_eq, with_value=True)
        if found is None:
            break
        y, s = found
        shifted = c - Ga.T @ y
        with np.errstate(invalid="ignore"):
            outside = np.maximum(lo - shifted, shifted - hi)
        # the subset's level at y: its LP optimum, or what y actually leaves on it (an LP solver's tolerance)
        level = max(s, float(np.max(outside[chosen])), 0.0)
        level += CUT_SLACK * (1.0 + abs(level))
        if float(np.max(outside)) <= level:
            return y
    return _lp_on(c, lo, hi, Ga, n_act_eq)


#: :meth:`FeasibleSet.multipliers` remembers this many LP queries and answers.
LP_MEMO = 3
#: :func:`_lp_multipliers`: coordinates added to the LP per round, the rounds before the full LP, and the relative
#: slack of the optimality test (HiGHS's feasibility tolerance is 1e-7).
CUT_ROWS = 64
CUT_ROUNDS = 6
CUT_SLACK = 1e-9


def _lp_on(c, lo, hi, Ga, n_act_eq: int, with_value: bool = False):
    """The LP of :func:`_lp_multipliers` on the given coordinates: y (its inequality rows' entries clipped at 0, which
    a solver meets only to its tolerance), or (y, the LP's optimum s) when ``with_value``; None when it fails.  By the
    dense simplex of :mod:`cvxpar.constraints._small_lp` where the LP has at most SMALL_LP_ROWS rows, else, or where
    that one gives up, by SciPy's HiGHS."""
    from cvxpar.constraints import _small_lp

    fin_lo, fin_hi = np.isfinite(lo), np.isfinite(hi)
    P = np.vstack([Ga.T[fin_lo], -Ga.T[fin_hi]])
    beta = np.concatenate([c[fin_lo] - lo[fin_lo], hi[fin_hi] - c[fin_hi]])
    found = _small_lp.solve(P, beta, n_act_eq) if P.shape[0] <= SMALL_LP_ROWS else None
    if found is None:
        found = _highs(P, beta, n_act_eq)
    if found is None:
        return None
    y, s = found
    y[n_act_eq:] = np.maximum(y[n_act_eq:], 0.0)  # y >= 0 holds to the solver's tolerance only: the cone needs it exactly
    return (y, s) if with_value else y


#: :func:`_lp_on` takes the dense simplex up to this many LP rows (two per coordinate with a finite interval).
SMALL_LP_ROWS = 600


def _highs(P, beta, n_eq: int):
    """(y, s) of the LP of :mod:`cvxpar.constraints._small_lp` by SciPy's HiGHS, or None where it fails."""
    from scipy.optimize import linprog

    k = P.shape[1]
    cost = np.zeros(k + 1)
    cost[-1] = 1.0
    bounds = [(None, None)] * n_eq + [(0, None)] * (k - n_eq) + [(0, None)]
    res = linprog(cost, A_ub=np.hstack([P, -np.ones((P.shape[0], 1))]), b_ub=beta, bounds=bounds, method="highs")
    if res.status != 0:
        return None
    return np.asarray(res.x[:k], dtype=np.float64), float(res.x[k])
