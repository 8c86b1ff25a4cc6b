"""ssnal's proximal Newton path on data whose column norms span six to eight decades: the diagonal
(column-norm) proximal metric of cvxpar.solvers._metric, the majorizer safeguard on the model's curvature
and the stop once the data's precision bounds the residual, each checked against CVXPY + Clarabel."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import Huber, Logistic
from cvxpar.solvers import ssnal
from cvxpar.solvers._metric import ColumnMetric, column_spread
from cvxpar.solvers._problem import Problem

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
LO, HI = -1.0, 0.5


def _scaled(seed: int, decades: float, n: int = 60, d: int = 150):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-decades, decades, d)
    t = A @ rng.choice(cvxpar.grids.uniform(0.5, 7), d) / np.sqrt(d) + 0.1 * rng.standard_normal(n)
    return A, t


def _clarabel(loss, A, lam, box: bool) -> float:
    """Clarabel's objective on the epigraph model, scored by cvxpar.certificate at its point (clipped into
    the Box, which Clarabel meets only to its own tolerance)."""
    x = cp.Variable(A.shape[1])
    slopes, intercepts = PSI.max_affine()
    pieces = cp.max(cp.vstack([a * x + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0)
    cons = [x >= LO, x <= HI] if box else []
    cp.Problem(cp.Minimize(loss.cvxpy(A @ x) + lam * cp.sum(pieces)), cons).solve(solver="CLARABEL")
    xv = np.clip(x.value, LO, HI) if box else x.value
    return cvxpar.certificate(loss, PSI, lam, xv, Box(LO, HI) if box else None).objective


@pytest.mark.parametrize("box", [False, True], ids=["free", "box"])
@pytest.mark.parametrize("decades", [3, 4])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["huber", "logistic"])
def test_scaled_columns_reach_clarabels_optimum_in_few_outer_steps(kind, seed, decades, box):
    """Column norms 10^-decades .. 10^decades: ssnal ends at or below Clarabel's objective, certified or
    stopped by the data's precision, within 60 outer steps (before the metric: Huber ran all 200 at max_iter,
    7% above Clarabel, and with norms 1e-4..1e4 every Huber run used all 200)."""
    A, t = _scaled(seed, decades)
    loss = Huber(A, t, M=0.1) if kind == "huber" else Logistic(A, np.sign(t))
    lam = 0.01 * A.shape[0]
    res = cvxpar.solve(loss, PSI, lam, Box(LO, HI) if box else None, method="ssnal", tol=1e-8)
    F_ref = _clarabel(loss, A, lam, box)
    assert res.status in ("optimal", "optimal_inaccurate"), res.message
    assert res.objective <= F_ref + 1e-6 * abs(F_ref)
    assert res.iterations <= 60


def test_model_step_under_the_column_metric_solves_its_model():
    """The inner solve with the metric W = diag(1 / ||a_i||^2) returns the minimizer of
    g^T (y - x) + 1/2 ||S A (y - x)||^2 + lam sum psi(y) + ||y - x||^2_{W^-1} / (2 sigma) (CVXPY + Clarabel)."""
    A, t = _scaled(3, 3, n=20, d=30)
    lam = 0.5
    loss = Huber(A, t, M=0.1)
    prob = Problem(loss, PSI, lam)
    metric = ColumnMetric.of(loss.op)
    assert metric is not None
    np.testing.assert_allclose(np.linalg.norm(metric.scaled, axis=0), 1.0, rtol=1e-12)
    rng = np.random.default_rng(4)
    x = rng.choice(cvxpar.grids.uniform(0.5, 7), 30) + 0.1 * rng.standard_normal(30)
    z = A @ x
    g = loss.grad_z(z)
    S = np.sqrt(np.maximum(loss.d2h(z), 0.3))
    L = loss.lipschitz() * metric.norm_ratio
    sigma = 10.0 / L
    y, _, converged = ssnal._inner_newton(prob, x, g, S, sigma, ssnal._gram_for(metric.op), 1e-12, 1, 1e-12,
                                          metric.w, metric.op)
    assert converged
    v = cp.Variable(30)
    slopes, intercepts = PSI.max_affine()
    pieces = cp.max(cp.vstack([a * v + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0)
    model = (g @ (v - x) + 0.5 * cp.sum_squares(S[:, None] * A @ (v - x)) + lam * cp.sum(pieces)
             + cp.sum(cp.multiply(1.0 / metric.w, cp.square(v - x))) / (2 * sigma))
    cp.Problem(cp.Minimize(model)).solve(solver="CLARABEL")

    def value(p):
        return float(g @ (p - x) + 0.5 * np.sum((S * (A @ (p - x))) ** 2) + prob.penalty(p)
                     + np.sum((p - x) ** 2 / metric.w) / (2 * sigma))

    assert value(y) <= value(v.value) + 1e-9 * abs(value(v.value))


def test_metric_is_off_for_columns_of_similar_norms():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 50)) * 10.0 ** rng.uniform(-1, 1, 50)
    assert ColumnMetric.of(Huber(A, np.zeros(30)).op) is None


@pytest.mark.parametrize("lam_factor", [0.001, 0.1])
def test_auto_sends_scaled_logistic_to_ssnal_and_certifies_at_clarabels_optimum(lam_factor):
    """Logistic on norms 1e-3..1e3: auto picks ssnal directly (before: cd, which on such data ran its
    whole epoch budget before handing over to ssnal) and certifies at Clarabel's objective."""
    A, t = _scaled(5, 3, n=80, d=300)  # d > 200: past auto's small-problem rule ("ssn")
    loss, lam = Logistic(A, np.sign(t)), lam_factor * A.shape[0]
    res = cvxpar.solve(loss, PSI, lam, tol=1e-8)
    assert res.method == "ssnal" and "handoff" not in res.info
    F_ref = _clarabel(loss, A, lam, False)
    assert res.status == "optimal", res.message
    assert res.objective <= F_ref + 1e-6 * abs(F_ref)


def test_auto_keeps_cd_for_logistic_on_columns_of_similar_norms():
    A, t = _scaled(5, 0.5, n=80, d=300)
    assert cvxpar.solve(Logistic(A, np.sign(t)), PSI, 0.6, tol=1e-8).method == "cd"


def test_auto_keeps_cd_for_sparse_logistic_whose_spread_comes_from_sparsity():
    As = sp.random(200, 1000, density=0.005, random_state=2, format="csc")
    y = np.where(As @ np.ones(1000) > np.median(As @ np.ones(1000)), 1.0, -1.0)
    assert column_spread(Logistic(As, y).op) > 100
    assert cvxpar.solve(Logistic(As, y), PSI, 2.0, tol=1e-8).method == "cd"
