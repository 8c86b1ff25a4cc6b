"""A walled psi's domain as bounds, for a PAR term that does not read every coordinate with positive weight.

A psi that is +inf outside [d_lo, d_hi] (an infinite outer slope: a hard wall) keeps every entry of its
argument in that interval, whatever the entry's weight: ``0 * par(x - c, psi)`` is +inf outside the domain
(CVXPY's epigraph of the atom keeps the walls), and so are the entries of ``par(x[:k], psi)``.
:func:`cvxpar.solve` applies psi's domain to every coordinate, so such a term cannot go to it as it is.  It
goes as two parts that together are the term exactly:

- the walls: an entry a x_i + c (a != 0) in [d_lo, d_hi] is the bound

      (d_lo - c) / a <= x_i <= (d_hi - c) / a      (the two sides swapped when a < 0),

  one per entry, weight 0 included (an entry that reads no coordinate must hold its constant in the domain,
  or the problem is infeasible);
- psi without its walls: an infinite outer slope becomes the slope of the adjacent inner piece (0 when psi
  has one breakpoint), which changes psi only outside its domain, where the bounds keep every entry; the
  extension is affine, so it keeps psi's curvature.

A term that reads every coordinate with positive weight keeps its walls (they are then psi's domain on every
coordinate, as :func:`cvxpar.solve` takes it), and so does one whose entries read several coordinates (the
assembler refuses it with its own message).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from cvxpar.bridge.parse import PARTerm, Structure
from cvxpar.par import PAR


def release(s: Structure) -> Structure:
    """``s`` with the walls of each walled PAR term that needs it (module docstring) moved to bounds, or ``s``
    itself when none does.  The bounds follow the Parameter values of the moment (the structure's constraints
    are then rebuilt at each solve)."""
    n = s.x.size
    pars, lower, upper = [], list(s.lower), list(s.upper)
    for t in s.pars:
        sides = _wall_bounds(t, n)
        if sides is None:
            pars.append(t)
            continue
        pars.append(dataclasses.replace(t, psi=unwalled(t.psi)))
        lower.append(lambda sides=sides: sides()[0])
        upper.append(lambda sides=sides: sides()[1])
    if len(lower) == len(s.lower):
        return s
    return dataclasses.replace(s, pars=pars, lower=lower, upper=upper, constraint_params=True)


def unwalled(psi: PAR) -> PAR:
    """psi with each infinite outer slope replaced by the slope of the adjacent inner piece (0 for one breakpoint)."""
    inner = np.asarray(psi.slopes[1:-1], dtype=np.float64)
    left, right = float(psi.slopes[0]), float(psi.slopes[-1])
    left = left if np.isfinite(left) else (float(inner[0]) if inner.size else 0.0)
    right = right if np.isfinite(right) else (float(inner[-1]) if inner.size else 0.0)
    return PAR(psi.breakpoints, psi.values, left, right)


def _wall_bounds(t: PARTerm, n: int):
    """A callable giving (lower, upper) on x from the walls of ``t`` (module docstring), or None when ``t`` keeps
    its walls: psi has none, the argument is x itself, an entry reads several coordinates, or every coordinate is
    read with positive weight."""
    d_lo, d_hi = t.psi.domain
    if t.arg is None or (np.isneginf(d_lo) and np.isposinf(d_hi)):
        return None
    A = sp.csr_matrix(t.arg.A(), dtype=np.float64)
    A.eliminate_zeros()
    counts = np.diff(A.indptr)
    if np.any(counts > 1):
        return None
    w = np.broadcast_to(np.asarray(t.weight(), dtype=np.float64), (t.arg.m,))
    read = counts == 1
    if np.all(read & (w > 0)) and np.unique(A.indices).size == n:
        return None
    arg = t.arg

    def sides() -> tuple[np.ndarray, np.ndarray]:
        M = sp.csr_matrix(arg.A(), dtype=np.float64)
        M.eliminate_zeros()
        c = np.asarray(np.broadcast_to(arg.b(), (arg.m,)), dtype=np.float64)
        lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
        one = np.diff(M.indptr) == 1
        rows = np.flatnonzero(one)
        coord, a = M.indices[M.indptr[rows]], M.data[M.indptr[rows]]
        with np.errstate(invalid="ignore"):  # a NaN offset stays NaN, for build_constraints to refuse
            first, second = (d_lo - c[rows]) / a, (d_hi - c[rows]) / a
        np.maximum.at(lo, coord, np.where(a > 0, first, second))
        np.minimum.at(hi, coord, np.where(a > 0, second, first))
        constant = c[~one]
        if np.any((constant < d_lo) | (constant > d_hi)) and n:  # an entry with no coordinate outside the domain
            lo[0], hi[0] = np.inf, -np.inf
        return lo, hi

    return sides
