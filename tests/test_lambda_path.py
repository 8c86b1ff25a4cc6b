"""cvxpar.path (lambda_path, lambda_for_rate): input checks and how a path treats problems without a solution
(named apart from tests/distributed/test_path.py: pytest needs distinct basenames in this layout)."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar
from cvxpar import grids, losses, pars
from cvxpar.path import lambda_for_rate


def _loss():
    rng = np.random.default_rng(0)
    return losses.LeastSquares(rng.standard_normal((10, 30)), rng.standard_normal(10))


def test_an_empty_lams_is_an_error():
    with pytest.raises(ValueError, match="lams is empty"):
        cvxpar.lambda_path(_loss(), pars.l1([0.0]), [])
    with pytest.raises(ValueError, match="lams is empty"):
        cvxpar.lambda_path(_loss(), pars.l1([0.0]), np.array([]))


def test_unbounded_path_entries_do_not_warm_start_and_the_rate_search_says_why():
    """psi decreasing to the right (a grid below 0) with d > n: every lam > 0 is unbounded below."""
    psi = pars.ridge(grids.uniform(0.25, 4, -2.0))
    path = cvxpar.lambda_path(_loss(), psi, [1.0, 0.5])
    assert [r.status for r in path] == ["unbounded", "unbounded"]
    with pytest.raises(ValueError, match="unbounded"):
        lambda_for_rate(_loss(), psi, 0.5)
