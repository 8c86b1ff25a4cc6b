"""Least squares: h_i(z) = (z - b_i)^2 / 2."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cvxpar.losses.base import Design, LinearModelLoss


class LeastSquares(LinearModelLoss):
    """f(x) = 1/2 ||Ax - b||^2 (no 1/n: pass lam * n_samples to match scikit-learn's 1/(2n) scaling).

    h(z) = (z - b)^2 / 2, h' = z - b, h'' = 1 (smoothness 1), h^*(w) = w^2 / 2 + w b.

    Parameters
    ----------
    A : array of shape (n_samples, n_features)
        Dense (any Array-API namespace), ``scipy.sparse`` or a ``scipy.sparse.linalg.LinearOperator``;
        or a row-chunked Dask array (then cvxpar.solve runs on the active Dask scheduler).
    b : array of shape (n_samples,)
        The responses, kept as ``self.target``.

    Raises
    ------
    ValueError
        ``b`` of the wrong length, or NaN or inf entries in ``A`` or ``b``.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> loss = cvxpar.losses.LeastSquares(np.eye(2), np.array([1.0, -2.0]))
    >>> loss.value(np.zeros(2)), loss.grad(np.zeros(2)), loss.lipschitz()
    (2.5, array([-1.,  2.]), 1.0)
    """

    smoothness = 1.0
    piecewise_quadratic = True
    target_name = "b"

    def __init__(self, A: Design, b: npt.ArrayLike) -> None:
        super().__init__(A, b)

    def h(self, z):
        r = z - self.target
        return 0.5 * (r * r)

    def dh(self, z):
        return z - self.target

    def d2h(self, z):
        return self.xp.ones_like(z)

    def hessian_factor(self, x, idx):
        """A_F itself (h'' = 1): the block of the Hessian A^T A on the columns ``idx`` is A_F^T A_F."""
        return self.op.columns(idx)

    def dh_dtarget(self, z):
        return -self.xp.ones_like(z)

    def conj(self, w):
        return self.xp.sum(0.5 * (w * w) + w * self.target)

    def huber_thresholds(self):
        """+inf per sample: (z - b)^2 / 2 is the Huber loss of threshold M = inf (see :meth:`~cvxpar.losses.Huber.huber_thresholds`)."""
        return np.full(self.n_samples, np.inf)

    def recession_slopes(self):
        """(-inf, +inf) per sample: h grows quadratically both ways (the recession cone needs A v = 0)."""
        n = self.n_samples
        return np.full(n, -np.inf), np.full(n, np.inf)

    def cvxpy(self, z):
        import cvxpy as cp

        return 0.5 * cp.sum_squares(z - self.target)
