"""Minimal reproducers of the failure classes the fuzz oracles still tolerate (``fuzz_oracles.OPEN``).

Each runs the same oracle as the property tests and is a strict xfail while its class is open:
when the fix lands it XPASSes and fails loudly; then delete the class from ``OPEN`` (so the
property tests stop tolerating it) and the xfail marker here (so this stays as its regression test).

The long form also finds classes that are not fixed yet and that the property tests still fail on
(they are not in ``OPEN``): their reproducers below are strict xfails marked ``found_open``; the
others below are regression tests of classes it found that are fixed.
"""

from __future__ import annotations

import dataclasses
import types
import warnings

import cvxpy as cp
import numpy as np
import pytest
from fuzz_oracles import OPEN
from test_fuzz_prox import check_prox

import cvxpar
from cvxpar import grids, pars


def _open(cls: str):
    return pytest.mark.xfail(cls in OPEN, strict=True, reason=OPEN.get(cls, ""))


@_open("prox-overflow")
def test_nonconvex_prox_with_huge_t():
    """issue 13 (7): t * slope ~ 1e155 returned [-1, -1, -1]; the prox is [.5, .5, 1]."""
    check_prox(pars.sawtooth(grids.uniform(0.5, 5)), np.array([0.3, 0.7, 5.0]), 1e155)


@_open("prox-overflow-large-v")
def test_nonconvex_prox_with_huge_v():
    """|v| above ~1.4e154 with t = 1 (found by the fuzz suite): the prox returned 0.5 for v = 1e155
    (quasiconvex) and 0.75 / -1 for v = +/-1e155 (sawtooth) instead of about v - t*slope."""
    quasi = cvxpar.PAR([-1.0, -0.5, 0.0, 0.5, 1.0], [0.75, 0.625, 0.0, 0.625, 0.75], -1.25, 1.25)
    check_prox(quasi, np.array([1e155]), 1.0)


@_open("prox-overflow-large-v")
def test_sawtooth_prox_with_huge_v():
    check_prox(pars.sawtooth(grids.uniform(0.5, 5)), np.array([1e155, -1e155, 1e300]), 1.0)


def found_open(reason: str):
    """A class the long fuzz form found, not yet fixed and not tolerated: a strict xfail until its fix lands."""
    return pytest.mark.xfail(strict=True, reason=reason)


def test_nonconvex_prox_ties_with_t_past_one_over_eps():
    """Found by the long form (t = 1e150): psi = 0 at every other breakpoint, slopes +-10; prox(q_2, t) must be
    q_2 itself (psi(q_2) = 0, distance 0) for every t, and was q_0 from t = 1e17 on (the envelope of the prox
    summed t psi ~ 1 with the quadratic parts ~ 1 / t that decide between the zeros of psi)."""
    q = np.round(np.arange(-14, 15) * 1.185685, 5)
    psi = cvxpar.PAR(q, np.where(np.arange(q.size) % 2 == 0, 0.0, 11.85685), -10.0, 10.0)
    for t in (1e16, 1e17, 1e150, 1e200, 1e300):
        check_prox(psi, np.array([q[2], 0.1]), t)


def test_optimal_status_holds_for_another_evaluation_of_the_same_loss():
    """Found by the long bridge fuzz (lam changed to 0, |A| ~ 1e9, an exact fit): the bridge parsed
    1/2 ||A x - t||^2 into LeastSquares and said optimal, while cvxpar.certificate with the same loss written as
    Smooth (NumPy's A @ x) did not certify x: two float evaluations of the gradient differed by ~50, tol * scale
    was 5e-7.  Since the certificate counts the gradient's rounding error, 'optimal' must hold for both."""
    A = np.array([[0.0, -1.3612405811056486e-05, 0.021888641317558303, 0.10795322089633656, 3.0369286589756173],
                  [0.0, -0.0038321595255645774, 3.2097179648700096, 44.367746923708616, 21260.862273220635],
                  [0.0, -1006.0926323505248, 2166717.996981368, 10547358.645318778, -1254911110.1413975],
                  [0.0, -2.9449050129446545e-07, -0.001625651509356244, 0.06584642106341988, 4.062975768908463],
                  [0.0, -0.3167298274803127, 2346.15279300903, -11928.345428840543, 3634865.4701435603],
                  [0.0, -1.546476036603892, 12301.456246987675, -94270.67344680928, -9131528.662912985],
                  [0.0, 121.26904187946423, -58274.26837401761, -7893197.046390255, -204373805.1294017],
                  [0.0, 7.971545616865998e-05, 0.13126635023883937, -2.3016581463571506, -155.96324808790476],
                  [0.0, 1.449556262584848e-10, -1.6158714715627868e-05, 0.00015610747299478017, 0.006578760583292287]])
    b = np.array([-18.104384725951004, -124467.80554757908, 7304257890.096269, -23.97802290969855, -21213698.54100185,
                  53717045.267966434, 1221280605.7746408, 919.7212232902494, -0.038997729667310056])
    psi = pars.l1(grids.uniform(2.95317, 4, center=-1.0), eps=0.0)
    x, lam = cp.Variable(5), cp.Parameter(nonneg=True, value=1.2845)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam * cp.sum(cvxpar.par(x, psi))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # user_limit warnings: the first solve stops at its iteration limit
        problem.solve(method="cvxpar", tol=1e-8, max_iter=100)
        lam.value = 0.0
        problem.solve(method="cvxpar", tol=1e-8, max_iter=5000)  # the cached parse, warm-started
    smooth = cvxpar.losses.Smooth(lambda x: 0.5 * float(np.sum((A @ x - b) ** 2)), lambda x: A.T @ (A @ x - b),
                                  lipschitz=float(np.linalg.norm(A, 2)) ** 2, n_features=5)
    certified = cvxpar.certificate(loss=smooth, psi=psi, lam=0.0, x=x.value).certifies(1e-8)
    assert problem.status in (cp.OPTIMAL, cp.USER_LIMIT) and (problem.status != cp.OPTIMAL or certified)


def test_optimal_row_feasibility_in_the_rows_own_units():
    """Found by the long form (test_solve_statuses_are_honest_constrained, method='alm'): 'optimal' at x = [-1.11,
    -8.00, -7.88, 2.40], whose row violation 1.96e-7 is 6.8e-8 in distance (<= 1e-8 * ||x||_inf = 8e-8) but 1.12e-8
    of the row's own terms (17.5): x's large coordinates nearly cancel in the row.  The certificate now holds each
    row to tol relative to its own terms as well (cvxpar.certificate.row_backward_error): it refuses that point, and
    the row methods' answers pass the oracle's row-terms test."""
    from fuzz_oracles import References, check_result
    from fuzz_problems import Case, PsiSpec

    from cvxpar.constraints import Linear
    from cvxpar.losses import LeastSquares

    A = np.array([[-851.8273618803419, 50.95762349276697, -50.95762349276697, 17.574632860133143],
                  [-3547.284542948569, 249.61735601729882, -249.61735601729882, 1.7353276832780618],
                  [-8069.511271031476, -1266.8434041804715, 1266.8434041804715, 0.8587479305881389],
                  [-6776.557366003519, -275.85072315321764, 275.85072315321764, -13.33075105232747],
                  [13425.11991646192, 1474.8148747170285, -1474.8148747170285, -10.172199305262168],
                  [-875.6261713724439, -304.00993202840533, 304.00993202840533, -10.72782155959478]])
    target = np.array([962.9619249632068, 3924.1678620218395, 9145.326455260149, 7568.647634092969,
                       -15148.330725826363, 1000.1877812361521])
    psi = pars.l1(grids.uniform(1.0, 3, center=0.0), eps=0.0)
    G, h = np.array([[2.481, -0.65, 0.425, 1.251]]), np.array([2.091400573107125])
    case = Case("ls", A, target, PsiSpec("l1", "pars.l1(grids.uniform(1.0, 3, center=0.0), eps=0.0)", psi), 86.5964,
                "linear_eq", {"A_eq": G, "b_eq": h})
    loss, cons = LeastSquares(A, target), Linear(A_eq=G, b_eq=h)
    x = np.array([-1.114037349730164, -7.995840622931102, -7.875922163280871, 2.4023161922937146])  # alm's answer
    cert = cvxpar.certificate(loss=loss, psi=psi, lam=86.5964, x=x, constraints=cons)
    terms = 1.0 + abs(h[0]) + float(np.abs(G[0]) @ np.abs(x))
    assert not cert.certifies(1e-8)
    assert cert.infeasibility == pytest.approx(cert.x_scale * abs(float(G[0] @ x - h[0])) / terms, rel=1e-9)
    for method in ("alm", "admm"):
        res = cvxpar.solve(loss, psi, 86.5964, constraints=cons, method=method, tol=1e-8)
        check_result(case, res, 1e-8, References(case), loss, cons)


def test_reference_optimal_on_badly_scaled_huber_rows_is_a_global_minimum():
    """Found by the long form (test_fuzz_reference, SCIP path): a wrong 'optimal' from the reference itself.  SCIP
    stopped at objective 0.0698 with a dual bound 0.0667, while x* = [0.0995, 0.1] (inside the derived box) has
    F = 0.0509; the gap test's absolute unit was the rescaled model's s = 1.7e7 (the loss's largest curvature on a
    nearly rank-one A), so a 4 % gap passed as closed.  The unit is now capped at |F| at the clipped origin."""
    pytest.importorskip("pyscipopt")
    from cvxpar.losses import Huber

    A = np.array([[-24420.364341851026, 16730.297646748448], [3.699490857917652e-05, -2.5345069519833238e-05],
                  [0.00016204425110453256, -0.0001110158929233151], [6.188306777932648e-06, -4.239585162403702e-06],
                  [5.139864544539948e-06, -3.5213014224670027e-06], [0.24202685577934546, -0.1658116676316627],
                  [-2.8422177967604978e-05, 1.947192476370908e-05], [-353.38290661615383, 242.10126958790616],
                  [1256.1596331645408, -860.5901312723878], [-4.65320291382987e-05, 3.187891411827725e-05]])
    target = np.array([-757.1159803878278, 1.1469704581876118e-06, 5.023933726941278e-06, 1.9185897014180178e-07,
                       1.5935362508211582e-07, 0.007503671838324139, -8.811860804149438e-07, -10.956095578658738,
                       38.945304782250304, -1.4426542686794164e-06])
    psi = pars.mcp(grids.uniform(0.1, 3, center=0.0), 0.05)
    loss = Huber(A, target, M=1.0)
    x_star = np.array([0.09951308598435545, 0.09999999999998638])
    better = cvxpar.certificate(loss=loss, psi=psi, lam=1.0, x=x_star).objective
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cvxpar.reference(loss, psi, 1.0, None, time_limit=20)
    assert ref.status != "optimal" or ref.objective <= better + 1e-9 * (1 + abs(better))
    assert ref.bound is None or ref.bound <= better  # a proven lower bound, whatever the status


def test_a_huge_lam_with_a_walled_nonconvex_psi_gets_a_status_not_an_exception():
    """Found by the bridge shift fuzzer (tests/fuzz/test_fuzz_bridge_shift.py) through par(x + c), here in y = x + c."""
    A = np.array([[0.1257302210933933, -0.1321048632913019, 0.6404226504432821, 0.10490011715303971]])
    c = np.array([0.548, -0.921, -1.836, -1.934])
    target = np.array([-0.5244737312925097]) + A @ c
    psi = cvxpar.PAR.from_slopes(grids.uniform(1.0, 3, center=0.0), [0.7, 0.0, 0.0, np.inf], offset=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cvxpar.solve(cvxpar.losses.LeastSquares(A, target), psi, 1e300, tol=1e-8, max_iter=5000)
    assert res.status in cvxpar.result.STATUSES
    assert res.status not in ("optimal", "stationary")  # psi's left tail descends: F is unbounded below


def test_random_starts_for_bounds_outside_the_grid_range():
    """Found by the bridge shift fuzzer: a pinned Box at -9.2 (x = -5.55 shifted by c), psi's grid -4..4, a
    nonconvex psi with a descending right tail."""
    A = np.array([[0.1257302210933933, -0.1321048632913019, 0.6404226504432821]])
    target = np.array([-1.1455090930752072])
    psi = cvxpar.PAR.from_slopes(grids.uniform(1.0, 9, center=0.0), [0.0] * 9 + [-0.1], offset=0.0)
    pinned = np.full(3, -5.55476) + np.array([2.191, -3.683, -7.344])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cvxpar.solve(cvxpar.losses.LeastSquares(A, target), psi, 1.0,
                           constraints=cvxpar.constraints.Box(pinned, pinned), tol=1e-8, max_iter=5000)
    assert res.status in cvxpar.result.STATUSES
    assert res.status not in ("optimal", "stationary") or np.allclose(res.x, pinned)


def test_optimal_where_float64_cannot_show_the_residual_is_right_in_exact_arithmetic():
    """Found by test_fuzz_bridge (an l1 PAR, A = [[12346.7]]): the float64 gradient's rounding error (|a| ulp(a x),
    about 2e-8) exceeds tol = 1e-8 at every float x near the minimizer, so a float64 recomputation cannot confirm
    "optimal"; the certificate's doubled-precision tier does, and the exact rational residual agrees (the oracle's
    stationarity check now falls back to it)."""
    from fractions import Fraction

    a, t = 12346.701482631575, -17016.791023048885
    psi = cvxpar.pars.l1(grids.uniform(1.0, 3, center=0.0), eps=0.0)
    res = cvxpar.solve(cvxpar.losses.LeastSquares(np.array([[a]]), np.array([t])), psi, 1.0, tol=1e-8)
    assert res.status == "optimal" and res.x[0] < 0  # the l1 subgradient there is -1
    g = Fraction(a) * (Fraction(a) * Fraction(float(res.x[0])) - Fraction(t))
    assert abs(g - 1) <= Fraction(1, 10**8)


def test_oracle_multipliers_of_a_huge_lam_are_exact():
    """Found by the long form (test_bridge_with_parameters, session 13): lam = 1e300, psi = |x| near the active row
    2.041 x <= -1.557, zero loss.  x = -1.557 / 2.041 is optimal (the multiplier 1e300 / 2.041 cancels lam psi'
    = -1e300 exactly), but the oracle's stationarity LP put |b| = 1e300 into HiGHS (whose infinity is 1e20) and
    read 'no solution' as residual inf.  The LP now runs in units of its largest finite entry and its multipliers
    are polished by least squares on the active ends (any admissible multiplier bounds the residual above)."""
    from fuzz_oracles import References, check_result, stationarity
    from fuzz_problems import Case, PsiSpec

    psi = pars.l1(grids.uniform(1.0, 3, center=0.0), eps=0.0)
    G, h = np.array([[2.041]]), np.array([-1.556958828790865])
    case = Case("ls", np.array([[0.0]]), np.array([0.0]), PsiSpec("l1", "l1", psi), 1e300, "linear_ineq",
                {"A_ub": G, "b_ub": h})
    x = np.array([h[0] / G[0, 0]])
    assert stationarity(case, x) == (0.0, 1.0)
    assert stationarity(case, x - 1e-3)[0] > 1e299  # off the row (inactive): nothing balances psi's slope
    res = types.SimpleNamespace(status="optimal", x=x, objective=1e300 * abs(x[0]), info={})
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())


@found_open("prox ties objective differences below the float range (documented in cvxpar/prox.py: |D| < ~1e-308 with "
            "D = (f(c) - f(b)) / max(1, t)), then takes the smaller |x|")
def test_prox_of_a_flat_piece_keeps_a_subnormal_scale_v():
    """Found by the long form (test_prox_on_scaled_pars, session 13): psi = 0 on x <= 0, rising to 1e-6 on
    [0, 1e-6], flat after; prox(v, t) = v for every v <= 0 (psi(v) = 0, distance 0), but v = -1.05e-159 with
    t = 1e8 gives 0: f(0) - f(v) = v^2 / 2 = 5.5e-319, divided by t it underflows to 0 (a tie), and the tie goes to
    the smaller |x|.  The error is 1e-159 absolute in x (100 % relative); with t = 1 the prox is right."""
    check_prox(cvxpar.PAR([0.0, 1e-6], [0.0, 1e-6], 0.0, 0.0), np.array([-1.05096e-159]), 1e8)


def test_clarabel_unbounded_on_an_empty_set_is_read_as_infeasible():
    """Found by the long form (test_bridge_agrees_with_clarabel_on_boundedness, session 13): psi is +inf below 0 and
    descends above it, the Box pins x_1 at -0.337 (outside psi's domain): the problem is infeasible, the bridge said
    so, and Clarabel answered 'unbounded' (a problem both primal and dual infeasible gets either certificate), which
    the oracle took as the truth.  The oracle now asks an LP for a feasible point before it believes 'unbounded'."""
    from fuzz_oracles import clarabel_boundedness, independently_infeasible
    from fuzz_problems import Case, PsiSpec

    A = np.array([[0.509413, -1.585614, -0.368589, -0.013811, -1.252999, -0.754365, 0.043508]])
    psi = cvxpar.PAR.from_slopes(grids.uniform(0.25, 1, center=0.0), [-np.inf, -0.5], offset=0.0)
    lower = np.array([-1.600164, -0.337096, -np.inf, -np.inf, -1.558537, -1.656828, -np.inf])
    upper = np.array([0.243273, -0.337096, 0.772256, 0.586708, np.inf, 1.906109, np.inf])
    case = Case("smooth", A, np.array([-4.931584]), PsiSpec("from_slopes", "psi", psi), 1.0, "box_vec",
                {"lower": lower, "upper": upper})
    assert independently_infeasible(case) is True
    assert clarabel_boundedness(case) == "infeasible"
    res = cvxpar.solve(case.loss(), psi, 1.0, constraints=case.constraints(), max_iter=50)
    assert res.status == "infeasible"


def test_brute_force_reference_is_not_above_a_kink_minimum_of_1e_10():
    """Found by the new edge fuzzer (session 13, its float64 baseline): A = [[0.00123]], a sawtooth psi, the minimum
    1.71e-10 at the kink x = 3.  Clarabel's answer on the piece [2, 3] stayed ~1e-11 inside it, so the brute force's
    'global minimum' was 1.81e-10 and cvxpar's exact kink looked 'below the global minimum'.  The brute force now also
    scores its candidates snapped onto their pieces' ends (feasible points, so still upper bounds)."""
    from fuzz_oracles import References, brute_force_optimum, check_result
    from fuzz_problems import Case, PsiSpec

    psi = pars.sawtooth(grids.uniform(1.0, 15, center=0.0), slope=1.0)
    case = Case("ls", np.array([[0.0012301533574825742]]), np.array([0.0036719653362942864]),
                PsiSpec("sawtooth", "sawtooth", psi), 1.0, "none", {})
    f, x = brute_force_optimum(case, 1.7e-10)
    assert x[0] == 3.0 and f == pytest.approx(0.5 * (0.0012301533574825742 * 3 - 0.0036719653362942864) ** 2, rel=1e-12)
    res = cvxpar.solve(case.loss(), psi, 1.0, tol=1e-8)
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())


def test_unbounded_with_lam_1e_300_is_confirmed_by_the_null_space_program():
    """Found by the new edge fuzzer (session 13, its float64 baseline): psi(x) = x / 10, lam = 1e-300, A of one row:
    F falls at rate ~1e-301 along A's null space and cvxpar says 'unbounded', right, but evaluating F along the
    float direction cannot show it (the loss's rounding at x + t v is far above 1e-301 t).  The oracle now also
    accepts an LP certificate in exact terms (A v = 0, lam psi_inf(v) < 0, lam normalized); it still refuses
    'unbounded' where A has full column rank or the cone blocks every descending direction."""
    from fuzz_oracles import References, bounded_loss_ray_exists, check_result
    from fuzz_problems import Case, PsiSpec

    psi = cvxpar.PAR.from_pieces([0.1, 0.1, 0.1, 0.1], [0.0, 0.0, 0.0, 0.0])
    A, t = np.array([[0.1257302210933933, -0.1321048632913019]]), np.array([0.05942209919456138])
    case = Case("ls", A, t, PsiSpec("from_pieces", "psi", psi), 1e-300, "none", {})
    res = cvxpar.solve(case.loss(), psi, 1e-300, max_iter=100)
    assert res.status == "unbounded"
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())
    assert not bounded_loss_ray_exists(Case("ls", np.eye(2), np.zeros(2), case.psi_spec, 1e-300, "none", {}))
    assert not bounded_loss_ray_exists(Case("ls", A, t, case.psi_spec, 1e-300, "nonneg", {}))


def test_float32_data_keeps_x_inside_the_float64_bounds():
    """Found by the new layout fuzzer (session 13): with float32 A and target the iterates are float32 and are
    clipped to float32(bound): x[0] = -26.2427826 above the upper bound -26.242783 (4e-7, 1.5e-8 of the bound),
    'optimal' because the certificate's infeasibility is relative to ||x||_inf = 66.  The float64 answer sits on the
    bound exactly.  Fixed: the solvers clip to the bounds as given (float64 on NumPy: ``Problem.lb``/``ub``; the
    losses' gradients are float64 there anyway) and the certificate checks them as given
    (``FeasibleSet.bounds_like``): x lands on -26.242783 and certifies."""
    A = np.array([[-1.103338449065532, -0.7250246402444398]], dtype=np.float32)
    t = np.array([-20.43656066561371], dtype=np.float32)
    box = cvxpar.constraints.Box(np.array([-27.294256, -np.inf]), np.array([-26.242783, np.inf]))
    res = cvxpar.solve(cvxpar.losses.LeastSquares(A, t), pars.l1(grids.uniform(3.16228, 15, center=0.0), eps=0.0),
                       1.0, constraints=box)
    x = np.asarray(res.x, dtype=np.float64)
    assert res.status != "optimal" or (x[0] >= -27.294256 and x[0] <= -26.242783)


@found_open("ssnal/alm and admm take steps up to 1e7 / L with L floored at 1e-300 for a zero loss (A = 0): "
            "step * lam overflows to inf and the prox refuses t = inf (ssnal._next_sigma, admm's t_polish)")
def test_a_zero_loss_with_rows_and_a_huge_lam_gets_a_status_not_a_prox_error():
    """Found while checking a long-form case (session 13): LeastSquares with A = [[0]], psi = |x|, lam = 1e100, the
    row 2.041 x <= -1.557.  The minimizer is x = -1.557 / 2.041 (the bridge, whose zero loss is a linear term,
    certifies it); cvxpar.solve raises 't must be a finite nonnegative number; got inf' from inside the prox."""
    psi = pars.l1(grids.uniform(1.0, 3, center=0.0), eps=0.0)
    rows = cvxpar.constraints.Linear(A_ub=np.array([[2.041]]), b_ub=np.array([-1.556958828790865]))
    res = cvxpar.solve(cvxpar.losses.LeastSquares(np.array([[0.0]]), np.zeros(1)), psi, 1e100, constraints=rows)
    assert res.status in cvxpar.result.STATUSES
    assert res.status != "optimal" or abs(res.x[0] + 1.556958828790865 / 2.041) <= 1e-8


def test_unbounded_with_lam_1e_300_and_a_concave_recession_is_confirmed():
    """The long form's next case (session 13): psi descends to the left only (slopes 0.1, then 0: s_- > s_+, a
    concave psi_inf), lam = 1e-300; the oracle's LP now enumerates v's sign pattern there."""
    from fuzz_oracles import References, bounded_loss_ray_exists, check_result
    from fuzz_problems import Case, PsiSpec

    psi = cvxpar.PAR.from_slopes(grids.uniform(1.0, 15, center=0.0), [0.1] + [0.0] * 15, offset=0.0)
    A, t = np.array([[0.1257302210933933, -0.1321048632913019]]), np.array([0.8941001766313335])
    case = Case("ls", A, t, PsiSpec("from_slopes", "psi", psi), 1e-300, "none", {})
    res = cvxpar.solve(case.loss(), psi, 1e-300, max_iter=100)
    assert res.status == "unbounded"
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())
    assert not bounded_loss_ray_exists(Case("ls", A, t, case.psi_spec, 1e-300, "nonneg", {}))  # psi rises to the right


def _almost_empty_case():
    from fuzz_problems import Case, PsiSpec

    A = np.array([[-1.3458442230154378e-05, 5.904256902391952e-07, -1.8416859385104344e-05, -6.097537325312033e-06,
                   4.017302836096954e-06],
                  [-1.5084295508816573e-05, -5.047094982116778e-06, -1.8070609173578366e-05, -1.199760680149845e-05,
                   -7.521094786030584e-06],
                  [7.952542342137833e-06, -1.2526783045222596e-05, 1.8576707663832596e-05, -1.0648925395954752e-05,
                   -1.5438192909338857e-05]])
    target = np.array([-7.842058844209175e-05, -1.8608273686309952e-05, 2.344819695529308e-05])
    psi = cvxpar.PAR.from_slopes(grids.uniform(1.0, 5, center=0.0), [-np.inf, -1.5, -1.5, -0.4, -0.1, np.inf], offset=-2.0)
    G = np.array([[0.051, -0.239, 0.373, -0.502, -0.487], [1.049, -0.863, 0.092, 0.919, 0.545],
                  [1.049, -0.863, 0.092, 0.919, 0.545]])
    h = np.array([1.5121146626860906, 2.386910612761488, 2.386910612761488 + 1e-10 * (1 + 2.386910612761488)])
    return Case("ls", A, target, PsiSpec("from_slopes", "psi", psi), 1.0, "linear_eq", {"A_eq": G, "b_eq": h})


def test_clarabel_optimal_outside_an_almost_empty_set_is_no_reference():
    """Found by the long form of the new edge fuzzer (session 13): a row repeated with its side moved by 1e-10
    (relative).  admm's 'optimal' x is tol-feasible (row violation 1e-10) with the objective of the problem without
    the repeat (Clarabel's too there); Clarabel on the three rows answered OPTIMAL at x = [2, -2, 2, 2, 2], 4.5 off
    the rows, objective -9 (the fuzzer's case had eight samples; three keep the class): the oracle took it as the optimum and called admm's answer not optimal.  A
    Clarabel point off the rows by more than 1e-6 of their terms is now no reference."""
    from fuzz_oracles import References, check_result, clarabel_optimum

    case = _almost_empty_case()
    assert clarabel_optimum(case, 8.4) is None
    res = cvxpar.solve(case.loss(), case.psi, 1.0, constraints=case.constraints(), method="admm", tol=1e-8,
                       max_iter=3000)
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())
    two = dataclasses.replace(case, cons_data={k: v[:2] for k, v in case.cons_data.items()})
    assert res.status == "optimal" and clarabel_optimum(two, 8.4)[0] == pytest.approx(res.objective, rel=1e-7)


def test_an_exact_fit_is_not_below_the_brute_force_minimum_by_rounding():
    """Found by the long form of the new edge fuzzer (session 13): lam = 0, an exact least-squares fit; cvxpar's
    objective 2.9e-26 and the brute force's 5.5e-26 are both the rounding of 1/2 ||A x - t||^2 at |A| |x| ~ 1e3.
    The below-global-minimum test now allows both evaluations' rounding (fuzz_oracles.loss_rounding)."""
    from fuzz_oracles import References, check_result
    from fuzz_problems import Case, PsiSpec

    A = np.array([[-1018.5309804398228, -36.6037479023773, -487.10578643240973],
                  [571.0885292293987, -55.275081325003164, 609.0885580365078],
                  [-368.4867860332816, 590.0619414630348, -434.28746435197013],
                  [-50.138493802424364, -130.6955941089703, -344.1730940967267]])
    target = np.array([1258.5727568665454, -1088.236769542832, 1401.417091643477, 185.87543588642538])
    psi = cvxpar.PAR([0.0], [0.0], 0.0, -0.001)
    case = Case("ls", A, target, PsiSpec("edge", "psi", psi), 0.0, "none", {})
    res = cvxpar.solve(case.loss(), psi, 0.0, tol=1e-8)
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())


def test_oracle_references_for_a_steep_one_breakpoint_psi():
    """Found by the long form of the new edge fuzzer (session 13), two oracle errors on psi with one breakpoint:
    (1) psi = +inf below 0, slope -0.001 above, lam = 1e-300: F is unbounded along v = (0.1321, 0.1257) >= 0 with
    A v = 0, but the bounded-loss LP took the walled side's slope as 0, so max(s_+ v, 0) = 0 hid the descent;
    (2) psi = 0 below 0, slope -1e8 above, lam = 1: the minimizer x = 6.3e9 (objective -3.2e17) lies beyond the
    brute force's stand-in bound 1e6 of the unbounded piece, whose 'global minimum' -1e14 was then wrong."""
    from fuzz_oracles import References, bounded_loss_ray_exists, brute_force_optimum, check_result
    from fuzz_problems import Case, PsiSpec

    walled = cvxpar.PAR([0.0], [0.0], -np.inf, -0.001)
    A = np.array([[0.1257302210933933, -0.1321048632913019]])
    case = Case("ls", A, np.array([0.182523640301346]), PsiSpec("edge", "psi", walled), 1e-300, "none", {})
    assert bounded_loss_ray_exists(case)
    res = cvxpar.solve(case.loss(), walled, 1e-300, max_iter=100)
    assert res.status == "unbounded"
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())
    steep = cvxpar.PAR([0.0], [0.0], 0.0, -1e8)
    case = Case("ls", A[:, :1], np.array([0.061465355207836095]), PsiSpec("edge", "psi", steep), 1.0, "none", {})
    assert brute_force_optimum(case, 3e17) is None
    res = cvxpar.solve(case.loss(), steep, 1.0, tol=1e-8)
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())
    steeper = dataclasses.replace(case, psi_spec=PsiSpec("edge", "psi", cvxpar.PAR([0.0], [0.0], 0.0, -1e12)))
    assert brute_force_optimum(steeper, 3e25) is None  # Clarabel stopped at 998550, 1.5e-3 short of the bound 1e6


def test_admm_overflow_is_diverged_not_a_scipy_error():
    """Found by the long form of the new edge fuzzer (session 13): lam = 1e300 and a tail slope -1e8 (lam * slope
    ~ -1e308) overflow ADMM's iterates, and scipy's cho_solve raised 'array must not contain infs or NaNs' out of
    cvxpar.solve.  The solve now skips scipy's finiteness check and ADMM's own test reports 'diverged'."""
    from fuzz_oracles import References, check_result
    from fuzz_problems import Case, PsiSpec

    psi = cvxpar.PAR([0.0], [0.0], 0.0, -1e8)
    case = Case("ls", np.array([[0.1257302210933933]]), np.array([0.061465355207836095]), PsiSpec("edge", "psi", psi),
                1e300, "none", {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = cvxpar.solve(case.loss(), psi, 1e300, method="admm", max_iter=3000)
        assert res.status == "diverged"
        check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())


def test_unbounded_with_lam_1e300_beside_a_growing_logistic_loss_is_confirmed():
    """Found by run 3 of the long form (session 13): psi(x) = 1.8 x, lam = 1e300, a logistic loss that grows along
    v = -1 at rate 0.126 while lam psi falls at 1.8e300: 'unbounded' is right, but F overflows along the ray and the
    loss is not bounded along any descending direction.  The oracle's LP now also takes the loss's recession function
    (in units of max lam) and checks its direction in float64; a problem where the loss's growth wins stays refused."""
    from fuzz_oracles import References, bounded_loss_ray_exists, check_result
    from fuzz_problems import Case, PsiSpec

    psi = cvxpar.PAR.from_pieces([1.8], [0.0])
    case = Case("logistic", np.array([[0.1257302210933933]]), np.array([1.0]), PsiSpec("from_pieces", "psi", psi),
                1e300, "none", {})
    res = cvxpar.solve(case.loss(), psi, 1e300, max_iter=100)
    assert res.status == "unbounded"
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())
    grows = dataclasses.replace(case, A=np.array([[1e9]]), lam=1.0)  # falls at 1.8, the loss grows at 1e9 along v = -1
    assert not bounded_loss_ray_exists(grows)
    assert cvxpar.solve(grows.loss(), psi, 1.0, max_iter=100).status != "unbounded"


def test_float32_data_solves_the_users_float64_lam():
    """Found by run 3 of the long form (session 13): float32 A and target, lam = 31.6228 as a float64 array: the
    solve takes lam as float32 (31.62280083, cvxpar._validation.as_lam gives lam the data's dtype), certifies that
    problem ('residual of the exact gradient at most 5e-14') and says 'optimal', while for the lam the user gave the
    exact gradient's residual is 4.1e-7 > tol * scale = 1.6e-7.  Fixed: the certificate takes lam in float64 as given
    (``as_lam(..., exact=True)``: ``Problem.lam_exact``, ``cvxpar.certificate``); hand-checked with rational
    arithmetic below."""
    from fractions import Fraction

    psi = pars.ridge(grids.uniform(1.0, 15, center=0.0), box=False)
    A = np.array([[2.0409191213851825], [-2.5556650313141818]], dtype=np.float32)
    t = np.array([3.0350259779232496, -3.8004983537241754], dtype=np.float32)
    res = cvxpar.solve(cvxpar.losses.LeastSquares(A, t), psi, np.array([31.6228]))
    x = float(np.asarray(res.x)[0])
    slope = float(psi.subdifferential(np.array([x]))[0][0])  # psi is differentiable there
    g = sum(Fraction(float(a)) * (Fraction(float(a)) * Fraction(x) - Fraction(float(b))) for a, b in zip(A[:, 0], t, strict=True))
    residual = abs(float(g + Fraction(31.6228) * Fraction(slope)))
    assert res.status != "optimal" or residual <= 1e-8 * max(1.0, abs(float(g)))


def test_a_row_that_pins_x_an_ulp_past_psis_wall_is_read_on_the_wall():
    """Found by the long form of the edge fuzzer (session 13): the row -0.604 x = 4.026666868 pins x at
    -6.666667000000001, one ulp below psi's wall -6.666667; admm's 'optimal' x is 4 ulps below it (feasible to tol,
    its ratio 4.6e-16) with a finite objective, which the oracle evaluated as +inf ('objective-not-finite').  The
    oracle now reads a tol-feasible x past a wall on the wall, as the certificate does."""
    from fuzz_oracles import References, check_result
    from fuzz_problems import Case, PsiSpec

    A = np.array([[-0.311264046177446], [2.495707768092053], [-0.7694926849289645], [0.49269216585717673],
                  [0.42297532273910726], [0.21911294896624375], [0.6099587011158686], [0.23849440835911465],
                  [-0.011190535618957043]])
    t = np.array([0.28568012250130975, -1.4152230281629028, 0.5377875203731325, -0.49883890640504835,
                  -0.14534509207462942, -0.24435089080735556, -0.14259939509583688, -0.2675679172272063,
                  -0.15393985863759665])
    psi = pars.ridge(grids.uniform(1.0, 15, center=0.333333), box=True)
    G, h = np.array([[-0.604], [-0.604]]), np.array([4.026666868, 4.026666868])
    case = Case("ls", A, t, PsiSpec("ridge", "psi", psi), 0.1, "linear_eq", {"A_eq": G, "b_eq": h})
    res = cvxpar.solve(case.loss(), psi, 0.1, constraints=case.constraints(), method="admm", max_iter=3000)
    assert res.x[0] < psi.domain[0] or res.status != "optimal"
    check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())


@pytest.mark.parametrize("a, c", [([-3.0, -1.2, -0.3, 2.9], [-1.7, 0.7, 1.9, 0.5]),
                                  ([-1.2, -1.1, 0.7, 1.0, 2.2], [0.1, 1.2, -0.4, -0.2, -1.0]),
                                  ([-2.7, -1.4, -0.3, 0.1, 0.9], [0.2, 1.5, 1.5, 0.8, -0.6])])
def test_from_pieces_with_three_pieces_through_one_point(a, c):
    """Found by the long form (session 13, the strategy's own from_pieces draws): decimal pieces of which three
    cross at one point (in exact arithmetic) made PAR.from_pieces raise 'breakpoints must be strictly increasing':
    the hull test's float products kept the middle piece, whose two crossings then rounded equal.  It now drops a
    piece that is the max on an empty interval; the PAR is the max of the pieces (checked on a grid)."""
    psi = cvxpar.PAR.from_pieces(a, c)
    x = np.linspace(-15.0, 15.0, 3001)
    np.testing.assert_allclose(psi(x), np.max(np.outer(x, a) + np.asarray(c), axis=1), rtol=0, atol=1e-13)


def test_oracle_stationarity_keeps_its_resolution_beside_a_slope_of_1e12():
    """Found by the long form of the edge fuzzer (session 13): psi walled above 0 with slope -1e12 below, lam = (1,
    0, 0), one row; cvxpar's 'optimal' x = (0, -14.95, 0) is stationary (hand-checked: the row's multiplier
    -23.55 balances coordinate 1, coordinate 2 sits on the wall with the right sign, coordinate 0's subdifferential
    is [-1e12, inf)), but the oracle's stationarity LP ran in units of 1e12 (the fix for lam = 1e300) and lost the
    gradient's O(1) entries: residual 4.04.  The units now only keep every end below 1e12."""
    from fuzz_oracles import stationarity
    from fuzz_problems import Case, PsiSpec

    psi = cvxpar.PAR([0.0], [0.0], -1e12, np.inf)
    A, t = np.array([[0.18905338179353307, -0.5227484414807474, -0.41306354339189344]]), np.array([-0.06783153702728746])
    G, h = np.array([[-0.652, -0.175, 1.664]]), np.array([2.6161139663087485])
    case = Case("ls", A, t, PsiSpec("edge", "psi", psi), np.array([1.0, 0.0, 0.0]), "linear_eq", {"A_eq": G, "b_eq": h})
    x = np.array([0.0, h[0] / G[0, 1], 0.0])
    residual, scale = stationarity(case, x)
    assert residual <= 1e-8 * scale


def test_unbounded_with_a_concave_recession_beside_a_growing_huber_loss_is_confirmed():
    """Found by the long form of the edge fuzzer (session 13): psi flat left of 0 and slope -1e8 right of it (s_- >
    s_+), lam = 1e300, a Huber loss growing at 0.126 along v = +1: 'unbounded' is right; the oracle's sign-pattern
    LPs now also take the loss's recession function."""
    from fuzz_oracles import References, bounded_loss_ray_exists, check_result
    from fuzz_problems import Case, PsiSpec

    psi = cvxpar.PAR([0.0], [0.0], 0.0, -1e8)
    case = Case("huber", np.array([[0.1257302210933933]]), np.array([0.061465355207836095]),
                PsiSpec("edge", "psi", psi), 1e300, "none", {})
    assert bounded_loss_ray_exists(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = cvxpar.solve(case.loss(), psi, 1e300, max_iter=100)
        assert res.status == "unbounded"
        check_result(case, res, 1e-8, References(case), case.loss(), case.constraints())
