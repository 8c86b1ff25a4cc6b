"""cvxpar.constraints.restrict: a NaN bound is refused (it used to be ignored silently)."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar
from cvxpar.constraints import restrict


@pytest.mark.parametrize("lower, upper", [(np.nan, 1.0), (0.0, np.nan)])
def test_restrict_refuses_nan_bounds(lower, upper):
    with pytest.raises(ValueError, match="numeric bounds"):
        restrict(cvxpar.pars.l1([0.0]), lower, upper)


def test_restrict_matches_brute_force_prox():
    psi = restrict(cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 2.0), -0.6, 0.9)
    v = np.linspace(-2.0, 2.0, 41)
    grid = np.linspace(-0.6, 0.9, 150_001)  # the prox of psi + indicator([-0.6, 0.9]) by brute force
    base = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 2.0)
    brute = grid[np.argmin(base(grid)[None, :] + 0.5 * (grid[None, :] - v[:, None]) ** 2, axis=1)]
    np.testing.assert_allclose(psi.prox(v), brute, atol=2e-5)
