"""ADMM with linear rows: infeasible rows detected up front, and honest statuses."""

import numpy as np

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
