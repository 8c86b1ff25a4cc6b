"""ssnal internals: the Newton direction through the cached A A^T equals the direct one, and the
line search's phi (from A^T u, without a product with A) equals phi from its definition."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import cvxpar
from cvxpar.losses import LeastSquares
from cvxpar.solvers import ssnal
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
    np.testing.assert_allclose(ssnal._phi_grad(prob, u, z), u + b - A @ z, rtol=1e-12, atol=1e-12)
