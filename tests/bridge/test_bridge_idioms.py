"""The CVXPY idioms people write, times the constraint sets cvxpar takes, through ``method="cvxpar"``.

Each cell is one CVXPY model (d = 25) solved by cvxpar and by Clarabel on the same model: an accepted cell
must be certified optimal and match Clarabel (objective to 1e-6 relative, x to 1e-5); a refused cell must be
one of the known combinations no cvxpar method takes, with an UnsupportedProblemError that says so.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxpar
from cvxpar.bridge import UnsupportedProblemError

RNG = np.random.default_rng(5)
M, D = 40, 25
A = RNG.standard_normal((M, D))
X_TRUE = np.clip(np.round(RNG.standard_normal(D) * 2) / 4, -1, 1) * (RNG.random(D) < 0.6)
B = A @ X_TRUE + 0.1 * RNG.standard_normal(M)
Y = np.where(A @ X_TRUE + 0.5 * RNG.standard_normal(M) > 0, 1.0, -1.0)
WEIGHTS = RNG.random(M) + 0.5
PER_COORD = 0.5 * (RNG.random(D) + 0.5)
G = RNG.standard_normal((3, D))
H = G @ np.full(D, 1.0 / D)  # x = 1/D is feasible for every constraint set below
RIDGE = cvxpar.pars.ridge(cvxpar.grids.uniform(step=0.25, n_levels=9))

IDIOMS = {
    "sum_squares/2 + norm1": lambda x: 0.5 * cp.sum_squares(A @ x - B) + 0.5 * cp.norm1(x),
    "norm(r, 2)**2 + par": lambda x: cp.norm(A @ x - B, 2) ** 2 + 2.0 * cp.sum(cvxpar.par(x, RIDGE)),
    "weighted norm2(r)**2 + w @ par": lambda x: (
        cp.norm2(cp.multiply(WEIGHTS, A @ x - B)) ** 2 + PER_COORD @ cvxpar.par(x, RIDGE)
    ),
    "par(x[:10])": lambda x: cp.sum_squares(A @ x - B) / (2 * M) + 0.1 * cp.sum(cvxpar.par(x[:10], RIDGE)),
    "par(2 x + c)": lambda x: cp.sum_squares(A @ x - B) / (2 * M) + 0.1 * cp.sum(cvxpar.par(2 * x + 0.3, RIDGE)),
    "sum(abs(x - c)) + ridge": lambda x: cp.sum_squares(A @ x - B) + cp.sum(cp.abs(x - 0.25)) + cp.sum_squares(x),
    "huber + par": lambda x: cp.sum(cp.huber(A @ x - B, 1.0)) + cp.sum(cvxpar.par(x, RIDGE)),
    "logistic + par": lambda x: cp.sum(cp.logistic(-cp.multiply(Y, A @ x))) + cp.sum(cvxpar.par(x, RIDGE)),
}

CONSTRAINTS = {
    "none": lambda x: [],
    "box": lambda x: [x >= -0.4, x <= 0.4],
    "abs(x) <= c": lambda x: [cp.abs(x) <= 0.4],
    "norm_inf(x) <= c": lambda x: [cp.norm_inf(x) <= 0.4],
    "nonneg": lambda x: [x >= 0],
    "simplex": lambda x: [x >= 0, cp.sum(x) == 1],
    "linear eq": lambda x: [G @ x == H],
    "linear ineq": lambda x: [G @ x <= H],
}

#: Loss and constraint pairs that no cvxpar method takes today (ADMM, the method for Simplex and Linear
#: constraints, needs a least-squares loss).  A cell here may also be accepted (then it must match Clarabel).
NO_METHOD = {(i, c) for i in ("huber + par", "logistic + par") for c in ("simplex", "linear eq", "linear ineq")}

CELLS = [(i, c) for i in IDIOMS for c in CONSTRAINTS]


def _solve_cell(idiom: str, cons: str):
    x = cp.Variable(D)
    problem = cp.Problem(cp.Minimize(IDIOMS[idiom](x)), CONSTRAINTS[cons](x))
    try:
        value = problem.solve(method="cvxpar")
    except UnsupportedProblemError as err:
        return problem, None, err
    return problem, value, None


@pytest.mark.parametrize(("idiom", "cons"), CELLS)
def test_idiom_matches_clarabel(idiom, cons):
    problem, value, err = _solve_cell(idiom, cons)
    if err is not None:
        assert (idiom, cons) in NO_METHOD, str(err)
        assert "no cvxpar method solves" in str(err) and "CLARABEL" in str(err)
        return
    x = problem.variables()[0]
    assert problem.status == cp.OPTIMAL, problem.solver_stats.extra_stats["message"]
    ours = x.value.copy()
    for c in problem.constraints:
        assert np.max(c.violation()) <= 1e-7, str(c)
    ref = problem.solve(solver="CLARABEL", tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
    assert problem.status == cp.OPTIMAL
    assert value == pytest.approx(ref, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(ours, x.value, atol=1e-5)
