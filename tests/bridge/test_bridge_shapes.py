"""``problem.solve(method="cvxpar")`` and ``cvxpar.reference(problem)`` on ``Maximize`` objectives and
matrix variables, against CVXPY + Clarabel on the same model."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxpar

RNG = np.random.default_rng(5)
N, D, K = 30, 8, 4
A = RNG.standard_normal((N, D))
B = 2.0 * RNG.standard_normal((N, K))
W = RNG.uniform(0.5, 2.0, (D, K))
UPPER = RNG.uniform(0.1, 0.6, (D, K))
RIDGE = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
MCP = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 0.6)


def _clarabel(problem: cp.Problem) -> tuple[str, float]:
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return problem.status, problem.value


def _matrix_models():
    def lsq():
        X = cp.Variable((D, K))
        return cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ X - B) + 3 * cp.sum(cvxpar.par(X, RIDGE))))

    def column_budgets():
        X = cp.Variable((D, K))
        objective = 0.5 * cp.sum_squares(A @ X - B) + 3 * cp.sum(cvxpar.par(X, RIDGE))
        return cp.Problem(cp.Minimize(objective), [X >= -0.2, cp.sum(X, axis=0) <= 1])

    def weighted_nonneg():
        X = cp.Variable((D, K), nonneg=True)
        return cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ X - B) + cp.sum(cp.multiply(W, cvxpar.par(X, RIDGE)))))

    def transposed_par_fixed_row():
        X = cp.Variable((D, K))
        objective = 0.5 * cp.sum_squares(A @ X - B) + 3 * cp.sum(cvxpar.par(X.T, RIDGE))
        return cp.Problem(cp.Minimize(objective), [X[0, :] == 0.5])

    def parameter_bounds():
        X = cp.Variable((D, K))
        U = cp.Parameter((D, K), value=UPPER)
        objective = 0.5 * cp.sum_squares(A @ X - B) + 3 * cp.sum(cvxpar.par(X, RIDGE))
        return cp.Problem(cp.Minimize(objective), [X <= U, X >= -U])

    return {f.__name__: f for f in (lsq, column_budgets, weighted_nonneg, transposed_par_fixed_row, parameter_bounds)}


MATRIX = _matrix_models()


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_matrix_variable_matches_clarabel_and_keeps_its_shape(name):
    status, value = _clarabel(MATRIX[name]())
    problem = MATRIX[name]()
    got = problem.solve(method="cvxpar")
    X = problem.variables()[0]
    assert status == "optimal" and problem.status == "optimal"
    assert got == pytest.approx(value, rel=1e-7, abs=1e-9)
    assert X.value.shape == (D, K)
    assert problem.objective.value == pytest.approx(got, rel=1e-12)  # the value is the model's, at X
    for c in problem.constraints:
        assert c.violation().max() <= 1e-8


def test_matrix_variable_warm_start_re_solve_agrees():
    problem = MATRIX["lsq"]()
    first = problem.solve(method="cvxpar")
    again = problem.solve(method="cvxpar")
    assert again == pytest.approx(first, rel=1e-9) and problem.status == "optimal"


def _maximize(objective_terms, constraints_of=lambda x: []):
    x = cp.Variable(D)
    f = objective_terms(x)
    return cp.Problem(cp.Maximize(-f), constraints_of(x)), cp.Problem(cp.Minimize(f), constraints_of(x))


@pytest.mark.parametrize(
    "terms, constraints_of",
    [
        (lambda x: 0.5 * cp.sum_squares(A @ x - B[:, 0]) + 3 * cp.sum(cvxpar.par(x, RIDGE)), lambda x: [x >= -0.3]),
        (lambda x: cp.sum(cp.huber(A @ x - B[:, 1], 0.5)) + cp.sum(cvxpar.par(x, RIDGE)), lambda x: []),
        (lambda x: 0.5 * cp.sum_squares(A @ x - B[:, 2]) + cp.sum(cvxpar.par(x, RIDGE)), lambda x: [cp.sum(x) == 1]),
    ],
)
def test_maximize_of_a_concave_objective_is_minimize_of_its_negative(terms, constraints_of):
    maximize, minimize = _maximize(terms, constraints_of)
    status, value = _clarabel(minimize)
    got = maximize.solve(method="cvxpar")
    assert status == "optimal" and maximize.status == "optimal"
    assert got == pytest.approx(-value, rel=1e-7, abs=1e-9)
    assert maximize.objective.value == pytest.approx(got, rel=1e-12)


def test_maximize_infeasible_and_unbounded_values_have_the_maximization_signs():
    x = cp.Variable(D)
    infeasible = cp.Problem(cp.Maximize(-cp.sum_squares(A @ x - B[:, 0])), [x >= 1, x <= 0])
    assert infeasible.solve(method="cvxpar") == -np.inf and infeasible.status == "infeasible"
    # a convex psi that decreases to the right: along A's null space, g = -F grows without bound
    z = cp.Variable(3)
    falling = cvxpar.PAR.from_slopes([0.0], [-2.0, -1.0])
    one_row = np.array([[1.0, -1.0, 0.0]])
    unbounded = cp.Problem(cp.Maximize(-cp.sum_squares(one_row @ z - 1.0) - cp.sum(cvxpar.par(z, falling))))
    reference = cp.Problem(unbounded.objective)
    assert _clarabel(reference)[0] == "unbounded"
    assert unbounded.solve(method="cvxpar") == np.inf and unbounded.status == "unbounded"
    assert cvxpar.reference(cp.Problem(unbounded.objective)).status == "unbounded"


def test_maximize_of_a_convex_objective_is_refused():
    x = cp.Variable(D)
    problem = cp.Problem(cp.Maximize(cp.sum_squares(A @ x - B[:, 0]) + cp.sum(cvxpar.par(x, RIDGE))))
    with pytest.raises(cvxpar.bridge.UnsupportedProblemError, match="not convex"):
        problem.solve(method="cvxpar")


def test_reference_of_a_nonconvex_maximize_bounds_from_above():
    x = cp.Variable(6)
    A6, b6 = RNG.standard_normal((10, 6)), RNG.standard_normal(10)
    f = 0.5 * cp.sum_squares(A6 @ x - b6) + 0.5 * cp.sum(cvxpar.par(x, MCP))
    maximize, minimize = cp.Problem(cp.Maximize(-f)), cp.Problem(cp.Minimize(f))
    low = cvxpar.reference(minimize)
    high = cvxpar.reference(maximize)
    assert low.status == high.status == "optimal"
    assert maximize.value == pytest.approx(-minimize.value, rel=1e-9)
    assert high.objective == pytest.approx(maximize.value, rel=1e-12)
    assert high.bound >= high.objective - 1e-9 * abs(high.objective)  # an upper bound on a maximization
    assert high.bound == pytest.approx(-low.bound, rel=1e-9) and high.gap == pytest.approx(low.gap, rel=1e-6, abs=1e-12)


def test_mixed_smooth_terms_are_one_stacked_linear_model_loss_and_match_clarabel():
    """Least squares + logistic + a linear term outside the range of A^T (d > n): one Stacked loss, so the
    Newton methods and the recession test apply (it was a callable Smooth loss that only fista took)."""
    from cvxpar.exact.cvxpy_problem import arguments

    n, d = 12, 40
    A12, G = RNG.standard_normal((n, d)), RNG.standard_normal((n, d))
    b12, y, q = RNG.standard_normal(n), np.sign(RNG.standard_normal(n)), RNG.standard_normal(d)

    def make():
        x = cp.Variable(d)
        smooth = 0.5 * cp.sum_squares(A12 @ x - b12) + cp.sum(cp.logistic(cp.multiply(-y, G @ x))) + q @ x
        return cp.Problem(cp.Minimize(smooth + 2 * cp.sum(cvxpar.par(x, RIDGE))), [x >= -1, x <= 1])

    status, value = _clarabel(make())
    problem = make()
    loss = arguments(problem)[1]
    assert isinstance(loss, cvxpar.losses.Stacked) and len(loss.parts) == 3
    got = problem.solve(method="cvxpar")
    assert status == "optimal" and problem.status == "optimal"
    assert got == pytest.approx(value, rel=1e-7, abs=1e-9)


def test_a_linear_objective_that_grows_without_bound_is_unbounded():
    x = cp.Variable(D)
    l1 = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 3))
    problem = cp.Problem(cp.Maximize(cp.sum(x) - 0.1 * cp.sum(cvxpar.par(x, l1))))
    assert problem.solve(method="cvxpar") == np.inf and problem.status == "unbounded"
    bounded = cp.Problem(cp.Maximize(cp.sum(x) - 0.1 * cp.sum(cvxpar.par(x, l1))), [x <= 2, x >= -2])
    status, value = _clarabel(cp.Problem(bounded.objective, bounded.constraints))
    assert bounded.solve(method="cvxpar") == pytest.approx(value, rel=1e-8) and bounded.status == status == "optimal"


@pytest.mark.parametrize("constraints_of", [lambda x: [x >= 0.3, x <= 1], lambda x: [cp.sum(x) == 1, x >= 0]])
def test_an_objective_of_par_terms_alone_is_solved(constraints_of):
    """No smooth term at all: the loss is the zero linear term (a sum of no losses cannot be built)."""
    x = cp.Variable(6)
    problem = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(x, RIDGE))), constraints_of(x))
    status, value = _clarabel(cp.Problem(problem.objective, problem.constraints))
    assert problem.solve(method="cvxpar") == pytest.approx(value, rel=1e-8, abs=1e-9)
    assert problem.status == status == "optimal"
