"""A per-coordinate change of variables that gives every coordinate the same PAR: y_i = a_i x_i + c_i.

A PAR term reads each coordinate through an entry a_j x_i + c_j of its argument.  When every coordinate
is read with the same (a, c), the term is the one PAR u -> psi(a u + c) of x
(:func:`cvxpar.bridge.assemble.compose`).  A per-coordinate shift or scaling (``par(x - c)`` with a
vector c, ``norm1(x - c)``, ``par(multiply(a, x) + c)``) reads coordinate i with its own (a_i, c_i),
which no single PAR of x expresses; the substitution

    y = D x + c,    D = diag(a),  a_i != 0    (x = D^{-1} (y - c))

turns it into psi(y_i) exactly, and the rest of the problem follows:

- an affine map r(x) = A x + b (smooth terms, linear rows, other PAR arguments) becomes
  r = (A D^{-1}) y + (b - A D^{-1} c);
- bounds l <= x <= u become a l + c <= y <= a u + c (the two sides swapped where a_i < 0);
- a logistic term sum(logistic(G x)) gets the offset -G D^{-1} c inside (a loss of its own,
  :class:`~cvxpar.bridge.offset_logistic.OffsetLogistic`), which keeps the substitution exact;
- a minimizer y* of the substituted problem gives the minimizer x* = D^{-1} (y* - c) with the same
  objective value up to a constant, and a certified y* certifies the substituted problem (its residual
  is measured in y, the units of psi's argument).

(a_i, c_i) comes from the first PAR entry, in the order of the terms, that reads coordinate i; a
coordinate no PAR reads keeps (1, 0).  Columns are divided by a_i (not multiplied by 1 / a_i), so an entry
a_i x_i + c_i becomes exactly y_i.  A coordinate read by two PAR terms through different (a, c) keeps a
composed PAR for the second term, and :func:`cvxpar.bridge.assemble.build_par` says when the PARs then
differ between coordinates.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cvxpar.bridge.affine import Affine
from cvxpar.bridge.assemble import coordinate_entries
from cvxpar.bridge.errors import UnsupportedProblemError
from cvxpar.bridge.parse import Structure


@dataclass(frozen=True)
class Substitution:
    """y = a * x + c entrywise (a_i != 0), over x's entries in column-major order."""

    a: np.ndarray
    c: np.ndarray

    def key(self) -> tuple[bytes, bytes]:
        """What identifies the substitution (the bridge's cache of the loss and constraints is kept per key)."""
        return self.a.tobytes(), self.c.tobytes()

    def to_x(self, y) -> np.ndarray:
        """x = (y - c) / a."""
        return (np.asarray(y, dtype=np.float64).reshape(-1) - self.c) / self.a

    def to_y(self, x) -> np.ndarray:
        """y = a x + c."""
        return self.a * np.asarray(x, dtype=np.float64).reshape(-1) + self.c

    def affine(self, r: Affine | None) -> Affine:
        """r(x) = A x + b as a map of y: (A D^{-1}) y + (b - A D^{-1} c); ``None`` stands for x itself."""
        n = self.a.size
        if r is None:
            r = Affine(lambda: sp.identity(n, format="csr"), lambda: np.zeros(n), n, n)

        def matrix(A=r.A):
            return _divide_columns(A(), self.a)

        def offset(A=r.A, b=r.b, m=r.m):
            return np.broadcast_to(b(), (m,)) - np.asarray(matrix(A) @ self.c, dtype=np.float64).reshape(-1)

        return Affine(matrix, offset, r.m, r.n)

    def bounds(self, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The bounds on y of l <= x <= u."""
        with np.errstate(invalid="ignore"):  # a NaN bound stays NaN, for build_constraints to refuse
            lo, hi = self.a * lower + self.c, self.a * upper + self.c
        positive = self.a > 0
        return np.where(positive, lo, hi), np.where(positive, hi, lo)


def of(s: Structure, alternative: str) -> Substitution | None:
    """The substitution the PAR terms of ``s`` need (module docstring), or None when every coordinate they read
    is read with one common (a, c), or when a term is refused (the assembler then raises its error, after the
    loss's own checks, as without a substitution)."""
    n = s.x.size
    try:
        entries = [coordinate_entries(t, n, alternative) for t in s.pars]
    except UnsupportedProblemError:
        return None
    if not entries:
        return None
    coord, a, c = (np.concatenate([e[k] for e in entries]) for k in range(3))
    if coord.size == 0 or (np.all(a == a[0]) and np.all(c == c[0])):
        return None
    read, first = np.unique(coord, return_index=True)  # the first entry reading each coordinate
    scale, shift = np.ones(n), np.zeros(n)
    scale[read], shift[read] = a[first], c[first]
    if np.all(scale == 1.0) and np.all(shift == 0.0):
        return None  # x itself is the first reading everywhere (another term shifts it: build_par says why not)
    return Substitution(scale, shift)


def substitute(s: Structure, alternative: str) -> tuple[Structure, Substitution | None]:
    """``(the structure in y, the substitution)``, or ``(s, None)`` when none is needed (:func:`of`)."""
    sub = of(s, alternative)
    if sub is None:
        return s, None
    lower, upper = _merged(s.lower, -np.inf, np.maximum, sub), _merged(s.upper, np.inf, np.minimum, sub)
    bounded = bool(s.lower or s.upper)
    return dataclasses.replace(
        s,
        smooth=[dataclasses.replace(t, r=sub.affine(t.r)) for t in s.smooth],
        pars=[dataclasses.replace(t, arg=sub.affine(t.arg)) for t in s.pars],
        lower=[lambda: sub.bounds(lower(), upper())[0]] if bounded else [],
        upper=[lambda: sub.bounds(lower(), upper())[1]] if bounded else [],
        eq=[sub.affine(r) for r in s.eq],
        ineq=[sub.affine(r) for r in s.ineq],
    ), sub


def _merged(sides: list, start: float, combine, sub: Substitution):
    """The callable giving the tightest of the bound callables ``sides`` on x (``start`` where none)."""

    def value() -> np.ndarray:
        out = np.full(sub.a.size, start)
        for f in sides:
            out = combine(out, np.asarray(f(), dtype=np.float64))
        return out

    return value


def _divide_columns(A, a: np.ndarray):
    """A D^{-1}: column i divided by a_i (a division, so an entry equal to a_i becomes exactly 1)."""
    if sp.issparse(A):
        M = sp.csr_matrix(A, dtype=np.float64, copy=True)
        M.data = M.data / a[M.indices]
        return M
    return np.asarray(A, dtype=np.float64) / a[None, :]
