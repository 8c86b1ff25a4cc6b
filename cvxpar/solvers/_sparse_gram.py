"""The Newton systems of ssnal for a scipy.sparse A, from sparse products, never densifying A.

Semismooth Newton steps solve (shift I + sigma B B^T) du = rhs with B = S A_J (J the free columns, S a
diagonal scaling or the identity).  Four ways, cheapest first:

1. **The kept factorization, corrected.**  Within one inner solve sigma, shift and S stay fixed while J
   changes by a few columns a Newton step.  With the kept factorization of M0 = shift I + sigma B0 B0^T
   (free set J0), M = M0 + sigma U diag(e) U^T for the r columns U = S A_D, D = J xor J0 (e = +1 for a
   column that entered, -1 for one that left), and the Sherman-Morrison-Woodbury identity (Golub and
   Van Loan 2013, sec. 2.1.4)

       M^-1 rhs = y - Z (diag(e) / sigma + U^T Z)^-1 U^T y,   y = M0^-1 rhs,  Z = M0^-1 U,

   costs r + 1 solves with the kept factor, against a new factorization.  Used while r <= size /
   WOODBURY_FRACTION (size: the kept factor's order), and kept when the answer's residual, from two
   sparse products, is at most WOODBURY_RTOL ||rhs|| (or ``solve``'s looser rtol) (after up to WOODBURY_REFINE steps of iterative refinement).
2. **Conjugate gradients** (Hestenes and Stiefel 1952) on the n x n system, whose products with B and B^T
   cost 2 nnz(B) each (:mod:`cvxpar.solvers._sparse_kernels`: the whole loop compiled), with a budget of
   steps that costs about one factorization (CG_COST_RATIO: a sparse step runs at a fraction of the
   dense Cholesky's flop rate).  The matrix is shift I plus a positive semidefinite term of rank at most
   min(n, |J|), so CG converges fast where the factorization is dearest: early, where |J| exceeds n and
   sigma is small (condition number 1 + sigma ||B||^2 / shift), and late, where |J| < n leaves n - |J|
   eigenvalues equal to shift, and the more so for an inexact Newton method that asks for a loose relative
   residual (``solve``'s rtol).  CG that does not reach its relative residual (CG_RTOL by default) in its budget
   falls back to the factorization, and is not tried again at a ratio sigma / shift as large (the
   condition number only grows with it).
3. **A sparse factorization** of the n x n matrix, where B B^T has few nonzeros (columns with one or two
   nonzeros: at most SPARSE_DIRECT_NNZ n products sum_j nnz(b_j)^2) and the dense forms cost more than its
   set-up: its rows that no column couples to
   another are diagonal, the rest are factored by SuperLU with a fill-reducing ordering
   (``SparseGram._sparse_factorize``), about a millisecond where the dense factorization of n = 1000 takes
   ten; not tried again for free sets at least as large as one whose factors filled in.
4. **A new Cholesky factorization** (LAPACK), in the cheaper of two forms by flop count: the n x n
   matrix, whose B B^T is accumulated from the columns' outer products (sum_j nnz(b_j)^2 / 2
   multiply-adds, Gustavson 1978; for dense-ish columns from column blocks by BLAS syrk), or Woodbury's
   |J| x |J| system (rhs - B (shift I / sigma + B^T B)^-1 B^T rhs) / shift.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas, lapack
from scipy.sparse.linalg import splu

from cvxpar.solvers._gram import FreeGram


def _kernels():
    """The compiled kernels (:mod:`cvxpar.solvers._sparse_kernels`), imported on first use: importing numba costs
    a fresh process about half a second, which ``import cvxpar`` and dense problems should not pay."""
    from cvxpar.solvers import _sparse_kernels

    return _sparse_kernels


#: CG stops at ||rhs - M x|| <= CG_RTOL ||rhs||.
CG_RTOL = 1e-10
#: Costs in units of one flop of LAPACK's Cholesky (dpotrf, n^3 / 3 flops), measured on a 2-core AMD EPYC with
#: one BLAS thread at n = |J| = 1000 and densities 0.1 % - 20 % (dpotrf ~35 Gflop/s): a compiled CG step per flop
#: (4 nnz(B) + 10 n flops, memory-bound), one multiply-add of the scattered outer products (``gram_lower`` and
#: ``small_gram``), one flop of BLAS-3 (syrk on dense column blocks, n^2 |J| / 2; triangular solves with a block
#: of columns, 2 m^2 each for an order-m factor) and of a triangular solve with one vector (BLAS-2, memory-bound).
CG_COST_RATIO = 20.0
SCATTER_COST = 70.0
SYRK_COST = 1.5
TRSV_COST = 10.0
#: Below this budget the factorization is used directly.
CG_MIN_STEPS = 8
#: Correct the kept factorization (Woodbury) while at most its order / WOODBURY_FRACTION columns differ, and
#: keep answers with ||residual|| <= WOODBURY_RTOL ||rhs||.
WOODBURY_FRACTION = 4
WOODBURY_RTOL = 1e-10
#: ... after at most WOODBURY_REFINE steps of iterative refinement (x += M~^-1 (rhs - M x) with the same corrected
#: solve M~^-1, two triangular solves each: Wilkinson 1963; Higham 2002, ch. 12), which recover the accuracy that
#: ill-conditioned corrections lose (scaled columns at sigma ~ 1e3: a third of the corrections failed the check
#: and each cost a new factorization).
WOODBURY_REFINE = 2
#: A sparse factorization of the n x n matrix (``SparseGram._sparse_factorize``) while B B^T has at most about
#: SPARSE_DIRECT_NNZ n nonzeros (sum_j nnz(b_j)^2, an upper bound) and the factors of the last one filled in to at
#: most SPARSE_DIRECT_FILL n^2 nonzeros.
SPARSE_DIRECT_NNZ = 16.0
SPARSE_DIRECT_FILL = 1.0 / 16.0
#: ... and while its cost, SPARSE_SETUP_COST (SuperLU's set-up and ordering, ~0.3 ms at n = 1000) plus SCATTER_COST
#: per product, is below the dense forms' (so a small free set keeps the |J| x |J| form).
SPARSE_SETUP_COST = 1e7
#: Columns densified at a time for BLAS syrk (``SparseGram._gram``).
SYRK_BLOCK = 256
#: The Newton systems run on a dense copy of A (:func:`newton_systems`) when at least DENSE_MIN_DENSITY of its
#: entries are nonzero and the copy takes at most DENSE_MAX_BYTES.
DENSE_MIN_DENSITY = 0.15
DENSE_MAX_BYTES = 1 << 28

_NO_SCALE = np.zeros(0)


@dataclass
class _Factor:
    """A Cholesky factorization of shift I + sigma B0 B0^T (free set ``mask``), its solve, and the columns
    U = S A_D with Z = M0^-1 U of the Woodbury corrections so far (``SparseGram._woodbury``; column j of A
    at position ``where[j]``, -1 if not there yet)."""

    params: tuple
    mask: np.ndarray
    size: int
    inverse: Callable[[np.ndarray], np.ndarray]
    nnz: int  # of the B0 in the |J| x |J| form's solve (0 for the n x n form)
    where: np.ndarray | None = None
    U: np.ndarray | None = None
    Z: np.ndarray | None = None
    _count: int = 0

    def unseen(self, D: np.ndarray) -> int:
        """How many of the columns D have no kept Z yet."""
        return D.size if self.where is None else int(np.count_nonzero(self.where[D] < 0))

    def columns(self, D: np.ndarray, dense_columns: Callable) -> tuple[np.ndarray, np.ndarray]:
        """(U, Z) for the columns D, solving only for the columns not seen before (kept in buffers that double
        when full; dropped before they would exceed ``size`` columns)."""
        count = 0 if self.where is None else int(self._count)
        if self.where is None or count + D.size > self.size:
            self.where = np.full(self.mask.size, -1, dtype=np.int64)
            count = 0
        new = D[self.where[D] < 0]
        if new.size:
            U_new = dense_columns(new)
            if self.U is None or count + new.size > self.U.shape[1]:
                width = min(self.size, max(2 * (count + new.size), 16))
                U, Z = np.empty((U_new.shape[0], width), order="F"), np.empty((U_new.shape[0], width), order="F")
                if count:
                    U[:, :count], Z[:, :count] = self.U[:, :count], self.Z[:, :count]
                self.U, self.Z = U, Z
            self.U[:, count:count + new.size] = U_new
            self.Z[:, count:count + new.size] = self.inverse(U_new)
            self.where[new] = np.arange(count, count + new.size)
            count += new.size
        self._count = count
        pos = self.where[D]
        return self.U[:, pos], self.Z[:, pos]


class SparseGram:
    """Solves with shift I + sigma S A_J A_J^T S for a boolean mask J over the columns of a sparse A (n x d).

    Counters: ``factorizations`` (``sparse_factorizations`` of them sparse), ``woodbury_solves`` (answers from
    the kept factorization corrected by Woodbury's identity), ``cg_solves``.
    """

    def __init__(self, A) -> None:
        A = sp.csc_array(A)
        if not A.has_canonical_format:  # the kernels need no duplicate entries
            A = A.copy()
            A.sum_duplicates()
        self.A = A
        self._csc = (A.indptr, A.indices, np.asarray(A.data, dtype=np.float64))
        self._col_nnz = np.diff(A.indptr).astype(np.float64)
        self._kept: _Factor | None = None
        self._cg_fails = math.inf  # the smallest sigma / shift at which CG ran out of steps
        self._csr = None  # A's CSR arrays, for the sparse factorization (``_sparse_factorize``)
        self._sparse_filled = math.inf  # sum_j nnz(b_j)^2 of a free set whose sparse factors filled in
        self.factorizations = self.woodbury_solves = self.cg_solves = self.sparse_factorizations = 0
        self.woodbury_refinements = 0

    @staticmethod
    def applies(op) -> bool:
        return op.kind == "sparse"

    def solve(self, mask: np.ndarray, sigma: float, shift: float, rhs: np.ndarray,
              scale: np.ndarray | None = None, rtol: float = CG_RTOL) -> np.ndarray | None:
        """(shift I + sigma S A_J A_J^T S)^-1 rhs for J = mask, S = diag(``scale``) (identity when None): by the
        kept factorization (corrected by Woodbury's identity when J changed), conjugate gradients, a sparse or a
        dense new factorization (module docstring); None if not numerically positive definite.  ``rtol``: the
        answers of CG and of the Woodbury correction are kept at residual <= rtol ||rhs|| (at most CG_RTOL and
        WOODBURY_RTOL by default; a looser rtol suits an inexact Newton method); a factorization's are exact."""
        n = self.A.shape[0]
        mask = np.asarray(mask, dtype=bool)
        cols = np.flatnonzero(mask)
        if cols.size == 0:
            return rhs / shift
        rhs = np.ascontiguousarray(rhs, dtype=np.float64)
        s = _NO_SCALE if scale is None else np.ascontiguousarray(scale, dtype=np.float64)
        params = (sigma, shift, None if scale is None else s.tobytes())
        kept = self._kept
        if kept is not None and kept.params == params and np.array_equal(kept.mask, mask):
            return _finite(kept.inverse(rhs))
        B = self.A[:, cols]
        forms = self._form_costs(cols, B)
        if kept is not None and kept.params == params:
            x = self._woodbury(kept, mask, cols, s, sigma, shift, rhs, min(forms), max(rtol, WOODBURY_RTOL))
            if x is not None:
                return x
        nnz = float(B.nnz)
        budget = int(min(forms) / (CG_COST_RATIO * (4.0 * nnz + 10.0 * n)))
        if budget >= CG_MIN_STEPS and sigma / shift < self._cg_fails:
            x, converged = _kernels().conjugate_gradient(*self._csc, cols, s, sigma, shift, rhs, budget, rtol)
            if converged:
                self.cg_solves += 1
                return x
            self._cg_fails = sigma / shift
        products = float((self._col_nnz[cols] ** 2).sum())  # nnz(B B^T) <= this
        if (products <= SPARSE_DIRECT_NNZ * n and products < self._sparse_filled
                and SPARSE_SETUP_COST + SCATTER_COST * products < min(forms)):
            factor = self._sparse_factorize(mask, s, sigma, shift, params, products)
            if factor is not None:
                self._kept = factor
                return _finite(factor.inverse(rhs))
        self._kept = self._factorize(mask, cols, B, s, sigma, shift, params, forms)
        return None if self._kept is None else _finite(self._kept.inverse(rhs))

    def _woodbury(self, kept: _Factor, mask, cols, s, sigma: float, shift: float, rhs,
                  refactor: float, rtol: float) -> np.ndarray | None:
        """M^-1 rhs from the kept factorization of M0 (same sigma, shift and S, another J) by the
        Sherman-Morrison-Woodbury identity over the changed columns (module docstring); None when too many
        changed, when it would cost more than a new factorization (``refactor``) or when the answer's residual
        is above WOODBURY_RTOL ||rhs||."""
        n = self.A.shape[0]
        D = np.flatnonzero(mask != kept.mask)
        new = kept.unseen(D)
        cost = ((new * SYRK_COST + TRSV_COST) * 2.0 * kept.size**2 + (new + 1) * CG_COST_RATIO * 4.0 * kept.nnz
                + SYRK_COST * n * D.size**2 + CG_COST_RATIO * (4.0 * float(self._col_nnz[cols].sum()) + 10.0 * n))
        if WOODBURY_FRACTION * D.size > kept.size or cost >= refactor:
            return None
        U, Z = kept.columns(D, lambda idx: self._dense_columns(idx, s))
        C = U.T @ Z
        C.flat[:: D.size + 1] += np.where(mask[D], 1.0, -1.0) / sigma
        lu, piv, info = lapack.dgetrf(C)
        if info != 0:  # singular
            return None

        def apply(v):
            y = kept.inverse(v)
            return y - Z @ lapack.dgetrs(lu, piv, U.T @ y)[0]

        x = apply(rhs)
        goal = rtol * float(np.linalg.norm(rhs))
        for refinements in range(WOODBURY_REFINE + 1):
            if not np.isfinite(x).all():
                return None
            res = _kernels().residual(*self._csc, cols, s, sigma, shift, rhs, x)
            if float(np.linalg.norm(res)) <= goal:
                self.woodbury_solves += 1
                self.woodbury_refinements += refinements
                return x
            if refinements < WOODBURY_REFINE:
                x = x + apply(res)
        return None

    def _sparse_factorize(self, mask, s, sigma: float, shift: float, params: tuple,
                          products: float) -> _Factor | None:
        """A sparse factorization of M = shift I + sigma S B B^T S (n x n, sparse): its rows that no column of B
        couples to another row are diagonal, and the rest, M[C, C], is factored by SuperLU in symmetric mode (a
        fill-reducing minimum-degree ordering of M + M^T, diagonal pivots: Li 2005, "An overview of SuperLU",
        ACM TOMS 31(3)).  None (and the other forms from then on) when the factors fill in beyond
        SPARSE_DIRECT_FILL n^2 nonzeros (a factorization then costs about what the dense one does) or it fails;
        from then on the sparse form is tried only for free sets whose B B^T has fewer ``products`` (the coupling
        of the rows, and so the fill, grows with them)."""
        n = self.A.shape[0]
        if self._csr is None:
            rows = self.A.tocsr()
            rows.sort_indices()
            self._csr = (rows.indptr, rows.indices, np.asarray(rows.data, dtype=np.float64))
        C, diag, ptr, idx, val = _kernels().newton_matrix(*self._csc, *self._csr, mask, s, sigma, shift)
        lu = None
        if C.size:
            try:
                lu = splu(sp.csc_array((val, idx, ptr), shape=(C.size, C.size)), permc_spec="MMD_AT_PLUS_A",
                          diag_pivot_thresh=0.0, options={"SymmetricMode": True})
            except RuntimeError:  # exactly singular
                self._sparse_filled = products
                return None
            if lu.L.nnz + lu.U.nnz > SPARSE_DIRECT_FILL * n * n:
                self._sparse_filled = products
        self.factorizations += 1
        self.sparse_factorizations += 1

        def inverse(V):
            x = V / (diag if V.ndim == 1 else diag[:, None])
            if lu is not None:
                x[C] = lu.solve(np.ascontiguousarray(V[C]))
            return x

        return _Factor(params, mask.copy(), n, inverse, 0)

    def _dense_columns(self, idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """S A[:, idx] as a dense Fortran-ordered array."""
        U = np.zeros((self.A.shape[0], idx.size), order="F")
        _kernels().dense_columns(*self._csc, idx, s, U)
        return U

    def _form_costs(self, cols, B) -> tuple[float, float]:
        """The costs of a new factorization in the n x n form and in the |J| x |J| form (B = A_J)."""
        n, k = self.A.shape[0], cols.size
        rows = np.bincount(B.indices, minlength=n).astype(np.float64)
        return n**3 / 3.0 + min(self._gram_costs(cols)), k**3 / 3.0 + SCATTER_COST * float(rows @ rows) / 2.0

    def _factorize(self, mask, cols, B, s, sigma: float, shift: float, params: tuple,
                   forms: tuple[float, float]) -> _Factor | None:
        """A Cholesky factorization of shift I + sigma S B B^T S (B = A_J) in the cheaper form (``forms``, module
        docstring); None if not numerically positive definite."""
        n, k = self.A.shape[0], cols.size
        self.factorizations += 1
        if forms[1] < forms[0]:
            if s.size:
                B = sp.csc_array(sp.diags_array(s) @ B)
            rows = B.tocsr()
            rows.sort_indices()
            C = np.zeros((k, k), order="F")
            _kernels().small_gram(rows.indptr, rows.indices, np.asarray(rows.data, dtype=np.float64), C)
            C.flat[:: k + 1] += shift / sigma
            L, info = lapack.dpotrf(C, lower=True, clean=False, overwrite_a=True)
            nnz = B.nnz

            def inverse(V):
                return (V - B @ _cholesky_solve(L, B.T @ V)) / shift
        else:
            G = self._gram(cols, s)
            G *= sigma
            G.flat[:: n + 1] += shift
            L, info = lapack.dpotrf(G, lower=True, clean=False, overwrite_a=True)
            k, nnz = n, 0

            def inverse(V):
                return _cholesky_solve(L, V)
        return _Factor(params, mask.copy(), k, inverse, nnz) if info == 0 else None

    def _gram_costs(self, cols) -> tuple[float, float]:
        """The costs of the lower triangle of B B^T (``_gram``) by scattered outer products and by BLAS syrk on
        dense column blocks."""
        n = self.A.shape[0]
        return SCATTER_COST * float((self._col_nnz[cols] ** 2).sum()) / 2.0, SYRK_COST * n * n * cols.size / 2.0

    def _gram(self, cols, s) -> np.ndarray:
        """The lower triangle of B B^T (B = S A_J) in a Fortran-ordered n x n array (upper triangle 0)."""
        n = self.A.shape[0]
        G = np.zeros((n, n), order="F")
        scatter, syrk = self._gram_costs(cols)
        if scatter <= syrk:
            _kernels().gram_lower(*self._csc, cols, s, G)
            return G
        for start in range(0, cols.size, SYRK_BLOCK):
            block = self._dense_columns(cols[start:start + SYRK_BLOCK], s)
            G = blas.dsyrk(1.0, block, beta=1.0, c=G, trans=0, lower=1, overwrite_c=1)
        return G

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        """A_J A_J^T for J = mask, dense (for fallbacks)."""
        G = self._gram(np.flatnonzero(np.asarray(mask, dtype=bool)), _NO_SCALE)
        return G + np.tril(G, -1).T


def dense_pays(A) -> bool:
    """Whether ssnal's Newton systems for the scipy.sparse A run faster on a dense copy: A has at least
    DENSE_MIN_DENSITY nonzero entries and the copy takes at most DENSE_MAX_BYTES (measured crossover between
    10 % (a tie) and 20 % density at 500 x 2000 - 2000 x 10000, benchmarks/RESULTS.md "sparse data (session 10)")."""
    n, d = A.shape
    return A.nnz >= DENSE_MIN_DENSITY * n * d and 8 * n * d <= DENSE_MAX_BYTES


def newton_systems(A) -> SparseGram | FreeGram:
    """What solves ssnal's Newton systems for a scipy.sparse A: :class:`~cvxpar.solvers._gram.FreeGram` on a
    Fortran-ordered dense copy (whose transpose is the contiguous A^T it reads, no second copy) where
    :func:`dense_pays`, else :class:`SparseGram` (A itself is never replaced: the loss's products stay sparse)."""
    return FreeGram(A.toarray(order="F")) if dense_pays(A) else SparseGram(A)


def _cholesky_solve(L: np.ndarray, V: np.ndarray) -> np.ndarray:
    """(L L^T)^-1 V for the lower-triangular LAPACK factor L (two triangular solves; NaN when singular)."""
    y, info = lapack.dtrtrs(L, V, lower=1)
    if info == 0:
        y, info = lapack.dtrtrs(L, y, lower=1, trans=1)
    return y if info == 0 else np.full(V.shape, np.nan)


def _finite(x: np.ndarray) -> np.ndarray | None:
    return x if np.isfinite(x).all() else None


def conjugate_gradient(A, cols: np.ndarray, sigma: float, shift: float, rhs: np.ndarray, steps: int,
                       scale: np.ndarray | None = None, rtol: float = CG_RTOL) -> np.ndarray | None:
    """x with ||rhs - (shift I + sigma B B^T) x|| <= rtol ||rhs||, B = S A[:, cols], by conjugate gradients
    from 0 (Hestenes and Stiefel 1952; Golub and Van Loan 2013, Algorithm 11.3.2), or None when ``steps``
    steps do not get there (A scipy.sparse, S = diag(``scale``) or the identity)."""
    A = sp.csc_array(A)
    A.sum_duplicates()
    s = _NO_SCALE if scale is None else np.ascontiguousarray(scale, dtype=np.float64)
    x, converged = _kernels().conjugate_gradient(A.indptr, A.indices, np.asarray(A.data, dtype=np.float64),
                                              np.asarray(cols, dtype=np.int64), s, sigma, shift,
                                              np.ascontiguousarray(rhs, dtype=np.float64), steps, rtol)
    return x if converged else None
