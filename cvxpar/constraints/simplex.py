"""The scaled probability simplex {x : x >= 0, sum_i x_i = total}.

In the contract (:mod:`cvxpar.constraints.base`) it is the bounds x >= 0 (folded into the prox of the
PAR) plus one equality row 1^T x = total.  Its exact Euclidean projection is the sort-based
algorithm of Held, Wolfe and Crowder (1974) (Duchi, Shalev-Shwartz, Singer and Chandra 2008, Fig. 1).
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import _backend
from cvxpar.constraints.base import Constraint


class Simplex(Constraint):
    """{x : x >= 0, sum(x) = total}, total >= 0.

    Solved by ``method="alm"`` (the pick of ``"auto"`` for a convex psi; any linear-model loss) or
    ``method="admm"`` (any psi; a ``LeastSquares`` loss on a dense A).

    Parameters
    ----------
    total : float, default 1.0
        The sum of the entries; finite and >= 0.

    Raises
    ------
    ValueError
        ``total`` negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.constraints import Simplex
    >>> Simplex(1.0).project(np.array([0.5, 0.5, 0.5]))
    array([0.33333333, 0.33333333, 0.33333333])
    """

    def __init__(self, total: float = 1.0) -> None:
        total = float(total)
        if not np.isfinite(total) or total < 0:
            raise ValueError(f"Simplex total must be a finite nonnegative number; got {total}.")
        self.total = total

    def bounds(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(d), np.full(d, np.inf)

    def rows(self, d: int):
        return np.ones((1, d)), np.array([self.total]), None, None

    def _violation(self, xn: np.ndarray) -> float:
        """max(max_i (-x_i)_+, |sum_i x_i - total| / sqrt(d)): the bounds x >= 0 and the row 1^T x = total (of norm
        sqrt(d)) without forming them."""
        return max(float(np.max(-xn, initial=0.0)), abs(float(np.sum(xn)) - self.total) / math.sqrt(xn.shape[0]))

    def project(self, x):
        """Euclidean projection onto the simplex, exact (sort-based; Duchi et al. 2008, Fig. 1), in x's namespace.

        Parameters
        ----------
        x : array of shape (d,)
            Any Array-API namespace.

        Returns
        -------
        array of shape (d,)
        """
        xp = _backend.array_namespace(x)
        d = x.shape[0]
        u = xp.flip(xp.sort(x))
        css = xp.cumulative_sum(u) - self.total
        k = xp.arange(1, d + 1, dtype=x.dtype, device=_backend.device(x))
        cond = u - css / k > 0
        rho = int(xp.max(xp.where(cond, xp.arange(d, device=_backend.device(x)), xp.zeros(d, dtype=xp.int64))))
        tau = css[rho] / float(rho + 1)
        return xp.maximum(x - tau, xp.zeros_like(x))

    def cvxpy(self, x) -> list:
        import cvxpy as cp

        return [x >= 0, cp.sum(x) == self.total]

    def __repr__(self) -> str:
        return f"Simplex(total={self.total})"
