"""Logistic regression: h_i(z) = log(1 + exp(-y_i z)), labels in {-1, +1}."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from cvxpar import _backend
from cvxpar.losses.base import Design, LinearModelLoss


class Logistic(LinearModelLoss):
    """f(x) = sum_i log(1 + exp(-y_i a_i^T x)), labels y_i in {-1, +1}.

    With s = sigmoid(-y z): h' = -y s, h'' = s (1 - s) <= 1/4 (smoothness 1/4), and
    h^*(w) = p log p + (1 - p) log(1 - p) for p = -y w in [0, 1], +inf outside.

    Parameters
    ----------
    A : array of shape (n_samples, n_features)
        Dense (any Array-API namespace), ``scipy.sparse`` or a ``scipy.sparse.linalg.LinearOperator``;
        or a row-chunked Dask array (then cvxpar.solve runs on the active Dask scheduler).
    y : array of shape (n_samples,)
        Labels, each -1 or +1; kept as ``self.target``.

    Raises
    ------
    ValueError
        A label other than -1 or +1 (map {0, 1} labels with ``y = 2 * y - 1``), ``y`` of the
        wrong length, or NaN or inf entries.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> loss = cvxpar.losses.Logistic(np.array([[1.0], [-1.0]]), np.array([1.0, 1.0]))
    >>> round(loss.value(np.zeros(1)), 6)      # 2 log 2
    1.386294
    >>> loss.grad(np.zeros(1))
    array([0.])
    """

    smoothness = 0.25
    target_name = "y"

    def __init__(self, A: Design, y: npt.ArrayLike) -> None:
        super().__init__(A, y)

    def validate_target(self, target) -> None:
        xp = self.xp
        if not bool(xp.all((target == 1.0) | (target == -1.0))):
            raise ValueError("Logistic labels y must be -1 or +1 (map {0, 1} labels with y = 2*y - 1).")

    def _sigmoid_margin(self, z):
        """sigmoid(-y z), computed without overflow."""
        xp = self.xp
        m = -self.target * z
        e = xp.exp(-xp.abs(m))
        return xp.where(m >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def h(self, z):
        m = -self.target * z
        return self.xp.logaddexp(self.xp.zeros_like(m), m)

    def dh(self, z):
        return -self.target * self._sigmoid_margin(z)

    def d2h(self, z):
        s = self._sigmoid_margin(z)
        return s * (1.0 - s)

    def dh_dtarget(self, z):
        """d h'/d y = -s + y z s (1 - s) with s = sigmoid(-y z) (h extended smoothly to real y)."""
        s = self._sigmoid_margin(z)
        return -s + self.target * z * s * (1.0 - s)

    def conj(self, w):
        xp = self.xp
        p = -self.target * w
        if bool(xp.any((p < 0) | (p > 1))):
            return math.inf
        q = 1.0 - p
        safe_p = xp.where(p > 0, p, xp.ones_like(p))
        safe_q = xp.where(q > 0, q, xp.ones_like(q))
        return xp.sum(p * xp.log(safe_p) + q * xp.log(safe_q))

    def recession_slopes(self):
        """(min(0, -y_i), max(0, -y_i)): log(1 + e^m) >= max(0, m) with m = -y z, the recession function
        max(0, -y w)."""
        y = np.asarray(_backend.to_host(self.target), dtype=np.float64)
        return np.minimum(0.0, -y), np.maximum(0.0, -y)

    def cvxpy(self, z):
        import cvxpy as cp

        return cp.sum(cp.logistic(cp.multiply(-self.target, z)))
