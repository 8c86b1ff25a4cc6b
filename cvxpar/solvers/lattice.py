"""Closest grid point: a budgeted Schnorr-Euchner enumeration of psi's grid for a nonconvex psi (least squares).

On psi's grid Q_i (its convex kinks and walls, per coordinate within its bounds), the problem

    minimize over x in Q_1 x ... x Q_d   F(x) = 1/2 ||A x - b||^2 + sum_i lam_i psi(x_i)

is a closest-vector problem with a separable cost on each coordinate (for the sawtooth psi = 0 on Q, so it
is the closest point of the grid to b in the metric of A).  A local search moves a few coordinates at a
time; when n < d the least-squares term vanishes on a (d - n)-dimensional affine subspace and the convex
envelope of a sawtooth is flat over several cells, so neither the local search nor the envelope branch and
bound sees which grid points lie near that subspace.  This module enumerates them, following the
Schnorr-Euchner strategy for integer least squares (Schnorr and Euchner 1994, "Lattice basis reduction",
Math. Program. 66; Agrell, Eriksson, Vardy and Zeger 2002, "Closest point search in lattices", IEEE Trans.
Inf. Theory 48, sec. 3):

1. *Regularized factor.*  With G = A^T A, h = A^T b, a centre c (:func:`search` uses two: the best point
   and the least-squares point) and a small mu > 0,
   Phi(x) = F(x) + mu/2 ||x - c||^2 = 1/2 ||R x - y||^2 + K + sum_i lam_i psi(x_i), where
   R^T R = P^T (G + mu I) P is the Cholesky factor of the regularized Gram in the coordinate order P and
   R^T y = P^T (h + mu c).  mu makes R nonsingular when n < d and breaks ties towards c; since
   mu/2 ||x - c||^2 <= S = mu/2 sum_i max over Q_i of (q - c_i)^2 on the grid, a grid point with
   F(x) < F_best has Phi(x) < F_best + S.
2. *Order* (a sorted factor, the V-BLAST order of Wuebben et al. 2003, "MMSE extension of V-BLAST based on
   sorted QR decomposition"): the coordinate decided first (the last row of R) is the one with the largest
   conditional precision 1 / ((G + mu I)^{-1})_jj among those not yet placed, so the levels that prune most
   are decided first.
3. *Depth-first enumeration* from the last level down: at level k, with the coordinates above it fixed,
   row k contributes 1/2 (R_kk q - t_k)^2 + lam_k psi(q) for x_k = q; the children are tried in increasing
   order of that cost (Schnorr-Euchner's zig-zag around the Babai point, here for any grid and a separable
   cost), and a child is cut, with all the costlier ones after it, when the cost of the levels fixed so far
   plus the least psi cost of the levels below reaches F_best + S - K.  The first leaf is Babai's nearest
   plane point (Babai 1986) in this order.

Every leaf's F is exact (Phi minus the regularization); the enumeration stops after ``max_nodes`` level
entries (each O(d + m log m) for m grid points).  When it runs to completion it has proven that no grid
point is below the best one it returns (or below the incumbent it was given).  The grid point is then a
start for the local search and the method (:func:`cvxpar.solvers.starts.best_of_starts`), which certifies
a stationary point as usual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from cvxpar.solvers._switch import Switch
from cvxpar.solvers.tree_search import small_nonconvex_least_squares

#: Level entries of one enumeration (each O(d + m log m): about 0.3-0.4 us at d = 10 to 30) per start of
#: :func:`cvxpar.solvers.starts.best_of_starts` (``n_starts`` buys more).
NODES_PER_START = 50_000
#: The enumeration runs up to this many coordinates.
MAX_D = 30
#: The regularization mu relative to the mean diagonal of A^T A (module docstring, step 1).
MU_REL = 1e-7


@dataclass
class GridPoint:
    """x: the best grid point found with F(x) below the incumbent (None when none was); objective: F(x)
    (the incumbent's value when x is None); complete: the enumeration ran to its end (no grid point is lower
    than ``objective``); nodes: level entries."""

    x: np.ndarray | None
    objective: float
    complete: bool
    nodes: int


_SWITCH = Switch("cvxpar_lattice")
#: Off within ``with suspended():`` (to measure the solve without the enumeration).
suspended = _SWITCH.suspended


def applies(prob) -> bool:
    """Least squares on NumPy (dense or scipy.sparse A), a nonconvex psi, bounds only (no linear rows), at most
    MAX_D coordinates."""
    return _SWITCH.on and not prob.feasible.has_rows and small_nonconvex_least_squares(prob, MAX_D)


def sorted_order(M: np.ndarray) -> np.ndarray:
    """The coordinate order of step 2 (module docstring): entry k is the coordinate at level k, the last one
    decided first; M symmetric positive definite."""
    left = list(range(M.shape[0]))
    order = []
    while left:
        inv_diag = np.diag(np.linalg.inv(M[np.ix_(left, left)]))
        order.append(left.pop(int(np.argmin(inv_diag))))
    return np.array(order[::-1], dtype=np.int64)


def closest_grid_point(G: np.ndarray, h: np.ndarray, bb: float, lam: np.ndarray, grids: list[np.ndarray],
                       psi_values: list[np.ndarray], center: np.ndarray, incumbent: float = np.inf,
                       max_nodes: int = 2 * NODES_PER_START) -> GridPoint:
    """The grid point minimizing F(x) = 1/2 x^T G x - h^T x + bb/2 + sum_i lam_i psi(x_i) over
    x_i in grids[i], below ``incumbent``, by the budgeted enumeration of the module docstring.

    ``psi_values[i]`` holds psi at ``grids[i]`` (finite); ``center`` is c of the regularization."""
    d = h.size
    G = np.asarray(G, dtype=np.float64)
    mu = MU_REL * max(float(np.mean(np.diag(G))), 1e-300)
    M = G + mu * np.eye(d)
    perm = sorted_order(M)
    R = np.linalg.cholesky(M[np.ix_(perm, perm)]).T
    y = np.linalg.solve(R.T, (h + mu * center)[perm])
    K = 0.5 * bb + 0.5 * mu * float(center @ center) - 0.5 * float(y @ y)
    width = max(q.size for q in grids)
    gv = np.zeros((d, width))
    pv = np.full((d, width), np.inf)
    gc = np.zeros(d, dtype=np.int64)
    slack = 0.0
    for k, i in enumerate(perm):
        q = np.asarray(grids[i], dtype=np.float64)
        gv[k, : q.size], pv[k, : q.size], gc[k] = q, lam[i] * np.asarray(psi_values[i]), q.size
        slack += 0.5 * mu * float(np.max((q - center[i]) ** 2))
    floor = np.array([np.min(pv[k, : gc[k]]) for k in range(d)])
    rest = np.concatenate(([0.0], np.cumsum(floor)[:-1]))  # least psi cost of the levels below k
    x, best, complete, nodes = _enumerate(R, y, gv, pv, gc, rest, K, mu, center[perm], slack, float(incumbent),
                                          int(max_nodes))
    if not np.isfinite(best) or best >= incumbent:
        return GridPoint(None, float(incumbent), complete, nodes)
    out = np.empty(d)
    out[perm] = x
    return GridPoint(out, float(best), complete, nodes)


@numba.njit(cache=True, nogil=True)
def _enumerate(R, y, gv, pv, gc, rest, K, mu, c, slack, incumbent, max_nodes):
    """Depth-first Schnorr-Euchner enumeration (module docstring, step 3) in the permuted coordinates: returns
    (the best leaf, its F, whether the search ran to its end, level entries)."""
    d = y.size
    width = gv.shape[1]
    x = np.zeros(d)
    best_x = np.zeros(d)
    best = incumbent
    partial = np.zeros(d + 1)  # partial[k]: the cost of the levels >= k fixed so far
    cost = np.zeros((d, width))
    order = np.zeros((d, width), dtype=np.int64)
    nxt = np.zeros(d, dtype=np.int64)
    nodes = 1
    _expand(d - 1, R, y, gv, pv, gc, x, cost, order, nxt)
    k = d - 1
    while True:
        if nxt[k] < gc[k]:
            j = order[k, nxt[k]]
            nxt[k] += 1
            value = partial[k + 1] + cost[k, j]
            if value + rest[k] >= best + slack - K:  # the children come in increasing cost: cut the others too
                nxt[k] = gc[k]
                continue
            x[k] = gv[k, j]
            partial[k] = value
            if k == 0:
                reg = 0.0
                for i in range(d):
                    reg += (x[i] - c[i]) ** 2
                F = value + K - 0.5 * mu * reg
                if F < best:
                    best = F
                    best_x[:] = x
                continue
            if nodes >= max_nodes:
                return best_x, best, False, nodes
            nodes += 1
            k -= 1
            _expand(k, R, y, gv, pv, gc, x, cost, order, nxt)
        else:
            k += 1
            if k == d:
                return best_x, best, True, nodes


@numba.njit(inline="always")
def _expand(k, R, y, gv, pv, gc, x, cost, order, nxt):
    """Level k's children (grid values of its coordinate) in increasing order of row k's cost."""
    t = y[k]
    for j in range(k + 1, y.size):
        t -= R[k, j] * x[j]
    m = gc[k]
    for j in range(m):
        r = R[k, k] * gv[k, j] - t
        cost[k, j] = 0.5 * r * r + pv[k, j]
    order[k, :m] = np.argsort(cost[k, :m])
    nxt[k] = 0


def search(prob, x, max_nodes: int = 2 * NODES_PER_START) -> GridPoint:
    """:func:`closest_grid_point` for a problem (:func:`applies`) on psi's grid within each coordinate's bounds,
    below F(x) by more than the local search's margin REL_DECREASE (1 + |F(x)|) (x itself, when it is a grid
    point, is not found again through rounding).

    Two enumerations of ``max_nodes / 2`` level entries each, centred at x and at the least-squares point
    A^+ b (the minimum-norm one when n < d): the centre orders the nearly free levels (those of the null
    space of A, where mu alone sets the row cost), so each explores the grid points near the affine set
    {A x = A A^+ b} around its own centre; the second runs below the first's best point."""
    from cvxpar.solvers.local_search import REL_DECREASE, LocalModel

    model = LocalModel.of(prob)
    x = np.asarray(x, dtype=np.float64)
    A = prob.loss.op.A
    A = np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=np.float64)
    b = np.asarray(prob.loss.target, dtype=np.float64)
    h = A.T @ b
    grids = [model.grid[i, : model.gcnt[i]] for i in range(prob.d)]
    values = [np.asarray(prob.psi(q), dtype=np.float64) for q in grids]
    F = float(prob.objective(x))
    best = GridPoint(None, F - REL_DECREASE * (1.0 + abs(F)), True, 0)
    for center in (x, np.linalg.lstsq(A, b, rcond=None)[0]):
        out = closest_grid_point(model.G, h, float(b @ b), model.lam, grids, values, center, best.objective,
                                 max_nodes // 2)
        best = GridPoint(out.x if out.x is not None else best.x, out.objective, best.complete and out.complete,
                         best.nodes + out.nodes)
    return best
