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


#: Constants with more entries than this are shown by their shape in messages.
_SHOWN_ENTRIES = 4


def describe(item) -> str:
    """How a message names a CVXPY expression or constraint: as CVXPY prints it, with every constant
    of more than a few entries shown by its shape (``array(40, 25)``) instead of its values, and a
    PAR by its number of breakpoints."""
    try:
        return _shown(item).name()
    except Exception:  # an atom that cannot be rebuilt from its arguments: CVXPY's text, cut short
        text = " ".join(str(item).split())
        return text if len(text) <= 120 else text[:117] + "..."


def _shown(item):
    import cvxpy as cp
    from cvxpy.expressions.constants.constant import Constant

    if isinstance(item, Constant):
        if item.size <= _SHOWN_ENTRIES:
            return item
        return cp.Parameter(item.shape, name=f"array{item.shape}")
    args = getattr(item, "args", None)
    if not args:
        return item
    psi = getattr(item, "psi", None)
    if psi is not None:  # a PAR atom: its psi by its size, not its breakpoint list
        return cp.Parameter(item.shape, name=f"par({describe(args[0])}, psi with {psi.breakpoints.size} breakpoints)")
    return item.copy([_shown(a) for a in args])
