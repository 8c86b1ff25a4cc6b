"""The polish's normal equations (B^T B) x = rhs in single precision with double-precision refinement
(``_gram.single_normal_solve``): against a float64 solve, LAPACK dsposv's stopping test, the refusals (too
ill-conditioned or out of float32's range) and the polish's float64 fallback, and a whole ssnal run
against its float64 twin and Clarabel."""

from __future__ import annotations

import numpy as np
import pytest
from solver_reference import reference_objective

import cvxpar
from cvxpar.losses import LeastSquares
from cvxpar.solvers import _gram
from cvxpar.solvers._gram import single_normal_solve
from cvxpar.solvers.polish import _normal_step

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _columns(n, k, cond, seed):
    """An n x k B (Fortran-ordered, as gathered from rows of A^T) with singular values spread
    geometrically over [1, cond], and a right-hand side."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, k)))
    V, _ = np.linalg.qr(rng.standard_normal((k, k)))
    B = np.asfortranarray((U * np.geomspace(1.0, cond, k)) @ V.T)
    return B, rng.standard_normal(k)


@pytest.mark.parametrize("cond", [1.0, 30.0, 1e3])
def test_single_precision_normal_equations_refine_to_the_double_precision_answer(cond):
    """kappa(B^T B) = cond^2 up to 1e6 (kappa 2^-24 < 1: the corrections contract): the answer meets
    dsposv's backward-error test and agrees with a float64 solve to the forward error both attain."""
    B, rhs = _columns(160, 120, cond, 0)
    x = single_normal_solve(B, rhs)
    P = B.T @ B
    exact = np.linalg.solve(P, rhs)
    eps = np.finfo(np.float64).eps
    r = rhs - P @ x
    assert np.abs(r).max() <= np.sqrt(120) * np.abs(P).sum(axis=1).max() * eps * np.abs(x).max()
    assert np.linalg.norm(x - exact) <= 100 * eps * cond**2 * np.linalg.norm(exact)


def test_the_inf_norm_of_a_symmetric_matrix_from_one_triangle():
    M = np.random.default_rng(1).standard_normal((300, 300))
    M = M + M.T
    for block in (1, 7, 256, 1000):
        assert _gram._symmetric_inf_norm(np.triu(M), block) == pytest.approx(np.abs(M).sum(axis=1).max(), rel=1e-13)


@pytest.mark.parametrize("case", ["ill-conditioned", "overflow", "underflow"])
def test_out_of_reach_of_single_precision_it_refuses_and_the_polish_solves_in_double(monkeypatch, case):
    """kappa(B^T B) = 1e10 (above 2^24: the corrections diverge), B^T B above float32's range, or below its
    smallest normal number: ``single_normal_solve`` returns None, and the polish step (with the single path
    enabled at this size) is the float64 solve's."""
    B, rhs = _columns(160, 120, 1e5 if case == "ill-conditioned" else 10.0, 2)
    B = np.asfortranarray(B * {"ill-conditioned": 1.0, "overflow": 1e21, "underflow": 1e-21}[case])
    assert single_normal_solve(B, rhs) is None
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 1)
    step = _normal_step(B, rhs)
    exact = np.linalg.solve(B.T @ B, rhs)
    np.testing.assert_allclose(step, exact, rtol=1e-5 if case == "ill-conditioned" else 1e-12)


def test_the_polish_takes_the_single_precision_path_from_its_size_on(monkeypatch):
    """Below NORMAL_SINGLE_MIN unknowns the normal equations are float64 only; from it on, single precision."""
    calls = []
    monkeypatch.setattr(_gram, "single_normal_solve", lambda B, rhs: calls.append(B.shape[1]) or None)
    B, rhs = _columns(40, 30, 10.0, 3)
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 31)
    _normal_step(B, rhs)
    assert calls == []
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 30)
    np.testing.assert_allclose(_normal_step(B, rhs), np.linalg.solve(B.T @ B, rhs), rtol=1e-12)  # None: float64
    assert calls == [30]


def test_ssnal_with_single_precision_polish_certifies_the_double_precision_optimum(monkeypatch):
    """A wide ridge PAR with every single-precision path allowed at this size (the Newton factors and the
    polish's normal equations): ssnal certifies the float64 run's optimum, at Clarabel's."""
    rng = np.random.default_rng(4)
    n, d = 60, 600
    A = rng.standard_normal((n, d))
    b = A @ (0.5 * rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    loss, lam = LeastSquares(A, b), 0.5 * n
    ref = cvxpar.solve(loss, PSI, lam, method="ssnal")
    solved = []  # the polish's solves (shift 0; the Newton systems' k x k form passes shift / sigma)
    real = _gram.single_normal_solve

    def spy(B, rhs, **kw):
        x = real(B, rhs, **kw)
        if not kw.get("shift"):
            solved.append(x)
        return x
    monkeypatch.setattr(_gram, "single_normal_solve", spy)
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 1)
    res = cvxpar.solve(loss, PSI, lam, method="ssnal")
    assert ref.status == res.status == "optimal"
    assert solved and all(x is not None for x in solved)
    assert abs(res.objective - ref.objective) <= 1e-13 * abs(ref.objective)
    assert res.objective <= reference_objective(A, b, PSI, lam) + 1e-7 * abs(res.objective)


@pytest.mark.parametrize(("cond", "shift"), [(1.0, 0.5), (1e3, 1e-2), (1e4, 1e2)])
def test_a_shifted_system_refines_to_the_double_precision_answer(cond, shift):
    """(B^T B + shift I) x = rhs (the k x k Woodbury form of ssnal's Newton systems): dsposv's backward-error
    test on the shifted matrix, and the float64 solve's answer to the forward error both attain."""
    B, rhs = _columns(160, 120, cond, 5)
    x = single_normal_solve(B, rhs, shift=shift)
    P = B.T @ B + shift * np.eye(120)
    exact = np.linalg.solve(P, rhs)
    eps = np.finfo(np.float64).eps
    assert np.abs(rhs - P @ x).max() <= np.sqrt(120) * np.abs(P).sum(axis=1).max() * eps * np.abs(x).max()
    kappa = np.linalg.cond(P)
    assert np.linalg.norm(x - exact) <= 100 * eps * kappa * np.linalg.norm(exact)


def test_the_shift_makes_a_rank_deficient_product_solvable():
    """More columns than rows (B^T B singular): with shift > 0 the system is positive definite and solved."""
    rng = np.random.default_rng(6)
    B = np.asfortranarray(rng.standard_normal((40, 90)))
    rhs = rng.standard_normal(90)
    x = single_normal_solve(B, rhs, shift=2.0)
    np.testing.assert_allclose(x, np.linalg.solve(B.T @ B + 2.0 * np.eye(90), rhs), rtol=1e-12, atol=1e-14)
