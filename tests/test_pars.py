"""cvxpar.pars: the PAR families, each against the formula it claims (Ma & Xiao 2025, arXiv 2508.11112;
Jin et al. 2025, arXiv 2503.15748)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from par_strategies import breakpoints

import cvxpar
from cvxpar import pars
from cvxpar.grids import uniform

INF = np.inf
steps = st.floats(0.05, 2.0)


def soft_threshold(v, t):
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


# ---------------------------------------------------------------------- l1
def test_l1_default_is_abs_and_prox_soft_thresholds():
    psi = pars.l1()
    x = np.linspace(-5, 5, 101)
    np.testing.assert_array_equal(psi(x), np.abs(x))
    assert psi.curvature == "convex"
    for t in (0.0, 0.3, 2.0):
        np.testing.assert_allclose(psi.prox(x, t), soft_threshold(x, t), rtol=0, atol=1e-15)


@given(breakpoints(max_size=8), st.floats(0.0, 1.0))
def test_l1_on_a_grid_dominates_abs_with_convex_kinks(q, eps):
    psi = pars.l1(q, eps=eps)
    assert 0.0 in psi.breakpoints and psi(0.0) == 0.0
    x = np.linspace(-20, 20, 2001)
    assert np.all(psi(x) >= np.abs(x) - 1e-12)
    assert psi.curvature == "convex"
    if eps > 1e-9:
        assert np.all(np.diff(psi.slopes) > 0)  # every grid point is a convex kink
    with pytest.raises(ValueError, match="eps"):
        pars.l1(q, eps=-1.0)


# ---------------------------------------------------------------------- ridge
@given(steps, st.integers(2, 12), st.floats(-3, 3))
def test_ridge_interpolates_half_square(step, n, center):
    grid = uniform(step, n, center)
    psi = pars.ridge(grid)
    assert psi.curvature == "convex"
    np.testing.assert_allclose(psi(grid), grid**2 / 2, rtol=1e-12, atol=1e-12)
    x = np.linspace(grid[0], grid[-1], 4001)
    gap = psi(x) - x**2 / 2
    assert np.all(gap >= -1e-12) and np.all(gap <= step**2 / 8 + 1e-12)
    lo, hi = psi.subdifferential(x)
    assert np.all(np.abs(lo - x) <= step / 2 + 1e-12) and np.all(np.abs(hi - x) <= step / 2 + 1e-12)
    np.testing.assert_allclose(psi.slopes[1:-1], (grid[1:] + grid[:-1]) / 2, rtol=1e-12, atol=1e-12)


def test_ridge_prox_closed_form():
    """Ridge PAR: a plateau of width tau*step centred at k*step*(1 + tau) maps to k*step."""
    step, tau = 0.5, 0.4
    psi = pars.ridge(uniform(step, 41))
    for k in range(-5, 6):
        centre = k * step * (1 + tau)
        v = centre + np.linspace(-0.49, 0.49, 9) * tau * step
        np.testing.assert_array_equal(psi.prox(v, tau), np.full(v.shape, k * step))
    v = np.linspace(-4, 4, 801)
    x = psi.prox(v, tau)
    on_grid = np.isclose(x / step, np.round(x / step), rtol=0, atol=1e-12)
    np.testing.assert_allclose(x[~on_grid], v[~on_grid] - tau * (np.floor(x[~on_grid] / step) + 0.5) * step, atol=1e-12)
    with pytest.raises(ValueError, match="at least two points"):
        pars.ridge([0.0])


# ---------------------------------------------------------------------- parq
@given(breakpoints(min_size=2, max_size=8))
def test_parq_walls_and_midpoint_slopes(q):
    psi = pars.parq(q)
    assert psi.domain == (q[0], q[-1]) and psi.curvature == "convex"
    np.testing.assert_allclose(psi.slopes[1:-1], (q[1:] + q[:-1]) / 2, rtol=1e-12, atol=1e-12)
    x = psi.prox(np.array([q[0] - 100, q[-1] + 100]), 0.3)
    np.testing.assert_array_equal(x, [q[0], q[-1]])


@given(breakpoints(min_size=2, max_size=8), st.lists(st.floats(-10, 10), min_size=1, max_size=30))
def test_parq_prox_with_large_t_rounds_to_nearest(q, ws):
    """PARQ: prox_{t psi}(t w) -> nearest grid point of w as t -> inf (PARQ, Jin et al. 2025)."""
    w = np.asarray(ws)
    mids = (q[1:] + q[:-1]) / 2
    t = 1e7
    far_from_mid = np.all(np.abs(w[:, None] - mids[None, :]) > 1e-4 * (1 + np.abs(q).max()), axis=1)
    w = w[far_from_mid]
    psi = pars.parq(q)
    np.testing.assert_array_equal(psi.prox(t * w, t), cvxpar.snap(w, q))


# ---------------------------------------------------------------------- sawtooth
@given(steps, st.integers(2, 9), st.floats(0.1, 3.0), st.floats(0.0, 3.0), st.lists(st.floats(-8, 8), max_size=40))
def test_sawtooth_prox_is_soft_rounding(step, n, a, t, zs):
    """Sawtooth: prox(z) = p + sgn(r) max(|r| - t a, 0), p the nearest grid point, r = z - p."""
    grid = uniform(step, n)
    psi = pars.sawtooth(grid, slope=a)
    assert psi.curvature == "nonconvex"
    z = np.asarray(zs)
    p = cvxpar.snap(z, grid)
    r = z - p
    mids = (grid[1:] + grid[:-1]) / 2
    z, p, r = (arr[np.min(np.abs(z[:, None] - mids[None, :]), axis=1, initial=INF) > 1e-9] for arr in (z, p, r))
    expected = p + np.sign(r) * np.maximum(np.abs(r) - t * a, 0.0)
    np.testing.assert_allclose(psi.prox(z, t), expected, rtol=0, atol=1e-12)
    x = np.linspace(-10, 10, 1001)
    np.testing.assert_allclose(psi(x), a * np.abs(x - cvxpar.snap(x, grid)), atol=1e-12)


def test_sawtooth_hard_rounding_and_ties():
    grid = uniform(1.0, 5)
    psi = pars.sawtooth(grid)
    v = np.array([-2.4, -1.6, -0.2, 0.45, 0.5, 0.55, 1.5, -1.5])
    np.testing.assert_array_equal(psi.prox(v, 0.5), [-2.0, -2.0, 0.0, 0.0, 0.0, 1.0, 1.0, -1.0])
    with pytest.raises(ValueError, match="slope"):
        pars.sawtooth(grid, slope=0.0)


# ---------------------------------------------------------------------- staircase
def staircase_closed_form(z, lam, d):
    """Staircase (alpha = 1, c = 1/2), with the max(0, .) fix for tau > 1."""
    tau = lam / d
    tt = np.abs(z) / d
    j = np.floor(tt)
    r = tt - j
    sg = np.sign(z)
    if tau <= 1:
        return np.where(r < tau, sg * j * d, np.where(r < (1 + tau) / 2, z - sg * lam, z))
    return sg * d * np.maximum(0.0, np.floor(tt - (tau - 1) / 2))


@given(steps, st.floats(0.0, 4.0), st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=50))
def test_staircase_prox_closed_form(d, tau, us):
    k = 6
    psi = pars.staircase(uniform(d, 2 * k + 1))
    assert psi.curvature == "quasiconvex"
    z = k * d * np.asarray(us)
    lam = tau * d
    tt = np.abs(z) / d
    r = tt - np.floor(tt)
    edges = [tau, (1 + tau) / 2] if tau <= 1 else [np.mod((1 + tau) / 2, 1.0)]
    away = np.all([np.abs(r - e) > 1e-7 for e in edges + [0.0, 1.0]], axis=0)
    z = z[away]
    np.testing.assert_allclose(psi.prox(z, lam), staircase_closed_form(z, lam, d), rtol=0, atol=1e-9)


def test_staircase_shape_and_errors():
    psi = pars.staircase(uniform(1.0, 5))  # the code instance: floor(|x|)/2 + min(frac(|x|), 1/2)
    x = np.linspace(-2, 2, 401)
    ax = np.abs(x)
    np.testing.assert_allclose(psi(x), np.floor(ax) / 2 + np.minimum(ax - np.floor(ax), 0.5), atol=1e-12)
    with pytest.raises(ValueError, match="rise"):
        pars.staircase([0.0, 1.0], rise=1.0)
    with pytest.raises(ValueError, match="slope"):
        pars.staircase([0.0, 1.0], slope=-1.0)


# ---------------------------------------------------------------------- mcp
@given(steps, st.integers(3, 12), st.floats(0.3, 5.0))
def test_mcp_nonconvex_with_convex_kinks_at_grid(step, n, gamma):
    grid = uniform(step, n)
    psi = pars.mcp(grid, gamma)
    assert psi.curvature == "nonconvex" or n * step <= 2 * gamma  # the MCP bend must lie inside the grid
    s = psi.slopes
    for g in grid:
        j = int(np.flatnonzero(psi.breakpoints == g)[0])
        assert s[j] < s[j + 1], f"grid point {g} is not a convex kink"
    mcp = np.where(np.abs(grid) <= gamma, np.abs(grid) - grid**2 / (2 * gamma), gamma / 2)
    np.testing.assert_allclose(psi(grid), mcp, atol=1e-12)
    beta = step / gamma  # the default: psi = (MCP interpolant) + beta * dist(x, grid)
    x = np.linspace(grid[0], grid[-1], 2001)
    gap = psi(x) - np.interp(x, grid, mcp)
    assert np.all(gap >= -1e-12) and np.all(gap <= beta * step / 2 + 1e-12)


def test_mcp_errors():
    with pytest.raises(ValueError, match="gamma"):
        pars.mcp([0.0, 1.0], 0.0)
    with pytest.raises(ValueError, match="beta"):
        pars.mcp([0.0, 1.0], 1.0, beta=-1.0)
    with pytest.raises(ValueError, match="at least two points"):
        pars.mcp([0.0], 1.0)


@pytest.mark.parametrize("family", [pars.ridge, pars.parq, pars.sawtooth, pars.staircase, lambda g: pars.mcp(g, 1.0)])
def test_families_reject_bad_grids(family):
    with pytest.raises(ValueError, match="strictly increasing"):
        family([1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="not finite"):
        family([0.0, np.nan])
