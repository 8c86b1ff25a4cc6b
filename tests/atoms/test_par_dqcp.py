"""DQCP: sublevel sets of quasiconvex PARs vs brute force, and solve(qcp=True) end to end
(CVXPY's test_dqcp.py pattern: curvature asserts, the reduction, then the full solve)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from cvxpy.reductions.dqcp2dcp.dqcp2dcp import Dqcp2Dcp
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxpar
from cvxpar import PAR
from cvxpar.atoms.dqcp import QCPBracketError, sublevel_interval

GRID = cvxpar.grids.uniform(0.5, 5)
STAIRS = cvxpar.pars.staircase(GRID)


@st.composite
def quasiconvex_pars(draw):
    """Slopes: a nonpositive run then a nonnegative run (some zero), optional walls."""
    m = draw(st.integers(1, 6))
    q = np.cumsum(draw(st.lists(st.floats(0.1, 2.0), min_size=m, max_size=m))) - 3.0
    down = draw(st.integers(0, m + 1))
    mags = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=m + 1, max_size=m + 1))
    slopes = np.array([-g if k < down else g for k, g in enumerate(mags)])
    if draw(st.booleans()):
        slopes[0] = -np.inf
    if draw(st.booleans()):
        slopes[-1] = np.inf
    psi = PAR.from_slopes(q, slopes, offset=draw(st.floats(-1.0, 1.0)))
    return psi


@given(quasiconvex_pars(), st.floats(-3.0, 4.0))
def test_sublevel_interval_matches_a_grid_scan(psi, alpha):
    assert psi.curvature in ("convex", "quasiconvex")
    lo, hi = sublevel_interval(psi, alpha)
    z = np.linspace(-12, 12, 48001)
    inside = z[psi(z) <= alpha]
    if inside.size == 0:
        # empty, or an interval thinner than the scan step
        assert lo > hi or hi - lo < 1e-3
        return
    assert lo <= inside.min() + 1e-9 and hi >= inside.max() - 1e-9
    assert inside.min() - lo < 1e-3 or lo < -11.99
    assert hi - inside.max() < 1e-3 or hi > 11.99
    for end in (lo, hi):
        if np.isfinite(end):
            assert psi(end) <= alpha + 1e-9


def test_curvature_and_reduction():
    x = cp.Variable()
    expr = cvxpar.par(x, STAIRS)
    assert expr.is_quasiconvex() and not expr.is_convex() and not expr.is_quasiconcave()
    prob = cp.Problem(cp.Minimize(expr), [x >= 0.7])
    assert prob.is_dqcp() and not prob.is_dcp()
    reduced = Dqcp2Dcp(prob).reduce()
    assert len(reduced._lazy_constraints) == 2  # l(t) <= x and x <= u(t)
    summed = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(cp.Variable(3), STAIRS))))
    assert not summed.is_dqcp()  # a sum of quasiconvex terms is not DQCP


# Interior-point solvers (Clarabel) hit "Max iters hit during bisection" on these degenerate
# feasibility LPs: use a simplex LP solver for PAR bisections.
@pytest.mark.parametrize("solver", ["HIGHS", "SCIPY"])
def test_scalar_qcp_solve(solver):
    x = cp.Variable()
    prob = cp.Problem(cp.Minimize(cvxpar.par(x, STAIRS)), [x >= 0.7])
    prob.solve(qcp=True, solver=solver, low=0, high=5)
    assert prob.value == pytest.approx(float(STAIRS(0.7)), abs=1e-5)


def test_minimax_qcp_matches_brute_force():
    """minimize max_i psi(x_i) s.t. a^T x = b over a 3x3x3 box grid of candidates, then refined."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 1.5, size=3)
    b = 1.7
    x = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(cp.max(cvxpar.par(x, STAIRS))), [a @ x == b, cp.norm_inf(x) <= 3])
    prob.solve(qcp=True, solver="HIGHS", low=0, high=5)
    assert np.max(STAIRS(x.value)) == pytest.approx(prob.value, abs=1e-5)
    # brute force: for alpha on a fine grid, is {psi <= alpha}^3 meeting the hyperplane?
    best = np.inf
    for alpha in np.linspace(0, 1.5, 3001):
        lo, hi = sublevel_interval(STAIRS, alpha)
        if lo <= hi and a @ np.full(3, lo) <= b <= a @ np.full(3, hi):
            best = alpha
            break
    assert prob.value == pytest.approx(best, abs=1e-3)


def test_quasiconcave_superlevel_for_monotone_psi():
    stairs_up = PAR.from_slopes([0.0, 1.0, 2.0], [1.0, 0.0, 1.0, 0.0])  # rises, flat, rises, flat
    x = cp.Variable()
    expr = cvxpar.par(x, stairs_up)
    assert expr.is_quasiconcave() and expr.is_quasiconvex()
    prob = cp.Problem(cp.Maximize(expr), [x <= 1.5])
    prob.solve(qcp=True, solver="HIGHS", low=-5, high=5)
    assert prob.value == pytest.approx(float(stairs_up(1.5)), abs=1e-5)
    y = cp.Variable()
    prob = cp.Problem(cp.Minimize(y), [cvxpar.par(y, stairs_up) >= 0.5])
    prob.solve(qcp=True, solver="HIGHS")
    assert y.value == pytest.approx(1.5, abs=1e-6)
    prob = cp.Problem(cp.Minimize(y), [cvxpar.par(y, stairs_up) >= 1.5])  # psi <= 1 everywhere
    prob.solve(qcp=True, solver="HIGHS")
    assert prob.status == "infeasible"


# ---------------------------------------------------------------------- no bracket given: low / high left out
def _scalar_minimum(psi: PAR, c: float, side: str) -> float | None:
    """min psi(x) over x >= c (side "lo") or x <= c (side "hi") exactly: psi is affine between breakpoints, so the
    minimum over the feasible interval (clipped to psi's domain) is at its finite ends or a breakpoint in it, unless
    an outer piece decreases without end inside it (-inf).  None when the interval misses psi's domain."""
    lo, hi = psi.domain
    a, b = (max(c, lo), hi) if side == "lo" else (lo, min(c, hi))
    if a > b:
        return None
    s = psi.slopes
    if (b == np.inf and s[-1] < 0) or (a == -np.inf and 0 < s[0]):
        return -np.inf
    points = [z for z in (a, b) if np.isfinite(z)] + [q for q in psi.breakpoints if a <= q <= b]
    return float(np.min(psi(np.array(points))))


@settings(max_examples=30, deadline=None)
@given(quasiconvex_pars(), st.floats(-4.0, 4.0), st.sampled_from(["lo", "hi"]))
def test_qcp_solve_without_a_bracket_matches_the_exact_minimum_or_names_the_cause(psi, c, side):
    """minimize psi(x) s.t. x >= c (or x <= c) with no low/high: the exact minimum, or QCPBracketError saying
    infeasible (the constraint misses psi's domain) or unbounded (an outer piece decreases without end), never
    CVXPY's own 'Unable to find suitable interval' / 'Max iters' / unpacking errors."""
    x = cp.Variable()
    prob = cp.Problem(cp.Minimize(cvxpar.par(x, psi)), [x >= c] if side == "lo" else [x <= c])
    want = _scalar_minimum(psi, c, side)
    if want == 0.0 and psi.value_range()[1] == 0.0 and psi.curvature != "convex":  # sup psi = 0 = the optimum
        with pytest.raises(QCPBracketError, match=r"level 0 .*high > 0"):
            prob.solve(qcp=True, solver="HIGHS")
        prob.solve(qcp=True, solver="HIGHS", low=-1.0, high=1.0)  # as the message says
        assert prob.value == pytest.approx(0.0, abs=1e-5)
    elif psi.curvature == "convex" and (want is None or want == -np.inf):  # DCP: CVXPY's own statuses, no bisection
        prob.solve(qcp=True, solver="HIGHS")
        assert prob.status in (("infeasible",) if want is None else ("unbounded", "infeasible_or_unbounded"))
    elif want is None:
        with pytest.raises(QCPBracketError, match="infeasible"):
            prob.solve(qcp=True, solver="HIGHS")
    elif want == -np.inf:
        with pytest.raises(QCPBracketError, match=r"unbounded.*pass problem.solve\(qcp=True, low=..., high=...\)"):
            prob.solve(qcp=True, solver="HIGHS")
    else:
        prob.solve(qcp=True, solver="HIGHS")
        assert prob.status == "optimal"
        assert prob.value == pytest.approx(want, abs=1e-5 * (1 + abs(want)))


WALLED = PAR(STAIRS.breakpoints, STAIRS.values, -np.inf, np.inf)  # +inf outside [-1, 1]


@pytest.mark.parametrize("solver", ["HIGHS", "CLARABEL"])
def test_qcp_with_walls_that_the_constraints_miss_is_called_infeasible(solver):
    """sum(x) = 4 over 3 coordinates needs some x_i > 1, where psi = +inf (a scan of the plane says so too)."""
    x = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(cp.max(cvxpar.par(x, WALLED))), [cp.sum(x) == 4])
    z = np.linspace(-1, 1, 201)
    z1, z2 = np.meshgrid(z, z)
    assert np.all(np.abs(4 - z1 - z2) > 1)  # no point of the plane inside the domain [-1, 1]^3
    with pytest.raises(QCPBracketError, match=r"infeasible.*whole domain \[-1, 1\]"):
        prob.solve(qcp=True, solver=solver)
    prob = cp.Problem(cp.Minimize(cp.max(cvxpar.par(x, WALLED))), [cp.sum(x) == 2.5])  # within reach: solved
    prob.solve(qcp=True, solver="HIGHS")
    assert prob.value == pytest.approx(0.5, abs=1e-5)  # brute force: some x_i >= 2.5 / 3 > 0.75, psi = 0.5 there


@pytest.mark.parametrize("solver", ["HIGHS", "CLARABEL"])
def test_qcp_with_psi_decreasing_without_end_is_called_unbounded(solver):
    rises = PAR.from_slopes([0.0, 1.0, 2.0], [1.0, 0.0, 1.0, 0.0])  # psi(x) = x for x <= 0
    z = -(10.0 ** np.arange(1, 8))
    np.testing.assert_allclose(rises(z), z)  # brute force: no lower bound over x <= 0.7
    x = cp.Variable()
    with pytest.raises(QCPBracketError, match=r"unbounded: psi has no lower bound.*tends to -inf as its argument "
                                              r"tends to -inf, outer slope 1\)"):
        cp.Problem(cp.Minimize(cvxpar.par(x, rises)), [x <= 0.7]).solve(qcp=True, solver=solver)
    falls = PAR.from_slopes([0.0, 1.0, 2.0], [-1.0, 0.0, -1.0, 0.0])  # quasiconcave; psi(x) = -x for x <= 0
    with pytest.raises(QCPBracketError, match=r"unbounded: psi has no upper bound.*tends to \+inf as its argument "
                                              r"tends to -inf, outer slope -1\)"):
        cp.Problem(cp.Maximize(cvxpar.par(x, falls)), [x <= 0.7]).solve(qcp=True, solver=solver)
    prob = cp.Problem(cp.Minimize(cvxpar.par(x, rises)), [x >= -3.0])  # bounded on that side: solved
    prob.solve(qcp=True, solver="HIGHS")  # (Clarabel stalls on these degenerate LPs: test_scalar_qcp_solve)
    assert prob.value == pytest.approx(-3.0, abs=1e-5)


def test_not_dqcp_says_why_when_a_psi_term_is_the_cause():
    """CVXPY's bare "The problem is not DQCP." names the cause and the routes when PAR atoms are to blame: a sum
    of quasiconvex psi terms, a nonconvex psi; a problem without them keeps CVXPY's message."""
    stair = cvxpar.pars.staircase(cvxpar.grids.uniform(0.5, 5))
    assert stair.curvature == "quasiconvex"
    x = cp.Variable(3)
    box = [x >= -1, x <= 1, cp.sum(x) == 1]
    for objective in (cp.sum(cvxpar.par(x, stair)), cvxpar.par(x[0], stair) + cvxpar.par(x[1], stair)):
        with pytest.raises(cp.error.DQCPError, match=r"not DQCP\. .*sum of quasiconvex functions is not "
                                                     r"quasiconvex.*cvxpar\.reference\(problem\).*method='cvxpar'"):
            cp.Problem(cp.Minimize(objective), box).solve(qcp=True)
    saw = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    with pytest.raises(cp.error.DQCPError, match="psi is nonconvex"):
        cp.Problem(cp.Minimize(cvxpar.par(x[0], saw)), box).solve(qcp=True)
    with pytest.raises(cp.error.DQCPError, match=r"^The problem is not DQCP\.$"):
        cp.Problem(cp.Minimize(cp.sqrt(x[0]) * cp.sqrt(x[1])), box).solve(qcp=True)
    problem = cp.Problem(cp.Minimize(cp.max(cvxpar.par(x, stair))), box)  # a max of them is DQCP
    problem.solve(qcp=True)
    assert problem.status == cp.OPTIMAL
