"""``Stacked`` (a sum of linear-model losses) and ``LinearTerm`` (q^T x): the contract's functions against the sum of
the parts and finite differences, and solves against CVXPY + Clarabel on the same model."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import cvxpar
from cvxpar.constraints import Box, Simplex
from cvxpar.losses import Huber, LeastSquares, LinearTerm, Logistic, Stacked

RNG = np.random.default_rng(7)
N, D = 30, 60
A1, A2, A3 = (RNG.standard_normal((N, D)) for _ in range(3))
B1, B3 = RNG.standard_normal(N), 3.0 * RNG.standard_normal(N)
Y = np.sign(RNG.standard_normal(N))
Q = RNG.standard_normal(D)
RIDGE = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _parts():
    return [LeastSquares(A1, B1), Logistic(A2, Y), Huber(A3, B3, M=0.5), LinearTerm(Q[None, :])]


def test_value_gradient_and_hessian_are_the_sums_of_the_parts():
    parts = _parts()
    f = Stacked(parts)
    x, d = RNG.standard_normal(D), RNG.standard_normal(D)
    assert f.value(x) == pytest.approx(sum(p.value(x) for p in parts), rel=1e-13)
    np.testing.assert_allclose(f.grad(x), sum(p.grad(x) for p in parts), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f.hvp(x, d), sum(p.hvp(x, d) for p in parts), rtol=1e-12, atol=1e-12)
    idx = np.array([0, 5, 7])
    np.testing.assert_allclose(f.hessian_block(x, idx), sum(p.hessian_block(x, idx) for p in parts), atol=1e-11)
    step = 1e-6
    fd = np.array([(f.value(x + step * e) - f.value(x - step * e)) / (2 * step) for e in np.eye(D)[:6]])
    np.testing.assert_allclose(fd, f.grad(x)[:6], rtol=1e-6, atol=1e-6)
    assert f.smoothness == 1.0 and not f.piecewise_quadratic
    assert Stacked([parts[0], parts[2], parts[3]]).piecewise_quadratic


def test_optional_methods_are_blockwise_and_present_only_when_every_part_has_them():
    parts = _parts()
    f = Stacked(parts)
    z = f.linear(RNG.standard_normal(D))
    w = f.dh(z)
    blocks = np.cumsum([0] + [p.n_samples for p in parts])
    assert f.conjugate(w) == pytest.approx(sum(p.conjugate(w[a:b]) for p, a, b in zip(parts, blocks[:-1], blocks[1:], strict=True)))
    lo, hi = f.recession_slopes()
    assert lo.shape == hi.shape == (f.n_samples,) and lo[-1] == hi[-1] == 1.0 and np.isinf(lo[:N]).all()
    majorant = f.d2h_majorant(z)
    np.testing.assert_array_equal(majorant[:N], 1.0)  # least squares: its own h''
    assert (majorant >= f.d2h(z) - 1e-15).all()

    class NoConj(LeastSquares):
        conj = cvxpar.losses.LinearModelLoss.conj

    g = Stacked([NoConj(A1, B1), LinearTerm(Q[None, :])])
    assert not g.has_conj and g.dual_gap_parts(np.zeros(D)) is None


def test_subsample_keeps_each_row_with_its_own_h():
    f = Stacked(_parts())
    rows = np.array([1, 3, N + 2, 2 * N + 5, 3 * N])
    sub = f.subsample(rows)
    x = RNG.standard_normal(D)
    np.testing.assert_allclose(sub.h(sub.linear(x)), f.h(f.linear(x))[rows], rtol=1e-13)


def test_bad_parts_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="at least one"):
        Stacked([])
    with pytest.raises(ValueError, match="same x"):
        Stacked([LeastSquares(A1, B1), LeastSquares(A1[:, :5], B1)])
    with pytest.raises(TypeError, match="LinearModelLoss"):
        Stacked([LeastSquares(A1, B1), cvxpar.losses.Smooth(lambda x: 0.0, lambda x: 0 * x, 1.0, n_features=D)])
    op = sp.linalg.aslinearoperator(A1)
    with pytest.raises(TypeError, match="NumPy or scipy.sparse"):
        Stacked([LeastSquares(op, B1)])


def _clarabel(objective_of, constraints_of):
    x = cp.Variable(D)
    problem = cp.Problem(cp.Minimize(objective_of(x)), constraints_of(x))
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return problem.status, problem.value


def _par(x, lam):
    slopes, intercepts = RIDGE.max_affine()
    return lam * cp.sum(cp.maximum(*[a * x + c for a, c in zip(slopes, intercepts, strict=True)]))


CASES = {
    "least squares + logistic, Box": (
        lambda: Stacked([LeastSquares(A1, B1), Logistic(A2, Y)]),
        lambda x: 0.5 * cp.sum_squares(A1 @ x - B1) + cp.sum(cp.logistic(cp.multiply(-Y, A2 @ x))),
        Box(-1.0, 1.0), lambda x: [x >= -1, x <= 1],
    ),
    "least squares + Huber": (
        lambda: Stacked([LeastSquares(A1, B1), Huber(A3, B3, M=0.5)]),
        lambda x: 0.5 * cp.sum_squares(A1 @ x - B1) + 0.5 * cp.sum(cp.huber(A3 @ x - B3, 0.5)),
        None, lambda x: [],
    ),
    "least squares (wide) + q^T x, Simplex": (
        lambda: Stacked([LeastSquares(A1, B1), LinearTerm(Q[None, :])]),
        lambda x: 0.5 * cp.sum_squares(A1 @ x - B1) + Q @ x,
        Simplex(2.0), lambda x: [x >= 0, cp.sum(x) == 2.0],
    ),
    "sparse least squares + logistic": (
        lambda: Stacked([LeastSquares(sp.csr_array(A1 * (RNG_MASK < 0.2)), B1), Logistic(A2, Y)]),
        lambda x: 0.5 * cp.sum_squares((A1 * (RNG_MASK < 0.2)) @ x - B1) + cp.sum(cp.logistic(cp.multiply(-Y, A2 @ x))),
        Box(-2.0, 2.0), lambda x: [x >= -2, x <= 2],
    ),
}
RNG_MASK = np.random.default_rng(3).random((N, D))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("method", ["auto", "fista"])
def test_solve_matches_clarabel(name, method):
    make, objective_of, constraints, constraints_of = CASES[name]
    lam = 2.0
    status, value = _clarabel(lambda x: objective_of(x) + _par(x, lam), constraints_of)
    if method == "fista" and isinstance(constraints, Simplex):
        method = "alm"
    res = cvxpar.solve(make(), RIDGE, lam, constraints=constraints, method=method, tol=1e-8)
    assert status == "optimal" and res.status == "optimal", res.message
    assert res.objective == pytest.approx(value, rel=1e-7, abs=1e-8)
    cert = cvxpar.certificate(make(), RIDGE, lam, res.x, constraints=constraints)
    assert cert.certifies(1e-8)


def test_a_linear_term_with_a_falling_direction_is_unbounded():
    """q^T x with q outside the range of A^T: along A's null space F falls linearly when psi's slopes allow."""
    null = np.linalg.svd(A1)[2][-1]  # A1 v = 0 (D > N)
    q = -5.0 * null
    f = Stacked([LeastSquares(A1, B1), LinearTerm(q[None, :])])
    res = cvxpar.solve(f, RIDGE, 0.01, tol=1e-8)
    assert res.status == "unbounded", res.message
    x = cp.Variable(D)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A1 @ x - B1) + q @ x + _par(x, 0.01)))
    problem.solve(solver="CLARABEL")
    assert problem.status == "unbounded"
