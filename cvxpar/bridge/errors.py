"""The one error the bridge raises for a problem it cannot take."""

from __future__ import annotations

from cvxpy.error import SolverError


class UnsupportedProblemError(SolverError, ValueError):
    """``problem.solve(method="cvxpar")`` met a part of the problem outside cvxpar's structure.

    The message names the unsupported expression or constraint and says which solver can take
    the problem instead.  It subclasses both :class:`cvxpy.error.SolverError` (what CVXPY users
    already catch around ``problem.solve``) and :class:`ValueError`.

    Attributes
    ----------
    culprit : str
        The offending expression, constraint or attribute, as CVXPY prints it.
    """

    def __init__(self, message: str, culprit: str = "") -> None:
        super().__init__(message)
        self.culprit = culprit
