"""An independent CVXPY + Clarabel reference for the solver tests (psi as cp.maximum of its affine pieces).

A solver's reported optimal value is not trusted as such: its point x_ref is scored in our own terms
(the loss and psi's max of affine pieces evaluated with NumPy on the raw data), and the value returned is
that score, F(x_ref), an upper bound on the optimum.  It is accepted only when the solver says
``optimal``, x_ref is feasible in the constraints' own units (:data:`FEASIBILITY_RTOL`) and the solver's
value agrees with the score (:data:`VALUE_RTOL`): an inaccurate solve can report a value below what its
own point scores (its epigraph variables below the pieces), which a test would read as a better optimum
than the true one.  Otherwise the next of :data:`SETTINGS` runs (looser tolerances, which Clarabel
reaches cleanly where 1e-12 stalls), and when none is accepted the reference raises instead of
returning a misleading number.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from cvxpar.constraints import Box, Simplex

#: Clarabel settings tried in turn: the tightest first.
SETTINGS = (
    {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "max_iter": 500},
    {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "max_iter": 500},
    {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9, "max_iter": 1000},
)
#: a bound or row counts as met when violated by at most this times (1 + the size of its terms)
FEASIBILITY_RTOL = 1e-9
#: the solver's value and our score of its point agree to this times max(1, |score|)
VALUE_RTOL = 1e-9


class UnreliableReference(AssertionError):
    """No setting gave a feasible point whose score matches the solver's value: the test has no reference."""


def reference_objective(A, b, psi, lam, constraints=None, loss="ls") -> float:
    """The optimal value of loss(x) + sum lam_i psi(x_i) over C (convex psi): our score of Clarabel's point,
    checked as the module docstring says.

    Raises
    ------
    UnreliableReference
        When no setting of :data:`SETTINGS` gives an accepted point.
    """
    A = np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=np.float64)
    d = A.shape[1]
    x = cp.Variable(d)
    slopes, intercepts = psi.max_affine()
    lam_v = np.broadcast_to(np.asarray(lam, dtype=float), (d,))
    pieces = [a * x + c for a, c in zip(slopes, intercepts, strict=True)]
    reg = cp.sum(cp.multiply(lam_v, cp.maximum(*pieces) if len(pieces) > 1 else pieces[0]))
    if loss == "ls":
        f = 0.5 * cp.sum_squares(A @ x - b)
    elif loss == "logistic":
        f = cp.sum(cp.logistic(cp.multiply(-b, A @ x)))
    else:
        f = cp.sum(cp.huber(A @ x - b, 1.0)) / 2  # cvxpy's huber is 2x ours
    lower, upper, rows = _bounds_and_rows(psi, constraints, d)
    lo_idx, hi_idx = np.flatnonzero(np.isfinite(lower)), np.flatnonzero(np.isfinite(upper))
    cons = [x[lo_idx] >= lower[lo_idx]] if lo_idx.size else []
    cons += [x[hi_idx] <= upper[hi_idx]] if hi_idx.size else []
    cons += [G @ x == h if equality else G @ x <= h for G, h, equality in rows]
    prob = cp.Problem(cp.Minimize(f + reg), cons)
    tried = []
    for setting in SETTINGS:
        try:
            prob.solve(solver=cp.CLARABEL, **setting)
        except cp.SolverError as exc:
            tried.append(f"{setting}: {exc}")
            continue
        if x.value is None:
            tried.append(f"{setting}: status {prob.status}, no point")
            continue
        xr = np.asarray(x.value, dtype=np.float64)
        score = _loss(A, b, xr, loss) + float(np.sum(lam_v * np.max(np.outer(xr, slopes) + intercepts, axis=1)))
        violation = _violation(xr, lower, upper, rows)
        agree = abs(float(prob.value) - score) <= VALUE_RTOL * max(1.0, abs(score))
        if prob.status == cp.OPTIMAL and violation <= FEASIBILITY_RTOL and agree:
            return score
        tried.append(f"{setting}: status {prob.status}, value {prob.value!r}, its point scores {score!r}, "
                     f"relative infeasibility {violation:.1e}")
    raise UnreliableReference("Clarabel gave no trustworthy reference:\n" + "\n".join(tried))


def _loss(A, b, x, loss: str) -> float:
    z = A @ x
    if loss == "ls":
        return 0.5 * float(np.sum((z - b) ** 2))
    if loss == "logistic":
        return float(np.sum(np.logaddexp(0.0, -b * z)))
    r = np.abs(z - b)
    return float(np.sum(np.where(r <= 1.0, 0.5 * r * r, r - 0.5)))


def _bounds_and_rows(psi, constraints, d: int):
    """(lower, upper, [(G, h, is_equality)]): psi's domain and the Boxes merged, a Simplex's and a Linear's
    rows."""
    lo, hi = psi.domain
    lower, upper, rows = np.full(d, lo, dtype=float), np.full(d, hi, dtype=float), []
    for c in constraints if isinstance(constraints, (list, tuple)) else [constraints] if constraints else []:
        if isinstance(c, Box):
            lower = np.maximum(lower, np.broadcast_to(np.asarray(c.lower, dtype=float), (d,)))
            upper = np.minimum(upper, np.broadcast_to(np.asarray(c.upper, dtype=float), (d,)))
        elif isinstance(c, Simplex):
            lower = np.maximum(lower, 0.0)
            rows.append((np.ones((1, d)), np.array([float(c.total)]), True))
        else:
            if c.A_eq is not None:
                rows.append((np.atleast_2d(np.asarray(c.A_eq, dtype=float)), np.atleast_1d(np.asarray(c.b_eq, dtype=float)), True))
            if c.A_ub is not None:
                rows.append((np.atleast_2d(np.asarray(c.A_ub, dtype=float)), np.atleast_1d(np.asarray(c.b_ub, dtype=float)), False))
    return lower, upper, rows


def _violation(x, lower, upper, rows) -> float:
    """The largest violation of a bound or row, relative to 1 + the size of its terms."""
    worst = 0.0
    with np.errstate(invalid="ignore"):
        for gap, size in ((lower - x, np.abs(lower)), (x - upper, np.abs(upper))):
            finite = np.isfinite(size)
            if finite.any():
                worst = max(worst, float(np.max(gap[finite] / (1.0 + size[finite]))))
    for G, h, equality in rows:
        g = G @ x - h
        g = np.abs(g) if equality else g
        worst = max(worst, float(np.max(g / (1.0 + np.abs(h) + np.abs(G) @ np.abs(x)))))
    return worst
