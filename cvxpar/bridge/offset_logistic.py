"""CVXPY's ``sum(logistic(G x + o))`` with a constant offset o: the loss the bridge gives a logistic term whose
argument has one (written so, or put there by the change of variables of :mod:`cvxpar.bridge.shift`)."""

from __future__ import annotations

import math

import numpy as np

from cvxpar import _backend
from cvxpar.losses.base import LinearModelLoss


class OffsetLogistic(LinearModelLoss):
    """f(x) = sum_i g(a_i^T x + o_i), g(m) = log(1 + e^m), the offsets o as ``target``.

    With s = sigmoid(z + o): h' = s, h'' = s (1 - s) <= 1/4 (smoothness 1/4).  The conjugate is g's shifted,
    h^*(w) = g^*(w) - o w with g^*(w) = w log w + (1 - w) log(1 - w) on [0, 1] (+inf outside), and the
    recession function is g's, max(0, w): slopes (0, 1) (Rockafellar 1970, Convex Analysis, Thm. 8.5).
    With o = 0 it is :class:`cvxpar.losses.Logistic` with labels y = -1.

    Examples
    --------
    >>> import numpy as np
    >>> loss = OffsetLogistic(np.array([[1.0], [2.0]]), np.array([0.0, -2.0]))
    >>> round(float(loss.value(np.array([1.0]))), 6)      # log(1 + e) + log(2)
    2.006409
    """

    smoothness = 0.25
    target_name = "offset"

    def _margin(self, z):
        return z + self.target

    def _sigmoid(self, z):
        """sigmoid(z + o), computed without overflow."""
        xp = self.xp
        m = self._margin(z)
        e = xp.exp(-xp.abs(m))
        return xp.where(m >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def h(self, z):
        m = self._margin(z)
        return self.xp.logaddexp(self.xp.zeros_like(m), m)

    def dh(self, z):
        return self._sigmoid(z)

    def d2h(self, z):
        s = self._sigmoid(z)
        return s * (1.0 - s)

    def dh_dtarget(self, z):
        """d h'/d o = s (1 - s)."""
        return self.d2h(z)

    def conj(self, w):
        xp = self.xp
        if bool(xp.any((w < 0) | (w > 1))):
            return math.inf
        q = 1.0 - w
        safe_w = xp.where(w > 0, w, xp.ones_like(w))
        safe_q = xp.where(q > 0, q, xp.ones_like(q))
        return xp.sum(w * xp.log(safe_w) + q * xp.log(safe_q)) - xp.sum(w * self.target)

    def recession_slopes(self):
        """(0, 1) for every sample: g(m) >= max(0, m), g's recession function."""
        n = np.asarray(_backend.to_host(self.target)).size
        return np.zeros(n), np.ones(n)

    def cvxpy(self, z):
        import cvxpy as cp

        return cp.sum(cp.logistic(z + np.asarray(_backend.to_host(self.target), dtype=np.float64)))
