"""cvxpar.solvers._common.finish: a result's certificate is the certificate of its x, also when the method
hands back the certificate it computed there (only the duality gap is then added)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from exact_arithmetic import exact_gradient, exact_residual
from user_losses import clarabel_objective

import cvxpar
from cvxpar.solvers import _common


def _problem(d: int, seed: int):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((3 * d, d))
    b = A @ rng.uniform(-1, 1, d) + 0.1 * rng.standard_normal(3 * d)
    return cvxpar.losses.LeastSquares(A, b), cvxpar.pars.ridge(cvxpar.grids.uniform(1 / 3, 7)), 0.15 * d


@pytest.mark.parametrize("d", [10, 60])
def test_a_handed_back_certificate_gives_the_independent_certificate_of_x(d):
    loss, psi, lam = _problem(d, d)
    box = cvxpar.constraints.Box(-1, 1)
    res = cvxpar.solve(loss, psi, lam, box, method="ssnal")
    assert res.info.get("route") == "direct active-set Newton" and res.status == "optimal"
    ref = cvxpar.certificate(loss, psi, lam, res.x, box)  # from x alone, gap included
    assert res.gap is not None and res.gap == ref.gap
    assert (res.objective, res.residual, res.quantization_rate) == (ref.objective, ref.residual, ref.quantization_rate)


def test_finish_adds_only_the_gap_to_the_method_certificate():
    loss, psi, lam = _problem(12, 3)
    res = cvxpar.solve(loss, psi, lam, cvxpar.constraints.Box(-1, 1))
    prob = res.info["problem"]
    cert = prob.certify(res.x)
    assert cert.gap is None
    monitor = _common.Monitor(False, "ssnal", prob, 1e-8)
    reused = _common.finish(prob, _common.Outcome(res.x, 1, cert=cert), 1e-8, "ssnal", monitor)
    fresh = _common.finish(prob, _common.Outcome(res.x, 1), 1e-8, "ssnal", monitor)
    fields = [f.name for f in dataclasses.fields(reused) if f.name not in ("solve_time", "info", "x")]
    assert {f: getattr(reused, f) for f in fields} == {f: getattr(fresh, f) for f in fields}
    assert reused.gap is not None


@pytest.mark.parametrize("method", ["fista", "ssnal", "cd"])
def test_float32_numpy_data_is_certified_at_the_precision_its_products_run_in(method):
    """float32 NumPy data with float64 iterates: A @ x runs in float64 (NumPy promotes), so the rounding estimate is
    float64's and tol = 1e-8 certifies (it used float32's eps of A's dtype: 'max_iter' on every such problem)."""
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((15, 10)).astype(np.float32), rng.standard_normal(15).astype(np.float32)
    psi = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))
    res = cvxpar.solve(cvxpar.losses.LeastSquares(A, b), psi, 0.1, method=method)
    assert res.status == "optimal"
    exact = cvxpar.losses.LeastSquares(A.astype(np.float64), b.astype(np.float64))  # the same numbers
    assert cvxpar.certificate(exact, psi, 0.1, res.x).certifies(1e-8)


def test_float32_iterates_on_float32_data_certify_through_the_doubled_precision_gradient():
    """float32 iterates on float32 data: the float32 gradient's rounding error (about 4e-5 here) exceeds tol = 1e-6
    though the residual (about 9e-7) passes it; the certificate's doubled-precision gradient of the same float32
    numbers resolves it, and the exact rational residual confirms the point is within tol."""
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((15, 10)).astype(np.float32), rng.standard_normal(15).astype(np.float32)
    psi = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))
    x = cvxpar.solve(cvxpar.losses.LeastSquares(A, b), psi, 0.1).x.astype(np.float32)
    loss = cvxpar.losses.LeastSquares(A, b)
    cert = cvxpar.certificate(loss, psi, 0.1, x)
    _, estimate = loss.gradient_rounding(x)
    assert cert.residual <= 1e-6 * cert.scale < cert.residual + float(np.max(estimate()))
    assert cert.certifies(1e-6)
    g = exact_gradient("ls", A.astype(np.float64), b.astype(np.float64), x.astype(np.float64))
    assert exact_residual(psi, 0.1, x.astype(np.float64), g) <= 1e-6 * cert.scale


def test_a_status_limited_by_float32_rounding_names_the_precision_not_float64():
    """torch float32 data and iterates (no doubled-precision gradient for them): the float32 rounding error keeps
    tol = 2e-6 out of reach though the residual passes it; the message says the data's precision limits the
    certificate and what to do, and does not blame float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((15, 10)).astype(np.float32), rng.standard_normal(15).astype(np.float32)
    psi = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))
    x = cvxpar.solve(cvxpar.losses.LeastSquares(A, b), psi, 0.1).x.astype(np.float32)
    loss = cvxpar.losses.LeastSquares(torch.from_numpy(A), torch.from_numpy(b))
    cert = cvxpar.certificate(loss, psi, 0.1, torch.from_numpy(x))
    assert cert.limited_by_rounding(2e-6)  # the float32 residual is about 1.2e-6 here
    status, message = _common.status_of(cert, 2e-6, True)
    assert status != "optimal"
    assert "precision" in message and "float64 data" in message
    assert "float64 can certify" not in message


def test_data_of_large_magnitude_stop_at_their_precision_floor_with_the_accuracy_they_prove():
    """Data of large magnitude (A of 1e3, target of 1e6, x of 1e3 beyond the grid): the float64 gradient is a
    difference of numbers ~1e10 with an estimated rounding error (~8e-4) far above tol * scale, and no float64
    point gets the exact residual below ~3e-5 (the spacing of x ~ 4e3 times ||a_j||^2 ~ 4e7).  ssnal stops a few
    steps after reaching that floor (it ran its 200 outer steps before), at Clarabel's objective, with
    "optimal_inaccurate" and the relative accuracy the point provably has, which the exact rational residual
    confirms."""
    rng = np.random.default_rng(2024)
    n, d = 40, 120
    A = rng.standard_normal((n, d))
    grid = cvxpar.grids.uniform(0.5, 7)
    b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
    A, b = 1e3 * A, 1e6 * b
    loss, psi, lam = cvxpar.losses.LeastSquares(A, b), cvxpar.pars.ridge(grid), 0.05 * n
    res = cvxpar.solve(loss, psi, lam, method="ssnal", tol=1e-8)
    cert = cvxpar.certificate(loss, psi, lam, res.x)
    assert res.status == "optimal_inaccurate" and res.iterations < 100
    assert cert.within_precision_floor(1e-8) and f"{cert.precision_floor:.2e}" in res.message
    assert f"{cert.proven_accuracy:.1e}" in res.message
    exact = exact_residual(psi, lam, res.x, exact_gradient("ls", A, b, res.x))
    assert 1e-8 * cert.scale < exact <= cert.proven_accuracy * cert.scale
    F_ref = clarabel_objective(loss, psi, lam)
    assert res.objective <= F_ref + 1e-9 * abs(F_ref)


def test_a_limit_status_adds_no_precision_note_when_the_data_can_certify():
    loss, psi, lam = _problem(30, 1)
    res = cvxpar.solve(loss, psi, lam, method="pg", max_iter=3)
    assert res.status == "max_iter" and "rounding" not in res.message
