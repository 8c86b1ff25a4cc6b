"""The compiled per-step passes of ssnal and the certificate (cvxpar.solvers._ray_prox, cvxpar._prox_kernels'
ray_prox / split_of / psi_sum / stationarity / grid_hits) against the NumPy expressions they replace, bit for bit,
and the medium-size classes that run through them against CVXPY + Clarabel."""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar import _prox_kernels as kernels
from cvxpar import grids, pars, solve
from cvxpar.certificate import QUANTIZED_ATOL, penalty
from cvxpar.constraints import Box, Linear, NonNeg, Simplex
from cvxpar.losses import LeastSquares
from cvxpar.metrics import quantization_rate
from cvxpar.solvers._common import check
from cvxpar.solvers._problem import Problem
from cvxpar.solvers._ray_prox import CompiledRay

D = 600
PSIS = {
    "ridge 15": pars.ridge(grids.uniform(2 / 14, 15)),
    "l1": pars.l1(np.array([0.0])),
    "ridge 255": pars.ridge(grids.uniform(2 / 254, 255)),  # more breakpoints than the kernels' linear scan
}


def _bounds(rng):
    lower = rng.uniform(-1.0, 0.0, D)
    return {"none": None, "box": Box(-0.3, 0.3), "x >= 0": NonNeg(), "per coordinate": Box(lower, lower + rng.uniform(0, 1, D))}


@pytest.mark.parametrize("n", [1, 5, 8, 9, 127, 128, 129, 256, 257, 1000, 1031, 4096, 20000])
def test_pairwise_sum_is_numpys_sum(n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
    assert kernels.pairwise_sum(a, 0, n) == float(np.sum(a))


@pytest.mark.parametrize("psi_name", list(PSIS))
@pytest.mark.parametrize("bounds", ["none", "box", "x >= 0", "per coordinate"])
def test_ray_point_and_split_are_the_numpy_expressions(psi_name, bounds):
    rng = np.random.default_rng(7)
    psi = PSIS[psi_name]
    A = rng.standard_normal((20, D))
    prob = Problem(LeastSquares(A, rng.standard_normal(20)), psi, 3.0, _bounds(rng)[bounds])
    ray = CompiledRay.of(prob)
    assert ray is not None
    for sigma in (1e-4, 1e-2, 1.0):
        x = prob.prox(rng.standard_normal(D), sigma)
        atu, atdu = rng.standard_normal(D), rng.standard_normal(D)
        for alpha in (0.0, 0.37, 1.0):
            z, dot, size = ray.point(x, atu, atdu, alpha, sigma)
            ref = prob.prox(x - sigma * (atu + alpha * atdu), sigma)
            np.testing.assert_array_equal(z, ref)
            assert dot == float(np.sum(atdu * ref)) and size == float(np.sum(np.abs(atdu * ref)))
            kinks = np.where(rng.random(D) < 0.2, rng.choice(prob.kpsi.breakpoints, D), z)
            for v in (z, np.where(rng.random(D) < 0.05, np.nan, kinks)):
                fixed, piece = ray.split(v)
                np.testing.assert_array_equal(fixed, prob.kpsi.on_breakpoint(v, prob.lb, prob.ub))
                np.testing.assert_array_equal(prob.fixed(v), fixed)
                np.testing.assert_array_equal(piece, prob.kpsi.piece_index(v))


def test_compiled_ray_needs_a_convex_psi_and_a_scalar_lam():
    rng = np.random.default_rng(0)
    loss = LeastSquares(rng.standard_normal((10, D)), rng.standard_normal(10))
    assert CompiledRay.of(Problem(loss, pars.sawtooth([0.0, 1.0]), 1.0)) is None
    assert CompiledRay.of(Problem(loss, PSIS["l1"], np.full(D, 1.0))) is None
    assert CompiledRay.of(Problem(loss, PSIS["l1"], 0.0)) is None


@pytest.mark.parametrize("psi", [*PSIS.values(), pars.sawtooth([0.0, 0.5, 1.0]), PSIS["ridge 15"].restrict(0.0, 0.6)])
def test_compiled_penalty_is_numpys(psi):
    rng = np.random.default_rng(3)
    lo, hi = psi.domain
    for n in (1, 7, 300, 3001):
        x = np.clip(rng.standard_normal(n), lo, hi)
        x[: n // 3] = rng.choice(psi.breakpoints, n // 3)
        assert penalty(x, psi, 0.7, np) == 0.7 * float(np.sum(psi(x)))
    assert np.isnan(penalty(np.array([np.nan, 0.0]), psi, 1.0, np))


@pytest.mark.parametrize("psi_name", list(PSIS))
@pytest.mark.parametrize("bounds", ["none", "box", "x >= 0", "per coordinate"])
def test_certificate_terms_are_the_numpy_expressions(psi_name, bounds):
    """The compiled stationarity distances and grid hits of evaluate equal PAR.subdifferential_distance and
    metrics.quantization_rate, points on kinks and bounds included (a non-finite x never reaches them)."""
    rng = np.random.default_rng(11)
    psi = PSIS[psi_name]
    A = rng.standard_normal((30, D))
    prob = Problem(LeastSquares(A, rng.standard_normal(30)), psi, 2.0, _bounds(rng)[bounds])
    for k in range(3):
        x = prob.prox(rng.standard_normal(D), 0.05) if k < 2 else rng.standard_normal(D)  # k = 2: outside the box
        if k == 1:
            x[:40] = rng.choice(psi.breakpoints, 40)
            x = np.clip(x, *prob.bounds_np())
        cert = check(prob, x)
        g = prob.loss.grad(x)
        lower, upper = prob.feasible.bounds_like(x)
        xc = np.clip(x, *prob.bounds_np())
        dist = psi.subdifferential_distance(xc, -g, 2.0, lower, upper)
        np.testing.assert_array_equal(cert.coordinate_residuals, dist)
        assert cert.quantization_rate == quantization_rate(x, psi, QUANTIZED_ATOL)
        assert cert.objective == prob.loss.value(x) + 2.0 * float(np.sum(psi(xc)))


def _budget(rng, n, d):
    grid = grids.uniform(1 / 15, 16)
    A = rng.standard_normal((n, d))
    b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
    return LeastSquares(A, b), pars.ridge(grid), 0.05 * n, [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.1 * d])]


def _classes():
    """Small instances of the medium-size classes: (name, loss, psi, lam, constraints)."""
    rng = np.random.default_rng(2024)
    n, d = 40, 300
    for levels in (15, 21):
        grid = grids.uniform(2.0 / (levels - 1), levels)
        A = rng.standard_normal((n, d))
        b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
        for lam_f in (0.002, 0.05):
            yield f"ridge L={levels} lam={lam_f}n", LeastSquares(A, b), pars.ridge(grid), lam_f * n, None
    for lo, hi in ((-0.3, 0.3), (0.1, 0.6)):
        grid = grids.uniform(0.25, 9)
        A = rng.standard_normal((n, d))
        b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
        yield f"box [{lo}, {hi}]", LeastSquares(A, b), pars.ridge(grid), 0.05 * n, Box(lo, hi)
    yield ("x >= 0 + budget", *_budget(rng, n, d))
    grid = grids.uniform(0.5, 7)
    A = rng.standard_normal((n, d))
    x = rng.choice(grid, d)
    G = rng.standard_normal((3, d))
    yield "3 inequality rows", LeastSquares(A, A @ x + 0.1 * rng.standard_normal(n)), pars.ridge(grid), 0.05 * n, \
        Linear(A_ub=G, b_ub=G @ x - 1.0)
    A = rng.standard_normal((n, d))
    yield "simplex r=5", LeastSquares(A, A @ rng.dirichlet(np.ones(d)) * 5 + 0.1 * rng.standard_normal(n)), \
        pars.ridge(grids.uniform(0.1, 11)), 0.1 * n, Simplex(5.0)


@pytest.mark.parametrize("case", list(_classes()), ids=lambda c: c[0])
def test_medium_classes_certified_at_clarabels_objective(case):
    pytest.importorskip("cvxpy")
    from cvxpar.bench.breadth import _clarabel
    from cvxpar.certificate import certificate

    _, loss, psi, lam, cons = case
    res = solve(loss, psi, lam, constraints=cons, tol=1e-8)
    assert res.status == "optimal"
    _, prob, x = _clarabel(loss, psi, lam, cons)
    assert prob.status == "optimal"
    F_ref = certificate(loss, psi, lam, x.value, cons).objective
    assert res.objective <= F_ref + 1e-7 * max(1.0, abs(F_ref))
