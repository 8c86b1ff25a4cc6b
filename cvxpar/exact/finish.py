"""From a solver's point to a reference answer: polish it onto the kinks, certify it, and say what it is.

Interior-point and branch-and-bound points stop short of the kinks of psi where the exact solution
sits (by ~1e-6 on degenerate problems), so the stationarity residual reads the slope of one side
only.  The polish puts them there with the solvers' active-set Newton polish
(:func:`cvxpar.solvers.polish.newton_polish`: the split into coordinates on a kink / on a piece read
off one prox-gradient step, then an exact solve on the free block, under the working linear rows,
kept only where the objective does not increase).  With linear rows (Simplex, Linear) it is also
started from x projected onto the rows it nearly meets (slack below ROW_TOLS), since an interior
point stops short of the rows it ends on, and the better certified point is kept.

A reference says ``"optimal"`` only when :func:`cvxpar.certificate` holds at the polished point to
REF_TOL (relative to max(1, ||grad loss||_inf)) and, for the mixed-integer model, the gap is closed:
F(x) - bound <= MIP_GAP_TOL max(|F(x)|, s), with ``bound`` the solver's proven lower bound and s the
objective's unit in the rescaled model (:mod:`.scaling`: the change of F when a coordinate moves by
psi's breakpoint scale) capped at |F| at the clipped origin and at the known points (:func:`gap_unit`), which keeps
the test meaningful
when F(x) is near 0.  Anything the
certificate cannot confirm gets a non-optimal status and a message that says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxpar.certificate import certificate
from cvxpar.exact.bounds import objective
from cvxpar.par import PAR
from cvxpar.result import SolveResult
from cvxpar.solvers._problem import Problem
from cvxpar.solvers.polish import newton_polish

#: Certificate tolerance for "optimal" (residual <= REF_TOL * max(1, ||grad loss(x)||_inf)).
REF_TOL = 1e-6
#: Relative MIP gap for "optimal" (module docstring).
MIP_GAP_TOL = 1e-6
#: A point with linear rows is also polished from its projection onto the rows whose slack is below
#: each of these (relative to 1 + |h|): an interior point stops short of the rows it ends on.
ROW_TOLS = (1e-6, 1e-5, 1e-4)
#: A point so obtained may cost at most this much objective (relative to 1 + |F(x)|).
OBJECTIVE_RTOL = 1e-9
#: Newton polish steps from the solver's point, and the certificate tolerance at which it stops early
#: (also its feasibility tolerance when it compares points).
POLISH_STEPS = 8
POLISH_TOL = 1e-12


@dataclass(repr=False)
class ReferenceResult(SolveResult):
    """A :class:`cvxpar.SolveResult` with ``bound``: a proven lower bound on the optimal value.

    For the mixed-integer model it is the branch and bound's dual bound and ``gap`` the relative gap
    (F(x) - bound) / |F(x)|; for a convex psi ``gap`` is the certificate's duality gap (None
    where it has none) and ``bound = objective - gap`` when there is one.
    """

    bound: float | None = None

    def __repr__(self) -> str:
        bound = "None" if self.bound is None else f"{self.bound:.10g}"
        return f"{super().__repr__()[:-1]}, bound={bound}, message={self.message!r})"


def check(loss, psi: PAR, lam, constraints, x: np.ndarray):
    """The certificate at x (keywords: the argument order of cvxpar.certificate is not relied on)."""
    return certificate(loss=loss, psi=psi, lam=lam, x=x, constraints=constraints)


def polish(x: np.ndarray, loss, psi: PAR, lam, constraints, feasible):
    """``(x, certificate)``: x moved onto the kinks where that does not cost objective (module docstring)."""
    dom_lo, dom_hi = psi.domain
    lo, hi = np.maximum(feasible.lower, dom_lo), np.minimum(feasible.upper, dom_hi)
    x = np.clip(np.asarray(x, dtype=np.float64), lo, hi)
    prob = Problem(loss, psi, lam, constraints)
    L = float(loss.lipschitz())

    def newton(start):
        y, cert, _ = newton_polish(prob, start, 1.0 / L if L > 0 else 1.0, steps=POLISH_STEPS, tol=POLISH_TOL,
                                   check=lambda v: check(loss, psi, lam, constraints, v))
        return np.asarray(y, dtype=np.float64), cert

    best = newton(x)
    if not feasible.has_rows:
        return best
    for tol in ROW_TOLS:  # rows an interior point left slightly inactive, made tight, then polished
        if certified(best[1]):
            break
        start = np.clip(_onto_rows(x, feasible, tol), lo, hi)
        candidate = newton(start)
        new, old = candidate[1], best[1]
        if (new.objective <= old.objective + OBJECTIVE_RTOL * (1 + abs(old.objective))
                and new.infeasibility <= max(old.infeasibility, POLISH_TOL * new.x_scale)
                and new.residual < old.residual):
            best = candidate
    return best


def _onto_rows(x: np.ndarray, feasible, tol: float) -> np.ndarray:
    """x plus the least-norm change that makes every equality row and every inequality row with slack
    below tol (1 + |h|) hold with equality."""
    G, h, n_eq = feasible.stacked()
    tight = np.concatenate([np.ones(n_eq, bool), h[n_eq:] - G[n_eq:] @ x <= tol * (1 + np.abs(h[n_eq:]))])
    if not tight.any():
        return x
    change, *_ = np.linalg.lstsq(G[tight], h[tight] - G[tight] @ x, rcond=None)
    return x + change


def certified(cert, tol: float = REF_TOL) -> bool:
    """The certificate holds to tol, and its duality gap (where it has one) is within tol (1 + |F|)."""
    if not cert.certifies(tol):
        return False
    return cert.gap is None or cert.gap <= tol * max(1.0, abs(cert.objective))


def describe(cert) -> str:
    """One clause with the certificate's numbers."""
    gap = "" if cert.gap is None else f", duality gap {cert.gap:.2e}"
    return (f"stationarity residual {cert.residual:.2e} (scale {cert.scale:.2e}), infeasibility "
            f"{cert.infeasibility:.2e}{gap}")


def gap_unit(model_unit: float, loss, psi: PAR, lam, lower: np.ndarray, upper: np.ndarray, points=()) -> float:
    """The absolute unit of the gap test: the rescaled model's unit s, but at most |F| at the origin clipped into
    [lower, upper] and at each known point in the box (``points``, e.g. cvxpar.solve's answer): an upper bound on
    |F*| where F* >= 0 is usual, so the test's absolute part never exceeds MIP_GAP_TOL times F's best known value.

    s measures the objective's change when a coordinate moves by psi's breakpoint scale along the loss's *largest*
    curvature; on a nearly rank-deficient A (a huge row, nearly parallel columns) it can exceed every value F takes
    on the box by orders of magnitude, and MIP_GAP_TOL s would then call a gap of several percent of F closed.  So
    can |F(origin)| when the data are fit well: a least-squares target of norm 800 explained up to F* = 0.05 made
    MIP_GAP_TOL |F(origin)| = 0.29, and a point 37 % above F* passed as a global optimum.
    """
    values = [objective(loss, psi, lam, np.clip(np.zeros(lower.shape), lower, upper))]
    values += [objective(loss, psi, lam, p) for p in points if np.all(p >= lower) and np.all(p <= upper)]
    finite = [abs(v) for v in values if np.isfinite(v)]
    return min([model_unit, *finite])


def gap_closed(objective: float, bound: float | None, unit: float) -> bool:
    """F(x) - bound <= MIP_GAP_TOL max(|F(x)|, unit) (module docstring)."""
    return bound is not None and objective - bound <= MIP_GAP_TOL * max(abs(objective), unit)


def mip_gap(objective: float, bound: float | None) -> float | None:
    """(F(x) - bound) / |F(x)| (the usual relative MIP gap), or None without a bound."""
    if bound is None or not np.isfinite(bound):
        return None
    diff = max(objective - bound, 0.0)
    return diff / abs(objective) if objective != 0 else (0.0 if diff == 0 else np.inf)
