"""DQCP sublevel and superlevel sets of the PAR atom.

A quasiconvex psi (nonincreasing, then nondecreasing; :attr:`cvxpar.PAR.curvature`) has interval
sublevel sets {x : psi(x) <= alpha} = [l(alpha), u(alpha)] whose ends are piecewise linear in
alpha (disciplined quasiconvex programming: Agrawal & Boyd 2020).  CVXPY's bisection (``solve(qcp=True)``)
fixes alpha = t.value at each step, so the sets are *lazy*: callables returning a constraint,
``True`` (no constraint) or ``False`` (empty set), as ``cvxpy/reductions/dqcp2dcp/sets.py`` does
for ``length`` and ``sign``.  A monotone psi without walls is also quasiconcave; its superlevel
sets are the sublevel sets of -psi.

Three problems have no bracket [low, high] of the optimal value that CVXPY's bisection can use, and
its search for one (``cvxpy/reductions/solvers/bisection.py``: ``high`` doubled while infeasible,
``low`` doubled while feasible) ends in an unrelated solver error.  The sets watch the levels t
they are asked for during one solve and raise :class:`QCPBracketError` naming the cause:

- *infeasible*: for t >= sup psi over its domain the set {psi <= t} is the whole domain
  (``[q_1, q_m]`` between walls), so a query above such a t comes only after the constraints
  met psi's domain nowhere;
- *optimal value 0 never asked for*: psi <= 0 with sup psi = 0 makes the level 0 CVXPY's upper end,
  taken as feasible without a solve and never queried; when the optimal value is 0 itself every
  query below it fails, and the bisection gets within ``ZERO_LEVEL`` of 0;
- *unbounded*: psi tends to -inf on an outer piece (a finite outer slope pointing down), and the
  search doubled t past ``UNBOUNDED_LEVELS * (1 + max |psi(q_j)|)`` still finding feasible
  points (a level where the spacing of doubles exceeds the bisection's default absolute
  tolerance 1e-6, so no optimal value there could be resolved).

Registered in ``SUBLEVEL_SETS`` / ``SUPERLEVEL_SETS`` by :mod:`cvxpar._cvxpy_registration`.
"""

from __future__ import annotations

import numpy as np
from cvxpy.atoms.affine.vec import vec
from cvxpy.error import SolverError

from cvxpar.par import PAR

#: How far (in units of 1 + max |psi(q_j)|) CVXPY's doubling search for a lower level may go before the problem
#: is called unbounded: 2**40, where the spacing of doubles (2**-12) exceeds the bisection's default tolerance.
UNBOUNDED_LEVELS = 2.0**40


#: A level in (-ZERO_LEVEL * (1 + max |psi(q_j)|), 0) means a bisection on [low, 0] that found no feasible level.
ZERO_LEVEL = 1e-20


class QCPBracketError(SolverError):
    """``solve(qcp=True)`` cannot bracket the optimal value of a problem with a PAR atom: the problem is
    infeasible (the constraints meet psi's domain nowhere) or unbounded (psi decreases without end there)."""


def not_dqcp_reason(problem) -> str | None:
    """Why ``problem`` is not DQCP when a PAR atom with a quasiconvex or nonconvex psi is the cause, and what to
    do; None when the problem has no such atom (CVXPY's own message then stands).

    DQCP (Agrawal & Boyd 2020, section 3) composes a quasiconvex atom only with monotone functions and max:
    a sum of several quasiconvex terms (``cp.sum(cvxpar.par(x, psi))`` over more than one entry) is not
    quasiconvex, and a nonconvex psi is not quasiconvex at all.
    """
    from cvxpar.atoms.par_atom import ParAtom

    found, stack = [], [problem.objective, *problem.constraints]
    while stack:
        expr = stack.pop()
        if isinstance(expr, ParAtom) and expr.psi.curvature != "convex":
            found.append(expr)
        stack.extend(expr.args)
    if not found:
        return None
    entries = sum(int(np.prod(a.shape)) for a in found)
    routes = ("Use cvxpar.reference(problem) for the exact global solution (a mixed-integer model), or "
              "problem.solve(method='cvxpar') for a certified stationary point.")
    if any(a.psi.curvature == "nonconvex" for a in found):
        return f"psi is nonconvex (neither convex nor quasiconvex), so no DQCP problem can contain it. {routes}"
    if entries > 1:
        return (f"The problem holds {entries} quasiconvex psi terms (psi applied to {entries} entries): a sum of "
                "quasiconvex functions is not quasiconvex, so DQCP (solve(qcp=True)) takes one psi term, a max of "
                f"them, or a monotone function of one, not their sum. {routes}")
    return (f"The quasiconvex psi term is composed with a function DQCP cannot take (only monotone functions "
            f"and max keep it quasiconvex). {routes}")


def sublevel_interval(psi: PAR, alpha) -> tuple[np.ndarray, np.ndarray]:
    """Ends ``(l, u)`` of {x : psi(x) <= alpha} for a quasiconvex (or convex) psi, elementwise in alpha.

    Empty sets come back as l = +inf, u = -inf; unbounded ends as -inf / +inf.
    """
    if psi.curvature == "nonconvex":
        raise ValueError("sublevel_interval needs a quasiconvex psi: the sublevel sets of this one are not intervals.")
    alpha = np.asarray(alpha, dtype=np.float64)
    upper = _upper_end(psi.breakpoints, psi.values, psi.slopes, alpha)
    lower = -_upper_end(-psi.breakpoints[::-1], psi.values[::-1], -psi.slopes[::-1], alpha)
    empty = alpha < _infimum(psi)
    return np.where(empty, np.inf, lower), np.where(empty, -np.inf, upper)


def _infimum(psi: PAR) -> float:
    s = psi.slopes
    return -np.inf if (s[0] > 0 or s[-1] < 0) else float(psi.values.min())


def _upper_end(q: np.ndarray, v: np.ndarray, s: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """sup {x : psi(x) <= alpha} for a quasiconvex psi given by (q, v, s), for nonempty sets.

    Right of its minimizers psi is nondecreasing, so the end lies on the right tail (when
    v_last <= alpha), else in the piece after the last breakpoint with v_j <= alpha, else on the
    left tail (which then has a positive slope s_0).
    """
    if s[-1] < 0:  # psi is nonincreasing: every nonempty sublevel set is a right half-line
        return np.full_like(alpha, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        if s[-1] == 0:
            tail = np.where(alpha >= v[-1], np.inf, np.nan)
        else:  # positive or +inf (a wall: the end is q_last)
            tail = q[-1] + np.maximum(alpha - v[-1], 0.0) / s[-1]
        below = v[None, :] <= alpha.reshape(-1, 1)
        has = below.any(axis=1)
        j = np.where(has, below.shape[1] - 1 - np.argmax(below[:, ::-1], axis=1), 0)
        jn = np.minimum(j + 1, q.size - 1)
        a = alpha.reshape(-1)
        frac = np.where(v[jn] > v[j], (a - v[j]) / (v[jn] - v[j]), 0.0)
        inner = q[j] + np.clip(frac, 0.0, 1.0) * (q[jn] - q[j])
        left = q[0] + (a - v[0]) / s[0] if s[0] > 0 else np.full_like(a, -np.inf)
        middle = np.where(has, inner, left).reshape(alpha.shape)
        return np.where(alpha >= v[-1], tail, middle)


def _bound_constraint(x, bound: np.ndarray, upper: bool):
    """``x <= bound`` (or ``x >= bound``) on the entries where ``bound`` is finite; True if none is."""
    bound = np.broadcast_to(bound, x.shape)
    finite = np.isfinite(bound)
    if not finite.any():
        return True
    if finite.all():
        return x <= bound if upper else x >= bound
    idx = np.flatnonzero(finite.ravel(order="F"))
    xs, bs = vec(x, order="F")[idx], bound.ravel(order="F")[idx]
    return xs <= bs if upper else xs >= bs


class _Levels:
    """The levels t one solve's bisection asks the sets of ``psi`` for; raises :class:`QCPBracketError` when their
    order shows that no bracket of the optimal value exists (module docstring).

    ``flipped``: psi is the negated function of a superlevel set, t the negated level.
    """

    def __init__(self, psi: PAR, flipped: bool) -> None:
        self.psi, self.flipped = psi, flipped
        lo, hi = psi.domain
        self.saturated = psi.value_range(lo, hi)[1]  # from this level on, {psi <= t} is psi's whole domain
        s = psi.slopes
        self.unbounded_below = bool((0 < s[0] < np.inf) or (-np.inf < s[-1] < 0))
        self.limit = UNBOUNDED_LEVELS * (1.0 + float(np.abs(psi.values).max()))
        self.previous: float | None = None
        self.full_domain_at: float | None = None

    def check(self, t: float) -> None:
        if t == self.previous:  # the lower and the upper end of one query
            return
        if self.full_domain_at is not None and t > self.full_domain_at:
            self._raise_infeasible()
        if t >= self.saturated:
            self.full_domain_at = t if self.full_domain_at is None else min(self.full_domain_at, t)
        if self.unbounded_below and self.previous is not None and t == 2.0 * self.previous and t <= -self.limit:
            self._raise_unbounded(t)
        if self.saturated == 0.0 and -ZERO_LEVEL * (self.limit / UNBOUNDED_LEVELS) < t < 0.0:
            self._raise_zero(t)
        self.previous = t

    def _raise_infeasible(self):
        lo, hi = self.psi.domain
        raise QCPBracketError(
            f"the problem is infeasible: at the level t = {self.full_domain_at:g} the set {{psi <= t}} is psi's whole "
            f"domain [{lo:g}, {hi:g}] (psi = +inf outside its walls), and the bisection found no point of it that "
            "satisfies the constraints. Relax the constraints on the argument of cvxpar.par(...), or give psi "
            "finite outer slopes in place of walls."
        )

    def _raise_zero(self, t: float):
        raise QCPBracketError(
            f"the bisection is closing in on the level 0 from below (now {t:.3g}) without a feasible level: psi <= 0 "
            "everywhere with sup psi = 0, so CVXPY takes 0 as a feasible upper end from the sign of psi and never "
            "asks for it, while the optimal value is 0 itself. Pass problem.solve(qcp=True, low=..., high=...) with "
            "high > 0 (e.g. low=-1, high=1)."
        )

    def _raise_unbounded(self, t: float):
        s = self.psi.slopes
        side, slope = ("-inf", s[0]) if 0 < s[0] < np.inf else ("+inf", s[-1])
        bound, limit, sign = ("upper", "+inf", -1.0) if self.flipped else ("lower", "-inf", 1.0)
        raise QCPBracketError(
            f"the problem looks unbounded: psi has no {bound} bound on the constraints' set (psi tends to {limit} as "
            f"its argument tends to {side}, outer slope {sign * slope:g}), and CVXPY's search for a bracket of the "
            f"optimal value reached the level {sign * t:g} of psi with feasible points at every level. Bound the "
            "argument of cvxpar.par(...) on that side in the constraints, or, if you know the optimal value lies in "
            "[low, high], pass problem.solve(qcp=True, low=..., high=...)."
        )


def _interval_sets(psi: PAR, x, t, flipped: bool = False) -> list:
    """Lazy constraints l(t) <= x <= u(t) with [l, u] = {z : psi(z) <= t}."""
    levels = _Levels(psi, flipped)

    def ends():
        if t.value is None:
            return None
        levels.check(float(t.value))
        return sublevel_interval(psi, t.value)

    def lower():
        lu = ends()
        if lu is None or (lu[0] > lu[1]).any():
            return False
        return _bound_constraint(x, lu[0], upper=False)

    def upper():
        lu = ends()
        if lu is None or (lu[0] > lu[1]).any():
            return False
        return _bound_constraint(x, lu[1], upper=True)

    return [lower, upper]


def par_sublevel(expr, t) -> list:
    """{x : psi(x) <= t} for the DQCP reduction (``SUBLEVEL_SETS``)."""
    return _interval_sets(expr.psi, expr.args[0], t)


def par_superlevel(expr, t) -> list:
    """{x : psi(x) >= t} for a monotone psi without walls: the sublevel set {-psi <= -t}."""
    psi = expr.psi
    flipped = PAR(psi.breakpoints, -psi.values, -psi.left_slope, -psi.right_slope)
    return _interval_sets(flipped, expr.args[0], -t, flipped=True)
