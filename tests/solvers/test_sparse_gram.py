"""SparseGram: (shift I + sigma S A_J A_J^T S)^-1 r from sparse products equals a dense solve in both forms (the
n x n and the Woodbury |J| x |J|), also when its kept factor is reused as it is or corrected for a few changed
columns, and by conjugate gradients where they are cheaper than the factorization (with the factorization as
the fallback when CG runs out of steps); ssnal on a scipy.sparse A (never densified) reaches the optimum
CVXPY + Clarabel finds, for least squares and logistic."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from user_losses import clarabel_objective

import cvxpar
from cvxpar.losses import LeastSquares, Logistic
from cvxpar.solvers import _sparse_gram
from cvxpar.solvers._gram import FreeGram
from cvxpar.solvers._sparse_gram import SparseGram, conjugate_gradient, newton_systems

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


@pytest.mark.parametrize("k", [300, 1500])
def test_sparse_gram_solves_large_blocks_by_conjugate_gradients(k, monkeypatch):
    """n = 400 rows: |J| = 300 (Woodbury's regime, n - |J| eigenvalues equal to the shift) and 1500 (the n x n
    form) take the CG path at a small sigma (no factorization), and every path agrees with a dense solve; with a
    budget of one step CG gives up, and without a budget the factorization answers."""
    rng = np.random.default_rng(2)
    n, d = 400, 4000
    A = sp.random(n, d, density=0.01, random_state=5, format="csc")
    mask = np.zeros(d, dtype=bool)
    mask[rng.permutation(d)[:k]] = True
    B = A.toarray()[:, mask]
    r = rng.standard_normal(n)
    for sigma in (0.05, 5.0):  # CG converges within its budget at the small sigma; either path at the large one
        want = np.linalg.solve(np.eye(n) + sigma * B @ B.T, r)
        gram = SparseGram(A)
        got = gram.solve(mask, sigma, 1.0, r)
        assert (gram.cg_solves, gram.factorizations) == (1, 0) or sigma > 1.0
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    assert conjugate_gradient(A, np.flatnonzero(mask), 5.0, 1.0, r, 1) is None
    monkeypatch.setattr(_sparse_gram, "CG_COST_RATIO", 1e9)  # no budget: the factorization
    gram = SparseGram(A)
    np.testing.assert_allclose(gram.solve(mask, 5.0, 1.0, r), want, rtol=1e-9, atol=1e-11)
    assert (gram.cg_solves, gram.factorizations) == (0, 1)


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("k0", [60, 500])  # the kept factorization in the |J| x |J| and in the n x n form
def test_sparse_gram_corrects_the_kept_factorization_when_few_columns_change(k0, scaled, monkeypatch):
    """A sequence of free sets that each differ from the last by a few columns (entering and leaving), at the
    same sigma, shift and S: after the first factorization the answers come from the kept one through
    Woodbury's identity (with factorizations priced high, so that the correction pays in both forms), and each
    equals a dense solve; a new sigma factors afresh."""
    monkeypatch.setattr(_sparse_gram, "CG_MIN_STEPS", 10**9)  # no CG: the factorization and its corrections
    monkeypatch.setattr(_sparse_gram, "SCATTER_COST", 1e6)
    rng = np.random.default_rng(3)
    n, d = 200, 1500
    A = sp.random(n, d, density=0.03, random_state=9, format="csc")
    Ad = A.toarray()
    S = rng.uniform(0.2, 1.0, n) if scaled else None
    Sd = np.ones(n) if S is None else S
    gram = SparseGram(A)
    mask = np.zeros(d, dtype=bool)
    mask[rng.permutation(d)[:k0]] = True
    sigma, shift = 7.0, 1.5
    for _ in range(6):
        r = rng.standard_normal(n)
        B = Sd[:, None] * Ad[:, mask]
        want = np.linalg.solve(shift * np.eye(n) + sigma * B @ B.T, r)
        np.testing.assert_allclose(gram.solve(mask, sigma, shift, r, scale=S), want, rtol=1e-8, atol=1e-10)
        flip = rng.permutation(d)[:3]
        mask[flip] = ~mask[flip]
    assert gram.factorizations == 1 and gram.woodbury_solves == 5
    gram.solve(mask, 2 * sigma, shift, r, scale=S)
    assert gram.factorizations == 2
    monkeypatch.setattr(_sparse_gram, "SCATTER_COST", 70.0)  # a cheap factorization: no correction
    gram = SparseGram(A)
    for _ in range(2):
        gram.solve(mask, sigma, shift, r, scale=S)
        flip = rng.permutation(d)[:3]
        mask[flip] = ~mask[flip]
    assert gram.woodbury_solves == 0 or k0 > 100


def test_sparse_gram_forms_the_gram_by_blocks_for_dense_columns(monkeypatch):
    """With the scattered outer products priced out, A_J A_J^T comes from BLAS syrk on dense column blocks
    (several blocks), and both agree with the dense product, as do the solves."""
    monkeypatch.setattr(_sparse_gram, "SYRK_BLOCK", 16)
    rng = np.random.default_rng(4)
    n, d = 50, 300
    A = sp.random(n, d, density=0.3, random_state=2, format="csc")
    mask = rng.random(d) < 0.5
    AJ = A.toarray()[:, mask]
    scattered = SparseGram(A)(mask)
    monkeypatch.setattr(_sparse_gram, "SCATTER_COST", 1e9)
    blocked = SparseGram(A)(mask)
    np.testing.assert_allclose(scattered, AJ @ AJ.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocked, AJ @ AJ.T, rtol=1e-12, atol=1e-12)
    r = rng.standard_normal(n)
    np.testing.assert_allclose(SparseGram(A).solve(mask, 3.0, 1.0, r), np.linalg.solve(np.eye(n) + 3.0 * AJ @ AJ.T, r),
                               rtol=1e-9, atol=1e-11)


def test_sparse_gram_sums_duplicate_entries():
    """A COO matrix with repeated (i, j) entries means their sum: the Gram and the solves see the summed matrix."""
    rows, cols, vals = [0, 0, 1, 2, 2], [0, 0, 1, 1, 2], [1.0, 2.0, -1.0, 0.5, 4.0]
    A = sp.coo_array((vals, (rows, cols)), shape=(3, 3))
    mask = np.ones(3, dtype=bool)
    Ad = A.toarray()
    np.testing.assert_allclose(SparseGram(A)(mask), Ad @ Ad.T)
    r = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(SparseGram(A).solve(mask, 2.0, 1.0, r), np.linalg.solve(np.eye(3) + 2.0 * Ad @ Ad.T, r))


def test_newton_systems_run_on_a_dense_copy_only_for_dense_enough_data_within_the_memory_budget(monkeypatch):
    """The rule: a dense copy (FreeGram) from DENSE_MIN_DENSITY nonzeros on, when the copy fits DENSE_MAX_BYTES;
    sparse products (SparseGram) below that density or above that size; the copy holds A's values."""
    n, d = 40, 100
    sparse = sp.random(n, d, density=0.05, random_state=1, format="csc")
    dense = sp.random(n, d, density=0.3, random_state=1, format="csc")
    assert isinstance(newton_systems(sparse), SparseGram)
    gram = newton_systems(dense)
    assert isinstance(gram, FreeGram)
    np.testing.assert_array_equal(gram.A, dense.toarray())
    monkeypatch.setattr(_sparse_gram, "DENSE_MAX_BYTES", 8 * n * d - 1)  # one byte short of the copy
    assert isinstance(newton_systems(dense), SparseGram)
    monkeypatch.setattr(_sparse_gram, "DENSE_MAX_BYTES", 8 * n * d)
    monkeypatch.setattr(_sparse_gram, "DENSE_MIN_DENSITY", 0.31)
    assert isinstance(newton_systems(dense), SparseGram)


@pytest.mark.parametrize("density", [0.003, 0.03, 0.3])
@pytest.mark.parametrize("kind", ["least squares", "logistic"])
def test_auto_on_sparse_data_of_several_densities_matches_clarabel(kind, density, monkeypatch):
    """Method auto on scipy.sparse data from nearly empty columns (0.3 %) to the dense-copy regime (30 %): the
    certified answer is at Clarabel's optimum, and ssnal's Newton systems took the path the rule says."""
    rng = np.random.default_rng(int(1000 * density))
    n, d = 60, 300
    A = sp.random(n, d, density=density, random_state=8, format="csc")
    x = rng.choice(np.arange(-3, 4) * 0.5, d)
    if kind == "least squares":
        loss, lam = LeastSquares(A, A @ x + 0.1 * rng.standard_normal(n)), 0.01 * n
    else:
        loss, lam = Logistic(A, np.where(A @ x + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0)), 0.01 * n
    made = []

    def recorded(data):
        made.append(newton_systems(data))
        return made[-1]

    monkeypatch.setattr("cvxpar.solvers.ssnal.newton_systems", recorded)
    ref = clarabel_objective(loss, PSI, lam)
    for method in ("auto", "ssnal"):
        res = cvxpar.solve(loss, PSI, lam, method=method, tol=1e-9)
        assert res.status == "optimal" and res.objective <= ref + 1e-7 * abs(ref), (method, res.message)
    assert made and all(isinstance(g, FreeGram if density > 0.15 else SparseGram) for g in made)


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


def test_ssnal_with_conjugate_gradient_newton_systems_matches_clarabel(monkeypatch):
    """300 x 3000 at 1% density: some Newton systems of ssnal are solved by CG (counted), and the certified
    answer is the optimum Clarabel finds."""
    rng = np.random.default_rng(6)
    n, d = 300, 3000
    A = sp.random(n, d, density=0.01, random_state=7, format="csc")
    loss = LeastSquares(A, A @ rng.choice(np.arange(-3, 4) * 0.5, d) + 0.1 * rng.standard_normal(n))
    solved = []

    def counted(*args):
        x, converged = kernel(*args)
        solved.append(converged)
        return x, converged

    kernel = _sparse_gram._kernels().conjugate_gradient
    monkeypatch.setattr(_sparse_gram._kernels(), "conjugate_gradient", counted)
    res = cvxpar.solve(loss, PSI, 0.05 * n, method="ssnal", tol=1e-9)
    assert any(solved)
    ref = clarabel_objective(loss, PSI, 0.05 * n)
    assert res.status == "optimal" and res.objective <= ref + 1e-7 * abs(ref)


@pytest.mark.parametrize("costs", ["measured", "factorizations dear", "no CG"])
def test_sparse_gram_solves_random_sequences_to_the_dense_answer(costs, monkeypatch):
    """Random data (CSC, CSR and COO, float32 and float64, 1-40 rows, densities 1-60 %), masks, scalings, sigma and
    shift, each followed by Newton-like steps that flip a few columns: every answer, by whichever path the costs
    pick (a factorization, its Woodbury correction or CG), solves the dense system to a relative residual of 1e-8."""
    if costs == "factorizations dear":
        monkeypatch.setattr(_sparse_gram, "SCATTER_COST", 1e6)
    if costs == "no CG":
        monkeypatch.setattr(_sparse_gram, "CG_MIN_STEPS", 10**9)
    rng = np.random.default_rng(["measured", "factorizations dear", "no CG"].index(costs))
    for trial in range(25):
        n, d = int(rng.integers(1, 40)), int(rng.integers(1, 120))
        A = sp.random(n, d, density=float(rng.choice([0.01, 0.05, 0.2, 0.6])), random_state=trial,
                      format=str(rng.choice(["csc", "csr", "coo"])), dtype=rng.choice([np.float32, np.float64]))
        gram, Ad = SparseGram(A), A.toarray().astype(np.float64)
        mask = rng.random(d) < rng.uniform(0.05, 1.0)
        sigma, shift = 10 ** rng.uniform(-3, 4), 10 ** rng.uniform(-1, 1)
        S = rng.uniform(0.1, 2.0, n) if rng.random() < 0.5 else None
        for _ in range(4):
            r = rng.standard_normal(n)
            B = (np.ones(n) if S is None else S)[:, None] * Ad[:, mask]
            M = shift * np.eye(n) + sigma * B @ B.T
            x = gram.solve(mask.copy(), sigma, shift, r, scale=S)
            assert np.linalg.norm(M @ x - r) <= 1e-8 * np.linalg.norm(r)
            flip = rng.permutation(d)[: int(rng.integers(0, 4))]
            mask[flip] = ~mask[flip]


@pytest.mark.parametrize("scaled", [False, True])
def test_sparse_gram_factors_nearly_empty_columns_sparsely_and_matches_the_dense_solve(scaled, monkeypatch):
    """At 0.5 % density (columns of 0-2 nonzeros) B B^T has a few nonzeros per row: with its set-up cost waived
    (at this n the dense forms are cheaper) the solve takes the sparse factorization (rows no column couples are
    diagonal, the rest factored by SuperLU), for one and several right-hand sides, and agrees with a dense solve."""
    monkeypatch.setattr(_sparse_gram, "SPARSE_SETUP_COST", 0.0)
    rng = np.random.default_rng(3)
    n, d = 200, 1000
    A = sp.random(n, d, density=0.005, random_state=9, format="csc")
    Ad = A.toarray()
    gram = SparseGram(A)
    for k in (20, 300, 1000):
        mask = np.zeros(d, dtype=bool)
        mask[rng.permutation(d)[:k]] = True
        sigma, shift = rng.uniform(0.1, 1e3), rng.uniform(0.5, 3.0)
        S = rng.uniform(0.2, 1.0, n) if scaled else None
        B = (np.ones(n) if S is None else S)[:, None] * Ad[:, mask]
        M = shift * np.eye(n) + sigma * B @ B.T
        before = gram.sparse_factorizations
        r = rng.standard_normal(n)
        np.testing.assert_allclose(gram.solve(mask, sigma, shift, r, scale=S), np.linalg.solve(M, r), rtol=1e-9,
                                   atol=1e-12)
        assert gram.sparse_factorizations == before + 1
        R = rng.standard_normal((n, 3))
        np.testing.assert_allclose(gram._kept.inverse(R), np.linalg.solve(M, R), rtol=1e-9, atol=1e-12)


def test_sparse_gram_stops_factoring_sparsely_where_the_factors_filled_in(monkeypatch):
    """Once a sparse factorization fills in beyond its limit, free sets with as many products sum_j nnz(b_j)^2 take
    the dense forms; smaller ones are factored sparsely again.  Every answer matches the dense solve."""
    monkeypatch.setattr(_sparse_gram, "SPARSE_DIRECT_FILL", 0.0)  # every sparse factorization counts as filled in
    monkeypatch.setattr(_sparse_gram, "SPARSE_SETUP_COST", 0.0)
    monkeypatch.setattr(_sparse_gram, "CG_MIN_STEPS", 10**9)
    rng = np.random.default_rng(4)
    n, d = 100, 500
    A = sp.random(n, d, density=0.01, random_state=2, format="csc")
    Ad = A.toarray()
    gram = SparseGram(A)
    big = np.ones(d, dtype=bool)
    small = np.zeros(d, dtype=bool)
    small[:100] = True
    for mask, sparse in ((big, True), (big, False), (small, True)):
        r = rng.standard_normal(n)
        gram._kept = None
        before = gram.sparse_factorizations
        x = gram.solve(mask, 5.0, 1.0, r)
        np.testing.assert_allclose(x, np.linalg.solve(np.eye(n) + 5.0 * Ad[:, mask] @ Ad[:, mask].T, r), rtol=1e-9)
        assert (gram.sparse_factorizations > before) == sparse


def test_ssnal_on_nearly_empty_sparse_columns_factors_sparsely_and_matches_clarabel(monkeypatch):
    """300 x 1500 at 0.3 % (most columns with 0-2 nonzeros, the sweep's hardest sparse rows in miniature): with the
    sparse factorization's set-up cost waived (at n = 300 the dense forms cost less), ssnal's Newton systems take
    sparse factorizations, and the certified answer is Clarabel's optimum."""
    monkeypatch.setattr(_sparse_gram, "SPARSE_SETUP_COST", 0.0)
    rng = np.random.default_rng(7)
    n, d = 300, 1500
    A = sp.random(n, d, density=0.003, random_state=11, format="csc")
    loss = LeastSquares(A, A @ rng.choice(np.arange(-3, 4) * 0.5, d) + 0.1 * rng.standard_normal(n))
    made = []

    def recorded(data):
        made.append(newton_systems(data))
        return made[-1]

    monkeypatch.setattr("cvxpar.solvers.ssnal.newton_systems", recorded)
    res = cvxpar.solve(loss, PSI, 0.001 * n, method="ssnal", tol=1e-9)
    assert made and made[0].sparse_factorizations > 0
    ref = clarabel_objective(loss, PSI, 0.001 * n)
    assert res.status == "optimal" and res.objective <= ref + 1e-7 * abs(ref)


def test_sparse_gram_keeps_the_dense_forms_where_they_cost_less_than_the_sparse_set_up(monkeypatch):
    """1000 rows at 0.1 %, CG off: a free set of 20 columns takes the |J| x |J| form (a few thousand flops, below
    SuperLU's set-up), one of 1000 columns the sparse factorization (the dense n x n form costs n^3 / 3); both
    answers solve the dense system."""
    monkeypatch.setattr(_sparse_gram, "CG_MIN_STEPS", 10**9)
    rng = np.random.default_rng(8)
    n, d = 1000, 5000
    A = sp.random(n, d, density=0.001, random_state=12, format="csc")
    Ad = A.toarray()
    for k, sparse in ((20, False), (1000, True)):
        gram = SparseGram(A)
        mask = np.zeros(d, dtype=bool)
        mask[rng.permutation(d)[:k]] = True
        r = rng.standard_normal(n)
        x = gram.solve(mask, 500.0, 1.0, r)
        B = Ad[:, mask]
        assert np.linalg.norm(r - x - 500.0 * B @ (B.T @ x)) <= 1e-10 * np.linalg.norm(r)
        assert (gram.sparse_factorizations == 1) == sparse and gram.factorizations == 1


def test_sparse_gram_refines_ill_conditioned_corrections_instead_of_refactoring(monkeypatch):
    """Columns scaled over 0.1 .. 10 at a large sigma: Woodbury corrections of the kept factorization lose
    accuracy, and iterative refinement with the same corrected solve brings each answer to the dense solve's
    (the residual check) without a new factorization; without refinement some of them refactor."""
    monkeypatch.setattr(_sparse_gram, "CG_MIN_STEPS", 10**9)
    rng = np.random.default_rng(8)
    n, d = 150, 900
    A = sp.csc_array(sp.random(n, d, density=0.04, random_state=2, format="csc") @ sp.diags(10.0 ** rng.uniform(-1, 1, d)))
    Ad = A.toarray()
    counts = {}
    for refine in (0, _sparse_gram.WOODBURY_REFINE):
        monkeypatch.setattr(_sparse_gram, "WOODBURY_REFINE", refine)
        gram = SparseGram(A)
        mask = np.zeros(d, dtype=bool)
        mask[np.random.default_rng(1).permutation(d)[:120]] = True
        flips = np.random.default_rng(2)
        sigma, shift = 1e4, 1.0
        for _ in range(12):
            r = rng.standard_normal(n)
            want = np.linalg.solve(shift * np.eye(n) + sigma * Ad[:, mask] @ Ad[:, mask].T, r)
            got = gram.solve(mask, sigma, shift, r)
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9 * np.abs(want).max())
            flip = flips.permutation(d)[:2]
            mask[flip] = ~mask[flip]
        counts[refine] = (gram.factorizations, gram.woodbury_refinements)
    assert counts[_sparse_gram.WOODBURY_REFINE][1] > 0
    assert counts[_sparse_gram.WOODBURY_REFINE][0] < counts[0][0], counts


@pytest.mark.parametrize("k", [300, 1500])
def test_sparse_gram_solves_to_the_asked_relative_residual(k):
    """With a loose rtol (an inexact Newton method) CG stops early: the answer's residual, against the dense
    matrix, is within rtol ||r|| but not exact, it is a descent direction (r^T x > 0), and it took fewer CG steps
    than the default tolerance's exact answer; the Woodbury correction of a kept factor is checked to the same
    rtol."""
    rng = np.random.default_rng(8)
    n, d = 400, 4000
    A = sp.random(n, d, density=0.01, random_state=9, format="csc")
    mask = np.zeros(d, dtype=bool)
    mask[rng.permutation(d)[:k]] = True
    B = A.toarray()[:, mask]
    r = rng.standard_normal(n)
    M = np.eye(n) + 5.0 * B @ B.T
    exact, loose = SparseGram(A), SparseGram(A)
    x_exact, x_loose = exact.solve(mask, 5.0, 1.0, r), loose.solve(mask, 5.0, 1.0, r, rtol=0.3)
    assert (loose.cg_solves, loose.factorizations) == (1, 0)
    assert np.linalg.norm(M @ x_exact - r) <= 1e-9 * np.linalg.norm(r)
    residual = np.linalg.norm(M @ x_loose - r)
    assert 1e-6 * np.linalg.norm(r) < residual <= 0.3 * np.linalg.norm(r)
    assert r @ x_loose > 0.0
    steps = []
    for rtol in (_sparse_gram.CG_RTOL, 0.3):
        for budget in range(1, 400):
            if conjugate_gradient(A, np.flatnonzero(mask), 5.0, 1.0, r, budget, rtol=rtol) is not None:
                steps.append(budget)
                break
    assert steps[1] < steps[0] / 2
    # the Woodbury correction of a kept factorization, checked to the asked residual
    gram = SparseGram(A)
    small = mask & (np.cumsum(mask) <= 60)
    gram.solve(small, 50.0, 1.0, r)  # kept: the |J| x |J| factorization (CG would need many steps at sigma 50)
    changed = small.copy()
    changed[np.flatnonzero(~small)[:3]] = True
    Bc = A.toarray()[:, changed]
    x = gram.solve(changed, 50.0, 1.0, r, rtol=0.3)
    assert np.linalg.norm((np.eye(n) + 50.0 * Bc @ Bc.T) @ x - r) <= 0.3 * np.linalg.norm(r)


@pytest.mark.parametrize("box", [False, True])
def test_ssnal_solves_sparse_newton_systems_inexactly_and_matches_clarabel(box, monkeypatch):
    """ssnal on sparse least squares (300 x 3000 at 1 %, lam 0.001 n, with and without a Box) asks CG for the
    inexact Newton method's residual SPARSE_NEWTON_RTOL, and its certified answer is the optimum Clarabel finds."""
    from cvxpar.constraints import Box
    from cvxpar.solvers import ssnal

    rng = np.random.default_rng(10)
    n, d = 300, 3000
    A = sp.random(n, d, density=0.01, random_state=11, format="csc")
    loss = LeastSquares(A, A @ rng.choice(np.arange(-3, 4) * 0.5, d) + 0.1 * rng.standard_normal(n))
    cons = Box(-1.0, 1.0) if box else None
    asked = []

    def counted(*args):
        asked.append(args[-1])
        return kernel(*args)

    kernel = _sparse_gram._kernels().conjugate_gradient
    monkeypatch.setattr(_sparse_gram._kernels(), "conjugate_gradient", counted)
    res = cvxpar.solve(loss, PSI, 0.001 * n, cons, method="ssnal", tol=1e-9)
    assert ssnal.SPARSE_NEWTON_RTOL in asked
    ref = clarabel_objective(loss, PSI, 0.001 * n, (-1.0, 1.0) if box else None)
    assert res.status == "optimal" and res.objective <= ref + 1e-8 * abs(ref)
