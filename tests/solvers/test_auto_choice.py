"""method="auto" picks a method that accepts the problem."""

from __future__ import annotations

import numpy as np

import cvxpar


def test_auto_with_nonconvex_psi_and_per_coordinate_box_does_not_pick_cd():
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((15, 30)), rng.standard_normal(15)
    psi = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 9), 1.0)
    assert psi.curvature == "nonconvex"
    box = cvxpar.constraints.Box(-np.linspace(0.5, 1.5, 30), np.linspace(0.5, 1.5, 30))
    res = cvxpar.solve(cvxpar.losses.LeastSquares(A, b), psi, 0.5, constraints=box)
    assert res.method != "cd"
    assert res.status in ("stationary", "max_iter")
    cert = cvxpar.certificate(cvxpar.losses.LeastSquares(A, b), psi, 0.5, res.x, constraints=box)
    assert np.all(res.x >= box.lower - 1e-12) and np.all(res.x <= box.upper + 1e-12)
    if res.status == "stationary":
        assert cert.residual <= 1e-8 * max(1.0, float(np.abs(A.T @ (A @ res.x - b)).max()))
