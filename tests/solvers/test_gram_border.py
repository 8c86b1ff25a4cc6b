"""The polish's normal equations on nearby free sets by bordering a kept factor (``_gram.NormalFactor``): against
a float64 dense solve and LAPACK dsposv's backward-error test, the fall-backs to a fresh factor (too many changed
columns, a Hessian factor whose columns moved), the singular cases (a bordered system whose new column repeats a
kept one), and the polish's second exact step on it."""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar.solvers import _gram
from cvxpar.solvers._gram import NormalFactor
from cvxpar.solvers.polish import _basic_step, _normal_step

EPS = np.finfo(np.float64).eps


def _data(n=240, d=480, k=160, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) * np.geomspace(1.0, 30.0, d)  # column norms over [1, 30]
    F = np.sort(rng.choice(d, k, replace=False))
    return rng, A, F


def _dsposv_test(B, x, rhs):
    """LAPACK dsposv's backward-error test on (B^T B) x = rhs."""
    P = B.T @ B
    r = rhs - P @ x
    return np.abs(r).max() <= np.sqrt(B.shape[1]) * np.abs(P).sum(axis=1).max() * EPS * np.abs(x).max()


def _solve(nf, A, F, rng):
    B = np.asfortranarray(A[:, F])
    rhs = rng.standard_normal(F.size)
    return B, rhs, nf.solve(B, F, rhs)


@pytest.mark.parametrize(("removed", "added"), [(0, 0), (1, 0), (0, 1), (3, 2), (12, 8)])
def test_a_bordered_solve_is_the_dense_solve(removed, added):
    """F2 = F1 minus ``removed`` of its columns plus ``added`` others: solved by bordering F1's factor (no fresh
    factorization), to dsposv's test and the float64 dense solve's answer."""
    rng, A, F1 = _data()
    nf = NormalFactor()
    B1, rhs1, x1 = _solve(nf, A, F1, rng)
    np.testing.assert_allclose(x1, np.linalg.solve(B1.T @ B1, rhs1), rtol=1e-9)
    out = np.setdiff1d(np.arange(A.shape[1]), F1)
    F2 = np.sort(np.concatenate([np.delete(F1, rng.choice(F1.size, removed, replace=False)),
                                 rng.choice(out, added, replace=False)]))
    B2, rhs2, x2 = _solve(nf, A, F2, rng)
    assert (nf.bordered, nf.fresh) == (1, 1)
    assert _dsposv_test(B2, x2, rhs2)
    exact = np.linalg.solve(B2.T @ B2, rhs2)
    assert np.linalg.norm(x2 - exact) <= 1e-9 * np.linalg.norm(exact)


def test_every_later_system_borders_the_first_factor():
    """Three systems after the first, each a few columns from F1 (not from each other): all bordered on F1's
    factor, each the dense solve's answer."""
    rng, A, F1 = _data(seed=1)
    nf = NormalFactor()
    _solve(nf, A, F1, rng)
    out = np.setdiff1d(np.arange(A.shape[1]), F1)
    for j in range(3):
        F = np.sort(np.concatenate([np.delete(F1, [j, 50 + j]), out[3 * j:3 * j + 2]]))
        B, rhs, x = _solve(nf, A, F, rng)
        np.testing.assert_allclose(x, np.linalg.solve(B.T @ B, rhs), rtol=1e-9)
    assert (nf.bordered, nf.fresh) == (3, 1)


def test_more_changed_columns_than_the_bound_take_a_fresh_factor():
    """|N| + |R| above k1 / BORDER_FRACTION: a fresh factorization (kept for the next), still the dense answer."""
    rng, A, F1 = _data(seed=2)
    nf = NormalFactor()
    _solve(nf, A, F1, rng)
    changed = F1.size // _gram.BORDER_FRACTION + 1
    F2 = np.sort(np.concatenate([F1[changed:], np.setdiff1d(np.arange(A.shape[1]), F1)[:1]]))
    B, rhs, x = _solve(nf, A, F2, rng)
    assert (nf.bordered, nf.fresh) == (0, 2)
    np.testing.assert_allclose(x, np.linalg.solve(B.T @ B, rhs), rtol=1e-9)
    assert nf.idx is not None and np.array_equal(nf.idx, F2)


def test_a_hessian_factor_that_moved_is_not_bordered():
    """B2 = diag(w) A_F2 with w != 1 (a loss whose h'' moved between the steps): the kept factor is of another
    matrix, so the system takes a fresh factor and is still solved exactly."""
    rng, A, F1 = _data(seed=3)
    nf = NormalFactor()
    _solve(nf, A, F1, rng)
    F2 = F1[1:]
    w = 1.0 + 0.1 * rng.random(A.shape[0])
    B2 = np.asfortranarray(w[:, None] * A[:, F2])
    rhs = rng.standard_normal(F2.size)
    x = nf.solve(B2, F2, rhs)
    assert (nf.bordered, nf.fresh) == (0, 2)
    np.testing.assert_allclose(x, np.linalg.solve(B2.T @ B2, rhs), rtol=1e-9)


@pytest.mark.parametrize("seed", [4, 6, 9])
def test_a_new_column_repeating_a_kept_one_makes_a_singular_system(seed):
    """F2 adds a column equal to one of F1's (B2^T B2 singular).  A consistent right-hand side (in the range of
    B2^T): the bordered solve returns a solution of the system to dsposv's test (any solution is an exact Newton
    step: the quadratic model takes the same value on all of them).  An inconsistent one: the bordered
    refinement and the fresh factorization both refuse (None), and the polish's exact step is its float64
    fall-back's, as without a kept factor."""
    rng, A, F1 = _data(seed=seed)
    A = A.copy()
    j = np.setdiff1d(np.arange(A.shape[1]), F1)[0]
    A[:, j] = A[:, F1[7]]
    F2 = np.sort(np.append(F1, j))
    B2 = np.asfortranarray(A[:, F2])
    nf = NormalFactor()
    _solve(nf, A, F1, rng)
    rhs = B2.T @ rng.standard_normal(A.shape[0])
    x = nf.solve(B2, F2, rhs)
    assert nf.bordered == 1
    assert _dsposv_test(B2, x, rhs)
    assert np.abs(x).max() <= 10 * np.abs(_basic_step(B2.T @ B2, rhs)).max()
    nf = NormalFactor()
    _solve(nf, A, F1, rng)
    rhs = rng.standard_normal(F2.size)
    assert nf.solve(B2, F2, rhs) is None
    assert nf.bordered == 0 and nf.factor is None
    nf = NormalFactor()
    _solve(nf, A, F1, rng)
    np.testing.assert_array_equal(_normal_step(B2, rhs, nf, F2), _normal_step(B2, rhs))


def test_removing_columns_down_to_a_rank_deficient_block_is_never_singular():
    """A rank-deficient F1 (two equal columns) has no factor to keep; removing one of the pair gives a regular
    F2, solved fresh; removing a kept column from a regular F1 only removes (B2^T B2 stays PD): bordered."""
    rng, A, F1 = _data(seed=5)
    A = A.copy()
    A[:, F1[3]] = A[:, F1[4]]
    nf = NormalFactor()
    B1 = np.asfortranarray(A[:, F1])
    assert nf.solve(B1, F1, rng.standard_normal(F1.size)) is None
    assert nf.idx is None and nf.factor is None
    F2 = np.delete(F1, 3)
    B, rhs, x = _solve(nf, A, F2, rng)
    assert (nf.bordered, nf.fresh) == (0, 1)
    np.testing.assert_allclose(x, np.linalg.solve(B.T @ B, rhs), rtol=1e-9)
    B, rhs, x = _solve(nf, A, np.delete(F2, [0, 10]), rng)
    assert (nf.bordered, nf.fresh) == (1, 1)
    np.testing.assert_allclose(x, np.linalg.solve(B.T @ B, rhs), rtol=1e-9)


def test_the_polish_borders_its_second_exact_step(monkeypatch):
    """Two exact polish steps on least squares (single precision from one unknown on): the second borders the
    first's factor, and the polished point is certified at the optimum of the float64 polish."""
    import cvxpar
    from cvxpar.losses import LeastSquares

    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
    rng = np.random.default_rng(5)
    n, d = 100, 1000
    A = rng.standard_normal((n, d))
    b = A @ (0.5 * rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    loss, lam = LeastSquares(A, b), 0.5 * n
    ref = cvxpar.solve(loss, psi, lam, method="ssnal")
    counts = []
    real = NormalFactor.solve

    def spy(self, B, idx, rhs):
        x = real(self, B, idx, rhs)
        counts.append((self.bordered, x is not None))
        return x
    monkeypatch.setattr(NormalFactor, "solve", spy)
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 1)
    res = cvxpar.solve(loss, psi, lam, method="ssnal")
    assert any(bordered for bordered, _ in counts)
    assert all(ok for _, ok in counts)
    assert ref.status == res.status == "optimal"
    assert abs(res.objective - ref.objective) <= 1e-13 * abs(ref.objective)
