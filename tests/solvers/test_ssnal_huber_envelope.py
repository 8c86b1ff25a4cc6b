"""ssnal's Huber route: Huber (and least squares + Huber) as least squares in (x, v) with M |v| on v, solved by
exact proximal-point steps (``ssnal._run_huber``).  The loss contract's thresholds against brute force, the dual's
gradient against finite differences, one proximal-point step against CVXPY + Clarabel's solution of the joint
problem, and whole runs (Huber at several thresholds, scaled columns, sums, a box, data rescaled by constants)
certified at CVXPY + Clarabel's objective."""

from __future__ import annotations

from functools import partial

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from user_losses import clarabel_objective

import cvxpar
from cvxpar.losses import Huber, LeastSquares, Logistic, Stacked
from cvxpar.solvers import ssnal
from cvxpar.solvers._problem import Problem

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _data(n, d, seed, cols=None):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    if cols is not None:
        A *= 10.0 ** rng.uniform(-cols, cols, d)
    x = rng.choice(cvxpar.grids.uniform(0.5, 7), d)
    t = A @ x + 0.3 * rng.standard_normal(n)
    out = rng.random(n) < 0.2
    t[out] += 5 * rng.standard_normal(int(out.sum()))
    return A, t, np.abs(t - A @ x)


def test_huber_thresholds_give_the_loss_as_an_envelope_of_m_abs():
    """h_i(z) = min_v (z - b_i - v)^2 / 2 + M_i |v| for Huber, least squares (M = inf) and their sum, against a
    brute-force minimum over 200001 values of v; a sum with a logistic part has no thresholds."""
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((6, 3)), rng.standard_normal(6)
    loss = Stacked([LeastSquares(A[:3], b[:3]), Huber(A[3:], b[3:], M=0.4)])
    M = loss.huber_thresholds()
    assert np.all(np.isinf(M[:3])) and np.all(M[3:] == 0.4)
    z = 3 * rng.standard_normal(6)
    grid = np.linspace(-10, 10, 200001)
    for i in range(6):
        env = np.min(0.5 * (z[i] - b[i] - grid) ** 2 + (0.0 if np.isinf(M[i]) else M[i]) * np.abs(grid)
                     + np.where(np.isinf(M[i]) & (grid != 0), np.inf, 0.0))
        assert loss.h(z)[i] == pytest.approx(env, abs=1e-8)
    assert Stacked([LeastSquares(A, b), Logistic(A, np.sign(b))]).huber_thresholds() is None


def _setting(seed, metric):
    A, t, r = _data(15, 40, seed, cols=3 if metric else None)
    M = np.full(15, float(np.quantile(r, 0.5)))
    M[:4] = np.inf  # four squared samples, as in a sum of least squares and Huber
    loss = Stacked([LeastSquares(A[:4], t[:4]), Huber(A[4:], t[4:], M=M[5])])
    prob = Problem(loss, PSI, 2.0)
    cm = ssnal.ColumnMetric.of(loss.op)
    assert (cm is not None) == metric
    w, omega = (None, float(np.mean(np.sum(A * A, axis=0)))) if cm is None else (cm.w, 1.0)
    rng = np.random.default_rng(seed + 50)
    x = rng.choice(cvxpar.grids.uniform(0.5, 7), 40) + 0.2 * rng.standard_normal(40)
    v = ssnal._soft(A @ x - t + 0.5 * rng.standard_normal(15), M)
    return A, t, M, loss, prob, cm, w, omega, x, v


@pytest.mark.parametrize("seed", range(4))
def test_dual_gradient_matches_finite_differences(seed):
    """grad phi(u) = u + b - A z + s against central differences of _phi_huber (scalar metric and column metric)."""
    A, t, M, loss, prob, cm, w, omega, x, v = _setting(seed, metric=seed % 2 == 1)
    sigma = 0.3 / (np.linalg.norm(A, 2) ** 2 if cm is None else 1.0)
    phi = partial(ssnal._phi_huber, prob, x, v, sigma=sigma, w=w, omega=omega, M=M)
    u = np.random.default_rng(seed).standard_normal(15)
    _, (z, s) = phi(u, A.T @ u)
    grad = u + t - A @ z + s
    h = 1e-6
    for i in range(15):
        e = np.zeros(15)
        e[i] = h
        fd = (phi(u + e, A.T @ (u + e))[0] - phi(u - e, A.T @ (u - e))[0]) / (2 * h)
        assert fd == pytest.approx(grad[i], rel=1e-5, abs=1e-5 * max(1.0, np.max(np.abs(grad))))


@pytest.mark.parametrize("seed", range(4))
def test_one_proximal_point_step_solves_the_joint_problem(seed):
    """_huber_step from (x, v) returns (z, s) minimizing 1/2 ||A y - s - b||^2 + sum M_i |s_i| + lam psi(y)
    + ||y - x||^2_{W^-1} / (2 sigma) + ||s - v||^2 / (2 sigma omega) (s = 0 on squared samples): CVXPY + Clarabel."""
    A, t, M, loss, prob, cm, w, omega, x, v = _setting(seed, metric=seed % 2 == 1)
    data = loss.op if cm is None else cm.op
    L = np.linalg.norm(data.A, 2) ** 2 + omega
    sigma = [1.0, 30.0][seed // 2] / L
    phi = partial(ssnal._phi_huber, prob, x, v, sigma=sigma, w=w, omega=omega, M=M)
    u0 = A @ x - v - t
    (z, s), _, steps, converged = ssnal._huber_step(prob, phi, x, v, u0, sigma, w, omega, M, ssnal._gram_for(data),
                                                    data, 0.0, 1e-12)
    assert converged and steps > 0
    y, sv = cp.Variable(40), cp.Variable(15)
    slopes, intercepts = PSI.max_affine()
    pieces = cp.max(cp.vstack([a * y + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0)
    finite = np.isfinite(M)
    Wi = np.ones(40) if w is None else 1.0 / w

    def value(yy, ss, np_=True):
        if np_:
            return (0.5 * np.sum((A @ yy - ss - t) ** 2) + np.sum(M[finite] * np.abs(ss[finite])) + prob.penalty(yy)
                    + np.sum(Wi * (yy - x) ** 2) / (2 * sigma) + np.sum((ss - v) ** 2) / (2 * sigma * omega))
        return (0.5 * cp.sum_squares(A @ yy - ss - t) + cp.sum(cp.multiply(M[finite], cp.abs(ss[finite])))
                + 2.0 * cp.sum(pieces) + cp.sum(cp.multiply(Wi, cp.square(yy - x))) / (2 * sigma)
                + cp.sum_squares(ss - v) / (2 * sigma * omega))

    cp.Problem(cp.Minimize(value(y, sv, False)), [sv[~finite] == 0]).solve(solver="CLARABEL")
    assert np.all(s[~finite] == 0)
    ref = value(y.value, sv.value)
    assert value(z, s) <= ref + 1e-8 * max(1.0, abs(ref))


def _ours(loss, lam, box=None):
    cons = None if box is None else cvxpar.constraints.Box(*box)
    return cvxpar.solve(loss, PSI, lam, constraints=cons, method="ssnal", tol=1e-8)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("case", ["huber", "scaled", "sum", "box", "sparse"])
def test_huber_route_certifies_at_clarabels_objective(case, q):
    """Huber with M at the 10/50/90 % quantiles of the residuals, with column norms over 1e-2..1e2, as half of a
    sum with least squares, with a box, and on a scipy.sparse A (30 % nonzeros): the Huber route runs and certifies
    at Clarabel's objective."""
    seed = {"huber": 1, "scaled": 2, "sum": 3, "box": 4, "sparse": 5}[case] + int(10 * q)
    A, t, r = _data(40, 120, seed, cols=2 if case == "scaled" else None)
    if case == "sparse":
        A = sp.csc_array(A * (np.random.default_rng(seed).random(A.shape) < 0.3))
        r = np.abs(t - A @ np.linalg.lstsq(A.toarray(), t, rcond=None)[0]) + np.abs(t) / 10
    M = float(np.quantile(r, q))
    loss = (Stacked([LeastSquares(A[:20], t[:20]), Huber(A[20:], t[20:], M=M)]) if case == "sum"
            else Huber(A, t, M=M))
    box = (-1.0, 1.0) if case == "box" else None
    res = _ours(loss, 0.05 * 40, box)
    assert res.status == "optimal"
    assert res.info["route"] == "huber as least squares"
    ref = clarabel_objective(loss, PSI, 0.05 * 40, box)
    assert res.objective <= ref + 1e-7 * max(1.0, abs(ref))


@pytest.mark.parametrize("c", [1e-3, 1e3, 1e6])
def test_rescaled_data_give_the_same_status_objective_and_steps(c):
    """(A, b, M) -> c (A, b, M) with lam -> c^2 lam multiplies the objective by c^2 and leaves the solutions: the run
    certifies `optimal` at c^2 x the unscaled objective and at c^2 x Clarabel's unscaled one, in about as many Newton steps as the unscaled data."""
    A, t, r = _data(40, 120, 7)
    M, lam = float(np.quantile(r, 0.5)), 0.02 * 40
    base = _ours(Huber(A, t, M=M), lam)
    res = _ours(Huber(c * A, c * t, M=c * M), c * c * lam)
    assert base.status == res.status == "optimal"
    assert res.info["route"] == "huber as least squares"
    assert res.objective == pytest.approx(c * c * base.objective, rel=1e-8)
    assert res.info["newton_steps"] <= 2 * base.info["newton_steps"] + 5
    ref = c * c * clarabel_objective(Huber(A, t, M=M), PSI, lam)  # Clarabel itself is inaccurate at c = 1e6
    assert res.objective <= ref + 1e-7 * abs(ref)


def test_huber_on_torch_data_takes_the_route_in_its_namespace():
    """The Huber route runs in the data's namespace: a torch Huber problem takes it, returns a torch x, and
    certifies at Clarabel's objective."""
    torch = pytest.importorskip("torch")
    A, t, r = _data(30, 80, 11)
    M = float(np.quantile(r, 0.5))
    res = cvxpar.solve(Huber(torch.tensor(A), torch.tensor(t), M=M), PSI, 1.0, method="ssnal", tol=1e-8)
    assert res.status == "optimal"
    assert res.info.get("route") == "huber as least squares" and isinstance(res.x, torch.Tensor)
    ref = clarabel_objective(Huber(A, t, M=M), PSI, 1.0)
    assert res.objective <= ref + 1e-7 * max(1.0, abs(ref))
