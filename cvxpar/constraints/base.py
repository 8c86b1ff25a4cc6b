"""The constraint contract: what every constraint kind tells the solvers, the certificate and the references.

A constraint set C is described by two pieces of data, and everything else is derived from them:

- ``bounds(d) -> (lower, upper)``: the separable part, per-coordinate bounds (``-inf`` / ``+inf`` where
  there is none).  Separable bounds are folded exactly into the prox of the PAR (a PAR restricted to an
  interval is again a PAR), so they cost nothing in any method;
- ``rows(d) -> (A_eq, b_eq, A_ub, b_ub)``: the coupling part, linear rows {A_eq x = b_eq, A_ub x <= b_ub}
  (``None`` where absent).

From these the base class derives the constraint's **violation in x's own units** (the distance from x to
each violated bound, and the Euclidean distance |a_i^T x - b_i| / ||a_i||_2 from x to each violated
hyperplane: never scaled by a gradient), its CVXPY form, and the merged view
(:class:`cvxpar.constraints.FeasibleSet`) that solvers, the certificate and the references consume.
A kind with an exact Euclidean projection (Box, Simplex) also provides ``project(x)``.  A new kind is one
file: a subclass that implements ``bounds`` and ``rows`` (and ``project`` where one exists).
"""

from __future__ import annotations

import numpy as np

from cvxpar import _backend


class Constraint:
    """Base class of the constraint kinds (see the module docstring for the contract).

    A subclass implements ``bounds(d)`` and ``rows(d)`` (and ``project`` where an exact projection
    exists); ``violation`` and ``cvxpy`` follow.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.constraints import Constraint
    >>> class Budget(Constraint):          # sum(x) <= c, written against the contract only
    ...     def __init__(self, c):
    ...         self.c = c
    ...     def rows(self, d):
    ...         return None, None, np.ones((1, d)), np.array([self.c])
    >>> round(Budget(1.0).violation(np.array([1.0, 1.0])), 6)   # distance to {x1 + x2 = 1}
    0.707107
    """

    def check_size(self, d: int) -> None:
        """Raise ValueError when the constraint's data does not fit a vector of d entries.

        Parameters
        ----------
        d : int
            The length of x.

        Raises
        ------
        ValueError
            Data of another length than d.
        """

    def bounds(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-coordinate (lower, upper) bounds implied by the constraint, as float64 arrays of length d.

        Parameters
        ----------
        d : int

        Returns
        -------
        lower, upper : numpy.ndarray of shape (d,)
            ``-inf`` / ``+inf`` where there is no bound.
        """
        return np.full(d, -np.inf), np.full(d, np.inf)

    def rows(self, d: int):
        """(A_eq, b_eq, A_ub, b_ub): the linear rows of the constraint (dense float64, or None).

        Parameters
        ----------
        d : int

        Returns
        -------
        A_eq, b_eq, A_ub, b_ub : numpy.ndarray or None
            The rows {A_eq x = b_eq, A_ub x <= b_ub}; None where there are none.
        """
        return None, None, None, None

    project = None
    """``project(x)``: the exact Euclidean projection onto the set, for kinds that have one (else None)."""

    def violation(self, x) -> float:
        """The largest violation in x's units: bound violations and distances to violated hyperplanes.

        ``max(max_i (l_i - x_i)_+, max_i (x_i - u_i)_+, max_j |a_j^T x - b_j| / ||a_j||_2 (equalities),
        max_j (a_j^T x - b_j)_+ / ||a_j||_2 (inequalities))``; NaN entries make it ``inf``.

        Parameters
        ----------
        x : array of shape (d,)
            Any Array-API namespace.

        Returns
        -------
        float
        """
        xn = np.asarray(_backend.to_host(x), dtype=np.float64).reshape(-1)
        if not np.isfinite(xn).all():
            return float("inf")
        return self._violation(xn)

    def _violation(self, xn: np.ndarray) -> float:
        """:meth:`violation` at a finite float64 NumPy x, from ``bounds`` and ``rows`` (a kind whose bounds and rows
        have a closed form overrides it)."""
        d = xn.shape[0]
        lower, upper = self.bounds(d)
        worst = max(float(np.max(lower - xn, initial=0.0)), float(np.max(xn - upper, initial=0.0)))
        A_eq, b_eq, A_ub, b_ub = self.rows(d)
        for M, v, two_sided in ((A_eq, b_eq, True), (A_ub, b_ub, False)):
            if M is None:
                continue
            r = M @ xn - v
            r = np.abs(r) if two_sided else np.maximum(r, 0.0)
            norms = np.linalg.norm(M, axis=1)
            dist = np.where(norms > 0, r / np.where(norms > 0, norms, 1.0), np.where(r > 0, np.inf, 0.0))
            worst = max(worst, float(np.max(dist, initial=0.0)))
        return worst

    def cvxpy(self, x) -> list:
        """The constraint as a list of CVXPY constraints on the variable (or expression) x.

        Parameters
        ----------
        x : cvxpy.Expression of shape (d,)

        Returns
        -------
        list of cvxpy constraints
        """
        d = int(np.prod(x.shape)) if x.shape else 1
        lower, upper = self.bounds(d)
        out = []
        if np.isfinite(lower).any():
            fin = np.isfinite(lower)
            out.append(x[np.flatnonzero(fin)] >= lower[fin] if not fin.all() else x >= lower)
        if np.isfinite(upper).any():
            fin = np.isfinite(upper)
            out.append(x[np.flatnonzero(fin)] <= upper[fin] if not fin.all() else x <= upper)
        A_eq, b_eq, A_ub, b_ub = self.rows(d)
        if A_eq is not None:
            out.append(A_eq @ x == b_eq)
        if A_ub is not None:
            out.append(A_ub @ x <= b_ub)
        return out


