"""Separable bounds: :class:`Box` (lower <= x <= upper) and :class:`NonNeg` (x >= 0).

Bounds are folded exactly into the prox of the PAR: for a convex psi the prox of psi + indicator of
[l, u] is the clipped prox; for any psi, :meth:`cvxpar.PAR.restrict` returns psi + indicator([l, u]) as one PAR
(walls at the bounds), whose exact prox is then the exact prox of the sum.  The normal cone is
N_[l,u](x) = (-inf, 0] at x = l, [0, inf) at x = u, {0} inside.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cvxpar import _backend
from cvxpar._validation import as_real_array
from cvxpar.constraints.base import Constraint


def _bound(value, name: str):
    arr = as_real_array(value, f"Box {name}")
    if np.isnan(arr).any():
        raise ValueError(f"Box {name} contains NaN; use -inf / +inf for a missing bound.")
    if arr.ndim > 1:
        raise ValueError(f"Box {name} must be a scalar or a 1-D array; got shape {arr.shape}.")
    return float(arr) if arr.ndim == 0 else arr


class Box(Constraint):
    """lower <= x <= upper, elementwise; bounds are scalars or 1-D arrays (+/-inf allowed).

    Bounds are separable: the solvers fold them into the prox of psi (walls at the bounds), so every
    method accepts them.

    Parameters
    ----------
    lower : float or array of shape (d,), default -inf
        Lower bounds; -inf for none.
    upper : float or array of shape (d,), default +inf
        Upper bounds; +inf for none.

    Raises
    ------
    ValueError
        A NaN bound, a bound with more than one dimension, a lower bound of +inf or an upper bound
        of -inf, lower > upper anywhere, or (when solving) an array bound whose length is not d.
    TypeError
        Complex or non-numeric entries.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.constraints import Box
    >>> box = Box(-1.0, [0.5, 2.0, 2.0])
    >>> box.project(np.array([-3.0, 1.0, 2.5]))
    array([-1.,  1.,  2.])
    >>> box.violation(np.array([-3.0, 1.0, 2.5]))     # the largest bound violation
    2.0
    """

    def __init__(self, lower: npt.ArrayLike = -np.inf, upper: npt.ArrayLike = np.inf) -> None:
        self.lower = _bound(lower, "lower")
        self.upper = _bound(upper, "upper")
        if np.any(np.asarray(self.lower) == np.inf) or np.any(np.asarray(self.upper) == -np.inf):
            raise ValueError(
                "Box(lower, upper): a lower bound of +inf or an upper bound of -inf leaves no finite x; "
                "use -inf / +inf for a missing lower / upper bound."
            )
        bad = np.asarray(self.lower) > np.asarray(self.upper)
        if np.any(bad):
            i = int(np.flatnonzero(np.atleast_1d(bad))[0])
            raise ValueError(
                f"Box lower > upper (at index {i}): the box is empty, so the problem is infeasible. "
                "Check the order of the bounds: Box(lower, upper)."
            )

    @property
    def scalar(self) -> bool:
        """True when both bounds are scalars (the same for every coordinate)."""
        return np.ndim(self.lower) == 0 and np.ndim(self.upper) == 0

    def check_size(self, d: int) -> None:
        for name, b in (("lower", self.lower), ("upper", self.upper)):
            if np.ndim(b) == 1 and b.shape[0] != d:
                raise ValueError(f"Box {name} has {b.shape[0]} entries but x has {d}; give a scalar or one bound per entry.")

    def bounds(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        return (np.array(np.broadcast_to(self.lower, (d,)), dtype=np.float64),
                np.array(np.broadcast_to(self.upper, (d,)), dtype=np.float64))

    def _violation(self, xn: np.ndarray) -> float:
        """max_i max(l_i - x_i, x_i - u_i, 0), scalar bounds broadcast rather than expanded to d entries."""
        return max(float(np.max(self.lower - xn, initial=0.0)), float(np.max(xn - self.upper, initial=0.0)))

    def project(self, x):
        """Clip x to [lower, upper] (exact Euclidean projection), in x's namespace.

        Parameters
        ----------
        x : array of shape (d,)
            Any Array-API namespace.

        Returns
        -------
        array of shape (d,)
        """
        xp = _backend.array_namespace(x)
        return xp.clip(x, *self.bounds_like(x))

    def bounds_like(self, x):
        """(lower, upper) as Python floats (scalar bounds) or arrays in x's namespace and device.

        Parameters
        ----------
        x : array of shape (d,)
            Any Array-API namespace.

        Returns
        -------
        (float, float) or (array, array)
        """
        xp = _backend.array_namespace(x)
        if self.scalar:
            return self.lower, self.upper
        d = x.shape[0]
        lo = np.broadcast_to(self.lower, (d,))
        hi = np.broadcast_to(self.upper, (d,))
        return _backend.asarray_like(xp, lo, x), _backend.asarray_like(xp, hi, x)

    def __repr__(self) -> str:
        return f"Box(lower={self.lower!r}, upper={self.upper!r})"


class NonNeg(Box):
    """x >= 0 (the Box [0, +inf)).

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.constraints import NonNeg
    >>> NonNeg().project(np.array([-1.0, 2.0]))
    array([0., 2.])
    """

    def __init__(self) -> None:
        super().__init__(0.0, np.inf)

    def __repr__(self) -> str:
        return "NonNeg()"
