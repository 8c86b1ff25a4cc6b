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


def test_prox_oracle_tolerance_covers_its_own_interpolation_rounding():
    """psi(x) = 1e-8 x on [-1, 0]: the exact prox of t psi at v ~ 0 is v - 1e-8 t = -1e-20 for t = 1e-12, which
    beats 0 by 5e-41; np.interp evaluates psi(-1e-20) from the values -1e-8 and 0 with an error of ~1e-24, so
    t * that (1e-36) must be inside the oracle's tolerance (it reported 0.0 as better, a false finding)."""
    from test_fuzz_prox import check_prox, objective_difference

    psi = PAR([-1.0, 0.0], [-1e-8, 0.0], 0.0, 1.0)
    diff, slack = objective_difference(psi, -1e-20, 0.0, -5e-324, 1e-12)
    assert abs(diff) <= slack
    check_prox(psi, np.array([-5e-324, 0.0]), 1e-12)


def test_prox_oracle_still_separates_tied_breakpoints_under_a_huge_t():
    """At breakpoints psi is exact, so no interpolation slack: with psi = 0 at q_0 and q_2 and t = 1e17, q_2 (the
    point v itself) beats q_0 by (q_2 - q_0)^2 / 2 and the oracle must say so."""
    from test_fuzz_prox import objective_difference

    q = np.round(np.arange(-14, 15) * 1.185685, 5)
    psi = PAR(q, np.where(np.arange(q.size) % 2 == 0, 0.0, 11.85685), -10.0, 10.0)
    diff, slack = objective_difference(psi, float(q[0]), float(q[2]), float(q[2]), 1e17)
    assert diff > slack
