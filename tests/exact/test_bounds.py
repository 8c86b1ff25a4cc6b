"""cvxpar.exact.bounds: every bound contains the global minimizer found by enumeration, and the loss's
growth closes sides that psi's growth leaves open (or leaves huge)."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar
from cvxpar import PAR, losses
from cvxpar import constraints as C
from cvxpar.constraints import FeasibleSet
from cvxpar.exact.bounds import MAX_SCALED_BOUND, mip_bounds, penalty_floor

GRID = cvxpar.grids.uniform(0.5, 5)


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


def test_mip_bounds_from_walls_box_simplex_growth_and_user():
    A, b = _data(2, 3)  # fewer samples than features: only psi's growth bounds x
    loss = losses.LeastSquares(A, b)
    mcp = cvxpar.pars.mcp(GRID, 1.0)
    lo, hi = mip_bounds(loss, mcp, 1.0, FeasibleSet(None, 3))
    f0 = loss.value(np.zeros(3)) + 3 * mcp(0.0)  # the phase-1 point is 0
    assert np.isfinite(lo).all() and np.isfinite(hi).all()
    # at the bound psi alone uses up F(0) - (sum of the others' inf psi)
    np.testing.assert_allclose(mcp(hi), f0 - 2 * mcp.values.min(), rtol=1e-5)
    lo, hi = mip_bounds(loss, mcp, 1.0, FeasibleSet(C.Box(-0.3, 0.4), 3))
    np.testing.assert_allclose([lo, hi], [[-0.3] * 3, [0.4] * 3])
    lo, hi = mip_bounds(loss, mcp, 1.0, FeasibleSet(C.Simplex(2.0), 3), (-5, [1.0, 3.0, 3.0]))
    np.testing.assert_allclose([lo, hi], [[0.0] * 3, [1.0, 2.0, 2.0]], atol=1e-5)  # sum x = 2, x >= 0: x_i <= 2
    walls = PAR([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], -np.inf, np.inf)
    lo, hi = mip_bounds(loss, walls, 0.0, FeasibleSet(None, 3))
    np.testing.assert_allclose([lo, hi], [[-1.0] * 3, [1.0] * 3])


def _grid_minimizer(A, b, h, psi, lam, radius, step):
    """The best point on a fine grid of [-radius, radius]^2: where the minimizer lies (d = 2)."""
    axis = np.arange(-radius, radius + step / 2, step)
    X = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    values = h(X @ A.T - b).sum(axis=1) + lam * psi(X).sum(axis=1)
    return X[np.argmin(values)]


@pytest.mark.parametrize("kind", ["ls", "huber"])
def test_loss_growth_bounds_hold_where_psi_growth_is_useless(kind):
    """lam tiny: psi's growth bound is ~1/lam wide; the loss's growth gives a bound of the data's size."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(8, 2))
    b = A @ np.array([2.3, -1.7]) + 0.1 * rng.normal(size=8)
    loss = losses.LeastSquares(A, b) if kind == "ls" else losses.Huber(A, b, M=0.2)
    psi = cvxpar.pars.sawtooth(GRID)
    lo, hi = mip_bounds(loss, psi, 1e-9, FeasibleSet(None, 2))
    assert np.all(hi - lo < 50)  # psi's growth alone: ~1e9
    h = (lambda r: 0.5 * r * r) if kind == "ls" else (lambda r: np.where(np.abs(r) <= 0.2, 0.5 * r * r, 0.2 * np.abs(r) - 0.02))
    x = _grid_minimizer(A, b, h, psi, 1e-9, 5.0, 0.02)
    assert loss.value(x) == pytest.approx(float(h(A @ x - b).sum()), rel=1e-12)
    assert np.all(lo <= x) and np.all(x <= hi)


def test_bounds_that_are_too_wide_are_refused_with_advice():
    A, b = _data(6, 3)
    loss = losses.LeastSquares(A, b)
    psi = cvxpar.pars.sawtooth(GRID)
    wide = 2 * MAX_SCALED_BOUND
    with pytest.raises(ValueError, match="too wide.*bounds="):
        mip_bounds(loss, psi, 1.0, FeasibleSet(C.Box(-wide, wide), 3))


def test_penalty_floor_is_a_lower_bound():
    A, b = _data(6, 3)
    loss = losses.LeastSquares(A, b)
    psi = cvxpar.pars.mcp(GRID, 1.0)
    lo, hi = np.full(3, -2.0), np.full(3, 2.0)
    floor = penalty_floor(loss, psi, 0.7, lo, hi)
    xs = np.random.default_rng(4).uniform(-2, 2, (2000, 3))
    assert floor <= min(loss.value(x) + 0.7 * float(np.sum(psi(x))) for x in xs)
    assert floor == pytest.approx(3 * 0.7 * min(psi(np.linspace(-2, 2, 4001))), abs=1e-12)
