"""The augmented Lagrangian on the linear rows ("alm"): certified optima that match CVXPY + Clarabel, for
least squares, logistic and Huber, dense and sparse A, equality and inequality rows with bounds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from solver_reference import reference_objective

import cvxpar
from cvxpar import grids, pars
from cvxpar.constraints import Box, Linear, NonNeg, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic
from cvxpar.solvers import alm


def _rows(kind: str, rng, d: int):
    G = rng.standard_normal((3, d))
    return {
        "simplex": [Simplex(1.0)],
        "equalities": [Linear(A_eq=rng.standard_normal((2, d)), b_eq=np.array([1.0, -0.5]))],
        "inequalities": [Linear(A_ub=G, b_ub=np.full(3, -0.3))],  # cut off the unconstrained optimum
        "nonneg + budget": [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.2 * d])],
        "box + both": [Box(-0.8, 0.8), Linear(A_eq=np.ones((1, d)), b_eq=[1.0], A_ub=G, b_ub=np.full(3, -0.3))],
    }[kind]


KINDS = ["simplex", "equalities", "inequalities", "nonneg + budget", "box + both"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(20, 40), (50, 15)])
def test_least_squares_with_rows_matches_clarabel(kind, shape):
    rng = np.random.default_rng(1)
    n, d = shape
    A, b = rng.standard_normal((n, d)), rng.standard_normal(n)
    psi = pars.ridge(grids.uniform(0.2, 9))
    cons = _rows(kind, rng, d)
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.5, constraints=cons, method="alm")
    ref = reference_objective(A, b, psi, 0.5, cons)
    assert res.status == "optimal", res.message
    assert cvxpar.certificate(LeastSquares(A, b), psi, 0.5, res.x, cons).certifies(1e-8)
    assert res.objective <= ref + 1e-7 * max(1.0, abs(ref))  # Clarabel's own accuracy is ~1e-8
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


@pytest.mark.parametrize("loss_name", ["logistic", "huber"])
@pytest.mark.parametrize("kind", ["simplex", "inequalities"])
def test_other_linear_model_losses_with_rows(loss_name, kind, large_rules):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((40, 25)) / 5.0
    target = np.sign(rng.standard_normal(40)) if loss_name == "logistic" else rng.standard_normal(40)
    loss = Logistic(A, target) if loss_name == "logistic" else Huber(A, target)
    psi = pars.l1(grids.uniform(0.25, 7))
    cons = _rows(kind, rng, 25)
    res = cvxpar.solve(loss, psi, 0.2, constraints=cons)
    assert res.method == "alm"
    ref = reference_objective(A, target, psi, 0.2, cons, loss=loss_name)
    assert res.status == "optimal", res.message
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


def test_sparse_design_with_simplex(large_rules):
    rng = np.random.default_rng(3)
    A = sp.random(60, 80, density=0.1, random_state=3, format="csc")
    b = rng.standard_normal(60)
    psi = pars.ridge(grids.uniform(0.05, 11))
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.1, constraints=Simplex(1.0))
    ref = reference_objective(A.toarray(), b, psi, 0.1, [Simplex(1.0)])
    assert res.method == "alm" and res.status == "optimal"
    assert np.all(res.x >= 0.0) and abs(res.x.sum() - 1.0) <= 1e-12
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


def test_refuses_a_nonconvex_psi_and_auto_falls_back_to_admm():
    rng = np.random.default_rng(4)
    A, b = rng.standard_normal((15, 10)), rng.standard_normal(15)
    psi = pars.mcp(grids.uniform(0.5, 5), 1.0)
    with pytest.raises(ValueError, match="'alm' needs a convex psi"):
        cvxpar.solve(LeastSquares(A, b), psi, 0.5, constraints=Simplex(1.0), method="alm")
    assert cvxpar.solve(LeastSquares(A, b), psi, 0.5, constraints=Simplex(1.0), max_iter=200).method == "admm"


def test_iteration_limit_is_reported_honestly():
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((30, 60)), rng.standard_normal(30)
    psi = pars.ridge(grids.uniform(0.1, 11))
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.3, constraints=Simplex(1.0), method="alm", max_iter=1,
                       polish=False, sigma0=1e-6)  # one outer step with a tiny penalty: the row is far off
    cert = cvxpar.certificate(LeastSquares(A, b), psi, 0.3, res.x, Simplex(1.0))
    assert res.status == "max_iter" and not cert.certifies(1e-5)


@pytest.mark.slow
def test_outer_steps_that_make_no_progress_stop_the_loop_honestly():
    """Rows of A scaled over 1e-6 .. 1e6 (a fuzz-suite case: the bridge's first solve): ssnal cannot solve the
    augmented subproblems, and each outer step repeats the full-cost failure; the loop stops after STALL_STEPS
    such steps, not at max_iter (5000 steps, hours), with max_iter, a message saying why, and the best point."""
    A = np.array([[1.9335343982608715, -1.0111145388138758, -1.6210249899508833, 1.977900853748165, -3.6898052775092784],
                  [-0.002173655868874814, -0.0007156188313919751, -0.0005559353482611877, 0.0003164425557766881,
                   -0.003736366789977511],
                  [-37139.17457404387, -29068.858746811387, 43464.080440437836, 44262.351231315755, 16796.33650130585],
                  [-2.1247075114826178e-06, 1.572159759559858e-06, -2.4365731750127803e-06, 5.083199082984277e-07,
                   2.845819790769078e-06],
                  [-560783.9187699775, 558608.700677607, -223041.68299994347, 980570.299236969, 675295.7743516411],
                  [4.53287811414818e-05, 1.762246736354734e-05, -8.030749017425038e-06, -2.749788596347727e-05,
                   1.7624290529786544e-05],
                  [7.979139976033372e-05, 0.00019105785268943792, -7.181943974214268e-05, -1.9865564501195493e-05,
                   -0.00028495545117957746]])
    b = np.array([98792.30377492649, -33816.54121380103, 870722.8400214543, 212470.8051126975, 2136625.965737942,
                  -27439.50917197951, -412542.3355620453])
    G = np.array([[0.005, 2.033, -0.695, -0.575, -1.932], [-0.272, 0.98, 0.976, -0.047, 0.628],
                  [1.462, -0.164, -0.426, -0.415, -0.525]])
    cons = Linear(A_ub=G, b_ub=np.array([50.60797142648352, -49.8304093376322, -24.220682120684266]))
    psi, lam = pars.ridge(grids.uniform(1.45767, 31, center=0.48589)), 0.0383518
    res = cvxpar.solve(LeastSquares(A, b), psi, lam, constraints=cons, method="alm", max_iter=60)
    assert res.status == "max_iter" and res.iterations < 60
    assert f"{alm.STALL_STEPS} outer steps left the relative error at" in res.message
    cert = cvxpar.certificate(LeastSquares(A, b), psi, lam, res.x, constraints=cons)  # computed afresh
    assert not cert.certifies(1e-8) and cert.infeasibility <= 1e-8 * cert.x_scale  # feasible, honestly uncertified
    assert cert.objective == pytest.approx(res.objective, rel=1e-12)


@pytest.mark.parametrize("loss_name, shape, seed", [("logistic", (60, 200), 3), ("logistic", (150, 500), 4)])
def test_outer_steps_that_only_cut_the_row_violation_are_progress(loss_name, shape, seed):
    """Logistic with 6 inequality rows: the method of multipliers converges through the rows' violation (1e-2 ->
    5e-9 over six outer steps) while the certificate's residual at those points just off the rows stays flat; the
    stall test read that as no progress and stopped at max_iter.  Now certified at Clarabel's objective."""
    rng = np.random.default_rng(seed)
    n, d = shape
    grid = grids.uniform(0.5, 7)
    A = rng.standard_normal((n, d)) / np.sqrt(d)
    x = rng.choice(grid, d) * (rng.random(d) < 0.6)
    target = np.sign(A @ x + 0.1 * rng.standard_normal(n))
    G = rng.standard_normal((6, d))
    cons = Linear(A_ub=G, b_ub=G @ x - rng.uniform(-1, 1, 6))
    psi, lam = pars.ridge(grid), 0.05 * n
    res = cvxpar.solve(Logistic(A, target), psi, lam, constraints=cons, method="alm")
    assert res.status == "optimal", res.message
    assert cvxpar.certificate(Logistic(A, target), psi, lam, res.x, cons).certifies(1e-8)
    ref = reference_objective(A, target, psi, lam, cons, loss=loss_name)
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


def test_stall_test_counts_the_row_violation_until_it_is_within_tolerance():
    """_stalled: a flat relative error with a falling violation is progress; a flat error with a violation that
    does not halve, or with the violation below its floor (recorded as 0), is a stall."""
    flat = [1.0] * (alm.STALL_STEPS + 2)
    falling = [10.0 ** -k for k in range(alm.STALL_STEPS + 2)]
    assert not alm._stalled(flat, falling)
    assert alm._stalled(flat, [1.0] * (alm.STALL_STEPS + 2))
    assert alm._stalled(flat, falling[:-1] + [0.0])
    assert not alm._stalled([2.0 ** -k for k in range(alm.STALL_STEPS + 2)], [1.0] * (alm.STALL_STEPS + 2))


def test_augmented_loss_derivatives_match_finite_differences():
    rng = np.random.default_rng(6)
    A, y = rng.standard_normal((8, 5)), np.sign(rng.standard_normal(8))
    rows = rng.standard_normal((3, 5))
    shift = rng.standard_normal(3)
    aug = alm._Augmented(Logistic(A, y), np.vstack([A, rows]), shift, n_eq=1)
    x = rng.standard_normal(5)
    z = aug.linear(x)
    ref = Logistic(A, y).value(x) + 0.5 * (rows[0] @ x - shift[0]) ** 2 + 0.5 * np.sum(
        np.maximum(rows[1:] @ x - shift[1:], 0.0) ** 2)
    assert aug.value(x) == pytest.approx(ref, rel=1e-13)
    eps = 1e-6
    fd = np.array([(aug.value(x + eps * e) - aug.value(x - eps * e)) / (2 * eps) for e in np.eye(5)])
    np.testing.assert_allclose(aug.grad(x), fd, rtol=1e-6, atol=1e-7)
    dz = np.array([(aug.dh(z + eps * e) - aug.dh(z - eps * e)) / (2 * eps) for e in np.eye(z.size)]).diagonal()
    np.testing.assert_allclose(aug.d2h(z), dz, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["inequalities", "nonneg + budget", "equalities"])
def test_the_polish_reuses_the_outer_steps_certificate(kind, monkeypatch):
    """An outer step's point is certified once: the row polish gets that certificate (``x_cert``) instead of
    certifying the same point again when its first step does not certify, and the start point is certified
    only when the first outer step and its polish do not certify; the answer stays Clarabel's."""
    rng = np.random.default_rng(7)
    n, d = 30, 120
    A = rng.standard_normal((n, d))
    grid = grids.uniform(0.25, 9)
    b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
    psi, cons = pars.ridge(grid), _rows(kind, rng, d)
    seen, repeats, starts = set(), [], []
    check = alm.check

    def counting(prob, x):
        key = np.asarray(x).tobytes()
        if key in seen:
            repeats.append(key)
        seen.add(key)
        starts.append(np.asarray(prob.start()).tobytes())
        return check(prob, x)

    monkeypatch.setattr(alm, "check", counting)
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.05 * n, constraints=cons, method="alm")
    assert res.status == "optimal", res.message
    assert len(seen) > 1  # an outer step's point and at least one polish step
    assert not repeats
    if res.iterations == 1:  # the first polish certified: the start point is never judged
        assert starts[0] not in seen
    ref = reference_objective(A, b, psi, 0.05 * n, cons)
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


def test_subproblems_run_without_ssnal_polish_and_start_at_a_tight_tolerance(monkeypatch):
    """The augmented subproblems go to ssnal without its own polish (alm's polish with the rows lands the point)
    and the first one to INNER_TOL0 = 1e-5; the answer stays certified at Clarabel's objective."""
    rng = np.random.default_rng(11)
    n, d = 30, 120
    A = rng.standard_normal((n, d))
    grid = grids.uniform(1 / 15, 16)
    b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
    psi, cons = pars.ridge(grid), [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.07 * d])]
    calls = []
    run = alm.ssnal.run

    def recording(inner, **kw):
        calls.append(kw)
        return run(inner, **kw)

    monkeypatch.setattr(alm.ssnal, "run", recording)
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.05 * n, constraints=cons, method="alm")
    assert res.status == "optimal", res.message
    assert calls and all(kw["polish"] is False for kw in calls)
    assert calls[0]["tol"] == 1e-5
    ref = reference_objective(A, b, psi, 0.05 * n, cons)
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))
