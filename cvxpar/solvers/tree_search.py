"""A budgeted branch and bound as an improvement step for a nonconvex psi (least squares, small d).

The local search of :mod:`cvxpar.solvers.local_search` moves one coordinate (or one kicked coordinate and
whatever follows it) at a time; a global minimizer whose support or piece assignment differs from the
local search's point in many coordinates at once is out of its reach.  The convex-envelope branch and
bound of :mod:`cvxpar.exact.bnb` (Falk and Soland 1969) looks at the problem from the other side: each node
is a sub-box with psi replaced by its convex envelope there, and the best-bound nodes' relaxation
minimizers sit near the regions that can still hold a better point.  Run with a node budget as a primal
heuristic, every node's relaxation minimizer is taken down to a coordinate-wise minimum by the exact
coordinate sweeps of the local search (a "dive then polish" primal heuristic of mixed-integer branch and
bound, e.g. Berthold 2006, "Primal heuristics for mixed integer programs", ch. 3) and offered as the
incumbent.  The search is the exact one, so when it closes its gap within the budget the incumbent is a
global minimizer (to the gap tolerance) and the proven bound is reported; otherwise it is only a better
start for the method, which certifies stationarity as usual.

Applies to least squares (f = 1/2 ||Ax - b||^2, dense or scipy.sparse A on NumPy) with bounds only (a Box,
NonNeg or none) and at most MAX_D coordinates; without a Box the search box comes from the level set of
the current point (:func:`cvxpar.exact.bounds.mip_bounds`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

#: The search runs up to this many coordinates (a node costs O(d^2) per coordinate-descent sweep, and the
#: 1000 nodes of a search that does not close cost about 0.3 s of CPU at d = 30).
MAX_D = 30
#: Nodes per search, per start of :func:`cvxpar.solvers.starts.best_of_starts` (``n_starts`` buys more).
NODES_PER_START = 500
#: The search's gap tolerance, relative to max(|F|, the objective's unit of :mod:`cvxpar.exact.scaling`).
GAP_TOL = 1e-6
#: Coordinate sweeps polishing one node's relaxation minimizer.
SWEEPS = 10


@dataclass
class Improvement:
    """x: the best point found (F(x) <= F(x_start)); improved: F(x) < F(x_start) by more than the rounding
    margin; bound: the search's proven lower bound on min F (-inf when it did not run); closed: whether the
    gap between F(x) and the bound is closed (x is then a global minimizer to the search's tolerance);
    nodes: relaxations solved."""

    x: np.ndarray
    improved: bool
    bound: float
    closed: bool
    nodes: int


_ENABLED = contextvars.ContextVar("cvxpar_tree_search", default=True)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Within the block, :func:`applies` is False: for a caller that runs the exact search itself on the
    solve's answer (:func:`cvxpar.reference`), where a budgeted search first would only spend its time."""
    token = _ENABLED.set(False)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def applies(prob) -> bool:
    """Whether :func:`improve` can search this problem (module docstring)."""
    from cvxpar import _backend
    from cvxpar.losses import LeastSquares

    return (_ENABLED.get() and isinstance(prob.loss, LeastSquares) and not prob.feasible.has_rows and prob.d <= MAX_D
            and not prob.psi.is_convex and _backend.is_numpy_namespace(prob.xp)
            and prob.loss.op.kind in ("dense", "sparse"))


def improve(prob, x, max_nodes: int = 2 * NODES_PER_START) -> Improvement:
    """Branch and bound from x with a node budget, each node's relaxation minimizer polished by coordinate
    sweeps (module docstring).  Returns x unchanged (``bound`` -inf) when the search does not apply or no
    finite search box can be derived."""
    from cvxpar.exact import bnb, bounds, scaling
    from cvxpar.solvers.local_search import REL_DECREASE, LocalModel

    x = np.array(x, dtype=np.float64, copy=True)
    unchanged = Improvement(x, False, -np.inf, False, 0)
    model = LocalModel.of(prob) if applies(prob) else None
    if model is None:
        return unchanged
    loss, psi = prob.loss, prob.psi
    lam = np.broadcast_to(np.asarray(prob.lam, dtype=np.float64), (prob.d,))
    scale = scaling.choose(loss, psi, lam)
    try:
        lower, upper = bounds.mip_bounds(loss, psi, lam, prob.feasible, None, [x], sigma=scale.sigma)
    except ValueError:  # no finite box contains the level set
        return unchanged
    A, b = _reduced(loss.op.A, np.asarray(loss.target, dtype=np.float64))
    found = bnb.search(A, b, psi, lam, lower, upper, [x], unit=scale.s, gap_tol=GAP_TOL, max_nodes=max_nodes,
                       improve=lambda p: model.descend(p, kicks=False, sweeps=SWEEPS))
    F, F_found = model.objective(x), model.objective(found.x)
    better = F_found < F - REL_DECREASE * (1.0 + abs(F))
    bound = min(found.bound + (F_found - found.objective), F_found)  # + the constant the reduction dropped
    closed = found.closed and F_found - bound <= GAP_TOL * max(abs(F_found), scale.s)
    return Improvement(found.x if better else x, bool(better), bound, closed, found.nodes)


def _reduced(A, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, Q^T b) with A = Q R (thin QR) when A has more rows than columns, else (A, b) as dense arrays:
    1/2 ||A x - b||^2 = 1/2 ||R x - Q^T b||^2 + 1/2 ||b - Q Q^T b||^2, so the search's nodes cost O(d^2)
    whatever the number of rows (Golub and Van Loan 2013, sec. 5.3)."""
    A = np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=np.float64)
    if A.shape[0] <= A.shape[1]:
        return A, b
    Q, R = np.linalg.qr(A)
    return R, Q.T @ b
