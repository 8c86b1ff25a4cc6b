"""The Newton systems of ssnal for a scipy.sparse A, formed by sparse products and never densifying A.

Semismooth Newton steps solve (shift I + sigma S A_J A_J^T S) du = rhs (J the free columns, S a diagonal
scaling or the identity).  For a sparse A the products of the free block are sparse-sparse products
whose cost is the sum over the columns j in J of nnz(a_j)^2 (Gustavson 1978), against n^2 |J| for the
dense product of the densified block: for n = 2000, |J| = 2000 at 1% density, 8e5 against 8e9 flops.
Only the n x n (or |J| x |J|) result is dense, and is factored by LAPACK Cholesky, in the smaller of
the two forms: the n x n matrix, or Woodbury's |J| x |J| system
(rhs - B (shift I / sigma + B^T B)^-1 B^T rhs) / shift with B = S A_J.  While J, sigma, shift and S stay
the same (the last Newton steps of an inner solve), the factorization is reused.

Before a new factorization, conjugate gradients (Hestenes and Stiefel 1952) on the n x n system, whose
products with B and B^T cost 2 nnz(B) each, are tried with a budget of steps that costs about as much as
the factorization would (CG_COST_RATIO: a step of sparse products runs at a fraction of the dense
Cholesky's flop rate).  The matrix is shift I plus a positive semidefinite term of rank at most
min(n, |J|), so CG converges fast where the factorization is dearest: early in an ssnal solve, where
|J| exceeds n and sigma is small (condition number 1 + sigma ||B||^2 / shift), and late, where |J| < n
leaves n - |J| eigenvalues equal to shift.  A CG solve that does not reach a relative residual of CG_RTOL
within its budget falls back to the factorization.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

#: CG stops at ||rhs - M x|| <= CG_RTOL ||rhs||.
CG_RTOL = 1e-10
#: How many times slower, per flop, a CG step (two sparse products, memory-bound, plus Python overhead
#: of about CG_STEP_OVERHEAD flops' time) runs than the LAPACK Cholesky (measured on a 2-core AMD EPYC,
#: one BLAS thread: ~20 Gflop/s for dpotrf at k = 575, ~1.6 Gflop/s for a CG step with nnz(B) = 11500).
CG_COST_RATIO = 12.0
CG_STEP_OVERHEAD = 2e4
#: Below this budget the factorization is used directly.
CG_MIN_STEPS = 8


class SparseGram:
    """Solves with shift I + sigma S A_J A_J^T S for a boolean mask J over the columns of a sparse A (n x d)."""

    def __init__(self, A) -> None:
        self.A = sp.csc_array(A)
        self._key = None  # (J, sigma, shift, scale) of the kept Cholesky factor
        self._B = self._factor = None

    @staticmethod
    def applies(op) -> bool:
        return op.kind == "sparse"

    def solve(self, mask: np.ndarray, sigma: float, shift: float, rhs: np.ndarray,
              scale: np.ndarray | None = None) -> np.ndarray | None:
        """(shift I + sigma S A_J A_J^T S)^-1 rhs for J = mask, S = diag(``scale``) (identity when None), in the
        cheaper of the n x n and the |J| x |J| (Woodbury) forms; None if not numerically positive definite."""
        n = self.A.shape[0]
        mask = np.asarray(mask, dtype=bool)
        key = (mask.tobytes(), sigma, shift, None if scale is None else scale.tobytes())
        if key != self._key:
            B = self._block(mask, scale)
            k = B.shape[1]
            if k == 0:
                return rhs / shift
            m = min(n, k)
            budget = int(m**3 / 3.0 / (CG_COST_RATIO * (4.0 * B.nnz + 6.0 * n + CG_STEP_OVERHEAD)))
            if budget >= CG_MIN_STEPS:
                x = conjugate_gradient(B, sigma, shift, rhs, budget)
                if x is not None:
                    return x
            if k < n:
                M = (B.T @ B).toarray()
                M.flat[:: k + 1] += shift / sigma
            else:
                M = (B @ B.T).toarray()
                M *= sigma
                M.flat[:: n + 1] += shift
            factor, info = lapack.dpotrf(M, lower=True, clean=False, overwrite_a=True)
            if info != 0:
                self._key = None
                return None
            self._key, self._B, self._factor = key, B, factor
        B, k = self._B, self._B.shape[1]
        if k < n:
            inner, info = lapack.dpotrs(self._factor, B.T @ rhs, lower=True)
            x = (rhs - B @ inner) / shift
        else:
            x, info = lapack.dpotrs(self._factor, rhs, lower=True)
        return x if info == 0 and np.isfinite(x).all() else None

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        """A_J A_J^T for J = mask, dense (for fallbacks)."""
        B = self._block(mask, None)
        return (B @ B.T).toarray()

    def _block(self, mask, scale):
        B = self.A[:, np.flatnonzero(np.asarray(mask, dtype=bool))]
        return B if scale is None else sp.csc_array(sp.diags_array(scale) @ B)


def conjugate_gradient(B, sigma: float, shift: float, rhs: np.ndarray, steps: int) -> np.ndarray | None:
    """x with ||rhs - (shift I + sigma B B^T) x|| <= CG_RTOL ||rhs|| by conjugate gradients from 0 (Hestenes
    and Stiefel 1952; Golub and Van Loan 2013, Algorithm 11.3.2), or None when ``steps`` steps do not get
    there (B sparse, n x k)."""
    Bt = B.T
    x = np.zeros_like(rhs)
    r = np.array(rhs, dtype=np.float64)
    p = r.copy()
    rr = float(r @ r)
    stop = (CG_RTOL * CG_RTOL) * rr
    if rr == 0.0:
        return x
    for _ in range(steps):
        q = shift * p + sigma * (B @ (Bt @ p))
        pq = float(p @ q)
        if not pq > 0.0:  # not numerically positive definite
            return None
        a = rr / pq
        x += a * p
        r -= a * q
        rr_new = float(r @ r)
        if rr_new <= stop:
            return x if np.isfinite(x).all() else None
        p *= rr_new / rr
        p += r
        rr = rr_new
    return None
