"""Canonicalizer of the PAR atom: the epigraph of a max of affine pieces.

For a convex psi(x) = max_k (a_k x + b_k) on its domain [q_0, q_{m-1}] (PARQ eq. 6; the walls
of infinite outer slopes are domain constraints),

    psi(x) <= t   iff   t >= a_k x + b_k for every k,  and  q_0 <= x <= q_{m-1} for each wall,

which is n aux columns and n*K rows (the same LP as ``cp.maximum`` over the pieces).  Registered in CVXPY's ``CANON_METHODS`` by
:mod:`cvxpar._cvxpy_registration`, which serves the conic, QP and DQCP paths alike.
"""

from __future__ import annotations

import numpy as np
from cvxpy.atoms.affine.wraps import nonneg_wrap, nonpos_wrap
from cvxpy.error import DCPError
from cvxpy.expressions.variable import Variable
from cvxpy.utilities.bounds import get_expr_bounds_if_supported


def par_canon(expr, args, solver_context=None):
    """Return ``(t, constraints)`` with t affine and psi(args[0]) <= t exactly on the constraints."""
    psi = expr.psi
    if not psi.is_convex:
        raise DCPError(f"{expr.name()}. Only a convex psi has an epigraph canonicalization.")
    x = args[0]
    lo, hi = psi.domain
    constraints = []
    if lo == hi:
        constraints.append(x == lo)
    else:
        if np.isfinite(lo):
            constraints.append(x >= lo)
        if np.isfinite(hi):
            constraints.append(x <= hi)
    slopes, intercepts = psi.max_affine()
    if slopes.size == 1:
        return slopes[0] * x + intercepts[0], constraints
    t = Variable(expr.shape, bounds=get_expr_bounds_if_supported(expr, solver_context))
    if expr.is_nonneg():
        t = nonneg_wrap(t)
    elif expr.is_nonpos():
        t = nonpos_wrap(t)
    constraints += [t >= a * x + b for a, b in zip(slopes, intercepts, strict=True)]
    return t, constraints
