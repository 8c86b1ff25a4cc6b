"""The PAR atom: psi applied elementwise to a CVXPY expression.

``ParAtom`` *declares* the math of psi (sign, curvature, monotonicity, value, gradient); its
epigraph canonicalizer lives in :mod:`cvxpar.atoms.canon`, its DQCP sublevel sets in
:mod:`cvxpar.atoms.dqcp`, and both are registered into CVXPY by
:mod:`cvxpar._cvxpy_registration` (the CVXPY atom pattern: ``cvxpy/atoms/elementwise/abs.py``,
``huber.py``).

Curvature of the atom (Ma & Xiao 2025, Fig. 1; :attr:`cvxpar.PAR.curvature`):

- convex psi (a max of affine pieces): a DCP convex atom; concave too when psi is affine;
- quasiconvex psi: a DQCP quasiconvex atom (quasilinear when psi is also monotone);
- nonconvex psi: neither.  Building expressions with it is fine (``cvxpar.reference`` and
  ``problem.solve(method="cvxpar")`` read them), but the problem is not DCP and CVXPY's
  ``DCPError`` names the atom together with those two routes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from cvxpy.atoms.elementwise.elementwise import Elementwise
from cvxpy.expressions.expression import Expression

from cvxpar.par import PAR

#: Appended to the atom's name when psi is not convex, so that CVXPY's DCPError (which lists the
#: non-DCP subexpressions by name, cvxpy/utilities/debug_tools.py) points to the exact routes.
_NONCONVEX_HINT = (
    " <-- psi is {curvature}, so this is not DCP: use cvxpar.reference(loss, psi, lam, constraints) "
    "for an exact (mixed-integer) solution, or problem.solve(method='cvxpar') for a certified stationary point"
)
_QUASICONVEX_HINT = _NONCONVEX_HINT + "; a single psi term (or a max of them) is DQCP: solve(qcp=True)"

#: Feasibility tolerance at psi's walls, relative to 1 + |wall|: solvers return points a little
#: outside a box (Clarabel ~1e-9, SCS/OSQP ~1e-5), and ``problem.value`` is recomputed from
#: ``numeric`` at the returned point, so values within this distance are evaluated at the wall itself.
WALL_RTOL = 1e-4


class ParAtom(Elementwise):
    """psi(x) elementwise for a :class:`cvxpar.PAR` psi.

    Parameters
    ----------
    expr : Expression or array
        The argument x (any shape, real).
    psi : PAR, or breakpoints
        The PAR.  For ``copy()`` (which rebuilds an atom from ``args + get_data()``) the
        constructor also accepts psi's defining data ``breakpoints, values, left_slope,
        right_slope`` in its place.
    """

    def __init__(self, expr, psi, values=None, left_slope=None, right_slope=None) -> None:
        if isinstance(psi, PAR):
            if values is not None or left_slope is not None or right_slope is not None:
                raise TypeError("pass either a PAR or (breakpoints, values, left_slope, right_slope), not both.")
        elif values is None or left_slope is None or right_slope is None:
            raise TypeError(
                f"psi must be a cvxpar.PAR; got {type(psi).__name__}. Build one with cvxpar.PAR(...) or a family "
                "from cvxpar.pars (e.g. cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)))."
            )
        else:
            psi = PAR(psi, values, left_slope, right_slope)
        self.psi = psi
        super().__init__(expr)

    # ------------------------------------------------------------------ data
    def get_data(self) -> list:
        """psi's defining data, in constructor order (copy() and the CSE cache key on it)."""
        psi = self.psi
        return [psi.breakpoints, psi.values, psi.left_slope, psi.right_slope]

    def validate_arguments(self) -> None:
        if self.args[0].is_complex():
            raise ValueError("The argument of par() must be real; psi is a real function.")
        super().validate_arguments()

    def name(self) -> str:
        return f"par({self.args[0].name()}, {self.psi!r}){self._hint()}"

    def format_labeled(self) -> str:
        if self._label is not None:
            return self._label
        return f"par({self.args[0].format_labeled()}, {self.psi!r}){self._hint()}"

    def _hint(self) -> str:
        curvature = self.psi.curvature
        if curvature == "convex":
            return ""
        hint = _QUASICONVEX_HINT if curvature == "quasiconvex" else _NONCONVEX_HINT
        return hint.format(curvature=curvature)

    # ------------------------------------------------------------------ numerics
    @Elementwise.numpy_numeric
    def numeric(self, values):
        """psi(x) elementwise; +inf outside psi's domain (beyond the wall tolerance WALL_RTOL)."""
        return self.psi(self._onto_walls(values[0]))

    def _onto_walls(self, value) -> np.ndarray:
        """``value`` with entries within WALL_RTOL outside a wall moved onto it."""
        x = np.asarray(value, dtype=np.float64)
        lo, hi = self.psi.domain
        if np.isfinite(lo):
            x = np.where((x < lo) & (x >= lo - WALL_RTOL * (1 + abs(lo))), lo, x)
        if np.isfinite(hi):
            x = np.where((x > hi) & (x <= hi + WALL_RTOL * (1 + abs(hi))), hi, x)
        return x

    def _grad(self, values):
        """The minimum-norm element of the Clarke subdifferential of psi at each entry.

        Inside a piece that is the slope; at a kink the element of [s_left, s_right] nearest 0
        (|x| gets 0 at 0, as cvxpy's abs does).  None outside psi's domain.
        """
        lo, hi = self.psi.subdifferential(self._onto_walls(values[0]))
        lo, hi = np.asarray(lo), np.asarray(hi)
        if (lo > hi).any():
            return [None]
        grad = np.clip(0.0, lo, hi)
        return [ParAtom.elemwise_grad_to_diag(grad, self.args[0].size, self.size)]

    def _domain(self) -> list:
        lo, hi = self.psi.domain
        x = self.args[0]
        constraints = []
        if np.isfinite(lo):
            constraints.append(x >= lo)
        if np.isfinite(hi):
            constraints.append(x <= hi)
        return constraints

    # ------------------------------------------------------------------ DCP / DQCP
    def sign_from_args(self) -> tuple[bool, bool]:
        """Exact: the inf and sup of psi over the range the argument's sign allows."""
        low, high = self.psi.value_range(*_sign_range(self.args[0]))
        return bool(low >= 0), bool(high <= 0)

    def is_atom_convex(self) -> bool:
        return self.psi.is_convex

    def is_atom_concave(self) -> bool:
        return _is_affine(self.psi)

    def is_atom_quasiconvex(self) -> bool:
        return self.psi.curvature in ("convex", "quasiconvex")

    def is_atom_quasiconcave(self) -> bool:
        return _is_affine(self.psi) or _monotone_without_walls(self.psi)

    def is_incr(self, idx) -> bool:
        """Nondecreasing on the argument's range: every slope met there is >= 0 (a left wall is not)."""
        return bool((_slopes_on(self.psi, *_sign_range(self.args[idx])) >= 0).all())

    def is_decr(self, idx) -> bool:
        return bool((_slopes_on(self.psi, *_sign_range(self.args[idx])) <= 0).all())

    def is_pwl(self) -> bool:
        return self.args[0].is_pwl()


def par(expr: Expression | npt.ArrayLike, psi: PAR) -> ParAtom:
    """psi(expr) elementwise, a CVXPY expression of ``expr``'s shape.

    ``lam * cp.sum(par(x, psi))`` is DCP (and DPP for ``lam = cp.Parameter(nonneg=True)``) when
    psi is convex; a quasiconvex psi gives a DQCP atom (``solve(qcp=True)``); a nonconvex psi
    gives an expression that ``cvxpar.reference`` and ``problem.solve(method="cvxpar")`` accept.

    Parameters
    ----------
    expr : cvxpy Expression or array_like
        The argument (a variable, an affine expression, or a constant).
    psi : PAR
        The piecewise-affine function applied elementwise.

    Returns
    -------
    ParAtom
        A CVXPY expression of ``expr``'s shape, with psi's sign, curvature and monotonicity.

    Raises
    ------
    TypeError
        If ``psi`` is not a :class:`cvxpar.PAR`.

    Examples
    --------
    >>> import cvxpy as cp, cvxpar
    >>> psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
    >>> x = cp.Variable(3)
    >>> cp.Problem(cp.Minimize(cp.sum_squares(x - 0.3) + cp.sum(cvxpar.par(x, psi)))).is_dcp()
    True
    """
    if not isinstance(psi, PAR):
        raise TypeError(
            f"psi must be a cvxpar.PAR; got {type(psi).__name__}. Build one with cvxpar.PAR(...) or a family from "
            "cvxpar.pars (e.g. cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)))."
        )
    return ParAtom(Expression.cast_to_const(expr), psi)


# ---------------------------------------------------------------------- helpers on psi
def _sign_range(arg) -> tuple[float, float]:
    """The interval the argument's declared sign confines it to."""
    return (0.0 if arg.is_nonneg() else -np.inf), (0.0 if arg.is_nonpos() else np.inf)


def _slopes_on(psi: PAR, lo: float, hi: float) -> np.ndarray:
    """Slopes of the pieces of psi (walls as -inf / +inf) that meet the open interval (lo, hi)."""
    edges = np.concatenate(([-np.inf], psi.breakpoints, [np.inf]))
    meets = np.maximum(edges[:-1], lo) < np.minimum(edges[1:], hi)
    return psi.slopes[meets]


def _is_affine(psi: PAR) -> bool:
    s = psi.slopes
    return bool(np.isfinite(s).all() and (s == s[0]).all())


def _monotone_without_walls(psi: PAR) -> bool:
    """Monotone and finite everywhere: every superlevel set is a half-line, so psi is quasiconcave."""
    s = psi.slopes
    return bool(np.isfinite(s).all() and ((s >= 0).all() or (s <= 0).all()))
