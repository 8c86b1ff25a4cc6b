"""cvxpar.reference(problem): a CVXPY problem solved exactly and written back, against the same model
through reference(loss, psi, lam, constraints) written by hand."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from reference_cases import GRID, RIDGE, needs_scip
from reference_cases import gaussian_data as _data

import cvxpar
from cvxpar import constraints as C
from cvxpar import losses


def test_convex_problem_matches_the_hand_written_reference():
    A, b = _data(20, 8)
    n = A.shape[0]
    x = cp.Variable(8)
    lam = cp.Parameter(nonneg=True, value=0.05)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b) / (2 * n) + lam * cp.sum(cvxpar.par(x, RIDGE))), [x >= 0])
    res = cvxpar.reference(prob)
    hand = cvxpar.reference(losses.LeastSquares(A, b), RIDGE, 0.05 * n, C.NonNeg())  # objective times n
    assert res.status == hand.status == "optimal"
    assert prob.status == cp.OPTIMAL
    np.testing.assert_allclose(x.value, hand.x, atol=1e-8)
    assert prob.value == pytest.approx(hand.objective / n, rel=1e-9)
    assert prob.solver_stats.extra_stats is res and "CLARABEL" in prob.solver_stats.solver_name
    lam.value = 0.5  # Parameters are read at each call
    res2 = cvxpar.reference(prob)
    hand2 = cvxpar.reference(losses.LeastSquares(A, b), RIDGE, 0.5 * n, C.NonNeg())
    np.testing.assert_allclose(x.value, hand2.x, atol=1e-8)
    assert res2.objective == pytest.approx(prob.value, rel=1e-12)
    assert prob.value == pytest.approx(hand2.objective / n, rel=1e-9)
    assert res2.bound == pytest.approx(hand2.bound / n, rel=1e-9, abs=1e-12)


@needs_scip
@pytest.mark.mip
def test_nonconvex_problem_matches_the_hand_written_reference():
    A, b = _data(6, 3, seed=1)
    mcp = cvxpar.pars.mcp(GRID, 1.0)
    x = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - 2 * b) + 0.8 * cp.sum(cvxpar.par(x, mcp))),
                      [x >= -1.2, x <= 1.2])
    res = cvxpar.reference(prob)
    hand = cvxpar.reference(losses.LeastSquares(A, 2 * b), mcp, 0.8, C.Box(-1.2, 1.2))
    assert res.status == hand.status == "optimal" and prob.status == cp.OPTIMAL
    np.testing.assert_allclose(x.value, hand.x, atol=1e-8)
    assert prob.value == pytest.approx(hand.objective, rel=1e-9)
    assert res.bound is not None and res.bound <= res.objective


def test_infeasible_and_argument_errors():
    A, b = _data(10, 4, seed=2)
    x = cp.Variable(4)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + cp.sum(cvxpar.par(x, RIDGE))),
                      [x >= 0.5, cp.sum(x) == 1])
    res = cvxpar.reference(prob)
    assert res.status == "infeasible" and prob.status == cp.INFEASIBLE and x.value is None
    with pytest.raises(TypeError, match="problem alone"):
        cvxpar.reference(prob, RIDGE, 1.0)


def test_matrix_shaped_variable_is_written_back_in_its_shape():
    A, b = _data(12, 5, seed=3)
    x = cp.Variable((5, 1))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b[:, None]) + 0.3 * cp.sum(cvxpar.par(x, RIDGE))))
    cvxpar.reference(prob)
    hand = cvxpar.reference(losses.LeastSquares(A, b), RIDGE, 0.3)
    assert x.value.shape == (5, 1)
    np.testing.assert_allclose(x.value[:, 0], hand.x, atol=1e-8)


@needs_scip
@pytest.mark.mip
def test_nonconvex_par_on_part_of_the_variable():
    """An unquantized intercept (the PAR on x[:-1]): the same as lam = (0.6, ..., 0.6, 0) by hand."""
    A, b = _data(10, 4, seed=4)
    A[:, -1] = 1.0
    mcp = cvxpar.pars.mcp(GRID, 1.0)
    x = cp.Variable(4)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - 3 * b) + 0.6 * cp.sum(cvxpar.par(x[:-1], mcp))))
    res = cvxpar.reference(prob)
    hand = cvxpar.reference(losses.LeastSquares(A, 3 * b), mcp, np.array([0.6, 0.6, 0.6, 0.0]))
    assert res.status == hand.status == "optimal"
    np.testing.assert_allclose(x.value, hand.x, atol=1e-7)
    assert prob.value == pytest.approx(hand.objective, rel=1e-9)


@needs_scip
@pytest.mark.mip
def test_logistic_with_a_nonconvex_psi_is_refused_with_advice():
    A, b = _data(10, 3, seed=5)
    with pytest.raises(ValueError, match="exponential cone.*cvxpar.solve"):
        cvxpar.reference(losses.Logistic(A, np.sign(b)), cvxpar.pars.mcp(GRID, 1.0), 0.5)
