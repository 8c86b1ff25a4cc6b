"""ssn, the dense semismooth Newton of small problems: certified answers at CVXPY + Clarabel's optimum for every
loss it takes (least squares, logistic, Huber, a user's linear-model loss, a Smooth loss with a Hessian), with and
without bounds and with one linear row (a Simplex, a budget, one inequality), on wide, square and tall data; auto's
pick at small sizes, and its hand-off when ssn stops short."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from user_losses import SquaredHinge, clarabel_objective

import cvxpar
from cvxpar.constraints import Box, Linear, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic, Smooth
from cvxpar.solvers import ssn

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
L1 = cvxpar.pars.l1()


def _data(n, d, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = A @ rng.choice(cvxpar.grids.uniform(0.5, 7), d) + 0.1 * rng.standard_normal(n)
    return A, b


def _loss(kind, A, b):
    return {"ls": LeastSquares(A, b), "logistic": Logistic(A, np.where(b > 0, 1.0, -1.0)),
            "huber": Huber(A, b, M=0.5), "hinge": SquaredHinge(A, np.where(b > 0, 1.0, -1.0))}[kind]


def _constraints(name, d, seed):
    rng = np.random.default_rng(seed + 100)
    return {"none": None, "box": Box(-1, 1), "boxvec": Box(-rng.uniform(0.2, 1.5, d), rng.uniform(0.2, 1.5, d)),
            "nonneg": Box(0, np.inf)}[name]


def _check_against_clarabel(loss, psi, lam, cons, res):
    assert res.status == "optimal", res
    cert = cvxpar.certificate(loss, psi, lam, res.x, cons)
    assert cert.certifies(1e-8), cert
    ref = cvxpar.reference(loss, psi, lam, cons, solver="CLARABEL")
    assert res.objective <= ref.objective + 1e-7 * max(1.0, abs(ref.objective)), (res.objective, ref.objective)
    assert res.objective >= ref.objective - 1e-6 * max(1.0, abs(ref.objective)), (res.objective, ref.objective)


@pytest.mark.parametrize("kind", ["ls", "logistic", "huber", "hinge"])
@pytest.mark.parametrize("cons_name", ["none", "box", "boxvec", "nonneg"])
@pytest.mark.parametrize("shape", [(10, 30), (30, 30), (90, 30)])
def test_auto_runs_ssn_on_small_problems_and_matches_clarabel(kind, cons_name, shape):
    _auto_runs_ssn(kind, shape, lambda seed: _constraints(cons_name, shape[1], seed))


def _auto_runs_ssn(kind, shape, constraints_for):
    """auto picks ssn, which certifies without a hand-off at Clarabel's optimum, for two seeds."""
    for seed in range(2):
        A, b = _data(*shape, seed)
        loss = _loss(kind, A, b)
        cons = constraints_for(seed)
        lam = 0.05 * shape[0]
        res = cvxpar.solve(loss, PSI, lam, cons)
        assert res.method == "ssn" and "handoff" not in res.info, (res.method, res.info.get("handoff"))
        _check_against_clarabel(loss, PSI, lam, cons, res)


@pytest.mark.parametrize("kind", ["ls", "logistic", "huber"])
def test_ssn_on_the_lasso_and_at_the_auto_size_limit(kind):
    A, b = _data(60, 200, 3)
    loss = _loss(kind, A, b)
    lam = 0.02 * float(np.max(np.abs(loss.grad(np.zeros(200)))))
    res = cvxpar.solve(loss, L1, lam)
    assert res.method == "ssn"
    _check_against_clarabel(loss, L1, lam, None, res)
    res = cvxpar.solve(loss, PSI, 3.0, Box(-1, 1))
    assert res.method == "ssn"
    _check_against_clarabel(loss, PSI, 3.0, Box(-1, 1), res)


def test_ssn_takes_a_smooth_loss_with_a_hessian():
    A, b = _data(40, 15, 5)
    smooth = Smooth(lambda x: 0.5 * float(np.sum((A @ x - b) ** 2)), lambda x: A.T @ (A @ x - b),
                    float(np.linalg.norm(A, 2) ** 2), n_features=15, hessian=lambda x: A.T @ A)
    res = cvxpar.solve(smooth, PSI, 2.0, Box(-1, 1))
    assert res.method == "ssn" and res.status == "optimal"
    ref = cvxpar.reference(LeastSquares(A, b), PSI, 2.0, Box(-1, 1), solver="CLARABEL")
    assert res.objective == pytest.approx(ref.objective, rel=1e-7)
    # without a Hessian, auto keeps fista
    plain = Smooth(smooth.fun, smooth.gradient, smooth.lipschitz(), n_features=15)
    assert cvxpar.solve(plain, PSI, 2.0, Box(-1, 1)).method == "fista"


def test_ssn_with_a_lipschitz_underestimate_still_certifies():
    """L is doubled where the forward-backward step fails its decrease test (a Smooth loss's L is the user's)."""
    A, b = _data(30, 20, 6)
    true_L = float(np.linalg.norm(A, 2) ** 2)
    smooth = Smooth(lambda x: 0.5 * float(np.sum((A @ x - b) ** 2)), lambda x: A.T @ (A @ x - b),
                    true_L / 1000, n_features=20, hessian=lambda x: A.T @ A)
    res = cvxpar.solve(smooth, PSI, 2.0, method="ssn")
    ref = cvxpar.reference(LeastSquares(A, b), PSI, 2.0, solver="CLARABEL")
    assert res.status == "optimal" and res.objective == pytest.approx(ref.objective, rel=1e-7)


def test_ssn_user_loss_against_its_own_cvxpy_form():
    from user_losses import hinge_data

    A, y = hinge_data(50, 25, 2)
    loss = SquaredHinge(A, y)
    res = cvxpar.solve(loss, PSI, 1.5, Box(-1, 1), method="ssn")
    assert res.status == "optimal"
    assert res.objective == pytest.approx(clarabel_objective(loss, PSI, 1.5, (-1, 1)), rel=1e-7)


def _row(name, d, seed):
    rng = np.random.default_rng(seed + 200)
    a = rng.standard_normal(d)
    return {"simplex": [Simplex(1.0)], "simplex3": [Simplex(3.0), Box(0, 1)],
            "budget": [Box(-1, 1), Linear(A_eq=np.ones((1, d)), b_eq=[0.5])],
            "inequality": [Box(-2, 2), Linear(A_ub=a[None, :], b_ub=[-0.5])],
            "equality": [Linear(A_eq=a[None, :], b_eq=[0.7])]}[name]


@pytest.mark.parametrize("kind", ["ls", "logistic", "huber"])
@pytest.mark.parametrize("row", ["simplex", "simplex3", "budget", "inequality", "equality"])
@pytest.mark.parametrize("shape", [(10, 30), (90, 30)])
def test_auto_runs_ssn_with_one_row_and_matches_clarabel(kind, row, shape):
    """One linear row goes into ssn's prox (the exact prox with the row, cvxpar.solvers._row_prox) and its Newton
    step (the KKT system of the free block with the row)."""
    _auto_runs_ssn(kind, shape, lambda seed: _row(row, shape[1], seed))


def test_auto_leaves_nonconvex_psi_rows_and_larger_problems_to_the_other_rules():
    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    A, b = _data(30, 20, 0)
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 2.0)
    assert pick(Problem(LeastSquares(A, b), mcp, 1.0))[0] == "cd"
    assert pick(Problem(LeastSquares(A, b), PSI, 1.0, Simplex(1.0)))[0] == "ssn"
    many = [Simplex(1.0), Linear(A_ub=np.eye(20)[:ssn.MAX_ROWS], b_ub=np.full(ssn.MAX_ROWS, 0.5))]
    assert pick(Problem(LeastSquares(A, b), PSI, 1.0, many))[0] == "alm"
    A, b = _data(60, 201, 0)
    assert pick(Problem(LeastSquares(A, b), PSI, 1.0))[0] == "ssnal"
    A, b = _data(1000, 100, 0)  # n d^2 = 1e7: within the budget
    assert pick(Problem(LeastSquares(A, b), PSI, 1.0))[0] == "ssn"
    A, b = _data(3000, 100, 0)  # 3e7: above it, but tall and dense: within the tall budget (ssn.TALL_MAX_WORK)
    assert pick(Problem(LeastSquares(A, b), PSI, 1.0))[0] == "ssn"
    A, b = _data(30000, 100, 0)  # 3e8: above both
    assert pick(Problem(LeastSquares(A, b), PSI, 1.0))[0] == "ssnal"


def test_an_explicit_ssn_refuses_what_it_cannot_solve():
    A, b = _data(30, 20, 0)
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 2.0)
    with pytest.raises(ValueError, match="method 'ssn' needs a convex psi"):
        cvxpar.solve(LeastSquares(A, b), mcp, 1.0, method="ssn")
    many = [Simplex(1.0), Linear(A_ub=np.eye(20)[:ssn.MAX_ROWS], b_ub=np.full(ssn.MAX_ROWS, 0.5))]
    with pytest.raises(ValueError, match="Simplex and Linear constraints need"):
        cvxpar.solve(LeastSquares(A, b), PSI, 1.0, many, method="ssn")
    plain = Smooth(lambda x: float(x @ x), lambda x: 2 * x, 2.0, n_features=20)
    with pytest.raises(ValueError, match="loss with a Hessian"):
        cvxpar.solve(plain, PSI, 1.0, method="ssn")


def test_ssn_stopped_short_is_honest_and_auto_hands_it_on():
    A, b = _data(20, 60, 1)
    loss = Huber(A, b, M=0.5)
    alone = cvxpar.solve(loss, PSI, 1.0, method="ssn", max_iter=2)
    assert alone.status != "optimal" and not cvxpar.certificate(loss, PSI, 1.0, alone.x).certifies(1e-8)
    res = cvxpar.solve(loss, PSI, 1.0, max_iter=2)
    assert res.info["handoff"]["from"] == "ssn" and res.info["handoff"]["status"] == alone.status
    assert res.method == "ssnal"
    assert (res.status == "optimal") == cvxpar.certificate(loss, PSI, 1.0, res.x).certifies(1e-8)


def test_the_hand_off_after_ssn_validates_once_and_reaches_clarabels_optimum(monkeypatch):
    """ssn stopped short (its iteration limit cut to 1) hands its point to the next rule's method on the
    already validated problem: one Problem, one recession test, and the same answer as that method asked for
    explicitly from ssn's point; certified at Clarabel's optimum."""
    front = importlib.import_module("cvxpar.solve")  # the module (cvxpar.solve is the function)
    A, b = _data(20, 60, 1)
    loss = Huber(A, b, M=0.5)
    monkeypatch.setitem(front.DEFAULT_MAX_ITER, "ssn", 1)
    alone = cvxpar.solve(loss, PSI, 1.0, method="ssn")
    assert alone.status != "optimal"
    counts = {"problem": 0, "recession test": 0}
    real_problem, real_decide = front.Problem, front.recession.decide

    def problem(*args, **kwargs):
        counts["problem"] += 1
        return real_problem(*args, **kwargs)

    def decide(*args, **kwargs):
        counts["recession test"] += 1
        return real_decide(*args, **kwargs)

    monkeypatch.setattr(front, "Problem", problem)
    monkeypatch.setattr(front.recession, "decide", decide)
    res = cvxpar.solve(loss, PSI, 1.0)
    assert counts == {"problem": 1, "recession test": 1}
    assert res.method == "ssnal" and res.info["handoff"]["from"] == "ssn"
    assert res.info["handoff"]["iterations"] == alone.iterations
    monkeypatch.undo()
    explicit = cvxpar.solve(loss, PSI, 1.0, method="ssnal", x0=alone.x)
    np.testing.assert_array_equal(res.x, explicit.x)
    assert res.status == "optimal" and cvxpar.certificate(loss, PSI, 1.0, res.x).certifies(1e-8)
    assert res.objective == pytest.approx(clarabel_objective(loss, PSI, 1.0), rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("kind", ["logistic", "huber", "ls", "simplex"])
def test_the_first_solve_in_a_fresh_process_loads_no_compiled_kernels(kind):
    """The small-problem path is NumPy and LAPACK: numba's first kernel load costs about a second, scipy.optimize's
    import (a phase-1 LP) half a second."""
    code = textwrap.dedent(f"""
        import sys
        import numpy as np, cvxpar
        rng = np.random.default_rng(0)
        A = rng.standard_normal((60, 150)); b = A @ rng.uniform(-1, 1, 150)
        loss = {{"logistic": cvxpar.losses.Logistic(A, np.sign(b)), "huber": cvxpar.losses.Huber(A, b, M=0.5)}}.get(
            "{kind}", cvxpar.losses.LeastSquares(A, b))
        cons = cvxpar.constraints.Simplex(1.0) if "{kind}" == "simplex" else None
        res = cvxpar.solve(loss, cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)), 3.0, cons)
        print(res.method, res.status, "numba" in sys.modules, "scipy.optimize" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ssn", "optimal", "False", "False"], out.stdout + out.stderr


@pytest.mark.parametrize(("kind", "forms"), [("ls", 1), ("huber", None)])
def test_least_squares_hessian_is_formed_once_and_sliced(kind, forms, monkeypatch):
    """On least squares (constant Hessian A^T A) ssn forms A^T A once the blocks formed from the factor have cost as
    much (sum |F|^2 >= d^2), and slices the later blocks from it; on Huber (a Hessian that moves with x) it forms each
    block from the loss's factor at x.  Same answer as Clarabel either way."""
    A, b = _data(300, 120, 5)
    A *= 10.0 ** np.random.default_rng(6).uniform(-1, 1, 300)[:, None]
    loss = _loss(kind, A, b)
    calls = []
    factor = type(loss).hessian_factor
    monkeypatch.setattr(type(loss), "hessian_factor", lambda self, x, idx: calls.append(len(idx)) or factor(self, x, idx))
    res = cvxpar.solve(loss, PSI, 2.0, method="ssn")
    assert res.status == "optimal"
    assert res.info["newton_steps"] >= 2
    if forms is not None:  # blocks until they have cost d^2, then the full Gram, once, and nothing after it
        spent = np.cumsum(np.square(calls[:-1]))
        assert calls[-1] == 120 and spent[-1] >= 120**2 and (spent.size == 1 or spent[-2] < 120**2)
        assert len(calls) < res.info["newton_steps"]
    else:
        assert len(calls) >= res.info["newton_steps"]
    ref = cvxpar.reference(loss, PSI, 2.0, solver="CLARABEL")
    assert res.objective <= ref.objective * (1 + 1e-8)
