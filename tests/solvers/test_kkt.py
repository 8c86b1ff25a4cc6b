"""The row polish's KKT solves (:mod:`cvxpar.solvers._kkt`) against a dense least-squares solve of the full
system: the Schur-complement form, and the factored form on the row space of [B; G] for free blocks with more
coordinates than B has rows, for the Hessian factors of least squares, logistic and Huber."""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar.losses import Huber, LeastSquares, Logistic
from cvxpar.solvers._kkt import factored_kkt_step, kkt_step, schur_step


def _system(H, G):
    m = G.shape[0]
    return np.block([[H, G.T], [G, np.zeros((m, m))]])


def _reference(H, G, g, r):
    """The minimum-norm least-squares solution of the full KKT system (SVD), its d part."""
    return np.linalg.lstsq(_system(H, G), np.concatenate([g, r]), rcond=None)[0][:H.shape[0]]


@pytest.mark.parametrize("m", [0, 1, 3])
def test_schur_complement_step_solves_the_kkt_system(m):
    rng = np.random.default_rng(m)
    B = rng.standard_normal((12, 8))
    H, G = B.T @ B + 0.1 * np.eye(8), rng.standard_normal((m, 8))
    g, r = rng.standard_normal(8), rng.standard_normal(m)
    d = kkt_step(H, G, g, r)
    np.testing.assert_allclose(schur_step(H, G, g, r), d, rtol=0, atol=0)  # H positive definite: no least squares
    np.testing.assert_allclose(G @ d, r, atol=1e-12)
    y = np.linalg.lstsq(G.T, g - H @ d, rcond=None)[0] if m else np.zeros(0)
    np.testing.assert_allclose(H @ d + G.T @ y, g, atol=1e-10)  # stationarity of the equality-constrained model
    np.testing.assert_allclose(d, _reference(H, G, g, r), rtol=1e-9, atol=1e-10)


def test_singular_block_and_dependent_rows_fall_back_to_least_squares():
    rng = np.random.default_rng(7)
    B = rng.standard_normal((3, 6))  # rank 3 < 6: H singular
    H = B.T @ B
    row = rng.standard_normal(6)
    G = np.vstack([row, 2.0 * row])  # dependent rows, consistent right-hand sides
    g, r = rng.standard_normal(6), np.array([1.0, 2.0])
    d = kkt_step(H, G, g, r)
    np.testing.assert_allclose(d, _reference(H, G, g, r), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(G @ d, r, atol=1e-10)


@pytest.mark.parametrize("m", [0, 1, 3])
@pytest.mark.parametrize("shape", [(5, 40), (30, 300), (20, 21)])  # the last: n < k < n + m
def test_factored_step_is_the_minimum_norm_solution_of_the_singular_system(shape, m):
    """mu = 0 and k > n: B^T B is singular; for g in the row space of [B; G] the system is consistent and the
    factored step is its minimum-norm solution; for a generic g it is the least-squares solution a dense SVD
    solve returns (g's part in the null space of [B; G] dropped)."""
    rng = np.random.default_rng(shape[0] + m)
    n, k = shape
    B, G, r = rng.standard_normal((n, k)), rng.standard_normal((m, k)), rng.standard_normal(m)
    H = B.T @ B
    consistent = np.vstack([B, G]).T @ rng.standard_normal(n + m)
    for g in (consistent, rng.standard_normal(k)):
        d = factored_kkt_step(B, 0.0, G, g, r)
        np.testing.assert_allclose(d, _reference(H, G, g, r), rtol=1e-8, atol=1e-9 * np.linalg.norm(d))
        np.testing.assert_allclose(G @ d, r, atol=1e-10)
    d = factored_kkt_step(B, 0.0, G, consistent, r)
    y = np.linalg.lstsq(G.T, consistent - H @ d, rcond=None)[0] if m else np.zeros(0)
    np.testing.assert_allclose(H @ d + G.T @ y, consistent, atol=1e-9 * np.linalg.norm(consistent))


@pytest.mark.parametrize("mu", [1e-3, 1.0])
@pytest.mark.parametrize("m", [0, 2])
def test_factored_step_with_regularization_solves_the_nonsingular_system(mu, m):
    rng = np.random.default_rng(int(mu * 1e3) + m)
    n, k = 10, 80
    B, G = rng.standard_normal((n, k)), rng.standard_normal((m, k))
    g, r = rng.standard_normal(k), rng.standard_normal(m)
    K = _system(B.T @ B + mu * np.eye(k), G)
    exact = np.linalg.solve(K, np.concatenate([g, r]))[:k]
    d = factored_kkt_step(B, mu, G, g, r)
    np.testing.assert_allclose(d, exact, rtol=1e-9, atol=1e-10 * np.linalg.norm(exact))


@pytest.mark.parametrize("loss_name", ["least squares", "logistic", "huber"])
def test_factored_step_on_each_losss_hessian_factor(loss_name):
    """B = diag(sqrt(h''(Ax))) A_F from the loss itself (Huber's has zero rows where |residual| > M: a
    rank-deficient B), with a Simplex row and a dependent copy of it."""
    rng = np.random.default_rng(3)
    n, d = 12, 60
    A = rng.standard_normal((n, d))
    t = rng.standard_normal(n)
    loss = {"least squares": LeastSquares(A, t), "logistic": Logistic(A, np.sign(t)),
            "huber": Huber(A, 3.0 * t, M=1.0)}[loss_name]
    x = rng.uniform(0.0, 0.1, d)
    free = np.arange(5, d)
    B = np.asarray(loss.hessian_factor(x, free))
    if loss_name == "huber":
        assert (B == 0.0).all(axis=1).any()  # a sample past M: a zero row
    eps = 1e-6
    for j in (0, 7, 30):  # B^T B is the Hessian block: central differences of the gradient
        e = np.zeros(d)
        e[free[j]] = eps
        fd = (np.asarray(loss.grad(x + e)) - np.asarray(loss.grad(x - e)))[free] / (2 * eps)
        np.testing.assert_allclose(B.T @ B[:, j], fd, rtol=1e-5, atol=1e-6)
    G = np.vstack([np.ones(free.size), 2.0 * np.ones(free.size)])
    r = np.array([0.3, 0.6])
    g = -np.asarray(loss.grad(x))[free] - 0.05  # -(grad + lam s), one slope for every free coordinate
    for mu in (0.0, 1e-2):
        H = B.T @ B + mu * np.eye(free.size)
        d = factored_kkt_step(B, mu, G, g, r)
        np.testing.assert_allclose(d, _reference(H, G, g, r), rtol=1e-7, atol=1e-8 * max(1.0, np.linalg.norm(d)))
        np.testing.assert_allclose(G @ d, r, atol=1e-10)
