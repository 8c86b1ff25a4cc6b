"""The fuzz oracles' own rules, on cases where they once disagreed with a correct result."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from fuzz_oracles import (
    OBJECTIVE_RTOL,
    Finding,
    References,
    brute_force_optimum,
    check_result,
    clarabel_optimum,
    loss_rounding,
    objective,
)
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


def test_objective_oracle_counts_the_rounding_of_a_vanishing_loss():
    """An exact fit with lam = 0 (found by test_lam_zero_and_huge): the loss at the solution is pure rounding,
    ~1e-30 through cvxpar's sparse A x and 6e-30 through the oracle's dense A @ x, so a rule relative to the
    objective alone (1e-9 x 1e-29) called two evaluations of the same x a mismatch.  The floor of
    loss_rounding accepts them, and a reported objective off by more than the data's rounding still fails."""
    A = np.array([[78.042322445594, -0.015080282635368154], [-28.464056852660274, 0.01808206538749976],
                  [327.9678827912427, -0.029039818397472158], [332.46820698593416, 0.03104205213762209],
                  [171.58142624011032, 0.006099558190682737]])
    b = np.array([19.240168065861834, -7.027855503235877, 80.82701429731664, 81.88579220018481, 42.26817731411947])
    psi = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 1.0)
    case = Case("ls", A, b, PsiSpec("mcp", "pars.mcp(grids.uniform(0.5, 5), 1.0)", psi), 0.0, "none", sparse=True)
    loss = case.loss()
    res = cvxpar.solve(loss, psi, 0.0, method="cd", tol=1e-8)
    own = objective(case, res.x)
    assert res.status == "stationary" and abs(res.objective - own) > OBJECTIVE_RTOL * max(abs(own), 1e-300)
    check_result(case, res, 1e-8, References(case), loss, None)
    off = dataclasses.replace(res, objective=own + 1e3 * loss_rounding(case, res.x))
    with pytest.raises(Finding, match="objective-mismatch"):
        check_result(case, off, 1e-8, References(case), loss, None)


def test_brute_force_takes_a_psi_whose_slope_leaves_the_float_range():
    """psi rises by 1 between 0 and 5e-324 (slope 2e323, beyond float64; found by test_reference_bnb's near-equal
    breakpoints): the oracle's CVXPY model got an infinite slope and CVXPY raised 'Problem data contains NaN
    or Inf'.  That piece holds no float inside: its two ends stand for it, and the global minimum agrees with
    a dense grid of the objective (which contains both ends)."""
    psi = PAR([-1.0, 0.0, 5e-324, 1.0], [0.1, 0.0, 1.0, 1.1], -np.inf, 0.0)
    A = np.array([[1.0, 0.5], [0.0, 1.0], [1.0, -1.0]])
    b = np.array([0.3, 0.8, -0.4])
    case = Case("ls", A, b, PsiSpec("near_equal", "PAR(...)", psi), 0.2, "box", {"lower": -1.0, "upper": 2.0})
    best, x_best = brute_force_optimum(case, 1.0)
    axis = np.unique(np.concatenate((np.linspace(-1.0, 2.0, 601), psi.breakpoints, [5e-324])))
    grid = min(objective(case, np.array([u, w])) for u in axis for w in axis)
    assert np.isfinite(best) and best <= grid + 1e-9 and objective(case, x_best) == best
    assert clarabel_optimum(case, 1.0) is None or np.isfinite(clarabel_optimum(case, 1.0)[0])


def test_a_certificate_limited_by_its_rounding_bound_is_decided_by_the_exact_gradient():
    """Found by the long bridge fuzz: the bridge certified 'optimal' on its CVXPY-extracted (sparse) A; the
    oracle's certificate on the dense A had residual 5.8e-10 but a gradient rounding bound of ~9.6e-9, 1.018e-8 in
    all, over tol = 1e-8: inconclusive, not a refutation.  The exact gradient (rational arithmetic) gives a residual
    of 1.3e-10, so the status is right, and the certificate's own doubled-precision gradient now says so too; the
    same oracle still refutes a point that is not optimal."""
    import types
    import warnings

    import cvxpy as cp

    from cvxpar.constraints import Linear
    from cvxpar.losses import Huber

    A = np.array([[2571.230528558746, -1.1639266057515718, -2571.230528558746, -64.91867641964043],
                  [349.5397141305627, 0.5409389218594148, -349.5397141305627, 15.237447006837908],
                  [-136.64957400611445, 1.9185907401763298, 136.64957400611445, 106.63134183888901],
                  [683.8658990554335, -0.10071978752844322, -683.8658990554335, 5.262223836916878],
                  [1917.3012609745838, -3.219857791953355, -1917.3012609745838, -55.21420581843239],
                  [1071.5663072598556, 0.5096851008284092, -1071.5663072598556, 4.583166844584876]])
    target = np.array([252.22322217384726, 718.1662893339536, -2581.9457889713112, 585.7733190949713,
                       -819.2818058617731, -569.1673851513775])
    psi = cvxpar.pars.l1(cvxpar.grids.uniform(0.571293, 15, center=0.0), eps=0.0)
    lam = np.array([0.71844, 0.0, 0.0, 0.0])
    G, h = np.array([[-0.528, -0.35, 0.943, 1.635]]), np.array([9.02424724181648])
    case = Case("huber", A, target, PsiSpec("l1", "pars.l1(...)", psi), lam, "linear_ineq", {"A_ub": G, "b_ub": h},
                huber_M=0.01)
    x = cp.Variable(4)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum(cp.huber(A @ x - target, 0.01))
                                  + cp.Parameter(4, nonneg=True, value=lam) @ cvxpar.par(x, psi)), [G @ x <= h])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(method="cvxpar", tol=1e-8, max_iter=5000)
    status = prob.solver_stats.extra_stats["status"]
    res = types.SimpleNamespace(status=status, x=np.asarray(x.value, dtype=np.float64), objective=float(prob.value))
    loss, cons = Huber(A, target, M=0.01), Linear(A_ub=G, b_ub=h)
    cert = cvxpar.certificate(loss=loss, psi=psi, lam=lam, x=res.x, constraints=cons)
    _, estimate = loss.gradient_rounding(res.x)
    assert cert.residual + float(np.max(estimate())) > 1e-8 * cert.scale  # the estimate alone is inconclusive
    assert status == "optimal" and cert.certifies(1e-8)  # the certificate's doubled-precision gradient decides
    check_result(case, res, 1e-8, References(case), loss, cons)
    moved = types.SimpleNamespace(status="optimal", x=res.x + np.array([1e-6, 0.0, 0.0, 0.0]), objective=math.nan)
    moved.objective = objective(case, moved.x)
    with pytest.raises(Finding, match="status-not-certified|not-stationary"):
        check_result(case, moved, 1e-8, References(case), loss, cons)
