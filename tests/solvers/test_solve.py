"""cvxpar.solve against an independent CVXPY + Clarabel reference: objective to 1e-7 relative,
certified residual, honest status; for every deterministic method and small sizes (CI)."""

from __future__ import annotations

import numpy as np
import pytest
from solver_reference import reference_objective

import cvxpar
from cvxpar.constraints import Box, NonNeg
from cvxpar.losses import LeastSquares

GRID = cvxpar.grids.uniform(0.5, 7)
PSIS = {
    "ridge7": cvxpar.pars.ridge(GRID),
    "l1": cvxpar.pars.l1(),
    "l1grid": cvxpar.pars.l1(GRID),
    "parq": cvxpar.pars.parq(GRID),
}
CONS = {"none": None, "box": Box(-0.6, 1.1), "nonneg": NonNeg(), "boxvec": None}


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = A @ (0.5 * rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    return A, b


@pytest.mark.parametrize("method", ["fista", "pg", "cd", "ssnal"])
@pytest.mark.parametrize("psi_name", list(PSIS))
@pytest.mark.parametrize("con_name", list(CONS))
@pytest.mark.parametrize("shape", [(20, 50), (40, 15)])
def test_least_squares_matches_clarabel(method, psi_name, con_name, shape):
    A, b = _data(*shape)
    d = shape[1]
    psi = PSIS[psi_name]
    cons = CONS[con_name]
    if con_name == "boxvec":
        rng = np.random.default_rng(1)
        cons = Box(-rng.uniform(0.1, 1.0, d), rng.uniform(0.1, 1.0, d))
    lam = 0.7
    res = cvxpar.solve(LeastSquares(A, b), psi, lam, constraints=cons, method=method, tol=1e-9)
    ref = reference_objective(A, b, psi, lam, cons)
    assert res.status == "optimal", res
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)
    cert = cvxpar.certificate(LeastSquares(A, b), psi, lam, res.x, cons)
    assert cert.certifies(1e-9)
    assert res.gap is not None and abs(res.gap) <= 1e-6 * max(1.0, abs(ref))
    assert res.method == method


def test_auto_reports_its_pick(large_rules):
    A, b = _data(20, 40)
    res = cvxpar.solve(LeastSquares(A, b), PSIS["ridge7"], 0.5)
    assert res.method == "ssnal" and res.status == "optimal"


def test_auto_picks_cd_for_the_wide_lasso_and_matches_sklearn():
    """The wide Lasso (auto -> "cd"): scikit-learn's minimizer and objective, certified, at a size where
    the working set grows over several outer steps before the polish."""
    from sklearn.linear_model import Lasso

    n, d = 60, 600
    rng = np.random.default_rng(3)
    A = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[rng.choice(d, 12, replace=False)] = rng.standard_normal(12)
    b = A @ w + 0.1 * rng.standard_normal(n)
    alpha = float(np.max(np.abs(A.T @ b))) / n / 20
    res = cvxpar.solve(LeastSquares(A, b), PSIS["l1"], n * alpha)
    assert res.method == "cd" and res.status == "optimal"
    assert cvxpar.certificate(LeastSquares(A, b), PSIS["l1"], n * alpha, res.x).certifies(1e-8)
    est = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=1_000_000).fit(A, b)
    ref = 0.5 * float(np.sum((b - A @ est.coef_) ** 2)) + n * alpha * float(np.abs(est.coef_).sum())
    assert res.objective <= ref + 1e-9 * abs(ref)
    assert np.max(np.abs(np.asarray(res.x) - est.coef_)) <= 1e-6


@pytest.mark.parametrize("psi_name", ["l1", "ridge7"])
def test_cd_on_sparse_A_matches_dense(psi_name):
    """cd's working-set gradient A_ws^T r on a scipy.sparse A (CSC) gives the dense run's certified answer."""
    import scipy.sparse as sp

    A, b = _data(30, 120, seed=5)
    A[np.abs(A) < 0.8] = 0.0
    dense = cvxpar.solve(LeastSquares(A, b), PSIS[psi_name], 0.5, method="cd")
    sparse = cvxpar.solve(LeastSquares(sp.csc_array(A), b), PSIS[psi_name], 0.5, method="cd")
    assert dense.status == sparse.status == "optimal"
    assert abs(sparse.objective - dense.objective) <= 1e-9 * abs(dense.objective)
    ref = reference_objective(A, b, PSIS[psi_name], 0.5)
    assert abs(sparse.objective - ref) <= 1e-7 * max(1.0, abs(ref))


def test_auto_keeps_ssnal_for_tall_or_multi_level_least_squares(large_rules):
    A, b = _data(40, 15)
    assert cvxpar.solve(LeastSquares(A, b), PSIS["l1"], 0.5).method == "ssnal"
    A, b = _data(20, 40)
    assert cvxpar.solve(LeastSquares(A, b), PSIS["l1grid"], 0.5).method == "ssnal"


def test_per_coordinate_lambda():
    A, b = _data(25, 30)
    lam = np.linspace(0.1, 2.0, 30)
    res = cvxpar.solve(LeastSquares(A, b), PSIS["l1grid"], lam, method="fista")
    ref = reference_objective(A, b, PSIS["l1grid"], lam)
    assert res.status == "optimal"
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref))


def test_max_iter_is_reported_honestly():
    A, b = _data(60, 200)
    res = cvxpar.solve(LeastSquares(A, b), PSIS["ridge7"], 0.05, method="pg", max_iter=3, polish=False)
    assert res.status == "max_iter" and "iteration limit" in res.message
    assert res.iterations == 3


def test_warm_start_x0():
    A, b = _data(20, 40)
    loss = LeastSquares(A, b)
    first = cvxpar.solve(loss, PSIS["ridge7"], 0.5, method="fista")
    again = cvxpar.solve(loss, PSIS["ridge7"], 0.5, method="fista", x0=first.x)
    assert again.status == "optimal" and again.iterations <= 10


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ssnal", "fista"])
def test_issue_problem_matches_clarabel(method):
    """The issue's 7-level ridge problem (200 x 2000 with CVXPAR_FULL=1, 60 x 600 in CI)."""
    import os

    n, d = (200, 2000) if os.environ.get("CVXPAR_FULL") == "1" else (60, 600)
    A, b = _data(n, d, seed=7)
    res = cvxpar.solve(LeastSquares(A, b), PSIS["ridge7"], 1.0, method=method)
    ref = reference_objective(A, b, PSIS["ridge7"], 1.0)
    assert res.status == "optimal", res
    assert res.objective <= ref + 1e-7 * abs(ref)
    assert abs(res.objective - ref) <= 1e-7 * abs(ref)
    assert res.quantization_rate >= 1 - n / d - 1e-12  # Ma & Xiao 2025: at most n free coordinates
