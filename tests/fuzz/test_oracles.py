"""The fuzz oracles' own rules, on cases where they once disagreed with a correct result."""

from __future__ import annotations

import numpy as np
from fuzz_oracles import References, check_result
from fuzz_problems import Case, PsiSpec

import cvxpar
from cvxpar import PAR
from cvxpar.losses import LeastSquares


def test_convex_from_slopes_psi_with_equal_slopes_is_judged_convex():
    # equal adjacent slopes: the slopes recomputed from the values fall by an ulp at q_2, a flat kink that
    # psi.curvature calls convex; 'optimal' is the right status and must be checked against Clarabel
    psi = PAR.from_slopes([-0.85322882, 2.33692701, 2.6042611], [-0.71252244, -0.6483551, -0.6483551, 0.37720012])
    recomputed = np.diff(psi.values) / np.diff(psi.breakpoints)
    assert recomputed[1] < recomputed[0] and psi.curvature == "convex"
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((6, 4)), rng.standard_normal(6)
    loss = LeastSquares(A, b)
    res = cvxpar.solve(loss, psi, 0.7)
    assert res.status == "optimal"
    case = Case("ls", A, b, PsiSpec("from_slopes", "PAR.from_slopes(...)", psi), 0.7, "none")
    check_result(case, res, 1e-8, References(case), loss, None)
