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

Linear rows (a Simplex, a budget, Linear equalities R_E x = h_E and inequalities R_I x <= h_I) enter the
search through a quadratic penalty: with a slack s >= 0 per inequality (R_I x + s = h_I) and rho > 0,

    minimize  1/2 ||A x - b||^2 + rho/2 ||R_E x - h_E||^2 + rho/2 ||R_I x + s - h_I||^2 + sum_i lam_i psi(x_i)

over the box is again a least-squares problem with a separable psi (psi weighted by 0 on the slacks), and
it equals F on every feasible (x, s), so its minimum over a box is a lower bound on min F over that box
with the rows: the search's bounds stay valid for the problem with the rows (a penalty relaxation; e.g.
Nocedal and Wright 2006, sec. 17.1).  Only points on the rows (to ROW_RTOL) become the incumbent, and the
node heuristic is the row-aware descent of :mod:`cvxpar.solvers.local_search` (its exact penalty brings a
relaxation minimizer back onto the rows).

Applies to least squares (f = 1/2 ||Ax - b||^2, dense or scipy.sparse A on NumPy) with at most MAX_D
coordinates, with or without rows; without a Box the search box comes from the level set of the current
point and, with rows, from the rows themselves (:func:`cvxpar.exact.bounds.mip_bounds`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxpar.solvers._switch import Switch

#: The search runs up to this many coordinates (a node costs O(d^2) per coordinate-descent sweep, and the
#: 1000 nodes of a search that does not close cost about 0.3 s of CPU at d = 30).
MAX_D = 30
#: Nodes per search, per start of :func:`cvxpar.solvers.starts.best_of_starts` (``n_starts`` buys more).
NODES_PER_START = 500
#: The search's gap tolerance, relative to max(|F|, the objective's unit of :mod:`cvxpar.exact.scaling`).
GAP_TOL = 1e-6
#: Coordinate sweeps polishing one node's relaxation minimizer.
SWEEPS = 10
#: The rows' penalty weight rho, relative to ||A||_F^2 / ||R||_F^2 (module docstring).
ROW_WEIGHT = 100.0
#: A point is on the rows when it violates them by at most this times max(1, ||x||_inf).
ROW_RTOL = 1e-9


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


_SWITCH = Switch("cvxpar_tree_search")
#: Off within ``with suspended():``: for a caller that runs the exact search itself on the solve's answer
#: (:func:`cvxpar.reference`), where a budgeted search first would only spend its time.
suspended = _SWITCH.suspended


def applies(prob) -> bool:
    """Whether :func:`improve` can search this problem (module docstring)."""
    return _SWITCH.on and small_nonconvex_least_squares(prob, MAX_D)


def small_nonconvex_least_squares(prob, max_d: int) -> bool:
    """Least squares on NumPy (dense or scipy.sparse A), a nonconvex psi, at most ``max_d`` coordinates: the
    problems the global searches take (this one and :mod:`cvxpar.solvers.lattice`)."""
    from cvxpar import _backend
    from cvxpar.losses import LeastSquares

    return (isinstance(prob.loss, LeastSquares) and prob.d <= max_d and not prob.psi.is_convex
            and _backend.is_numpy_namespace(prob.xp) and prob.loss.op.kind in ("dense", "sparse"))


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
    A = loss.op.A
    A = np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=np.float64)
    b = np.asarray(loss.target, dtype=np.float64)
    model.weigh_rows(x)
    rows = _PenaltyForm(prob, A, lower, upper) if prob.feasible.has_rows else None
    if rows is None:
        lift, admissible = (lambda z: z), None
    else:
        A, b, lam, lower, upper = rows.extend(A, b, lam, lower, upper)
        lift, admissible = rows.lift, rows.admissible
    A, b = _reduced(A, b)
    found = bnb.search(A, b, psi, lam, lower, upper, [lift(x)], unit=scale.s, gap_tol=GAP_TOL, max_nodes=max_nodes,
                       improve=lambda p: lift(model.descend(p[: prob.d], kicks=False, sweeps=SWEEPS)),
                       admissible=admissible)
    if not np.isfinite(found.objective):  # no point on the rows was offered (x itself is off them)
        return unchanged
    found_x = found.x[: prob.d]
    F, F_found = model.objective(x), model.objective(found_x)
    better = F_found < F - REL_DECREASE * (1.0 + abs(F))
    bound = min(found.bound + (F_found - found.objective), F_found)  # + the constant the reduction dropped
    closed = found.closed and F_found - bound <= GAP_TOL * max(abs(F_found), scale.s)
    return Improvement(found_x if better else x, bool(better), bound, closed, found.nodes)


class _PenaltyForm:
    """The search's data with the rows in a quadratic penalty (module docstring).

    Each inequality row r gets a slack s_r = c_r (t_r - a) >= 0 through a variable t_r in [a, a + S_r / c_r]
    inside psi's domain (psi is weighted by 0 there, but the search evaluates it), S_r = h_r - min over the
    box of R_r x, so that R_r x + s_r = h_r holds on the whole box side of the row."""

    def __init__(self, prob, A: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self.prob = prob
        self.R, self.h, self.neq = prob.feasible.stacked()
        R_ub = self.R[self.neq:]
        self.reach = np.maximum(self.h[self.neq:] - np.minimum(R_ub * lower, R_ub * upper).sum(axis=1), 0.0)
        dlo, dhi = prob.psi.domain
        self.a = dlo if np.isfinite(dlo) else (min(0.0, dhi - 1.0) if np.isfinite(dhi) else 0.0)
        span = dhi - self.a if np.isfinite(dhi) else 1.0
        self.c = np.maximum(self.reach / span, 1e-300)
        self.weight = np.sqrt(ROW_WEIGHT * np.sum(A * A) / max(float(np.sum(self.R * self.R)), 1e-300))

    def extend(self, A, b, lam, lower, upper):
        """(A, b, lam, lower, upper) of the penalized problem in (x, t)."""
        k, d = self.R.shape
        m = k - self.neq
        C = np.zeros((k, m))
        C[self.neq + np.arange(m), np.arange(m)] = self.c
        w = self.weight
        top = np.hstack([A, np.zeros((A.shape[0], m))])
        A_ext = np.vstack([top, w * np.hstack([self.R, C])])
        shift = np.concatenate([np.zeros(self.neq), self.c * self.a])
        b_ext = np.concatenate([b, w * (self.h + shift)])
        t_hi = self.a + self.reach / self.c
        return (A_ext, b_ext, np.concatenate([lam, np.zeros(m)]), np.concatenate([lower, np.full(m, self.a)]),
                np.concatenate([upper, t_hi]))

    def lift(self, x: np.ndarray) -> np.ndarray:
        """(x, t) with the slacks that x leaves on its inequality rows (clipped to their range)."""
        slack = np.clip(self.h[self.neq:] - self.R[self.neq:] @ x, 0.0, self.reach)
        return np.concatenate([x, self.a + slack / self.c])

    def admissible(self, p: np.ndarray) -> bool:
        """Whether the x part of p is on the rows (to ROW_RTOL) and its slacks are exact."""
        x = p[: self.prob.d]
        scale = ROW_RTOL * max(1.0, float(np.max(np.abs(x), initial=0.0)))
        return bool(self.prob.feasible.violation(x) <= scale and np.allclose(p, self.lift(x), rtol=0.0, atol=scale))


def _reduced(A, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, Q^T b) with A = Q R (thin QR) when A has more rows than columns, else (A, b) as dense arrays:
    1/2 ||A x - b||^2 = 1/2 ||R x - Q^T b||^2 + 1/2 ||b - Q Q^T b||^2, so the search's nodes cost O(d^2)
    whatever the number of rows (Golub and Van Loan 2013, sec. 5.3)."""
    A = np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=np.float64)
    if A.shape[0] <= A.shape[1]:
        return A, b
    Q, R = np.linalg.qr(A)
    return R, Q.T @ b
