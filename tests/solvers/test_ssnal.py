"""ssnal internals: the Newton direction through the cached A A^T, and through the incrementally
updated A_J A_J^T (FreeGram), equals the direct one; the line search's phi (from A^T u, without a
product with A) equals phi from its definition; FreeGram's A z update and ||A||^2 estimate match
direct computations."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import cvxpar
from cvxpar.losses import LeastSquares
from cvxpar.solvers import ssnal
from cvxpar.solvers._gram import FreeGram, cholesky_solve
from cvxpar.solvers._problem import Problem

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _problem(n=15, d=60, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = rng.standard_normal(n)
    return Problem(LeastSquares(sp.csc_array(A) if sparse else A, b), PSI, 0.3), A, b


def test_newton_direction_downdate_matches_direct():
    """Few fixed coordinates (2|J| > d): (I + sigma (A A^T - A_K A_K^T)) du = -g is the direct system."""
    prob, A, b = _problem()
    rng = np.random.default_rng(1)
    z = 2.0 * rng.standard_normal(60)
    z[:5] = 0.5  # on breakpoints: fixed
    grad = rng.standard_normal(15)
    sigma = 0.7
    J = ~np.asarray(prob.fixed(z))
    assert 15 <= J.sum() and 2 * J.sum() > 60
    du = ssnal._newton_direction(prob, z, grad, sigma, ssnal._Gram(prob.loss.op))
    AJ = A[:, J]
    want = np.linalg.solve(np.eye(15) + sigma * AJ @ AJ.T, -grad)
    np.testing.assert_allclose(du, want, rtol=1e-10, atol=1e-12)
    sprob, _, _ = _problem(sparse=True)  # sparse A: the direct product
    np.testing.assert_allclose(ssnal._newton_direction(sprob, z, grad, sigma, ssnal._Gram(sprob.loss.op)), want,
                               rtol=1e-10, atol=1e-12)


def test_phi_from_atu_matches_the_definition():
    """phi(u) = 1/2||u||^2 + b^T u + ||w||^2/(2 sigma) - p(z) - ||z - w||^2/(2 sigma) - ||x||^2/(2 sigma)."""
    prob, A, b = _problem(seed=3)
    rng = np.random.default_rng(4)
    x, u, sigma = rng.standard_normal(60), rng.standard_normal(15), 0.4
    val, z = ssnal._phi(prob, x, u, A.T @ u, sigma)
    w = x - sigma * A.T @ u
    np.testing.assert_allclose(z, prob.prox(w, sigma))
    want = (0.5 * u @ u + b @ u + w @ w / (2 * sigma) - prob.penalty(z) - (z - w) @ (z - w) / (2 * sigma)
            - x @ x / (2 * sigma))
    assert abs(val - want) <= 1e-10 * max(1.0, abs(want))


def test_newton_direction_through_free_gram_matches_direct_along_a_sequence_of_splits():
    """FreeGram updates A_J A_J^T by the columns entering and leaving J; each direction equals the
    direct solve, through fresh starts (2|J| > d and 2|J| <= d) and chains of updates."""
    n, d = 15, 60
    prob, A, b = _problem(n=n, d=d, seed=5)
    gram = FreeGram(A)
    rng = np.random.default_rng(6)
    grad = rng.standard_normal(n)
    z = 2.0 * rng.standard_normal(d)
    for step, n_fixed in enumerate([3, 5, 8, 30, 33, 29, 45, 44, 5]):
        zz = z.copy()
        zz[rng.permutation(d)[:n_fixed]] = 0.5  # on a breakpoint: fixed
        sigma = 0.3 + step
        J = ~np.asarray(prob.fixed(zz))
        AJ = A[:, J]
        want = np.linalg.solve(np.eye(n) + sigma * AJ @ AJ.T, -grad)
        got = ssnal._newton_direction(prob, zz, grad, sigma, gram)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(gram(J), AJ @ AJ.T, rtol=1e-12, atol=1e-10)


def test_free_gram_product_update_and_norm():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((20, 90))
    gram = FreeGram(A)
    z = rng.standard_normal(90)
    z2 = z.copy()
    z2[[3, 17, 40]] += [1.0, -2.0, 0.5]  # few changes: the column update
    np.testing.assert_allclose(gram.update_product(A @ z, z, z2), A @ z2, rtol=1e-12, atol=1e-12)
    z3 = rng.standard_normal(90)  # most entries change: the direct product
    np.testing.assert_allclose(gram.update_product(A @ z, z, z3), A @ z3, rtol=1e-12, atol=1e-12)
    true = np.linalg.norm(A, 2) ** 2
    assert true <= gram.norm2_squared() <= 1.06 * true


def test_cholesky_solve_solves_and_reports_indefinite():
    rng = np.random.default_rng(8)
    B = rng.standard_normal((12, 12))
    M = B @ B.T + np.eye(12)
    r = rng.standard_normal(12)
    np.testing.assert_allclose(cholesky_solve(M, r), np.linalg.solve(M, r), rtol=1e-10)
    assert cholesky_solve(-M, r) is None


def test_polish_acceptance_compares_residuals_only_within_objective_rounding():
    """A step is better if its objective is lower, or equal to within OBJECTIVE_NOISE (relative) with a
    smaller residual; a higher objective beyond rounding is never accepted, whatever the residual."""
    from cvxpar.certificate import Certificate
    from cvxpar.solvers.polish import OBJECTIVE_NOISE, _better

    def cert(obj, res):
        return Certificate(objective=obj, residual=res, gap=None, quantization_rate=0.9, stationarity=res,
                           infeasibility=0.0, scale=1.0)

    old = cert(230.0, 1e-6)
    assert _better(cert(229.0, 1.0), old)
    assert _better(cert(230.0 + 0.5 * OBJECTIVE_NOISE * 230.0, 1e-9), old)
    assert not _better(cert(230.0 + 0.5 * OBJECTIVE_NOISE * 230.0, 1e-5), old)
    assert not _better(cert(230.0 + 10 * OBJECTIVE_NOISE * 230.0, 1e-12), old)
