"""Shared data and markers of the reference's tests (tests/test_reference.py, tests/exact/)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxpar

GRID = cvxpar.grids.uniform(0.5, 5)
RIDGE = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
needs_scip = pytest.mark.skipif(cp.SCIP not in cp.installed_solvers(), reason="SCIP (pyscipopt) not installed")


def gaussian_data(n, d, seed=0):
    """A ~ N(0, 1) of shape (n, d) and b ~ N(0, 1) of length n."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


def scaled_data(c, n=20, d=10, seed=0):
    """The scaling reproducer's construction at scale c: A ~ c N(0, 1), b = A x0 + 0.3 c noise, |x0| <= 0.3."""
    rng = np.random.default_rng(seed)
    A = c * rng.standard_normal((n, d))
    return A, A @ rng.uniform(-0.3, 0.3, d) + 0.3 * c * rng.standard_normal(n)
