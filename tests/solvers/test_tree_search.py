"""The budgeted branch and bound of cvxpar.solvers.tree_search against SCIP's global optimum."""

import numpy as np
import pytest

import cvxpar
from cvxpar import PAR, grids, pars
from cvxpar.constraints import Box, Linear
from cvxpar.losses import LeastSquares, Logistic
from cvxpar.solvers import lattice, tree_search
from cvxpar.solvers._problem import Problem


def _instance(name, seed):
    """d = 6 least-squares problems (no Box) on which the local search stops above the global optimum."""
    rng = np.random.default_rng([seed, 11])
    n = int(rng.integers(3, 12))
    A = rng.standard_normal((n, 6))
    b = A @ rng.uniform(-1, 1, 6) + 0.3 * rng.standard_normal(n)
    lam = float(n * 10 ** rng.uniform(-1.5, 0))
    if name == "sawtooth":
        psi = pars.sawtooth(grids.uniform(0.25, 9))
    else:
        slopes = np.concatenate(([-1.5], rng.uniform(-1.0, 1.0, 6), [1.5]))
        psi = PAR.from_slopes(grids.uniform(1.0 / 3.0, 7), slopes)
    return LeastSquares(A, b), psi, lam


@pytest.mark.slow
@pytest.mark.parametrize(("name", "seed"), [("sawtooth", 34), ("from_slopes", 208)])
def test_solve_reaches_the_global_optimum_the_local_search_misses(name, seed, monkeypatch):
    pytest.importorskip("pyscipopt")
    loss, psi, lam = _instance(name, seed)
    ref = cvxpar.reference(loss, psi, lam, solver="SCIP")  # SCIP's own branch and bound: independent
    assert ref.status == "optimal" and psi.curvature == "nonconvex"
    with monkeypatch.context() as m, lattice.suspended():  # the closest grid point reaches these optima too
        m.setattr(tree_search, "MAX_D", 0)  # the search off: starts and local search alone
        local = cvxpar.solve(loss, psi, lam)
    assert "tree_search" not in local.info
    assert local.objective > ref.objective + 1e-3 * abs(ref.objective)  # the case needs the search
    with lattice.suspended():
        res = cvxpar.solve(loss, psi, lam)
    assert res.status == "stationary"
    assert cvxpar.certificate(loss, psi, lam, res.x).certifies(1e-8)
    assert res.objective <= ref.objective + 1e-7 * abs(ref.objective)
    search = res.info["tree_search"]
    assert search["closed"] and search["bound"] <= ref.objective + 1e-7 * abs(ref.objective)
    assert "tree search" in [label for label, _, _ in res.info["starts"]]


def test_improve_returns_a_lower_point_and_an_honest_bound():
    # from the local search's point: a lower objective, and the proven bound below every point it found
    loss, psi, lam = _instance("from_slopes", 208)
    prob = Problem(loss, psi, lam)
    start = np.array(cvxpar.solve(loss, psi, lam, x0=np.zeros(6)).x)
    out = tree_search.improve(prob, start)
    assert out.improved and out.closed and out.nodes > 0
    assert prob.objective(out.x) < prob.objective(start)
    assert out.bound <= prob.objective(out.x) + 1e-12
    # a node budget of one: the bound stays a lower bound on the closed search's optimum
    one = tree_search.improve(prob, start, max_nodes=1)
    assert one.nodes == 1 and not one.closed
    assert one.bound <= prob.objective(out.x) + 1e-12 and prob.objective(one.x) <= prob.objective(start)


@pytest.mark.parametrize("case", ["logistic", "too wide", "convex"])
def test_the_search_applies_to_small_nonconvex_least_squares_only(case):
    rng = np.random.default_rng(1)
    d = tree_search.MAX_D + 1 if case == "too wide" else 5
    A, b = rng.standard_normal((8, d)), rng.standard_normal(8)
    psi = pars.ridge(grids.uniform(0.5, 5)) if case == "convex" else pars.mcp(grids.uniform(0.5, 9), gamma=1.0)
    loss = Logistic(A, np.sign(b)) if case == "logistic" else LeastSquares(A, b)
    constraints = Box(-1, 1)
    prob = Problem(loss, psi, 0.5, constraints)
    assert not tree_search.applies(prob)
    x = np.zeros(d)
    out = tree_search.improve(prob, x)
    assert not out.improved and out.nodes == 0 and np.array_equal(out.x, x)
    if case in ("logistic", "too wide"):
        assert "tree_search" not in cvxpar.solve(loss, psi, 0.5, constraints).info
    assert tree_search.applies(Problem(LeastSquares(A[:, :5], b), pars.mcp(grids.uniform(0.5, 9), gamma=1.0), 0.5,
                                       Box(-1, 1)))


@pytest.mark.parametrize(("family", "seed"), [("mcp", 0), ("sawtooth", 1)])
def test_a_tall_problem_is_searched_on_its_qr_factor(family, seed):
    # n >> d: the search runs on R (A = QR) and Q^T b; the point, objective and bound are those of the full
    # problem, checked against enumeration of psi's convex chunks (CVXPY + Clarabel on each)
    from reference_cases import chunk_brute_force

    rng = np.random.default_rng(seed)
    A = rng.standard_normal((60, 3))
    b = A @ rng.uniform(-1, 1, 3) + 2.0 * rng.standard_normal(60)
    psi = pars.mcp(grids.uniform(0.5, 5), 1.0) if family == "mcp" else pars.sawtooth(grids.uniform(0.5, 5), slope=2.0)
    lam = 6.0
    prob = Problem(LeastSquares(A, b), psi, lam, Box(-1.2, 1.2))
    expected = chunk_brute_force(A, b, psi, lam, -1.2, 1.2)
    out = tree_search.improve(prob, np.full(3, 1.2))
    assert out.closed
    assert prob.objective(out.x) == pytest.approx(expected, rel=1e-7)
    assert out.bound <= prob.objective(out.x) and out.bound == pytest.approx(expected, rel=1e-6)


def test_suspended_turns_the_search_off_inside_the_block_only():
    loss, psi, lam = _instance("from_slopes", 208)
    prob = Problem(loss, psi, lam)
    assert tree_search.applies(prob)
    with tree_search.suspended():
        assert not tree_search.applies(prob)
        assert "tree_search" not in cvxpar.solve(loss, psi, lam).info
    assert tree_search.applies(prob)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["inequalities", "simplex"])
def test_the_search_with_rows_keeps_to_the_rows_and_bounds_the_global_optimum(kind):
    # d = 6: the search's point satisfies the rows, is no higher than its start, and its proven bound is at most
    # the global optimum of SCIP's MIP (cvxpar.reference); the point reaches that optimum (the penalty relaxation
    # of the rows need not close the gap: at a leaf it is below the minimum with the rows)
    from cvxpar.constraints import Simplex

    pytest.importorskip("pyscipopt")
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 6))
    b = A @ rng.uniform(-1, 1, 6) + 0.3 * rng.standard_normal(5)
    G = rng.standard_normal((2, 6))
    cons = Linear(A_ub=G, b_ub=np.abs(G).sum(1) * 0.05) if kind == "inequalities" else Simplex()
    loss, psi, lam = LeastSquares(A, b), pars.mcp(grids.uniform(0.5, 9), gamma=1.0), 1.5
    prob = Problem(loss, psi, lam, cons)
    assert tree_search.applies(prob)
    start = prob.feasible.find_point(*prob.bounds_np())
    ref = cvxpar.reference(loss, psi, lam, cons)
    assert ref.status == "optimal"
    out = tree_search.improve(prob, start, max_nodes=20000)
    assert prob.feasible.violation(out.x) <= 1e-9
    assert prob.objective(out.x) <= prob.objective(start)
    assert out.bound <= ref.objective + 1e-7 * abs(ref.objective)
    assert prob.objective(out.x) == pytest.approx(ref.objective, rel=1e-6)
