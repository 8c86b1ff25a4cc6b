"""cvxpar.exact.bnb: the global minimum against brute-force enumeration of psi's convex chunks."""

from __future__ import annotations

import time

import numpy as np
import pytest
from reference_cases import chunk_brute_force

import cvxpar
from cvxpar.exact import bnb

GRID = cvxpar.grids.uniform(0.5, 5)
FAMILIES = {
    "mcp": cvxpar.pars.mcp(GRID, 1.0),
    "sawtooth": cvxpar.pars.sawtooth(GRID, slope=2.0),
    "staircase": cvxpar.pars.staircase(GRID),
    "random": cvxpar.PAR.from_slopes(GRID, [-1.5, 0.8, -0.9, 0.3, -0.2, 1.5]),
}


def test_concave_kinks_are_where_the_slope_drops():
    psi = FAMILIES["random"]
    s = psi.slopes
    expected = psi.breakpoints[np.diff(s) < 0]
    assert np.array_equal(bnb.concave_kinks(psi), expected)
    assert bnb.concave_kinks(cvxpar.pars.ridge(GRID)).size == 0


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize(("n", "d", "seed"), [(3, 2, 0), (4, 3, 1), (2, 3, 2)])
def test_search_finds_the_brute_force_minimum(name, n, d, seed):
    rng = np.random.default_rng(seed)
    A, b = rng.standard_normal((n, d)), 2 * rng.standard_normal(n)
    psi, lam = FAMILIES[name], 0.6
    found = bnb.search(A, b, psi, np.full(d, lam), np.full(d, -1.2), np.full(d, 1.2))
    expected = chunk_brute_force(A, b, psi, lam, -1.2, 1.2)
    assert found.closed
    assert found.bound <= found.objective
    assert found.objective == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert found.bound == pytest.approx(expected, rel=1e-6, abs=1e-9)
    r = A @ found.x - b
    assert found.objective == pytest.approx(0.5 * r @ r + lam * float(np.sum(psi(found.x))), rel=1e-12)
    assert np.all(np.abs(found.x) <= 1.2)


def test_a_node_limit_leaves_an_honest_bound():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 8))
    b = A @ rng.uniform(-1, 1, 8)
    psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.25, 9))
    lam = np.full(8, 0.5)
    lower, upper = np.full(8, -1.0), np.full(8, 1.0)
    stopped = bnb.search(A, b, psi, lam, lower, upper, max_nodes=3)
    full = bnb.search(A, b, psi, lam, lower, upper)
    assert not stopped.closed and stopped.limit is bnb.Limit.NODES and "node limit" in stopped.message
    assert stopped.bound <= full.objective + 1e-12 <= stopped.objective + 1e-12
    assert full.closed and full.limit is None


def test_a_time_limit_is_reported_as_such():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 8))
    b = A @ rng.uniform(-1, 1, 8)
    psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.25, 9))
    lower, upper = np.full(8, -1.0), np.full(8, 1.0)
    stopped = bnb.search(A, b, psi, np.full(8, 0.5), lower, upper, deadline=time.perf_counter())
    assert stopped.limit is bnb.Limit.TIME and "time limit" in stopped.message
    assert stopped.nodes == 1 and np.isfinite(stopped.bound) and stopped.bound <= stopped.objective


def test_candidates_seed_the_incumbent_and_verbose_prints_rows(capsys):
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((6, 4)), rng.standard_normal(6)
    psi, lam = FAMILIES["mcp"], np.full(4, 0.3)
    lower, upper = np.full(4, -1.0), np.full(4, 1.0)
    first = bnb.search(A, b, psi, lam, lower, upper)
    again = bnb.search(A, b, psi, lam, lower, upper, [first.x], verbose=True)
    assert again.objective == pytest.approx(first.objective, rel=1e-12)
    assert again.nodes <= first.nodes
    out = capsys.readouterr().out
    assert "incumbent" in out and "bound" in out


@pytest.mark.slow
def test_a_node_split_early_is_finished_before_it_is_called_unresolved():
    """A node whose relaxation stopped early (its objective already below the incumbent) and whose point has
    no relaxation error is solved to the tolerance, not left open: this d = 30 problem closes."""
    from cvxpar.bench import nonconvex_quality as nq

    saved = nq.SIZES["small"]
    try:
        nq.SIZES["small"] = ((30,), (1.0,), 2)
        case = next(c for c in nq.cases("small", ["random from_slopes"]) if not c.box and c.seed == 1)
    finally:
        nq.SIZES["small"] = saved
    res = cvxpar.reference(case.loss, case.psi, case.lam)
    assert res.status == "optimal", res.message
    assert res.bound <= res.objective


def test_improve_offers_its_point_projected_on_the_box():
    # a heuristic that maps every node to the brute-force minimizer's chunk answer makes the first node's
    # incumbent optimal; one that leaves the box is projected back before it is compared
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((4, 3)), 2 * rng.standard_normal(4)
    psi, lam = FAMILIES["mcp"], 0.6
    lower, upper = np.full(3, -1.2), np.full(3, 1.2)
    full = bnb.search(A, b, psi, np.full(3, lam), lower, upper)
    expected = chunk_brute_force(A, b, psi, lam, -1.2, 1.2)
    seen = []

    def oracle(x):
        seen.append(x.copy())
        return full.x

    one = bnb.search(A, b, psi, np.full(3, lam), lower, upper, max_nodes=1, improve=oracle)
    assert len(seen) == 1 and np.all(seen[0] >= lower) and np.all(seen[0] <= upper)
    assert one.objective == pytest.approx(expected, rel=1e-6, abs=1e-9)
    plain = bnb.search(A, b, psi, np.full(3, lam), lower, upper, max_nodes=1)
    assert plain.objective > expected + 1e-6  # without the heuristic one node does not find it
    far = bnb.search(A, b, psi, np.full(3, lam), lower, upper, max_nodes=1, improve=lambda x: x + 100.0)
    assert np.all(far.x >= lower) and np.all(far.x <= upper)
    assert far.objective == pytest.approx(0.5 * np.sum((A @ far.x - b) ** 2) + lam * np.sum(psi(far.x)), rel=1e-12)


def test_a_deadline_already_passed_still_bounds_the_root():
    # the root node is always solved, so a stopped search has a finite proven bound
    import time

    rng = np.random.default_rng(6)
    A, b = rng.standard_normal((3, 6)), rng.standard_normal(3)
    psi, lam = FAMILIES["sawtooth"], np.full(6, 0.4)
    lower, upper = np.full(6, -1.0), np.full(6, 1.0)
    stopped = bnb.search(A, b, psi, lam, lower, upper, deadline=time.perf_counter() - 1.0)
    full = bnb.search(A, b, psi, lam, lower, upper)
    assert stopped.nodes == 1 and "time limit" in stopped.message
    assert np.isfinite(stopped.bound) and stopped.bound <= full.objective + 1e-12
    assert full.closed


@pytest.mark.parametrize("name", ["mcp", "sawtooth", "staircase"])
def test_the_bound_counts_the_nodes_dropped_within_the_tolerance(name):
    """A loose tolerance (unit 1e6) drops the root at once, keeping a poor incumbent (the start at the box's
    corner, improved by the root's relaxation point) that lies above the brute-force minimum: the proven bound is
    the dropped root's, not the incumbent's value (which the search reported before)."""
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((4, 3)), 2 * rng.standard_normal(4)
    psi, lam = FAMILIES[name], 0.6
    found = bnb.search(A, b, psi, np.full(3, lam), np.full(3, -1.2), np.full(3, 1.2), [np.full(3, 1.2)], unit=1e6)
    minimum = chunk_brute_force(A, b, psi, lam, -1.2, 1.2)
    assert found.closed and found.nodes == 1
    assert found.objective > minimum + 1e-3  # the search kept a poor point, as its tolerance allows
    assert found.bound <= minimum
