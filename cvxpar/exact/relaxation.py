"""The convex-envelope relaxation of a least-squares problem with a nonconvex psi on a box, and its dual bound.

On a box [L, U] the problem

    minimize  F(x) = 1/2 ||A x - b||^2 + sum_i lam_i psi(x_i)   subject to  L <= x <= U

is relaxed by replacing each psi on [L_i, U_i] with its convex envelope env_i (the lower convex hull of
psi's values at its breakpoints inside [L_i, U_i] and at the two ends; Falk and Soland 1969, "An algorithm
for separable nonconvex programming problems", Management Science 15(9)).  The relaxation is convex; it is
solved by cyclic coordinate descent on the Gram matrix Q = A^T A (each coordinate's 1-D problem, a
quadratic plus a convex piecewise-linear function on an interval, has a closed form; Tseng 2001, J. Optim.
Theory Appl. 109(3), proves convergence for a smooth plus separable convex objective), each round of
sweeps followed by an active-set Newton step on the face it identified (:meth:`Relaxation.newton`), which
makes the minimizer exact once the face is right.

**Lower bound.**  Fenchel weak duality holds for a nonconvex primal: for any w in R^n,

    D(w) = -h*(w) - sum_i max_{t in K_i} ( v_i t - lam_i psi(t) ),   v = -A^T w,   h*(w) = 1/2 ||w||^2 + b^T w,

is at most min F over the box, where K_i is the set of psi's breakpoints in [L_i, U_i] and the two ends
(the max over K_i is the conjugate of psi + indicator([L_i, U_i]), which a piecewise-linear function attains
at a breakpoint or an end; it equals the conjugate of the envelope, so at the relaxation's minimizer and
w = A x - b the bound equals the relaxation's optimal value).  The bound is computed from A and b, not
from Q, so that it does not lose digits to cancellation.
"""

from __future__ import annotations

import numba
import numpy as np

from cvxpar.par import PAR

#: Coordinate-descent sweeps between two evaluations of the dual bound, and the most evaluations per node.
SWEEPS = 25
ROUNDS = 40
#: Sweeps stop early when no coordinate moves more than this (relative to 1 + |x|_inf).
STEP_RTOL = 1e-13


def envelope(psi: PAR, lower: float, upper: float) -> tuple[np.ndarray, np.ndarray]:
    """(knots, values): the convex envelope of psi on [lower, upper] (finite, inside psi's domain).

    The knots are the vertices of the lower convex hull of the points (t, psi(t)), t a breakpoint of psi
    in (lower, upper) or an end (Andrew's monotone chain).
    """
    q = psi.breakpoints
    t = np.concatenate(([lower], q[(q > lower) & (q < upper)], [upper])) if upper > lower else np.array([lower])
    v = par_values(q, psi.values, psi.left_slope, psi.right_slope, t)
    keep = _lower_hull(t, v)
    return t[keep], v[keep]


@numba.njit(cache=True, nogil=True)
def _lower_hull(t, v):
    """Indices of the vertices of the lower convex hull of the points (t_k, v_k), t increasing."""
    keep = np.empty(t.size, dtype=np.int64)
    top = 0
    for k in range(t.size):
        while top >= 2:
            i, j = keep[top - 2], keep[top - 1]
            # drop j when it lies on or above the chord from i to k
            if (v[j] - v[i]) * (t[k] - t[i]) >= (v[k] - v[i]) * (t[j] - t[i]):
                top -= 1
            else:
                break
        keep[top] = k
        top += 1
    return keep[:top]


@numba.njit(cache=True, nogil=True)
def par_values(q, v, left_slope, right_slope, x):
    """psi(x) for x inside psi's domain (breakpoints q, values v, outer slopes): linear interpolation."""
    out = np.interp(x, q, v)
    for i in range(x.size):
        if x[i] < q[0]:
            out[i] = v[0] + left_slope * (x[i] - q[0])
        elif x[i] > q[-1]:
            out[i] = v[-1] + right_slope * (x[i] - q[-1])
    return out


@numba.njit(cache=True, nogil=True)
def envelope_values(knots, values, counts, x):
    """env_i(x_i) for every i (x_i in [knots[i, 0], knots[i, counts[i] - 1]]; linear interpolation)."""
    out = np.empty(x.size)
    for i in range(x.size):
        m = counts[i]
        k = 0
        while k < m - 2 and x[i] > knots[i, k + 1]:
            k += 1
        if m == 1 or knots[i, k + 1] == knots[i, k]:
            out[i] = values[i, k]
        else:
            w = (x[i] - knots[i, k]) / (knots[i, k + 1] - knots[i, k])
            out[i] = values[i, k] + w * (values[i, k + 1] - values[i, k])
    return out


@numba.njit(cache=True, nogil=True)
def _coordinate_min(a, g, lam, knots, values, m):
    """argmin over [knots[0], knots[m - 1]] of a/2 t^2 - g t + lam env(t) (env: the m knots' interpolant)."""
    if m == 1:
        return knots[0]
    if a <= 0.0:  # a zero column: the linear function -g t + lam env(t) is least at a knot
        best, arg = np.inf, knots[0]
        for k in range(m):
            val = -g * knots[k] + lam * values[k]
            if val < best:
                best, arg = val, knots[k]
        return arg
    for k in range(m - 1):
        s = (values[k + 1] - values[k]) / (knots[k + 1] - knots[k])
        if a * knots[k] - g + lam * s >= 0.0:  # the right derivative at knot k is >= 0 (the left one < 0)
            return knots[k]
        if a * knots[k + 1] - g + lam * s > 0.0:  # the zero of the derivative lies inside piece k
            t = (g - lam * s) / a
            return min(max(t, knots[k]), knots[k + 1])
    return knots[m - 1]


@numba.njit(cache=True, nogil=True)
def coordinate_descent(Q, c, lam, knots, values, counts, x, Qx, sweeps, step_tol):
    """Cyclic coordinate descent on 1/2 x^T Q x - c^T x + sum_i lam_i env_i(x_i); x and Qx = Q x in place.

    Returns the number of sweeps run (fewer than ``sweeps`` when no coordinate moved more than step_tol).
    """
    d = x.size
    for sweep in range(sweeps):
        moved = 0.0
        for i in range(d):
            a = Q[i, i]
            g = c[i] - Qx[i] + a * x[i]
            t = _coordinate_min(a, g, lam[i], knots[i], values[i], counts[i])
            delta = t - x[i]
            if delta != 0.0:
                x[i] = t
                for j in range(d):
                    Qx[j] += Q[j, i] * delta
                moved = max(moved, abs(delta))
        if moved <= step_tol:
            return sweep + 1
    return sweeps


class Relaxation:
    """The data shared by every node: A, b, Q = A^T A, c = A^T b, lam, psi (module docstring)."""

    def __init__(self, A: np.ndarray, b: np.ndarray, psi: PAR, lam: np.ndarray) -> None:
        self.A = np.ascontiguousarray(A, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64)
        self.Q = self.A.T @ self.A
        self.c = self.A.T @ self.b
        self.psi = psi
        self.lam = np.asarray(lam, dtype=np.float64)
        self.width = psi.breakpoints.size + 2

    def psi_values(self, x: np.ndarray) -> np.ndarray:
        """psi(x) elementwise (x inside psi's domain)."""
        psi = self.psi
        return par_values(psi.breakpoints, psi.values, psi.left_slope, psi.right_slope, x)

    def objective(self, x: np.ndarray) -> float:
        """F(x) with psi itself (0 * psi = 0 where lam_i = 0)."""
        r = self.A @ x - self.b
        pen = np.where(self.lam > 0, self.lam * self.psi_values(x), 0.0)
        return 0.5 * float(r @ r) + float(np.sum(pen))

    def envelopes(self, lower: np.ndarray, upper: np.ndarray):
        """(knots, values, counts) padded to (d, width): each coordinate's envelope on [lower_i, upper_i]."""
        d = lower.size
        knots = np.zeros((d, self.width))
        values = np.zeros((d, self.width))
        counts = np.zeros(d, dtype=np.int64)
        for i in range(d):
            self.set_envelope(knots, values, counts, i, lower[i], upper[i])
        return knots, values, counts

    def set_envelope(self, knots, values, counts, i: int, lower: float, upper: float) -> None:
        t, v = envelope(self.psi, lower, upper)
        knots[i, : t.size], values[i, : t.size], counts[i] = t, v, t.size

    def relaxed_objective(self, x, knots, values, counts) -> float:
        """The relaxation's objective 1/2 ||A x - b||^2 + sum_i lam_i env_i(x_i)."""
        return _primal_dual(self.A, self.b, self.lam, knots, values, counts, x)[0]

    def dual_bound(self, x, knots, values, counts) -> float:
        """D(w) at w = A x - b (module docstring): a lower bound on min F over the box of the envelopes."""
        return _primal_dual(self.A, self.b, self.lam, knots, values, counts, x)[1]

    def newton(self, x, knots, values, counts) -> bool:
        """One active-set Newton step on x (in place); whether x moved.

        The coordinates strictly inside a piece of their envelope (slope s_i) are free, the others stay on
        their knot; on that face the relaxation is the quadratic 1/2 x^T Q x - c^T x + sum_F lam_i s_i x_i,
        whose minimal-norm Newton step d_F solves Q_FF d_F = -(Q x - c + lam s)_F (least squares: Q_FF may be
        singular).  The step is cut to stay on the face; along it the convex quadratic decreases.
        """
        lo, hi, slope = _faces(knots, values, counts, x)
        free = np.flatnonzero(hi > lo)
        if free.size == 0:
            return False
        g = self.Q[free] @ x - self.c[free] + self.lam[free] * slope[free]
        step, *_ = np.linalg.lstsq(self.Q[np.ix_(free, free)], -g, rcond=None)
        room = np.where(step > 0, (hi[free] - x[free]) / np.where(step > 0, step, 1.0),
                        np.where(step < 0, (lo[free] - x[free]) / np.where(step < 0, step, -1.0), np.inf))
        alpha = min(1.0, float(np.min(room)))
        if not (alpha > 0 and np.isfinite(step).all()):
            return False
        x[free] = np.clip(x[free] + alpha * step, lo[free], hi[free])
        return True

    def solve(self, x, knots, values, counts, tol: float, prune_at: float | None = None):
        """Minimize the relaxation from x (in place); returns (bound, relaxed objective at x).

        It stops once its gap is <= tol or, given ``prune_at``, once the node is decided: its bound reaches
        ``prune_at`` (the node can be dropped), or its relaxed objective is below ``prune_at`` (the
        relaxation's minimum is too: the node cannot be dropped, and is split without further sweeps).
        """
        Qx = self.Q @ x
        step_tol = STEP_RTOL * (1.0 + float(np.max(np.abs(knots))))
        bound, value = -np.inf, np.inf
        for _ in range(ROUNDS):
            ran = coordinate_descent(self.Q, self.c, self.lam, knots, values, counts, x, Qx, SWEEPS, step_tol)
            value, dual = _primal_dual(self.A, self.b, self.lam, knots, values, counts, x)
            bound = max(bound, dual)
            if _decided(value, bound, tol, prune_at):
                break
            if self.newton(x, knots, values, counts):  # undecided: finish the face CD identified
                Qx = self.Q @ x
                value, dual = _primal_dual(self.A, self.b, self.lam, knots, values, counts, x)
                bound = max(bound, dual)
                if _decided(value, bound, tol, prune_at):
                    break
            elif ran < SWEEPS:
                break
        return bound, value


def _decided(value: float, bound: float, tol: float, prune_at: float | None) -> bool:
    return value - bound <= tol or (prune_at is not None and (bound >= prune_at or value < prune_at))


@numba.njit(cache=True, nogil=True)
def _primal_dual(A, b, lam, knots, values, counts, x):
    """(relaxed objective at x, D(w) at w = A x - b) (module docstring)."""
    n, d = A.shape
    w = A @ x - b
    primal = 0.5 * np.dot(w, w)
    dual = -(0.5 * np.dot(w, w) + np.dot(b, w))
    v = -(A.T @ w)
    env = envelope_values(knots, values, counts, x)
    for i in range(d):
        if lam[i] > 0:
            primal += lam[i] * env[i]
        top = -np.inf
        for k in range(counts[i]):
            top = max(top, v[i] * knots[i, k] - lam[i] * values[i, k])
        dual -= top
    return primal, dual


@numba.njit(cache=True, nogil=True)
def _faces(knots, values, counts, x):
    """(lo, hi, slope): the piece of env_i holding x_i strictly inside it (lo = hi = x_i on a knot)."""
    d = x.size
    lo, hi, slope = x.copy(), x.copy(), np.zeros(d)
    for i in range(d):
        for k in range(counts[i] - 1):
            a, b = knots[i, k], knots[i, k + 1]
            if a < x[i] < b:
                lo[i], hi[i] = a, b
                slope[i] = (values[i, k + 1] - values[i, k]) / (b - a)
                break
    return lo, hi, slope
