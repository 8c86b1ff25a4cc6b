"""Losses written only against the public contract (tests/user_losses.py) are solved to a certified
optimum that matches CVXPY + Clarabel on the loss's own CVXPY form (the model is written here)."""

from __future__ import annotations

import pytest
from user_losses import Poisson, SquaredHinge, clarabel_objective, hinge_data, poisson_data

import cvxpar
from cvxpar.constraints import Box

GRID = cvxpar.grids.uniform(0.25, 7)
L1G = cvxpar.pars.l1(GRID)


def _loss(kind):
    if kind == "squared_hinge":
        return SquaredHinge(*hinge_data(40, 15, seed=1))
    return Poisson(*poisson_data(40, 15, seed=2))


@pytest.mark.parametrize("kind", ["squared_hinge", "poisson"])
@pytest.mark.parametrize("method", ["fista", "pg"])
@pytest.mark.parametrize("box", [None, (-0.5, 0.6)])
def test_user_loss_certified_and_matches_clarabel(kind, method, box):
    loss = _loss(kind)
    lam = 1.5
    res = cvxpar.solve(loss, L1G, lam, constraints=None if box is None else Box(*box), method=method, tol=1e-9)
    ref = clarabel_objective(loss, L1G, lam, box)
    assert res.status == "optimal", res
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)
    assert res.gap is not None and -1e-9 <= res.gap <= 1e-6 * max(1.0, abs(ref))
