"""The n x n matrix A_J A_J^T of the free columns J, kept up to date as J changes.

Semismooth Newton steps (ssnal) solve (I + sigma A_J A_J^T) du = -g with J the coordinates
where the prox has slope 1.  Between two Newton steps J changes by a few columns, so instead
of forming A_J A_J^T afresh (n^2 |J| flops) the previous one is updated,

    A_J' A_J'^T = A_J A_J^T + A_add A_add^T - A_rem A_rem^T      (n^2 (|add| + |rem|) flops),

and, while most columns are free (the first outer steps), it starts from the cached A A^T:
A_J A_J^T = A A^T - A_K A_K^T with K the fixed columns.  The columns come from a contiguous copy
of A^T (a row gather, ~10x faster than a strided column gather of a C-ordered A).  Rounding in
the updates grows with their number, so the matrix is formed afresh once the updated columns
add up to |J| (the cost of one fresh product); the drift stays at a few ulps of ||A||^2.

Dense NumPy A only (``applies``); other data keep ssnal's direct products.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack


class FreeGram:
    """A_J A_J^T for a boolean mask J over the columns of a dense NumPy A (n x d)."""

    def __init__(self, A: np.ndarray) -> None:
        self.A = A
        self._AT: np.ndarray | None = None
        self._full: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._G: np.ndarray | None = None
        self._drift = 0

    @staticmethod
    def applies(op) -> bool:
        return op.kind == "dense" and isinstance(op.A, np.ndarray) and op.A.dtype == np.float64

    @property
    def AT(self) -> np.ndarray:
        if self._AT is None:
            self._AT = np.ascontiguousarray(self.A.T)
        return self._AT

    def columns_T(self, idx) -> np.ndarray:
        """A[:, idx].T as a contiguous (k, n) array."""
        return self.AT[idx]

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        """A_J A_J^T for J = mask (the returned array is shared: do not modify it)."""
        mask = np.asarray(mask, dtype=bool)
        k = int(mask.sum())
        if self._G is not None:
            add = np.flatnonzero(mask & ~self._mask)
            rem = np.flatnonzero(self._mask & ~mask)
            r = add.size + rem.size
            if r == 0:
                return self._G
            if self._drift + r < max(k, 1):
                G = self._G.copy()
                if add.size:
                    Ca = self.AT[add]
                    G += Ca.T @ Ca
                if rem.size:
                    Cr = self.AT[rem]
                    G -= Cr.T @ Cr
                self._store(mask, G, self._drift + r)
                return G
        self._store(mask, self._fresh(mask, k), 0)
        return self._G

    def update_product(self, az: np.ndarray, z: np.ndarray, z_new: np.ndarray) -> np.ndarray:
        """A z_new from az = A z through the columns where z changed (a Newton step moves the free
        coordinates and those that enter or leave a plateau: a few n of the d), or afresh when more
        than a quarter changed.  The caller re-forms A z each outer step, so rounding does not pile up."""
        idx = np.flatnonzero(z_new != z)
        if 4 * idx.size > z.size:
            return self.A @ z_new
        return az + self.AT[idx].T @ (z_new[idx] - z[idx])

    def norm2_squared(self) -> float:
        """||A||_2^2 = lambda_max(A A^T), the loss's own padded power-iteration estimate but on the cached
        n x n A A^T: n^2 flops per iteration instead of 2 n d."""
        from cvxpar.losses import padded_top_eigenvalue

        G = self.full
        return padded_top_eigenvalue(lambda v: G @ v, np.random.default_rng(0).standard_normal(G.shape[0]), np)

    @property
    def full(self) -> np.ndarray:
        """A A^T, formed on first use."""
        if self._full is None:
            self._full = self.A @ self.A.T
        return self._full

    def _fresh(self, mask: np.ndarray, k: int) -> np.ndarray:
        d = mask.size
        if 2 * k > d:  # more free than fixed: A A^T - A_K A_K^T from the cached A A^T
            CK = self.AT[~mask]
            return self.full - CK.T @ CK
        CJ = self.AT[mask]
        return CJ.T @ CJ

    def _store(self, mask, G, drift) -> None:
        self._mask, self._G, self._drift = mask.copy(), G, drift


def cholesky_solve(M: np.ndarray, rhs: np.ndarray, overwrite: bool = False) -> np.ndarray | None:
    """x = M^-1 rhs for a symmetric positive definite M by LAPACK potrf/potrs; None if not PD.

    (scipy.linalg.cho_factor adds ~30% of overhead at n = 1000 through its checks and copies.)
    ``overwrite=True`` lets LAPACK factor M in place (M is then garbage).
    """
    c, info = lapack.dpotrf(M, lower=True, clean=False, overwrite_a=overwrite)
    if info != 0:
        return None
    x, info = lapack.dpotrs(c, rhs, lower=True)
    if info != 0 or not np.isfinite(x).all():
        return None
    return x
