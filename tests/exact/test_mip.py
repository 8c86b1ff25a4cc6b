"""cvxpar.exact.mip: convex chunks against psi, and the epigraphs' values against psi (brute force)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from reference_cases import GRID, RIDGE, needs_scip

import cvxpar
from cvxpar.exact.mip import chosen_chunks, convex_chunks, fixed_chunk_epigraph, par_epigraph


def test_convex_chunks_split_at_concave_kinks_only():
    psi = cvxpar.pars.sawtooth(GRID)
    chunks = convex_chunks(psi, -1.0, 1.0)
    assert len(chunks) == 5  # one V around each grid point
    z = np.linspace(-1, 1, 401)
    for c in chunks:
        inside = z[(z >= c.lower) & (z <= c.upper)]
        np.testing.assert_allclose(np.max(np.outer(inside, c.slopes) + c.intercepts, axis=1), psi(inside), atol=1e-12)
    assert len(convex_chunks(RIDGE, -2.0, 2.0)) == 1


def test_scaled_chunk_is_the_chunk_of_the_rescaled_psi():
    psi = cvxpar.pars.sawtooth(GRID)
    sigma = 0.25
    for c, cs in zip(convex_chunks(psi, -1.0, 1.0), [c.scaled(1 / sigma) for c in convex_chunks(psi, -1.0, 1.0)],
                     strict=True):
        y = np.linspace(cs.lower, cs.upper, 7)
        np.testing.assert_allclose(np.max(np.outer(y, cs.slopes) + cs.intercepts, axis=1), psi(sigma * y), atol=1e-12)
        assert cs.lower * sigma == c.lower


def test_fixed_chunk_epigraph_is_psi_on_each_chunk():
    psi = cvxpar.pars.sawtooth(GRID)
    x0 = np.array([-0.9, -0.3, 0.1, 0.62, 0.99])
    chunks = chosen_chunks(x0, psi, -1.0, 1.0)
    x = cp.Variable(5)
    t, cons = fixed_chunk_epigraph(x, chunks)
    prob = cp.Problem(cp.Minimize(cp.sum(t)), [*cons, x == x0])
    prob.solve(solver=cp.CLARABEL)
    np.testing.assert_allclose(t.value, psi(x0), atol=1e-7)


@needs_scip
@pytest.mark.mip
def test_par_epigraph_minimizes_psi_plus_a_linear_term():
    """min_x psi(x) + c x over [-1, 1] by branch and bound equals the grid minimum (brute force)."""
    psi = cvxpar.pars.sawtooth(GRID)
    c = np.array([0.3, -0.7, 0.05])
    x = cp.Variable(3)
    w, cons = par_epigraph(x, psi, -1.0, 1.0)
    prob = cp.Problem(cp.Minimize(cp.sum(w) + c @ x), cons)
    prob.solve(solver=cp.SCIP)
    z = np.linspace(-1, 1, 20001)
    expected = sum(float(np.min(psi(z) + ci * z)) for ci in c)
    assert prob.value == pytest.approx(expected, abs=1e-6)
