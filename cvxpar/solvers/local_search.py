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

The result is a point no coordinate or kick-and-repair move improves; the caller runs a method from it to
certify it (:func:`cvxpar.solvers.starts.best_of_starts`).
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
def _coordinate_move(j, x, g, G, lam, P, cnt, grp):
    """(new x_j, model change) of the exact 1-D minimization along j."""
    c = G[j, j]
    gi = grp[j]
    m = cnt[gi]
    s, lo, hi = P[0, gi, :m], P[1, gi, :m], P[2, gi, :m]
    ax, av, ex, ev = P[3, gi, :m], P[4, gi, :m], P[5, gi, :m], P[6, gi, :m]
    xn = _nonconvex_at_t(x[j] - g[j] / c, lam[j] / c, s, lo, hi, ax, av, ex, ev)
    dx = xn - x[j]
    change = g[j] * dx + 0.5 * c * dx * dx + lam[j] * (
        _value(xn, s, lo, hi, ax, av, ex, ev) - _value(x[j], s, lo, hi, ax, av, ex, ev))
    return xn, change


@numba.njit(inline="always")
def _shift(j, dx, x, g, G):
    x[j] += dx
    for k in range(g.size):
        g[k] += G[k, j] * dx


@numba.njit(cache=True, nogil=True)
def _sweeps(x, g, G, lam, P, cnt, grp, frozen, n_sweeps, eps):
    """Coordinate sweeps (move 1) on the model, in place; coordinate ``frozen`` (or -1) stays.  Returns the
    model change."""
    total = 0.0
    for _ in range(n_sweeps):
        changed = False
        for j in range(x.size):
            if j == frozen or G[j, j] <= 0.0:
                continue
            xn, change = _coordinate_move(j, x, g, G, lam, P, cnt, grp)
            if change < -eps:
                _shift(j, xn - x[j], x, g, G)
                total += change
                changed = True
        if not changed:
            break
    return total


@numba.njit(cache=True, nogil=True)
def _best_kick(x, g, G, lam, P, cnt, grp, grid, gcnt, eps, start):
    """The best kick-and-repair move (move 2): (i, grid index), or (-1, -1) when none lowers the model by more
    than REPAIR_SWEEPS sweeps without a kick do (a kick must change pieces, not continue a descent the sweeps
    have not finished); the scan starts at coordinate ``start`` (ties go to the first one found)."""
    d = x.size
    xt = x.copy()
    gt = g.copy()
    best, bi, bk = min(_sweeps(xt, gt, G, lam, P, cnt, grp, -1, REPAIR_SWEEPS, eps), 0.0) - eps, -1, -1
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
            change = g[i] * dx + 0.5 * G[i, i] * dx * dx + lam[i] * (_value(p, s, lo, hi, ax, av, ex, ev) - here)
            _shift(i, dx, xt, gt, G)
            change += _sweeps(xt, gt, G, lam, P, cnt, grp, i, REPAIR_SWEEPS, eps)
            if change < best:
                best, bi, bk = change, i, k
    return bi, bk


@numba.njit(cache=True, nogil=True)
def _descend(x, g, G, lam, P, cnt, grp, grid, gcnt, eps, kicks, n_sweeps, max_scans):
    """Moves 1-2 on the model until neither improves (at most ``n_sweeps`` sweeps at a time), in place;
    returns (the model change, the number of kick-and-repair scans, each O(NEIGHBOURS d^2 REPAIR_SWEEPS d));
    at most ``max_scans`` scans."""
    total = _sweeps(x, g, G, lam, P, cnt, grp, -1, n_sweeps, eps)
    scans = 0
    if not kicks:
        return total, scans
    i = 0
    for _ in range(max_scans):
        i, k = _best_kick(x, g, G, lam, P, cnt, grp, grid, gcnt, eps, i)
        scans += 1
        if i < 0:
            break
        dx = grid[i, k] - x[i]
        total += g[i] * dx + 0.5 * G[i, i] * dx * dx + lam[i] * _kick_penalty(i, x[i], grid[i, k], P, cnt, grp)
        _shift(i, dx, x, g, G)
        total += _sweeps(x, g, G, lam, P, cnt, grp, i, REPAIR_SWEEPS, eps)
        total += _sweeps(x, g, G, lam, P, cnt, grp, -1, n_sweeps, eps)
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
        F = self.objective(x)
        if self.exact:
            self._count(_descend(x, self.gradient(x), self.G, self.lam, self.P, self.cnt, self.grp, self.grid,
                                 self.gcnt, REL_DECREASE * (1.0 + abs(F)), kicks, sweeps, KICKS_MAX))
            return x
        search, searches, budget = kicks, 0, SCANS_PER_COORDINATE * self.d
        for _ in range(ROUNDS_MAX):
            searches += search
            trial = x.copy()
            scans = self.scans
            change = self._count(_descend(trial, self.gradient(x), self.majorizer(x), self.lam, self.P, self.cnt,
                                          self.grp, self.grid, self.gcnt, REL_DECREASE * (1.0 + abs(F)), search,
                                          sweeps, budget))
            budget -= self.scans - scans
            F_trial = self.objective(trial)
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
            F_z = self.objective(z)
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
    """Local search from x (module docstring): returns (x', improved), F(x') <= F(x); (x, False) when the
    problem has no :class:`LocalModel`."""
    model = LocalModel.of(prob)
    if model is None:
        return x, False
    x0 = np.array(x, dtype=np.float64, copy=True)
    F0 = model.objective(x0)
    best = model.descend(x0)
    F = model.objective(best)
    rng = np.random.default_rng(seed)
    k = max(2, model.d // 10)
    for _ in range(rounds):
        trial = model.descend(model.perturb(best, rng, k))
        Ft = model.objective(trial)
        if Ft < F - REL_DECREASE * (1.0 + abs(F)):
            best, F = trial, Ft
    return best, bool(F < F0 - REL_DECREASE * (1.0 + abs(F0)))
