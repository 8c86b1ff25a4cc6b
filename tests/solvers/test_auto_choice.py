"""method="auto" picks a method that accepts the problem."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar


def test_auto_with_nonconvex_psi_and_per_coordinate_box_does_not_pick_cd():
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((15, 30)), rng.standard_normal(15)
    psi = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 9), 1.0)
    assert psi.curvature == "nonconvex"
    box = cvxpar.constraints.Box(-np.linspace(0.5, 1.5, 30), np.linspace(0.5, 1.5, 30))
    res = cvxpar.solve(cvxpar.losses.LeastSquares(A, b), psi, 0.5, constraints=box)
    assert res.method != "cd"
    assert res.status in ("stationary", "max_iter")
    cert = cvxpar.certificate(cvxpar.losses.LeastSquares(A, b), psi, 0.5, res.x, constraints=box)
    assert np.all(res.x >= box.lower - 1e-12) and np.all(res.x <= box.upper + 1e-12)
    if res.status == "stationary":
        assert cert.residual <= 1e-8 * max(1.0, float(np.abs(A.T @ (A @ res.x - b)).max()))


#: auto's pick for each class of the breadth benchmark at its small size (the rules of cvxpar.solve's Notes: "ssn"
#: for the classes within its small-problem rule).
BREADTH_PICKS = {
    "ridge, 7 levels": "ssnal",
    "correlated AR(1) 0.9, 7 levels": "ssnal",
    "8-bit grid (255 levels)": "ssnal",
    "tall, 9 levels, Box": "ssn",
    "Simplex, 11 levels": "alm",
    "5 inequality rows, 7 levels": "alm",
    "4-bit grid, x >= 0, budget row": "alm",
    "logistic, 7 levels": "cd",
    "Huber, 7 levels": "ssnal",
    "logistic, 7 levels, Box": "cd",
    "sparse A (1%), 7 levels": "ssnal",
    "sparse logistic (1%), 7 levels": "cd",
    "tall Lasso, lam_max/100": "ssn",
    "tiny, d = 10, Box": "ssn",
    "logistic, 7 levels, Simplex": "alm",
    "logistic, 7 levels, x >= 0, budget row": "alm",
}


def test_auto_picks_the_documented_method_for_every_breadth_class():
    from cvxpar.bench import breadth
    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    seen = {}
    for label, loss, psi, lam, cons in breadth._classes("small"):
        seen[label] = pick(Problem(loss, psi, lam, cons))[0]
    assert seen == BREADTH_PICKS  # a new class needs its documented pick here and in cvxpar.solve's Notes


def test_auto_picks_admm_for_rows_with_a_nonconvex_psi(large_rules):
    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    rng = np.random.default_rng(0)
    loss = cvxpar.losses.LeastSquares(rng.standard_normal((10, 8)), rng.standard_normal(10))
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 1.0)
    assert pick(Problem(loss, mcp, 0.5, cvxpar.constraints.Simplex(1.0)))[0] == "admm"
    ridge = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    assert pick(Problem(loss, ridge, 0.5, cvxpar.constraints.Simplex(1.0)))[0] == "alm"


def _format_cases():
    """(label, loss, dense twin for the reference, psi, constraints, auto's documented pick): help(cvxpar.solve)'s
    rules 3-5 for data formats other than NumPy, and for a nonconvex psi."""
    from scipy.sparse.linalg import aslinearoperator

    from cvxpar.losses import Huber, LeastSquares, Logistic, Smooth

    rng = np.random.default_rng(4)
    A, b = rng.standard_normal((40, 12)), rng.standard_normal(40)
    s = np.where(b > 0, 1.0, -1.0)
    op = aslinearoperator(A)
    ridge = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 3.0)
    box = cvxpar.constraints.Box(-np.linspace(0.5, 1.5, 12), np.linspace(0.5, 1.5, 12))
    smooth = Smooth(lambda x: 0.5 * float(np.sum((A @ x - b) ** 2)), lambda x: A.T @ (A @ x - b),
                    float(np.linalg.norm(A, 2) ** 2), n_features=12)
    return [
        ("least squares on a LinearOperator, convex psi", LeastSquares(op, b), LeastSquares(A, b), ridge, None,
         "ssnal"),
        ("Huber, convex psi, Box", Huber(A, b), Huber(A, b), ridge, box, "ssnal"),
        ("logistic on a LinearOperator, convex psi", Logistic(op, s), Logistic(A, s), ridge, None, "fista"),
        ("Smooth loss, convex psi", smooth, LeastSquares(A, b), ridge, None, "fista"),
        ("least squares, nonconvex psi", LeastSquares(A, b), None, mcp, None, "cd"),
        ("Huber, nonconvex psi", Huber(A, b), None, mcp, None, "cd"),
        ("logistic, nonconvex psi", Logistic(A, s), None, mcp, None, "cd"),
        ("least squares on a LinearOperator, nonconvex psi", LeastSquares(op, b), None, mcp, None, "fista"),
        ("least squares, nonconvex psi, per-coordinate Box", LeastSquares(A, b), None, mcp, box, "fista"),
    ]


def test_auto_picks_the_documented_method_for_each_data_format_and_answers_like_clarabel(large_rules):
    """The picks of help(cvxpar.solve) (rules 3-5 and its Notes) on formats other than NumPy and with a nonconvex
    psi; the convex ones certified and at Clarabel's objective (cvxpar.reference on the dense twin)."""
    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    for label, loss, dense, psi, cons, method in _format_cases():
        assert pick(Problem(loss, psi, 2.0, cons))[0] == method, label
        if dense is None:
            continue
        res = cvxpar.solve(loss, psi, 2.0, cons)
        ref = cvxpar.reference(dense, psi, 2.0, cons, solver="CLARABEL")
        assert res.method == method and res.status == "optimal", label
        assert res.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-9), label
        np.testing.assert_allclose(res.x, ref.x, atol=1e-5, err_msg=label)


def _wide_lasso(n, d, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = A @ (rng.standard_normal(d) * (rng.random(d) < 0.1)) + 0.1 * rng.standard_normal(n)
    return A, b, float(np.max(np.abs(A.T @ b)))  # lam_max of the Lasso: ||A^T b||_inf


@pytest.mark.parametrize(("n", "d", "divisor", "per_coordinate", "expected"), [
    (30, 400, 1000, False, "ssnal"),  # d >= 5 n, far down the path: about n nonzeros, where cd crawls
    (30, 400, 1000, True, "ssnal"),
    (30, 400, 10, False, "cd"),  # few nonzeros: cd's working sets
    (100, 400, 1000, False, "cd"),  # d < 5 n
])
def test_auto_sends_a_saturated_wide_lasso_to_ssnal_and_answers_like_clarabel(n, d, divisor, per_coordinate, expected):
    from solver_reference import reference_objective

    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    A, b, lam_max = _wide_lasso(n, d, 4)
    psi = cvxpar.pars.l1()
    lam = lam_max / divisor
    if per_coordinate:  # the same problem, lam given per coordinate: lam_max is read off -grad f(0) / lam
        lam = np.full(d, lam)
    loss = cvxpar.losses.LeastSquares(A, b)
    assert pick(Problem(loss, psi, lam))[0] == expected
    res = cvxpar.solve(loss, psi, lam)
    assert res.status == "optimal"
    assert res.method == expected or (expected == "cd" and res.info["handoff"]["from"] == "cd")  # cd may hand over
    assert cvxpar.certificate(loss, psi, lam, res.x).certifies(1e-8)
    want = reference_objective(A, b, psi, lam)
    assert res.objective == pytest.approx(want, rel=1e-7, abs=1e-9)


def test_a_coordinate_without_weight_keeps_the_wide_lasso_on_cd():
    """lam_i = 0 for some i: no lam_max (x = 0 is never critical along the path), so the saturation rule does
    not apply."""
    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    A, b, lam_max = _wide_lasso(30, 400, 4)
    lam = np.full(400, lam_max / 1000)
    lam[0] = 0.0
    assert pick(Problem(cvxpar.losses.LeastSquares(A, b), cvxpar.pars.l1(), lam))[0] == "cd"


@pytest.mark.parametrize(("n", "d", "dense", "expected"), [
    (400, 250, True, "ssn"),  # tall dense, d in 200..500: ssn (2-7x faster than ssnal)
    (300, 300, True, "ssn"),  # square
    (240, 250, True, "ssnal"),  # n < d: the free block may be singular, ssnal
    (400, 250, False, "ssnal"),  # scipy.sparse: not measured, the larger problems' rules
    (2500, 400, True, "ssnal"),  # n d^2 above 1000 x 500^2: ssnal's cached Gram
])
def test_auto_sends_tall_dense_problems_up_to_d_500_to_ssn(n, d, dense, expected):
    """ssn's rule for d <= 500 with n_samples >= d on a dense A (cvxpar.solvers.ssn.small); the chosen method
    certifies at Clarabel's objective on a row-scaled design (weights 1e-2..1e2, an ill-conditioned A^T A)."""
    import scipy.sparse as sp

    from cvxpar.solve import pick
    from cvxpar.solvers._problem import Problem

    rng = np.random.default_rng(13)
    A = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-2, 2, n)[:, None]
    grid = cvxpar.grids.uniform(0.5, 7)
    b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
    loss = cvxpar.losses.LeastSquares(A if dense else sp.csc_matrix(A), b)
    psi, lam = cvxpar.pars.ridge(grid), 0.01 * n
    assert pick(Problem(loss, psi, lam))[0] == expected
    if n * d > 1e5 or not dense:
        return
    res = cvxpar.solve(loss, psi, lam)
    ref = cvxpar.reference(loss, psi, lam, solver="CLARABEL")
    assert res.method == expected and res.status == "optimal"
    assert res.objective <= ref.objective * (1 + 1e-8)
