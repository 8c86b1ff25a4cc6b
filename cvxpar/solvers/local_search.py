"""Local search for a nonconvex psi: exact coordinate moves, kick-and-repair moves, perturbation restarts.

Every method stops at a certified (Clarke) stationary point, and for a nonconvex psi there are many (about
one per assignment of the coordinates to psi's pieces).  This module moves between them for a linear-model
loss f(x) = sum_i h(a_i^T x) whose h'' is bounded by ``smoothness`` (least squares: h'' = 1), on the
quadratic upper model around a point x0

    f(x0 + delta) <= f(x0) + g^T delta + 1/2 delta^T G delta,   g = grad f(x0),   G = A^T diag(c) A,

c_i = smoothness (equality for least squares), or for Huber and logistic the sharp curvature of h_i at
a_i^T x0 (:func:`sharp_curvatures`).  Each accepted move lowers the model of F = f + sum_i lam_i psi(x_i), so
F itself never rises; a descent on the model is a majorization-minimization step (Lange, Hunter and Yang
2000), repeated from the new point (:meth:`LocalModel.descend`).  The moves:

1. *coordinate sweeps*: each coordinate jumps to the global minimizer of the model along its axis, the
   exact 1-D prox of the restricted psi (a coordinate-wise minimum; Beck and Hallak 2016, Tseng 2001);
2. *kick and repair*: coordinate i is set to one of the NEIGHBOURS nearest grid points of psi on either side
   (psi's convex kinks and walls) and held
   there while sweeps re-optimize the others; every (i, grid point) pair is tried and the best improving
   one is taken.  A large-neighbourhood move in the piece assignment (Shaw 1998, Ahuja et al. 2002): it changes
   i's piece and lets any number of other coordinates follow;
3. *iterated local search* (Lourenco, Martin and Stuetzle 2003): from the best point, a few coordinates are
   set to random grid points, moves 1-2 run again, and the result is kept when it is lower.

With linear rows (a Simplex, a budget, Linear equalities and inequalities R x = h / R x <= h), the moves
lower the merit function F + sum_r mu_r pen_r(R_r x - h_r) instead, the exact l1 penalty of the rows (Han and
Mangasarian 1979, "Exact penalty functions in nonlinear programming", Math. Program. 17; pen_r = abs on an
equality, max(., 0) on an inequality) with weights above the rows' multipliers (:meth:`LocalModel.weigh_rows`).
The penalty is convex and piecewise affine along every axis, so move 1 stays an exact 1-D minimization (on
psi's pieces cut at the rows' kinks), and a coordinate move stops on a row rather than cross it.  A kick
that leaves a row is repaired by the other coordinates' sweeps, which bring it back onto the row where that
lowers the merit: a move of two or more coordinates along the rows (the pair moves of a Simplex), found
without enumerating them.

The result is a point no coordinate or kick-and-repair move improves; the caller runs a method from it to
certify it (:func:`cvxpar.solvers.starts.best_of_starts`), which also takes a point that ends a rounding
off a row back onto it.
"""

from __future__ import annotations

import numba
import numpy as np

from cvxpar._prox_kernels import _nonconvex_at_t
from cvxpar.prox import pieces
from cvxpar.solvers.cd import exact

#: Kick-and-repair moves only up to this many coordinates (one scan costs about d^2 m prox evaluations
#: for m grid points); coordinate sweeps alone above it.
KICK_MAX_D = 60
#: The whole local search only up to this many coordinates (G is d x d).
MAX_D = 2000
#: A kick moves a coordinate to one of this many grid points on each side of it.
NEIGHBOURS = 4
#: Sweeps per descent, and sweeps in the repair of one kick.
SWEEP_MAX = 100
REPAIR_SWEEPS = 2
#: Accepted kicks per descent.
KICKS_MAX = 500
#: A move must lower the model by more than this times (1 + |F|).
REL_DECREASE = 1e-12
#: Majorize-minimize rounds per descent (non-quadratic losses), and search rounds (with kick-and-repair moves)
#: among them.
ROUNDS_MAX = 100
KICK_ROUNDS = 4
#: Kick-and-repair scans per descent (non-quadratic losses), per coordinate.
SCANS_PER_COORDINATE = 8
#: Step doublings after a polish round.
EXTRAPOLATIONS = 30
#: Polish rounds stop once a round lowers F by at most this times |F|.
STALL_REL = 1e-9
#: The sharp model is re-built at each round only while that costs at most this many flops (n d^2).
SHARP_MAX_FLOPS = 5e7
#: Face steps along the rows per descent (least squares with rows), and the distance (relative to
#: max(1, ||x||_inf) ||R_r||) within which an inequality row holds x in them.
FACE_ROUNDS = 10
FACE_ROW_RTOL = 1e-12
#: The rows' penalty weights over the size of the multipliers they must exceed (:meth:`LocalModel.weigh_rows`).
PENALTY_FACTOR = 2.0


@numba.njit(inline="always")
def _value(x, slope, lo, hi, ax, av, ex, ev):
    """psi(x) from its pieces (the piece holding x, from its nearer end); +inf outside every piece."""
    for k in range(slope.size):
        if lo[k] <= x <= hi[k]:
            if x - ax[k] > ex[k] - x:
                return ev[k] + slope[k] * (x - ex[k])
            return av[k] + slope[k] * (x - ax[k])
    return np.inf


@numba.njit(inline="always")
def _coordinate_move(j, x, g, G, lam, P, cnt, grp, R, v, mu, neq):
    """(new x_j, model change) of the exact 1-D minimization along j (with the rows' penalty when a row holds j)."""
    c = G[j, j]
    gi = grp[j]
    m = cnt[gi]
    s, lo, hi = P[0, gi, :m], P[1, gi, :m], P[2, gi, :m]
    ax, av, ex, ev = P[3, gi, :m], P[4, gi, :m], P[5, gi, :m], P[6, gi, :m]
    if _touches(j, R):
        xn = _penalized_move(j, x, g, c, lam[j], s, lo, hi, ax, av, ex, ev, R, v, mu, neq)
    else:
        xn = _nonconvex_at_t(x[j] - g[j] / c, lam[j] / c, s, lo, hi, ax, av, ex, ev)
    dx = xn - x[j]
    change = g[j] * dx + 0.5 * c * dx * dx + lam[j] * (
        _value(xn, s, lo, hi, ax, av, ex, ev) - _value(x[j], s, lo, hi, ax, av, ex, ev))
    return xn, change + _penalty_change(j, dx, R, v, mu, neq)


@numba.njit(inline="always")
def _touches(j, R):
    for r in range(R.shape[0]):
        if R[r, j] != 0.0:
            return True
    return False


@numba.njit(inline="always")
def _penalty_change(j, dx, R, v, mu, neq):
    """Change of the rows' exact penalty sum_r mu_r pen_r(v_r) (abs on equalities, max(., 0) on
    inequalities; v = R x - h) when x_j moves by dx."""
    out = 0.0
    for r in range(R.shape[0]):
        a = R[r, j]
        if a != 0.0 and dx != 0.0:
            new = v[r] + a * dx
            if r < neq:
                out += mu[r] * (abs(new) - abs(v[r]))
            else:
                out += mu[r] * (max(new, 0.0) - max(v[r], 0.0))
    return out


@numba.njit(cache=True, nogil=True)
def _penalized_move(j, x, g, c, lam_j, s, lo, hi, ax, av, ex, ev, R, v, mu, neq):
    """The exact minimizer over t of g_j (t - x_j) + c/2 (t - x_j)^2 + lam_j psi(t) + the rows' penalty along j.

    The penalty is convex and piecewise affine in t with kinks where a row's residual crosses 0, so on each
    piece of psi cut at those kinks the objective is a 1-D quadratic plus a linear term: its minimizer there
    is the clipped stationary point, and the best of these is the global one."""
    xj = x[j]
    kinks = np.empty(R.shape[0])
    nk = 0
    for r in range(R.shape[0]):
        if R[r, j] != 0.0:
            kinks[nk] = xj - v[r] / R[r, j]
            nk += 1
    kinks = np.sort(kinks[:nk])
    here = _value(xj, s, lo, hi, ax, av, ex, ev)
    best_t, best = xj, 0.0
    for k in range(s.size):
        left = -np.inf
        for q in range(nk + 1):
            right = kinks[q] if q < nk else np.inf
            a, b = max(left, lo[k]), min(right, hi[k])
            left = right
            if a > b:
                continue
            mid = 0.5 * (a + b) if np.isfinite(a) and np.isfinite(b) else (a + 1.0 if np.isfinite(a) else (
                b - 1.0 if np.isfinite(b) else xj))
            slope = 0.0  # the penalty's slope in t on (a, b)
            for r in range(R.shape[0]):
                rate = R[r, j]
                if rate != 0.0:
                    res = v[r] + rate * (mid - xj)
                    if r < neq:
                        slope += mu[r] * rate * (1.0 if res > 0.0 else -1.0)
                    elif res > 0.0:
                        slope += mu[r] * rate
            t = min(max(xj - (g[j] + lam_j * s[k] + slope) / c, a), b)
            dt = t - xj
            value = g[j] * dt + 0.5 * c * dt * dt + lam_j * (_value(t, s, lo, hi, ax, av, ex, ev) - here) + (
                _penalty_change(j, dt, R, v, mu, neq))
            if value < best:
                best_t, best = t, value
    return best_t


@numba.njit(inline="always")
def _shift(j, dx, x, g, G, R, v):
    x[j] += dx
    for k in range(g.size):
        g[k] += G[k, j] * dx
    for r in range(R.shape[0]):
        v[r] += R[r, j] * dx


@numba.njit(cache=True, nogil=True)
def _sweeps(x, g, G, lam, P, cnt, grp, frozen, n_sweeps, eps, R, v, mu, neq):
    """Coordinate sweeps (move 1) on the model, in place; coordinate ``frozen`` (or -1) stays.  Returns the
    model change."""
    total = 0.0
    for _ in range(n_sweeps):
        changed = False
        for j in range(x.size):
            if j == frozen or G[j, j] <= 0.0:
                continue
            xn, change = _coordinate_move(j, x, g, G, lam, P, cnt, grp, R, v, mu, neq)
            if change < -eps:
                _shift(j, xn - x[j], x, g, G, R, v)
                total += change
                changed = True
        if not changed:
            break
    return total


@numba.njit(cache=True, nogil=True)
def _best_kick(x, g, G, lam, P, cnt, grp, grid, gcnt, eps, start, R, v, mu, neq):
    """The best kick-and-repair move (move 2): (i, grid index), or (-1, -1) when none lowers the model by more
    than REPAIR_SWEEPS sweeps without a kick do (a kick must change pieces, not continue a descent the sweeps
    have not finished); the scan starts at coordinate ``start`` (ties go to the first one found)."""
    d = x.size
    xt = x.copy()
    gt = g.copy()
    vt = v.copy()
    best, bi, bk = min(_sweeps(xt, gt, G, lam, P, cnt, grp, -1, REPAIR_SWEEPS, eps, R, vt, mu, neq), 0.0) - eps, -1, -1
    for step in range(d):
        i = (start + step) % d
        if G[i, i] <= 0.0:
            continue
        gi = grp[i]
        m = cnt[gi]
        s, lo, hi = P[0, gi, :m], P[1, gi, :m], P[2, gi, :m]
        ax, av, ex, ev = P[3, gi, :m], P[4, gi, :m], P[5, gi, :m], P[6, gi, :m]
        here = _value(x[i], s, lo, hi, ax, av, ex, ev)
        pos = np.searchsorted(grid[i, : gcnt[i]], x[i])
        for k in range(max(pos - NEIGHBOURS, 0), min(pos + NEIGHBOURS, gcnt[i])):
            p = grid[i, k]
            dx = p - x[i]
            if dx == 0.0:
                continue
            xt[:] = x
            gt[:] = g
            vt[:] = v
            change = g[i] * dx + 0.5 * G[i, i] * dx * dx + lam[i] * (_value(p, s, lo, hi, ax, av, ex, ev) - here)
            change += _penalty_change(i, dx, R, v, mu, neq)
            _shift(i, dx, xt, gt, G, R, vt)
            change += _sweeps(xt, gt, G, lam, P, cnt, grp, i, REPAIR_SWEEPS, eps, R, vt, mu, neq)
            if change < best:
                best, bi, bk = change, i, k
    return bi, bk


@numba.njit(cache=True, nogil=True)
def _descend(x, g, G, lam, P, cnt, grp, grid, gcnt, eps, kicks, n_sweeps, max_scans, R, v, mu, neq):
    """Moves 1-2 on the model until neither improves (at most ``n_sweeps`` sweeps at a time), in place;
    returns (the model change, the number of kick-and-repair scans, each O(NEIGHBOURS d^2 REPAIR_SWEEPS d));
    at most ``max_scans`` scans."""
    total = _sweeps(x, g, G, lam, P, cnt, grp, -1, n_sweeps, eps, R, v, mu, neq)
    scans = 0
    if not kicks:
        return total, scans
    i = 0
    for _ in range(max_scans):
        i, k = _best_kick(x, g, G, lam, P, cnt, grp, grid, gcnt, eps, i, R, v, mu, neq)
        scans += 1
        if i < 0:
            break
        dx = grid[i, k] - x[i]
        total += g[i] * dx + 0.5 * G[i, i] * dx * dx + lam[i] * _kick_penalty(i, x[i], grid[i, k], P, cnt, grp)
        total += _penalty_change(i, dx, R, v, mu, neq)
        _shift(i, dx, x, g, G, R, v)
        total += _sweeps(x, g, G, lam, P, cnt, grp, i, REPAIR_SWEEPS, eps, R, v, mu, neq)
        total += _sweeps(x, g, G, lam, P, cnt, grp, -1, n_sweeps, eps, R, v, mu, neq)
        i = (i + 1) % x.size
    return total, scans


@numba.njit(inline="always")
def _kick_penalty(i, old, new, P, cnt, grp):
    gi = grp[i]
    m = cnt[gi]
    s, lo, hi = P[0, gi, :m], P[1, gi, :m], P[2, gi, :m]
    ax, av, ex, ev = P[3, gi, :m], P[4, gi, :m], P[5, gi, :m], P[6, gi, :m]
    return _value(new, s, lo, hi, ax, av, ex, ev) - _value(old, s, lo, hi, ax, av, ex, ev)


@numba.njit(cache=True, nogil=True)
def _cells(x, grid, gcnt):
    """LocalModel.cells by binary search in each coordinate's grid."""
    out = np.empty(x.size, dtype=np.int64)
    for i in range(x.size):
        q = grid[i, : gcnt[i]]
        below = np.searchsorted(q, x[i])
        on = below < q.size and q[below] == x[i]
        out[i] = 2 * below + on
    return out


def sharp_curvatures(loss, z: np.ndarray) -> np.ndarray | None:
    """Per-sample curvatures c_i of the sharpest quadratic upper bound of h_i touching it at z_i, or None
    for a loss without one here.

    When h(z) = l(z) + e(z - t) with l linear and e even with e'(r)/r non-increasing in |r|, the quadratic
    with curvature e'(r_0)/r_0 (r_0 = z_0 - t) that touches h at z_0 lies above h (de Leeuw and Lange 2009,
    "Sharp quadratic majorization in one dimension", Comput. Stat. Data Anal. 53): for Huber
    (e = H_M, t = b) c = min(1, M/|r_0|), the weights of Huber's iteratively reweighted least squares
    (Holland and Welsch 1977); for logistic (h(z) = -y z/2 + log(2 cosh(z/2)), y = +-1) c = tanh(z_0/2)/(2 z_0),
    1/4 at 0 (Jaakkola and Jordan 2000).  Both are at most the loss's smoothness and far below it where the
    loss is nearly linear (a Huber residual beyond M, a confident logistic margin), where the constant-
    curvature model takes tiny steps.
    """
    from cvxpar.losses import Huber, Logistic

    if type(loss) is Huber:
        r = np.abs(z - np.asarray(loss.target, dtype=np.float64))
        return np.where(r <= loss.M, 1.0, loss.M / np.maximum(r, loss.M))
    if type(loss) is Logistic:
        a = np.abs(z)
        return np.where(a > 1e-6, np.tanh(0.5 * a) / (2.0 * np.maximum(a, 1e-6)), 0.25)
    return None


class LocalModel:
    """The data of the local search for one problem: G = smoothness A^T A, lam, and the pieces and grid of
    psi restricted to each coordinate's bounds.  Build with :meth:`of`, which returns None when the problem
    is not a linear-model loss with a finite smoothness on NumPy / scipy.sparse data with at most MAX_D
    coordinates."""

    def __init__(self, prob, A, smoothness: float) -> None:
        self.prob, self.loss, self.A = prob, prob.loss, A
        self.d = prob.d
        AtA = A.T @ A
        self.G = np.ascontiguousarray(smoothness * (AtA.toarray() if hasattr(AtA, "toarray") else AtA),
                                      dtype=np.float64)
        self.lam = np.broadcast_to(np.asarray(prob.lam, dtype=np.float64), (self.d,)).copy()
        if prob.lb is None:
            psis, self.grp = [prob.kpsi], np.zeros(self.d, dtype=np.int64)
        else:
            lb, ub = np.asarray(prob.lb, dtype=np.float64), np.asarray(prob.ub, dtype=np.float64)
            pairs, inverse = np.unique(np.stack([lb, ub]), axis=1, return_inverse=True)
            psis = [prob.psi.restrict(float(pairs[0, k]), float(pairs[1, k])) for k in range(pairs.shape[1])]
            self.grp = inverse.reshape(-1).astype(np.int64)
        parts = [pieces(p) for p in psis]
        width = max(p.slope.size for p in parts)
        self.P = np.zeros((7, len(parts), width))
        self.cnt = np.array([p.slope.size for p in parts], dtype=np.int64)
        for k, p in enumerate(parts):
            for r, arr in enumerate((p.slope, p.lo, p.hi, p.anchor_x, p.anchor_value, p.end_x, p.end_value)):
                self.P[r, k, : arr.size] = arr
        grids = [np.asarray(psis[k].grid, dtype=np.float64) for k in self.grp]
        self.gcnt = np.array([q.size for q in grids], dtype=np.int64)
        self.grid = np.zeros((self.d, int(self.gcnt.max())))
        for i, q in enumerate(grids):
            self.grid[i, : q.size] = q
        self.kicks = self.d <= KICK_MAX_D
        self.R, self.h, self.neq = prob.feasible.stacked()
        self.R = np.ascontiguousarray(self.R, dtype=np.float64)
        self.mu = None  # the rows' penalty weights, set by :meth:`weigh_rows` (at the first descent's point)
        self.exact = exact(prob.loss)  # the model is f itself: one round of moves is a full descent
        self.rounds = self.scans = 0  # work done so far: rounds of moves, kick-and-repair scans
        self.lower, self.upper = prob.bounds_np()

    @classmethod
    def of(cls, prob) -> LocalModel | None:
        from cvxpar import _backend
        from cvxpar.losses import LinearModelLoss

        loss = prob.loss
        smooth = getattr(loss, "smoothness", None)
        if (not isinstance(loss, LinearModelLoss) or smooth is None or prob.d > MAX_D
                or not _backend.is_numpy_namespace(prob.xp) or loss.op.kind not in ("dense", "sparse")):
            return None
        return cls(prob, loss.op.A, float(smooth))

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.A.T @ np.asarray(self.loss.dh(self.A @ x)), dtype=np.float64).reshape(-1)

    def objective(self, x: np.ndarray) -> float:
        return float(self.prob.objective(x))

    def weigh_rows(self, x: np.ndarray) -> None:
        """The weights mu_r of the rows' exact penalty, from the slopes of F at x.

        F + sum_r mu_r pen_r (pen_r = abs(R_r x - h_r) on an equality row, max(R_r x - h_r, 0) on an inequality)
        has the same local minimizers on the feasible set as F when mu_r exceeds the rows' Lagrange
        multipliers (the exact penalty theorem; Nocedal and Wright 2006, Theorem 17.3).  At a stationary
        point grad f + lam xi + R^T y = 0 (xi in dpsi), so abs(y_r) ||R_r||_2 is of the order of
        gamma = ||grad f(x)||_2 + ||lam||_2 max abs(psi'): mu_r = PENALTY_FACTOR gamma / ||R_r||_2."""
        if self.R.shape[0] == 0:
            self.mu = np.zeros(0)
            return
        slopes = np.abs(self.prob.kpsi.slopes)
        gamma = float(np.linalg.norm(self.gradient(x))) + float(np.linalg.norm(self.lam)) * float(
            np.max(slopes[np.isfinite(slopes)], initial=0.0))
        self.mu = PENALTY_FACTOR * max(gamma, 1e-300) / np.maximum(np.linalg.norm(self.R, axis=1), 1e-300)

    def rows_penalty(self, x: np.ndarray) -> float:
        """The rows' exact penalty at x (:meth:`weigh_rows`); 0 without rows."""
        if self.R.shape[0] == 0:
            return 0.0
        v = self.R @ x - self.h
        return float(self.mu[: self.neq] @ np.abs(v[: self.neq]) + self.mu[self.neq:] @ np.maximum(v[self.neq:], 0.0))

    def merit(self, x: np.ndarray) -> float:
        """F(x) plus the rows' exact penalty: what the moves lower (F itself without rows)."""
        return self.objective(x) + self.rows_penalty(x)

    def _rows(self, x: np.ndarray) -> tuple:
        """The rows' kernel arguments at x: (R, R x - h, mu, number of equality rows)."""
        if self.mu is None:
            self.weigh_rows(x)
        return self.R, self.R @ x - self.h, self.mu, self.neq

    def descend(self, x: np.ndarray, kicks: bool | None = None, sweeps: int = SWEEP_MAX) -> np.ndarray:
        """Moves 1-2 from x on the model at x (at most ``sweeps`` coordinate sweeps at a time), re-built at each
        new point: one round for least squares, where the model is f itself.

        For other losses each round is a majorize-minimize step on the sharp model of :meth:`majorizer`, kept
        only when it lowers F itself.  The rounds alternate between *search* (moves 1 and 2) and *polish*
        (move 1 alone, O(d^2) a sweep): a search round that leaves every coordinate in its grid cell of psi
        hands over to polish rounds, which run until a round lowers F by less than STALL_REL |F|; then one
        more search round from the polished point (kicks are judged on the model at a converged point).  The
        descent ends when a search round finds nothing, after KICK_ROUNDS search rounds, SCANS_PER_COORDINATE d
        kick-and-repair scans (so at most about 16 SCANS_PER_COORDINATE d^4 flops of search) or ROUNDS_MAX
        rounds.
        """
        kicks = self.kicks if kicks is None else kicks
        x = np.array(x, dtype=np.float64, copy=True)
        F = self.merit(x)
        if self.exact:
            for _ in range(1 + (FACE_ROUNDS if self.R.shape[0] else 0)):
                self._count(_descend(x, self.gradient(x), self.G, self.lam, self.P, self.cnt, self.grp, self.grid,
                                     self.gcnt, REL_DECREASE * (1.0 + abs(F)), kicks, sweeps, KICKS_MAX, *self._rows(x)))
                if not self.R.shape[0] or not self._face_step(x, REL_DECREASE * (1.0 + abs(F))):
                    break
            return x
        search, searches, budget = kicks, 0, SCANS_PER_COORDINATE * self.d
        for _ in range(ROUNDS_MAX):
            searches += search
            trial = x.copy()
            scans = self.scans
            change = self._count(_descend(trial, self.gradient(x), self.majorizer(x), self.lam, self.P, self.cnt,
                                          self.grp, self.grid, self.gcnt, REL_DECREASE * (1.0 + abs(F)), search,
                                          sweeps, budget, *self._rows(x)))
            budget -= self.scans - scans
            F_trial = self.merit(trial)
            lowered = change < 0.0 and F_trial < F  # the model's moves must lower F itself
            if lowered:
                settled = search and np.array_equal(self.cells(trial), self.cells(x))
                if not search:
                    trial, F_trial = self._extrapolate(x, trial, F_trial)
                stalled = not search and F - F_trial <= STALL_REL * abs(F_trial)
                x, F = trial, F_trial
            if search:
                if not lowered or searches >= KICK_ROUNDS or budget <= 0:
                    break
                search = not settled  # the same cells as before the round: polish inside them
            elif not lowered or stalled:
                if not kicks or searches >= KICK_ROUNDS or budget <= 0:
                    break
                search = True  # one more search from the polished point
        return x

    def _face_step(self, x: np.ndarray, eps: float) -> bool:
        """One Newton step along the rows on x's face, in place (least squares with rows); True when it lowered F.

        The free coordinates F (inside a grid cell of psi, where psi has the slope s_i) move along the null
        space of the rows that hold x (the equalities and the inequalities it meets): d_F minimizes the model
        (g + lam s)_F^T d + 1/2 d^T G_FF d subject to R_act,F d = 0 (its KKT system, solved in the least-squares
        sense), and x_F + alpha d_F stops at the first cell end or inactive row (alpha <= 1).  Coordinate moves
        stop where a row meets them; this move slides along it (a Simplex's pair moves, and more)."""
        free = np.flatnonzero((self.cells(x) % 2 == 0) & (np.diag(self.G) > 0))
        if free.size == 0:
            return False
        v = self.R @ x - self.h
        scale = max(1.0, float(np.max(np.abs(x), initial=0.0)))
        tight = np.arange(v.size) < self.neq
        tight[self.neq:] = v[self.neq:] >= -FACE_ROW_RTOL * scale * np.linalg.norm(self.R[self.neq:], axis=1)
        s, lo, hi = (np.asarray(a, dtype=np.float64)[free] for a in self.prob.piece(x))
        c = self.gradient(x)[free] + self.lam[free] * s
        Gf, Ra = self.G[np.ix_(free, free)], self.R[tight][:, free]
        K = np.block([[Gf, Ra.T], [Ra, np.zeros((Ra.shape[0], Ra.shape[0]))]])
        step = np.linalg.lstsq(K, np.concatenate([-c, np.zeros(Ra.shape[0])]), rcond=None)[0][: free.size]
        slope, curvature = float(c @ step), float(step @ Gf @ step)
        if not (np.isfinite(step).all() and slope < 0.0):
            return False
        with np.errstate(divide="ignore", invalid="ignore"):
            reach = np.where(step > 0, (hi - x[free]) / step, np.where(step < 0, (lo - x[free]) / step, np.inf))
            rate = self.R[~tight][:, free] @ step
            rows = np.where(rate > 0, -v[~tight] / rate, np.inf)
        alpha = min(float(reach.min(initial=np.inf)), float(rows.min(initial=np.inf)), 1.0 if curvature > 0 else np.inf)
        if not (np.isfinite(alpha) and alpha > 0.0 and alpha * slope + 0.5 * alpha * alpha * curvature < -eps):
            return False
        new = x[free] + alpha * step
        ends = reach <= alpha
        new[ends] = np.where(step[ends] > 0, hi[ends], lo[ends])
        x[free] = new
        return True

    def _count(self, out: tuple[float, int]) -> float:
        self.rounds += 1
        self.scans += out[1]
        return out[0]

    def _extrapolate(self, x: np.ndarray, y: np.ndarray, F_y: float) -> tuple[np.ndarray, float]:
        """The lowest of y and x + 2^k (y - x) (clipped to the bounds), k = 1, 2, ..., while F keeps falling (at
        most EXTRAPOLATIONS steps): step doubling along the last majorize-minimize step, whose steps shrink geometrically where
        the model is loose (Varadhan and Roland 2008, "Simple and globally convergent methods for
        accelerating the convergence of any EM algorithm", Scand. J. Stat. 35)."""
        step = y - x
        for k in range(1, EXTRAPOLATIONS + 1):
            z = np.clip(x + 2.0**k * step, self.lower, self.upper)
            F_z = self.merit(z)
            if not F_z < F_y:
                break
            y, F_y = z, F_z
        return y, F_y

    def majorizer(self, x: np.ndarray) -> np.ndarray:
        """G of the quadratic upper model of f at x: A^T diag(c) A with the sharp curvatures c of
        :func:`sharp_curvatures` where the loss has them and a rebuild costs at most SHARP_MAX_FLOPS, else
        smoothness A^T A."""
        A = self.A
        if A.shape[0] * self.d * self.d > SHARP_MAX_FLOPS:
            return self.G
        c = sharp_curvatures(self.loss, np.asarray(A @ x, dtype=np.float64).reshape(-1))
        if c is None:
            return self.G
        CA = A.multiply(c[:, None]) if hasattr(A, "multiply") else A * c[:, None]
        G = A.T @ CA
        return np.ascontiguousarray(G.toarray() if hasattr(G, "toarray") else G, dtype=np.float64)

    def cells(self, x: np.ndarray) -> np.ndarray:
        """For each coordinate, the cell of its psi's grid holding x_i: 2 k for the open interval after its
        first k grid points, 2 k + 1 on grid point k + 1 (psi is affine on each open interval)."""
        return _cells(np.asarray(x, dtype=np.float64), self.grid, self.gcnt)

    def perturb(self, x: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
        """x with k random coordinates set to random grid points of their psi."""
        out = x.copy()
        live = np.flatnonzero(np.diag(self.G) > 0)
        for j in rng.choice(live, size=min(k, live.size), replace=False):
            out[j] = self.grid[j, rng.integers(self.gcnt[j])]
        return out


def refine(prob, x, rounds: int, seed: int = 0):
    """Local search from x (module docstring): returns (x', improved) with x' no higher than x on the merit
    function (F, plus the rows' exact penalty weighed at x: :meth:`LocalModel.weigh_rows`); (x, False) when
    the problem has no :class:`LocalModel`."""
    model = LocalModel.of(prob)
    if model is None:
        return x, False
    x0 = np.array(x, dtype=np.float64, copy=True)
    model.weigh_rows(x0)
    F0 = model.merit(x0)
    best = model.descend(x0)
    F = model.merit(best)
    rng = np.random.default_rng(seed)
    k = max(2, model.d // 10)
    for _ in range(rounds):
        trial = model.descend(model.perturb(best, rng, k))
        Ft = model.merit(trial)
        if Ft < F - REL_DECREASE * (1.0 + abs(F)):
            best, F = trial, Ft
    return best, bool(F < F0 - REL_DECREASE * (1.0 + abs(F0)))
