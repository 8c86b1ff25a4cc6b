"""FreeGram's bookkeeping: the blocked transpose equals A^T, a change of more columns than the
fresh product has re-forms A_J A_J^T afresh (the cheaper way) and still equals the direct product,
and ||A||_2^2 by Lanczos against LAPACK's SVD."""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar.solvers import _gram
from cvxpar.solvers._gram import FreeGram, lanczos_top_eigenvalue, populated, transposed, transposed_copies


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("block", [1, 7, 256])
@pytest.mark.parametrize("rows", [1, 5, 512])
def test_transposed_equals_the_transpose_and_is_c_contiguous(order, block, rows):
    A = np.asarray(np.random.default_rng(0).standard_normal((13, 50)), order=order)
    T = transposed(A, block=block, rows=rows)
    assert T.flags.c_contiguous
    np.testing.assert_array_equal(T, A.T)
    assert np.shares_memory(T, A) == (order == "F")  # a view only when A^T is already contiguous


@pytest.mark.parametrize("shape", [(3, 4), (1024, 1024), (600, 1100)])
def test_populated_arrays_are_writable_zeros_that_outlive_their_map(shape):
    X = populated(shape)
    np.testing.assert_array_equal(X, np.zeros(shape))
    assert X.flags.c_contiguous and X.flags.writeable and X.dtype == np.float64
    big = X.nbytes >= _gram.POPULATE_BYTES and hasattr(__import__("mmap"), "MAP_POPULATE")
    assert (X.base is not None) == big  # the large ones live on their own memory map
    X[...] = 2.0
    Y = X.T @ X  # BLAS reads it like any array
    np.testing.assert_array_equal(Y, np.full((shape[1], shape[1]), 4.0 * shape[0]))


@pytest.mark.parametrize("block, rows", [(7, 5), (256, 512), (3, 1000)])
def test_transposed_copies_in_two_precisions_equal_the_transpose_tile_by_tile(block, rows):
    A = np.random.default_rng(2).standard_normal((37, 90))
    T64, T32 = transposed_copies(A, (np.float64, np.float32), block, rows)
    np.testing.assert_array_equal(T64, A.T)
    np.testing.assert_array_equal(T32, A.T.astype(np.float32))
    assert T64.flags.c_contiguous and T32.flags.c_contiguous


@pytest.mark.parametrize("shape", [(15, 60), (700, 900)])  # the larger gather (4.5 MB) on a populated map
def test_free_columns_are_the_columns_of_a_fortran_ordered(shape):
    A = np.random.default_rng(4).standard_normal(shape)
    idx = np.flatnonzero(np.random.default_rng(5).random(shape[1]) < 0.9)
    B = FreeGram(A).free_columns(idx)
    np.testing.assert_array_equal(B, A[:, idx])
    assert B.flags.f_contiguous


def test_transposed_copy_of_a_large_matrix_is_exact():
    A = np.random.default_rng(3).standard_normal((700, 800))  # 4.5 MB: on a populated map
    np.testing.assert_array_equal(transposed(A), A.T)


def test_a_large_change_of_the_free_set_forms_the_product_afresh_and_matches():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((15, 60))
    gram = FreeGram(A)
    first = np.zeros(60, dtype=bool)
    first[:30] = True  # k = 30 = d - k
    gram(first)
    second = first.copy()
    second[:20] = False
    second[30:45] = True  # 35 columns changed > k = 25: an update would cost more than a fresh product
    G = gram(second)
    assert gram._drift == 0  # formed afresh, not updated
    np.testing.assert_allclose(G, A[:, second] @ A[:, second].T, rtol=1e-12, atol=1e-12)
    third = second.copy()
    third[45:48] = True  # a small change: updated in place
    np.testing.assert_allclose(gram(third), A[:, third] @ A[:, third].T, rtol=1e-12, atol=1e-12)
    assert gram._drift == 3


def _direct(A, mask, sigma, shift, rhs):
    return np.linalg.solve(shift * np.eye(A.shape[0]) + sigma * A[:, mask] @ A[:, mask].T, rhs)


def test_small_changes_of_the_free_set_reuse_the_factor_through_woodbury_and_match_direct():
    """Columns entering and leaving J (same sigma and shift): one factorization, every later system
    through Woodbury's identity on the kept factor, each equal to the direct solve."""
    rng = np.random.default_rng(2)
    n, d = 80, 400  # 5 steps of 2 columns stay within n / WOODBURY_FRACTION of the factor's set
    A = rng.standard_normal((n, d))
    gram = FreeGram(A)
    mask = rng.random(d) < 0.5
    sigma, shift = 3.0, 1.5
    for _ in range(6):
        rhs = rng.standard_normal(n)
        x = gram.solve(mask, sigma, shift, rhs)
        np.testing.assert_allclose(x, _direct(A, mask, sigma, shift, rhs), rtol=1e-8, atol=1e-10)
        mask = mask.copy()
        mask[rng.choice(np.flatnonzero(mask))] = False  # one column leaves J, one enters
        mask[rng.choice(np.flatnonzero(~mask))] = True
    assert gram.factorizations == 1 and gram.woodbury_solves == 5
    mask[: n] = ~mask[: n]  # n columns differ from the factor's set: > n / WOODBURY_FRACTION, factored afresh
    rhs = rng.standard_normal(n)
    np.testing.assert_allclose(gram.solve(mask, sigma, shift, rhs), _direct(A, mask, sigma, shift, rhs),
                               rtol=1e-8, atol=1e-10)
    assert gram.factorizations == 2
    rhs = rng.standard_normal(n)  # a new shift: the kept factor does not apply
    np.testing.assert_allclose(gram.solve(mask, sigma, 2 * shift, rhs), _direct(A, mask, sigma, 2 * shift, rhs),
                               rtol=1e-8, atol=1e-10)
    assert gram.factorizations == 3


def test_woodbury_keeps_its_columns_between_solves_and_matches_a_fresh_computation():
    """Columns enter J, leave it and return to the factor's set: the kept L^-1 A_D and its Gram equal a
    fresh triangular solve over the current D (reused rows in the new order, new ones appended), and each
    answer equals the direct solve."""
    from scipy.linalg import solve_triangular

    rng = np.random.default_rng(5)
    n, d = 96, 300
    A = rng.standard_normal((n, d))
    gram = FreeGram(A)
    base = rng.random(d) < 0.5
    sigma, shift = 2.5, 1.0
    gram.solve(base, sigma, shift, rng.standard_normal(n))
    on, off = np.flatnonzero(~base), np.flatnonzero(base)
    masks = []
    mask = base.copy()
    for step in range(4):  # D grows to 8 <= n / WOODBURY_FRACTION columns
        mask = mask.copy()
        mask[on[step]] = True
        mask[off[step]] = False
        masks.append(mask)
    back = masks[-1].copy()
    back[on[1:3]] = False  # two columns return to the factor's set: D shrinks
    back[on[20]] = True
    masks.append(back)
    for mask in masks:
        rhs = rng.standard_normal(n)
        np.testing.assert_allclose(gram.solve(mask, sigma, shift, rhs), _direct(A, mask, sigma, shift, rhs),
                                   rtol=1e-8, atol=1e-10)
        D = np.flatnonzero(mask != base)
        np.testing.assert_array_equal(gram._wcols, D)
        L = np.tril(gram._factor)
        W = solve_triangular(L, A[:, D], lower=True)
        np.testing.assert_allclose(gram._Wt, W.T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gram._WtW, W.T @ W, rtol=1e-10, atol=1e-10)
    assert gram.factorizations == 1 and gram.woodbury_solves == len(masks)


def test_woodbury_falls_back_to_a_fresh_factor_when_its_residual_is_too_large(monkeypatch):
    from cvxpar.solvers import _gram

    rng = np.random.default_rng(4)
    A = rng.standard_normal((30, 90))
    gram = FreeGram(A)
    mask = rng.random(90) < 0.5
    gram.solve(mask, 2.0, 1.0, rng.standard_normal(30))
    mask = mask.copy()
    mask[:2] = ~mask[:2]
    monkeypatch.setattr(_gram, "WOODBURY_RTOL", 0.0)  # no residual is small enough
    rhs = rng.standard_normal(30)
    np.testing.assert_allclose(gram.solve(mask, 2.0, 1.0, rhs), _direct(A, mask, 2.0, 1.0, rhs), rtol=1e-8, atol=1e-10)
    assert gram.factorizations == 2 and gram.woodbury_solves == 0


def test_well_conditioned_systems_are_solved_by_cg_without_the_n_by_n_matrix(monkeypatch):
    """Once ||A||^2 is known, a system with 1 + sigma ||A||^2 / shift <= CG_MAX_COND is solved by CG to
    relative residual CG_RTOL, with no A_J A_J^T formed, through either product form (CG's cost
    factor set to 0 so that it is chosen at this small size)."""
    from cvxpar.solvers import _gram
    from cvxpar.solvers._gram import CG_MAX_COND, CG_RTOL

    monkeypatch.setattr(_gram, "CG_GEMV_COST", 0.0)

    rng = np.random.default_rng(3)
    n, d = 30, 300
    A = rng.standard_normal((n, d))
    gram = FreeGram(A)
    L = gram.norm2_squared()
    assert L >= np.linalg.norm(A, 2) ** 2
    sigma, shift = 0.5 * CG_MAX_COND / L, 1.0
    for frac in (0.3, 0.8):  # gathered free rows of A^T, and A with the fixed coordinates zeroed
        mask = rng.random(d) < frac
        rhs = rng.standard_normal(n)
        x = gram.solve(mask, sigma, shift, rhs)
        M = shift * np.eye(n) + sigma * A[:, mask] @ A[:, mask].T
        assert np.linalg.norm(M @ x - rhs) <= CG_RTOL * np.linalg.norm(rhs)
    assert gram.cg_solves == 2 and gram._G is None and gram.factorizations == 0
    mask = rng.random(d) < 0.5
    rhs = rng.standard_normal(n)  # ill-conditioned (large sigma): the factorization, exact
    np.testing.assert_allclose(gram.solve(mask, 10 * CG_MAX_COND / L, shift, rhs),
                               _direct(A, mask, 10 * CG_MAX_COND / L, shift, rhs), rtol=1e-8, atol=1e-10)
    assert gram.cg_solves == 2 and gram.factorizations == 1


def test_cg_is_chosen_where_it_costs_less_than_the_gram_and_factorization():
    """The cost rule: a wide A with many rows and a well-conditioned system goes to CG; a small A, an
    ill-conditioned system, or a kept Gram that needs few column updates goes to the factorization."""
    big = FreeGram(np.broadcast_to(np.zeros(1), (2000, 20000)))  # shapes only: no memory
    half = np.arange(20000) % 2 == 0
    assert big._cg_pays(half, 11.0)
    assert not big._cg_pays(half, 10 * 100.0)
    big._G, big._mask = np.zeros((1, 1)), half.copy()  # a kept Gram of the same J: a factorization only
    assert not big._cg_pays(half, 11.0)
    assert not FreeGram(np.broadcast_to(np.zeros(1), (100, 1000)))._cg_pays(np.arange(1000) % 2 == 0, 11.0)


def _spectra():
    rng = np.random.default_rng(5)
    wide = rng.standard_normal((120, 1200))  # Marchenko-Pastur: no gap at the top of the spectrum
    ar = np.empty((80, 800))  # AR(1) columns, rho 0.9: one dominant direction
    ar[:, 0] = rng.standard_normal(80)
    for j in range(1, 800):
        ar[:, j] = 0.9 * ar[:, j - 1] + np.sqrt(1 - 0.81) * rng.standard_normal(80)
    rank_one = np.outer(rng.standard_normal(50), rng.standard_normal(400)) + 1e-3 * rng.standard_normal((50, 400))
    close_top = rng.standard_normal((60, 300)) @ np.diag(np.r_[1.0, 0.999, np.linspace(0.5, 0.1, 298)])
    return {"wide": wide, "ar1": ar, "rank_one": rank_one, "close_top": close_top}


@pytest.mark.parametrize("name", ["wide", "ar1", "rank_one", "close_top"])
def test_lanczos_top_eigenvalue_bounds_the_spectral_norm_from_above_within_its_tolerance(name):
    """Against numpy.linalg.norm(A, 2)^2 (LAPACK's SVD): the estimate theta + r is at least ||A||_2^2
    (to rounding) and within 2 LANCZOS_RTOL above it, for spectra with and without a gap at the top."""
    from cvxpar.solvers._gram import LANCZOS_RTOL

    A = _spectra()[name]
    exact = np.linalg.norm(A, 2) ** 2
    est = lanczos_top_eigenvalue(lambda v: A @ (A.T @ v), np.random.default_rng(0).standard_normal(A.shape[0]))
    assert exact * (1 - 1e-12) <= est <= exact * (1 + 2 * LANCZOS_RTOL)


def test_lanczos_top_eigenvalue_stops_on_an_invariant_subspace_and_at_its_step_limit():
    M = np.diag([5.0, 2.0, 1.0, 0.5])
    assert lanczos_top_eigenvalue(lambda v: M @ v, np.array([1.0, 1.0, 0.0, 0.0])) == pytest.approx(5.0, rel=1e-14)
    M = _spectra()["wide"] @ _spectra()["wide"].T
    q = np.ones(M.shape[0]) / np.sqrt(M.shape[0])
    theta = q @ M @ q  # one step: the Rayleigh quotient plus its residual ||M q - theta q||
    one = lanczos_top_eigenvalue(lambda v: M @ v, np.ones(M.shape[0]), steps=1)
    assert one == pytest.approx(theta + np.linalg.norm(M @ q - theta * q), rel=1e-12)


def test_norm2_squared_is_the_padded_lanczos_estimate_without_forming_a_a_transpose():
    from cvxpar.losses._operator import POWER_PAD

    A = _spectra()["wide"]
    gram = FreeGram(A)
    L = gram.norm2_squared()
    exact = np.linalg.norm(A, 2) ** 2
    assert POWER_PAD * exact * (1 - 1e-12) <= L <= POWER_PAD * exact * 1.02
    assert gram._G is None  # no n x n matrix


@pytest.mark.parametrize("cache_bytes", [8 * 20 * 3, 1 << 21])  # blocks of 3 rows, and one block
def test_gram_apply_and_columns_product_match_direct_products_for_any_rows(monkeypatch, cache_bytes):
    from cvxpar.solvers import _gram

    monkeypatch.setattr(_gram, "CACHE_BYTES", cache_bytes)
    rng = np.random.default_rng(7)
    A = rng.standard_normal((20, 100))
    gram = FreeGram(A)
    v = rng.standard_normal(20)
    np.testing.assert_allclose(gram.gram_apply(v), A @ (A.T @ v), rtol=1e-12)
    for frac in (0.1, 0.6, 1.0):
        rows = np.flatnonzero(rng.random(100) < frac)
        np.testing.assert_allclose(gram.gram_apply(v, rows), A[:, rows] @ (A[:, rows].T @ v), rtol=1e-12)
        w = rng.standard_normal(rows.size)
        np.testing.assert_allclose(gram.columns_product(rows, w), A[:, rows] @ w, rtol=1e-12, atol=1e-12)


def test_fresh_products_gather_the_free_rows_in_blocks_and_match(monkeypatch):
    """A_J A_J^T formed afresh and updated by more free columns than one gathered block holds."""
    from cvxpar.solvers import _gram

    monkeypatch.setattr(_gram, "ROW_BLOCK", 7)
    rng = np.random.default_rng(6)
    A = rng.standard_normal((20, 100))
    gram = FreeGram(A)
    mask = rng.random(100) < 0.8  # most columns free
    np.testing.assert_allclose(gram(mask), A[:, mask] @ A[:, mask].T, rtol=1e-12, atol=1e-12)
    more = mask.copy()
    more[np.flatnonzero(~mask)[:10]] = True  # 10 columns enter: an update in two blocks
    np.testing.assert_allclose(gram(more), A[:, more] @ A[:, more].T, rtol=1e-12, atol=1e-12)
    assert gram._drift == 10


def _with_norm(n, d, seed):
    """(FreeGram of a Gaussian n x d A whose ||A||^2 is estimated, A, its generator, the estimate)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    gram = FreeGram(A)
    return gram, A, rng, gram.norm2_squared()


def _single_ready(monkeypatch, n, d, seed):
    """``_with_norm``, with single-precision factors allowed at this small n."""
    monkeypatch.setattr(_gram, "SINGLE_MIN_ROWS", 1)
    return _with_norm(n, d, seed)


@pytest.mark.parametrize("cond", [1e2, 1e4, 3e5])
def test_single_precision_factors_refine_to_the_double_precision_answer(monkeypatch, cond):
    """With 1 + sigma ||A||^2 <= SINGLE_MAX_COND the factor is float32 and every answer, direct or through
    Woodbury's identity on that factor, is refined against the float64 A_J A_J^T to residual
    <= WOODBURY_RTOL ||rhs||: the float64 direct solve's answer to that accuracy."""
    gram, A, rng, norm2 = _single_ready(monkeypatch, 120, 1200, 6)
    sigma, shift = cond / norm2, 1.0
    mask = rng.random(1200) < 0.09  # |J| ~ n: the n x n form
    for _ in range(4):
        rhs = rng.standard_normal(120)
        x = gram.solve(mask, sigma, shift, rhs)
        M = shift * np.eye(120) + sigma * A[:, mask] @ A[:, mask].T
        assert np.linalg.norm(M @ x - rhs) <= _gram.WOODBURY_RTOL * np.linalg.norm(rhs)
        exact = _direct(A, mask, sigma, shift, rhs)  # the error bound of a residual WOODBURY_RTOL ||rhs||
        assert np.linalg.norm(x - exact) <= _gram.WOODBURY_RTOL * cond * np.linalg.norm(exact)
        mask = mask.copy()  # two columns enter, one leaves: Woodbury on the single-precision factor
        mask[rng.choice(np.flatnonzero(~mask), 2, replace=False)] = True
        mask[rng.choice(np.flatnonzero(mask))] = False
    assert gram.factorizations == gram.single_factorizations == 1 and gram.woodbury_solves == 3
    assert gram._factor.dtype == np.float32


def test_an_ill_conditioned_system_is_factored_in_double_precision(monkeypatch):
    """1 + sigma ||A||^2 > SINGLE_MAX_COND: a float32 factor would not refine (kappa u_single >= 1), so the
    factor is float64 and the answer the direct one."""
    gram, A, rng, norm2 = _single_ready(monkeypatch, 100, 1000, 7)
    sigma = 10 * _gram.SINGLE_MAX_COND / norm2
    mask = rng.random(1000) < 0.09
    rhs = rng.standard_normal(100)
    x, exact = gram.solve(mask, sigma, 1.0, rhs), _direct(A, mask, sigma, 1.0, rhs)
    assert np.linalg.norm(x - exact) <= 1e-9 * np.linalg.norm(exact)  # backward stable: kappa u_double ~ 1e-9
    assert gram.factorizations == 1 and gram.single_factorizations == 0 and gram._factor.dtype == np.float64
    assert not FreeGram(np.broadcast_to(np.zeros(1), (_gram.SINGLE_MIN_ROWS - 1, 10)))._single_pays(1.0, 1.0)


def test_a_single_precision_factor_that_does_not_refine_is_replaced_by_a_double_one(monkeypatch):
    """When the refinement does not reach its bound within REFINE_STEPS (here: a bound of 1e-17 relative, below
    what float32 corrections reach), the same system is factored in float64 and solved directly."""
    gram, A, rng, norm2 = _single_ready(monkeypatch, 100, 1000, 8)
    monkeypatch.setattr(_gram, "WOODBURY_RTOL", 1e-17)
    sigma = 1e3 / norm2
    mask = rng.random(1000) < 0.09
    rhs = rng.standard_normal(100)
    np.testing.assert_allclose(gram.solve(mask, sigma, 1.0, rhs), _direct(A, mask, sigma, 1.0, rhs), rtol=1e-10, atol=1e-13)
    assert gram.factorizations == 2 and gram.single_factorizations == 1 and gram._factor.dtype == np.float64


def test_lanczos_and_cg_read_a_float32_copy_of_a_transpose_until_the_first_factorization(monkeypatch):
    """||A||^2 (Lanczos) and the CG solves run their products on a float32 copy of A^T made in the same pass
    as A^T: the estimate still bounds ||A||_2^2 from above and the CG answers meet CG_RTOL against the float64
    matrix; the first system solved without CG frees the copy and is solved exactly."""
    from cvxpar.solvers._gram import CG_MAX_COND, CG_RTOL

    monkeypatch.setattr(_gram, "CG_GEMV_COST", 0.0)
    n, d = 40, 400
    gram, A, rng, L = _with_norm(n, d, 9)
    assert gram._AT32.dtype == np.float32 and gram._AT32.flags.c_contiguous
    np.testing.assert_array_equal(gram._AT32, A.T.astype(np.float32))
    np.testing.assert_array_equal(gram.AT, A.T)
    assert np.linalg.norm(A, 2) ** 2 <= L <= 1.1 * np.linalg.norm(A, 2) ** 2
    reads = []
    monkeypatch.setattr(gram, "_gather", lambda idx, AT: reads.append(AT.dtype) or FreeGram._gather(gram, idx, AT))
    mask = rng.random(d) < 0.6
    rhs = rng.standard_normal(n)
    sigma = 0.5 * CG_MAX_COND / L
    x = gram.solve(mask, sigma, 1.0, rhs)
    M = np.eye(n) + sigma * A[:, mask] @ A[:, mask].T
    assert np.linalg.norm(M @ x - rhs) <= CG_RTOL * np.linalg.norm(rhs)
    assert gram.cg_solves == 1 and reads and set(reads) == {np.dtype(np.float32)}
    sigma = 10 * CG_MAX_COND / L  # ill-conditioned: the factorization, and the float32 copy is freed
    np.testing.assert_allclose(gram.solve(mask, sigma, 1.0, rhs), _direct(A, mask, sigma, 1.0, rhs), rtol=1e-8, atol=1e-10)
    assert gram._AT32 is None and gram.factorizations == 1


@pytest.mark.parametrize("scaled", [False, True])
def test_the_k_by_k_form_in_single_precision_matches_the_direct_solve(monkeypatch, scaled):
    """Few free columns (the k x k Woodbury form) with k >= NORMAL_SINGLE_MIN: the k x k system goes through
    ``single_normal_solve`` (shift / sigma on its diagonal) and the answer is the float64 direct solve's,
    with and without the loss's scaling S; below that size it is not called."""
    rng = np.random.default_rng(11)
    n, d = 120, 1200
    A = rng.standard_normal((n, d))
    mask = np.zeros(d, dtype=bool)
    mask[rng.choice(d, 40, replace=False)] = True
    scale = rng.uniform(0.5, 2.0, n) if scaled else None
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 40)
    calls = []
    real = _gram.single_normal_solve
    monkeypatch.setattr(_gram, "single_normal_solve", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    AJ = (A if scale is None else scale[:, None] * A)[:, mask]
    gram = FreeGram(A)
    assert gram._small_pays(40)
    rhs = rng.standard_normal(n)
    x = gram.solve(mask, 3.0, 1.0, rhs, scale=scale)
    np.testing.assert_allclose(x, np.linalg.solve(np.eye(n) + 3.0 * AJ @ AJ.T, rhs), rtol=1e-11, atol=1e-13)
    assert len(calls) == 1 and calls[0] is not None and gram.factorizations == 0
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 41)  # below the size: float64 only
    FreeGram(A).solve(mask, 3.0, 1.0, rhs, scale=scale)
    assert len(calls) == 1


def test_the_k_by_k_form_falls_back_to_double_precision_where_single_refuses(monkeypatch):
    """Free columns with singular values spread over [1, 1e5] (kappa of the k x k matrix ~1e10, beyond single
    precision's 2^24): ``single_normal_solve`` refuses and the answer is exactly the float64 k x k solve's."""
    rng = np.random.default_rng(12)
    n, d = 120, 1200
    A = rng.standard_normal((n, d))
    cols = rng.choice(d, 40, replace=False)
    U, _ = np.linalg.qr(rng.standard_normal((n, 40)))
    V, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    A[:, cols] = (U * np.geomspace(1.0, 1e5, 40)) @ V.T
    mask = np.zeros(d, dtype=bool)
    mask[cols] = True
    rhs = rng.standard_normal(n)
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 41)
    double = FreeGram(A).solve(mask, 3.0, 1.0, rhs)
    calls = []
    real = _gram.single_normal_solve
    monkeypatch.setattr(_gram, "single_normal_solve", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 40)
    x = FreeGram(A).solve(mask, 3.0, 1.0, rhs)
    assert calls == [None]
    np.testing.assert_array_equal(x, double)


def test_the_k_by_k_form_reuses_its_buffers_across_free_sets_and_matches_the_direct_solve(monkeypatch):
    """A sequence of k x k solves on one FreeGram with free sets that shrink, grow past the kept buffers and
    shrink again (the buffers then hold a larger earlier system's entries): each answer is the float64 direct
    solve's and bitwise a fresh FreeGram's (fresh buffers), the buffers are reused while large enough and
    replaced when not."""
    rng = np.random.default_rng(13)
    n, d = 150, 1500
    A = rng.standard_normal((n, d))
    monkeypatch.setattr(_gram, "NORMAL_SINGLE_MIN", 10)
    gram = FreeGram(A)
    buffers = []
    for k, sigma in [(60, 2.0), (30, 5.0), (64, 0.5), (80, 3.0), (20, 1.0)]:
        mask = np.zeros(d, dtype=bool)
        mask[rng.choice(d, k, replace=False)] = True
        assert gram._small_pays(k)
        rhs = rng.standard_normal(n)
        x = gram.solve(mask, sigma, 1.0, rhs)
        AJ = A[:, mask]
        np.testing.assert_allclose(x, np.linalg.solve(np.eye(n) + sigma * AJ @ AJ.T, rhs), rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(x, FreeGram(A).solve(mask, sigma, 1.0, rhs))
        buffers.append({key: b.ctypes.data for key, b in gram._work.items()})
        assert gram.factorizations == 0
    assert buffers[1] == buffers[0]  # smaller: reused
    assert buffers[2] == buffers[1]  # 64 columns: within 1.25 x the first buffers
    assert buffers[3] != buffers[2]  # 80 columns: replaced
    assert buffers[4] == buffers[3]
