"""DQCP: sublevel sets of quasiconvex PARs vs brute force, and solve(qcp=True) end to end
(CVXPY's test_dqcp.py pattern: curvature asserts, the reduction, then the full solve)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from cvxpy.reductions.dqcp2dcp.dqcp2dcp import Dqcp2Dcp
from hypothesis import given
from hypothesis import strategies as st

import cvxpar
from cvxpar import PAR
from cvxpar.atoms.dqcp import sublevel_interval

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
