"""cvxpar.bridge: bad data in a CVXPY model gets a clear error naming the part, never a silent answer.

Each case failed before its check: a NaN bound was dropped by the bound arithmetic (a certified
``optimal`` of the unconstrained problem), a NaN in a linear term surfaced as a divergence, and a
NaN in a quad_form matrix as "A has 0 rows".  CVXPY's own solvers refuse the same models
("Problem data contains NaN"), which the first test checks as the reference behaviour.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxpar

RNG = np.random.default_rng(0)
A, B = RNG.standard_normal((15, 6)), RNG.standard_normal(15)
PSI = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))


def _nan_at(shape, index):
    out = np.ones(shape)
    out[index] = np.nan
    return out


def _models():
    x = cp.Variable(6)
    fit = cp.sum_squares(A @ x - B) + cp.sum(cvxpar.par(x, PSI))
    return {
        "upper-bound": (cp.Problem(cp.Minimize(fit), [x <= _nan_at(6, 2)]), r"an upper bound has a NaN entry"),
        "lower-bound": (cp.Problem(cp.Minimize(fit), [x >= np.nan]), r"a lower bound has a NaN entry"),
        "equality-row": (cp.Problem(cp.Minimize(fit), [_nan_at(6, 1) @ x == 1.0]),
                         r"an equality constraint's coefficients has a NaN entry"),
        "inequality-row": (cp.Problem(cp.Minimize(fit), [_nan_at((2, 6), (0, 1)) @ x <= 1.0]),
                           r"an inequality constraint's coefficients has a NaN entry"),
        "linear-term": (cp.Problem(cp.Minimize(fit + _nan_at(6, 3) @ x)), r"objective term .* NaN or inf"),
        "quad_form": (cp.Problem(cp.Minimize(cp.quad_form(x, _nan_at((6, 6), (2, 2)), assume_PSD=True)
                                             + cp.sum(cvxpar.par(x, PSI)))), r"objective term .* NaN or inf"),
    }


@pytest.mark.parametrize("case", ["upper-bound", "equality-row", "linear-term"])
def test_cvxpy_refuses_the_same_models(case):
    problem, _ = _models()[case]
    with pytest.raises(ValueError, match="NaN"):
        problem.solve(solver="CLARABEL")


@pytest.mark.parametrize("case", list(_models()))
def test_nan_in_the_model_is_named_not_solved_around(case):
    problem, match = _models()[case]
    with pytest.raises(ValueError, match=match):
        problem.solve(method="cvxpar")
    assert problem.status is None  # nothing was written back


def test_reference_of_a_model_refuses_a_nan_bound_too():
    problem, match = _models()["upper-bound"]
    with pytest.raises(ValueError, match=match):
        cvxpar.reference(problem)
