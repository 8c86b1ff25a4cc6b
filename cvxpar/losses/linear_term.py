"""A linear term: h_i(z) = z, so f(x) = sum_i a_i^T x = (A^T 1)^T x."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from cvxpar.losses.base import Design, LinearModelLoss


class LinearTerm(LinearModelLoss):
    """f(x) = 1^T A x: a linear term q^T x with A = q^T (one row), or the sum of several.

    h(z) = z, h' = 1, h'' = 0 (smoothness 0), h^*(w) = 0 at w = 1 and +inf elsewhere; its
    recession function is h itself (slopes 1 both ways).  Alone it makes f + lam Psi a separable
    problem; its use is as one part of a :class:`~cvxpar.losses.Stacked` loss, e.g. the linear term
    of a least-squares objective whose vector does not lie in the range of the design's transpose.

    Parameters
    ----------
    A : array of shape (n_terms, n_features)
        The rows a_i (dense, scipy.sparse or a LinearOperator).
    target : array of shape (n_terms,), optional
        Unused by h (kept for the contract ``MyLoss(A, target)``); zeros by default.

    Raises
    ------
    ValueError
        NaN or inf entries in ``A``, or a target of the wrong length.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> q = np.array([1.0, -2.0])
    >>> loss = cvxpar.losses.LinearTerm(q[None, :])
    >>> loss.value(np.array([3.0, 1.0])), loss.grad(np.zeros(2))
    (1.0, array([ 1., -2.]))
    """

    smoothness = 0.0
    piecewise_quadratic = True

    def __init__(self, A: Design, target: npt.ArrayLike | None = None) -> None:
        if target is None:
            target = np.zeros(int(A.shape[0]))
        super().__init__(A, target)

    def h(self, z):
        return z

    def dh(self, z):
        return self.xp.ones_like(z)

    def d2h(self, z):
        return self.xp.zeros_like(z)

    def dh_dtarget(self, z):
        return self.xp.zeros_like(z)

    def conj(self, w):
        xp = self.xp
        return 0.0 if bool(xp.all(w == 1.0)) else math.inf

    def recession_slopes(self):
        """(1, 1) per row: h is its own recession function."""
        n = self.n_samples
        return np.ones(n), np.ones(n)

    def cvxpy(self, z):
        import cvxpy as cp

        return cp.sum(z)
