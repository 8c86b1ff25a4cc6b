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
