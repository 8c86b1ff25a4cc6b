"""cvxpar.reference: against a plain CVXPY formulation (convex psi) and against brute-force
enumeration of the convex chunks (nonconvex psi, d <= 3), plus its result object and errors."""

from __future__ import annotations

import itertools
import sys
import time
import warnings

import cvxpy as cp
import numpy as np
import pytest
from reference_cases import GRID, RIDGE, needs_scip, scaled_data
from reference_cases import chunk_brute_force as _brute_force
from reference_cases import gaussian_data as _data

import cvxpar
from cvxpar import PAR, losses
from cvxpar import constraints as C
from cvxpar.exact import finish
from cvxpar.exact.mip import convex_chunks


def _plain(loss_kind, A, t, psi, lam, cons_fn=None, M=1.0):
    """The formulation a CVXPY user writes: loss + lam * sum(cp.max of the pieces)."""
    x = cp.Variable(A.shape[1])
    a, b = psi.max_affine()
    pen = cp.max(cp.vstack([ak * x + bk for ak, bk in zip(a, b, strict=True)]), axis=0)
    if loss_kind == "ls":
        f = 0.5 * cp.sum_squares(A @ x - t)
    elif loss_kind == "logistic":
        f = cp.sum(cp.logistic(cp.multiply(-t, A @ x)))
    else:
        f = 0.5 * cp.sum(cp.huber(A @ x - t, M))
    lo, hi = psi.domain
    cons = ([x >= lo] if np.isfinite(lo) else []) + ([x <= hi] if np.isfinite(hi) else [])
    cons += cons_fn(x) if cons_fn else []
    prob = cp.Problem(cp.Minimize(f + cp.sum(cp.multiply(lam, pen))), cons)
    prob.solve(solver=cp.CLARABEL)
    return prob.value, x.value


CONSTRAINTS = {
    "none": (None, None),
    "box": (C.Box(-0.6, 0.8), lambda x: [x >= -0.6, x <= 0.8]),
    "nonneg": (C.NonNeg(), lambda x: [x >= 0]),
    "simplex": (C.Simplex(2.0), lambda x: [x >= 0, cp.sum(x) == 2.0]),
    "linear": (
        C.Linear(A_eq=np.ones((1, 12)), b_eq=[1.0], A_ub=np.eye(12)[:3], b_ub=[0.1, 0.1, 0.1]),
        lambda x: [cp.sum(x) == 1.0, x[:3] <= 0.1],
    ),
}


@pytest.mark.parametrize("formulation", ["residual", "plain"])
@pytest.mark.parametrize("shape", [(8, 12), (20, 12)])
@pytest.mark.parametrize("name", list(CONSTRAINTS))
def test_convex_reference_matches_plain_cvxpy(name, shape, formulation):
    A, b = _data(*shape)
    ours, theirs = CONSTRAINTS[name]
    lam = np.linspace(0.2, 1.0, 12)
    res = cvxpar.reference(losses.LeastSquares(A, b), RIDGE, lam, ours, formulation=formulation)
    value, _ = _plain("ls", A, b, RIDGE, lam, theirs)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(value, rel=1e-6, abs=1e-7)
    assert res.info["formulation"] == formulation
    assert isinstance(res.x, np.ndarray) and res.x.shape == (12,)
    assert res.residual < 1e-5 and res.iterations > 0 and res.solve_time > 0
    assert res.quantization_rate == cvxpar.quantization_rate(res.x, RIDGE)


@pytest.mark.parametrize("kind", ["logistic", "huber"])
def test_convex_reference_other_losses(kind):
    A, b = _data(15, 10, seed=1)
    psi = cvxpar.pars.parq(GRID)  # walls at +/-1
    if kind == "logistic":
        t = np.sign(b)
        loss = losses.Logistic(A, t)
    else:
        t = b
        loss = losses.Huber(A, b, M=0.5)
    res = cvxpar.reference(loss, psi, 0.3)
    value, _ = _plain(kind, A, t, psi, 0.3, M=0.5)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(value, rel=1e-6)
    assert np.all(np.abs(res.x) <= 1.0)
    assert res.gap is not None and res.gap < 1e-4


def test_result_fields_and_certificate():
    A, b = _data(10, 20, seed=2)
    loss = losses.LeastSquares(A, b)
    res = cvxpar.reference(loss, RIDGE, 0.5, C.Box(-1, 1))
    cert = cvxpar.certificate(loss, RIDGE, 0.5, res.x, C.Box(-1, 1))
    assert res.objective == pytest.approx(cert.objective, rel=1e-12)
    assert res.residual == pytest.approx(cert.residual) and res.residual < 1e-6
    assert res.gap is not None and res.gap < 1e-6
    assert res.method == "reference" and res.info["solver"] == cp.CLARABEL
    assert res.info["cvxpy_status"] == cp.OPTIMAL


def test_reference_errors():
    A, b = _data(5, 4)
    with pytest.raises(TypeError, match="has no CVXPY form"):
        cvxpar.reference(losses.Smooth(lambda x: 0.0, lambda x: 0 * x, 1.0, n_features=4), RIDGE, 1.0)
    with pytest.raises(ValueError, match="nonnegative"):
        cvxpar.reference(losses.LeastSquares(A, b), RIDGE, -1.0)
    with pytest.raises(ValueError, match="one entry per coordinate"):
        cvxpar.reference(losses.LeastSquares(A, b), RIDGE, np.ones(3))
    sawtooth = cvxpar.pars.sawtooth(GRID)  # flat-bottomed W: grows, so bounds come from growth...
    flat = PAR([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], 0.0, 0.0)  # ...this one does not grow, and with
    assert sawtooth.curvature == "nonconvex"  # fewer samples than features neither does the loss: no bounds
    A_wide, b_wide = _data(3, 4)
    with pytest.raises(ValueError, match="needs finite bounds"):
        cvxpar.reference(losses.LeastSquares(A_wide, b_wide), flat, 1.0)


def test_infeasible_status():
    A, b = _data(5, 4)
    res = cvxpar.reference(losses.LeastSquares(A, b), RIDGE, 1.0, [C.Box(0.5, 1.0), C.Simplex(1.0)])
    assert res.status == "infeasible" and np.isnan(res.x).all()


@pytest.mark.slow
@pytest.mark.parametrize("solver", [pytest.param(cp.SCIP, marks=[needs_scip, pytest.mark.mip]), None])
@pytest.mark.parametrize(
    ("psi_name", "d", "seed"),
    [("mcp", 2, 0), ("mcp", 3, 1), ("sawtooth", 2, 2), ("staircase", 3, 3)],
)
def test_mip_reference_matches_brute_force(psi_name, d, seed, solver):
    """SCIP on the mixed-integer model, and the default (least squares, a Box: the envelope branch and bound)."""
    psi = {
        "mcp": cvxpar.pars.mcp(GRID, 1.0),
        "sawtooth": cvxpar.pars.sawtooth(GRID, slope=2.0),
        "staircase": cvxpar.pars.staircase(GRID),
    }[psi_name]
    A, b = _data(d + 1, d, seed)
    b = 2 * b
    lam = 0.8
    box = C.Box(-1.2, 1.2)
    res = cvxpar.reference(losses.LeastSquares(A, b), psi, lam, box, solver=solver)
    expected = _brute_force(A, b, psi, lam, -1.2, 1.2)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert res.residual < 1e-5  # a Clarke-stationary point (the global minimizer)
    if solver == cp.SCIP:
        assert res.info["n_binaries"] == d * len(convex_chunks(psi, -1.2, 1.2))
    else:
        assert res.info["solver"] == "CVXPAR_BNB" and res.info["nodes"] >= 1


@needs_scip
@pytest.mark.slow
@pytest.mark.mip
def test_mip_reference_with_growth_bounds_and_walls():
    A, b = _data(3, 2, seed=5)
    psi = cvxpar.pars.mcp(GRID, 1.0)
    res = cvxpar.reference(losses.LeastSquares(A, 3 * b), psi, 0.5)
    lo, hi = res.info["bounds"]
    assert res.objective == pytest.approx(_brute_force(A, 3 * b, psi, 0.5, lo.min(), hi.max()), rel=1e-6)
    walls = PAR(GRID, np.abs(np.sin(3 * GRID)), -np.inf, np.inf)  # nonconvex with a hard box
    assert walls.curvature == "nonconvex"
    res = cvxpar.reference(losses.LeastSquares(A, 3 * b), walls, 0.5)
    assert np.all(np.abs(res.x) <= 1.0)
    assert res.objective == pytest.approx(_brute_force(A, 3 * b, walls, 0.5, -1.0, 1.0), rel=1e-6)


def test_missing_scip_names_the_extra(monkeypatch):
    """Huber (or linear rows) needs the mixed-integer model; least squares on a Box does not need SCIP."""
    A, b = _data(3, 2)
    monkeypatch.setattr(cp, "installed_solvers", lambda: ["CLARABEL", "OSQP"])
    psi = cvxpar.pars.mcp(GRID, 1.0)
    with pytest.raises(ImportError, match=r"pip install cvxpar\[mip\]"):
        cvxpar.reference(losses.Huber(A, b), psi, 1.0, C.Box(-1, 1))
    with pytest.raises(ImportError, match=r"pip install cvxpar\[mip\]"):
        cvxpar.reference(losses.LeastSquares(A, b), psi, 1.0, C.Simplex(1.0))
    res = cvxpar.reference(losses.LeastSquares(A, b), psi, 1.0, C.Box(-1, 1))
    assert res.status == "optimal" and res.info["solver"] == "CVXPAR_BNB"
    assert res.objective == pytest.approx(_brute_force(A, b, psi, 1.0, -1.0, 1.0), rel=1e-6, abs=1e-9)


def test_the_branch_and_bound_refuses_what_it_cannot_take():
    A, b = _data(3, 2)
    with pytest.raises(ValueError, match="least-squares loss with bounds only"):
        cvxpar.reference(losses.Huber(A, b), cvxpar.pars.mcp(GRID, 1.0), 1.0, C.Box(-1, 1), solver="CVXPAR_BNB")


@pytest.fixture
def sawtooth_problem():
    """A factory ``make(seed, n, d, step, n_levels, noise) -> (loss, psi)``: least squares on Gaussian A (n x d)
    with b = A x0 + noise * e (x0 uniform on [-1, 1]^d) and a sawtooth psi on ``uniform(step, n_levels)``, a search
    too large to close within a short time limit; one solve with lam = 2 on the box [-1, 1] is run first, so that the
    first call in a process compiles the prox kernels outside the limit being timed."""

    def make(seed: int, n: int, d: int, step: float, n_levels: int, noise: float):
        rng = np.random.default_rng(seed)
        A = rng.standard_normal((n, d))
        b = A @ rng.uniform(-1, 1, d) + noise * rng.standard_normal(n)
        psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(step, n_levels))
        loss = losses.LeastSquares(A, b)
        cvxpar.solve(loss, psi, 2.0, C.Box(-1, 1))
        return loss, psi

    return make


#: Seconds of work the reference may do past its time limit (the polish after the search), on an unloaded core.
TIME_LIMIT_OVERSHOOT = 1.5


def test_branch_and_bound_time_limit_is_honest(sawtooth_problem):
    """A sawtooth problem with fewer rows than columns does not close in 1 s (it needs over 10 CPU s): max_iter with a
    proven bound.  The limit is honoured: the time past it, counted at the share of a core the call got (its CPU
    seconds over its wall seconds, at most 1), is at most TIME_LIMIT_OVERSHOOT, so a loaded machine that stretches
    the wall time does not fail the test while a search that ignores the limit (10+ CPU s) still does.  The
    reported solve_time is honest: it is the call's own wall time, neither more than that nor a part of it."""
    loss, psi = sawtooth_problem(seed=5, n=5, d=30, step=0.25, n_levels=9, noise=0.3)
    limit = 1.0
    wall, cpu = time.perf_counter(), time.process_time()
    res = cvxpar.reference(loss, psi, 2.0, C.Box(-1, 1), time_limit=limit)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert res.status == "max_iter" and "time limit" in res.message
    assert 0.8 * wall - 0.1 <= res.solve_time <= wall
    assert (res.solve_time - limit) * min(1.0, cpu / wall) <= TIME_LIMIT_OVERSHOOT
    assert res.bound is not None and res.bound <= res.objective and res.gap > 0
    assert res.objective == pytest.approx(_objective(loss, psi, 2.0, res.x), rel=1e-12)
    assert np.all(np.abs(res.x) <= 1)


def test_branch_and_bound_stopped_at_once_reports_at_least_the_penalty_floor():
    """A time limit reached at once: max_iter with a proven bound no lower than sum_i lam_i min psi over the box
    the search works in (the loss is >= 0), the floor the mixed-integer path also takes."""
    rng = np.random.default_rng(5)
    A = rng.standard_normal((5, 30))
    b = A @ rng.uniform(-1, 1, 30)
    psi = cvxpar.pars.staircase(cvxpar.grids.uniform(0.25, 9))
    loss = losses.LeastSquares(A, b)
    res = cvxpar.reference(loss, psi, 2.0, C.Box(0.1, 1), time_limit=1e-9)
    assert res.status == "max_iter" and "time limit" in res.message
    floor = 2.0 * 30 * float(psi(np.array([0.1, 0.25])).min())  # psi is nondecreasing: its least value on [0.1, 1]
    assert floor > 0 and floor * (1 - 1e-12) <= res.bound <= res.objective  # the bounds may be tighter than the Box
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective, rel=1e-9)


def test_a_gap_closed_by_the_penalty_floor_is_optimal_even_at_the_time_limit():
    """A loss that is 0 everywhere: the floor sum_i lam_i min psi is F* itself, so a time limit reached at once
    does not stop the point from being a proven global optimum."""
    psi = cvxpar.pars.staircase(cvxpar.grids.uniform(1.0, 3, center=1 / 3), rise=0.9, slope=0.45)
    loss = losses.LeastSquares(np.zeros((1, 3)), np.zeros(1))
    res = cvxpar.reference(loss, psi, 1.0, C.NonNeg(), time_limit=1e-9)
    assert res.status == "optimal" and res.objective == res.bound == 0.0
    np.testing.assert_allclose(res.x, 1 / 3, rtol=1e-12)


def test_public_names_survive_submodule_imports():
    import importlib

    for name in ("reference", "certificate", "par"):
        importlib.import_module(f"cvxpar.{name}")
        assert callable(getattr(cvxpar, name)) and not isinstance(getattr(cvxpar, name), type(cvxpar))


@pytest.mark.slow
def test_reference_time_benchmark_small():
    from cvxpar.bench import reference_time

    table = reference_time.run("small")
    (row,) = table.rows
    assert row[:2] == [50, 500] and row[5] < 1e-7  # same optimum as the plain formulation
    assert "residual" in row[6]


# ---------------------------------------------------------------------- scale robustness (issue: data scaled by 1e6)
SCALES = [1e-6, 1e-3, 1.0, 1e3, 1e6]


def test_issue_reproducer_at_1e6_is_certified_optimal():
    A, b = scaled_data(1e6)
    psi = cvxpar.pars.parq(cvxpar.grids.uniform(0.1, 7))
    loss = losses.LeastSquares(A, b)
    res = cvxpar.reference(loss, psi, 0.01, constraints=C.NonNeg())
    assert res.status == "optimal", res.message
    cert = cvxpar.certificate(loss=loss, psi=psi, lam=0.01, x=res.x, constraints=C.NonNeg())
    assert cert.certifies(1e-6) and cert.infeasibility == 0
    # the same problem written by hand on data divided by 1e6 (objective / 1e12: same minimizer)
    value, x = _plain("ls", A / 1e6, b / 1e6, psi, 0.01 / 1e12, lambda v: [v >= 0])
    np.testing.assert_allclose(res.x, x, atol=1e-6)
    assert res.objective == pytest.approx(1e12 * value, rel=1e-7)


@pytest.mark.parametrize("c", SCALES)
@pytest.mark.parametrize("lam_scales", [True, False], ids=["lam*c^2", "lam fixed"])
def test_convex_reference_is_exact_at_every_scale(c, lam_scales):
    """Against CVXPY written by hand on the data divided by c (objective / c^2, same minimizer)."""
    A, b = scaled_data(c)
    psi = cvxpar.pars.parq(cvxpar.grids.uniform(0.1, 7))
    lam = 0.5 * c * c if lam_scales else 0.01
    loss = losses.LeastSquares(A, b)
    res = cvxpar.reference(loss, psi, lam, constraints=C.NonNeg())
    assert res.status == "optimal", res.message
    assert cvxpar.certificate(loss=loss, psi=psi, lam=lam, x=res.x, constraints=C.NonNeg()).certifies(1e-6)
    value, x = _plain("ls", A / c, b / c, psi, lam / c**2, lambda v: [v >= 0])
    np.testing.assert_allclose(res.x, x, atol=1e-5)
    assert res.objective == pytest.approx(c * c * value, rel=1e-6)


def _piecewise_brute_force(A, b, psi, lam, lower, upper):
    """min over every assignment of coordinates to pieces of psi (where it is affine) of the box-constrained
    least-squares problem on it (SciPy's BVLS, no CVXPY): the global minimum and a minimizer."""
    from scipy.optimize import lsq_linear

    q = psi.breakpoints
    ends = np.concatenate(([-np.inf], q, [np.inf]))
    pieces = [(max(lo, lower), min(hi, upper), s) for lo, hi, s in zip(ends[:-1], ends[1:], psi.slopes, strict=True)
              if max(lo, lower) < min(hi, upper) and np.isfinite(s)]
    d = A.shape[1]
    pinv_T = np.linalg.pinv(A).T
    best, arg = np.inf, None
    for combo in itertools.product(pieces, repeat=d):
        lo = np.array([p[0] for p in combo])
        hi = np.array([p[1] for p in combo])
        s = np.array([p[2] for p in combo])
        # 1/2 ||A x - b||^2 + lam s^T x = 1/2 ||A x - (b - pinv(A)^T lam s)||^2 + const (A of full column rank)
        shift = pinv_T @ (lam * s)
        sol = lsq_linear(A, b - shift, bounds=(lo, hi), method="bvls", tol=1e-14)
        x = np.clip(sol.x, lo, hi)
        value = 0.5 * np.sum((A @ x - b) ** 2) + lam * np.sum(psi(x))
        if value < best:
            best, arg = value, x
    return best, arg


@needs_scip
@pytest.mark.mip
@pytest.mark.parametrize("c", SCALES)
@pytest.mark.parametrize("lam_scales", [True, False], ids=["lam*c^2", "lam fixed"])
def test_mip_reference_is_exact_at_every_scale(c, lam_scales):
    """Against enumeration of psi's pieces (BVLS per assignment), d = 4, NonNeg."""
    A, b = scaled_data(c, n=12, d=4, seed=1)
    psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    lam = 0.3 * c * c if lam_scales else 0.01
    loss = losses.LeastSquares(A, b)
    res = cvxpar.reference(loss, psi, lam, constraints=C.NonNeg())
    assert res.status == "optimal", res.message
    expected, _ = _piecewise_brute_force(A, b, psi, lam, 0.0, np.inf)
    assert res.objective == pytest.approx(expected, rel=1e-7)
    assert res.bound <= res.objective <= res.bound + 1e-6 * max(res.objective, res.info["scaling"].s)
    assert cvxpar.certificate(loss=loss, psi=psi, lam=lam, x=res.x, constraints=C.NonNeg()).certifies(1e-6)
    found = cvxpar.solve(loss, psi, lam, constraints=C.NonNeg())
    assert res.objective <= found.objective * (1 + 1e-9)  # never above a point cvxpar.solve finds


# ---------------------------------------------------------------------- honest statuses
def test_a_solver_optimal_that_does_not_certify_is_not_optimal(monkeypatch):
    A, b = _data(20, 12, seed=4)
    loss = losses.LeastSquares(A, b)
    unpolished = lambda x, loss, psi, lam, constraints, feasible: (x, finish.check(loss, psi, lam, constraints, x))  # noqa: E731
    with monkeypatch.context() as m:  # the status rule alone, on SCS's loose point
        m.setattr(finish, "polish", unpolished)
        res = cvxpar.reference(loss, RIDGE, 0.5, C.Box(-1, 1), solver="SCS", eps_abs=1e-2, eps_rel=1e-2)
    assert res.info["cvxpy_status"] == "optimal"
    assert not cvxpar.certificate(loss=loss, psi=RIDGE, lam=0.5, x=res.x, constraints=C.Box(-1, 1)).certifies(1e-6)
    assert res.status == "optimal_inaccurate" and "certificate does not hold" in res.message
    # with the polish, the same loose point is moved onto the kinks and certified
    res = cvxpar.reference(loss, RIDGE, 0.5, C.Box(-1, 1), solver="SCS", eps_abs=1e-2, eps_rel=1e-2)
    assert res.status == "optimal"
    assert cvxpar.certificate(loss=loss, psi=RIDGE, lam=0.5, x=res.x, constraints=C.Box(-1, 1)).certifies(1e-6)


def test_an_infeasible_claim_is_checked(monkeypatch):
    """A solver that answers "infeasible" on feasible constraints: max_iter with a feasible x, not infeasible."""
    A, b = _data(10, 6, seed=5)

    def fake_solve(self, *args, **kwargs):
        self._status = cp.INFEASIBLE
        return np.inf

    monkeypatch.setattr(cp.Problem, "solve", fake_solve)
    loss = losses.LeastSquares(A, b)
    res = cvxpar.reference(loss, RIDGE, 0.5, C.Simplex(1.0))
    assert res.status == "max_iter" and "feasible" in res.message
    assert abs(res.x.sum() - 1.0) < 1e-9 and (res.x >= -1e-12).all()
    res = cvxpar.reference(loss, RIDGE, 0.5, [C.Box(0.5, 1.0), C.Simplex(1.0)])
    assert res.status == "infeasible" and np.isnan(res.x).all()


# ---------------------------------------------------------------------- time limits, bounds, warnings
@needs_scip
@pytest.mark.mip
def test_mip_time_limit_returns_in_time_with_an_honest_status(sawtooth_problem):
    loss, psi = sawtooth_problem(seed=3, n=30, d=40, step=0.5, n_levels=5, noise=0.5)
    res = cvxpar.reference(loss, psi, 2.0, C.Box(-1, 1), time_limit=2, solver=cp.SCIP)
    assert res.solve_time < 2 + 1.5  # SCIP stops at what is left of 2 s; the polish after it is quick
    assert res.status == "max_iter" and "time limit" in res.message
    assert res.bound is not None and res.bound <= res.objective and 0 < res.gap <= 1
    assert res.objective == pytest.approx(_objective(loss, psi, 2.0, res.x), rel=1e-12)
    assert np.all(np.abs(res.x) <= 1)



@needs_scip
@pytest.mark.mip
def test_time_limit_before_scip_finds_a_point_says_so(monkeypatch):
    """Under load SCIP can stop at its limit with no point: the status and message still name the time limit."""
    reference_module = sys.modules["cvxpar.reference"]

    def no_point(m, chosen, verbose, options, info, deadline):
        info["scip_status"] = "timelimit"
        return None

    monkeypatch.setattr(reference_module, "_solve_mip", no_point)
    A, b = _data(12, 8, seed=4)
    loss, psi = losses.LeastSquares(A, b), cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    res = cvxpar.reference(loss, psi, 2.0, C.Box(-1, 1), time_limit=2, solver=cp.SCIP)
    assert res.status == "max_iter"
    assert "reached the 2 s time limit before finding a point" in res.message
    assert np.all(np.abs(res.x) <= 1)
    assert res.objective == pytest.approx(_objective(loss, psi, 2.0, res.x), rel=1e-12)

def _objective(loss, psi, lam, x):
    return loss.value(x) + lam * float(np.sum(psi(x)))


@needs_scip
@pytest.mark.mip
def test_large_mip_warns_before_starting(monkeypatch):
    reference_module = sys.modules["cvxpar.reference"]
    monkeypatch.setattr(reference_module, "SLOW_BINARIES", 4)
    A, b = _data(6, 3, seed=6)
    with pytest.warns(reference_module.SlowReferenceWarning, match="time_limit="):
        res = cvxpar.reference(losses.LeastSquares(A, b), cvxpar.pars.mcp(GRID, 1.0), 0.5, C.Box(-1, 1),
                               solver=cp.SCIP)
    assert res.status == "optimal"


class _SquaredHinge(losses.LinearModelLoss):
    """0.5 max(0, 1 - y z)^2, written only against the public loss contract."""

    smoothness = 1.0

    def h(self, z):
        return 0.5 * np.maximum(0.0, 1.0 - self.target * z) ** 2

    def dh(self, z):
        return -self.target * np.maximum(0.0, 1.0 - self.target * z)

    def d2h(self, z):
        return (1.0 - self.target * z > 0).astype(np.float64)

    def cvxpy(self, z):
        return 0.5 * cp.sum_squares(cp.pos(1 - cp.multiply(self.target, z)))


@pytest.mark.parametrize("c", [1e-3, 1.0, 1e3])
def test_a_user_loss_through_the_contract(c):
    """A loss the reference knows only by its contract (cvxpy(z)), at several data scales."""
    A, b = _data(25, 8, seed=7)
    y = np.sign(b)
    loss = _SquaredHinge(c * A, y)
    res = cvxpar.reference(loss, RIDGE, 0.2, C.Box(-1, 1))
    x = cp.Variable(8)
    a, q = RIDGE.max_affine()
    pen = cp.max(cp.vstack([ak * x + qk for ak, qk in zip(a, q, strict=True)]), axis=0)
    hinge = 0.5 * cp.sum_squares(cp.pos(1 - cp.multiply(y, c * A @ x)))
    prob = cp.Problem(cp.Minimize(hinge + 0.2 * cp.sum(pen)), [x >= -1, x <= 1])
    prob.solve(solver=cp.CLARABEL)
    assert res.status == "optimal", res.message
    assert res.objective == pytest.approx(prob.value, rel=1e-6)


@needs_scip
@pytest.mark.mip
def test_verbose_shows_scip_progress(capfd):
    A, b = _data(6, 3, seed=8)
    cvxpar.reference(losses.LeastSquares(A, b), cvxpar.pars.mcp(GRID, 1.0), 0.5, C.Box(-1, 1), verbose=True,
                     solver=cp.SCIP)
    out = capfd.readouterr().out
    assert "SCIP" in out and "gap" in out.lower()


def _brute_force_any_loss(loss, psi, lam, lower, upper):
    """min F on [lower, upper]^d over every assignment of the coordinates to psi's convex chunks (Clarabel on
    each convex piece, F recomputed at its point): a value F takes, so never below the true minimum."""
    from cvxpar.exact.mip import fixed_chunk_epigraph

    A, d = loss.op.A, loss.n_features
    best = np.inf
    for combo in itertools.product(convex_chunks(psi, lower, upper), repeat=d):
        x = cp.Variable(d)
        t, cons = fixed_chunk_epigraph(x, list(combo))
        prob = cp.Problem(cp.Minimize(loss.cvxpy(A @ x) + cp.sum(cp.multiply(lam, t))), cons)
        prob.solve(solver=cp.CLARABEL)
        if x.value is not None:
            best = min(best, _objective(loss, psi, lam, np.clip(x.value, lower, upper)))
    return best


#: The fuzz run's SCIP finding: rows scaled from 1e-5 to 2e4 along nearly one direction, fit up to F* = 0.05.
NEARLY_RANK_ONE = np.array([
    [-24420.364341851026, 16730.297646748448], [3.699490857917652e-05, -2.5345069519833238e-05],
    [0.00016204425110453256, -0.0001110158929233151], [6.188306777932648e-06, -4.239585162403702e-06],
    [5.139864544539948e-06, -3.5213014224670027e-06], [0.24202685577934546, -0.1658116676316627],
    [-2.8422177967604978e-05, 1.947192476370908e-05], [-353.38290661615383, 242.10126958790616],
    [1256.1596331645408, -860.5901312723878], [-4.65320291382987e-05, 3.187891411827725e-05]])
NEARLY_RANK_ONE_TARGET = np.array([
    -757.1159803878278, 1.1469704581876118e-06, 5.023933726941278e-06, 1.9185897014180178e-07, 1.5935362508211582e-07,
    0.007503671838324139, -8.811860804149438e-07, -10.956095578658738, 38.945304782250304, -1.4426542686794164e-06])


def _nearly_rank_one_rows(seed):
    """The finding's data (seed 0), or rows scaled over nine decades along nearly one direction."""
    if seed == 0:
        return NEARLY_RANK_ONE, NEARLY_RANK_ONE_TARGET
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-5, 4.3, 10)
    A = scales[:, None] * (np.array([1.0, -0.685]) + 1e-9 * rng.standard_normal((10, 2)))
    return A, A @ rng.uniform(-0.1, 0.1, 2) + 1e-2 * rng.standard_normal(10)


@needs_scip
@pytest.mark.mip
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kind", ["huber", "ls"])
def test_scip_bound_is_a_lower_bound_on_badly_scaled_tiny_problems(kind, seed):
    """The mixed-integer path's bound never exceeds F's brute-force minimum, and "optimal" is the minimum.  On the
    finding's data the rescaled model's objective unit (the loss's largest curvature, 1.7e7) put F / s ~ 3e-9 at
    SCIP's absolute tolerances: SCIP's bound was 0.0698 (least squares) and 0.0667 (Huber) against a minimum of
    0.0509, and with the gap test's unit |F(origin)| = 2.9e5 the least-squares point 0.0698 was called optimal."""
    A, b = _nearly_rank_one_rows(seed)
    loss = losses.Huber(A, b, M=1.0) if kind == "huber" else losses.LeastSquares(A, b)
    psi = cvxpar.pars.mcp(cvxpar.grids.uniform(0.1, 3), 0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cvxpar.reference(loss, psi, 1.0, C.Box(-0.15, 0.15), solver=cp.SCIP, time_limit=30)
    minimum = _brute_force_any_loss(loss, psi, 1.0, -0.15, 0.15)
    assert res.bound is not None and res.bound <= minimum, (res.bound, minimum, res.message)
    assert res.status == "optimal", res.message
    assert res.objective <= minimum + 1e-6 * abs(minimum)


@needs_scip
@pytest.mark.mip
def test_numbers_scip_cannot_hold_give_a_clear_error():
    """A = [[0]] and lam = 1e-300: the objective unit s = 1.5e-300 puts the rescaled Huber threshold M / sqrt(s)
    beyond SCIP's infinity; SCIP said only "error in input data!"."""
    loss = losses.Huber(np.array([[0.0]]), np.array([0.0]))
    psi = cvxpar.pars.mcp(cvxpar.grids.uniform(1.0, 3), 2.0)
    with pytest.raises(ValueError, match=r"SCIP rejected the mixed-integer model's numbers.*Rescale lam or the data"):
        cvxpar.reference(loss, psi, 1e-300, solver="SCIP")
    assert cvxpar.reference(loss, psi, 1e-30, solver="SCIP").status == "optimal"
