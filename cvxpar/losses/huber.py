"""Huber regression: h_i(z) = H_M(z - b_i)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from cvxpar.losses.base import Design, LinearModelLoss


class Huber(LinearModelLoss):
    """f(x) = sum_i H_M(a_i^T x - b_i), H_M(r) = r^2/2 for |r| <= M, M|r| - M^2/2 beyond (Huber 1964).

    h' = clip(r, -M, M), generalized h'' = 1 on |r| <= M and 0 beyond (smoothness 1), quadratic majorizer
    curvature min(1, M / |r|),
    h^*(w) = w^2/2 + w b on |w| <= M, +inf outside.

    Parameters
    ----------
    A : array of shape (n_samples, n_features)
        Dense (any Array-API namespace), ``scipy.sparse`` or a ``scipy.sparse.linalg.LinearOperator``;
        or a row-chunked Dask array (then cvxpar.solve runs on the active Dask scheduler).
    b : array of shape (n_samples,)
        The responses, kept as ``self.target``.
    M : float, default 1.0
        The threshold between the quadratic and the linear part; finite and > 0.

    Raises
    ------
    ValueError
        ``M`` not finite and positive, ``b`` of the wrong length, or NaN or inf entries.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> loss = cvxpar.losses.Huber(np.eye(2), np.array([0.5, 3.0]), M=1.0)
    >>> loss.value(np.zeros(2))                # 0.5**2 / 2 + (3 - 1/2)
    2.625
    >>> loss.grad(np.zeros(2))                 # the residual clipped to [-M, M]
    array([-0.5, -1. ])
    """

    smoothness = 1.0
    piecewise_quadratic = True
    target_name = "b"

    def __init__(self, A: Design, b: npt.ArrayLike, M: float = 1.0) -> None:
        if not (math.isfinite(M) and M > 0):
            raise ValueError(f"M must be a finite positive number; got {M}.")
        self.M = float(M)
        super().__init__(A, b)

    def h(self, z):
        r = self.xp.abs(z - self.target)
        return self.xp.where(r <= self.M, 0.5 * r * r, self.M * r - 0.5 * self.M**2)

    def dh(self, z):
        return self.xp.clip(z - self.target, -self.M, self.M)

    def d2h(self, z):
        xp = self.xp
        return xp.astype(xp.abs(z - self.target) <= self.M, z.dtype)

    def d2h_majorant(self, z):
        """min(1, M / |z - b|): the curvature of the sharpest quadratic majorizer of H_M at r = z - b, the
        weight of iteratively reweighted least squares (Huber 1981, "Robust Statistics", ch. 7; de Leeuw and
        Lange 2009, "Sharp quadratic majorization in one dimension", Comput. Stat. Data Anal. 53(7): for an
        even h with h'(r) / r nonincreasing in |r| the sharp curvature is h'(r) / r)."""
        xp = self.xp
        r = xp.abs(z - self.target)
        return xp.where(r <= self.M, xp.ones_like(r), self.M / xp.where(r <= self.M, xp.ones_like(r), r))

    def dh_dtarget(self, z):
        return -self.d2h(z)

    def conj(self, w):
        xp = self.xp
        if bool(xp.any(xp.abs(w) > self.M)):
            return math.inf
        return xp.sum(0.5 * (w * w) + w * self.target)

    def huber_thresholds(self):
        """M per sample: H_M(r) = min_v (r - v)^2 / 2 + M |v| (the Moreau envelope of M |.|; the minimizer v is the
        residual soft-thresholded at M), so the loss is least squares in (x, v) with an l1 term on v (the form
        :mod:`cvxpar.solvers.ssnal` solves by exact proximal-point steps)."""
        return np.full(self.n_samples, self.M)

    def recession_slopes(self):
        """(-M, M) per sample: H_M(r) >= M |r| - M^2/2, the recession function M |w|."""
        n = self.n_samples
        return np.full(n, -self.M), np.full(n, self.M)

    def cvxpy(self, z):
        import cvxpy as cp

        return 0.5 * cp.sum(cp.huber(z - self.target, self.M))  # CVXPY's huber is 2 H_M
