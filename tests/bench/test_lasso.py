"""The Lasso benchmark's accuracy measure: the relative duality gap is ~0 at the optimum (Clarabel) and bounds
the relative suboptimality of any other point (weak duality); the design has AR(1) column correlations; a
reference solver is timed at its loosest tol reaching the gap target, else at its answer closest to it."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from cvxpar.bench import lasso
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


def test_calibration_takes_the_loosest_tol_reaching_the_target_else_the_closest_answer(monkeypatch):
    # a fake solver: its answer is its gap, its time a table (the 1e-12 rung is slow and stops the ladder)
    seconds = {1e-6: 2.0, 1e-8: 1.0, 1e-10: 3.0, 1e-12: 9.0}
    gaps = {1e-6: 1e-3, 1e-8: 1e-5, 1e-10: 1e-4, 1e-12: 1e-5}

    def timed(fit):
        tol, gap = fit()
        return seconds[tol], gap

    monkeypatch.setattr(lasso, "_timed", timed)
    monkeypatch.setattr(lasso, "relative_gap", lambda A, y, gap, lam: gap)
    never = lasso._calibrate(lambda A, y, lam, tol: (tol, gaps[tol]), None, None, 1.0)
    assert never == (1e-8, [1.0], 1e-5)  # the smallest gap, the faster of the two that reach it
    reached = lasso._calibrate(lambda A, y, lam, tol: (tol, 1e-12 if tol <= 1e-10 else 1e-3), None, None, 1.0)
    assert reached == (1e-10, [3.0], 1e-12)  # the loosest rung reaching the target
