"""ssnal's least-squares path when lam is tiny relative to the data (near basis pursuit): x sits ~1e3 off the grid,
psi is affine there, and the proximal point method drifts (the same decrease of F every step) unless sigma may grow
past its ||A||^2-relative cap after easy inner solves (``ssnal._drifting``); the run then stops at the float64 floor
(``_common.PrecisionFloor``) with an honest status.  Checked against CVXPY + Clarabel."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

import cvxpar
from cvxpar.losses import LeastSquares
from cvxpar.solvers import ssnal


def _near_basis_pursuit(seed: int, n: int, d: int):
    rng = np.random.default_rng(seed)
    grid = cvxpar.grids.uniform(1 / 3, 7)
    A0 = rng.standard_normal((n, d))
    b0 = A0 @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
    return 1e3 * A0, 1e6 * b0, cvxpar.pars.ridge(grid)


def _clarabel_objective(loss, psi, lam) -> float:
    """Clarabel's point (default settings), scored by cvxpar's certificate like the solver's."""
    A = loss.op.A
    x = cp.Variable(A.shape[1])
    slopes, intercepts = psi.max_affine()
    reg = cp.sum(cp.maximum(*[a * x + c for a, c in zip(slopes, intercepts, strict=True)]))
    prob = cp.Problem(cp.Minimize(loss.cvxpy(A @ x) + lam * reg))
    prob.solve(solver=cp.CLARABEL)
    assert prob.status in ("optimal", "optimal_inaccurate")
    return cvxpar.certificate(loss, psi, lam, x.value).objective


def test_drifting_detects_a_constant_decrease_only():
    assert ssnal._drifting(1.0, 1.2, True)
    assert not ssnal._drifting(0.1, 1.0, True)  # contracting
    assert not ssnal._drifting(1.0, 1.0, False)  # inner solve short of its target
    assert not ssnal._drifting(1.0, np.inf, True)  # first step
    assert not ssnal._drifting(-1.0, 1.0, True)


def test_near_basis_pursuit_stops_at_the_floor_at_clarabels_objective():
    """150 x 500, A x 1e3, b x 1e6, lam = 0.05 n: without the drift rule the run spends all 200 steps creeping at
    sigma = SIGMA_MAX_EASY / ||A||^2 and ends 8e-7 (relative) above Clarabel's objective; now it reaches it and
    stops at the float64 floor (the residual within FLOOR_SLACK x the gradient's rounding error, the objective flat)
    in under 100 steps, with a status that is not 'optimal' unless the point certifies."""
    n, d = 150, 500
    A, b, psi = _near_basis_pursuit(0, n, d)
    loss, lam = LeastSquares(A, b), 0.05 * n
    res = cvxpar.solve(loss, psi, lam, method="ssnal", tol=1e-8, max_iter=200)
    ref = _clarabel_objective(loss, psi, lam)
    assert res.iterations < 100
    assert (res.objective - ref) / abs(ref) <= 1e-8
    cert = cvxpar.certificate(loss, psi, lam, res.x)
    assert res.status != "optimal" or cert.certifies(1e-8)
    assert res.status == "optimal" or "precision floor" in res.message
