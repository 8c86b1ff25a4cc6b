"""cvxpar.exact.relaxation: the envelope against a brute-force convex hull, the relaxation against CVXPY +
Clarabel, and the dual bound against a brute-force global minimum."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest
from reference_cases import chunk_brute_force

import cvxpar
from cvxpar.exact import relaxation as R

GRID = cvxpar.grids.uniform(0.5, 5)
FAMILIES = {
    "mcp": cvxpar.pars.mcp(GRID, 1.0),
    "sawtooth": cvxpar.pars.sawtooth(GRID, slope=2.0),
    "staircase": cvxpar.pars.staircase(GRID),
    "ridge": cvxpar.pars.ridge(GRID),
    "random": cvxpar.PAR.from_slopes(GRID, [-1.5, 0.8, -0.9, 0.3, -0.2, 1.5]),
}


def _hull_brute_force(psi, lower, upper, t):
    """The convex envelope at t: the least chord value between two sample points around t (1-D Caratheodory)."""
    q = psi.breakpoints
    pts = np.concatenate(([lower], q[(q > lower) & (q < upper)], [upper]))
    vals = np.asarray(psi(pts), dtype=np.float64)
    best = np.inf
    for i, j in itertools.product(range(pts.size), repeat=2):
        if pts[i] <= t <= pts[j]:
            w = 0.0 if pts[j] == pts[i] else (t - pts[i]) / (pts[j] - pts[i])
            best = min(best, (1 - w) * vals[i] + w * vals[j])
    return best


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize(("lower", "upper"), [(-1.3, 1.3), (-0.5, 0.7), (0.1, 0.9), (0.5, 0.5)])
def test_envelope_is_the_convex_hull(name, lower, upper):
    psi = FAMILIES[name]
    knots, values = R.envelope(psi, lower, upper)
    assert knots[0] == lower and knots[-1] == upper
    slopes = np.diff(values) / np.diff(knots) if knots.size > 1 else np.zeros(0)
    assert np.all(np.diff(slopes) > 0)  # strictly convex kinks only: every kept knot is a vertex
    for t in np.linspace(lower, upper, 41):
        env = R.envelope_values(knots[None, :], values[None, :], np.array([knots.size]), np.array([t]))[0]
        assert env == pytest.approx(_hull_brute_force(psi, lower, upper, t), abs=1e-12)
        assert R.par_values(psi.breakpoints, psi.values, psi.left_slope, psi.right_slope, np.array([t]))[0] == (
            pytest.approx(float(psi(np.array([t]))[0]), abs=1e-12))


def _relaxation_by_cvxpy(A, b, lam, knots, values, counts):
    x = cp.Variable(A.shape[1])
    cons, pen = [], []
    for i in range(A.shape[1]):
        t, v = knots[i, : counts[i]], values[i, : counts[i]]
        cons += [x[i] >= t[0], x[i] <= t[-1]]
        if t.size == 1:
            pen.append(v[0])
            continue
        s = np.diff(v) / np.diff(t)
        pen.append(cp.max(cp.hstack([s[k] * (x[i] - t[k]) + v[k] for k in range(s.size)])))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam @ cp.hstack(pen)), cons)
    prob.solve(solver=cp.CLARABEL)
    return prob.value


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize(("n", "d", "seed"), [(8, 5, 0), (3, 6, 1), (12, 4, 2)])
def test_relaxation_minimum_and_bound_match_clarabel(name, n, d, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = 2 * rng.standard_normal(n)
    lam = rng.uniform(0.0, 2.0, d)
    lam[0] = 0.0  # a free coordinate: the dual's support term
    relax = R.Relaxation(A, b, FAMILIES[name], lam)
    lower, upper = rng.uniform(-1.3, 0.0, d), rng.uniform(0.0, 1.3, d)
    knots, values, counts = relax.envelopes(lower, upper)
    x = np.zeros(d)
    bound, value = relax.solve(x, knots, values, counts, 1e-11)
    expected = _relaxation_by_cvxpy(A, b, lam, knots, values, counts)
    assert bound <= value + 1e-12
    assert value == pytest.approx(expected, rel=1e-7, abs=1e-8)
    assert bound == pytest.approx(expected, rel=1e-7, abs=1e-8)
    assert np.all(x >= lower) and np.all(x <= upper)


@pytest.mark.parametrize("name", ["mcp", "sawtooth", "random"])
def test_dual_bound_at_any_point_is_below_the_global_minimum(name):
    """Weak duality for the nonconvex problem on the box: D(w) <= min F for arbitrary w = A x - b."""
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((4, 2)), 2 * rng.standard_normal(4)
    psi, lam = FAMILIES[name], 0.7
    relax = R.Relaxation(A, b, psi, np.full(2, lam))
    knots, values, counts = relax.envelopes(np.full(2, -1.2), np.full(2, 1.2))
    global_min = chunk_brute_force(A, b, psi, lam, -1.2, 1.2)
    bounds = [relax.dual_bound(rng.uniform(-2, 2, 2), knots, values, counts) for _ in range(50)]
    assert max(bounds) <= global_min + 1e-9
    x = np.zeros(2)
    bound, _ = relax.solve(x, knots, values, counts, 1e-12)
    assert bound <= global_min + 1e-9
