"""The fused FISTA route for CuPy least squares: the decision (CPU, CuPy faked by patching the array test),
the whole route on NumPy data with the array-API tail against Clarabel, and the CUDA kernel (gpu)."""

from __future__ import annotations

import numpy as np
import pytest
from solver_reference import reference_objective

import cvxpar
from cvxpar import batch, grids, pars
from cvxpar.constraints import Box, Simplex
from cvxpar.losses import LeastSquares, Logistic
from cvxpar.solvers import fused_fista
from cvxpar.solvers._problem import Problem

RIDGE = pars.ridge(grids.uniform(0.25, 9))


def _data(n=30, d=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


@pytest.fixture
def fake_cupy(monkeypatch):
    """Every dense A counts as a CuPy array for the route's decision (the loop then runs the array-API tail)."""
    monkeypatch.setattr(fused_fista, "_on_cupy", lambda A: True)


def test_numpy_data_never_takes_the_fused_route():
    A, b = _data()
    assert not fused_fista.applies(Problem(LeastSquares(A, b), RIDGE, 0.5))


@pytest.mark.parametrize(("case", "expected"), [
    ("plain", True),
    ("scalar box", True),
    ("per-coordinate lam", False),
    ("per-coordinate box", False),
    ("nonconvex psi", False),
    ("logistic", False),
    ("simplex rows", False),
])
def test_decision_on_cupy_least_squares(fake_cupy, case, expected):
    A, b = _data()
    d = A.shape[1]
    loss, psi, lam, cons = LeastSquares(A, b), RIDGE, 0.5, None
    if case == "scalar box":
        cons = Box(-0.5, 0.75)
    elif case == "per-coordinate lam":
        lam = np.linspace(0.1, 1.0, d)
    elif case == "per-coordinate box":
        cons = Box(-np.linspace(0.5, 1.0, d), 1.0)
    elif case == "nonconvex psi":
        psi = pars.mcp(grids.uniform(0.25, 9), 1.0)
    elif case == "logistic":
        loss = Logistic(A, np.sign(b))
    elif case == "simplex rows":
        cons = Simplex(1.0)
    assert fused_fista.applies(Problem(loss, psi, lam, cons)) is expected


@pytest.mark.parametrize("cons", [None, Box(-0.3, 0.4)])
def test_the_route_runs_the_batched_loop_and_certifies(fake_cupy, monkeypatch, cons):
    calls = []
    real = batch.solve_batch

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "solve_batch", spy)
    A, b = _data(40, 25, seed=1)
    res = cvxpar.solve(LeastSquares(A, b), RIDGE, 2.0, constraints=cons, method="fista")
    assert len(calls) == 1 and calls[0]["certify"] is False
    assert res.info["fused_kernels"] is False  # NumPy data: the same loop with the array-API tail
    assert res.status == "optimal"
    ref = reference_objective(A, b, RIDGE, 2.0, cons)
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref))


def test_an_early_stop_finishes_in_the_generic_loop(fake_cupy, monkeypatch):
    real = batch.solve_batch
    monkeypatch.setattr(batch, "solve_batch", lambda *a, **kw: real(*a, **{**kw, "max_iter": 3}))
    A, b = _data(40, 25, seed=2)
    res = cvxpar.solve(LeastSquares(A, b), RIDGE, 2.0, method="fista", polish=False)
    assert res.info["fused_iterations"] == 3 < res.iterations  # the generic loop took over from the 3rd iterate
    assert res.status == "optimal"
    ref = reference_objective(A, b, RIDGE, 2.0)
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref))


@pytest.mark.gpu
def test_cupy_input_uses_the_fused_kernel(cp_gpu):
    A, b = _data(200, 120, seed=3)
    res_np = cvxpar.solve(LeastSquares(A, b), RIDGE, 2.0, method="fista")
    res = cvxpar.solve(LeastSquares(cp_gpu.asarray(A), cp_gpu.asarray(b)), RIDGE, 2.0, method="fista")
    assert res.info["fused_kernels"] is True and res.status == "optimal"
    assert isinstance(res.x, cp_gpu.ndarray)
    np.testing.assert_allclose(res.x.get(), res_np.x, atol=1e-7)
