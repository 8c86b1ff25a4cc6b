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


#: auto's pick for each class of the breadth benchmark (the rules of cvxpar.solve's Notes).
BREADTH_PICKS = {
    "ridge, 7 levels": "ssnal",
    "correlated AR(1) 0.9, 7 levels": "ssnal",
    "8-bit grid (255 levels)": "ssnal",
    "tall, 9 levels, Box": "ssnal",
    "Simplex, 11 levels": "alm",
    "5 inequality rows, 7 levels": "alm",
    "4-bit grid, x >= 0, budget row": "alm",
    "logistic, 7 levels": "cd",
    "Huber, 7 levels": "ssnal",
    "logistic, 7 levels, Box": "cd",
    "sparse A (1%), 7 levels": "ssnal",
    "sparse logistic (1%), 7 levels": "cd",
    "tall Lasso, lam_max/100": "cd",
    "tiny, d = 10, Box": "ssnal",
}


def test_auto_picks_the_documented_method_for_every_breadth_class():
    from cvxpar.bench import breadth
    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    seen = {}
    for label, loss, psi, lam, cons in breadth._classes("small"):
        seen[label] = pick(Problem(loss, psi, lam, cons))[0]
    assert seen == BREADTH_PICKS  # a new class needs its documented pick here and in cvxpar.solve's Notes


def test_auto_picks_admm_for_rows_with_a_nonconvex_psi():
    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    rng = np.random.default_rng(0)
    loss = cvxpar.losses.LeastSquares(rng.standard_normal((10, 8)), rng.standard_normal(10))
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 1.0)
    assert pick(Problem(loss, mcp, 0.5, cvxpar.constraints.Simplex(1.0)))[0] == "admm"
    ridge = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    assert pick(Problem(loss, ridge, 0.5, cvxpar.constraints.Simplex(1.0)))[0] == "alm"
