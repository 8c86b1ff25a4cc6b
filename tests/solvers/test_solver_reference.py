"""The tests' Clarabel reference (solver_reference.py) never hands a test a misleading number: an inaccurate
solve, or a value below what its own point scores, is not returned (a tighter-to-looser fallback, else
UnreliableReference), and what is returned is the score of a feasible point."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import solver_reference
from solver_reference import UnreliableReference, reference_objective

import cvxpar
from cvxpar.constraints import Box, Linear, Simplex
from cvxpar.losses import Logistic

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _logistic_simplex():
    """A problem on which Clarabel at 1e-12 ends optimal_inaccurate (the reference used to return its value)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((10, 30))
    b = A @ rng.choice(cvxpar.grids.uniform(0.5, 7), 30) + 0.1 * rng.standard_normal(10)
    return A, np.where(b > 0, 1.0, -1.0), [Simplex(1.0)]


def _spy(monkeypatch, tamper=None):
    """Record (settings, status) of each Clarabel solve; ``tamper(problem)`` may alter a solve's outcome."""
    calls = []
    solve = cp.Problem.solve

    def spied(problem, *args, **kwargs):
        out = solve(problem, *args, **kwargs)
        if tamper is not None:
            tamper(problem, kwargs)
        calls.append((kwargs.get("tol_feas"), problem.status))
        return out

    monkeypatch.setattr(cp.Problem, "solve", spied)
    return calls


def test_an_inaccurate_solve_is_not_the_reference(monkeypatch):
    A, y, cons = _logistic_simplex()
    calls = _spy(monkeypatch)
    value = reference_objective(A, y, PSI, 0.5, cons, loss="logistic")
    monkeypatch.undo()
    assert calls[0] == (1e-12, cp.OPTIMAL_INACCURATE) and calls[-1][1] == cp.OPTIMAL and len(calls) >= 2
    res = cvxpar.solve(Logistic(A, y), PSI, 0.5, cons)
    assert res.status == "optimal"
    assert res.objective <= value + 1e-9 * abs(value)  # the reference is a feasible point's score: F* <= value
    assert abs(res.objective - value) <= 1e-8 * abs(value)


def test_a_value_below_its_points_score_is_not_the_reference(monkeypatch):
    """A solve reporting optimal at a value 3.4e-6 below its own point's score (the epigraph variables under the
    pieces) is passed over for the next setting's consistent one."""
    rng = np.random.default_rng(4)
    A, b = rng.standard_normal((20, 8)), rng.standard_normal(20)
    cons = [Box(-1.0, 1.0), Linear(A_ub=np.ones((1, 8)), b_ub=[0.5])]
    honest = reference_objective(A, b, PSI, 0.3, cons)

    def understate(problem, kwargs):
        if kwargs.get("tol_feas") == 1e-12:
            problem._value = problem.value - 3.4e-6 * abs(problem.value)

    calls = _spy(monkeypatch, understate)
    value = reference_objective(A, b, PSI, 0.3, cons)
    assert [tol for tol, _ in calls] == [1e-12, 1e-10] and value == pytest.approx(honest, rel=1e-10)
    monkeypatch.setattr(solver_reference, "SETTINGS", solver_reference.SETTINGS[:1])
    with pytest.raises(UnreliableReference, match="its point scores"):
        reference_objective(A, b, PSI, 0.3, cons)


def test_an_infeasible_point_is_not_the_reference(monkeypatch):
    """A point off the budget row by 1e-6 (in the row's units) is never scored as the optimum."""
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((20, 8)), rng.standard_normal(20)
    cons = [Linear(A_eq=np.ones((1, 8)), b_eq=[0.5])]

    def shift(problem, kwargs):  # the value moved with the point: only its feasibility is off
        x = problem.variables()[0]
        x.value = x.value + 1e-6
        problem._value = 0.5 * np.sum((A @ x.value - b) ** 2) + 0.3 * np.sum(PSI(x.value))

    monkeypatch.setattr(solver_reference, "SETTINGS", solver_reference.SETTINGS[:1])
    _spy(monkeypatch, shift)
    with pytest.raises(UnreliableReference, match=r"scores [-0-9.e]+, relative infeasibility 2\.1e-06"):
        reference_objective(A, b, PSI, 0.3, cons)
