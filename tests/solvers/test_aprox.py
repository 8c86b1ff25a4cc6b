"""AProx (PARQ eq. 11) and the QAT baseline maps (cvxpar.quantizers; Jin et al. 2025, arXiv 2503.15748).

References: the maps against their formulas written out element by element, the sigmoid schedule
against a table of its values (parq's ``normalized_mirror_sigmoid``), the aggregate prox against a brute-force argmin of PARQ eq. (13),
and AProx against CVXPY + Clarabel on convex PAR problems.
"""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest

import cvxpar
from cvxpar import quantizers as qz
from cvxpar.constraints import Box, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic, Smooth
from cvxpar.solvers.aprox import solve_aprox

GRID = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])


# ------------------------------------------------------------------------------------------- maps
# parq's normalized_mirror_sigmoid with center 0.5 (rounded to 3 digits): rows s, columns f.
SIGMOID_TABLE = {
    1: [0.903, 0.754, 0.602, 0.5, 0.398, 0.246, 0.097],
    10: [0.989, 0.930, 0.734, 0.5, 0.266, 0.070, 0.011],
    20: [1.000, 0.993, 0.881, 0.5, 0.119, 0.007, 0.000],
    50: [1.0, 1.0, 0.993, 0.5, 0.007, 0.0, 0.0],
}


@pytest.mark.parametrize("steepness", sorted(SIGMOID_TABLE))
def test_normalized_mirror_sigmoid_matches_the_table(steepness):
    f = np.array([0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9])
    got = qz.normalized_mirror_sigmoid(100 + 200 * f, 100, 300, steepness)
    assert np.allclose(got, SIGMOID_TABLE[steepness], atol=5e-4)
    ends = qz.normalized_mirror_sigmoid(np.array([100.0, 300.0]), 100, 300, steepness)
    assert np.allclose(ends, [1.0, 0.0], atol=1e-12)
    assert np.all(np.diff(qz.normalized_mirror_sigmoid(np.linspace(100, 300, 101), 100, 300, steepness)) < 0)


def test_linear_ramp():
    assert np.allclose(qz.linear_ramp([0, 5, 10, 15, 20], 5, 15), [0, 0, 0.5, 1, 1])
    with pytest.raises(ValueError, match="t_end > t_start"):
        qz.linear_ramp(1, 2, 2)
    with pytest.raises(ValueError, match="t_end > t_start"):
        qz.normalized_mirror_sigmoid(1, 3, 2)


def _parq_reference(u: float, grid: np.ndarray, iota: float) -> float:
    """clamp(c + (u - c)/iota, q_lo, q_hi) with torch.bucketize semantics, one element at a time."""
    idx = int(np.sum(grid < u))  # grid[idx-1] < u <= grid[idx]
    q_lo = grid[max(idx - 1, 0)]
    q_hi = grid[min(idx, grid.size - 1)]
    c = (q_lo + q_hi) / 2
    return float(min(max(c + (u - c) / iota, q_lo), q_hi))


def _nearest_reference(u: float, grid: np.ndarray) -> float:
    d = np.abs(grid - u)
    return float(grid[np.flatnonzero(d == d.min())[0]])  # ties to the lower point


@pytest.mark.parametrize("iota", [1.0, 0.7, 0.3, 0.05, 1e-6])
def test_parq_map_matches_its_formula(iota):
    u = np.concatenate([np.linspace(-1.6, 1.6, 257), GRID, (GRID[1:] + GRID[:-1]) / 2])
    got = qz.parq_map(u, GRID, iota)
    assert np.allclose(got, [_parq_reference(v, GRID, iota) for v in u], rtol=0, atol=1e-12)
    order = np.argsort(u)
    assert np.all(np.diff(got[order]) >= 0)  # monotone
    assert np.all((got >= GRID[0]) & (got <= GRID[-1]))
    psi = cvxpar.pars.parq(GRID)  # a PAR gives its breakpoints as the grid
    assert np.array_equal(qz.parq_map(u, psi, iota), got)


def test_parq_map_limits():
    u = np.linspace(-1.6, 1.6, 321)
    assert np.allclose(qz.parq_map(u, GRID, 1.0), np.clip(u, -1, 1))  # identity clipped to the range
    hard = qz.parq_map(u, GRID, 0.0)
    assert np.array_equal(hard, [_nearest_reference(v, GRID) for v in u])
    assert np.array_equal(qz.parq_map(hard, GRID, 0.0), hard)  # idempotent
    assert np.array_equal(qz.parq_map(hard, GRID, 0.3), hard)  # grid points are fixed points
    with pytest.raises(ValueError, match="inv_slope"):
        qz.parq_map(u, GRID, 1.5)


@pytest.mark.parametrize("theta", [0.0, 0.25, 0.8, 1.0])
def test_binaryrelax_and_hard_quantization(theta):
    u = np.linspace(-1.6, 1.6, 321)
    q = np.array([_nearest_reference(v, GRID) for v in u])
    assert np.array_equal(qz.hard_quantize(u, GRID), q)
    assert np.allclose(qz.binaryrelax_map(u, GRID, theta), (1 - theta) * u + theta * q)
    assert qz.hard_quantize(0.25, GRID) == 0.0 and qz.hard_quantize(0.2500001, GRID) == 0.5


# ------------------------------------------------------------------------------------ test problems
def _least_squares(n=120, d=15, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    x_true = rng.choice(GRID, d)
    b = A @ x_true + 0.5 * rng.standard_normal(n)
    return A, b


def _clarabel(loss_expr, x, psi, lam, extra=()):
    """minimize loss + lam * sum psi(x) with psi as a max of affine pieces, in CVXPY + Clarabel."""
    slopes, intercepts = psi.max_affine()
    pen = cp.sum(cp.max(cp.vstack([a * x + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0))
    lo, hi = psi.domain
    cons = [x >= lo] if math.isfinite(lo) else []
    cons += [x <= hi] if math.isfinite(hi) else []
    prob = cp.Problem(cp.Minimize(loss_expr + lam * pen), cons + list(extra))
    prob.solve(solver="CLARABEL")
    return prob.value, x.value


@pytest.fixture(scope="module")
def ls_problem():
    A, b = _least_squares()
    psi = cvxpar.pars.parq(GRID)
    lam = 4.0
    x = cp.Variable(A.shape[1])
    f_star, x_star = _clarabel(0.5 * cp.sum_squares(A @ x - b), x, psi, lam)
    return LeastSquares(A, b), psi, lam, f_star, x_star


def test_aprox_approaches_the_clarabel_optimum(ls_problem):
    """Thm 3.2: E F(w^t) - F* <= G R (2 + 1.5 ln t)/sqrt(t) for the last iterate; the measured gap
    must shrink at least that fast (it is much faster on this strongly convex problem)."""
    loss, psi, lam, f_star, x_star = ls_problem
    res = solve_aprox(loss, psi, lam, epochs=300, batch_size=10, seed=3)
    hist = res.info["history"]
    t = np.asarray(hist["iteration"], dtype=float)
    gap = np.asarray(hist["objective"]) - f_star
    assert np.all(gap > -1e-7 * abs(f_star))  # never below the optimum
    rate = (2 + 1.5 * np.log(t)) / np.sqrt(t)
    checkpoints = [9, 29, 99, 299]  # epochs 10, 30, 100, 300 (single gaps are noisy: compare envelopes)
    envelope = gap[checkpoints] / rate[checkpoints]
    assert np.all(envelope[1:] <= envelope[0])  # measured <= 0.85 x the first over seeds 0-3
    assert gap[-1] < 0.1 * gap[checkpoints[0]] and gap[-1] < 1e-4 * abs(f_star)
    assert np.max(np.abs(res.x - x_star)) < 0.01
    assert res.objective == pytest.approx(hist["objective"][-1])
    assert res.quantization_rate == pytest.approx(cvxpar.quantization_rate(x_star, psi, atol=1e-6))
    assert res.status == "max_iter" and res.method == "aprox"  # not certified to 1e-8
    assert res.iterations == 300 * 12 and res.info["gamma"] == pytest.approx(
        sum(res.info["eta0"] / np.sqrt(t_) for t_ in range(1, 3601))
    )


def test_aggregate_prox_is_the_dual_average_eq13():
    """With a linear loss <c, w> (constant gradient c) AProx is, by eq. (13),
    w^T = argmin_w gamma_T (<c, w> + lam psi(w)) + ||w - x0||^2 / 2: a brute-force argmin per coordinate."""
    psi = cvxpar.pars.ridge(GRID)
    c = np.array([0.8, -0.3, 0.05, 2.0])
    x0 = np.array([0.1, -0.4, 0.0, 0.7])
    loss = Smooth(lambda w: float(c @ w), lambda w: c, lipschitz=1.0, n_features=4)
    res = solve_aprox(loss, psi, 0.7, x0=x0, max_iter=50, eta0=0.05, power=0.5)
    gamma = res.info["gamma"]
    assert gamma == pytest.approx(sum(0.05 / math.sqrt(t) for t in range(1, 51)))
    grid = np.linspace(-4, 4, 800_001)
    for i in range(4):
        obj = gamma * (c[i] * grid + 0.7 * psi(grid)) + 0.5 * (grid - x0[i]) ** 2
        assert res.x[i] == pytest.approx(grid[np.argmin(obj)], abs=2e-5)


@pytest.mark.parametrize("mapping", ["parq", "ste", "binaryrelax"])
def test_baselines_end_hard_quantized(ls_problem, mapping):
    loss, psi, lam, f_star, _ = ls_problem
    res = solve_aprox(loss, psi, lam, epochs=40, batch_size=10, mapping=mapping, eta0=0.005, seed=1)
    assert res.quantization_rate == 1.0
    assert np.all(np.isin(res.x, GRID))
    assert res.status == "max_iter"
    assert res.objective >= f_star - 1e-9
    rates = res.info["history"]["quantization_rate"]
    if mapping == "ste":
        assert all(r == 1.0 for r in rates)
    else:  # soft early on (identity / gentle slope), hard from anneal_end = 0.9 of the run on
        assert rates[0] < 1.0 and rates[-1] == 1.0


@pytest.mark.parametrize("mapping", ["parq", "ste", "binaryrelax"])
def test_baselines_with_zero_gradient_quantize_the_start(mapping):
    """A zero gradient keeps u = x0, so the last iterate is Q(x0) (past anneal_end, whatever the window)."""
    x0 = np.array([0.1, 0.3, -0.6, 0.9, 0.25])
    loss = Smooth(lambda w: 0.0, lambda w: np.zeros(5), lipschitz=1.0, n_features=5)
    res = solve_aprox(
        loss, cvxpar.pars.parq(GRID), 1.0, x0=x0, max_iter=10, mapping=mapping, anneal_start=0.2, anneal_end=1.0
    )
    assert np.array_equal(res.x, [0.0, 0.5, -0.5, 1.0, 0.0])


def test_certified_status_when_the_last_iterate_is_exact():
    """A large lam makes x* = 0 (a kink of psi): the aggregate prox lands on it exactly."""
    A, b = _least_squares(n=60, d=8, seed=2)
    res = solve_aprox(LeastSquares(A, b), cvxpar.pars.l1(GRID), 1e3, epochs=5, batch_size=10)
    assert np.array_equal(res.x, np.zeros(8))
    assert res.status == "optimal" and res.residual == 0.0  # the shared status rule: certified is optimal
    nonconvex = cvxpar.pars.mcp(GRID, gamma=2.0)
    res = solve_aprox(LeastSquares(A, b), nonconvex, 1e3, epochs=5, batch_size=10)
    assert res.status == "stationary" and np.array_equal(res.x, np.zeros(8))


def test_seeded_runs_are_deterministic(ls_problem):
    loss, psi, lam, *_ = ls_problem
    one = solve_aprox(loss, psi, lam, epochs=3, batch_size=7, seed=5)
    two = solve_aprox(loss, psi, lam, epochs=3, batch_size=7, seed=5)
    other = solve_aprox(loss, psi, lam, epochs=3, batch_size=7, seed=6)
    assert np.array_equal(one.x, two.x)
    assert one.info["history"]["objective"] == two.info["history"]["objective"]
    assert not np.array_equal(one.x, other.x)


def test_per_coordinate_lam_and_box_against_clarabel():
    A, b = _least_squares(n=100, d=10, seed=4)
    psi = cvxpar.pars.ridge(GRID)
    lam = np.linspace(0.0, 6.0, 10)
    x = cp.Variable(10)
    slopes, intercepts = psi.max_affine()
    pen = cp.max(cp.vstack([a * x + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0)
    ref = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam @ pen), [x >= -0.6, x <= 0.6])
    ref.solve(solver="CLARABEL")
    res = solve_aprox(LeastSquares(A, b), psi, lam, constraints=Box(-0.6, 0.6), epochs=300, batch_size=10, seed=0)
    assert np.all(np.abs(res.x) <= 0.6)
    assert res.objective - ref.value < 1e-3 * abs(ref.value)
    assert np.max(np.abs(res.x - x.value)) < 0.05


def test_logistic_and_huber_against_clarabel():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((150, 8))
    w = rng.choice(GRID, 8)
    y = np.where(A @ w + 0.3 * rng.standard_normal(150) > 0, 1.0, -1.0)
    psi = cvxpar.pars.parq(GRID)
    x = cp.Variable(8)
    f_log, _ = _clarabel(cp.sum(cp.logistic(-cp.multiply(y, A @ x))), x, psi, 2.0)
    res = solve_aprox(Logistic(A, y), psi, 2.0, epochs=200, batch_size=15, seed=0)
    assert 0 <= res.objective - f_log < 2e-3 * abs(f_log)
    b = A @ w + rng.standard_t(2, 150)
    x = cp.Variable(8)
    f_hub, _ = _clarabel(0.5 * cp.sum(cp.huber(A @ x - b, 1.5)), x, psi, 2.0)
    res = solve_aprox(Huber(A, b, M=1.5), psi, 2.0, epochs=200, batch_size=15, seed=0)
    assert 0 <= res.objective - f_hub < 2e-3 * abs(f_hub)


def test_sparse_A_matches_dense(ls_problem):
    import scipy.sparse as sp

    A, b = _least_squares()
    psi = cvxpar.pars.parq(GRID)
    dense = solve_aprox(LeastSquares(A, b), psi, 4.0, epochs=3, seed=2)
    sparse = solve_aprox(LeastSquares(sp.csr_array(A), b), psi, 4.0, epochs=3, seed=2)
    assert np.allclose(dense.x, sparse.x, atol=1e-12)


def test_verbose_prints_one_row_per_epoch(ls_problem, capsys):
    loss, psi, lam, *_ = ls_problem
    solve_aprox(loss, psi, lam, epochs=3, batch_size=40, verbose=True)
    out = capsys.readouterr().out
    assert "AProx" in out and out.count("epoch ") == 3 and "status: max_iter" in out


def test_solve_dispatches_to_aprox(ls_problem):
    loss, psi, lam, *_ = ls_problem
    res = cvxpar.solve(loss, psi, lam, method="aprox", epochs=2, seed=0)
    assert res.method == "aprox" and res.iterations == 2 * 4


# ------------------------------------------------------------------------------------------ bad input
def test_bad_inputs(ls_problem):
    from scipy.sparse.linalg import aslinearoperator

    loss, psi, lam, *_ = ls_problem
    with pytest.raises(TypeError, match="unknown AProx option"):
        solve_aprox(loss, psi, lam, step=0.1)
    with pytest.raises(ValueError, match="mapping"):
        solve_aprox(loss, psi, lam, mapping="lsq")
    with pytest.raises(ValueError, match="batch_size"):
        solve_aprox(loss, psi, lam, batch_size=0)
    with pytest.raises(ValueError, match="epochs"):
        solve_aprox(loss, psi, lam, epochs=2.5)
    with pytest.raises(ValueError, match="eta0"):
        solve_aprox(loss, psi, lam, eta0=-1.0)
    with pytest.raises(ValueError, match="power"):
        solve_aprox(loss, psi, lam, power=2.0)
    with pytest.raises(ValueError, match="annealing window"):
        solve_aprox(loss, psi, lam, mapping="parq", anneal_start=0.5, anneal_end=0.5)
    with pytest.raises(ValueError, match="max_iter"):
        solve_aprox(loss, psi, lam, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        solve_aprox(loss, psi, lam, tol=float("nan"))
    with pytest.raises(ValueError, match="lam"):
        solve_aprox(loss, psi, -1.0)
    with pytest.raises(TypeError, match="PAR"):
        solve_aprox(loss, GRID, lam)
    with pytest.raises(ValueError, match="admm"):
        solve_aprox(loss, psi, lam, constraints=Simplex(1.0))
    with pytest.raises(ValueError, match="takes no constraints"):
        solve_aprox(loss, psi, lam, constraints=Box(-1, 1), mapping="ste")
    A, b = _least_squares()
    with pytest.raises(ValueError, match="LinearOperator"):
        solve_aprox(LeastSquares(aslinearoperator(A), b), psi, lam)


def test_divergence_is_reported(ls_problem):
    loss, _, _, *_ = ls_problem
    res = solve_aprox(loss, cvxpar.pars.ridge(GRID), 0.0, epochs=200, eta0=1e3, power=0.0, batch_size=120)
    assert res.status == "diverged"


@pytest.mark.gpu
def test_aprox_on_cupy(cp_gpu, ls_problem):
    A, b = _least_squares()
    psi = cvxpar.pars.parq(GRID)
    res = solve_aprox(LeastSquares(cp_gpu.asarray(A), cp_gpu.asarray(b)), psi, 4.0, epochs=20, batch_size=10, seed=0)
    ref = solve_aprox(LeastSquares(A, b), psi, 4.0, epochs=20, batch_size=10, seed=0)
    assert isinstance(res.x, cp_gpu.ndarray)
    assert np.allclose(cp_gpu.asnumpy(res.x), ref.x, atol=1e-8)
