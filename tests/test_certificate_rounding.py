"""The certificate counts the gradient's rounding error: on badly scaled data a float64 residual below
tol * scale is not enough, and a certified point is stationary in exact arithmetic.

Independent reference: the gradient and the subdifferential distance recomputed in exact rational
arithmetic (``fractions.Fraction``) from the same float data and the same x.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxpar
from cvxpar import grids, pars
from cvxpar.losses import Huber, LeastSquares, Logistic


def _exact_gradient(loss_kind: str, A: np.ndarray, t: np.ndarray, x: np.ndarray, M: float = 1.0) -> list[Fraction]:
    Af = [[Fraction(float(v)) for v in row] for row in A]
    xf = [Fraction(float(v)) for v in x]
    tf = [Fraction(float(v)) for v in t]
    z = [sum((a * b for a, b in zip(row, xf, strict=True)), Fraction(0)) for row in Af]
    if loss_kind == "ls":
        dz = [zi - ti for zi, ti in zip(z, tf, strict=True)]
    elif loss_kind == "huber":
        Mf = Fraction(M)
        dz = [min(max(zi - ti, -Mf), Mf) for zi, ti in zip(z, tf, strict=True)]
    else:  # logistic, dh = -t sigmoid(-t z): not rational; float of the exact z, rounded once
        dz = [Fraction(float(-ti * np.exp(-np.logaddexp(0.0, float(ti * zi))))) for zi, ti in zip(z, tf, strict=True)]
    return [sum((Af[j][i] * dz[j] for j in range(len(dz))), Fraction(0)) for i in range(A.shape[1])]


def _exact_residual(psi, lam: float, x: np.ndarray, g: list[Fraction]) -> float:
    """max_i dist(-g_i, lam [lo_i, hi_i]) with [lo_i, hi_i] psi's Clarke subdifferential at x_i (no bounds)."""
    q = [Fraction(float(v)) for v in psi.breakpoints]
    v = [Fraction(float(w)) for w in psi.values]
    inner = [(v[k + 1] - v[k]) / (q[k + 1] - q[k]) for k in range(len(q) - 1)]
    slopes = [Fraction(float(psi.slopes[0]))] + inner + [Fraction(float(psi.slopes[-1]))]
    lamf, worst = Fraction(lam), Fraction(0)
    for xi, gi in zip(x, g, strict=True):
        xf = Fraction(float(xi))
        k = sum(1 for qk in q if qk <= xf)  # slopes[k] is the slope right of x
        right = slopes[k]
        left = slopes[k - 1] if k > 0 and q[k - 1] == xf else right
        lo, hi = lamf * min(left, right), lamf * max(left, right)
        c = -gi
        worst = max(worst, lo - c, c - hi)
    return float(worst)


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
