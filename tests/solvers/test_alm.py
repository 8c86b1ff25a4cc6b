"""The augmented Lagrangian on the linear rows ("alm"): certified optima that match CVXPY + Clarabel, for
least squares, logistic and Huber, dense and sparse A, equality and inequality rows with bounds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from solver_reference import reference_objective

import cvxpar
from cvxpar import grids, pars
from cvxpar.constraints import Box, Linear, NonNeg, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic
from cvxpar.solvers import alm


def _rows(kind: str, rng, d: int):
    G = rng.standard_normal((3, d))
    return {
        "simplex": [Simplex(1.0)],
        "equalities": [Linear(A_eq=rng.standard_normal((2, d)), b_eq=np.array([1.0, -0.5]))],
        "inequalities": [Linear(A_ub=G, b_ub=np.full(3, -0.3))],  # cut off the unconstrained optimum
        "nonneg + budget": [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.2 * d])],
        "box + both": [Box(-0.8, 0.8), Linear(A_eq=np.ones((1, d)), b_eq=[1.0], A_ub=G, b_ub=np.full(3, -0.3))],
    }[kind]


KINDS = ["simplex", "equalities", "inequalities", "nonneg + budget", "box + both"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(20, 40), (50, 15)])
def test_least_squares_with_rows_matches_clarabel(kind, shape):
    rng = np.random.default_rng(1)
    n, d = shape
    A, b = rng.standard_normal((n, d)), rng.standard_normal(n)
    psi = pars.ridge(grids.uniform(0.2, 9))
    cons = _rows(kind, rng, d)
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.5, constraints=cons, method="alm")
    ref = reference_objective(A, b, psi, 0.5, cons)
    assert res.status == "optimal", res.message
    assert cvxpar.certificate(LeastSquares(A, b), psi, 0.5, res.x, cons).certifies(1e-8)
    assert res.objective <= ref + 1e-7 * max(1.0, abs(ref))  # Clarabel's own accuracy is ~1e-8
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


@pytest.mark.parametrize("loss_name", ["logistic", "huber"])
@pytest.mark.parametrize("kind", ["simplex", "inequalities"])
def test_other_linear_model_losses_with_rows(loss_name, kind):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((40, 25)) / 5.0
    target = np.sign(rng.standard_normal(40)) if loss_name == "logistic" else rng.standard_normal(40)
    loss = Logistic(A, target) if loss_name == "logistic" else Huber(A, target)
    psi = pars.l1(grids.uniform(0.25, 7))
    cons = _rows(kind, rng, 25)
    res = cvxpar.solve(loss, psi, 0.2, constraints=cons)
    assert res.method == "alm"
    ref = reference_objective(A, target, psi, 0.2, cons, loss=loss_name)
    assert res.status == "optimal", res.message
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


def test_sparse_design_with_simplex():
    rng = np.random.default_rng(3)
    A = sp.random(60, 80, density=0.1, random_state=3, format="csc")
    b = rng.standard_normal(60)
    psi = pars.ridge(grids.uniform(0.05, 11))
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.1, constraints=Simplex(1.0))
    ref = reference_objective(A.toarray(), b, psi, 0.1, [Simplex(1.0)])
    assert res.method == "alm" and res.status == "optimal"
    assert np.all(res.x >= 0.0) and abs(res.x.sum() - 1.0) <= 1e-12
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


def test_refuses_a_nonconvex_psi_and_auto_falls_back_to_admm():
    rng = np.random.default_rng(4)
    A, b = rng.standard_normal((15, 10)), rng.standard_normal(15)
    psi = pars.mcp(grids.uniform(0.5, 5), 1.0)
    with pytest.raises(ValueError, match="'alm' needs a convex psi"):
        cvxpar.solve(LeastSquares(A, b), psi, 0.5, constraints=Simplex(1.0), method="alm")
    assert cvxpar.solve(LeastSquares(A, b), psi, 0.5, constraints=Simplex(1.0), max_iter=200).method == "admm"


def test_iteration_limit_is_reported_honestly():
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((30, 60)), rng.standard_normal(30)
    psi = pars.ridge(grids.uniform(0.1, 11))
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.3, constraints=Simplex(1.0), method="alm", max_iter=1,
                       polish=False, sigma0=1e-6)  # one outer step with a tiny penalty: the row is far off
    cert = cvxpar.certificate(LeastSquares(A, b), psi, 0.3, res.x, Simplex(1.0))
    assert res.status == "max_iter" and not cert.certifies(1e-5)


def test_augmented_loss_derivatives_match_finite_differences():
    rng = np.random.default_rng(6)
    A, y = rng.standard_normal((8, 5)), np.sign(rng.standard_normal(8))
    rows = rng.standard_normal((3, 5))
    shift = rng.standard_normal(3)
    aug = alm._Augmented(Logistic(A, y), np.vstack([A, rows]), shift, n_eq=1)
    x = rng.standard_normal(5)
    z = aug.linear(x)
    ref = Logistic(A, y).value(x) + 0.5 * (rows[0] @ x - shift[0]) ** 2 + 0.5 * np.sum(
        np.maximum(rows[1:] @ x - shift[1:], 0.0) ** 2)
    assert aug.value(x) == pytest.approx(ref, rel=1e-13)
    eps = 1e-6
    fd = np.array([(aug.value(x + eps * e) - aug.value(x - eps * e)) / (2 * eps) for e in np.eye(5)])
    np.testing.assert_allclose(aug.grad(x), fd, rtol=1e-6, atol=1e-7)
    dz = np.array([(aug.dh(z + eps * e) - aug.dh(z - eps * e)) / (2 * eps) for e in np.eye(z.size)]).diagonal()
    np.testing.assert_allclose(aug.d2h(z), dz, rtol=1e-5, atol=1e-6)
