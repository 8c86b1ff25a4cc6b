"""SparseGram: (shift I + sigma S A_J A_J^T S)^-1 r from sparse products equals a dense solve in both forms (the
n x n and the Woodbury |J| x |J|), also when its kept factor is reused; ssnal on a scipy.sparse A (never
densified) reaches the optimum CVXPY + Clarabel finds, for least squares and logistic."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from user_losses import clarabel_objective

import cvxpar
from cvxpar.losses import LeastSquares, Logistic
from cvxpar.solvers._sparse_gram import SparseGram

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


@pytest.mark.parametrize("scaled", [False, True])
def test_sparse_gram_solve_matches_the_dense_solve_in_both_forms(scaled):
    rng = np.random.default_rng(0)
    n, d = 30, 200
    A = sp.random(n, d, density=0.1, random_state=3, format="csc")
    gram = SparseGram(A)
    Ad = A.toarray()
    for k in (5, 29, 30, 120, 200):  # Woodbury below n free columns, the n x n form from n on
        mask = np.zeros(d, dtype=bool)
        mask[rng.permutation(d)[:k]] = True
        sigma, shift, r = rng.uniform(0.1, 50.0), rng.uniform(1.0, 30.0), rng.standard_normal(n)
        S = rng.uniform(0.2, 1.0, n) if scaled else np.ones(n)
        B = S[:, None] * Ad[:, mask]
        want = np.linalg.solve(shift * np.eye(n) + sigma * B @ B.T, r)
        got = gram.solve(mask, sigma, shift, r, scale=S if scaled else None)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
        again = gram.solve(mask, sigma, shift, 2 * r, scale=S if scaled else None)  # the kept factor
        np.testing.assert_allclose(again, 2 * want, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(gram(mask), Ad[:, mask] @ Ad[:, mask].T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["least squares", "logistic"])
def test_ssnal_on_sparse_data_matches_clarabel(kind, monkeypatch):
    rng = np.random.default_rng(1)
    n, d = 80, 400
    A = sp.random(n, d, density=0.05, random_state=4, format="csc")
    x = rng.choice(np.arange(-3, 4) * 0.5, d)
    if kind == "least squares":
        loss, lam = LeastSquares(A, A @ x + 0.1 * rng.standard_normal(n)), 0.05 * n
    else:
        loss, lam = Logistic(A, np.where(A @ x + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0)), 0.01 * n
    ref = clarabel_objective(loss, PSI, lam)
    res = cvxpar.solve(loss, PSI, lam, method="ssnal", tol=1e-9)
    assert res.status == "optimal" and res.objective <= ref + 1e-7 * abs(ref)
    # the Newton systems alone (no polish, whose exact step uses the free block densely) never densify A_J
    monkeypatch.setattr(sp.csc_array, "toarray", _refuse_blocks(sp.csc_array.toarray, n))
    res = cvxpar.solve(loss, PSI, lam, method="ssnal", tol=1e-9, polish=False)
    assert res.status == "optimal" and res.objective <= ref + 1e-7 * abs(ref)


def _refuse_blocks(toarray, n):
    """toarray that fails on a block of columns of the data (n rows, not the n x n product), so that a test
    sees the Newton systems densify A_J."""

    def guarded(self, *args, **kwargs):
        if self.shape[0] == n and self.shape[1] != n:
            raise AssertionError(f"a {self.shape} block of the sparse data was densified")
        return toarray(self, *args, **kwargs)

    return guarded
