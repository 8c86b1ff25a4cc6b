"""The certificate counts the gradient's rounding error: on badly scaled data a float64 residual below
tol * scale is not enough, and a certified point is stationary in exact arithmetic.

Independent reference: the gradient and the subdifferential distance recomputed in exact rational
arithmetic (``fractions.Fraction``) from the same float data and the same x.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from exact_arithmetic import exact_gradient as _exact_gradient
from exact_arithmetic import exact_residual as _exact_residual
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxpar
from cvxpar import grids, pars
from cvxpar.losses import Huber, LeastSquares, Logistic


def _scaled_problem(rng, n: int, d: int, spread: float):
    A = rng.standard_normal((n, d))
    A *= 10.0 ** rng.uniform(-spread, spread, size=(n, 1))
    A *= 10.0 ** rng.uniform(-spread, spread, size=(1, d))
    x_true = rng.uniform(-3, 3, size=d)
    b = A @ x_true + rng.standard_normal(n) * 10.0 ** rng.uniform(-spread, spread, size=n)
    return A, b


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([0.0, 2.0, 4.0, 6.0]),
       kind=st.sampled_from(["ls", "huber", "logistic"]), method=st.sampled_from(["pg", "cd"]),
       tol=st.sampled_from([1e-6, 1e-8, 1e-10]))
def test_a_certified_point_is_stationary_in_exact_arithmetic(seed, spread, kind, method, tol):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(2, 7)), int(rng.integers(2, 9))
    A, b = _scaled_problem(rng, n, d, spread)
    if kind == "logistic":
        b = np.where(b >= 0, 1.0, -1.0)
        loss = Logistic(A, b)
    else:
        loss = LeastSquares(A, b) if kind == "ls" else Huber(A, b, M=0.01)
    psi = pars.ridge(grids.uniform(3.0, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = cvxpar.solve(loss, psi, 1.0, method=method, tol=tol, max_iter=500)
    cert = cvxpar.certificate(loss, psi, 1.0, res.x)
    if not cert.certifies(tol):
        assert res.status not in ("optimal", "stationary")
        return
    exact = _exact_residual(psi, 1.0, res.x, _exact_gradient(kind, A, b, res.x, M=0.01))
    # the exact residual is measured against the scale the certificate used; the logistic dh is rounded
    # once per sample in the reference, which the slack of 2 covers
    assert exact <= 2.0 * tol * cert.scale, (exact, cert.residual, cert.rounding, tol * cert.scale)


def test_the_rounding_estimate_covers_the_actual_gradient_error_on_badly_scaled_data():
    rng = np.random.default_rng(3)
    A, b = _scaled_problem(rng, 6, 8, 6.0)
    loss = Huber(A, b, M=0.01)
    ratios = []
    for _ in range(20):
        # half the points near the interpolating least-squares fit (rows in Huber's quadratic zone), half anywhere
        x = rng.uniform(-3, 3, size=8)
        if _ % 2:
            x = np.linalg.lstsq(A, b, rcond=None)[0] + 1e-3 * x
        exact = np.array([float(v) for v in _exact_gradient("huber", A, b, x, M=0.01)])
        error = np.abs(np.asarray(loss.grad(x)) - exact)
        bound, estimate = loss.gradient_rounding(x)
        e = np.asarray(estimate())
        assert float(e.max()) <= bound * (1 + 1e-12)
        assert np.all(error <= e), (error, e)
        ratios.append(float(e.max() / max(error.max(), 1e-300)))
    assert np.median(ratios) < 1e3, ratios  # an estimate of the error, not a vacuous bound


def test_well_scaled_data_keep_their_certificates_cheap_and_tight():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((200, 2000))
    b = rng.standard_normal(200)
    loss = LeastSquares(A, b)
    res = cvxpar.solve(loss, pars.ridge(grids.uniform(1.5, 7)), 0.5 * 200, tol=1e-8)
    assert res.status == "optimal"
    bound, _ = loss.gradient_rounding(res.x)
    cert = cvxpar.certificate(loss, pars.ridge(grids.uniform(1.5, 7)), 0.5 * 200, res.x)
    assert bound < 1e-3 * 1e-8 * cert.scale  # the cheap bound decides: no extra pass over A


def test_status_says_when_the_data_scaling_limits_the_accuracy():
    from cvxpar.certificate import Certificate
    from cvxpar.solvers._common import status_of

    def cert(rounding: float) -> Certificate:
        return Certificate(objective=1.0, residual=1e-9, gap=None, quantization_rate=1.0, infeasibility=0.0,
                           scale=1.0, rounding_model=lambda: (rounding, None))

    assert cert(0.0).certifies(1e-8) and not cert(0.0).limited_by_rounding(1e-8)
    limited = cert(1e-7)
    assert not limited.certifies(1e-8) and limited.limited_by_rounding(1e-8)
    assert limited.rounding == 1e-7
    status, message = status_of(limited, 1e-8, convex=True)
    assert status == "optimal_inaccurate" and "rounding error" in message
    status, message = status_of(limited, 1e-8, convex=False)
    assert status == "max_iter" and "rounding error" in message


def test_a_coordinate_inside_its_interval_by_more_than_its_rounding_error_stays_certified():
    # psi = x^2 on the grid -2..2 has slopes 1 and 3 at x = 1: -grad_0 = 20.86 lies inside lam [1, 3] =
    # [10, 30] by more than coordinate 0's rounding error (~7, from z_0 = 1e8), and coordinate 1 sits on
    # the kink at 0 with grad 0: the point certifies, although residual + max_i e_i would not
    A = np.array([[1e8, 0.0], [0.0, 1.0]])
    x = np.array([1.0, 0.0])
    b = np.array([1e8 + 2e-7, 0.0])
    loss = LeastSquares(A, b)
    psi = cvxpar.PAR([-2.0, -1.0, 0.0, 1.0, 2.0], [4.0, 1.0, 0.0, 1.0, 4.0], -5.0, 5.0)
    cert = cvxpar.certificate(loss, psi, 10.0, x)
    bound, estimate = loss.gradient_rounding(x)
    limit = 1e-8 * cert.scale
    assert cert.residual == 0.0
    assert bound > limit and float(np.max(estimate())) > limit
    assert cert.certifies(1e-8)
    exact = _exact_residual(psi, 10.0, x, _exact_gradient("ls", A, b, x))
    assert exact == 0.0


@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_sparse_and_dense_data_give_the_same_estimate(kind):
    import scipy.sparse as sp

    rng = np.random.default_rng(5)
    A, b = _scaled_problem(rng, 7, 5, 3.0)
    x = rng.standard_normal(5)
    dense = LeastSquares(A, b).gradient_rounding(x)
    other = LeastSquares(sp.csr_matrix(A) if kind == "sparse" else A, b).gradient_rounding(x)
    assert other[0] == pytest.approx(dense[0], rel=1e-12)
    assert other[1]() == pytest.approx(dense[1](), rel=1e-12)


def _scaled_columns(seed: int, n: int = 40, d: int = 120, spread: float = 3.0):
    """Unstandardized features: column norms over 10^-spread .. 10^spread, a planted grid point."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-spread, spread, d)
    grid = grids.uniform(0.5, 7)
    b = A @ rng.choice(grid, d) / np.sqrt(d) + 0.1 * rng.standard_normal(n)
    return A, b, pars.ridge(grid)


@pytest.mark.parametrize(("seed", "spread"), [(0, 3.0), (3, 3.0), (2, 4.0)])
def test_badly_scaled_columns_certify_through_the_doubled_precision_gradient(seed, spread):
    """Column norms 1e-3..1e3 (1e-4..1e4): the float64 gradient's rounding estimate exceeds tol * scale at the
    optimum, the doubled-precision gradient's rigorous bound does not; the certificate says optimal, and the exact
    rational residual confirms it."""
    A, b, psi = _scaled_columns(seed, spread=spread)
    loss, lam = LeastSquares(A, b), 0.001 * A.shape[0]
    res = cvxpar.solve(loss, psi, lam, tol=1e-8)
    assert res.status == "optimal", res.message
    cert = cvxpar.certificate(loss, psi, lam, res.x)
    _, estimate = loss.gradient_rounding(res.x)
    assert float(np.max(estimate())) > 1e-8 * cert.scale  # the estimate tier alone would not certify
    exact = _exact_residual(psi, lam, res.x, _exact_gradient("ls", A, b, res.x))
    assert exact <= 1e-8 * cert.scale


@pytest.mark.parametrize("kind", ["ls", "huber"])
@pytest.mark.parametrize("magnitude", ["columns", "large"])
def test_a_point_perturbed_beyond_tol_is_still_rejected(kind, magnitude):
    """Negative test: from a certified point, move one coordinate so that its exact residual is a few times
    tol * scale (by the exact rational gradient): the certificate must refuse it, though its float64 residual
    may sit below the gradient's rounding error."""
    A, b, psi = _scaled_columns(3)
    if magnitude == "large":  # entries of 1e3, target of 1e6: the float64 gradient is a difference of ~1e10s
        A, b = 1e3 * (A / np.linalg.norm(A, axis=0)), 1e6 * b / np.linalg.norm(b)
    loss = LeastSquares(A, b) if kind == "ls" else Huber(A, b, M=1e-2 * float(np.abs(b).max()))
    lam = 0.001 * A.shape[0]
    tol = 1e-6
    x = np.array(cvxpar.solve(loss, psi, lam, tol=tol).x)
    rejected = 0
    for j in np.argsort(-np.linalg.norm(A, axis=0))[:4]:  # the largest columns: their rounding error is largest
        y = x.copy()
        cert0 = cvxpar.certificate(loss, psi, lam, y)
        y[j] += 5.0 * tol * cert0.scale / float(A[:, j] @ A[:, j])  # moves grad_j by about 5 tol * scale
        exact = _exact_residual(psi, lam, y, _exact_gradient(kind, A, b, y, M=loss.M if kind == "huber" else 1.0))
        cert = cvxpar.certificate(loss, psi, lam, y)
        if exact > tol * cert.scale:
            assert not cert.certifies(tol), (j, exact, cert.residual, tol * cert.scale)
            rejected += 1
    assert rejected >= 3


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([2.0, 4.0, 6.0]), kind=st.sampled_from(["ls", "huber"]),
       shift=st.floats(0.05, 20.0))
def test_a_certified_point_near_the_tolerance_is_within_it_in_exact_arithmetic(seed, spread, kind, shift):
    """Points whose exact residual straddles tol * scale (a solution moved by shift * tol * scale along one
    coordinate's gradient): whenever the certificate says yes, the exact rational residual is within tol * scale
    of the exact gradient, with no slack."""
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(2, 7)), int(rng.integers(2, 9))
    A, b = _scaled_problem(rng, n, d, spread)
    loss = LeastSquares(A, b) if kind == "ls" else Huber(A, b, M=0.01)
    psi = pars.ridge(grids.uniform(3.0, 7))
    tol = 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = np.array(cvxpar.solve(loss, psi, 1.0, method="cd", tol=tol, max_iter=500).x)
    j = int(rng.integers(d))
    col = float(A[:, j] @ A[:, j])
    if col > 0:
        x[j] += shift * tol * cvxpar.certificate(loss, psi, 1.0, x).scale / col
    cert = cvxpar.certificate(loss, psi, 1.0, x)
    if cert.certifies(tol):
        g = _exact_gradient(kind, A, b, x, M=0.01)
        exact_scale = max(1.0, max(abs(float(v)) for v in g))
        assert _exact_residual(psi, 1.0, x, g) <= tol * exact_scale
