"""Tall least squares on its d x d normal equations: the square problem has the data's value (up to the
constant kappa) and gradient, in the Cholesky and the rank-deficient branch; ssnal solves tall problems through
it to the optimum CVXPY + Clarabel finds, and continues on the data when the square answer does not certify."""

from __future__ import annotations

import numpy as np
import pytest
from user_losses import clarabel_objective

import cvxpar
from cvxpar.losses import LeastSquares
from cvxpar.solvers import _tall, ssnal

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.25, 9))


@pytest.mark.parametrize("collinear", [False, True])
def test_square_least_squares_has_the_same_value_and_gradient(collinear):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((301, 9))
    if collinear:  # a singular A^T A: the eigendecomposition branch
        A[:, 4] = 2.0 * A[:, 1] - A[:, 7]
    b = rng.standard_normal(301)
    square, kappa = _tall.square_least_squares(A, b)
    full = LeastSquares(A, b)
    assert square.op.shape[1] == 9 and square.op.shape[0] <= 9 and kappa >= 0
    for x in rng.standard_normal((5, 9)):
        assert square.value(x) + kappa == pytest.approx(full.value(x), rel=1e-10)
        np.testing.assert_allclose(square.grad(x), full.grad(x), rtol=1e-9, atol=1e-9)



@pytest.fixture(autouse=True)
def _without_the_direct_route(monkeypatch):
    """These tests exercise the normal-equations route, which problems past ssnal.DIRECT_MAX_D coordinates
    take; switching the small-problem direct Newton route off keeps their sizes small."""
    monkeypatch.setattr(ssnal, "DIRECT_MAX_D", 0)

@pytest.mark.parametrize("box", [None, (-0.6, 0.6)])
def test_ssnal_solves_tall_least_squares_on_the_normal_equations_to_clarabels_optimum(box):
    rng = np.random.default_rng(1)
    n, d = 600, 40
    A = rng.standard_normal((n, d))
    b = A @ rng.choice(np.arange(-4, 5) * 0.25, d) + 0.1 * rng.standard_normal(n)
    loss, lam = LeastSquares(A, b), 0.05 * n
    cons = None if box is None else cvxpar.constraints.Box(*box)
    res = cvxpar.solve(loss, PSI, lam, constraints=cons, method="ssnal", tol=1e-10)
    assert res.status == "optimal" and res.info["route"] == "normal equations"
    assert cvxpar.certificate(loss, PSI, lam, res.x, cons).certifies(1e-10)
    ref = clarabel_objective(loss, PSI, lam, box)
    assert res.objective <= ref + 1e-7 * abs(ref)
    assert res.info["trace"][-1][1] == pytest.approx(res.objective, rel=1e-12)  # rows show the data's objective


def test_an_uncertified_square_answer_is_finished_on_the_data(monkeypatch):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((300, 20))
    b = A @ rng.standard_normal(20) + 0.1 * rng.standard_normal(300)
    exact = _tall.square_least_squares

    def perturbed(A, b):  # a square problem whose optimum is slightly off the data's
        square, kappa = exact(A, b)
        return LeastSquares(square.op.A, square.target + 1e-3), kappa

    monkeypatch.setattr(ssnal, "square_least_squares", perturbed)
    res = cvxpar.solve(LeastSquares(A, b), PSI, 3.0, method="ssnal")
    assert res.info["route"] == "normal equations, then the data" and res.status == "optimal"
    want = cvxpar.solve(LeastSquares(A, b), PSI, 3.0, method="fista", max_iter=100000, tol=1e-10)
    np.testing.assert_allclose(res.x, want.x, atol=1e-6)
