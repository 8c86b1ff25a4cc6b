"""Least squares: h_i(z) = (z - b_i)^2 / 2."""

from __future__ import annotations

from cvxpar.losses.base import LinearModelLoss


class LeastSquares(LinearModelLoss):
    """f(x) = 1/2 ||Ax - b||^2 (no 1/n: pass lam * n_samples to match scikit-learn's 1/(2n) scaling).

    h(z) = (z - b)^2 / 2, h' = z - b, h'' = 1 (smoothness 1), h^*(w) = w^2 / 2 + w b.
    """

    smoothness = 1.0
    target_name = "b"

    def h(self, z):
        r = z - self.target
        return 0.5 * (r * r)

    def dh(self, z):
        return z - self.target

    def d2h(self, z):
        return self.xp.ones_like(z)

    def conj(self, w):
        return self.xp.sum(0.5 * (w * w) + w * self.target)

    def cvxpy(self, z):
        import cvxpy as cp

        return 0.5 * cp.sum_squares(z - self.target)
