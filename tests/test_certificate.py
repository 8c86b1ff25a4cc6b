"""The certificate: feasibility in x's units, NaN never certifies, the argument order, the readable summary."""

import warnings

import numpy as np
import pytest

import cvxpar
from cvxpar import grids, pars
from cvxpar.constraints import Box, Linear, NonNeg, Simplex
from cvxpar.losses import LeastSquares

L1 = pars.l1(grids.uniform(1.0, 1))
RIDGE = pars.ridge(grids.uniform(0.05, 21, center=0.5))


def _big_gradient_problem(scale=1e6):
    rng = np.random.default_rng(0)
    A = scale * rng.standard_normal((20, 10))
    return LeastSquares(A, A @ rng.uniform(-0.3, 0.3, 10) + 0.3 * scale * rng.standard_normal(20))


@pytest.mark.parametrize("violation", [5e-4, 2e-7])
def test_feasibility_is_measured_in_x_units_not_scaled_by_the_gradient(violation):
    # a point violating x >= 0 by `violation` must not certify at tol 1e-8, however large the gradient
    loss = _big_gradient_problem()
    x = np.zeros(10)
    x[3] = -violation
    cert = cvxpar.certificate(loss, L1, 1.0, x, NonNeg())
    assert cert.scale > 1e6  # the gradient is huge ...
    assert cert.infeasibility == pytest.approx(violation)
    assert not cert.certifies(1e-8)  # ... but feasibility is judged on its own: violation / max(1, |x|) > 1e-8


def test_row_violation_is_the_distance_to_the_hyperplane():
    x = np.array([0.5, 0.5, 0.5, 0.5])
    budget = Linear(A_ub=2.0 * np.ones((1, 4)), b_ub=[2.0])  # 2 sum(x) <= 2: violated by 2; ||a|| = 4
    cert = cvxpar.certificate(LeastSquares(np.eye(4), np.zeros(4)), L1, 0.0, x, budget)
    assert cert.infeasibility == pytest.approx(0.5)
    dist = abs(np.sum(x) - 1.0) / 2.0  # Euclidean distance from x to {sum x = 1}
    assert cert.infeasibility == pytest.approx(dist)


@pytest.mark.parametrize("constraints", [None, Box(-1, 1), Simplex(1.0),
                                         Linear(A_eq=np.ones((1, 5)), b_eq=[1.0]),
                                         Linear(A_ub=np.ones((2, 5)), b_ub=[1.0, 2.0])])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_x_never_certifies(constraints, bad):
    loss = LeastSquares(np.eye(5), np.ones(5))
    x = np.full(5, bad)
    cert = cvxpar.certificate(loss, RIDGE, 0.1, x, constraints)
    assert not cert.certifies(1e300)
    x = np.zeros(5)
    x[2] = bad
    assert not cvxpar.certificate(loss, RIDGE, 0.1, x, constraints).certifies(1e300)


def test_argument_order_matches_solve_and_keywords_work():
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((8, 5)), rng.standard_normal(8)
    loss = LeastSquares(A, b)
    res = cvxpar.solve(loss, RIDGE, 0.5, tol=1e-10)
    c1 = cvxpar.certificate(loss, RIDGE, 0.5, res.x)
    c2 = cvxpar.certificate(x=res.x, loss=loss, psi=RIDGE, lam=0.5)
    assert c1.objective == c2.objective and c1.certifies(1e-10)
    with pytest.raises(TypeError, match=r"\(loss, psi, lam, x, constraints\)"):
        cvxpar.certificate(res.x, loss, RIDGE, 0.5)


def test_per_coordinate_residuals_and_summary():
    # 1-D Lasso pieces by hand: min 1/2 (x - b)^2 + lam |x|, at x = 0 the residual is (|b| - lam)_+
    b = np.array([0.3, 2.0, -0.1])
    loss = LeastSquares(np.eye(3), b)
    cert = cvxpar.certificate(loss, L1, 0.5, np.zeros(3))
    np.testing.assert_allclose(cert.coordinate_residuals, [0.0, 1.5, 0.0])
    assert cert.residual == pytest.approx(1.5) and cert.worst_coordinate == 1
    text = str(cert)
    assert "worst coordinate i=1" in text and "duality gap" in text and "infeasibility" in text


def test_simplex_normal_cone_closed_form_matches_the_lp():
    # the one-row closed form and the LP (the same row written twice forces the LP) agree
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((12, 6)), rng.standard_normal(12)
    loss = LeastSquares(A, b)
    x = np.array([0.5, 0.0, 0.25, 0.0, 0.25, 0.0])
    closed = cvxpar.certificate(loss, RIDGE, 0.3, x, Simplex(1.0))
    lp = cvxpar.certificate(loss, RIDGE, 0.3, x, [NonNeg(), Linear(A_eq=np.ones((2, 6)), b_eq=[1.0, 1.0])])
    assert closed.residual == pytest.approx(lp.residual, rel=1e-9, abs=1e-12)


def test_gap_bounds_the_suboptimality():
    rng = np.random.default_rng(4)
    A, b = rng.standard_normal((15, 8)), rng.standard_normal(15)
    loss = LeastSquares(A, b)
    best = cvxpar.solve(loss, RIDGE, 0.7, constraints=Box(-1, 1), tol=1e-12)
    x = best.x + 0.01 * rng.standard_normal(8)
    x = np.clip(x, -1, 1)
    cert = cvxpar.certificate(loss, RIDGE, 0.7, x, Box(-1, 1))
    assert cert.gap is not None
    assert cert.objective - best.objective <= cert.gap + 1e-12


@pytest.mark.parametrize("cons", [NonNeg(), Box(-np.inf, 1.0), Box(-1.0, np.inf)], ids=["nonneg", "upper", "lower"])
def test_gap_with_an_empty_column_and_one_sided_bounds_is_a_clean_upper_bound(cons):
    """A zero column gives v_i = 0 beside an infinite bound: the support term is 0 there, formed without 0 * inf."""
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((20, 40)), rng.standard_normal(20)
    A[:, 3] = 0.0
    loss, psi = LeastSquares(A, b), pars.ridge(grids.uniform(0.5, 7))
    x = np.clip(0.5 * rng.uniform(-1, 1, 40), *cons.bounds(40))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        cert = cvxpar.certificate(loss, psi, 0.3, x, cons)
    best = cvxpar.solve(loss, psi, 0.3, cons, tol=1e-10)
    assert best.status == "optimal"
    assert np.isfinite(cert.gap) and cert.gap >= cert.objective - best.objective - 1e-9


def test_a_row_is_held_to_tol_relative_to_its_own_terms_too():
    """A row on small coordinates while another coordinate is large: its distance to the hyperplane is compared with
    tol * ||x||_inf, so a 5 % violation of x_0 + x_1 = 2e-3 passed at tol 1e-8; relative to the row's own terms
    (1 + |h| + |g|^T |x|, the Oettli-Prager backward error) it does not."""
    from cvxpar.certificate import row_backward_error
    from cvxpar.constraints import FeasibleSet, Linear

    g, h = np.array([1.0, 1.0, 0.0]), np.array([2e-3])
    x = np.array([1e-3, 1.1e-3, 1e4])  # g^T x - h = 1e-4: 5 % of h
    cons = Linear(A_eq=g[None, :], b_eq=h)
    feasible = FeasibleSet(cons, 3)
    distance = 1e-4 / np.sqrt(2.0)
    assert feasible.violation(x) == pytest.approx(distance)
    assert distance <= 1e-8 * 1e4  # the distance rule alone accepts x at tol 1e-8
    relative = 1e-4 / (1.0 + 2e-3 + 2.1e-3)
    assert row_backward_error(feasible, x) == pytest.approx(relative, rel=1e-9)
    loss = cvxpar.losses.LeastSquares(np.eye(3), x)  # x is the unconstrained minimizer: residual 0
    cert = cvxpar.certificate(loss, cvxpar.pars.l1([0.0]), 0.0, x, constraints=cons)
    assert cert.infeasibility == pytest.approx(cert.x_scale * relative, rel=1e-9)
    assert not cert.certifies(1e-8) and not cert.certifies(5e-5) and cert.certifies(2e-4)
    # an inequality row counts only its positive part
    assert row_backward_error(FeasibleSet(Linear(A_ub=g[None, :], b_ub=np.array([1.0])), 3), x) == 0.0
