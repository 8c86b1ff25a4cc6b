"""Finite bounds on x that contain every minimizer: what the mixed-integer model of a nonconvex psi needs.

The chunk copies of :mod:`.mip` live in [l_k z, u_k z], so the outer chunks need finite ends, and
the smaller they are the tighter (and numerically safer) the model.  Sources, intersected:

1. psi's walls, the constraints' per-coordinate bounds (Box, NonNeg, Simplex's x >= 0), ``bounds=``,
   and what the linear rows imply: min and max of each x_i over the polyhedron (2 d LPs; a simplex
   gives 0 <= x_i <= total);
2. a level set.  Any minimizer x* satisfies F(x*) <= F(x0) for a feasible x0 (the best of a phase-1
   point of the constraints and the caller's candidates, each checked feasible), so with
   B = F(x0) - sum_j lam_j inf psi_j, f(x*) <= B and, for a loss f >= 0, lam_i (psi(x*_i) - inf psi_i) <= B:

   - *psi's growth* (psi increasing on an unbounded side, every lam_i > 0): solve the second
     inequality for x*_i on that side's outer piece;
   - *the loss's growth* (A of full column rank; x^ the least-squares solution of A x = b, which
     makes A (x - x^) orthogonal to A x^ - b, so ||A x - b||^2 = ||A (x - x^)||^2 + ||A x^ - b||^2):
     least squares, 1/2 ||A x* - b||^2 <= B gives ||A (x* - x^)|| <= sqrt(2 B - ||A x^ - b||^2);
     Huber, H_M(r) >= M |r| - M^2 / 2 gives ||A (x* - x^)|| <= ||A x* - b||_2 <= (B + n M^2 / 2) / M;
     then |x*_i - x^_i| <= sqrt([(A^T A)^-1]_ii) ||A (x* - x^)|| (Cauchy-Schwarz in the A^T A inner product).

Bounds wider than MAX_SCALED_BOUND in the rescaled variable y = x / sigma are refused: a big-M
coefficient that large against SCIP's feasibility tolerance (1e-6) lets an "off" chunk carry x.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import losses
from cvxpar.exact.model import data_matrix
from cvxpar.par import PAR

#: Largest |bound| / sigma the mixed-integer model accepts (module docstring).
MAX_SCALED_BOUND = 1e6

#: Losses known to be >= 0 everywhere (psi's growth bound needs f >= 0).
NONNEGATIVE_LOSSES = (losses.LeastSquares, losses.Huber, losses.Logistic)

#: Relative padding of the derived bounds against rounding in their computation.
PAD = 1e-6

#: The row-implied bounds are computed (2 d LPs) up to this many coordinates.
MAX_ROW_LPS = 500

#: A is treated as rank deficient (no loss-growth bound) below this ratio of singular values.
RANK_RTOL = 1e-10


def mip_bounds(loss, psi: PAR, lam, feasible, bounds=None, points=(), sigma: float = 1.0):
    """(lower, upper): finite per-coordinate bounds containing every minimizer (module docstring).

    ``points``: candidate feasible points (any that violate the constraints are ignored).  Raises a
    ValueError saying what to pass when no finite bounds, or only too wide ones, can be derived.
    """
    d = feasible.d
    dom_lo, dom_hi = psi.domain
    lower = np.maximum(np.full(d, dom_lo), feasible.lower)
    upper = np.minimum(np.full(d, dom_hi), feasible.upper)
    if bounds is not None:
        try:
            user_lo, user_hi = bounds
        except (TypeError, ValueError) as exc:
            raise ValueError("bounds must be a pair (lower, upper) of scalars or length-d arrays.") from exc
        lower = np.maximum(lower, np.broadcast_to(np.asarray(user_lo, dtype=np.float64), (d,)))
        upper = np.minimum(upper, np.broadcast_to(np.asarray(user_hi, dtype=np.float64), (d,)))
    if (lower > upper).any():
        i = int(np.flatnonzero(lower > upper)[0])
        raise ValueError(
            f"the bounds on x (psi's domain, the constraints, bounds=) are empty at coordinate {i} "
            f"([{lower[i]:g}, {upper[i]:g}]): the problem is infeasible."
        )
    if feasible.has_rows and d <= MAX_ROW_LPS:
        lower, upper = _row_bounds(feasible, lower, upper)
    if not (np.isfinite(lower).all() and np.isfinite(upper).all()):
        lam_d = np.broadcast_to(np.asarray(lam, dtype=np.float64), (d,))
        f0 = best_value(loss, psi, lam_d, feasible, lower, upper, points)
        if math.isfinite(f0):
            lower, upper = _psi_growth(loss, psi, lam_d, lower, upper, f0)
            lower, upper = _loss_growth(loss, psi, lam_d, lower, upper, f0)
    if not (np.isfinite(lower).all() and np.isfinite(upper).all()):
        raise ValueError(
            "the mixed-integer reference for a nonconvex psi needs finite bounds on x, and none could be derived: "
            "psi has no walls, no constraint bounds every coordinate, and neither psi (with every lam_i > 0) nor "
            "the loss (least squares or Huber with A of full column rank) grows in every direction. Pass "
            "bounds=(lower, upper) that contain a minimizer, or add a cvxpar.constraints.Box."
        )
    widest = float(max(np.max(np.abs(lower)), np.max(np.abs(upper)))) / sigma
    if widest > MAX_SCALED_BOUND:
        raise ValueError(
            f"the bounds derived for the mixed-integer reference reach |x| = {widest * sigma:.3g}, {widest:.2g} times "
            "psi's breakpoint scale: too wide for an exact branch and bound (a big-M that large defeats the solver's "
            "feasibility tolerance). Pass bounds=(lower, upper) that contain a minimizer, or add a "
            "cvxpar.constraints.Box."
        )
    return lower, upper


def _row_bounds(feasible, lower, upper):
    """Tighten [lower, upper] to min / max x_i over {rows, lower <= x <= upper} (HiGHS LPs)."""
    from scipy.optimize import linprog

    box = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in zip(lower, upper, strict=True)]
    lower, upper = lower.copy(), upper.copy()
    for i in range(feasible.d):
        for sign, out in ((1.0, lower), (-1.0, upper)):
            c = np.zeros(feasible.d)
            c[i] = sign
            res = linprog(c, A_ub=feasible.A_ub, b_ub=feasible.b_ub, A_eq=feasible.A_eq, b_eq=feasible.b_eq,
                          bounds=box, method="highs")
            if res.status == 0:
                value = float(res.x[i])
                pad = PAD * (1.0 + abs(value))  # the LP's tolerance
                out[i] = max(out[i], value - pad) if sign > 0 else min(out[i], value + pad)
    return lower, upper


def objective(loss, psi: PAR, lam, x: np.ndarray) -> float:
    """F(x) = loss(x) + sum_i lam_i psi(x_i), with 0 * psi = 0 where lam_i = 0."""
    values = psi(x)
    penalty = np.where(np.broadcast_to(lam, x.shape) > 0, lam * values, 0.0)
    return float(loss.value(x)) + float(np.sum(penalty))


def best_value(loss, psi: PAR, lam, feasible, lower, upper, points=()) -> float:
    """The smallest F over the feasible ones among ``points`` and a phase-1 point in [lower, upper]."""
    candidates = [feasible.find_point(lower, upper), *points]
    best = math.inf
    for x in candidates:
        if x is None:
            continue
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (feasible.d,) or not np.isfinite(x).all():
            continue
        if (x < lower).any() or (x > upper).any() or feasible.violation(x) > 0:
            continue
        best = min(best, objective(loss, psi, lam, x))
    return best


def penalty_floor(loss, psi: PAR, lam, lower, upper) -> float | None:
    """sum_i lam_i inf_{[lower_i, upper_i]} psi: a lower bound on F for a loss >= 0 (else None)."""
    if not isinstance(loss, NONNEGATIVE_LOSSES):
        return None
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), lower.shape)
    value = float(np.sum(np.where(lam > 0, lam * _inf_psi(psi, lower, upper), 0.0)))
    return value if math.isfinite(value) else None


def _inf_psi(psi: PAR, lower, upper) -> np.ndarray:
    return np.array([psi.value_range(lo, hi)[0] for lo, hi in zip(lower, upper, strict=True)])


def _psi_growth(loss, psi: PAR, lam, lower, upper, f0: float):
    if (lam <= 0).any():
        return lower, upper
    inf_psi = _inf_psi(psi, lower, upper)
    if not np.isfinite(inf_psi).all():
        return lower, upper
    if not isinstance(loss, NONNEGATIVE_LOSSES):
        return lower, upper
    slack = f0 - float(np.sum(lam * inf_psi))  # the loss is >= 0
    level = inf_psi + max(slack, 0.0) * (1 + PAD) / lam  # psi(x*_i) <= level_i
    q, v, s = psi.breakpoints, psi.values, psi.slopes
    lower, upper = lower.copy(), upper.copy()
    if s[0] < 0:
        lower = np.maximum(lower, q[0] + np.maximum(level - v[0], 0.0) / s[0])
    if s[-1] > 0:
        upper = np.minimum(upper, q[-1] + np.maximum(level - v[-1], 0.0) / s[-1])
    return lower, upper


def _loss_growth(loss, psi: PAR, lam, lower, upper, f0: float):
    if not isinstance(loss, (losses.LeastSquares, losses.Huber)):
        return lower, upper
    inf_psi = _inf_psi(psi, lower, upper)
    inf_pen = float(np.sum(np.where(lam > 0, lam * inf_psi, 0.0)))
    if not math.isfinite(inf_pen):
        return lower, upper
    A = data_matrix(loss)
    A = A.toarray() if hasattr(A, "toarray") else A
    n, d = A.shape
    if n < d:
        return lower, upper
    b = np.asarray(loss.target, dtype=np.float64)
    U, sv, Vt = np.linalg.svd(A, full_matrices=False)
    if sv[-1] <= RANK_RTOL * sv[0]:
        return lower, upper
    x_hat = Vt.T @ ((U.T @ b) / sv)
    r_hat = float(np.linalg.norm(A @ x_hat - b))
    budget = f0 - inf_pen  # f(x*) <= budget
    if isinstance(loss, losses.LeastSquares):
        radius = math.sqrt(max(2.0 * budget - r_hat**2, 0.0))
    else:
        M = float(loss.M)
        radius = (budget + n * M * M / 2.0) / M
    spread = radius * (1 + PAD) * np.sqrt(np.sum((Vt.T / sv) ** 2, axis=1))  # sqrt([(A^T A)^-1]_ii) = ||V S^-1 e_i||
    return np.maximum(lower, x_hat - spread), np.minimum(upper, x_hat + spread)
