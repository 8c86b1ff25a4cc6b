"""Constraint sets C for ``cvxpar.solve``: Box, NonNeg, Simplex and Linear.

- :class:`Box` (and :class:`NonNeg`) are separable: the solvers fold them into the prox of the
  PAR exactly (:func:`restrict` for a nonconvex psi, clipping for a convex one) and the
  certificate uses their normal cone N_[l,u](x) = (-inf, 0] at x = l, [0, inf) at x = u.
- :class:`Simplex` {x >= 0, sum x = total} has an exact sort-based projection (Held, Wolfe and
  Crowder 1974; Duchi et al. 2008, Fig. 1); with a PAR it is handled by ADMM.
- :class:`Linear` {A_eq x = b_eq, A_ub x <= b_ub} is handled by ADMM, its normal cone by a small LP
  in the certificate.

``constraints`` may be one of these or a list; several boxes intersect.
"""

from __future__ import annotations

import numpy as np

from cvxpar import _backend
from cvxpar.par import PAR


class Constraint:
    """Base class of the constraint sets."""


def _bound(value, name: str):
    arr = np.asarray(value, dtype=np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"Box {name} contains NaN; use -inf / +inf for a missing bound.")
    if arr.ndim > 1:
        raise ValueError(f"Box {name} must be a scalar or a 1-D array; got shape {arr.shape}.")
    return float(arr) if arr.ndim == 0 else arr


class Box(Constraint):
    """lower <= x <= upper, elementwise; bounds are scalars or 1-D arrays (+/-inf allowed)."""

    def __init__(self, lower=-np.inf, upper=np.inf) -> None:
        self.lower = _bound(lower, "lower")
        self.upper = _bound(upper, "upper")
        bad = np.asarray(self.lower) > np.asarray(self.upper)
        if np.any(bad):
            i = int(np.flatnonzero(np.atleast_1d(bad))[0])
            raise ValueError(
                f"Box lower > upper (at index {i}): the box is empty, so the problem is infeasible. "
                "Check the order of the bounds: Box(lower, upper)."
            )

    @property
    def scalar(self) -> bool:
        return np.ndim(self.lower) == 0 and np.ndim(self.upper) == 0

    def check_size(self, d: int) -> None:
        for name, b in (("lower", self.lower), ("upper", self.upper)):
            if np.ndim(b) == 1 and b.shape[0] != d:
                raise ValueError(f"Box {name} has {b.shape[0]} entries but x has {d}; give a scalar or one bound per entry.")

    def intersect(self, other: Box) -> Box:
        return Box(np.maximum(self.lower, other.lower), np.minimum(self.upper, other.upper))

    def project(self, x):
        xp = _backend.array_namespace(x)
        return xp.clip(x, *self.bounds_like(x))

    def bounds_like(self, x):
        """(lower, upper) as Python floats (scalar bounds) or arrays in x's namespace and device."""
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
    """x >= 0."""

    def __init__(self) -> None:
        super().__init__(0.0, np.inf)

    def __repr__(self) -> str:
        return "NonNeg()"


class Simplex(Constraint):
    """{x : x >= 0, sum(x) = total}, total >= 0."""

    def __init__(self, total: float = 1.0) -> None:
        total = float(total)
        if not np.isfinite(total) or total < 0:
            raise ValueError(f"Simplex total must be a finite nonnegative number; got {total}.")
        self.total = total

    def project(self, x):
        """Euclidean projection onto the simplex, exact (sort-based), in x's namespace."""
        xp = _backend.array_namespace(x)
        d = x.shape[0]
        u = xp.flip(xp.sort(x))
        css = xp.cumulative_sum(u) - self.total
        k = xp.arange(1, d + 1, dtype=x.dtype, device=_backend.device(x))
        cond = u - css / k > 0
        rho = int(xp.max(xp.where(cond, xp.arange(d, device=_backend.device(x)), xp.zeros(d, dtype=xp.int64))))
        tau = css[rho] / float(rho + 1)
        return xp.maximum(x - tau, xp.zeros_like(x))

    def __repr__(self) -> str:
        return f"Simplex(total={self.total})"


class Linear(Constraint):
    """{x : A_eq x = b_eq, A_ub x <= b_ub} (NumPy / SciPy data)."""

    def __init__(self, A_eq=None, b_eq=None, A_ub=None, b_ub=None) -> None:
        self.A_eq, self.b_eq = _pair(A_eq, b_eq, "eq")
        self.A_ub, self.b_ub = _pair(A_ub, b_ub, "ub")
        if self.A_eq is None and self.A_ub is None:
            raise ValueError("Linear needs A_eq/b_eq or A_ub/b_ub (or both).")

    def check_size(self, d: int) -> None:
        for name, M in (("A_eq", self.A_eq), ("A_ub", self.A_ub)):
            if M is not None and M.shape[1] != d:
                raise ValueError(f"Linear {name} has {M.shape[1]} columns but x has {d} entries.")

    def stacked(self):
        """(G, h, n_eq): rows [A_eq; A_ub] and right-hand sides, the first n_eq rows equalities."""
        blocks = [(M, v) for M, v in ((self.A_eq, self.b_eq), (self.A_ub, self.b_ub)) if M is not None]
        G = np.vstack([M for M, _ in blocks])
        h = np.concatenate([v for _, v in blocks])
        return G, h, 0 if self.A_eq is None else self.A_eq.shape[0]

    def __repr__(self) -> str:
        eq = 0 if self.A_eq is None else self.A_eq.shape[0]
        ub = 0 if self.A_ub is None else self.A_ub.shape[0]
        return f"Linear({eq} equalities, {ub} inequalities)"


def _pair(M, v, kind: str):
    if M is None and v is None:
        return None, None
    if M is None or v is None:
        raise ValueError(f"Linear needs both A_{kind} and b_{kind}.")
    M = np.atleast_2d(np.asarray(M.toarray() if hasattr(M, "toarray") else M, dtype=np.float64))
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if M.shape[0] != v.shape[0]:
        raise ValueError(f"A_{kind} has {M.shape[0]} rows but b_{kind} has {v.shape[0]} entries.")
    if not (np.isfinite(M).all() and np.isfinite(v).all()):
        raise ValueError(f"A_{kind} / b_{kind} contain NaN or inf.")
    return M, v


def as_list(constraints) -> list[Constraint]:
    """Normalize ``constraints`` (None, one set, or a list) to a list, checking the types."""
    if constraints is None:
        return []
    items = list(constraints) if isinstance(constraints, (list, tuple)) else [constraints]
    for c in items:
        if not isinstance(c, Constraint):
            raise TypeError(
                f"constraints must be Box, NonNeg, Simplex or Linear objects from cvxpar.constraints; got {type(c).__name__}."
            )
    return items


def split(constraints, d: int):
    """(box or None, simplex or None, linear or None) from a constraint list, sizes checked."""
    box = simplex = linear = None
    for c in as_list(constraints):
        if isinstance(c, Box):
            c.check_size(d)
            box = c if box is None else box.intersect(c)
        elif isinstance(c, Simplex):
            if simplex is not None and simplex.total != c.total:
                raise ValueError("two Simplex constraints with different totals: the problem is infeasible.")
            simplex = c
        elif isinstance(c, Linear):
            c.check_size(d)
            if linear is not None:
                raise ValueError("give one Linear constraint (stack the rows of several into one).")
            linear = c
    return box, simplex, linear


def restrict(psi: PAR, lower: float, upper: float) -> PAR | None:
    """psi + indicator of [lower, upper] as one PAR (walls at the bounds); None if the domains miss.

    Exact for any curvature: the breakpoints inside the box are kept, the bounds become
    breakpoints with hard walls beyond them, so ``prox`` of the result is the exact prox of
    t*psi + indicator([lower, upper]) even for a nonconvex psi, where clipping the
    unconstrained prox would not be.
    """
    dom_lo, dom_hi = psi.domain
    lo, hi = max(lower, dom_lo), min(upper, dom_hi)
    if lo > hi:
        return None
    if lo == -np.inf and hi == np.inf:
        return psi
    if lo == hi:
        return PAR([lo], psi([lo]), -np.inf, np.inf)
    q = psi.breakpoints
    inner = q[(q > lo) & (q < hi)]
    pts = np.concatenate(([lo] if np.isfinite(lo) else [], inner, [hi] if np.isfinite(hi) else []))
    if pts.size == 0:  # an unbounded side with every breakpoint cut off: keep one point inside
        pts = np.array([lo if np.isfinite(lo) else hi])
    left = -np.inf if np.isfinite(lo) else psi.left_slope
    right = np.inf if np.isfinite(hi) else psi.right_slope
    return PAR(pts, psi(pts), left, right)
