"""Coordinate descent on every linear-model loss: Logistic, Huber and the user-defined losses (written
only against the public contract) reach a certified optimum that matches CVXPY + Clarabel on the
loss's cvxpy(z) form; a nonconvex psi with a non-quadratic loss stays monotone (the majorizer).  The Lasso
and multi-level PARs on wide least squares (Anderson-extrapolated epochs) match Clarabel and skglm; under
``method="auto"`` a cd run that stalls or reaches its limit is finished by ssnal from its point, and one that
finishes is not handed off; the least-squares polish on a working set's columns certifies the full problem."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from solver_reference import reference_objective
from user_losses import Poisson, SquaredHinge, clarabel_objective, hinge_data, poisson_data

import cvxpar
from cvxpar.bench.lasso import design
from cvxpar.constraints import Box
from cvxpar.losses import Huber, LeastSquares, Logistic

GRID = cvxpar.grids.uniform(0.25, 7)
L1G = cvxpar.pars.l1(GRID)
RIDGE = cvxpar.pars.ridge(GRID)


def make_loss(kind, n=40, d=25, sparse=False):
    rng = np.random.default_rng(7)
    if kind == "squared_hinge":
        A, y = hinge_data(n, d, seed=3)
    elif kind == "poisson":
        A, y = poisson_data(n, d, seed=4)
    else:
        A = rng.standard_normal((n, d))
        b = A @ (0.5 * rng.standard_normal(d)) + 0.3 * rng.standard_normal(n)
        b[:4] += 6.0  # outliers: some Huber rows on the linear part (h'' = 0 there)
        y = np.where(b > 0, 1.0, -1.0) if kind == "logistic" else b
    A = sp.csc_array(A) if sparse else A
    return {"logistic": Logistic, "huber": lambda A, b: Huber(A, b, M=1.0), "squared_hinge": SquaredHinge,
            "poisson": Poisson}[kind](A, y)


@pytest.mark.parametrize("kind", ["logistic", "huber", "squared_hinge", "poisson"])
@pytest.mark.parametrize("psi", [L1G, RIDGE], ids=["l1grid", "ridge"])
@pytest.mark.parametrize("box", [None, (-0.4, 0.5)])
def test_cd_certified_and_matches_clarabel(kind, psi, box):
    loss = make_loss(kind)
    lam = 2.0
    res = cvxpar.solve(loss, psi, lam, constraints=None if box is None else Box(*box), method="cd", tol=1e-9)
    ref = clarabel_objective(loss, psi, lam, box)
    assert res.status == "optimal", res
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)


@pytest.mark.parametrize("kind", ["logistic", "huber"])
def test_cd_on_sparse_data_matches_dense(kind):
    dense = cvxpar.solve(make_loss(kind), L1G, 2.0, method="cd", tol=1e-9)
    sparse = cvxpar.solve(make_loss(kind, sparse=True), L1G, 2.0, method="cd", tol=1e-9)
    assert dense.status == sparse.status == "optimal"
    assert abs(dense.objective - sparse.objective) <= 1e-8 * max(1.0, abs(dense.objective))


def test_cd_nonconvex_non_quadratic_loss_is_certified_and_no_worse_than_its_start():
    loss = make_loss("logistic")
    psi = cvxpar.pars.mcp(GRID, 2.0)
    res = cvxpar.solve(loss, psi, 2.0, method="cd", polish=False, tol=1e-8)
    assert res.status == "stationary", res
    prob_value = loss.value(np.zeros(loss.n_features)) + 2.0 * float(np.sum(psi(np.zeros(loss.n_features))))
    assert res.objective <= prob_value
    fista = cvxpar.solve(loss, psi, 2.0, method="fista", tol=1e-8)
    assert fista.status == "stationary"


def test_cd_nonconvex_needs_smoothness():
    with pytest.raises(ValueError, match="finite smoothness"):
        cvxpar.solve(make_loss("poisson"), cvxpar.pars.mcp(GRID, 2.0), 1.0, method="cd")


def _skglm_objective(A, y, lam):
    skglm = pytest.importorskip("skglm")
    n = A.shape[0]
    w = skglm.Lasso(alpha=lam / n, fit_intercept=False, tol=1e-12).fit(A, y).coef_
    r = y - A @ w
    return 0.5 * float(r @ r) + lam * float(np.abs(w).sum())


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rho=st.sampled_from([0.0, 0.6, 0.9]), ratio=st.sampled_from([10.0, 30.0, 100.0]))
def test_cd_lasso_is_certified_and_matches_clarabel_and_skglm(seed, rho, ratio):
    A, y, lam_max = design(15, 60, rho, seed)
    lam = lam_max / ratio
    res = cvxpar.solve(LeastSquares(A, y), cvxpar.pars.l1(), lam, method="cd", tol=1e-9, max_iter=50_000)
    assert res.status == "optimal", res
    ref = reference_objective(A, y, cvxpar.pars.l1(), lam)
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)
    assert res.objective <= _skglm_objective(A, y, lam) + 1e-9 * max(1.0, abs(ref))


@pytest.mark.parametrize("box", [None, "per-coordinate"])
def test_cd_multilevel_par_on_wide_least_squares_uses_extrapolation_and_matches_clarabel(box):
    A, y, _ = design(30, 120, 0.9, 3)
    lo = np.where(np.arange(120) % 2 == 0, -0.6, -1.0)
    cons = None if box is None else Box(lo, 1.0)
    res = cvxpar.solve(LeastSquares(A, y), RIDGE, 0.5, constraints=cons, method="cd", tol=1e-9)
    assert res.status == "optimal", res
    assert res.info["extrapolations"] > 0
    ref = reference_objective(A, y, RIDGE, 0.5, cons)
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)


def test_auto_hands_a_stalled_cd_to_ssnal_on_the_wide_lasso_at_small_lambda(large_rules):
    A, y, lam_max = design(20, 95, 0.6, 0)  # d < 5 n: auto starts with cd (cvxpar.solve._saturated)
    lam = lam_max / 1000
    res = cvxpar.solve(LeastSquares(A, y), cvxpar.pars.l1(), lam, tol=1e-9)
    assert res.status == "optimal", res
    assert res.method == "ssnal" and res.info["handoff"]["from"] == "cd", res.info.get("handoff")
    assert "free coordinates > n_samples" in res.info["handoff"]["message"]
    ref = reference_objective(A, y, cvxpar.pars.l1(), lam)
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)
    assert res.objective <= _skglm_objective(A, y, lam) + 1e-9 * abs(ref)


def test_auto_hands_cd_at_its_iteration_limit_to_ssnal(large_rules):
    A, y, lam_max = design(20, 200, 0.0, 1)
    res = cvxpar.solve(LeastSquares(A, y), cvxpar.pars.l1(), lam_max / 20, tol=1e-9, max_iter=20)
    assert res.info["handoff"]["status"] == "max_iter" and res.info["handoff"]["epochs"] == 20
    assert res.method == "ssnal"
    ref = reference_objective(A, y, cvxpar.pars.l1(), lam_max / 20)
    assert res.status == "optimal" and abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref))


def test_an_explicit_cd_never_hands_off_and_reports_its_limit_honestly():
    A, y, lam_max = design(20, 200, 0.6, 0)
    res = cvxpar.solve(LeastSquares(A, y), cvxpar.pars.l1(), lam_max / 1000, method="cd", tol=1e-9, max_iter=30)
    assert res.method == "cd" and "handoff" not in res.info
    assert res.status == "max_iter" and res.iterations == 30


def test_auto_picks_cd_for_the_clearly_tall_lasso_and_matches_clarabel(large_rules):
    A, y, lam_max = design(200, 40, 0.6, 2)
    lam = lam_max / 100
    res = cvxpar.solve(LeastSquares(A, y), cvxpar.pars.l1(), lam)
    assert res.method == "cd" and res.status == "optimal", res
    ref = reference_objective(A, y, cvxpar.pars.l1(), lam)
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)
    # near-square tall problems stay with ssnal
    A, y, lam_max = design(60, 40, 0.6, 2)
    assert cvxpar.solve(LeastSquares(A, y), cvxpar.pars.l1(), lam_max / 100).method == "ssnal"


def test_auto_keeps_cd_on_a_wide_lasso_that_cd_finishes():
    # at lam_max/100 the iterate's free set exceeds n_samples for a few outer steps, yet cd sheds the excess
    # coordinates and certifies: no hand-off (ssnal would cost more than the cd that remains)
    A, y, lam_max = design(40, 800, 0.0, 0)
    lam = lam_max / 100
    res = cvxpar.solve(LeastSquares(A, y), cvxpar.pars.l1(), lam, tol=1e-9)
    assert res.method == "cd" and "handoff" not in res.info, res.info.get("handoff")
    assert res.status == "optimal", res
    ref = reference_objective(A, y, cvxpar.pars.l1(), lam)
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)


def test_polish_on_a_working_set_certifies_the_full_problem_and_holds_the_other_coordinates():
    import cvxpy as cp

    from cvxpar.solvers import cd
    from cvxpar.solvers._problem import Problem

    rng = np.random.default_rng(5)
    A, y, lam_max = design(30, 150, 0.6, 4)
    lam = lam_max / 20 * rng.uniform(0.5, 1.5, 150)
    lower = -rng.uniform(0.05, 1.0, 150)
    cons = Box(lower, 1.0)
    v = cp.Variable(150)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ v - y) + lam @ cp.abs(v)), [v >= lower, v <= 1.0]).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    x_ref = np.clip(v.value, lower, 1.0)
    support = np.flatnonzero(np.abs(x_ref) > 1e-7)
    ws = np.union1d(support, rng.choice(150, 20, replace=False))
    x = np.zeros(150)
    x[ws] = np.clip(x_ref[ws] + 1e-3 * rng.standard_normal(ws.size), lower[ws], 1.0)
    prob = Problem(LeastSquares(A, y), cvxpar.pars.l1(), lam, cons)
    kern = cd._Kernels(prob)
    px, cert, improved = cd._polish_on(prob, kern, ws, x, y - A @ x, 1.0 / kern.cols.sq_norms.max(), 8, 1e-9)
    assert improved and cert is not None and cert.certifies(1e-9), cert
    assert np.array_equal(np.delete(px, ws), np.delete(x, ws))
    ref = reference_objective(A, y, cvxpar.pars.l1(), lam, cons)
    assert abs(cert.objective - ref) <= 1e-8 * max(1.0, abs(ref)), (cert.objective, ref)
