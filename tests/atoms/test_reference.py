"""cvxpar.reference: against a plain CVXPY formulation (convex psi) and against brute-force
enumeration of the convex chunks (nonconvex psi, d <= 3), plus its result object and errors."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest

import cvxpar
from cvxpar import PAR, losses
from cvxpar import constraints as C
from cvxpar.mip import convex_chunks, fixed_chunk_epigraph
from cvxpar.reference import SNAP_TOL, mip_bounds, prefer_residual

GRID = cvxpar.grids.uniform(0.5, 5)
RIDGE = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
HAS_SCIP = cp.SCIP in cp.installed_solvers()
needs_scip = pytest.mark.skipif(not HAS_SCIP, reason="SCIP (pyscipopt) not installed")


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


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
    assert res.quantization_rate == cvxpar.quantization_rate(res.x, RIDGE, atol=SNAP_TOL * 2.5)


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


def test_formulation_choice_follows_the_cost_model():
    assert not prefer_residual(20, 12)  # tall: P = A^T A is small
    assert prefer_residual(200, 2000) and prefer_residual(100, 10000)
    assert not prefer_residual(1000, 10000)  # the n x n block leaves the cache: dense P wins
    A, b = _data(50, 500)
    assert cvxpar.reference(losses.LeastSquares(A, b), RIDGE, 1.0).info["formulation"] == "residual"


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
    with pytest.raises(TypeError, match="Smooth has no CVXPY form"):
        cvxpar.reference(losses.Smooth(lambda x: 0.0, lambda x: 0 * x, 1.0, n_features=4), RIDGE, 1.0)
    with pytest.raises(ValueError, match="nonnegative"):
        cvxpar.reference(losses.LeastSquares(A, b), RIDGE, -1.0)
    with pytest.raises(ValueError, match="one entry per coordinate"):
        cvxpar.reference(losses.LeastSquares(A, b), RIDGE, np.ones(3))
    sawtooth = cvxpar.pars.sawtooth(GRID)  # flat-bottomed W: grows, so bounds come from growth...
    flat = PAR([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], 0.0, 0.0)  # ...this one does not grow: no bounds
    assert sawtooth.curvature == "nonconvex"
    with pytest.raises(ValueError, match="needs finite bounds"):
        cvxpar.reference(losses.LeastSquares(A, b), flat, 1.0)


def test_infeasible_status():
    A, b = _data(5, 4)
    res = cvxpar.reference(losses.LeastSquares(A, b), RIDGE, 1.0, [C.Box(0.5, 1.0), C.Simplex(1.0)])
    assert res.status == "infeasible" and np.isnan(res.x).all()


# ---------------------------------------------------------------------- the mixed-integer reference
def test_convex_chunks_split_at_concave_kinks_only():
    psi = cvxpar.pars.sawtooth(GRID)
    chunks = convex_chunks(psi, -1.0, 1.0)
    assert len(chunks) == 5  # one V around each grid point
    z = np.linspace(-1, 1, 401)
    for c in chunks:
        inside = z[(z >= c.lower) & (z <= c.upper)]
        np.testing.assert_allclose(np.max(np.outer(inside, c.slopes) + c.intercepts, axis=1), psi(inside), atol=1e-12)
    assert len(convex_chunks(RIDGE, -2.0, 2.0)) == 1


def test_mip_bounds_from_walls_box_simplex_growth_and_user():
    A, b = _data(5, 3)
    loss = losses.LeastSquares(A, b)
    mcp = cvxpar.pars.mcp(GRID, 1.0)
    lo, hi = mip_bounds(loss, mcp, 1.0, None, None, None, None, 3)  # growth: psi's outer slopes are > 0
    f0 = loss.value(np.zeros(3)) + 3 * mcp(0.0)
    assert np.isfinite(lo).all() and np.isfinite(hi).all()
    assert (mcp(lo) >= (f0 - 2 * mcp.values.min()) - 1e-9).all()
    lo, hi = mip_bounds(loss, mcp, 1.0, C.Box(-0.3, 0.4), None, None, None, 3)
    np.testing.assert_allclose([lo, hi], [[-0.3] * 3, [0.4] * 3])
    lo, hi = mip_bounds(loss, mcp, 1.0, None, C.Simplex(2.0), None, (-5, [1.0, 3.0, 3.0]), 3)
    np.testing.assert_allclose([lo, hi], [[0.0] * 3, [1.0, 2.0, 2.0]])
    walls = PAR([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], -np.inf, np.inf)
    lo, hi = mip_bounds(loss, walls, 0.0, None, None, None, None, 3)
    np.testing.assert_allclose([lo, hi], [[-1.0] * 3, [1.0] * 3])


def _brute_force(A, b, psi, lam, lower, upper, box_fn=None):
    """min over every assignment of coordinates to convex chunks of the convex problem on it."""
    chunks = convex_chunks(psi, lower, upper)
    best = np.inf
    for combo in itertools.product(chunks, repeat=A.shape[1]):
        x = cp.Variable(A.shape[1])
        t, cons = fixed_chunk_epigraph(x, list(combo))
        cons += box_fn(x) if box_fn else []
        prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + cp.sum(cp.multiply(lam, t))), cons)
        prob.solve(solver=cp.CLARABEL)
        if prob.status == cp.OPTIMAL:
            best = min(best, prob.value)
    return best


@needs_scip
@pytest.mark.slow
@pytest.mark.mip
@pytest.mark.parametrize(
    ("psi_name", "d", "seed"),
    [("mcp", 2, 0), ("mcp", 3, 1), ("sawtooth", 2, 2), ("staircase", 3, 3)],
)
def test_mip_reference_matches_brute_force(psi_name, d, seed):
    psi = {
        "mcp": cvxpar.pars.mcp(GRID, 1.0),
        "sawtooth": cvxpar.pars.sawtooth(GRID, slope=2.0),
        "staircase": cvxpar.pars.staircase(GRID),
    }[psi_name]
    A, b = _data(d + 1, d, seed)
    b = 2 * b
    lam = 0.8
    box = C.Box(-1.2, 1.2)
    res = cvxpar.reference(losses.LeastSquares(A, b), psi, lam, box)
    expected = _brute_force(A, b, psi, lam, -1.2, 1.2)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert res.residual < 1e-5  # a Clarke-stationary point (the global minimizer)
    assert res.info["n_binaries"] == d * len(convex_chunks(psi, -1.2, 1.2))


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
    A, b = _data(3, 2)
    monkeypatch.setattr(cp, "installed_solvers", lambda: ["CLARABEL", "OSQP"])
    with pytest.raises(ImportError, match=r"pip install cvxpar\[mip\]"):
        cvxpar.reference(losses.LeastSquares(A, b), cvxpar.pars.mcp(GRID, 1.0), 1.0, C.Box(-1, 1))


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
