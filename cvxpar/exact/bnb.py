"""Branch and bound on convex envelopes: the global minimum of least squares plus a nonconvex psi on a box.

    minimize  F(x) = 1/2 ||A x - b||^2 + sum_i lam_i psi(x_i)   subject to  lower <= x <= upper

(finite bounds containing a minimizer, :mod:`cvxpar.exact.bounds`).  This is the spatial branch and bound
of Falk and Soland (1969, Management Science 15(9)) for separable nonconvex programs:

- a node is a box [L, U]; its relaxation replaces psi on each [L_i, U_i] by its convex envelope and is
  solved by coordinate descent; Fenchel weak duality gives a proven lower bound on min F over the box
  (:mod:`cvxpar.exact.relaxation`), and the relaxation's minimizer, evaluated with psi, a feasible point
  (an upper bound);
- the node's coordinate with the largest relaxation error lam_i (psi(x_i) - env_i(x_i)) is split at the
  concave kink of psi in (L_i, U_i) nearest to x_i.  On an interval without a concave kink inside, psi is
  convex and equals its envelope, so the search is finite: a leaf's relaxation is exact;
- nodes are explored best bound first, and dropped once their bound is within the tolerance of the best
  point found (the incumbent, started from the caller's candidates).  A dropped node may still hold a point
  up to the tolerance below the incumbent, so the proven bound is the smallest bound of the open, dropped
  and unsplittable nodes (and the incumbent's value), never the incumbent's value alone.

The search stops when the smallest open bound is within ``gap_tol`` max(|F(incumbent)|, unit) of the
incumbent (the gap is closed: the incumbent is a global minimizer to that tolerance), or at the time or
node limit, checked after the root node (the bound is then the smallest open one).  The envelope
relaxation of a node equals the linear relaxation of the disaggregated (convex hull) mixed-integer model of :mod:`cvxpar.exact.mip` with the
binaries of the node's excluded chunks fixed to zero (Balas 1979, "Disjunctive programming"), so both
searches prune with bounds of the same strength; this one solves each node's relaxation exactly instead of
through the outer approximation of the quadratic a linear-programming branch and bound uses.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from cvxpar.exact.relaxation import Relaxation, envelope_values
from cvxpar.par import PAR, SLOPE_RTOL

#: Share of the gap tolerance one node's relaxation may leave open.
NODE_SHARE = 0.1
#: With verbose=True, a progress row every this many nodes.
VERBOSE_EVERY = 1000
#: A coordinate whose relaxation error is below this share of the tolerance is not branched on.
ERROR_SHARE = 1e-3


class Limit(str, Enum):
    """The limit that stopped a search before its gap was closed."""

    TIME = "time limit"
    NODES = "node limit"


@dataclass
class SearchResult:
    """x: the best point found; objective: F(x); bound: proven lower bound on min F over the box;
    closed: whether objective - bound <= gap_tol max(|objective|, unit); nodes: relaxations solved;
    limit: the :class:`Limit` that stopped the search, None when it ran to its end; message: a sentence
    for people."""

    x: np.ndarray
    objective: float
    bound: float
    closed: bool
    nodes: int
    message: str
    limit: Limit | None = None


def concave_kinks(psi: PAR) -> np.ndarray:
    """The breakpoints of psi where its slope decreases (where it fails to be convex)."""
    s = psi.slopes
    scale = 1.0 + float(np.max(np.abs(s[np.isfinite(s)]), initial=0.0))
    drop = np.diff(s) < -SLOPE_RTOL * scale
    return psi.breakpoints[drop]


def search(
    A: np.ndarray,
    b: np.ndarray,
    psi: PAR,
    lam: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    candidates=(),
    *,
    unit: float = 1.0,
    gap_tol: float = 1e-6,
    deadline: float | None = None,
    max_nodes: int | None = None,
    verbose: bool = False,
    improve: Callable[[np.ndarray], np.ndarray] | None = None,
    admissible: Callable[[np.ndarray], bool] | None = None,
) -> SearchResult:
    """Best-first branch and bound (module docstring); ``candidates``: points in the box to start from;
    ``improve``: a map from a node's relaxation minimizer to a nearby point (a primal heuristic, e.g. a local
    descent), whose result, projected on the box, is offered as the incumbent too; ``admissible``: when
    given, only points it accepts become the incumbent (a search on a relaxation of a smaller feasible set,
    whose bounds stay valid for it, e.g. with the set's constraints in a penalty)."""
    relax = Relaxation(A, b, psi, lam)
    kinks = concave_kinks(psi)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    best_x, best = np.clip(lower, 0.0, None) + np.clip(upper, None, 0.0), math.inf  # 0 projected on the box

    def offer(p: np.ndarray) -> None:
        """Keep a copy of p as the incumbent when its objective beats it."""
        nonlocal best_x, best
        if admissible is not None and not admissible(p):
            return
        value = relax.objective(p)
        if value < best:
            best_x, best = p.copy(), value

    for p in (best_x, *candidates):
        offer(np.clip(np.asarray(p, dtype=np.float64), lower, upper))

    def tolerance() -> float:
        return gap_tol * max(abs(best), unit)

    if verbose:
        print(f"envelope branch and bound: d = {lower.size}, {kinks.size} concave kinks of psi\n"
              f"{'nodes':>9}  {'open':>8}  {'incumbent':>17}  {'bound':>17}  {'time':>9}")
    counter = itertools.count()
    knots, values, counts = relax.envelopes(lower, upper)
    x0 = np.clip(best_x, lower, upper)
    heap = [(-math.inf, next(counter), lower, upper, knots, values, counts, x0)]
    unresolved = math.inf  # bounds of nodes that can neither be split nor closed
    pruned = math.inf  # bounds of nodes dropped within the tolerance of the incumbent: the minimum may lie there
    nodes = 0
    start = time.perf_counter()
    stopped: Limit | None = None
    while heap:
        parent_bound = heap[0][0]
        if parent_bound >= best - tolerance():
            pruned = min(pruned, parent_bound)
            heap = []
            break
        if nodes and deadline is not None and time.perf_counter() >= deadline:  # the root always: a finite bound
            stopped = Limit.TIME
            break
        if max_nodes is not None and nodes >= max_nodes:
            stopped = Limit.NODES
            break
        parent_bound, _, lo, hi, knots, values, counts, x = heapq.heappop(heap)
        nodes += 1
        bound, _ = relax.solve(x, knots, values, counts, NODE_SHARE * tolerance(), best - tolerance())
        bound = max(bound, parent_bound)
        offer(x)
        if improve is not None:
            offer(np.clip(improve(x), lower, upper))
        if bound >= best - tolerance():
            pruned = min(pruned, bound)
            continue
        i, split = _branching(relax, x, lo, hi, knots, values, counts, kinks, ERROR_SHARE * tolerance())
        if i is None:  # x has no relaxation error: finish the relaxation (it may have stopped early)
            bound = max(bound, relax.solve(x, knots, values, counts, NODE_SHARE * tolerance())[0])
            offer(x)
            if bound >= best - tolerance():
                pruned = min(pruned, bound)
                continue
            i, split = _branching(relax, x, lo, hi, knots, values, counts, kinks, ERROR_SHARE * tolerance())
        if i is None:
            unresolved = min(unresolved, bound)
            continue
        for child_lo, child_hi in ((lo[i], split), (split, hi[i])):
            new_lo, new_hi = lo.copy(), hi.copy()
            new_lo[i], new_hi[i] = child_lo, child_hi
            k, v, c = knots.copy(), values.copy(), counts.copy()
            relax.set_envelope(k, v, c, i, child_lo, child_hi)
            xc = x.copy()
            xc[i] = min(max(xc[i], child_lo), child_hi)
            heapq.heappush(heap, (bound, next(counter), new_lo, new_hi, k, v, c, xc))
        if verbose and nodes % VERBOSE_EVERY == 0:
            _row(nodes, len(heap), best, heap[0][0], start)
    open_bound = heap[0][0] if heap else math.inf
    proven = min(open_bound, unresolved, pruned, best)
    if verbose:
        _row(nodes, len(heap), best, proven, start)
    closed = best - proven <= tolerance()
    if stopped is not None:
        message = f"stopped at the {stopped.value} after {nodes} nodes"
    elif closed:
        message = f"gap closed after {nodes} nodes"
    else:
        message = f"{nodes} nodes; some leaves' relaxations did not reach the tolerance"
    return SearchResult(best_x, best, proven, closed, nodes, message, stopped)


def _row(nodes: int, open_nodes: int, best: float, bound: float, start: float) -> None:
    print(f"{nodes:9d}  {open_nodes:8d}  {best:17.10g}  {bound:17.10g}  {time.perf_counter() - start:8.2f}s")


def _branching(relax, x, lo, hi, knots, values, counts, kinks, min_error):
    """(coordinate, split point) with the largest relaxation error, or (None, None) when none can be split."""
    psi_x = relax.psi_values(x)
    env_x = envelope_values(knots, values, counts, x)
    error = np.where(relax.lam > 0, relax.lam * (psi_x - env_x), 0.0)
    for i in np.argsort(-error):
        if error[i] <= min_error:
            return None, None
        inside = kinks[(kinks > lo[i]) & (kinks < hi[i])]
        if inside.size:
            return int(i), float(inside[np.argmin(np.abs(inside - x[i]))])
    return None, None
