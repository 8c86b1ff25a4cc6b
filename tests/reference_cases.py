"""Shared data and markers of the reference's tests (tests/test_reference.py, tests/exact/)."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest

import cvxpar
from cvxpar.exact.mip import convex_chunks, fixed_chunk_epigraph

GRID = cvxpar.grids.uniform(0.5, 5)
RIDGE = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
needs_scip = pytest.mark.skipif(cp.SCIP not in cp.installed_solvers(), reason="SCIP (pyscipopt) not installed")


def gaussian_data(n, d, seed=0):
    """A ~ N(0, 1) of shape (n, d) and b ~ N(0, 1) of length n."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


def planted_data(n, d, seed):
    """(A, b, y): Gaussian A, b from grid-valued weights plus noise, y = sign(b + noise) labels."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = A @ rng.choice(np.linspace(-1.5, 1.5, 7), d) + 0.5 * rng.standard_normal(n)
    return A, b, np.where(b + rng.standard_normal(n) > 0, 1.0, -1.0)


def scaled_data(c, n=20, d=10, seed=0):
    """The scaling reproducer's construction at scale c: A ~ c N(0, 1), b = A x0 + 0.3 c noise, |x0| <= 0.3."""
    rng = np.random.default_rng(seed)
    A = c * rng.standard_normal((n, d))
    return A, A @ rng.uniform(-0.3, 0.3, d) + 0.3 * c * rng.standard_normal(n)


def chunk_brute_force(A, b, psi, lam, lower, upper, box_fn=None):
    """min of 1/2 ||Ax - b||^2 + sum lam_i psi(x_i) on [lower, upper]^d: over every assignment of the coordinates to
    psi's convex chunks, the convex problem on it (CVXPY + Clarabel)."""
    chunks = convex_chunks(psi, lower, upper)
    best = np.inf
    for combo in itertools.product(chunks, repeat=A.shape[1]):
        x = cp.Variable(A.shape[1])
        t, cons = fixed_chunk_epigraph(x, list(combo))
        cons += box_fn(x) if box_fn else []
        prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + cp.sum(cp.multiply(lam, t))), cons)
        prob.solve(solver=cp.CLARABEL)
        if prob.status == cp.OPTIMAL:
            best = min(best, prob.value)
    return best
