"""General linear rows {x : A_eq x = b_eq, A_ub x <= b_ub} (dense or scipy.sparse data, stored dense float64)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cvxpar._validation import as_real_array
from cvxpar.constraints.base import Constraint


class Linear(Constraint):
    """{x : A_eq x = b_eq, A_ub x <= b_ub}; give either pair or both.

    The data is stored as dense float64 (scipy.sparse input is densified).  Solved by
    ``method="alm"`` (the pick of ``"auto"`` for a convex psi; any linear-model loss) or
    ``method="admm"`` (any psi; a ``LeastSquares`` loss on a dense A).

    Parameters
    ----------
    A_eq : array of shape (m_eq, d) or None
        Equality rows (dense or scipy.sparse).
    b_eq : array of shape (m_eq,) or None
        Their right-hand sides.
    A_ub : array of shape (m_ub, d) or None
        Inequality rows.
    b_ub : array of shape (m_ub,) or None
        Their right-hand sides.

    Raises
    ------
    ValueError
        Neither pair given, a matrix without its right-hand side (or the reverse), a row count that
        differs from the right-hand side's length, NaN or inf entries, or (when solving) a column
        count that is not d.
    TypeError
        Complex or non-numeric entries.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.constraints import Linear
    >>> budget = Linear(A_ub=np.ones((1, 3)), b_ub=[1.0])
    >>> budget.violation(np.array([0.5, 0.5, 0.5]))  # distance to the hyperplane sum(x) = 1
    0.2886751345948129
    """

    def __init__(self, A_eq: npt.ArrayLike | None = None, b_eq: npt.ArrayLike | None = None,
                 A_ub: npt.ArrayLike | None = None, b_ub: npt.ArrayLike | None = None) -> None:
        self.A_eq, self.b_eq = _pair(A_eq, b_eq, "eq")
        self.A_ub, self.b_ub = _pair(A_ub, b_ub, "ub")
        if self.A_eq is None and self.A_ub is None:
            raise ValueError("Linear needs A_eq/b_eq or A_ub/b_ub (or both).")

    def check_size(self, d: int) -> None:
        for name, M in (("A_eq", self.A_eq), ("A_ub", self.A_ub)):
            if M is not None and M.shape[1] != d:
                raise ValueError(f"Linear {name} has {M.shape[1]} columns but x has {d} entries.")

    def rows(self, d: int):
        return self.A_eq, self.b_eq, self.A_ub, self.b_ub

    def __repr__(self) -> str:
        eq = 0 if self.A_eq is None else self.A_eq.shape[0]
        ub = 0 if self.A_ub is None else self.A_ub.shape[0]
        return f"Linear({eq} equalities, {ub} inequalities)"


def _pair(M, v, kind: str):
    if M is None and v is None:
        return None, None
    if M is None or v is None:
        raise ValueError(f"Linear needs both A_{kind} and b_{kind}.")
    M = np.atleast_2d(as_real_array(M.toarray() if hasattr(M, "toarray") else M, f"A_{kind}"))
    v = as_real_array(v, f"b_{kind}").reshape(-1)
    if M.ndim != 2:
        raise ValueError(f"A_{kind} must be a 2-D matrix; got shape {M.shape}.")
    if M.shape[0] != v.shape[0]:
        raise ValueError(f"A_{kind} has {M.shape[0]} rows but b_{kind} has {v.shape[0]} entries.")
    if not (np.isfinite(M).all() and np.isfinite(v).all()):
        raise ValueError(f"A_{kind} / b_{kind} contain NaN or inf.")
    return M, v
