"""Logistic / Huber against Clarabel, nonconvex psi (certified stationary, compared with the global
optimum of cvxpar.reference when available), bad inputs, infeasibility, certificates and paths."""

from __future__ import annotations

import numpy as np
import pytest
from solver_reference import reference_objective

import cvxpar
from cvxpar.constraints import Box, NonNeg, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic, Smooth

GRID = cvxpar.grids.uniform(0.5, 7)
RIDGE = cvxpar.pars.ridge(GRID)
L1G = cvxpar.pars.l1(GRID)


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = A @ (0.5 * rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    return A, b


@pytest.mark.parametrize("kind", ["logistic", "huber"])
@pytest.mark.parametrize("method", ["fista", "pg", "auto"])
@pytest.mark.parametrize("cons", [None, Box(-0.7, 0.9)])
def test_logistic_and_huber_match_clarabel(kind, method, cons):
    A, b = _data(30, 20, seed=3)
    if kind == "logistic":
        y = np.where(b > 0, 1.0, -1.0)
        loss, target = Logistic(A, y), y
    else:
        loss, target = Huber(A, b, M=1.0), b
    res = cvxpar.solve(loss, L1G, 0.8, constraints=cons, method=method, tol=1e-9)
    ref = reference_objective(A, target, L1G, 0.8, cons, loss=kind)
    assert res.status == "optimal", res
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref))
    assert res.gap is not None and res.gap <= 1e-6 * max(1.0, abs(ref))


@pytest.mark.parametrize("method", ["pg", "fista", "cd"])
def test_nonconvex_reaches_certified_stationary_point_monotonically(method):
    A, b = _data(15, 8, seed=5)
    psi = cvxpar.pars.mcp(GRID, 2.0)
    # one start (x0 given), so the trace is one run: every check's objective, polish rows included
    opts = {} if method == "cd" else {"check_every": 1}  # cd checks after every outer step anyway
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.5, method=method, x0=np.zeros(8), **opts)
    assert res.status == "stationary", res
    assert res.residual <= 1e-8 * max(1.0, float(np.abs(A.T @ (A @ res.x - b)).max()))
    objectives = np.array([f for _, f, _ in res.info["trace"]])
    assert objectives.size >= 2
    assert np.all(np.diff(objectives) <= 1e-12 * np.abs(objectives[:-1])), objectives
    pytest.importorskip("pyscipopt")
    glob = cvxpar.reference(LeastSquares(A, b), psi, 0.5)
    assert res.objective >= glob.objective - 1e-6 * max(1.0, abs(glob.objective))


def test_nonconvex_with_box_uses_exact_boxed_prox():
    # pg's answer is a fixed point of the exact prox of t*lam*psi + indicator of the box, checked against a
    # brute-force 1-D minimization per coordinate (clipping the unconstrained nonconvex prox would not be)
    A, b = _data(12, 6, seed=2)
    psi = cvxpar.pars.sawtooth(GRID)
    lam, lo, hi = 0.3, -0.8, 0.6
    res = cvxpar.solve(LeastSquares(A, b), psi, lam, constraints=Box(lo, hi), method="pg", x0=np.zeros(6))
    assert res.status == "stationary"
    assert np.all(res.x >= lo) and np.all(res.x <= hi)
    t = 1.0 / res.info["lipschitz"]
    v = res.x - t * (A.T @ (A @ res.x - b))
    grid = np.union1d(np.linspace(lo, hi, 140001), np.clip(psi.breakpoints, lo, hi))
    for i in range(6):
        f = t * lam * psi(grid) + 0.5 * (grid - v[i]) ** 2
        best = grid[np.argmin(f)]
        assert abs(best - res.x[i]) <= 2e-5, (i, best, res.x[i])


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda A, b: cvxpar.solve(LeastSquares(A, b[:-1]), RIDGE, 1.0), "length"),
        (lambda A, b: cvxpar.solve(LeastSquares(np.where(np.eye(*A.shape) > 0, np.nan, A), b), RIDGE, 1.0), "NaN"),
        (lambda A, b: cvxpar.solve(LeastSquares(A, b), RIDGE, -1.0), "nonnegative"),
        (lambda A, b: cvxpar.solve(LeastSquares(A, b), RIDGE, np.ones(3)), "one entry per coordinate"),
        (lambda A, b: cvxpar.solve(LeastSquares(A, b), RIDGE, 1.0, constraints=Box(np.zeros(3), 1.0)), "entries"),
        (lambda A, b: Box(1.0, 0.0), "lower > upper"),
        (lambda A, b: cvxpar.solve(LeastSquares(A, b), RIDGE, 1.0, method="newton"), "unknown method"),
        (lambda A, b: cvxpar.solve(LeastSquares(A, b), RIDGE, 1.0, tol=0), "tol"),
        (lambda A, b: cvxpar.solve(LeastSquares(A, b), RIDGE, 1.0, x0=np.full(A.shape[1], np.inf)), "x0"),
        (lambda A, b: Logistic(A, b), "labels"),
    ],
)
def test_bad_inputs_raise_clear_errors(make, match):
    A, b = _data(10, 6)
    with pytest.raises(ValueError, match=match):
        make(A, b)


def test_infeasible_status():
    A, b = _data(10, 6)
    walled = cvxpar.pars.parq(GRID)  # domain [-1.5, 1.5]
    res = cvxpar.solve(LeastSquares(A, b), walled, 1.0, constraints=Box(2.0, 3.0))
    assert res.status == "infeasible"
    res = cvxpar.solve(LeastSquares(A, b), walled, 1.0, constraints=[Simplex(100.0)])
    assert res.status == "infeasible"


def test_certificate_against_independent_computation():
    A, b = _data(12, 9, seed=4)
    loss = LeastSquares(A, b)
    x = np.array([0.5, 0.2, -1.0, 0.0, 1.5, 0.3, -0.5, 0.75, 2.0])
    lam = 0.4
    cert = cvxpar.certificate(loss, RIDGE, lam, x)
    g = A.T @ (A @ x - b)
    # finite-difference gradient of the loss
    h = 1e-6
    fd = np.array([(loss.value(x + h * e) - loss.value(x - h * e)) / (2 * h) for e in np.eye(9)])
    assert np.allclose(fd, g, rtol=1e-6, atol=1e-5)
    dist = []
    for xi, gi in zip(x, g, strict=True):
        q = RIDGE.breakpoints
        s = RIDGE.slopes
        if np.any(q == xi):
            j = int(np.flatnonzero(q == xi)[0])
            lo, hi = lam * s[j], lam * s[j + 1]
        else:
            k = int(np.searchsorted(q, xi))
            lo = hi = lam * s[k]
        dist.append(max(lo + gi, -gi - hi, 0.0))
    assert cert.residual == pytest.approx(max(dist), rel=1e-12)
    assert cert.objective == pytest.approx(loss.value(x) + lam * RIDGE(x).sum(), rel=1e-14)
    assert cert.gap >= -1e-9  # weak duality


def test_certificate_normal_cone_of_box_and_simplex():
    A, b = _data(8, 4, seed=6)
    loss = LeastSquares(A, b)
    box = Box(-0.5, 0.5)
    res = cvxpar.solve(loss, L1G, 0.1, constraints=box)
    cert = cvxpar.certificate(loss, L1G, 0.1, res.x, box)
    assert cert.certifies(1e-8) and cert.infeasibility == 0.0
    outside = np.full(4, 0.9)
    assert cvxpar.certificate(loss, L1G, 0.1, outside, box).infeasibility == pytest.approx(0.4)
    x = np.array([1.0, 0.0, 0.0, 0.0])
    c = cvxpar.certificate(loss, L1G, 0.1, x, Simplex(1.0))
    assert c.infeasibility == 0.0 and c.gap is None


def test_verbose_prints_a_table(capsys):
    A, b = _data(20, 40)
    cvxpar.solve(LeastSquares(A, b), RIDGE, 0.5, method="fista", verbose=True)
    out = capsys.readouterr().out
    assert "objective" in out and "residual" in out and "quant%" in out and "status: optimal" in out


def test_smooth_loss_generic():
    A, b = _data(15, 10)
    loss = Smooth(lambda x: 0.5 * np.sum((A @ x - b) ** 2), lambda x: A.T @ (A @ x - b),
                  lipschitz=np.linalg.norm(A, 2) ** 2, n_features=10, hessian=lambda x: A.T @ A)
    res = cvxpar.solve(loss, L1G, 0.5)
    ref = cvxpar.solve(LeastSquares(A, b), L1G, 0.5)
    assert res.status == "optimal" and res.gap is None
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)


def test_scipy_sparse_and_linear_operator():
    import scipy.sparse as sp
    from scipy.sparse.linalg import aslinearoperator

    A, b = _data(20, 30)
    dense = cvxpar.solve(LeastSquares(A, b), RIDGE, 0.5)
    for AA in (sp.csr_matrix(A), aslinearoperator(A)):
        res = cvxpar.solve(LeastSquares(AA, b), RIDGE, 0.5)
        assert res.status == "optimal"
        assert res.objective == pytest.approx(dense.objective, rel=1e-10)


def test_lambda_path_and_rate_search():
    A, b = _data(20, 60)
    loss = LeastSquares(A, b)
    lams = [4.0, 2.0, 1.0, 0.5]
    path = cvxpar.lambda_path(loss, RIDGE, lams)
    assert all(r.status == "optimal" for r in path)
    for lam, r in zip(lams, path, strict=True):
        assert r.objective == pytest.approx(cvxpar.solve(loss, RIDGE, lam).objective, rel=1e-10)
    from cvxpar.path import lambda_for_rate

    lam, res = lambda_for_rate(loss, RIDGE, 0.8)
    assert res.quantization_rate >= 0.8
    # the smallest such lam: 1% less no longer reaches the rate
    assert cvxpar.solve(loss, RIDGE, lam / 1.01).quantization_rate < 0.8


def test_nonneg_constraint_with_cd():
    A, b = _data(20, 30)
    res = cvxpar.solve(LeastSquares(A, b), RIDGE, 0.5, constraints=NonNeg(), method="cd")
    assert res.status == "optimal" and np.all(res.x >= 0)
    ref = reference_objective(A, b, RIDGE, 0.5, NonNeg())
    assert abs(res.objective - ref) <= 1e-8 * max(1.0, abs(ref))


@pytest.mark.parametrize("kind", ["simplex", "linear", "inequalities", "both"])
def test_admm_simplex_and_linear_match_clarabel(kind, large_rules):
    from cvxpar.constraints import Linear

    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 30))
    b = rng.standard_normal(20)
    psi = cvxpar.pars.l1(cvxpar.grids.uniform(0.1, 11))
    G, h = rng.standard_normal((4, 30)), np.full(4, -0.3)  # rows that cut off the unconstrained optimum
    cons = {
        "simplex": Simplex(1.0),
        "linear": Linear(A_eq=rng.standard_normal((2, 30)), b_eq=np.ones(2)),
        "inequalities": Linear(A_ub=G, b_ub=h),
        "both": Linear(A_eq=np.ones((1, 30)), b_eq=[1.0], A_ub=G, b_ub=h),
    }[kind]
    ref = reference_objective(A, b, psi, 0.3, cons)
    for method, picked in (("auto", "alm"), ("admm", "admm")):
        res = cvxpar.solve(LeastSquares(A, b), psi, 0.3, constraints=cons, method=method)
        assert res.method == picked
        assert res.status in ("optimal", "optimal_inaccurate")
        assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))
    with pytest.raises(ValueError, match="admm"):
        cvxpar.solve(LeastSquares(A, b), psi, 0.3, constraints=cons, method="fista")


def test_lambda_path_reports_progress(capsys, monkeypatch):
    import cvxpar._progress as progress

    monkeypatch.setattr(progress, "_tqdm", lambda: None)  # the plain-line form, whatever is installed
    A, b = _data(10, 12)
    path = cvxpar.lambda_path(LeastSquares(A, b), RIDGE, [2.0, 1.0], progress=True)
    assert len(path) == 2
    err = capsys.readouterr().err
    assert "lambda_path: 1/2" in err and "lambda_path: 2/2" in err
