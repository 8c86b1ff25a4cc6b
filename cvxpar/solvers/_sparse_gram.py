"""The Newton systems of ssnal for a scipy.sparse A, formed by sparse products and never densifying A.

Semismooth Newton steps solve (shift I + sigma S A_J A_J^T S) du = rhs (J the free columns, S a diagonal
scaling or the identity).  For a sparse A the products of the free block are sparse-sparse products
whose cost is the sum over the columns j in J of nnz(a_j)^2 (Gustavson 1978), against n^2 |J| for the
dense product of the densified block: for n = 2000, |J| = 2000 at 1% density, 8e5 against 8e9 flops.
Only the n x n (or |J| x |J|) result is dense, and is factored by LAPACK Cholesky, in the smaller of
the two forms: the n x n matrix, or Woodbury's |J| x |J| system
(rhs - B (shift I / sigma + B^T B)^-1 B^T rhs) / shift with B = S A_J.  While J, sigma, shift and S stay
the same (the last Newton steps of an inner solve), the factorization is reused.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack


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
