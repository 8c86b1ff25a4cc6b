"""The proximal-gradient loop's statuses say what happened."""

import numpy as np

import cvxpar
from cvxpar import grids, pars
from cvxpar.losses import Smooth


def test_collapsed_step_is_not_reported_as_divergence():
    # a loss whose values carry noise far above the decrease of a small step: backtracking cannot
    # confirm descent, the step collapses; x stays finite, so the status must not be "diverged"
    rng = np.random.default_rng(0)
    b = rng.standard_normal(6)
    noise = np.random.default_rng(1)
    loss = Smooth(lambda x: 0.5 * float(np.sum((x - b) ** 2)) + 1e-3 * noise.random(), lambda x: x - b,
                  lipschitz=1.0, n_features=6)
    res = cvxpar.solve(loss, pars.ridge(grids.uniform(0.25, 9)), 0.1, method="fista", tol=1e-12, max_iter=5000)
    assert np.isfinite(res.x).all()
    assert res.status != "diverged", res.message
    if res.status == "max_iter":
        assert "stopped" in res.message or "limit" in res.message
