"""The closest grid point enumeration of cvxpar.solvers.lattice against brute force, and its use in cvxpar.solve."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxpar
from cvxpar import grids, pars
from cvxpar.losses import LeastSquares
from cvxpar.solvers import lattice


def _tiny(seed: int, d: int, n: int):
    """A random instance: G = A^T A (rank min(n, d)), per-coordinate grids of 1-4 points and random psi values
    (some negative), lam > 0 per coordinate."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = rng.standard_normal(n) * 2.0
    gs = [np.sort(rng.choice(np.linspace(-2.0, 2.0, 9), size=int(rng.integers(1, 5)), replace=False)) for _ in range(d)]
    vs = [rng.uniform(-0.5, 1.0, q.size) for q in gs]
    lam = rng.uniform(0.1, 2.0, d)
    return A, b, gs, vs, lam, rng


def _F(A, b, lam, gs, vs, idx):
    """F at the grid point with indices idx."""
    x = np.array([gs[i][k] for i, k in enumerate(idx)])
    return 0.5 * float(np.sum((A @ x - b) ** 2)) + float(sum(lam[i] * vs[i][k] for i, k in enumerate(idx)))


def _brute(A, b, lam, gs, vs):
    """(min F, its point) over every grid point, all evaluated."""
    idx = np.array(list(itertools.product(*(range(q.size) for q in gs))))
    X = np.stack([gs[i][idx[:, i]] for i in range(len(gs))], axis=1)
    F = 0.5 * np.sum((X @ A.T - b) ** 2, axis=1) + sum(lam[i] * vs[i][idx[:, i]] for i in range(len(gs)))
    k = int(np.argmin(F))
    return float(F[k]), X[k]


@settings(max_examples=60)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 6), n=st.integers(1, 8))
def test_complete_enumeration_finds_the_brute_force_minimum(seed, d, n):
    A, b, gs, vs, lam, rng = _tiny(seed, d, n)
    F_star, x_star = _brute(A, b, lam, gs, vs)
    center = rng.uniform(-2.0, 2.0, d)
    out = lattice.closest_grid_point(A.T @ A, A.T @ b, float(b @ b), lam, gs, vs, center, max_nodes=10**7)
    assert out.complete and out.x is not None
    assert all(np.any(out.x[i] == gs[i]) for i in range(d))  # a grid point
    F_x = _F(A, b, lam, gs, vs, [int(np.flatnonzero(gs[i] == out.x[i])[0]) for i in range(d)])
    assert F_x == pytest.approx(F_star, rel=1e-9, abs=1e-9)
    assert out.objective == pytest.approx(F_star, rel=1e-7, abs=1e-7)
    # below the minimum itself there is nothing: None, and a complete search says so
    none = lattice.closest_grid_point(A.T @ A, A.T @ b, float(b @ b), lam, gs, vs, center,
                                      incumbent=F_star - 1e-6 * (1 + abs(F_star)), max_nodes=10**7)
    assert none.x is None and none.complete


@settings(max_examples=40)
@given(seed=st.integers(0, 10**6), d=st.integers(2, 6), budget=st.integers(1, 30))
def test_a_budgeted_enumeration_returns_an_exact_objective_or_nothing(seed, d, budget):
    A, b, gs, vs, lam, rng = _tiny(seed, d, d - 1)
    out = lattice.closest_grid_point(A.T @ A, A.T @ b, float(b @ b), lam, gs, vs, np.zeros(d), max_nodes=budget)
    assert out.nodes <= budget
    F_star, _ = _brute(A, b, lam, gs, vs)
    if out.x is not None:  # its reported objective is F at the point, never below the minimum
        idx = [int(np.flatnonzero(gs[i] == out.x[i])[0]) for i in range(d)]
        assert out.objective == pytest.approx(_F(A, b, lam, gs, vs, idx), rel=1e-7, abs=1e-7)
        assert out.objective >= F_star - 1e-7 * (1 + abs(F_star))
    if out.complete:
        assert out.objective == pytest.approx(F_star, rel=1e-7, abs=1e-7)


@settings(max_examples=40)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 6))
def test_sorted_order_puts_the_largest_conditional_precision_last(seed, d):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((d + 2, d))
    M = B.T @ B + 1e-3 * np.eye(d)
    order = lattice.sorted_order(M)
    assert sorted(order.tolist()) == list(range(d))
    precision = 1.0 / np.diag(np.linalg.inv(M))  # of each coordinate given all the others
    assert precision[order[-1]] == pytest.approx(precision.max())


def _sawtooth_miss():
    """nonconvex_quality's sawtooth case at d = 10, n = 5, seed 1, no Box: the starts, the local search and the
    1000-node branch and bound stop 37.7 % above the global optimum, whose point is on the grid."""
    from cvxpar.bench import nonconvex_quality

    return next(c for c in nonconvex_quality.cases("full", ["sawtooth"]) if c.d == 10 and c.n == 5 and not c.box
                and c.seed == 1)


def test_solve_reaches_the_global_optimum_through_the_closest_grid_point():
    case = _sawtooth_miss()
    ref = cvxpar.reference(case.loss, case.psi, case.lam, time_limit=60)
    assert ref.status == "optimal"
    with lattice.suspended():
        without = cvxpar.solve(case.loss, case.psi, case.lam)
    assert "lattice" not in without.info
    assert without.objective > ref.objective * 1.3  # the case needs the enumeration
    res = cvxpar.solve(case.loss, case.psi, case.lam)
    assert res.status == "stationary"
    assert cvxpar.certificate(case.loss, case.psi, case.lam, res.x).certifies(1e-8)
    assert res.objective <= ref.objective + 1e-7 * abs(ref.objective)
    assert res.info["lattice"]["nodes"] > 0 and "lattice" in [label for label, _, _ in res.info["starts"]]


@pytest.mark.slow
def test_the_global_optimum_agrees_with_scip():
    # SCIP's own branch and bound on the mixed-integer model (about 16 s of CPU): independent of the envelope
    # search and of the enumeration
    pytest.importorskip("pyscipopt")
    case = _sawtooth_miss()
    ref = cvxpar.reference(case.loss, case.psi, case.lam, solver="SCIP", time_limit=300)
    assert ref.status == "optimal"
    res = cvxpar.solve(case.loss, case.psi, case.lam)
    assert res.status == "stationary" and res.info["best_start"] == "lattice"
    assert res.objective <= ref.objective + 1e-6 * abs(ref.objective)


def test_applies_only_without_rows_and_to_least_squares():
    from cvxpar.constraints import Simplex
    from cvxpar.losses import Huber
    from cvxpar.solvers._problem import Problem

    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((5, 6)), rng.standard_normal(5)
    saw = pars.sawtooth(grids.uniform(0.25, 9))
    assert lattice.applies(Problem(LeastSquares(A, b), saw, 1.0))
    assert not lattice.applies(Problem(LeastSquares(A, b), saw, 1.0, Simplex()))
    assert not lattice.applies(Problem(Huber(A, b), saw, 1.0))
    assert not lattice.applies(Problem(LeastSquares(A, b), pars.l1(grids.uniform(0.25, 9)), 1.0))
    with lattice.suspended():
        assert not lattice.applies(Problem(LeastSquares(A, b), saw, 1.0))


@settings(max_examples=30)
@given(seed=st.integers(0, 10**6), d=st.integers(1, 5), n=st.integers(1, 6), box=st.booleans())
def test_search_enumerates_psi_grid_within_the_bounds(seed, d, n, box):
    # the problem's grid: psi's convex kinks, cut to the Box with walls at its ends; brute force over it
    from cvxpar.constraints import Box
    from cvxpar.solvers._problem import Problem

    rng = np.random.default_rng(seed)
    A, b = rng.standard_normal((n, d)), 2.0 * rng.standard_normal(n)
    psi = pars.mcp(grids.uniform(0.5, 5), gamma=1.0) if seed % 2 else pars.sawtooth(grids.uniform(0.5, 5))
    lo, hi = (-0.7, 0.8) if box else (-np.inf, np.inf)
    prob = Problem(LeastSquares(A, b), psi, 0.3, Box(lo, hi) if box else None)
    q = psi.restrict(lo, hi).grid if box else psi.grid
    X = np.array(list(itertools.product(q, repeat=d)))
    F = np.array([prob.objective(x) for x in X])
    start = rng.uniform(-1.0, 1.0, d) if not box else rng.uniform(lo, hi, d)
    out = lattice.search(prob, start, max_nodes=10**6)
    assert out.complete
    if F.min() < prob.objective(start) - 1e-9 * (1 + abs(F.min())):
        assert out.x is not None and prob.objective(out.x) == pytest.approx(F.min(), rel=1e-9, abs=1e-12)
        assert np.all(np.isin(out.x, q))
    elif out.x is not None:
        assert prob.objective(out.x) < prob.objective(start)
