"""Starting points for a nonconvex psi: the convex envelope's solution, then local refinement, several starts.

For a nonconvex psi every method returns a certified *stationary* point, and which one depends on where it
starts.  A cheap, good start is the solution of the convexified problem, with psi replaced by its convex
envelope (the greatest convex minorant, conv psi): on a grid with walls (a Box, or PARQ's hard box) conv
psi interpolates psi at the lower-hull breakpoints, so the convex solution already sits on the kinks that
psi and its envelope share, and the nonconvex refinement only has to move the coordinates where they
differ.  (The convex envelope is the tightest convex relaxation of the separable penalty: Falk 1969;
for sparse regression, e.g. the MCP/SCAD relaxations in Zhang 2010.)  Several starts are run and the
certified point with the lowest objective is kept.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar.par import PAR


def convex_envelope(psi: PAR) -> PAR | None:
    """The greatest convex minorant of psi as a PAR, or None when it is -inf (left slope > right slope).

    conv psi(x) = sup over a in [left_slope, right_slope] of (a x - max_k (a q_k - v_k)): the lower convex
    hull of the points (q_k, psi(q_k)) (Andrew's monotone chain), keeping the hull vertices whose two hull
    slopes straddle the outer slopes, which stay as they are.
    """
    sl, sr = psi.left_slope, psi.right_slope
    if sl > sr:
        return None
    q, v = psi.breakpoints, psi.values
    hull: list[int] = []
    for k in range(q.size):
        while len(hull) >= 2 and _cross(q, v, hull[-2], hull[-1], k) <= 0.0:
            hull.pop()
        hull.append(k)
    idx = np.asarray(hull)
    slopes = np.diff(v[idx]) / np.diff(q[idx])
    left = np.concatenate(([-math.inf], slopes))  # hull slope left of each vertex
    right = np.concatenate((slopes, [math.inf]))  # and right of it
    keep = (left < sr) & (right > sl)
    if not keep.any():  # the outer slopes alone: a single kink where they meet
        k = int(np.argmin(v - (sl if sl > -math.inf else 0.0) * q))
        keep = np.zeros(idx.size, bool)
        keep[np.searchsorted(idx, k)] = True
    kept = idx[keep]
    return PAR(q[kept], v[kept], sl, sr)


def _cross(q, v, i: int, j: int, k: int) -> float:
    """> 0 when (q_i, v_i), (q_j, v_j), (q_k, v_k) turn left (j lies strictly below the chord i-k)."""
    return (q[j] - q[i]) * (v[k] - v[i]) - (v[j] - v[i]) * (q[k] - q[i])


#: Starts tried by default for a nonconvex psi without a user x0: the convex envelope's solution and 0.
DEFAULT_STARTS = 2


def start_points(prob, n_starts: int, envelope_x=None, seed: int = 0) -> list[tuple[str, object]]:
    """(label, x0) pairs: the envelope's solution (if any), the user's x0 (or 0), then seeded random points
    drawn uniformly over psi's grid range intersected with the bounds."""
    from cvxpar import _backend

    points: list[tuple[str, object]] = []
    if envelope_x is not None:
        points.append(("convex envelope", envelope_x))
    points.append(("x0" if prob.x0 is not None else "zero", prob.x0))
    q = prob.psi.breakpoints
    width = max(float(q[-1] - q[0]), 1.0)
    lo, hi = prob.bounds_np()
    lo = np.maximum(lo, q[0] - 0.5 * width)
    hi = np.minimum(hi, q[-1] + 0.5 * width)
    rng = np.random.default_rng(seed)
    while len(points) < n_starts:
        x = rng.uniform(lo, hi)
        points.append((f"random {len(points)}", _backend.asarray_like(prob.xp, x, prob.zeros)))
    return points[:max(n_starts, 1)]


def best_of_starts(prob, run, points, sweep: bool = False, rounds: int | None = None):
    """Run ``run(problem_started_at_x0)`` from every start and keep the best result: a certified point before
    an uncertified one, then the lowest objective.  With ``sweep``, the local search of
    :mod:`cvxpar.solvers.local_search` (with ``rounds`` perturbation restarts) from the best point and, when
    it found a lower point, one more run from there (repeated while that run's point can still be improved);
    ``rounds`` defaults to ROUNDS_PER_START per start, so ``n_starts`` buys more of them.  Then, where it
    applies, the budgeted branch and bound of :mod:`cvxpar.solvers.tree_search` from the best point, and when
    it finds a lower point, a run and a local search (no restarts) from there.
    ``res.info["starts"]`` lists (label, status, objective) of every run; ``res.info["tree_search"]`` the
    search's nodes, proven lower bound on the global minimum and whether it closed the gap."""
    from cvxpar import result as R
    from cvxpar.solvers import tree_search
    from cvxpar.solvers.local_search import refine

    best, log, iterations = None, [], 0
    points = list(points)
    restarts = ROUNDS_PER_START * len(points) if rounds is None else rounds
    refinements, search = 0, None
    while points:
        label, x0 = points.pop(0)
        res = run(prob.started_at(x0))
        iterations += res.iterations
        log.append((label, res.status, res.objective))
        key = (res.status not in (R.STATIONARY, R.OPTIMAL), res.objective)
        if best is None or key < best[0]:
            best = (key, res, label)
        if not sweep or points:
            continue
        if refinements < MAX_REFINEMENTS:
            refinements += 1
            found, moved = refine(prob, best[1].x, restarts, seed=refinements)
            restarts = 0
            if moved:
                points.append(("local search", found))
                continue
        if search is None and tree_search.applies(prob):
            search = tree_search.improve(prob, best[1].x)
            if search.improved:
                points.append(("tree search", search.x))
                refinements = MAX_REFINEMENTS - 1
    _, res, label = best
    res.iterations = iterations
    res.info["starts"] = log
    res.info["best_start"] = label
    if search is not None:
        res.info["tree_search"] = {"nodes": search.nodes, "bound": search.bound, "closed": search.closed}
    return res


#: Perturbation restarts of the local search per start.
ROUNDS_PER_START = 10
#: At most this many local searches (each followed by a run of the method from its point).
MAX_REFINEMENTS = 3
