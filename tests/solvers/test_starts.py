"""Nonconvex starts: the convex envelope against its definition, and the best-of-starts rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxpar
from cvxpar import PAR, grids, pars
from cvxpar.constraints import Box, restrict
from cvxpar.losses import LeastSquares
from cvxpar.solvers.starts import convex_envelope


def _envelope_by_definition(psi, x, n_slopes=4001):
    """sup over slopes a in [sl, sr] of a x - max_k (a q_k - v_k), on a dense grid of a (a lower bound that
    converges to conv psi): the affine minorants of psi."""
    lo = psi.left_slope if np.isfinite(psi.left_slope) else -50.0
    hi = psi.right_slope if np.isfinite(psi.right_slope) else 50.0
    a = np.linspace(lo, hi, n_slopes)
    conj = np.max(a[:, None] * psi.breakpoints[None, :] - psi.values[None, :], axis=1)
    return np.max(a[:, None] * x[None, :] - conj[:, None], axis=0)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.floats(-2, 2), min_size=2, max_size=9), st.floats(-3, 0), st.floats(0, 3))
def test_envelope_is_the_greatest_convex_minorant(vals, sl, sr):
    q = np.arange(len(vals), dtype=float) * 0.5
    psi = PAR(q, vals, sl, sr)
    env = convex_envelope(psi)
    assert env is not None and env.is_convex
    x = np.linspace(q[0] - 1, q[-1] + 1, 301)
    assert np.all(env(x) <= psi(x) + 1e-9)
    # the greatest one: it matches the sup of psi's affine minorants (to the slope grid's resolution)
    np.testing.assert_allclose(env(x), _envelope_by_definition(psi, x), atol=2e-3)


def test_envelope_of_a_wall_bounded_sawtooth_interpolates_its_lower_hull():
    psi = restrict(pars.sawtooth(grids.uniform(0.5, 5)), -0.6, 0.9)
    env = convex_envelope(psi)
    assert env.domain == psi.domain
    np.testing.assert_allclose(env(env.breakpoints), psi(env.breakpoints))


def test_no_envelope_when_the_outer_slopes_cross():
    assert convex_envelope(PAR([0.0, 1.0], [0.0, 0.0], 1.0, -1.0)) is None


def test_best_of_starts_keeps_the_lowest_certified_objective():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((10, 14)), rng.standard_normal(10)
    loss, psi = LeastSquares(A, b), pars.sawtooth(grids.uniform(0.25, 9))
    res = cvxpar.solve(loss, psi, 0.5, constraints=Box(-1, 1), n_starts=4)
    labels = [s[0] for s in res.info["starts"]]
    assert labels[:4] == ["convex envelope", "zero", "random 2", "random 3"] and set(labels[4:]) <= {"coordinate sweep"}
    certified = [f for _, status, f in res.info["starts"] if status == "stationary"]
    assert res.status == "stationary" and res.objective == min(certified)
    single = cvxpar.solve(loss, psi, 0.5, constraints=Box(-1, 1), x0=np.zeros(14))
    assert res.objective <= single.objective
    assert cvxpar.certificate(loss, psi, 0.5, res.x, Box(-1, 1)).certifies(1e-8)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_n_starts_is_validated(bad):
    with pytest.raises(ValueError, match="n_starts"):
        cvxpar.solve(LeastSquares(np.eye(3), np.ones(3)), pars.sawtooth(grids.uniform(0.5, 5)), 0.1, n_starts=bad)


def test_coordinate_sweeps_reach_a_coordinate_wise_minimum():
    # after the sweeps no single coordinate can lower the objective: check each axis by brute force
    from cvxpar.solvers._problem import Problem
    from cvxpar.solvers.starts import coordinate_sweeps

    rng = np.random.default_rng(2)
    A, b = rng.standard_normal((8, 6)), rng.standard_normal(8)
    loss, psi = LeastSquares(A, b), pars.sawtooth(grids.uniform(0.25, 9))
    prob = Problem(loss, psi, 0.3, Box(-1, 1))
    x, moved = coordinate_sweeps(prob, rng.uniform(-1, 1, 6))
    assert moved
    F = prob.objective(x)
    ts = np.linspace(-1, 1, 4001)
    for j in range(6):
        trial = np.repeat(x[None, :], ts.size, axis=0)
        trial[:, j] = ts
        best = min(prob.objective(t) for t in trial)
        assert F <= best + 1e-12
