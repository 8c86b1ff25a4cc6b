"""The certificate's multiplier LP with few rows, by a dense simplex method on its dual.

The LP of :meth:`cvxpar.constraints.FeasibleSet.normal_cone_distance` on a set of coordinates,

    minimize s  over (y, s)  subject to  P y - s 1 <= beta,  y_j >= 0 (j >= n_eq),  s >= 0,

(one row of P per finite end of a coordinate's interval: +g_i with beta = c_i - lo_i, -g_i with beta = hi_i - c_i)
has k + 1 <= ~10 variables and up to a few hundred constraints.  Its dual (Lagrange multipliers w >= 0 on the rows,
mu >= 0 on the signs of y, nu >= 0 on that of s) is the standard-form LP

    minimize beta^T w  subject to  P^T w - E mu = 0,  1^T w + nu = 1,  (w, mu, nu) >= 0,

(E the identity's columns of the sign-constrained y), whose optimum is -s*; the simplex multipliers pi of its
optimal basis, pi = B^-T c_B, are (y*, -s*) (Dantzig 1963, ch. 6; Chvatal 1983, ch. 5: the dual of the dual).
Starting basis: nu = 1, mu_j = 0 on the sign-constrained y and, on each free y_j, an artificial column e_j fixed at 0
(it may leave the basis, never enter: a bounded-variable simplex with bounds [0, 0], so the start is feasible with
no phase 1).  Pivots by Dantzig's rule (the most negative reduced cost), by Bland's (the first negative one; no
cycling, Bland 1977) after a degenerate pivot.  Each step solves two (k + 1) x (k + 1) systems and prices the
columns in one product: ~0.1-0.5 ms where SciPy's ``linprog`` (HiGHS) costs ~1.5 ms, most of it in setting up.  The
answer is kept only where s equals the largest excess max(P y - beta, 0) at its y (primal and dual objectives agree:
``_checked``); None there, after MAX_PIVOTS_PER_COLUMN pivots per column or at a singular basis: the caller then runs
HiGHS.
"""

from __future__ import annotations

import numpy as np

#: Pivot limit, per column of the dual.
MAX_PIVOTS_PER_COLUMN = 4
#: :func:`_checked`: the LP's optimum s and the largest excess at its y agree to this (relative to the terms).
CHECK_RTOL = 1e-10
#: A reduced cost counts as negative below -PRICE_RTOL x (1 + |beta|_inf): the optimality test's rounding slack.
PRICE_RTOL = 1e-13


def solve(P: np.ndarray, beta: np.ndarray, n_eq: int):
    """(y, s*) of the LP above (P of shape (M, k), beta of shape (M,), y free on its first n_eq entries), or None."""
    M, k = P.shape
    n_sign = k - n_eq
    # the dual's columns: the rows' w, then mu (sign-constrained y), nu, and the artificials of the free y
    A = np.zeros((k + 1, M + n_sign + 1 + n_eq))
    A[:k, :M] = P.T
    A[k, :M] = 1.0
    A[n_eq + np.arange(n_sign), M + np.arange(n_sign)] = -1.0
    A[k, M + n_sign] = 1.0
    A[np.arange(n_eq), M + n_sign + 1 + np.arange(n_eq)] = 1.0
    cost = np.concatenate([beta, np.zeros(n_sign + 1 + n_eq)])
    first_artificial = M + n_sign + 1
    basis = np.concatenate([M + n_sign + 1 + np.arange(n_eq), M + np.arange(n_sign), [M + n_sign]])
    rows = np.concatenate([np.arange(n_eq), n_eq + np.arange(n_sign), [k]])  # the row each start column covers
    basis = basis[np.argsort(rows)]
    x_B = np.zeros(k + 1)
    x_B[k] = 1.0  # nu = 1; every other start column at 0
    slack = PRICE_RTOL * (1.0 + float(np.max(np.abs(beta), initial=0.0)))
    bland = False
    for _ in range(MAX_PIVOTS_PER_COLUMN * A.shape[1]):
        B = A[:, basis]
        try:
            pi = np.linalg.solve(B.T, cost[basis])
        except np.linalg.LinAlgError:
            return None
        reduced = cost - pi @ A
        reduced[basis] = 0.0
        reduced[first_artificial:] = 0.0  # the artificials never enter
        negative = np.flatnonzero(reduced < -slack)
        if negative.size == 0:
            return _checked(P, beta, n_eq, pi[:k].copy(), max(-float(pi[k]), 0.0))
        q = int(negative[0]) if bland else int(negative[np.argmin(reduced[negative])])
        try:
            step = np.linalg.solve(B, A[:, q])
        except np.linalg.LinAlgError:
            return None
        artificial = basis >= first_artificial
        blocking = np.where(artificial, np.abs(step) > 1e-12, step > 1e-12)  # an artificial blocks at 0 either way
        if not blocking.any():
            return None  # unbounded dual: impossible for this LP (the primal is feasible); rounding
        ratios = np.full(k + 1, np.inf)
        ratios[blocking] = np.where(artificial[blocking], 0.0, x_B[blocking] / step[blocking])
        t = float(np.min(ratios))
        ties = np.flatnonzero(ratios <= t)
        leave = int(ties[np.argmin(basis[ties])])  # the smallest index among ties (Bland)
        x_B = x_B - t * step
        x_B[leave] = t
        x_B[x_B < 0.0] = 0.0
        basis[leave] = q
        bland = t == 0.0
    return None


def _checked(P, beta, n_eq: int, y, s: float):
    """(y, s) when s is the largest excess max(P y - beta, 0) at y (signs clipped) to CHECK_RTOL of the terms' size
    (primal and dual objectives agree: an optimal basis), else None (a basis ruined by rounding)."""
    y[n_eq:] = np.maximum(y[n_eq:], 0.0)
    if not (np.all(np.isfinite(y)) and np.isfinite(s)):
        return None
    excess = max(float(np.max(P @ y - beta, initial=0.0)), 0.0)
    size = 1.0 + float(np.max(np.abs(beta), initial=0.0)) + float(np.max(np.abs(P), initial=0.0)) * (
        1.0 + float(np.max(np.abs(y), initial=0.0)))
    return (y, s) if abs(excess - s) <= CHECK_RTOL * size else None
