"""The constraint contract: merged bounds, stacked rows, violation in x's units, CVXPY forms, phase-1 emptiness."""

import cvxpy as cp
import numpy as np
import pytest

from cvxpar.constraints import Box, FeasibleSet, Linear, NonNeg, Simplex


def test_bounds_intersect_and_rows_stack():
    S = FeasibleSet([NonNeg(), Box(-1.0, [0.5, 0.7, 2.0]), Simplex(1.0), Linear(A_ub=np.ones((1, 3)), b_ub=[3.0])], 3)
    np.testing.assert_array_equal(S.lower, [0, 0, 0])
    np.testing.assert_array_equal(S.upper, [0.5, 0.7, 2.0])
    G, h, n_eq = S.stacked()
    assert n_eq == 1 and G.shape == (2, 3) and list(h) == [1.0, 3.0]
    assert S.scalar_bounds is None


def test_empty_bounds_say_which_constraints():
    S = FeasibleSet([NonNeg(), Box(-1, -0.5)], 2)
    assert S.empty is not None and "do not intersect" in S.empty and "NonNeg()" in S.empty


@pytest.mark.parametrize("c", [Box(-0.2, 0.4), NonNeg(), Simplex(2.0), Linear(A_eq=[[1.0, -2.0, 0.5]], b_eq=[0.3]),
                               Linear(A_ub=[[1.0, 1.0, 1.0], [-1.0, 0.0, 2.0]], b_ub=[0.5, 0.1])])
def test_cvxpy_form_and_violation_agree_with_a_projection(c):
    # the CVXPY form's projection of a point is feasible for `violation`, and the point's violation is at
    # most its distance to that projection (the violation is a max over single constraints)
    rng = np.random.default_rng(0)
    v = rng.standard_normal(3)
    x = cp.Variable(3)
    cp.Problem(cp.Minimize(cp.sum_squares(x - v)), c.cvxpy(x)).solve(solver="CLARABEL")
    assert c.violation(x.value) <= 1e-7
    assert c.violation(v) <= np.linalg.norm(v - x.value) + 1e-9
    if c.project is not None:
        np.testing.assert_allclose(c.project(v), x.value, atol=1e-6)


def test_find_point_proves_emptiness():
    S = FeasibleSet([NonNeg(), Linear(A_eq=np.ones((1, 4)), b_eq=[-1.0])], 4)
    assert S.find_point() is None
    T = FeasibleSet([NonNeg(), Linear(A_eq=np.ones((1, 4)), b_eq=[1.0])], 4)
    p = T.find_point()
    assert p is not None and T.violation(p) <= 1e-9


def test_box_messages():
    with pytest.raises(ValueError, match="leaves no finite x"):
        Box(np.inf, np.inf)
