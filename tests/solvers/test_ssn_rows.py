"""ssn with several linear rows (equalities and inequalities, up to ssn.MAX_ROWS): the exact prox with the rows
(cvxpar.solvers._rows_prox) against CVXPY + Clarabel's prox, and ``method="auto"`` on random tiny problems with rows
certified at Clarabel's optimum (hypothesis), infeasible rows reported ``infeasible``."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cvxpar
from cvxpar.constraints import Box, Linear, NonNeg
from cvxpar.losses import Huber, LeastSquares, Logistic
from cvxpar.solvers import ssn
from cvxpar.solvers._problem import Problem
from cvxpar.solvers._rows_prox import RowsProx

GRID = cvxpar.grids.uniform(0.5, 7)
PSIS = {"ridge": cvxpar.pars.ridge(GRID), "l1": cvxpar.pars.l1(), "parq": cvxpar.pars.parq(GRID)}


def _problem(seed, n, d, kind, rows, m):
    """A random problem with m rows that hold at a planted point (so the set is feasible)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    x = rng.choice(GRID, d) * (rng.random(d) < 0.6)
    if kind == "ls":
        loss = LeastSquares(A, A @ x + 0.1 * rng.standard_normal(n))
    elif kind == "logistic":
        A /= np.sqrt(d)
        loss = Logistic(A, np.where(3 * A @ x + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0))
    else:
        A /= np.sqrt(d)
        loss = Huber(A, A @ x + 0.1 * rng.standard_normal(n), M=0.3)
    E = rng.standard_normal((m, d))
    if rows == "eq":
        xc = np.clip(x, -1.5, 1.5)
        cons = [Box(-1.5, 1.5), Linear(A_eq=E, b_eq=E @ xc)]
    elif rows == "ineq":
        cons = Linear(A_ub=E, b_ub=E @ x - rng.uniform(-1.0, 1.0, m))
    else:
        me = max(1, m // 2)
        xa = np.abs(x)
        cons = [NonNeg(), Linear(A_eq=E[:me], b_eq=E[:me] @ xa, A_ub=E[me:] if m > me else None,
                                 b_ub=E[me:] @ xa + rng.uniform(0.0, 1.0, m - me) if m > me else None)]
    return loss, cons


def _clarabel_prox(prob, G, h, n_eq, w, gamma):
    u = cp.Variable(w.size)
    slopes, intercepts = prob.psi.max_affine()
    pieces = cp.max(cp.vstack([a * u + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0)
    lam = np.broadcast_to(np.asarray(prob.lam, dtype=float), (w.size,))
    cons = [G[:n_eq] @ u == h[:n_eq]] if n_eq else []
    if n_eq < len(h):
        cons.append(G[n_eq:] @ u <= h[n_eq:])
    lo, hi = prob.psi.domain
    if prob.feasible.has_bounds:
        lower = np.broadcast_to(np.asarray(prob.feasible.lower, dtype=float), w.shape)
        upper = np.broadcast_to(np.asarray(prob.feasible.upper, dtype=float), w.shape)
        cons += [u[np.isfinite(lower)] >= lower[np.isfinite(lower)], u[np.isfinite(upper)] <= upper[np.isfinite(upper)]]
    cons += [u >= lo] if np.isfinite(lo) else []
    cons += [u <= hi] if np.isfinite(hi) else []
    model = cp.Problem(cp.Minimize(lam @ pieces + cp.sum_squares(u - w) / (2 * gamma)), cons)
    model.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return u.value


@pytest.mark.parametrize("rows", ["eq", "ineq", "mixed"])
@pytest.mark.parametrize("family", ["ridge", "l1", "parq"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_prox_with_several_rows_is_clarabels_and_holds_the_rows(rows, family, seed):
    loss, cons = _problem(seed, 30, 25, "ls", rows, 2 + seed)
    prob = Problem(loss, PSIS[family], 3.0, cons)
    G, h, n_eq = prob.feasible.stacked()
    rng = np.random.default_rng(seed + 50)
    prox = RowsProx(prob)
    for gamma in (0.01, 0.3):
        w = 2.0 * rng.standard_normal(25)
        T, nu = prox(w, gamma)
        ref = _clarabel_prox(prob, G, h, n_eq, w, gamma)
        assert np.max(np.abs(T - ref)) <= 1e-6 * max(1.0, np.max(np.abs(ref))), np.max(np.abs(T - ref))
        r = G @ T - h
        assert np.max(np.abs(r[:n_eq]), initial=0.0) <= 1e-12 * max(1.0, np.max(np.abs(h)))
        assert np.all(r[n_eq:] <= 1e-12 * max(1.0, np.max(np.abs(h))))
        assert np.all(nu[n_eq:] >= 0.0)


def _check(loss, psi, lam, cons, res):
    assert res.status == "optimal", (res.status, res.message)
    cert = cvxpar.certificate(loss, psi, lam, res.x, cons)
    assert cert.certifies(1e-8), cert
    ref = cvxpar.reference(loss, psi, lam, cons, solver="CLARABEL")
    assert res.objective <= ref.objective + 1e-8 * max(1.0, abs(ref.objective)), (res.objective, ref.objective)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 120), d=st.integers(3, 60),
       kind=st.sampled_from(["ls", "logistic", "huber"]), rows=st.sampled_from(["eq", "ineq", "mixed"]),
       m=st.integers(1, ssn.MAX_ROWS), family=st.sampled_from(sorted(PSIS)), lam_scale=st.floats(1e-3, 0.5))
def test_auto_runs_ssn_on_tiny_problems_with_rows_at_clarabels_optimum(seed, n, d, kind, rows, m, family, lam_scale):
    loss, cons = _problem(seed, n, d, kind, rows, m)
    psi, lam = PSIS[family], lam_scale * n
    res = cvxpar.solve(loss, psi, lam, cons)
    assert res.method == "ssn" or res.info.get("handoff", {}).get("from") == "ssn", res.method
    _check(loss, psi, lam, cons, res)


@pytest.mark.parametrize("seed", range(4))
def test_auto_runs_ssn_with_rows_without_a_handoff(seed):
    """Equality rows + Box, inequality rows, and both, on least squares, logistic and Huber: ssn certifies alone."""
    for kind in ("ls", "logistic", "huber"):
        for rows in ("eq", "ineq", "mixed"):
            loss, cons = _problem(seed, 60 + 20 * seed, 40, kind, rows, 2 + 2 * seed)
            res = cvxpar.solve(loss, PSIS["ridge"], 0.05 * loss.n_samples, cons)
            assert res.method == "ssn" and "handoff" not in res.info, (kind, rows, res.info.get("handoff"))
            _check(loss, PSIS["ridge"], 0.05 * loss.n_samples, cons, res)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(2, ssn.MAX_ROWS))
def test_infeasible_rows_are_reported_infeasible(seed, m):
    """Rows that no point of the box meets (two parallel equalities with different right-hand sides, or
    sum(x) >= m d beyond Box(-1, 1)): ``infeasible``, as Clarabel says."""
    loss, _ = _problem(seed, 30, 20, "ls", "eq", 1)
    rng = np.random.default_rng(seed)
    E = rng.standard_normal((m, 20))
    E[1] = E[0]
    cons = [Box(-1, 1), Linear(A_eq=E, b_eq=np.r_[0.0, 1.0, np.zeros(m - 2)])]
    res = cvxpar.solve(loss, PSIS["ridge"], 1.0, cons)
    assert res.status == "infeasible"
    assert cvxpar.reference(loss, PSIS["ridge"], 1.0, cons, solver="CLARABEL").status == "infeasible"
    cons = [Box(-1, 1), Linear(A_ub=-np.vstack([np.ones(20), E[2:]]), b_ub=np.r_[-21.0, np.full(m - 2, 100.0)])]
    assert cvxpar.solve(loss, PSIS["ridge"], 1.0, cons).status == "infeasible"


def test_auto_leaves_more_rows_than_ssn_takes_to_alm():
    loss, cons = _problem(0, 40, 20, "ls", "ineq", ssn.MAX_ROWS + 1)
    prob = Problem(loss, PSIS["ridge"], 1.0, cons)
    assert not ssn.applies(prob)
    from cvxpar.solve import pick

    assert pick(prob)[0] == "alm"
    loss, cons = _problem(0, 40, 20, "ls", "mixed", ssn.MAX_ROWS)
    assert pick(Problem(loss, PSIS["ridge"], 1.0, cons))[0] == "ssn"


def test_auto_certifies_a_tall_huber_with_inequality_rows_where_alm_stopped_short():
    """Huber 2000 x 300 with 6 inequality rows (the tall rule's range): auto's ssn certifies at Clarabel's optimum;
    before, auto's alm stopped at its outer-step limit at an infeasible point (relative error 0.13)."""
    rng = np.random.default_rng(2)
    n, d, m = 2000, 300, 6
    A = rng.standard_normal((n, d)) / np.sqrt(d)
    x = rng.choice(GRID, d) * (rng.random(d) < 0.6)
    loss = Huber(A, A @ x + 0.1 * rng.standard_normal(n), M=0.3)
    E = rng.standard_normal((m, d))
    cons = Linear(A_ub=E, b_ub=E @ x - rng.uniform(-1, 1, m))
    res = cvxpar.solve(loss, PSIS["ridge"], 0.05 * n, cons)
    assert res.method == "ssn"
    _check(loss, PSIS["ridge"], 0.05 * n, cons, res)
