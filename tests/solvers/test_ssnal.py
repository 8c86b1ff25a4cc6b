"""ssnal internals: the Newton direction through the cached A A^T, and through the incrementally
updated A_J A_J^T (FreeGram, both its n x n and Woodbury forms, with a damping shift), equals the
direct one; the line search's phi (from A^T u, without a product with A) equals phi from its
definition; FreeGram's A z update and ||A||^2 estimate match direct computations; the damping
rule; truncated inner solves are rejected rather than accepted when they make things worse; and every
linear-model loss (Logistic, Huber, and user losses written only against the public contract) solved
by ssnal's proximal Newton path to a certified optimum that matches CVXPY + Clarabel on its cvxpy(z)
form (tests/user_losses.py writes that CVXPY model)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from exact_arithmetic import exact_gradient, exact_residual
from solver_reference import reference_objective
from user_losses import clarabel_objective

import cvxpar
from cvxpar.losses import LeastSquares
from cvxpar.solvers import ssnal
from cvxpar.solvers._gram import FreeGram, cholesky_solve
from cvxpar.solvers._problem import Problem

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _problem(n=15, d=60, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = rng.standard_normal(n)
    return Problem(LeastSquares(sp.csc_array(A) if sparse else A, b), PSI, 0.3), A, b


def test_newton_direction_downdate_matches_direct():
    """Few fixed coordinates (2|J| > d): (I + sigma (A A^T - A_K A_K^T)) du = -g is the direct system."""
    prob, A, b = _problem()
    rng = np.random.default_rng(1)
    z = 2.0 * rng.standard_normal(60)
    z[:5] = 0.5  # on breakpoints: fixed
    grad = rng.standard_normal(15)
    sigma = 0.7
    J = ~np.asarray(prob.fixed(z))
    assert 15 <= J.sum() and 2 * J.sum() > 60
    du = ssnal._newton_direction(prob, z, grad, sigma, ssnal._Gram(prob.loss.op))
    AJ = A[:, J]
    want = np.linalg.solve(np.eye(15) + sigma * AJ @ AJ.T, -grad)
    np.testing.assert_allclose(du, want, rtol=1e-10, atol=1e-12)
    sprob, _, _ = _problem(sparse=True)  # sparse A: the direct product
    np.testing.assert_allclose(ssnal._newton_direction(sprob, z, grad, sigma, ssnal._Gram(sprob.loss.op)), want,
                               rtol=1e-10, atol=1e-12)


def test_phi_from_atu_matches_the_definition():
    """phi(u) = 1/2||u||^2 + b^T u + ||w||^2/(2 sigma) - p(z) - ||z - w||^2/(2 sigma) - ||x||^2/(2 sigma)."""
    prob, A, b = _problem(seed=3)
    rng = np.random.default_rng(4)
    x, u, sigma = rng.standard_normal(60), rng.standard_normal(15), 0.4
    val, z = ssnal._phi(prob, x, u, A.T @ u, sigma)
    w = x - sigma * A.T @ u
    np.testing.assert_allclose(z, prob.prox(w, sigma))
    want = (0.5 * u @ u + b @ u + w @ w / (2 * sigma) - prob.penalty(z) - (z - w) @ (z - w) / (2 * sigma)
            - x @ x / (2 * sigma))
    assert abs(val - want) <= 1e-10 * max(1.0, abs(want))


@pytest.mark.parametrize("seed", range(8))
def test_ray_search_minimizes_phi_along_the_newton_direction_against_a_dense_scan(seed):
    """The step of _ray_search against phi evaluated on 4001 points of [0, 1] along du (the definition,
    through _phi): its value is within RAY_RTOL's share of the decrease of the scan's best, it satisfies
    Armijo's condition, and it is the full step exactly when phi still decreases at alpha = 1."""
    prob, A, b = _problem(seed=seed)
    rng = np.random.default_rng(10 + seed)
    x, u = rng.standard_normal(60), rng.standard_normal(15)
    sigma = [0.05, 0.5, 5.0][seed % 3]
    atu = A.T @ u
    val, z = ssnal._phi(prob, x, u, atu, sigma)
    grad = u + b - A @ z
    # the Newton direction, and one three times as long (its minimum along the ray then lies inside [0, 1])
    du = [1.0, 3.0][seed % 2] * ssnal._newton_direction(prob, z, grad, sigma, FreeGram(A))
    alpha, du, atdu, (u_t, atu_t, val_t, z_t) = ssnal._ray_search(prob, x, sigma, u, atu, val, grad, du)
    np.testing.assert_allclose(atdu, A.T @ du, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(atu_t, A.T @ u_t, rtol=1e-10, atol=1e-10)
    # phi's value is left out (None) where phi' alone proves Armijo's condition: the definition decides below
    fresh, z_fresh = ssnal._phi(prob, x, u_t, atu_t, sigma)
    np.testing.assert_array_equal(z_t, z_fresh)
    assert val_t is None or val_t == fresh
    val_t = fresh
    # without phi(u) (the previous step left it out) the same step comes back
    again = ssnal._ray_search(prob, x, sigma, u, atu, None, grad, du)
    assert again[0] == alpha
    scan = np.linspace(0.0, 1.0, 4001)
    values = np.array([ssnal._phi(prob, x, u + a * du, atu + a * atdu, sigma)[0] for a in scan])
    slope = float(grad @ du)
    assert val_t <= val + ssnal.ARMIJO * alpha * slope + 1e-12 * abs(val)
    best = values.min()
    assert val_t - best <= ssnal.RAY_RTOL * (val - best) + 1e-12 * abs(val)
    assert (alpha == 1.0) == (values[-1] <= values[-2])


def test_newton_direction_through_free_gram_matches_direct_along_a_sequence_of_splits():
    """FreeGram updates A_J A_J^T by the columns entering and leaving J; each direction equals the
    direct solve, through fresh starts (2|J| > d and 2|J| <= d) and chains of updates."""
    n, d = 15, 60
    prob, A, b = _problem(n=n, d=d, seed=5)
    gram = FreeGram(A)
    rng = np.random.default_rng(6)
    grad = rng.standard_normal(n)
    z = 2.0 * rng.standard_normal(d)
    for step, n_fixed in enumerate([3, 5, 8, 30, 33, 29, 45, 44, 5]):
        zz = z.copy()
        zz[rng.permutation(d)[:n_fixed]] = 0.5  # on a breakpoint: fixed
        sigma = 0.3 + step
        J = ~np.asarray(prob.fixed(zz))
        AJ = A[:, J]
        want = np.linalg.solve(np.eye(n) + sigma * AJ @ AJ.T, -grad)
        got = ssnal._newton_direction(prob, zz, grad, sigma, gram)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(gram(J), AJ @ AJ.T, rtol=1e-12, atol=1e-10)


def test_free_gram_solve_matches_direct_in_both_forms_through_long_update_chains():
    """(shift I + sigma A_J A_J^T)^-1 r from FreeGram.solve equals a dense solve for free sets from 1 to d
    columns (small ones take the Woodbury form, large ones the updated n x n Gram), with shifts != 1,
    along a chain long enough to pass the refresh of the updated Gram; the Gram stays exact to rounding."""
    import cvxpar.solvers._gram as fg

    n, d = 40, 160
    rng = np.random.default_rng(11)
    A = rng.standard_normal((n, d))
    gram = FreeGram(A)
    forms = set()
    mask = rng.random(d) < 0.5
    for step in range(60):
        flip = rng.permutation(d)[: rng.integers(1, 12)]
        mask[flip] = ~mask[flip]
        if step % 15 == 7:  # a small free set: the Woodbury form
            mask = np.zeros(d, dtype=bool)
            mask[rng.permutation(d)[: rng.integers(1, 12)]] = True
        k = int(mask.sum())
        forms.add("woodbury" if n**3 / 3 > k * k * n / 2 + k**3 / 3 else "gram")
        sigma, shift, r = rng.uniform(0.1, 50.0), rng.uniform(1.0, 30.0), rng.standard_normal(n)
        AJ = A[:, mask]
        want = np.linalg.solve(shift * np.eye(n) + sigma * AJ @ AJ.T, r)
        np.testing.assert_allclose(gram.solve(mask, sigma, shift, r), want, rtol=1e-8, atol=1e-10)
    assert forms == {"woodbury", "gram"}
    mask[: n + 10] = True  # a large free set (the n x n form): a repeated solve reuses the factor, a new sigma does not
    first = gram.solve(mask, 2.0, 3.0, r)
    assert gram._factored == (gram._version, 2.0, 3.0, None)
    np.testing.assert_allclose(gram.solve(mask, 2.0, 3.0, 2 * r), 2 * first, rtol=1e-12)
    want = np.linalg.solve(3.0 * np.eye(n) + 5.0 * A[:, mask] @ A[:, mask].T, r)
    np.testing.assert_allclose(gram.solve(mask, 5.0, 3.0, r), want, rtol=1e-8, atol=1e-10)
    assert gram._drift > 0 and gram._drift < fg.REFRESH * max(1, int(gram._mask.sum()))
    np.testing.assert_allclose(gram(mask), A[:, mask] @ A[:, mask].T, rtol=1e-12, atol=1e-9)


def test_free_gram_newton_product_matches_the_direct_product():
    """A z_new through A_J A_J^T du (the free coordinates that stay in their windows move by c (A^T du)_i)
    plus the columns that moved otherwise equals A @ z_new; with a Gram for another J it falls back."""
    rng = np.random.default_rng(12)
    n, d = 30, 200
    A = rng.standard_normal((n, d))
    gram = FreeGram(A)
    free = rng.random(d) < 0.4
    gram.solve(free, 2.0, 1.0, rng.standard_normal(n))  # the kept Gram is now A_J A_J^T
    z, du, c = rng.standard_normal(d), rng.standard_normal(n), -0.37
    atdu = A.T @ du
    z_new = z.copy()
    z_new[free] += c * atdu[free]
    stay = free.copy()
    crossed = np.flatnonzero(free)[:4]
    stay[crossed] = False
    z_new[crossed] = rng.standard_normal(4)  # free coordinates that crossed a kink
    left = np.flatnonzero(~free)[:3]
    z_new[left] += 0.5  # fixed coordinates that left their plateau
    np.testing.assert_allclose(gram.newton_product(A @ z, z, z_new, free, stay, du, atdu, c), A @ z_new,
                               rtol=1e-12, atol=1e-11)
    other = free.copy()
    other[np.flatnonzero(~free)[0]] = True  # not the kept Gram's J: the column-update fallback
    np.testing.assert_allclose(gram.newton_product(A @ z, z, z_new, other, stay & other, du, atdu, c), A @ z_new,
                               rtol=1e-12, atol=1e-11)


def test_damping_raises_the_shift_after_short_steps_and_relaxes_it_after_full_ones():
    assert ssnal._damping(1.0, 1.0) == 1.0  # the plain Newton matrix is the floor
    assert ssnal._damping(100.0, 1.0) == 100.0 / ssnal.DAMP_DOWN
    assert ssnal._damping(5.0, 0.5) == 5.0  # a moderate step leaves it
    np.testing.assert_allclose(ssnal._damping(2.0, 1e-4), 2.0 * 1e-4 ** -ssnal.DAMP_POWER)


def test_truncated_inner_solves_are_rejected_and_the_run_still_certifies(monkeypatch, capsys):
    """With at most 2 Newton steps per proximal step the inner solves stop short; a stalled step that
    is worse than the current point must be rejected (sigma reduced), never accepted: accepting them
    diverged (objective 1e19 after 2000 steps at 100 x 1000).  The run ends certified at the optimum."""
    from cvxpar.bench.solver_speed import problem

    loss, psi, lam = problem(60, 600, seed=2)
    ref = cvxpar.solve(loss, psi, lam, method="ssnal")
    monkeypatch.setattr(ssnal, "INNER_MAX", 2)
    res = cvxpar.solve(loss, psi, lam, method="ssnal", verbose=True, max_iter=2000)
    assert "step rejected" in capsys.readouterr().out
    assert res.status == "optimal"
    assert abs(res.objective - ref.objective) <= 1e-9 * abs(ref.objective)


def test_free_gram_product_update_and_norm():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((20, 90))
    gram = FreeGram(A)
    z = rng.standard_normal(90)
    z2 = z.copy()
    z2[[3, 17, 40]] += [1.0, -2.0, 0.5]  # few changes: the column update
    np.testing.assert_allclose(gram.update_product(A @ z, z, z2), A @ z2, rtol=1e-12, atol=1e-12)
    z3 = rng.standard_normal(90)  # most entries change: the direct product
    np.testing.assert_allclose(gram.update_product(A @ z, z, z3), A @ z3, rtol=1e-12, atol=1e-12)
    true = np.linalg.norm(A, 2) ** 2
    assert true <= gram.norm2_squared() <= 1.06 * true


def test_cholesky_solve_solves_and_reports_indefinite():
    rng = np.random.default_rng(8)
    B = rng.standard_normal((12, 12))
    M = B @ B.T + np.eye(12)
    r = rng.standard_normal(12)
    np.testing.assert_allclose(cholesky_solve(M, r), np.linalg.solve(M, r), rtol=1e-10)
    assert cholesky_solve(-M, r) is None


def test_polish_acceptance_compares_residuals_only_within_objective_rounding():
    """A step is better if its objective is lower, or equal to within OBJECTIVE_NOISE (relative) with a
    smaller residual; a higher objective beyond rounding is never accepted, whatever the residual."""
    from cvxpar.certificate import Certificate
    from cvxpar.solvers.polish import OBJECTIVE_NOISE, _better

    def cert(obj, res):
        return Certificate(objective=obj, residual=res, gap=None, quantization_rate=0.9,
                           infeasibility=0.0, scale=1.0)

    old = cert(230.0, 1e-6)
    assert _better(cert(229.0, 1.0), old)
    assert _better(cert(230.0 + 0.5 * OBJECTIVE_NOISE * 230.0, 1e-9), old)
    assert not _better(cert(230.0 + 0.5 * OBJECTIVE_NOISE * 230.0, 1e-5), old)
    assert not _better(cert(230.0 + 10 * OBJECTIVE_NOISE * 230.0, 1e-12), old)


def test_free_gram_scaled_solve_matches_direct_in_both_forms():
    """(shift I + sigma S A_J A_J^T S) du = r with S = diag(sqrt h''): the generalized Newton matrix of a
    non-quadratic loss, in the n x n form (kept Gram, scaled) and the Woodbury form, and the factor is
    not reused for another scale."""
    n, d = 30, 90
    rng = np.random.default_rng(5)
    A = rng.standard_normal((n, d))
    gram = FreeGram(A)
    r = rng.standard_normal(n)
    for k in (4, 60):
        mask = np.zeros(d, dtype=bool)
        mask[rng.permutation(d)[:k]] = True
        for scale in (rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 0.5, n)):
            S = np.diag(scale)
            want = np.linalg.solve(2.0 * np.eye(n) + 3.0 * S @ A[:, mask] @ A[:, mask].T @ S, r)
            np.testing.assert_allclose(gram.solve(mask, 3.0, 2.0, r, scale=scale), want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind", ["logistic", "huber", "squared_hinge", "poisson"])
@pytest.mark.parametrize("psi", ["l1grid", "ridge"])
@pytest.mark.parametrize("box", [None, (-0.4, 0.5)])
@pytest.mark.parametrize("shape", [(40, 25), (20, 60)], ids=["tall", "wide"])
def test_ssnal_any_linear_model_loss_certified_and_matches_clarabel(kind, psi, box, shape):
    from test_cd import make_loss

    grid = cvxpar.grids.uniform(0.25, 7)
    par = cvxpar.pars.l1(grid) if psi == "l1grid" else cvxpar.pars.ridge(grid)
    loss = make_loss(kind, *shape)
    res = cvxpar.solve(loss, par, 2.0, constraints=None if box is None else cvxpar.constraints.Box(*box),
                       method="ssnal", tol=1e-9)
    ref = clarabel_objective(loss, par, 2.0, box)
    assert res.status == "optimal", res
    assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)


@pytest.mark.parametrize("sparse", [False, True])
def test_ssnal_newton_path_direction_uses_the_generalized_hessian(sparse):
    """The scaled Newton direction through every Gram path equals (I + sigma S A_J A_J^T S)^-1 (-g)."""
    prob, A, _ = _problem(n=15, d=60, seed=2, sparse=sparse)
    rng = np.random.default_rng(9)
    z = 2.0 * rng.standard_normal(60)
    z[:40] = 0.5  # many fixed: |J| < n, the Woodbury form on the non-FreeGram path
    grad, S = rng.standard_normal(15), rng.uniform(0.0, 1.0, 15)
    J = ~np.asarray(prob.fixed(z))
    want = np.linalg.solve(np.eye(15) + 0.7 * np.diag(S) @ A[:, J] @ A[:, J].T @ np.diag(S), -grad)
    gram = ssnal._Gram(prob.loss.op)
    np.testing.assert_allclose(ssnal._newton_direction(prob, z, grad, 0.7, gram, scale=S), want, rtol=1e-9, atol=1e-11)
    z[:40] = 2.0 * rng.standard_normal(40)  # few fixed: the n x n form
    J = ~np.asarray(prob.fixed(z))
    want = np.linalg.solve(np.eye(15) + 0.7 * np.diag(S) @ A[:, J] @ A[:, J].T @ np.diag(S), -grad)
    np.testing.assert_allclose(ssnal._newton_direction(prob, z, grad, 0.7, gram, scale=S), want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("loss_kind", ["least squares", "logistic", "huber"])
@pytest.mark.parametrize("shape", [(30, 10), (20, 60)], ids=["tall", "wide"])
def test_small_problems_certify_on_the_direct_newton_route_and_match_clarabel(loss_kind, shape):
    rng = np.random.default_rng(7)
    n, d = shape
    A = rng.standard_normal((n, d))
    grid = cvxpar.grids.uniform(0.5, 7)
    z = A @ rng.choice(grid, d)
    if loss_kind == "least squares":
        loss = LeastSquares(A, z + 0.1 * rng.standard_normal(n))
    elif loss_kind == "logistic":
        loss = cvxpar.losses.Logistic(A, np.where(z + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0))
    else:
        loss = cvxpar.losses.Huber(A, z + 0.1 * rng.standard_normal(n))
    psi, box = cvxpar.pars.ridge(grid), (-1.0, 1.0)
    res = cvxpar.solve(loss, psi, 0.05 * n, cvxpar.constraints.Box(*box), method="ssnal", tol=1e-9)
    assert res.status == "optimal"
    if n >= d:  # wide problems often need more than DIRECT_STEPS steps and then take the method's path
        assert res.info.get("route") == "direct active-set Newton"
    ref = clarabel_objective(loss, psi, 0.05 * n, box)
    assert res.objective <= ref + 1e-7 * max(1.0, abs(ref))


def test_the_direct_route_hands_over_to_the_method_when_it_does_not_certify(monkeypatch):
    monkeypatch.setattr(ssnal, "DIRECT_STEPS", 0)  # no Newton step: the start point (0) is not optimal
    rng = np.random.default_rng(8)
    A = rng.standard_normal((30, 10))
    loss, psi = LeastSquares(A, A @ rng.uniform(-1, 1, 10)), cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
    res = cvxpar.solve(loss, psi, 1.5, method="ssnal", tol=1e-9)
    assert res.status == "optimal" and res.info.get("route") != "direct active-set Newton"
    assert res.objective <= clarabel_objective(loss, psi, 1.5) + 1e-7


def test_sigma_grows_slower_while_the_split_moves_more_coordinates_than_rows_and_the_run_certifies(monkeypatch):
    """From x = 0 (a breakpoint of the 7-level ridge PAR) the first proximal step moves most of the d >> n
    coordinates off their breakpoint: sigma then grows x LS_GROWTH, not x SIGMA_GROWTH; later, once
    fewer than n coordinates move per step, by the usual rule.  The early Newton systems go to CG (its
    cost factor set to 0: at this size the factorization is cheaper), later ones to fresh factors and to
    the kept factor's Woodbury form.  The answer certifies and matches Clarabel."""
    from cvxpar.solvers import _gram

    monkeypatch.setattr(_gram, "CG_GEMV_COST", 0.0)
    loss, res, n = _sigma_path_run()
    sigmas = res.info["sigmas"]
    assert sigmas[1] == pytest.approx(ssnal.LS_GROWTH * sigmas[0])
    assert any(b == pytest.approx(ssnal.SIGMA_GROWTH * a) for a, b in zip(sigmas[1:-1], sigmas[2:], strict=True))
    # the early systems by CG, later ones through the kept factor's Woodbury form as well as fresh factors
    assert res.info["cg_solves"] > 0 and res.info["woodbury_solves"] > 0 and res.info["factorizations"] > 0
    assert res.objective <= clarabel_objective(loss, PSI, 0.5 * n) + 1e-7 * abs(res.objective)


def _sigma_path_run():
    """(loss, result, n) of ssnal on the sigma-path tests' 40 x 400 least squares with the 7-level ridge PAR at
    lam = 0.5 n, certified optimal, with LS_GROWTH below SIGMA_GROWTH."""
    rng = np.random.default_rng(3)
    n, d = 40, 400
    A = rng.standard_normal((n, d))
    loss = LeastSquares(A, A @ (0.5 * rng.standard_normal(d)) + 0.1 * rng.standard_normal(n))
    res = cvxpar.solve(loss, PSI, 0.5 * n, method="ssnal", tol=1e-9)
    assert res.status == "optimal"
    assert ssnal.LS_GROWTH < ssnal.SIGMA_GROWTH
    return loss, res, n


def test_least_squares_sigma_grows_x_ls_growth_while_the_split_moves_and_the_run_certifies(monkeypatch):
    """With ``_growth`` deciding (GROWTH_TEST_ROWS lowered to the instance's 40 rows): from x = 0 (a breakpoint of
    the 7-level ridge PAR) sigma grows x LS_GROWTH after each inner solve (x SLOW_GROWTH
    after a hard one), never x SIGMA_GROWTH: on this run a x SIGMA_GROWTH jump would always collapse the next inner
    solve's free set (``_growth``; the module docstring).  The early Newton systems go to CG (its cost factor set to 0: at this size the factorization is
    cheaper), later ones to fresh factors and to the kept factor's Woodbury form.  The answer certifies and matches
    Clarabel."""
    from cvxpar.solvers import _gram

    monkeypatch.setattr(_gram, "CG_GEMV_COST", 0.0)
    monkeypatch.setattr(ssnal, "GROWTH_TEST_ROWS", 40)
    loss, res, n = _sigma_path_run()
    sigmas = res.info["sigmas"]
    growths = [b / a for a, b in zip(sigmas[:-1], sigmas[1:], strict=True)]
    assert len(growths) >= 3 and growths[0] == pytest.approx(ssnal.LS_GROWTH)
    assert all(g == pytest.approx(ssnal.LS_GROWTH) or g == pytest.approx(ssnal.SLOW_GROWTH) for g in growths)
    # the early systems by CG, later ones through the kept factor's Woodbury form as well as fresh factors
    assert res.info["cg_solves"] > 0 and res.info["woodbury_solves"] > 0 and res.info["factorizations"] > 0
    assert res.objective <= clarabel_objective(loss, PSI, 0.5 * n) + 1e-7 * abs(res.objective)


def _wide_ridge(n=60, d=600, seed=4):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    return LeastSquares(A, A @ (0.5 * rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)), 0.5 * n


def test_single_precision_factors_give_the_double_precision_run_s_certified_optimum(monkeypatch):
    """With single-precision factors allowed at this size (the refined Newton directions to residual
    WOODBURY_RTOL), ssnal certifies the same optimum as with float64 factors only, to 2e-16 relative."""
    from cvxpar.solvers import _gram

    loss, lam = _wide_ridge()
    ref = cvxpar.solve(loss, PSI, lam, method="ssnal")
    assert ref.info["single_factorizations"] == 0  # below SINGLE_MIN_ROWS
    monkeypatch.setattr(_gram, "SINGLE_MIN_ROWS", 1)
    res = cvxpar.solve(loss, PSI, lam, method="ssnal")
    assert ref.status == res.status == "optimal"
    assert res.info["single_factorizations"] > 0
    assert abs(res.objective - ref.objective) <= 2e-16 * abs(ref.objective)
    assert res.objective <= clarabel_objective(loss, PSI, lam) + 1e-7 * abs(res.objective)


def test_the_least_squares_polish_gathers_the_free_columns_from_the_kept_transpose(monkeypatch):
    """ssnal's polish takes A_F from the rows of FreeGram's contiguous A^T, not from a strided column
    gather of A (Operator.columns, disabled here); the run still certifies at Clarabel's optimum."""
    from cvxpar.losses._operator import Operator

    loss, lam = _wide_ridge(seed=5)

    def refuse(self, idx):
        raise AssertionError("the polish gathered columns of A")
    monkeypatch.setattr(Operator, "columns", refuse)
    res = cvxpar.solve(loss, PSI, lam, method="ssnal", verbose=False)
    assert res.status == "optimal"
    assert res.objective <= clarabel_objective(loss, PSI, lam) + 1e-7 * abs(res.objective)


@pytest.mark.parametrize("seed", [0, 1])
def test_ssnal_certifies_columns_of_norms_over_six_decades(seed):
    """Columns with norms over 1e-3..1e3: at the optimum the float64 gradient's estimated rounding error
    (eps |A|^T (|A||x| + |b|)) exceeds tol * scale; the certificate's doubled-precision gradient resolves it, so
    ssnal ends "optimal" (it ended "optimal_inaccurate" while only the estimate counted), at Clarabel's optimum,
    and the exact rational residual is within tol * scale."""
    rng = np.random.default_rng(seed)
    n, d = 40, 200
    A = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-3, 3, d)
    b = A @ rng.choice(cvxpar.grids.uniform(0.5, 7), d) / np.sqrt(d) + 0.1 * rng.standard_normal(n)
    lam = 0.001 * n
    res = cvxpar.solve(LeastSquares(A, b), PSI, lam, tol=1e-8, method="ssnal")
    cert = cvxpar.certificate(LeastSquares(A, b), PSI, lam, res.x)
    assert res.status == "optimal", res.message
    assert exact_residual(PSI, lam, res.x, exact_gradient("ls", A, b, res.x)) <= 1e-8 * cert.scale
    assert res.iterations < 50
    F_ref = reference_objective(A, b, PSI, lam)
    assert abs(res.objective - F_ref) <= 1e-7 * abs(F_ref)


def test_a_stalled_inner_solve_shrinks_sigma_and_stops_after_stall_steps_in_a_row():
    """The shared rejection rule of the least-squares and Huber paths: sigma / SIGMA_GROWTH, never below SIGMA0 / L,
    and a stop reason once STALL_STEPS stalls come in a row."""
    class Rows:
        def __init__(self):
            self.events = []

        def row(self, it, cert, event):
            self.events.append((it, event))

    monitor, L = Rows(), 4.0
    rejected, sigma = 0, 1e3
    for k in range(1, ssnal.STALL_STEPS):
        rejected, stopped, new = ssnal._stalled_step(monitor, k, None, sigma, L, rejected)
        assert rejected == k and stopped is None
        assert new == max(sigma / ssnal.SIGMA_GROWTH, ssnal.SIGMA0 / L)
        sigma = new
    rejected, stopped, last = ssnal._stalled_step(monitor, ssnal.STALL_STEPS, None, sigma, L, rejected)
    assert rejected == ssnal.STALL_STEPS and "stalled" in stopped and last == sigma
    assert [it for it, _ in monitor.events] == list(range(1, ssnal.STALL_STEPS + 1))
    assert all("step rejected" in event for _, event in monitor.events)


@pytest.mark.parametrize("moved", [0.05, 0.3])
@pytest.mark.parametrize("where", ["plateau", "next window"])
def test_sigma_grows_fast_only_where_the_next_inner_solves_first_prox_keeps_the_free_set(moved, where):
    """``ssnal._growth`` against a brute-force prox: x on the middles of PSI's pieces (all free), A^T u = -lam psi'(x)
    (the prox at any sigma then returns x) except on a share ``moved`` of the coordinates, where A^T u puts the prox
    at sigma' = SIGMA_GROWTH x sigma on the piece's right kink (``plateau``) or in the middle of the next piece.  The
    prox at sigma', minimized by brute force over a fine grid of z and the breakpoints, moves exactly that share off
    its window; _growth says SIGMA_GROWTH exactly where the share kept free in its window is at least FREE_KEEP,
    else LS_GROWTH."""
    rng = np.random.default_rng(5)
    d, lam, sigma = 400, 3.0, 0.02
    prob = Problem(LeastSquares(rng.standard_normal((10, d)), rng.standard_normal(10)), PSI, lam)
    grid = PSI.breakpoints
    piece = rng.integers(0, grid.size - 2, d)  # a kink and a whole piece to the right of each piece
    left, kink, right = grid[piece], grid[piece + 1], grid[piece + 2]
    x = 0.5 * (left + kink)
    slope_left = (PSI(kink) - PSI(left)) / (kink - left)
    slope_right = (PSI(right) - PSI(kink)) / (right - kink)
    trial = ssnal.SIGMA_GROWTH * sigma
    atu = -lam * slope_left
    push = rng.random(d) < moved
    if where == "plateau":
        w_push = kink + trial * lam * 0.5 * (slope_left + slope_right)
    else:
        w_push = 0.5 * (kink + right) + trial * lam * slope_right
    atu[push] = ((x - w_push) / trial)[push]
    w = x - trial * atu
    z = np.concatenate([np.linspace(-4.0, 4.0, 80001), grid])
    values = lam * PSI(z)[None, :] + (z[None, :] - w[:, None]) ** 2 / (2 * trial)
    best = z[np.argmin(values, axis=1)]
    in_window = ~np.isin(best, grid) & (best > left) & (best < kink)
    assert np.array_equal(in_window, ~push)
    kept = int(in_window.sum())
    assert (kept >= ssnal.FREE_KEEP * d) == (moved < 0.1)  # the construction: few pushed keep the free set
    growth = ssnal._growth(prob, x, atu, sigma, np.zeros(d, dtype=bool), prob.piece_index(x),
                           lambda v: (prob.fixed(v), prob.piece_index(v)))
    assert growth == (ssnal.SIGMA_GROWTH if kept >= ssnal.FREE_KEEP * d else ssnal.LS_GROWTH)
