"""The Lasso benchmark's accuracy measure: the relative duality gap is ~0 at the optimum (Clarabel) and bounds
the relative suboptimality of any other point (weak duality); the design has AR(1) column correlations."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from cvxpar.bench.lasso import design, relative_gap


def _clarabel_lasso(A, y, lam):
    w = cp.Variable(A.shape[1])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(y - A @ w) + lam * cp.norm1(w)))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return w.value, prob.value


def test_gap_vanishes_at_the_optimum_and_bounds_the_suboptimality_elsewhere():
    A, y, lam_max = design(20, 50, 0.6, seed=3)
    lam = lam_max / 10
    w, best = _clarabel_lasso(A, y, lam)
    assert relative_gap(A, y, w, lam) <= 1e-7
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1e-1, 1.0):
        v = w + scale * rng.standard_normal(w.size)
        r = y - A @ v
        primal = 0.5 * float(r @ r) + lam * float(np.abs(v).sum())
        assert relative_gap(A, y, v, lam) >= (primal - best) / primal - 1e-9


def test_design_columns_have_ar1_correlation():
    A, _, _ = design(4000, 6, 0.6, seed=1)
    C = np.corrcoef(A, rowvar=False)
    assert abs(C[0, 1] - 0.6) < 0.05 and abs(C[0, 2] - 0.36) < 0.05
