"""Anderson extrapolation of a converging fixed-point sequence (offline: from K + 1 stored iterates).

Given the last K + 1 iterates x_0, ..., x_K of x_{k+1} = T(x_k) and their differences
U = [x_1 - x_0, ..., x_K - x_{K-1}], the extrapolated point is

    x_e = sum_{k=1..K} c_k x_k,   c = z / (1^T z),   (U^T U) z = 1,

the affine combination of the iterates whose combined difference sum c_k (x_k - x_{k-1}) has the
least norm.  For a linearly converging T (coordinate descent once the support of the Lasso, or the
split of a PAR into fixed and free coordinates, is identified, T is affine) this is minimal-polynomial
extrapolation and removes the slowest modes of the error (Bertrand and Massias 2021, "Anderson
acceleration of coordinate descent", AISTATS, Algorithm 1; Scieur, d'Aspremont and Bach 2016 for the
regularized form).  The caller decides whether to accept x_e (for coordinate descent: when it lowers
the objective), so a poor extrapolation never costs more than its test.

A companion vector that is affine in x (the residual b - A x of least squares) is extrapolated with
the same coefficients, so it stays exact without a product with A.
"""

from __future__ import annotations

import numpy as np

#: Number of differences combined (skglm's AndersonCD default; Bertrand and Massias 2021 use K = 5).
DEFAULT_K = 5


def extrapolate(xs: np.ndarray, rs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The extrapolated (x_e, r_e) from K + 1 consecutive iterates (the columns of ``xs``) and their
    companions (the columns of ``rs``); None when U^T U is singular or the weights are not finite."""
    U = np.diff(xs, axis=1)
    K = U.shape[1]
    if K < 1:
        raise ValueError(f"Anderson extrapolation needs at least 2 iterates; got {xs.shape[1]}.")
    try:
        z = np.linalg.solve(U.T @ U, np.ones(K))
    except np.linalg.LinAlgError:
        return None
    total = float(z.sum())
    if not (np.isfinite(z).all() and np.isfinite(total)) or total == 0.0:
        return None
    c = z / total
    return xs[:, 1:] @ c, rs[:, 1:] @ c
