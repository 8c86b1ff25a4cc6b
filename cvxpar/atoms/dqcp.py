"""DQCP sublevel and superlevel sets of the PAR atom.

A quasiconvex psi (nonincreasing, then nondecreasing; :attr:`cvxpar.PAR.curvature`) has interval
sublevel sets {x : psi(x) <= alpha} = [l(alpha), u(alpha)] whose ends are piecewise linear in
alpha (disciplined quasiconvex programming: Agrawal & Boyd 2020).  CVXPY's bisection (``solve(qcp=True)``)
fixes alpha = t.value at each step, so the sets are *lazy*: callables returning a constraint,
``True`` (no constraint) or ``False`` (empty set), as ``cvxpy/reductions/dqcp2dcp/sets.py`` does
for ``length`` and ``sign``.  A monotone psi without walls is also quasiconcave; its superlevel
sets are the sublevel sets of -psi.

Registered in ``SUBLEVEL_SETS`` / ``SUPERLEVEL_SETS`` by :mod:`cvxpar._cvxpy_registration`.
"""

from __future__ import annotations

import numpy as np
from cvxpy.atoms.affine.vec import vec

from cvxpar.par import PAR


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


def _interval_sets(psi: PAR, x, t) -> list:
    """Lazy constraints l(t) <= x <= u(t) with [l, u] = {z : psi(z) <= t}."""

    def ends():
        if t.value is None:
            return None
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
    return _interval_sets(flipped, expr.args[0], -t)
