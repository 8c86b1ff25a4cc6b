"""Independent oracles of the fuzzing suite: what an honest result must satisfy.

Nothing here uses cvxpar's own evaluation, prox, CVXPY atom or reference (only psi's declared
``curvature``, which decides between the two references below): the objective is
recomputed from the raw data (psi through ``np.interp`` on its breakpoints and values, see
``tests/par_strategies.py``), feasibility is checked row by row in x's own units, a convex psi
gets a hand-written CVXPY + Clarabel model (the epigraph of the max of psi's affine pieces), and a
nonconvex psi at small sizes gets brute-force enumeration of the pieces each coordinate lies in
(on each combination the problem is convex, solved by Clarabel).  The one library call is
``cvxpar.certificate`` (by keyword), recomputed on the returned x: a status must agree with it (where only
the bound on its gradient's rounding stands in the way, it is recomputed with the exact rational gradient,
:func:`certified_by_exact_gradient`).

A failed check raises :class:`Finding` with a class name (``Finding.cls``); :data:`OPEN` lists the
classes of issue 13 that are still open on main, which the property tests record (as a hypothesis
``event``) instead of failing on; each has a strict-xfail reproducer in ``test_known_classes.py``.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import traceback
import types
import warnings
from fractions import Fraction

import cvxpy as cp
import numpy as np
from hypothesis import event
from par_strategies import reference_psi

import cvxpar

#: Failure classes of issue 13 not yet fixed on main: the property tests tolerate these (a strict
#: xfail reproducer in test_known_classes.py fails loudly once one is fixed; then delete its entry).
OPEN: dict[str, str] = {
    "float32-reported-objective": "float32 data: the reported objective is float32-accurate (1e-6 of itself); lam "
                                  "and the Box bounds are solved and certified as given (float64) since session 13.",
}

#: optimal_inaccurate is certified to this multiple of tol (cvxpar.solve's documented rule)
INACCURATE_FACTOR = 1e3
#: relative agreement of a reported objective with our own evaluation of it
OBJECTIVE_RTOL = 1e-9
EPS = float(np.finfo(np.float64).eps)
#: relative slack of the comparison with Clarabel's optimum (its own accuracy), on top of the
#: bound F(x) - F* <= residual * ||x - x*||_1 that certifying a convex problem implies
CLARABEL_RTOL = 1e-7
#: brute force only when the number of piece combinations is at most this
BRUTE_FORCE_COMBOS = 64

CVXPAR_DIR = os.path.dirname(cvxpar.__file__)
#: messages of Python's own TypeErrors (a bad call, a bad operand): never a deliberate cvxpar message
PYTHON_INTERNAL = (r"unexpected keyword argument|positional argument|object is not iterable|not supported between|"
                   r"unsupported operand|has no attribute|could not convert|object is not subscriptable")


class Finding(AssertionError):
    """A broken promise: ``cls`` names the failure class, the message says what and where."""

    def __init__(self, cls: str, message: str) -> None:
        super().__init__(f"[{cls}] {message}")
        self.cls = cls


# ---------------------------------------------------------------------------- psi from raw data
def psi_pieces(psi: cvxpar.PAR):
    """(lo, hi, slope, intercept) of each piece of psi, left to right, from its breakpoints and
    values and its outer slopes only (walls drop the outer piece).

    An inner piece whose slope leaves the float range (breakpoints a few subnormals apart, e.g. 0 and
    5e-324, across a rise of 1) holds no float strictly inside it: it becomes its two ends, each a
    single-point piece of slope 0 (an infinite slope would put inf into the CVXPY models below)."""
    q = np.asarray(psi.breakpoints, dtype=np.float64)
    v = np.asarray(psi.values, dtype=np.float64)
    left, right = float(psi.slopes[0]), float(psi.slopes[-1])
    out = []
    if np.isfinite(left):
        out.append((-np.inf, q[0], left, v[0] - left * q[0]))
    for k in range(q.size - 1):
        with np.errstate(over="ignore"):
            s = (v[k + 1] - v[k]) / (q[k + 1] - q[k])
        if not np.isfinite(s):
            out += [(q[k], q[k], 0.0, v[k]), (q[k + 1], q[k + 1], 0.0, v[k + 1])]
            continue
        out.append((q[k], q[k + 1], s, v[k] - s * q[k]))
    if np.isfinite(right):
        out.append((q[-1], np.inf, right, v[-1] - right * q[-1]))
    if not out:  # one breakpoint between two walls: the single point q_0
        out.append((q[0], q[0], 0.0, v[0]))
    return out


def domain(psi: cvxpar.PAR) -> tuple[float, float]:
    q = psi.breakpoints
    return (float(q[0]) if psi.slopes[0] == -np.inf else -np.inf, float(q[-1]) if psi.slopes[-1] == np.inf else np.inf)


def is_convex(psi: cvxpar.PAR) -> bool:
    """psi's declared curvature (the contract's definition of convex, and what decides 'optimal' vs
    'stationary'): slopes recomputed from breakpoints and values can fall by an ulp where the PAR was
    built with equal adjacent slopes, which is not a concave kink."""
    return psi.curvature == "convex"


# ---------------------------------------------------------------------------- objective, feasibility
def loss_value(case, x) -> float:
    z = case.A @ x
    t = case.target
    if case.loss_kind in ("ls", "smooth"):
        return 0.5 * float(np.sum((z - t) ** 2))
    if case.loss_kind == "logistic":
        return float(np.sum(np.logaddexp(0.0, -t * z)))
    r = np.abs(z - t)
    M = case.huber_M
    return float(np.sum(np.where(r <= M, 0.5 * r * r, M * r - 0.5 * M * M)))


def loss_rounding(case, x) -> float:
    """A bound on the rounding error of one float64 evaluation of the loss at x through z = A x.

    Each z_i = a_i^T x (and the residual z_i - t_i) carries an absolute error up to e_i = (d + 2) eps
    ((|A| |x|)_i + |t_i|) (Higham, Accuracy and Stability of Numerical Algorithms, 2002, eq. 3.5, for a dot
    product of length d, one more rounding for the subtraction); the loss h_i moves by at most |h_i'| e_i +
    h_i'' e_i^2 / 2 under it: |r_i| e_i + e_i^2 / 2 for least squares (|r_i| bounded by the computed residual
    plus e_i), min(|r_i|, M) e_i + e_i^2 / 2 for Huber, |t_i| e_i for the logistic loss.  The sum over the
    rows adds rounding relative to the loss itself, which OBJECTIVE_RTOL covers.  The bound matters at a
    vanishing loss: an exact fit's 1/2 ||A x - t||^2 is ~1e-30 of pure rounding, and two evaluations that
    differ only in the order of the products in A x (dense or sparse A) disagree by all of it."""
    A = case.A
    x = np.asarray(x, dtype=np.float64)
    t = np.abs(case.target)
    magnitude = np.abs(A) @ np.abs(x)
    if case.loss_kind == "logistic":
        return float(np.sum(t * (case.d + 2) * EPS * magnitude))
    e = (case.d + 2) * EPS * (magnitude + t)
    r = np.abs(A @ x - case.target) + e
    if case.loss_kind == "huber":
        r = np.minimum(r, case.huber_M)
    return float(np.sum(r * e + 0.5 * e * e))


def objective_agrees(case, x, reported: float, own: float, scale: float, rtol: float = OBJECTIVE_RTOL) -> bool:
    """A reported objective agrees with our own evaluation at x: within rtol of the objective's scale, plus the
    rounding of the two evaluations of the loss (:func:`loss_rounding`)."""
    return abs(reported - own) <= rtol * max(scale, abs(own)) + 2.0 * loss_rounding(case, x) + 1e-300


def lam_vector(case) -> np.ndarray:
    return np.broadcast_to(np.asarray(case.lam, dtype=np.float64), (case.d,))


def penalty_terms(case, x) -> np.ndarray:
    """lam_i psi(x_i) (0 where lam_i = 0 inside the domain, +inf outside it)."""
    p = reference_psi(case.psi, x)
    lam = lam_vector(case)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(np.isinf(p), p, np.where(lam > 0, lam * p, 0.0))


def objective(case, x) -> float:
    """loss(x) + sum_i lam_i psi(x_i) from the raw data: +inf outside psi's domain or a Box (which the
    methods fold into the prox exactly); a Simplex's x >= 0 is a row, checked by feasibility only."""
    if box_violation(case, x, rows=False) > 0:
        return math.inf
    return loss_value(case, x) + float(np.sum(penalty_terms(case, x)))


def bounds(case, rows: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate [lo, hi]: the Box (or NonNeg) intersected with psi's domain, and (``rows``) the
    Simplex's x >= 0."""
    lo, hi = domain(case.psi)
    lo, hi = np.full(case.d, lo), np.full(case.d, hi)
    c = case.cons_data
    if case.cons_kind in ("box", "box_vec"):
        lo = np.maximum(lo, np.broadcast_to(c["lower"], (case.d,)))
        hi = np.minimum(hi, np.broadcast_to(c["upper"], (case.d,)))
    elif case.cons_kind == "nonneg" or (rows and case.cons_kind == "simplex"):
        lo = np.maximum(lo, 0.0)
    return lo, hi


def box_violation(case, x, rows: bool = True) -> float:
    lo, hi = bounds(case, rows)
    return float(max(np.max(lo - x, initial=0.0), np.max(x - hi, initial=0.0)))


def feasibility_ratio(case, x) -> tuple[float, str]:
    """The largest violation of any bound or row divided by (1 + the size of its terms), and where.

    Bounds: (lo - x_i) / (1 + |lo|); rows: |g^T x - h| / (1 + |h| + sum_j |g_j x_j|).  A point is
    feasible to tol when the ratio is <= tol: x's own units, whatever the gradient's size.
    """
    worst, where = 0.0, "feasible"
    lo, hi = bounds(case)
    for name, viol, mag in (("lower bound", lo - x, np.abs(lo)), ("upper bound", x - hi, np.abs(hi))):
        with np.errstate(invalid="ignore"):
            r = np.where(np.isfinite(mag), viol / (1.0 + np.where(np.isfinite(mag), mag, 0.0)), -np.inf)
        if r.size and np.max(r) > worst:
            i = int(np.argmax(r))
            worst, where = float(r[i]), f"{name} at x[{i}] = {x[i]!r} (bound {lo[i] if 'lower' in name else hi[i]!r})"
    rows = []
    c = case.cons_data
    if case.cons_kind == "simplex":
        rows.append(("sum(x) = total", np.ones((1, case.d)), np.array([c["total"]]), True))
    elif case.cons_kind == "linear_eq":
        rows.append(("A_eq x = b_eq", c["A_eq"], c["b_eq"], True))
    elif case.cons_kind == "linear_ineq":
        rows.append(("A_ub x <= b_ub", c["A_ub"], c["b_ub"], False))
    for name, G, h, eq in rows:
        res = G @ x - h
        viol = np.abs(res) if eq else np.maximum(res, 0.0)
        r = viol / (1.0 + np.abs(h) + np.abs(G) @ np.abs(x))
        if r.size and np.max(r) > worst:
            i = int(np.argmax(r))
            worst, where = float(r[i]), f"row {i} of {name}: violation {viol[i]!r}"
    return worst, where


# ---------------------------------------------------------------------------- stationarity from raw data
#: inequality rows within this distance of their hyperplane (relative to max(1, ||x||_inf) and the row's
#: norm) count as active, the rule of the contract's normal cone N_C(x) at a point feasible to tol
ACTIVE_RTOL = 1e-9
#: an independent residual may exceed the reported tolerance by this factor (HiGHS's LP accuracy)
STATIONARITY_SLACK = 1.5


def loss_grad(case, x) -> np.ndarray:
    """grad loss(x) from the raw data: A^T h'(Ax) with h' the loss's derivative in z = Ax."""
    z = case.A @ x
    t = case.target
    if case.loss_kind in ("ls", "smooth"):
        dz = z - t
    elif case.loss_kind == "logistic":
        dz = -t * np.exp(-np.logaddexp(0.0, t * z))  # -t sigmoid(-t z)
    else:
        dz = np.clip(z - t, -case.huber_M, case.huber_M)
    return case.A.T @ dz


def one_sided_slopes(psi, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) slopes of psi at each x from breakpoints, values and outer slopes (+-inf at a wall's
    outer side); x must lie in psi's domain."""
    q = np.asarray(psi.breakpoints, dtype=np.float64)
    v = np.asarray(psi.values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.diff(v) / np.diff(q)
    s = np.concatenate(([float(psi.slopes[0])], inner, [float(psi.slopes[-1])]))
    k = np.searchsorted(q, x, side="right")  # s[k] is the slope right of x
    right = s[k]
    at = (k > 0) & (q[np.maximum(k - 1, 0)] == x)
    left = np.where(at, s[np.maximum(k - 1, 0)], right)
    return left, right


def stationarity(case, x, exact: bool = False) -> tuple[float, float]:
    """(residual, scale): min over the normal cone's multipliers of max_i dist(-g_i, lam_i dpsi(x_i) + N(x)_i)
    at x projected on psi's domain and the bounds, and max(1, ||g||_inf), from the raw data alone
    (Clarke subdifferential [min, max] of the one-sided slopes; rows through an LP in the multipliers).
    ``exact``: g = grad loss(x) in rational arithmetic, rounded once (:func:`exact_gradient`; the float64 one where
    the loss has none), instead of its float64 evaluation, whose rounding error can itself exceed tol * scale."""
    from scipy.optimize import linprog

    lo_b, hi_b = bounds(case)
    dom_lo, dom_hi = domain(case.psi)
    xc = np.minimum(np.maximum(x, np.maximum(lo_b, dom_lo)), np.minimum(hi_b, dom_hi))
    g = exact_gradient(case, x) if exact else None
    g = loss_grad(case, x) if g is None else g
    scale = max(1.0, float(np.max(np.abs(g), initial=0.0)))
    if not np.all(np.isfinite(g)):
        return math.inf, scale
    left, right = one_sided_slopes(case.psi, xc)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    lam = lam_vector(case)
    with np.errstate(invalid="ignore"):
        lo = np.where(lam > 0, lam * lo, np.where(np.isinf(lo), lo, 0.0))
        hi = np.where(lam > 0, lam * hi, np.where(np.isinf(hi), hi, 0.0))
    lo = np.where(xc <= lo_b, -np.inf, lo)
    hi = np.where(xc >= hi_b, np.inf, hi)
    c = -g
    rows_eq, rows_ub = [], []
    cd = case.cons_data
    if case.cons_kind == "simplex":
        rows_eq.append(np.ones(case.d))
    elif case.cons_kind == "linear_eq":
        rows_eq.extend(cd["A_eq"])
    elif case.cons_kind == "linear_ineq":
        xs = max(1.0, float(np.max(np.abs(x), initial=0.0)))
        for G_i, h_i in zip(cd["A_ub"], cd["b_ub"], strict=True):
            if h_i - G_i @ x <= ACTIVE_RTOL * xs * max(float(np.linalg.norm(G_i)), 1e-300):
                rows_ub.append(G_i)
    if not rows_eq and not rows_ub:
        return float(np.max(np.maximum(np.maximum(lo - c, c - hi), 0.0), initial=0.0)), scale
    G = np.array(rows_eq + rows_ub, dtype=np.float64)
    k = G.shape[0]
    finite_ends = np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
    # HiGHS reads |b| > 1e20 as infinite: units that keep every end below 1e12 (and no coarser, so that the
    # gradient's entries stay resolved where lam psi's slopes are large but representable)
    unit = max(scale, float(np.max(np.abs(finite_ends), initial=0.0)) / 1e12)
    cs, los, his = c / unit, lo / unit, hi / unit
    # variables (y, r): minimize r subject to los_i - r <= cs_i - (G^T y)_i <= his_i + r
    A_ub, b_ub = [], []
    for i in range(case.d):
        if np.isfinite(los[i]):
            A_ub.append(np.append(G[:, i], -1.0))
            b_ub.append(cs[i] - los[i])
        if np.isfinite(his[i]):
            A_ub.append(np.append(-G[:, i], -1.0))
            b_ub.append(his[i] - cs[i])
    cost = np.zeros(k + 1)
    cost[-1] = 1.0
    y_bounds = [(None, None)] * len(rows_eq) + [(0, None)] * len(rows_ub) + [(0, None)]
    res = linprog(cost, A_ub=np.array(A_ub).reshape(-1, k + 1), b_ub=np.array(b_ub), bounds=y_bounds, method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        return math.inf, scale

    def distance(y):  # at the multipliers y, recomputed exactly
        shifted = c - G.T @ y
        return float(np.max(np.maximum(np.maximum(lo - shifted, shifted - hi), 0.0), initial=0.0))

    y = res.x[:k] * unit
    best = distance(y)
    for _ in range(2):  # lam psi's slopes far above the gradient: the LP's 1e-10 is 1e-10 of them, so polish
        y = _polished_multipliers(G, c, lo, hi, y, len(rows_eq))
        best = min(best, distance(y))
    return best, scale


def _polished_multipliers(G, c, lo, hi, y, n_eq):
    """Multipliers y that solve G^T y = c - t exactly (least squares) on the coordinates whose point
    t = clip(c - G^T y, lo, hi) sits at a finite end of its interval, the inequality ones clipped at 0: any such
    y is an admissible point of the residual's minimization, so its distance bounds the residual from above."""
    shifted = c - G.T @ y
    t = np.clip(shifted, lo, hi)
    width = np.where(np.isfinite(hi - lo), hi - lo, np.inf)
    at_end = np.isfinite(t) & ((np.abs(shifted - t) > 0) | (np.minimum(t - lo, hi - t) <= 1e-9 * np.maximum(width, 1.0)))
    if not at_end.any():
        return y
    new, *_ = np.linalg.lstsq(G[:, at_end].T, c[at_end] - t[at_end], rcond=None)
    new[n_eq:] = np.maximum(new[n_eq:], 0.0)
    return new


# ---------------------------------------------------------------------------- CVXPY references
def _cvxpy_loss(case, x):
    A, t = case.A, case.target
    if case.loss_kind in ("ls", "smooth"):
        return 0.5 * cp.sum_squares(A @ x - t)
    if case.loss_kind == "logistic":
        return cp.sum(cp.logistic(cp.multiply(-t, A @ x)))
    return 0.5 * cp.sum(cp.huber(A @ x - t, case.huber_M))  # CVXPY's huber is twice ours


def _cvxpy_constraints(case, x, lo, hi) -> list:
    cons = []
    fin_lo, fin_hi = np.isfinite(lo), np.isfinite(hi)
    if fin_lo.any():
        cons.append(x[np.flatnonzero(fin_lo)] >= lo[fin_lo])
    if fin_hi.any():
        cons.append(x[np.flatnonzero(fin_hi)] <= hi[fin_hi])
    c = case.cons_data
    if case.cons_kind == "simplex":
        cons += [x >= 0, cp.sum(x) == c["total"]]
    elif case.cons_kind == "linear_eq":
        cons.append(c["A_eq"] @ x == c["b_eq"])
    elif case.cons_kind == "linear_ineq":
        cons.append(c["A_ub"] @ x <= c["b_ub"])
    return cons


def _objective_scale(case, x) -> float:
    """A magnitude for relative comparisons: |loss| + sum |lam_i psi(x_i)| (0 if not finite)."""
    if x is None or not np.all(np.isfinite(x)):
        return 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.abs(penalty_terms(case, np.clip(x, *bounds(case))))
    val = abs(loss_value(case, x)) + float(np.sum(np.where(np.isfinite(terms), terms, 0.0)))
    return val if math.isfinite(val) else 0.0


def clarabel_optimum(case, scale: float):
    """(F*, x*) of a convex case by Clarabel on the max-of-affine epigraph of psi; None if it fails."""
    d = case.d
    x, s = cp.Variable(d), cp.Variable(d)
    pieces = psi_pieces(case.psi)
    if len(pieces) > 1 and any(p[0] == p[1] for p in pieces):
        return None  # a slope beyond the float range: psi is no max of float affine pieces
    a = np.array([p[2] for p in pieces])
    c = np.array([p[3] for p in pieces])
    lo, hi = bounds(case)
    cons = _cvxpy_constraints(case, x, lo, hi)
    cons.append(cp.reshape(s, (d, 1), order="F") @ np.ones((1, a.size)) >= cp.reshape(x, (d, 1), order="F") @ a[None, :] + c[None, :])
    w = 1.0 / max(scale, 1e-300)
    prob = cp.Problem(cp.Minimize(w * (_cvxpy_loss(case, x) + lam_vector(case) @ s)), cons)
    try:
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11, max_iter=300)
    except cp.SolverError:
        return None
    if prob.status != cp.OPTIMAL or x.value is None:
        return None
    xr = np.clip(x.value, lo, hi)
    if feasibility_ratio(case, xr)[0] > 1e-6:  # an "optimal" point that leaves the rows (an almost empty set)
        return None
    return objective(case, xr), xr


def brute_force_optimum(case, scale: float):
    """(F*, x*) over every combination of psi's pieces per coordinate (each a convex problem), or
    None when there are more than BRUTE_FORCE_COMBOS combinations or a subproblem fails."""
    d = case.d
    lo_b, hi_b = bounds(case)
    per = []
    for i in range(d):
        mine = [p for p in psi_pieces(case.psi) if max(p[0], lo_b[i]) <= min(p[1], hi_b[i])]
        if not mine:
            return None
        per.append(mine)
    if math.prod(len(p) for p in per) > BRUTE_FORCE_COMBOS:
        return None
    x = cp.Variable(d)
    lo_p, hi_p = cp.Parameter(d), cp.Parameter(d)
    slope = cp.Parameter(d)
    cons = _cvxpy_constraints(case, x, np.full(d, -np.inf), np.full(d, np.inf)) + [x >= lo_p, x <= hi_p]
    lam = lam_vector(case)
    w = 1.0 / max(scale, 1e-300)
    prob = cp.Problem(cp.Minimize(w * (_cvxpy_loss(case, x) + cp.sum(cp.multiply(lam, cp.multiply(slope, x))))), cons)
    best, best_x = math.inf, None
    big = 1e6 * (1.0 + np.max(np.abs(case.psi.breakpoints)))  # a finite stand-in for an unbounded piece
    for combo in itertools.product(*per):
        lo = np.maximum([p[0] for p in combo], lo_b)
        hi = np.minimum([p[1] for p in combo], hi_b)
        lo_p.value = np.where(np.isfinite(lo), lo, -big)
        hi_p.value = np.where(np.isfinite(hi), hi, big)
        slope.value = np.array([p[2] for p in combo])
        try:
            prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11, max_iter=300)
        except cp.SolverError:
            return None
        if prob.status == cp.INFEASIBLE:
            continue
        if prob.status != cp.OPTIMAL:
            return None
        xc = np.clip(x.value, lo, hi)
        if np.any(np.abs(x.value) >= 0.5 * big):  # Clarabel reaches it only to ~1e-3 of itself
            return None  # at the stand-in bound of an unbounded piece: its minimizer lies beyond, no reference
        for xs in (xc, _snapped(case, xc, lo, hi)):  # each a feasible point: its objective bounds the minimum above
            f = objective(case, xs) if xs is not None else math.inf
            if f < best:
                best, best_x = f, xs
    return (best, best_x) if best_x is not None else None


def _snapped(case, x, lo, hi):
    """x with each coordinate within 1e-8 of its piece's end moved onto it (an interior-point answer stays ~1e-11
    inside its bounds, which costs |psi's slope| * 1e-11 in the objective: a wrong below-global-minimum finding
    when the optimum itself is ~1e-10, found by the long form), or None when that leaves the rows."""
    def near(end):
        return np.isfinite(end) & (np.abs(x - end) <= 1e-8 * (1.0 + np.abs(np.where(np.isfinite(end), end, 0.0))))

    xs = np.where(near(lo), lo, np.where(near(hi), hi, x))
    if np.array_equal(xs, x) or feasibility_ratio(case, xs)[0] > 0.0:
        return None
    return xs


def unbounded_witness_holds(case, v) -> bool:
    """A claimed direction of unboundedness checked from the raw data: v stays in the recession cone of the
    bounds, psi's domain and the rows (to 1e-10 of each row's terms), and F, evaluated by :func:`objective`
    from a feasible point (HiGHS), keeps decreasing along v at a steady negative rate (t = 1e4 .. 1e8)."""
    v = np.asarray(v, dtype=np.float64)
    lo, hi = bounds(case)
    if v.shape != (case.d,) or not np.all(np.isfinite(v)) or not np.any(v):
        return False
    if np.any((v < 0) & np.isfinite(lo)) or np.any((v > 0) & np.isfinite(hi)):
        return False
    c = case.cons_data
    rows = {"simplex": (np.ones((1, case.d)), True), "linear_eq": (c.get("A_eq"), True),
            "linear_ineq": (c.get("A_ub"), False)}.get(case.cons_kind)
    if rows is not None:
        G, eq = rows
        g, size = G @ v, np.abs(G) @ np.abs(v)
        if np.any((np.abs(g) if eq else g) > 1e-10 * size):
            return False
    x0 = feasible_point(case)
    if x0 is None:
        return False
    values = [objective(case, x0 + t * v) for t in (1e4, 1e6, 1e8)]
    slopes = [(values[1] - values[0]) / (1e6 - 1e4), (values[2] - values[1]) / (1e8 - 1e6)]
    return all(math.isfinite(f) for f in values) and slopes[0] < 0 and slopes[1] <= 0.5 * slopes[0]


def bounded_loss_ray_exists(case) -> bool:
    """True when an LP (HiGHS) finds v in the recession cone of the bounds, psi's domain and the rows, |v_j| <= 1,
    along which the loss stays bounded (least squares, the ``smooth`` quadratic and Huber: A v = 0; logistic:
    y_i a_i^T v >= 0, where log(1 + exp(-y_i a_i^T (x + t v))) does not grow) and sum_j lam_j psi_inf(v_j) < 0:
    then F(x + t v) <= F(x) + t lam psi_inf(v) + const beyond psi's breakpoints, F is unbounded below.  lam enters
    divided by its largest entry (the sign does not change), so lam = 1e-300 and 1e300 are decided, where
    :func:`unbounded_witness_holds` cannot show the decrease by evaluating F (below the loss's rounding at x + t v,
    or past the float range).  psi_inf(t) = s_+ t (t >= 0), s_- t (t < 0) is the max of the two when s_- <= s_+
    (one LP with an epigraph variable per coordinate), else their min: one LP per sign pattern of v (d <= 6).
    A sufficient test: False when unsure."""
    from scipy.optimize import linprog

    s_minus, s_plus = float(case.psi.slopes[0]), float(case.psi.slopes[-1])
    lam = lam_vector(case)
    d = case.d
    if not np.any(lam > 0) or (s_minus > s_plus and d > 6):
        return False
    L = float(lam.max())
    lam = lam / L
    lo, hi = bounds(case)
    v_lo, v_hi = np.where(np.isfinite(lo), 0.0, -1.0), np.where(np.isfinite(hi), 0.0, 1.0)
    if not (np.isfinite(s_minus) or np.isfinite(s_plus)):
        return False  # psi's domain is one point: no direction
    # a wall blocks its side through the bounds; its slope stands in for the other one (max and min keep the open side)
    up = lam * (s_plus if np.isfinite(s_plus) else s_minus)
    down = lam * (s_minus if np.isfinite(s_minus) else s_plus)
    A = np.asarray(case.A, dtype=np.float64)
    eq, ub = ([] if case.loss_kind == "logistic" else [A]), ([-case.target[:, None] * A] if case.loss_kind == "logistic" else [])
    c = case.cons_data
    if case.cons_kind == "simplex":
        eq.append(np.ones((1, d)))
    elif case.cons_kind == "linear_eq":
        eq.append(np.asarray(c["A_eq"], dtype=np.float64))
    elif case.cons_kind == "linear_ineq":
        ub.append(np.asarray(c["A_ub"], dtype=np.float64))

    def rows(blocks, extra: int):  # each row divided by its largest |entry|, zero columns for the extra variables
        if not blocks:
            return None
        M = np.vstack(blocks)
        M = M / np.maximum(np.abs(M).max(axis=1, keepdims=True), 1e-300)
        return np.hstack([M, np.zeros((M.shape[0], extra))])

    if s_minus <= s_plus:  # variables (v, u): minimize sum u, u_j >= up_j v_j and u_j >= down_j v_j
        eye = np.eye(d)
        G = np.vstack([np.hstack([np.diag(up), -eye]), np.hstack([np.diag(down), -eye])] + (
            [rows(ub, d)] if ub else []))
        E = rows(eq, d)
        res = linprog(np.r_[np.zeros(d), np.ones(d)], A_ub=G, b_ub=np.zeros(G.shape[0]), A_eq=E,
                      b_eq=None if E is None else np.zeros(E.shape[0]),
                      bounds=list(zip(v_lo, v_hi, strict=True)) + [(None, None)] * d, method="highs")
        if res.status == 0 and res.fun < -1e-7:
            return True
        return case.loss_kind in ("logistic", "huber") and _growing_loss_ray(case, up, down, v_lo, v_hi, ub[1:] if (
            case.loss_kind == "logistic") else ub, eq[1:] if case.loss_kind == "huber" else eq, L)
    G, E = rows(ub, 0), rows(eq, 0)
    for signs in itertools.product((1.0, -1.0), repeat=d):
        signs = np.asarray(signs)
        box = [(max(a, 0.0), b) if sg > 0 else (a, min(b, 0.0)) for a, b, sg in zip(v_lo, v_hi, signs, strict=True)]
        res = linprog(np.where(signs > 0, up, down), A_ub=G, b_ub=None if G is None else np.zeros(G.shape[0]), A_eq=E,
                      b_eq=None if E is None else np.zeros(E.shape[0]), bounds=box, method="highs")
        if res.status == 0 and res.fun < -1e-7:
            return True
        linear = np.where(signs > 0, up, down)  # psi_inf on this orthant, with the loss's recession function
        if case.loss_kind in ("logistic", "huber") and _growing_loss_ray(
                case, linear, linear, np.array([b[0] for b in box]), np.array([b[1] for b in box]),
                ub[1:] if case.loss_kind == "logistic" else ub, eq[1:] if case.loss_kind == "huber" else eq, L):
            return True
    return False


def _growing_loss_ray(case, up, down, v_lo, v_hi, ub, eq, L) -> bool:
    """The LP of :func:`bounded_loss_ray_exists` (convex psi_inf) with the loss's recession function in it, in units
    of L = max lam: minimize lam psi_inf(v) / L + sum_i h_inf(a_i^T v) / L (logistic: max(0, -y_i w); Huber: M |w|)
    over v in the cone, |v_j| <= 1; the LP's v is then checked in float64: F_inf(v) / L below -1e-7 of its terms
    (lam = 1e300 beside a logistic loss that grows along v: F still falls at rate ~lam)."""
    from scipy.optimize import linprog

    d, A = case.d, np.asarray(case.A, dtype=np.float64)
    n = A.shape[0]
    if case.loss_kind == "logistic":
        lo_s, hi_s = np.minimum(0.0, -case.target), np.maximum(0.0, -case.target)
    else:
        lo_s, hi_s = np.full(n, -case.huber_M), np.full(n, case.huber_M)
    eye_d, eye_n = np.eye(d), np.eye(n)
    blocks = [np.hstack([np.diag(up), -eye_d, np.zeros((d, n))]), np.hstack([np.diag(down), -eye_d, np.zeros((d, n))]),
              np.hstack([(lo_s / L)[:, None] * A, np.zeros((n, d)), -eye_n]),
              np.hstack([(hi_s / L)[:, None] * A, np.zeros((n, d)), -eye_n])]
    blocks += [np.hstack([G, np.zeros((G.shape[0], d + n))]) for G in ub]
    E = np.hstack([np.vstack(eq), np.zeros((sum(e.shape[0] for e in eq), d + n))]) if eq else None
    G = np.vstack(blocks)
    res = linprog(np.r_[np.zeros(d), np.ones(d), np.ones(n)], A_ub=G, b_ub=np.zeros(G.shape[0]), A_eq=E,
                  b_eq=None if E is None else np.zeros(E.shape[0]),
                  bounds=list(zip(v_lo, v_hi, strict=True)) + [(None, None)] * (d + n), method="highs")
    if res.status != 0:
        return False
    v = res.x[:d]
    w = A @ v
    psi_terms = np.maximum(up * v, down * v)
    loss_terms = np.maximum(lo_s * w, hi_s * w) / L
    rows_ok = all(np.all(M @ v <= 1e-12 * (np.abs(M) @ np.abs(v))) for M in ub) and all(
        np.all(np.abs(M @ v) <= 1e-12 * (np.abs(M) @ np.abs(v))) for M in eq)
    total = float(psi_terms.sum() + loss_terms.sum())
    return rows_ok and total < -1e-7 * float(np.abs(psi_terms).sum() + np.abs(loss_terms).sum())


def clarabel_boundedness(case) -> str | None:
    """Clarabel's verdict on whether F is bounded below: ``"unbounded"``, ``"bounded"``, ``"infeasible"``, or
    None when psi's recession function is concave (s_- > s_+) or Clarabel is unsure.

    With s_- <= s_+, psi differs by a bounded amount on its domain from its tails
    tau(x) = max(s_- (x - q_1) + psi(q_1), s_+ (x - q_m) + psi(q_m)) (equal beyond the tails' crossing; a
    wall drops its tail), so F is bounded below exactly when the convex problem with tau in place of psi is
    (a problem on psi's domain, the box and the rows, solved by Clarabel on the raw data)."""
    psi = case.psi
    s_minus, s_plus = float(psi.slopes[0]), float(psi.slopes[-1])
    if s_minus > s_plus:
        return None
    q, v = np.asarray(psi.breakpoints, dtype=np.float64), np.asarray(psi.values, dtype=np.float64)
    x, t = cp.Variable(case.d), cp.Variable(case.d)
    lo, hi = bounds(case)
    cons = _cvxpy_constraints(case, x, lo, hi)
    tails = [t >= s * (x - q[k]) + v[k] for s, k in ((s_minus, 0), (s_plus, -1)) if np.isfinite(s)]
    cons += tails or [t >= 0]
    prob = cp.Problem(cp.Minimize(_cvxpy_loss(case, x) + lam_vector(case) @ t), cons)
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.SolverError:
        return None
    verdict = {cp.OPTIMAL: "bounded", cp.UNBOUNDED: "unbounded", cp.INFEASIBLE: "infeasible"}.get(prob.status)
    if verdict == "unbounded" and independently_infeasible(case):
        return "infeasible"  # primal and dual both infeasible: Clarabel certifies either (found by the long form)
    return verdict


def feasible_point(case) -> np.ndarray | None:
    """A point of box, domain, simplex and linear rows (HiGHS LP), or None."""
    res = _feasibility_lp(case)
    return None if res is None or res.status != 0 else np.asarray(res.x)


def _feasibility_lp(case):
    """HiGHS's result for min 0 over box, domain, simplex and linear rows; None when the box alone is empty."""
    from scipy.optimize import linprog

    lo, hi = bounds(case)
    if np.any(lo > hi):
        return None
    return linprog(np.zeros(case.d), **_rows_kwargs(case),
                   bounds=list(zip(np.where(np.isfinite(lo), lo, None), np.where(np.isfinite(hi), hi, None), strict=True)),
                   method="highs")


def _rows_kwargs(case) -> dict:
    c = case.cons_data
    if case.cons_kind == "simplex":
        return {"A_eq": np.ones((1, case.d)), "b_eq": [c["total"]]}
    if case.cons_kind == "linear_eq":
        return {"A_eq": c["A_eq"], "b_eq": c["b_eq"]}
    if case.cons_kind == "linear_ineq":
        return {"A_ub": c["A_ub"], "b_ub": c["b_ub"]}
    return {}


def independently_infeasible(case) -> bool | None:
    """True when box, domain, simplex and linear rows have no common point (HiGHS LP), None if unsure."""
    res = _feasibility_lp(case)
    return True if res is None else {0: False, 2: True}.get(res.status)


class References:
    """The independent optima of one case, computed on first use and shared by every method."""

    def __init__(self, case) -> None:
        self.case = case
        self._done: dict[str, object] = {}

    def get(self, name: str, scale: float):
        if name not in self._done:
            fn = {"clarabel": clarabel_optimum, "brute": brute_force_optimum}[name]
            self._done[name] = fn(self.case, scale)
        return self._done[name]


# ---------------------------------------------------------------------------- the checks
def raised_by_cvxpar(exc: BaseException) -> bool:
    """True when the innermost frame that raised ``exc`` is cvxpar's own code (a deliberate message)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(CVXPAR_DIR)


def check_rejection(exc: BaseException, what: str) -> None:
    """A ValueError/TypeError must be cvxpar's own, with a message; anything else is an internal error."""
    if not isinstance(exc, (ValueError, TypeError)):
        raise Finding("internal-error", f"{what} raised {type(exc).__name__}: {exc}") from exc
    if not raised_by_cvxpar(exc) or not str(exc).strip() or re.search(PYTHON_INTERNAL, str(exc)):
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise Finding(
            "unclear-error", f"{what} raised {type(exc).__name__} from {frame.filename}:{frame.lineno}: {exc}"
        ) from exc


def bridge_solve_error(exc: BaseException, label: str, what: str) -> str:
    """The outcome of an exception out of ``problem.solve(method="cvxpar")`` (``what`` names the call): "diverged"
    for the bridge's SolverError on a diverged run, else "rejected (<type>)" once :func:`check_rejection` has judged
    the rejection (a finding is reported under ``label``)."""
    if isinstance(exc, cp.error.SolverError) and "diverged" in str(exc):
        return "diverged"
    try:
        check_rejection(exc, what)
    except Finding as finding:
        report(finding, label)
    return f"rejected ({type(exc).__name__})"


def tolerated(finding: Finding, known=OPEN) -> bool:
    return finding.cls in known


def report(finding: Finding, label: str) -> None:
    """Record ``finding`` as a hypothesis ``event`` when its class is still open (:data:`OPEN`), else raise it
    again with ``label`` (which solve or method of the example found it) in front of its message."""
    if tolerated(finding):
        event(f"known open class: {finding.cls}")
        return
    raise Finding(finding.cls, f"{label}: {finding}") from finding


STATUSES = ("optimal", "optimal_inaccurate", "stationary", "max_iter", "infeasible", "unbounded", "diverged")


def check_result(case, res, tol: float, refs: References, loss, constraints) -> None:
    """Every promise a SolveResult makes (module docstring); raises :class:`Finding`."""
    status = res.status
    if status not in STATUSES:
        raise Finding("unknown-status", f"status {status!r}")
    x = np.asarray(res.x, dtype=np.float64)
    if x.shape != (case.d,):
        raise Finding("bad-shape", f"x has shape {x.shape}, expected ({case.d},)")
    convex = is_convex(case.psi)
    if status == "infeasible":
        if independently_infeasible(case) is False:
            raise Finding("false-infeasible", "status 'infeasible' but an LP finds a feasible point")
        return
    if status == "unbounded":
        if not unbounded_witness_holds(case, res.info.get("direction")) and not bounded_loss_ray_exists(case):
            raise Finding("false-unbounded", "status 'unbounded' but its direction does not make F decrease without "
                                             "bound from a feasible point")
        return
    finite = bool(np.all(np.isfinite(x)))
    own = objective(case, x) if finite else math.nan
    if status == "diverged":
        if finite and math.isfinite(own):
            raise Finding("diverged-but-solved", f"status 'diverged' with finite x and objective {own!r}")
        return
    if status == "max_iter":
        return
    # optimal, optimal_inaccurate, stationary: a certified claim
    if not finite:
        raise Finding("nonfinite-certified", f"status {status!r} with non-finite x = {x!r}")
    if status == "stationary" and convex:
        raise Finding("stationary-for-convex", "status 'stationary' for a convex psi (should be 'optimal')")
    factor = 1.0 if status in ("optimal", "stationary") else INACCURATE_FACTOR
    cert = cvxpar.certificate(loss=loss, psi=case.psi, lam=case.lam, x=res.x, constraints=constraints)
    ratio, where = feasibility_ratio(case, x)
    if ratio > factor * tol:
        cls = "feasibility-scaled-by-gradient" if cert.certifies(factor * tol) else "infeasible-certified"
        raise Finding(cls, f"status {status!r} but x is infeasible: {where} (relative {ratio:.2e} > {factor * tol:.1e})")
    if not cert.certifies(factor * tol) and not certified_by_exact_gradient(case, x, factor * tol, cert, constraints):
        raise Finding(
            "status-not-certified",
            f"status {status!r} but the recomputed certificate has residual {cert.residual:.3e} > "
            f"{factor * tol:.1e} * scale {cert.scale:.3e}",
        )
    residual, g_scale = stationarity(case, x)
    if residual > STATIONARITY_SLACK * factor * tol * g_scale:  # the float64 gradient's rounding, or a real miss:
        residual, g_scale = stationarity(case, x, exact=True)  # the exact gradient decides
    if residual > STATIONARITY_SLACK * factor * tol * g_scale:
        raise Finding(
            "not-stationary",
            f"status {status!r} but the stationarity residual recomputed from the raw data is {residual:.3e} > "
            f"{factor * tol:.1e} * max(1, ||grad||_inf) = {factor * tol * g_scale:.3e} (the certificate said "
            f"{cert.residual:.3e})",
        )
    scale = _objective_scale(case, x)
    if not math.isfinite(own):  # x is feasible to tol: a few ulps past psi's wall (where a row pins it) read on the wall
        own = objective(case, np.clip(x, *domain(case.psi)))
    if not math.isfinite(own):
        raise Finding("objective-not-finite", f"status {status!r} with objective {own!r} at a feasible x")
    if not objective_agrees(case, x, res.objective, own, scale):
        raise Finding("objective-mismatch", f"res.objective = {res.objective!r}, recomputed {own!r}")
    if not lam_in_reference_range(case):
        return
    if convex:
        ref = refs.get("clarabel", scale)
        if ref is not None:
            f_ref, x_ref = ref
            slack = CLARABEL_RTOL * max(scale, _objective_scale(case, x_ref), 1e-300) + (
                cert.residual * float(np.sum(np.abs(x - x_ref)))
            )
            if own > f_ref + slack:
                raise Finding(
                    "optimal-not-optimal",
                    f"status {status!r} at objective {own!r} but Clarabel finds {f_ref!r} (slack {slack:.2e})",
                )
        return
    ref = refs.get("brute", scale)
    if status == "optimal" and ref is None:
        raise Finding("optimal-nonconvex-unverified", "status 'optimal' for a nonconvex psi (expected 'stationary')")
    if ref is not None:
        f_glob, x_glob = ref
        slack = CLARABEL_RTOL * max(scale, _objective_scale(case, x_glob), 1e-300)
        # and the two evaluations' own rounding: at an exact fit both objectives are ~1e-26 of pure rounding
        slack += loss_rounding(case, x) + loss_rounding(case, x_glob)
        if own < f_glob - slack:
            raise Finding("below-global-minimum", f"objective {own!r} below the brute-force minimum {f_glob!r}")
        if status == "optimal" and own > f_glob + slack:
            raise Finding("optimal-not-global", f"status 'optimal' at {own!r}, the global minimum is {f_glob!r}")


def exact_gradient(case, x) -> np.ndarray | None:
    """grad loss(x) in exact rational arithmetic from the raw data, rounded once to float64 (None for the
    logistic loss, whose exponentials are not rational)."""
    if case.loss_kind == "logistic":
        return None
    xs = [Fraction(v) for v in np.asarray(x, dtype=np.float64).tolist()]
    g = [Fraction(0)] * case.d
    M = Fraction(case.huber_M)
    for row, t in zip(case.A.tolist(), case.target.tolist(), strict=True):
        a = [Fraction(v) for v in row]
        r = sum((aj * xj for aj, xj in zip(a, xs, strict=True)), Fraction(0)) - Fraction(t)
        if case.loss_kind == "huber":
            r = max(-M, min(M, r))
        g = [gj + aj * r for gj, aj in zip(g, a, strict=True)]
    return np.array([float(v) for v in g])


def certified_by_exact_gradient(case, x, tol: float, cert, constraints) -> bool:
    """Whether x certifies to tol with the exact gradient, where the recomputed certificate passes on its residual
    and infeasibility and only the gradient's rounding bound tips it over (``limited_by_rounding``).

    That bound is an upper estimate of this evaluation's error: another float evaluation of the same loss (the
    bridge's CVXPY-extracted sparse A, say) can certify x where this one cannot, and neither refutes the other.
    The exact gradient (rational arithmetic, rounded once: an error of eps |g_i|, counted) decides."""
    if not cert.limited_by_rounding(tol):
        return False
    g = exact_gradient(case, x)
    if g is None or not np.all(np.isfinite(g)):
        return False
    exact = cvxpar.losses.Smooth(lambda z: 0.0, lambda z: g.copy(), lipschitz=1.0, n_features=case.d)
    ce = cvxpar.certificate(loss=exact, psi=case.psi, lam=case.lam, x=x, constraints=constraints)
    return ce.residual + 4.0 * EPS * ce.scale <= tol * ce.scale and ce.infeasibility <= tol * ce.x_scale


def lam_in_reference_range(case) -> bool:
    """Clarabel's answers are meaningful for lam up to 1e6 (lam = 1e300 makes the model numerically void)."""
    return float(np.max(lam_vector(case), initial=0.0)) <= 1e6


#: cvxpar status -> the CVXPY status ``problem.solve(method="cvxpar")`` must write (a convex psi; a nonconvex
#: psi's "optimal" is USER_LIMIT too)
BRIDGE_STATUS = {"optimal": cp.OPTIMAL, "optimal_inaccurate": cp.OPTIMAL_INACCURATE, "stationary": cp.USER_LIMIT,
                 "max_iter": cp.USER_LIMIT, "infeasible": cp.INFEASIBLE, "unbounded": cp.UNBOUNDED}


def check_bridge_answer(case, problem, x, tol: float, sign: float = 1.0) -> str:
    """What ``problem.solve(method="cvxpar")`` wrote, against ``case``, the problem it stands for: ``problem.status``
    is the one the bridge's table promises for ``extra_stats["status"]`` (never OPTIMAL for a nonconvex psi), and the
    answer passes :func:`check_result` (``x``: the case's variable recovered from the user's, ``sign * problem.value``
    the case's objective).  Returns cvxpar's status; raises :class:`Finding`."""
    stats = problem.solver_stats.extra_stats
    status = "infeasible" if stats is None else stats["status"]
    want = cp.USER_LIMIT if status == "optimal" and not is_convex(case.psi) else BRIDGE_STATUS[status]
    if problem.status != want:
        raise Finding("bridge-status", f"cvxpar status {status!r} written as {problem.status!r}, expected {want!r}")
    if status == "infeasible":
        res = types.SimpleNamespace(status=status, x=np.zeros(case.d), objective=np.nan)
    elif status == "unbounded":
        res = types.SimpleNamespace(status=status, x=np.full(case.d, np.nan), objective=sign * problem.value,
                                    info=stats["result"].info)
    else:
        res = types.SimpleNamespace(status=status, x=np.asarray(x, dtype=np.float64).reshape(-1),
                                    objective=sign * float(problem.value))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check_result(case, res, tol, References(case), case.loss(), case.constraints())
    return status
