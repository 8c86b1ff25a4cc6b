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
    drawn uniformly over psi's grid range (widened by half its width) intersected with the bounds; a coordinate
    whose bounds miss that range takes its feasible value nearest to the range's center."""
    from cvxpar import _backend

    points: list[tuple[str, object]] = []
    if envelope_x is not None:
        points.append(("convex envelope", envelope_x))
    points.append(("x0" if prob.x0 is not None else "zero", prob.x0))
    q = prob.psi.breakpoints
    width = max(float(q[-1] - q[0]), 1.0)
    bound_lo, bound_hi = prob.bounds_np()
    lo = np.maximum(bound_lo, q[0] - 0.5 * width)
    hi = np.minimum(bound_hi, q[-1] + 0.5 * width)
    outside = lo > hi  # bounds that miss the widened grid range: their point nearest to it
    nearest = np.clip(0.5 * (q[0] + q[-1]), bound_lo, bound_hi)
    lo, hi = np.where(outside, nearest, lo), np.where(outside, nearest, hi)
    rng = np.random.default_rng(seed)
    while len(points) < n_starts:
        x = rng.uniform(lo, hi)
        points.append((f"random {len(points)}", _backend.asarray_like(prob.xp, x, prob.zeros)))
    return points[:max(n_starts, 1)]


def best_of_starts(prob, run, points, sweep: bool = False, rounds: int | None = None, tol: float | None = None):
    """Run ``run(problem_started_at_x0)`` from every start and keep the best result: a certified point before
    an uncertified one, then the lowest objective.

    With ``sweep``, four improvement steps follow, each from the best point so far; every lower point one
    finds gets a run of the method (which certifies it) and one more local search without restarts:

    1. the local search of :mod:`cvxpar.solvers.local_search` without perturbation restarts (at most
       MAX_REFINEMENTS times while it finds a lower point);
    2. where it applies, the branch and bound of :mod:`cvxpar.solvers.tree_search` with a budget of
       NODES_PER_START nodes per start;
    3. unless that search closed its gap (its point is then a global minimizer to its tolerance), the local
       search with ``rounds`` perturbation restarts (default ROUNDS_PER_START per start, so ``n_starts``
       buys more of them); when they find a lower point, the search of step 2 once more from there (a
       lower incumbent prunes more nodes);
    4. unless the search closed its gap, where it applies, the closest point of psi's grid below the best
       point (:mod:`cvxpar.solvers.lattice`: a budgeted enumeration, NODES_PER_START level entries per
       start), taken down by the local search without restarts, and from a lower point the search of step 2
       once more.  Last, so that it only ever lowers the point that steps 1-3 reach.

    With ``tol``, a point of the local search or the branch and bound is first settled where it is
    (:func:`settle`: active-set Newton steps from it, kept when they end certified to ``tol`` no higher than
    the point): the method runs from it only when that fails.  Every method but coordinate descent may
    climb from its start (an ADMM run starts with zero multipliers and leaves the start's basin), and the
    point's piece assignment is what the search found.

    A start identical (to DUPLICATE_RTOL) to an earlier start or to the point an earlier run returned is
    skipped: the method is deterministic, and from a point it certified it stops there, so the run would
    repeat work already done.

    ``res.info["starts"]`` lists (label, status, objective) of every run; ``res.info["skipped_starts"]`` the
    labels of the duplicate starts; ``res.info["lattice"]`` the grid enumeration's level entries and whether it
    ran to its end; ``res.info["tree_search"]`` the search's nodes, proven lower bound on the
    global minimum and whether it closed the gap."""
    from cvxpar import result as R
    from cvxpar.solvers import lattice, tree_search
    from cvxpar.solvers.local_search import refine

    best, log, iterations = None, [], 0
    seen, skipped = _Seen(), []
    points = list(points)
    restarts = ROUNDS_PER_START * len(points) if rounds is None else rounds
    nodes = tree_search.NODES_PER_START * len(points)
    grid_nodes = lattice.NODES_PER_START * len(points)
    refinements, search, search_due = 0, None, True
    grid, grid_due = None, True
    while points:
        label, x0 = points.pop(0)
        if seen.holds(prob, x0):
            skipped.append(label)
        else:
            searched = tol is not None and best is not None and label in SEARCHES
            res = settle(prob, x0, tol, best[1]) if searched else None
            res = run(prob.started_at(x0)) if res is None else res
            seen.add(prob, x0, res.x)
            iterations += res.iterations
            log.append((label, res.status, res.objective))
            key = (res.status not in (R.STATIONARY, R.OPTIMAL), res.objective)
            if best is None or key < best[0]:
                best = (key, res, label)
        if not sweep or points or best is None:
            continue
        if refinements < MAX_REFINEMENTS:  # moves without restarts, while they find a lower point
            refinements += 1
            found, moved = refine(prob, best[1].x, 0)
            if moved and not seen.holds(prob, found):
                points.append(("local search", found))
                continue
            refinements = MAX_REFINEMENTS  # the same search from the same point would find the same point
        if search_due and tree_search.applies(prob):
            search_due = False
            search = tree_search.improve(prob, best[1].x, nodes)
            if search.improved:
                points.append(("tree search", search.x))
                refinements = MAX_REFINEMENTS - 1
                continue
        closed = search is not None and search.closed  # a global certificate: nothing left to find
        if restarts and not closed:
            found, moved = refine(prob, best[1].x, restarts, seed=1)
            restarts = 0
            if moved:  # a search from the lower point prunes more
                points.append(("local search", found))
                refinements, search_due = MAX_REFINEMENTS - 1, search is not None
                continue
        if grid_due and not closed and lattice.applies(prob):
            grid_due = False
            grid = lattice.search(prob, _host(prob, best[1].x), grid_nodes)
            found = None if grid.x is None else refine(prob, grid.x, 0)[0]
            if found is not None and not seen.holds(prob, found):
                points.append(("lattice", found))
                refinements, search_due = MAX_REFINEMENTS - 1, search is not None
    _, res, label = best
    res.iterations = iterations
    res.info["starts"] = log
    res.info["skipped_starts"] = skipped
    res.info["best_start"] = label
    if grid is not None:
        res.info["lattice"] = {"nodes": grid.nodes, "complete": grid.complete}
    if search is not None:
        res.info["tree_search"] = {"nodes": search.nodes, "bound": search.bound, "closed": search.closed}
    return res


def settle(prob, x, tol: float, like):
    """A certified result at or near x without a run of the method, or None.

    Up to SETTLE_STEPS active-set Newton steps from x (:func:`cvxpar.solvers.polish.newton_polish`, with the
    rows' multipliers in the split where there are rows; it returns x itself when x certifies), kept when
    the point they end at certifies to ``tol`` with an objective no higher than F(x) (up to its rounding).
    ``like``: an earlier result of the solve, whose method, timing and info the result takes (its
    iterations are 0: no iteration of the method ran)."""
    import dataclasses

    from cvxpar import _backend
    from cvxpar.solvers._common import check, status_of
    from cvxpar.solvers.polish import OBJECTIVE_NOISE, newton_polish

    if not _backend.is_numpy_namespace(prob.xp):
        return None
    x = _backend.asarray_like(prob.xp, _host(prob, x), prob.zeros)
    F = float(prob.objective(x))
    t = 1.0 / max(float(prob.loss.lipschitz()), 1e-300)
    px, _, _ = newton_polish(prob, x, t, steps=SETTLE_STEPS, tol=tol, check=lambda v: check(prob, v))
    cert = check(prob, px, gap=True)
    if not (cert.certifies(tol) and cert.objective <= F + OBJECTIVE_NOISE * max(1.0, abs(F))):
        return None
    status, message = status_of(cert, tol, prob.convex)
    return dataclasses.replace(like, x=px, status=status, objective=cert.objective, iterations=0,
                               residual=cert.residual, gap=cert.gap, quantization_rate=cert.quantization_rate,
                               message=f"{message} (settled at the search's point by active-set Newton steps)",
                               info={**like.info, "settled": True})


class _Seen:
    """The starts run so far and the points their runs returned, as float64 host arrays."""

    def __init__(self) -> None:
        self.points: list[np.ndarray] = []

    def add(self, prob, *xs) -> None:
        self.points += [_host(prob, x) for x in xs]

    def holds(self, prob, x) -> bool:
        """Whether x is within DUPLICATE_RTOL max(1, ||x||_inf) of a stored point (max-norm)."""
        z = _host(prob, x)
        tol = DUPLICATE_RTOL * max(1.0, float(np.max(np.abs(z), initial=0.0)))
        return any(float(np.max(np.abs(z - p), initial=0.0)) <= tol for p in self.points)


def _host(prob, x) -> np.ndarray:
    """x (None: the zero start) as a float64 NumPy array."""
    from cvxpar import _backend

    return np.asarray(_backend.to_host(prob.zeros if x is None else x), dtype=np.float64).reshape(-1)


#: The labels of the starts the searches find (settled before the method runs from them).
SEARCHES = ("local search", "lattice", "tree search")
#: Active-set Newton steps of :func:`settle`.
SETTLE_STEPS = 4
#: Two starts closer than this (max-norm, relative to max(1, ||x||_inf)) are the same start.
DUPLICATE_RTOL = 1e-12
#: Perturbation restarts of the local search per start.
ROUNDS_PER_START = 10
#: At most this many local searches without restarts in a row (each followed by a run of the method from its point).
MAX_REFINEMENTS = 3
