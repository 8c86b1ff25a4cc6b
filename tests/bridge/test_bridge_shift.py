"""PARs of shifted and scaled coordinates (``par(x - c)`` with a vector c, ``c + x``, ``multiply(a, x) + c``) through
``problem.solve(method="cvxpar")`` and ``cvxpar.reference(problem)``: solved in y = a x + c (cvxpar.bridge.shift),
checked against CVXPY + Clarabel (convex) and against the mixed-integer reference of the hand-substituted problem
(nonconvex); the value written back is the user's x."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest

import cvxpar
from cvxpar.bridge import UnsupportedProblemError, shift
from cvxpar.bridge.parse import parse

RNG = np.random.default_rng(21)
M, N = 30, 9
A = RNG.standard_normal((M, N))
B = RNG.standard_normal(M)
C = RNG.uniform(-1.0, 1.0, N)
SCALE = RNG.uniform(0.5, 2.0, N) * np.where(RNG.random(N) < 0.3, -1.0, 1.0)
GRID = cvxpar.grids.uniform(0.25, 9)
RIDGE = cvxpar.pars.ridge(GRID)
L1 = cvxpar.pars.l1(GRID)
MCP = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 2.0)

#: The shifted arguments, by name: each reads coordinate i through its own (a_i, c_i).
ARGUMENTS = {
    "x - c": lambda x: x - C,
    "c + x": lambda x: C + x,
    "x + c": lambda x: x + C,
    "x - scalar": lambda x: x - 0.3,
    "multiply(a, x) + c": lambda x: cp.multiply(SCALE, x) + C,
    "x[:5] - c[:5]": lambda x: x[:5] - C[:5],
}


def _clarabel(problem: cp.Problem, x: cp.Variable) -> tuple[float, np.ndarray]:
    value = problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    assert problem.status == cp.OPTIMAL
    return value, np.array(x.value)


def _cvxpar(problem: cp.Problem, x: cp.Variable, **options) -> tuple[float, np.ndarray]:
    value = problem.solve(method="cvxpar", tol=1e-10, **options)
    assert problem.status == cp.OPTIMAL and problem.solver_stats.extra_stats["status"] == "optimal"
    return value, np.array(x.value)


def _agree(got, want, atol=1e-6):
    (v1, x1), (v2, x2) = got, want
    assert v1 == pytest.approx(v2, rel=1e-7, abs=1e-9)
    np.testing.assert_allclose(x1, x2, atol=atol)


@pytest.mark.parametrize("name", list(ARGUMENTS))
@pytest.mark.parametrize("psi", [RIDGE, L1], ids=["ridge", "l1"])
@pytest.mark.parametrize("constraints", ["none", "box", "rows"])
def test_shifted_par_matches_clarabel_in_the_users_variable(name, psi, constraints):
    """Before the shift, every vector-c case was refused ("a different PAR on different coordinates")."""
    x = cp.Variable(N)
    cons = {"none": [], "box": [x >= -1.0, x <= 1.5],
            "rows": [A[:2] @ x <= 0.5, cp.sum(x) == 0.3, x >= -2.0]}[constraints]
    weights = RNG.uniform(0.2, 1.0, N)
    objective = 0.5 * cp.sum_squares(A @ x - B) + weights[: ARGUMENTS[name](x).size] @ cvxpar.par(ARGUMENTS[name](x), psi)
    problem = cp.Problem(cp.Minimize(objective), cons)
    got = _cvxpar(problem, x)
    assert x.value.shape == (N,)
    _agree(got, _clarabel(problem, x))


@pytest.mark.parametrize("atom", ["norm1", "sum(abs)"])
def test_l1_atoms_of_a_shifted_argument_match_clarabel(atom):
    x = cp.Variable(N)
    pen = cp.norm1(x - C) if atom == "norm1" else cp.sum(cp.abs(C + x))
    problem = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - B) / (2 * M) + 0.3 * pen), [x <= 1.0])
    _agree(_cvxpar(problem, x), _clarabel(problem, x))


def _other_terms():
    rng = np.random.default_rng(1)
    G = rng.standard_normal((N, N))
    P = G @ G.T / N + 0.1 * np.eye(N)
    x, xb, xn = cp.Variable(N), cp.Variable(N, bounds=[-0.5, 1.0]), cp.Variable(N, nonneg=True)
    return {
        "quad_form + q @ x + nonneg": (cp.Problem(cp.Minimize(
            cp.quad_form(xn, P) + C @ xn + 0.3 * cp.sum(cvxpar.par(xn - C, RIDGE)))), xn),
        "huber + bounds attribute + norm1(2 x + c)": (cp.Problem(cp.Minimize(
            cp.sum(cp.huber(A @ xb - B, 0.5)) + cp.norm1(2 * xb + C))), xb),
        "sum_squares(x) + norm1(x - c) + simplex": (cp.Problem(cp.Minimize(
            cp.sum_squares(A @ x - B) + cp.sum_squares(x) + cp.norm1(x - C)), [x >= 0, cp.sum(x) == 1]), x),
        "par(c - x) + abs and norm_inf rows": (cp.Problem(cp.Minimize(
            cp.sum_squares(A @ x - B) + cp.sum(cvxpar.par(C - x, RIDGE))),
            [cp.abs(x) <= 0.7, cp.norm_inf(A[:2] @ x) <= 1]), x),
    }


@pytest.mark.parametrize("name", list(_other_terms()))
def test_every_other_term_and_constraint_is_rewritten_in_y(name):
    problem, x = _other_terms()[name]
    _agree(_cvxpar(problem, x), _clarabel(problem, x))


def test_maximize_and_a_matrix_variable_with_a_shift_match_clarabel():
    X = cp.Variable((3, 4))
    Cm = RNG.uniform(-1, 1, (3, 4))
    G = RNG.standard_normal((5, 3))
    H = RNG.standard_normal((5, 4))
    problem = cp.Problem(cp.Maximize(-cp.sum_squares(G @ X - H) - 0.4 * cp.sum(cvxpar.par(X - Cm, RIDGE))),
                         [X >= -1.0])
    got = _cvxpar(problem, X)
    assert X.value.shape == (3, 4)
    _agree(got, _clarabel(problem, X))


def test_a_parameter_shift_is_read_at_each_solve_and_warm_starts_in_the_users_variable():
    x = cp.Variable(N)
    c = cp.Parameter(N)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - B) + cp.sum(cvxpar.par(x - c, L1))), [x <= 1.0])
    for value in (C, -C, np.zeros(N), 2.0 * C):
        c.value = value
        got = _cvxpar(problem, x)
        _agree(got, _clarabel(problem, x))
    # a start given in the user's variable, at the solution: the solve certifies it at once
    first = problem.solve(method="cvxpar", tol=1e-9, x0=x.value, warm_start=False)
    assert problem.solver_stats.num_iters <= 2
    assert first == pytest.approx(got[0], rel=1e-9)


def test_the_substitution_is_exact_on_the_defining_entries():
    """y_i = a_i x_i + c_i: the PAR argument becomes y itself (entries 1, offsets 0, no rounding) and x maps back."""
    x = cp.Variable(N)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - B) + cp.sum(cvxpar.par(cp.multiply(SCALE, x) - C, RIDGE))))
    structure, sub = shift.substitute(parse(problem), "")
    arg = structure.pars[0].arg
    np.testing.assert_array_equal(np.asarray(arg.A().todense()), np.eye(N))
    np.testing.assert_array_equal(arg.b(), np.zeros(N))
    z = RNG.standard_normal(N)
    np.testing.assert_allclose(sub.to_x(sub.to_y(z)), z, rtol=1e-15)
    smooth = structure.smooth[0].r
    np.testing.assert_allclose(smooth.A() @ sub.to_y(z) + smooth.b(), A @ z - B, atol=1e-12)


def test_one_common_shift_composes_psi_without_a_substitution():
    x = cp.Variable(N)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - B) + cp.sum(cvxpar.par(2 * x - 0.5, RIDGE))))
    assert shift.of(parse(problem), "") is None


def test_different_pars_on_different_slices_are_refused_saying_what_to_do():
    x = cp.Variable(N)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - B) + cp.sum(cvxpar.par(x[:4] - C[:4], RIDGE))
                                     + cp.sum(cvxpar.par(x[4:], L1))))
    with pytest.raises(UnsupportedProblemError, match="different coordinates or slices of x") as err:
        problem.solve(method="cvxpar")
    assert "write one PAR term over all of x" in str(err.value) and "CLARABEL" in str(err.value)


@pytest.mark.mip
def test_nonconvex_shift_against_the_mixed_integer_reference():
    """MCP of x - c: cvxpar.reference(problem) is the global optimum of the hand-substituted problem in y = x - c
    (an independent MIQP), written back as x = y + c; the bridge's stationary point is never below it."""
    pytest.importorskip("pyscipopt")
    m, n = 8, 5
    rng = np.random.default_rng(4)
    A_, b_, c_ = rng.standard_normal((m, n)), rng.standard_normal(m), rng.uniform(-1, 1, n)
    x = cp.Variable(n)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A_ @ x - b_) + 0.3 * cp.sum(cvxpar.par(x - c_, MCP))),
                         [x >= -2.0, x <= 2.0])
    hand = cvxpar.reference(cvxpar.losses.LeastSquares(A_, b_ - A_ @ c_), MCP, 0.3,
                            cvxpar.constraints.Box(-2.0 - c_, 2.0 - c_))
    assert hand.status == "optimal"
    ref = cvxpar.reference(problem)
    assert ref.status == "optimal" and problem.status == cp.OPTIMAL
    np.testing.assert_allclose(x.value, hand.x + c_, atol=1e-6)
    F = lambda v: 0.5 * np.sum((A_ @ v - b_) ** 2) + 0.3 * np.sum(MCP(v - c_))  # noqa: E731
    assert problem.value == pytest.approx(F(hand.x + c_), rel=1e-7, abs=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cvxpar.bridge.StationaryPointWarning)
        value = problem.solve(method="cvxpar")
    assert problem.solver_stats.extra_stats["status"] == "stationary" and problem.status == cp.USER_LIMIT
    assert value >= F(hand.x + c_) - 1e-7 * max(1.0, abs(F(hand.x + c_)))
    assert value == pytest.approx(F(x.value), rel=1e-12)


@pytest.mark.parametrize("name", list(ARGUMENTS))
@pytest.mark.parametrize("constraints", ["none", "box"])
def test_a_logistic_loss_with_a_per_coordinate_shift_matches_clarabel(name, constraints):
    """y = a x + c puts the offset -G D^{-1} c inside the logistic term, which cvxpar.losses.Logistic has not; it was
    refused.  The bridge's OffsetLogistic (sum logistic(G y + o)) keeps the substitution exact: Clarabel's answer
    in the user's x, and the same with an offset the user wrote (logistic(... + 0.3))."""
    x = cp.Variable(N)
    labels = np.where(B > 0, 1.0, -1.0)
    cons = {"none": [], "box": [x >= -1.0, x <= 1.5]}[constraints]
    for offset in (0.0, 0.3):
        loss = cp.sum(cp.logistic(-cp.multiply(labels, A @ x) + offset))
        shifted = cp.Problem(cp.Minimize(2.0 * loss + cp.sum(cvxpar.par(ARGUMENTS[name](x), RIDGE))), cons)
        _agree(_cvxpar(shifted, x), _clarabel(shifted, x), atol=1e-5)


def test_offset_logistic_is_the_logistic_loss_in_value_gradient_and_conjugate():
    """OffsetLogistic(G, o) against its definition: value and gradient by hand and by finite differences, o = 0 is
    Logistic with labels -1, and the conjugate by Fenchel-Young (equality at w = h'(z))."""
    from cvxpar.bridge.offset_logistic import OffsetLogistic

    o = RNG.standard_normal(M)
    loss, z0 = OffsetLogistic(A, o), RNG.standard_normal(N)
    m = A @ z0 + o
    assert loss.value(z0) == pytest.approx(float(np.sum(np.log1p(np.exp(m)))), rel=1e-13)
    np.testing.assert_allclose(loss.grad(z0), A.T @ (1.0 / (1.0 + np.exp(-m))), rtol=1e-12)
    e = 1e-6 * np.eye(N)[3]
    assert (loss.value(z0 + e) - loss.value(z0 - e)) / 2e-6 == pytest.approx(loss.grad(z0)[3], rel=1e-6)
    plain = OffsetLogistic(A, np.zeros(M))
    assert plain.value(z0) == pytest.approx(cvxpar.losses.Logistic(A, -np.ones(M)).value(z0), rel=1e-14)
    w = 1.0 / (1.0 + np.exp(-m))  # h'(z) at z = A z0: h(z) + h*(w) = w z
    assert float(np.sum(np.log1p(np.exp(m)))) + float(loss.conj(w)) == pytest.approx(float(w @ (A @ z0)), rel=1e-12)
    assert loss.conj(np.full(M, 1.5)) == np.inf


def test_extra_stats_say_the_shift_the_result_is_in():
    """extra_stats["result"] is the SolveResult in y = a x + c; extra_stats["shift"] = (a, c) maps it to x.value."""
    x = cp.Variable(N)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - B) + cp.sum(cvxpar.par(cp.multiply(SCALE, x) + C, RIDGE))))
    problem.solve(method="cvxpar", tol=1e-10)
    stats = problem.solver_stats.extra_stats
    a, c = stats["shift"]
    np.testing.assert_array_equal(a, SCALE)
    np.testing.assert_array_equal(c, C)
    np.testing.assert_array_equal((stats["result"].x - c) / a, x.value)
    plain = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - B) + cp.sum(cvxpar.par(x, RIDGE))))
    plain.solve(method="cvxpar")
    assert plain.solver_stats.extra_stats["shift"] is None
