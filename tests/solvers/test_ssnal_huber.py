"""ssnal's proximal Newton path on piecewise-quadratic losses in the regime where the threshold of h is
comparable to the residuals (Huber with M from 0.05 to 5 on an unscaled A, squared hinge, and sums of
losses): the inner step along the Newton direction minimizes the model's phi against a dense scan of
its definition, the polish schedule tries the polish on such a loss without waiting for the fixed set
to settle, and the runs certify at CVXPY + Clarabel's objective (with and without the polish, with a
box)."""

from __future__ import annotations

import numpy as np
import pytest
from user_losses import SquaredHinge, clarabel_objective

import cvxpar
from cvxpar.losses import Huber, LeastSquares, Stacked
from cvxpar.solvers import ssnal
from cvxpar.solvers._problem import Problem
from cvxpar.solvers.polish import PolishSchedule

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _data(n, d, seed):
    """The slow regime: an unscaled Gaussian A, x on the grid, responses with small noise."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    x = rng.choice(cvxpar.grids.uniform(0.5, 7), d)
    return A, A @ x + 0.1 * rng.standard_normal(n), x


@pytest.mark.parametrize("seed", range(6))
def test_model_ray_search_minimizes_phi_along_the_newton_direction_against_a_dense_scan(seed):
    """The step of _model_ray_search against _phi_newton evaluated on 4001 points of [0, 1] along du:
    within RAY_RTOL's share of the scan's best decrease, Armijo's condition holds (also where its value was
    skipped), it is the full step exactly when phi still decreases at alpha = 1, and A^T (S u) and z are
    carried along exactly; with the scalar and with a diagonal proximal metric."""
    A, b, x_true = _data(30, 80, seed)
    loss = Huber(A, b, M=3.0)
    prob = Problem(loss, PSI, 3.0)
    rng = np.random.default_rng(20 + seed)
    x = x_true + 0.3 * rng.standard_normal(80)
    zx = A @ x
    g = loss.grad_z(zx)
    S = np.sqrt(ssnal._curvature(loss, zx, 0.0))
    assert 0 < S.sum() < 30  # both pieces of h occur
    sigma = [0.01, 0.1, 1.0][seed % 3]
    w = None if seed < 3 else 1.0 / np.sum(A * A, axis=0)
    op = None if w is None else type(loss.op)(A * np.sqrt(w))
    u = 0.1 * rng.standard_normal(30) * S
    atsu = A.T @ (S * u)
    val, z = ssnal._phi_newton(prob, x, u, atsu, g, sigma, w)
    grad = u - S * (A @ (z - x))
    from cvxpar.solvers._gram import FreeGram

    gram = FreeGram(A if op is None else op.A)
    du = [1.0, 3.0][seed % 2] * ssnal._newton_direction(prob, z, grad, sigma, gram, 1.0, scale=S, op=op)
    alpha, du, _, (u_t, atsu_t, val_t, z_t) = ssnal._model_ray_search(prob, x, g, S, sigma, w, u, atsu, val,
                                                                      grad, du)
    np.testing.assert_allclose(atsu_t, A.T @ (S * u_t), rtol=1e-10, atol=1e-10)
    val_def, z_def = ssnal._phi_newton(prob, x, u_t, A.T @ (S * u_t), g, sigma, w)  # from the definition
    np.testing.assert_allclose(z_t, z_def, rtol=1e-12, atol=1e-12)
    if val_t is None:  # Armijo's condition was proven from phi' alone
        val_t = val_def
    scan = np.linspace(0.0, 1.0, 4001)
    values = np.array([ssnal._phi_newton(prob, x, u + a * du, A.T @ (S * (u + a * du)), g, sigma, w)[0]
                       for a in scan])
    slope = float(grad @ du)
    assert slope < 0
    assert val_t <= val + ssnal.ARMIJO * alpha * slope + 1e-12 * abs(val)
    best = values.min()
    assert val_t - best <= ssnal.RAY_RTOL * (val - best) + 1e-12 * abs(val)
    assert (alpha == 1.0) == (values[-1] <= values[-2])


def test_the_schedule_tries_the_polish_on_a_piecewise_quadratic_loss_before_the_split_settles():
    """settle=False: due as soon as the free block fits n rows and the back-off has passed, however many
    coordinates changed sides; the default still waits for the fixed set to settle."""
    A, b, _ = _data(20, 60, 0)
    prob = Problem(Huber(A, b, M=0.5), PSI, 1.0)
    grid = cvxpar.grids.uniform(0.5, 7)
    x1 = np.full(60, grid[2])
    x1[:10] += 0.1  # 10 free
    x2 = np.full(60, grid[3])
    x2[10:25] += 0.1  # 15 free, 25 coordinates changed sides
    waiting, eager = PolishSchedule(prob, 1, exact_only=True), PolishSchedule(prob, 1, exact_only=True)
    assert not waiting.due(1, x1) and not waiting.due(2, x2)
    assert eager.due(1, x1, settle=False) and eager.due(2, x2, settle=False)
    eager.record(2, False)  # a polish without progress backs off
    assert not eager.due(3, x2, settle=False)
    x3 = x2.copy()
    x3[:40] += 0.1  # 40 free > 20 rows: a split the exact step cannot solve
    assert not eager.due(10, x3, settle=False)


def _loss(kind, M, A, b):
    n = A.shape[0]
    if kind == "huber":
        return Huber(A, b, M=M)
    if kind == "stacked":
        return Stacked([LeastSquares(A[: n // 2], b[: n // 2]), Huber(A[n // 2:], b[n // 2:], M=M)])
    return SquaredHinge(A, np.where(b >= np.median(b), 1.0, -1.0))


@pytest.mark.parametrize("kind,M", [("huber", 0.05), ("huber", 0.5), ("huber", 5.0), ("stacked", 0.5),
                                    ("squared_hinge", None)])
@pytest.mark.parametrize("shape", [(60, 240), (240, 60)], ids=["wide", "tall"])
@pytest.mark.parametrize("box", [None, (-0.5, 2.5)])
@pytest.mark.parametrize("polish", [True, False])
def test_piecewise_quadratic_losses_certify_at_clarabel_s_objective(kind, M, shape, box, polish):
    """Certified optimal at Clarabel's objective (d > DIRECT_MAX_D on the wide shape, so the proximal
    Newton path runs; without the polish its own iterates must reach tol)."""
    A, b, _ = _data(*shape, seed=len(kind) + int(10 * (M or 1.0)) + shape[0])
    loss = _loss(kind, M, A, b)
    lam = 0.05 * shape[0]
    res = cvxpar.solve(loss, PSI, lam, constraints=None if box is None else cvxpar.constraints.Box(*box),
                       method="ssnal", tol=1e-8, polish=polish)
    ref = clarabel_objective(loss, PSI, lam, box)
    assert res.status == "optimal", res
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)
