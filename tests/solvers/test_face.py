"""The exact face solve (cvxpar.solvers.face): the bound-constrained QP on a face matches CVXPY + Clarabel
with fewer, as many and more free coordinates than rows (the null-space steps); the face polish certifies a
Lasso in one round from a split with n free coordinates for n samples (a nearly singular free block), on
dense and scipy.sparse A, with the optimum Clarabel finds."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from solver_reference import reference_objective

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import LeastSquares
from cvxpar.solvers import face
from cvxpar.solvers._common import check
from cvxpar.solvers._problem import Problem
from cvxpar.solvers.face import face_polish, solve_face


def _face_reference(A, r, x, lo, hi, lin):
    y = cp.Variable(x.size)
    cons = [y[i] >= lo[i] for i in np.flatnonzero(np.isfinite(lo))]
    cons += [y[i] <= hi[i] for i in np.flatnonzero(np.isfinite(hi))]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(r - A @ (y - x)) + lin @ y), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return prob.value


def _face_value(A, r, x, y, lin):
    res = r - A @ (y - x)
    return 0.5 * float(res @ res) + float(lin @ y)


@pytest.mark.parametrize("k", [6, 20, 45])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solve_face_matches_clarabel(k, seed):
    """Lasso-like faces (each coordinate on a half-line [0, inf) or (-inf, 0] with the slope that keeps the
    objective bounded) plus a few finite boxes; k < n, k = n and k > n (rank-deficient A_W)."""
    n = 20
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, k))
    sign = rng.choice([-1.0, 1.0], k)
    lo = np.where(sign > 0, 0.0, -np.inf)
    hi = np.where(sign > 0, np.inf, 0.0)
    boxed = rng.random(k) < 0.2
    lo[boxed], hi[boxed] = -rng.uniform(0.1, 1.0, boxed.sum()), rng.uniform(0.1, 1.0, boxed.sum())
    lin = sign * rng.uniform(0.5, 3.0, k)
    x = np.clip(sign * rng.uniform(0.0, 1.0, k), lo, hi)
    r = 3.0 * rng.standard_normal(n)
    y = solve_face(A, r, x, lo, hi, lin)
    assert np.all(y >= lo) and np.all(y <= hi)
    ref = _face_reference(A, r, x, lo, hi, lin)
    assert _face_value(A, r, x, y, lin) == pytest.approx(ref, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_face_polish_certifies_an_n_free_split_in_one_round(sparse):
    """Start: the Lasso solution (fewer than n nonzeros) perturbed, plus small entries of the right sign on
    other coordinates so that exactly n are free: the free block A_F is square and ill-conditioned.  One round
    reaches the certified optimum of Clarabel."""
    n, d = 25, 120
    rng = np.random.default_rng(11)
    A = rng.standard_normal((n, d))
    b = A[:, :8] @ rng.standard_normal(8) + 0.1 * rng.standard_normal(n)
    lam = 0.1 * float(np.max(np.abs(A.T @ b)))
    psi = cvxpar.pars.l1()
    ref_x = cvxpar.solve(LeastSquares(A, b), psi, lam, tol=1e-12).x
    support = np.flatnonzero(ref_x)
    assert support.size < n
    extra = rng.choice(np.setdiff1d(np.arange(d), support), n - support.size, replace=False)
    x = ref_x.copy()
    x[support] += 1e-2 * rng.standard_normal(support.size) * np.abs(x[support])
    x[extra] = 1e-3 * np.sign(A[:, extra].T @ (b - A @ ref_x))
    assert np.count_nonzero(x) == n
    prob = Problem(LeastSquares(sp.csc_array(A) if sparse else A, b), psi, lam, None)
    t = 1.0 / float(np.max(np.sum(A * A, axis=0)))
    px, cert, rounds = face_polish(prob, x, t, tol=1e-10, check=lambda v: check(prob, v))
    assert cert.certifies(1e-10) and rounds == 1
    ref = reference_objective(A, b, psi, lam)
    assert cert.objective == pytest.approx(ref, rel=1e-8)


def test_face_polish_with_a_box_and_a_multilevel_psi_matches_clarabel():
    """Pieces restricted to the box and several slopes: rounds from a rough point to the certified optimum."""
    rng = np.random.default_rng(4)
    A = rng.standard_normal((40, 30))
    b = A @ rng.uniform(-1.5, 1.5, 30) + 0.2 * rng.standard_normal(40)
    psi = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))
    cons = [Box(-0.8, 1.2)]
    prob = Problem(LeastSquares(A, b), psi, 2.0, cons)
    x = np.clip(np.linalg.lstsq(A, b, rcond=None)[0], -0.8, 1.2)
    t = 1.0 / prob.loss.lipschitz()
    px, cert, _ = face_polish(prob, x, t, rounds=20, tol=1e-9, check=lambda v: check(prob, v))
    assert cert.certifies(1e-9)
    assert cert.objective == pytest.approx(reference_objective(A, b, psi, 2.0, cons), rel=1e-8)


def _sparse_face(seed, n, k, density):
    """A scipy.sparse face: random columns plus columns that repeat another one or share a single row with
    others (components of A_W whose structural rank is below their width), Lasso-like pieces and a few boxes."""
    rng = np.random.default_rng(seed)
    A = sp.random(n, k, density=density, random_state=seed, format="lil")
    for j in rng.choice(k, k // 5, replace=False):  # a repeated (scaled) column or a one-entry column
        A[:, j] = 0.0
        if rng.random() < 0.5:
            src = rng.integers(k)
            A[:, j] = rng.uniform(0.5, 2.0) * A[:, src].toarray()
        else:
            A[rng.integers(n), j] = rng.uniform(0.5, 2.0)
    A = sp.csc_array(A)
    sign = rng.choice([-1.0, 1.0], k)
    lo = np.where(sign > 0, 0.0, -np.inf)
    hi = np.where(sign > 0, np.inf, 0.0)
    boxed = rng.random(k) < 0.3
    lo[boxed], hi[boxed] = -rng.uniform(0.1, 1.0, boxed.sum()), rng.uniform(0.1, 1.0, boxed.sum())
    lin = sign * rng.uniform(0.05, 0.5, k)
    x = np.clip(sign * rng.uniform(0.0, 1.0, k), lo, hi)
    return A, 3.0 * rng.standard_normal(n), x, lo, hi, lin


@pytest.mark.parametrize("dense_factor", [False, True])
@pytest.mark.parametrize("k", [15, 40, 70])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solve_face_on_sparse_columns_matches_clarabel_and_the_dense_solve(k, seed, dense_factor, monkeypatch):
    """scipy.sparse A_F (sparse products, sparse or dense factorizations of A_W^T A_W kept across the steps,
    null-space steps by components): the face's minimum value is Clarabel's and the dense solve's, with fewer
    and more free coordinates than rows and structurally rank-deficient components."""
    if dense_factor:
        monkeypatch.setattr(face, "SPARSE_DEGREE", 0.0)
    A, r, x, lo, hi, lin = _sparse_face(seed, 40, k, 0.06)
    y = solve_face(A, r, x, lo, hi, lin)
    assert np.all(y >= lo) and np.all(y <= hi)
    ref = _face_reference(A.toarray(), r, x, lo, hi, lin)
    assert _face_value(A, r, x, y, lin) == pytest.approx(ref, rel=1e-9, abs=1e-9)
    dense = solve_face(A.toarray(), r, x, lo, hi, lin)
    assert _face_value(A, r, x, y, lin) == pytest.approx(_face_value(A, r, x, dense, lin), rel=1e-10, abs=1e-10)


def test_sparse_null_space_step_by_components_is_the_dense_one():
    """The ray -g_N and the minimum-norm Newton step -(A^T A)^+ g by components equal the dense least-squares
    forms (a rank-deficient block: a repeated column and two one-entry columns in one row)."""
    rng = np.random.default_rng(3)
    A = sp.random(12, 8, density=0.3, random_state=3, format="lil")
    A[:, 5] = 2.0 * A[:, 1].toarray()
    A[:, 6] = 0.0
    A[:, 7] = 0.0
    A[4, 6], A[4, 7] = 1.0, -0.5
    A = sp.csc_array(A)
    idx = np.arange(8)
    gram = face._SparseGram(A)
    g = rng.standard_normal(8)
    d, ray = gram.null_space_step(A, idx, g)
    want, want_ray = face._null_space_step(A.toarray(), g)
    assert ray and want_ray
    np.testing.assert_allclose(d, want, atol=1e-12)
    g_range = A.T @ rng.standard_normal(12)  # no null-space component: the minimum-norm Newton step
    d, ray = gram.null_space_step(A, idx, g_range)
    want, want_ray = face._null_space_step(A.toarray(), g_range)
    assert not ray and not want_ray
    np.testing.assert_allclose(d, want, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("sparse_blocks", [False, True])
@pytest.mark.parametrize("density", [0.004, 0.01])
def test_cd_on_nearly_empty_sparse_columns_is_certified_at_clarabels_optimum(density, sparse_blocks, monkeypatch):
    """cd on wide scipy.sparse least squares with a 7-level ridge PAR at small lam (face polishes tried as soon
    as the free set settles, repolished on the new working set; their free blocks sparse, or dense as small
    blocks are): certified, at Clarabel's optimum."""
    from user_losses import clarabel_objective

    monkeypatch.setattr(face, "DENSE_ENTRIES", 0 if sparse_blocks else 10**9)

    rng = np.random.default_rng(int(density * 1e4))
    n, d = 120, 600
    A = sp.random(n, d, density=density, random_state=5, format="csc")
    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
    loss = LeastSquares(A, A @ rng.choice(cvxpar.grids.uniform(0.5, 7), d) + 0.1 * rng.standard_normal(n))
    lam = 0.001 * n
    res = cvxpar.solve(loss, psi, lam, method="cd", tol=1e-9)
    ref = clarabel_objective(loss, psi, lam)
    assert res.status == "optimal" and res.objective <= ref + 1e-7 * abs(ref), (res.message, res.objective, ref)
