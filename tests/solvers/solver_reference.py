"""An independent CVXPY + Clarabel reference for the solver tests (cp.maximum of affine pieces).

Uses ``cvxpar.reference`` when it is importable; otherwise builds the epigraph itself.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from cvxpar.constraints import Box, Simplex


def reference_objective(A, b, psi, lam, constraints=None, loss="ls") -> float:
    """The optimal value of loss(x) + sum lam_i psi(x_i) over C (convex psi), by Clarabel."""
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
    cons = []
    lo, hi = psi.domain
    if np.isfinite(lo):
        cons.append(x >= lo)
    if np.isfinite(hi):
        cons.append(x <= hi)
    for c in constraints if isinstance(constraints, (list, tuple)) else [constraints] if constraints else []:
        if isinstance(c, Box):
            if np.any(np.isfinite(c.lower)):
                cons.append(x >= c.lower)
            if np.any(np.isfinite(c.upper)):
                cons.append(x <= c.upper)
        elif isinstance(c, Simplex):
            cons += [x >= 0, cp.sum(x) == c.total]
        else:
            if c.A_eq is not None:
                cons.append(c.A_eq @ x == c.b_eq)
            if c.A_ub is not None:
                cons.append(c.A_ub @ x <= c.b_ub)
    prob = cp.Problem(cp.Minimize(f + reg), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=500)
    return float(prob.value)
