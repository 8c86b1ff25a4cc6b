"""ADMM with linear rows: infeasible rows detected up front, and honest statuses."""

import numpy as np
import pytest

import cvxpar
from cvxpar import grids, pars
from cvxpar.constraints import Linear, NonNeg
from cvxpar.losses import LeastSquares


def test_infeasible_rows_are_reported_without_iterating():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((10, 6)), rng.standard_normal(10)
    rows = Linear(A_eq=np.ones((1, 6)), b_eq=[-1.0])  # sum(x) = -1 with x >= 0: empty
    res = cvxpar.solve(LeastSquares(A, b), pars.l1(grids.uniform(1.0, 1)), 0.1, constraints=[NonNeg(), rows])
    assert res.status == "infeasible" and res.iterations == 0 and "phase-1" in res.message


def _diabetes_simplex_problem():
    from cvxpar.data import load_diabetes

    X, y = load_diabetes()
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    return LeastSquares(X, y), pars.ridge(grids.uniform(0.05, 21, center=0.5))


@pytest.mark.parametrize("form", ["simplex", "nonneg+row"])
def test_simplex_solution_is_exact_and_quantized_like_the_reference(form):
    from cvxpar.constraints import Simplex

    loss, psi = _diabetes_simplex_problem()
    d = loss.n_features
    cons = [Simplex(1.0)] if form == "simplex" else [NonNeg(), Linear(A_eq=np.ones((1, d)), b_eq=[1.0])]
    res = cvxpar.solve(loss, psi, 1.0, constraints=cons)
    ref = cvxpar.reference(loss, psi, 1.0, constraints=Simplex(1.0))
    assert res.status == "optimal"
    assert res.x.min() >= 0.0 and abs(res.x.sum() - 1.0) <= 1e-13  # exactly on the row, to rounding
    on_grid = np.isclose(res.x[:, None], psi.breakpoints[None, :], rtol=0, atol=1e-12).any(axis=1)
    assert on_grid.mean() == pytest.approx(ref.quantization_rate)
    assert abs(res.objective - ref.objective) <= 1e-9 * abs(ref.objective)


def test_inequality_rows_polished_exactly_against_clarabel():
    import cvxpy as cp

    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((30, 12)), rng.standard_normal(30)
    psi = pars.ridge(grids.uniform(0.25, 9))
    G, h = rng.standard_normal((3, 12)), np.array([0.5, -0.2, 0.1])
    res = cvxpar.solve(LeastSquares(A, b), psi, 2.0, constraints=[Linear(A_ub=G, b_ub=h)], method="admm")
    x = cp.Variable(12)
    pieces = [s * x + (v - s * q) for q, v, s in zip(psi.breakpoints[:-1], psi.values[:-1], psi.slopes[1:-1], strict=True)]
    pieces += [psi.slopes[0] * x + psi.values[0] - psi.slopes[0] * psi.breakpoints[0],
               psi.slopes[-1] * x + psi.values[-1] - psi.slopes[-1] * psi.breakpoints[-1]]
    obj = 0.5 * cp.sum_squares(A @ x - b) + 2.0 * cp.sum(cp.maximum(*pieces))
    prob = cp.Problem(cp.Minimize(obj), [G @ x <= h])
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert res.status == "optimal"
    assert np.max(G @ res.x - h) <= 1e-12
    assert res.objective <= prob.value + 1e-7 * abs(prob.value)


def test_bounds_without_rows_hold_exactly():
    # found by the long fuzz run: admm with NonNeg only returned its unprojected w (-7.6e-15 < 0)
    A = np.array([[14436.405774645074, -4387.068109704488, -491.16318566955533], [3711.971270005799, 3897.0154548117403, -5143.382099620211], [47722.50681047803, -6590.53096932274, -35348.81516083627], [-20102.555562653655, 7130.174214416867, 6219.470712378737], [-10439.379678021493, -24042.685265173714, -21683.802931858634], [-7631.758921873881, 7757.857916967958, 20156.071035623772], [-12068.110703214696, 20941.897380966548, -51942.59107548338], [52537.64368434032, -18362.067367758686, -20591.60483185698]])
    b = np.array([2348.8554139638577, 483.0283713701379, 7024.330118580479, -3155.756268639557, -2091.4579366598396,
                  -833.3204080521587, -3126.7231292282017, 8154.39455160958])
    psi = pars.staircase(grids.uniform(0.0679309, 3, center=0.0), rise=0.1, slope=1.00014)
    res = cvxpar.solve(LeastSquares(A, b), psi, 1.0, constraints=NonNeg(), method="admm")
    assert res.status == "stationary" and np.all(res.x >= 0.0)
