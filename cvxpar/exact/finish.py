"""From a solver's point to a reference answer: polish it onto the kinks, certify it, and say what it is.

Interior-point and branch-and-bound points stop short of the kinks of psi where the exact solution
sits (by ~1e-6 on degenerate problems), so the stationarity residual reads the slope of one side
only.  The polish puts them there:

- without linear rows, the solvers' active-set Newton polish (:func:`cvxpar.solvers.polish.newton_polish`:
  the split into coordinates on a kink / on a piece read off one prox-gradient step, then an exact
  solve on the free block, kept only where the objective does not increase);
- with linear rows (Simplex, Linear), entries within tol (1 + |p|) of a breakpoint or a bound p are
  put on it (tol in SNAP_TOLS), the rows held with equality are made exact again by the
  least-norm change of the entries left free, and Newton steps on the equality-constrained free
  block follow; a point is kept only if its objective is within OBJECTIVE_RTOL of x's and it
  violates no constraint more than x does.

A reference says ``"optimal"`` only when :func:`cvxpar.certificate` holds at the polished point to
REF_TOL (relative to max(1, ||grad loss||_inf)) and, for the mixed-integer model, the gap is closed:
F(x) - bound <= MIP_GAP_TOL max(|F(x)|, s), with ``bound`` the solver's proven lower bound and s the
objective's unit in the rescaled model (:mod:`.scaling`: the change of F when a coordinate moves by
psi's breakpoint scale), which keeps the test meaningful when F(x) is near 0.  Anything the certificate cannot confirm gets a non-optimal
status and a message that says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxpar.certificate import certificate
from cvxpar.metrics import snap
from cvxpar.par import PAR
from cvxpar.result import SolveResult
from cvxpar.solvers._problem import Problem
from cvxpar.solvers.polish import newton_polish

#: Certificate tolerance for "optimal" (residual <= REF_TOL * max(1, ||grad loss(x)||_inf)).
REF_TOL = 1e-6
#: Relative MIP gap for "optimal" (module docstring).
MIP_GAP_TOL = 1e-6
#: Snapping tolerances tried with linear rows (relative to 1 + |p|; inequality rows with that slack are held).
SNAP_TOLS = (1e-8, 1e-7, 1e-6, 1e-5)
#: A snapped point may cost at most this much objective (relative to 1 + |F(x)|).
OBJECTIVE_RTOL = 1e-9
#: Newton polish steps from the solver's point.
POLISH_STEPS = 8
#: Newton steps on the free block with rows, and the largest free block tried (a dense KKT solve).
NEWTON_STEPS = 3
MAX_FREE = 2000


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
    if not feasible.has_rows:
        prob = Problem(loss, psi, lam, constraints)
        L = float(loss.lipschitz())
        t = 1.0 / L if L > 0 else 1.0
        best, cert, _ = newton_polish(prob, x, t, steps=POLISH_STEPS, tol=0.0,
                                      check=lambda v: check(loss, psi, lam, constraints, v))
        return np.asarray(best, dtype=np.float64), cert
    return _snap_with_rows(x, loss, psi, lam, constraints, feasible, lo, hi)


def _snap_with_rows(x, loss, psi, lam, constraints, feasible, lo, hi):
    x = np.clip(_restore_rows(x, np.zeros(x.shape, dtype=bool), *_tight_rows(x, feasible, 0.0)), lo, hi)
    best = (x, check(loss, psi, lam, constraints, x))
    nearest = snap(x, psi)
    for bound in (lo, hi):  # bounds are kinks too
        nearest = np.where(np.abs(x - bound) < np.abs(x - nearest), bound, nearest)
    f_x, v_x = best[1].objective, feasible.violation(x)
    for tol in SNAP_TOLS:
        close = np.abs(x - nearest) <= tol * (1 + np.abs(nearest))
        rows = _tight_rows(x, feasible, tol)
        y = np.clip(_restore_rows(np.where(close, nearest, x), close, *rows), lo, hi)
        for z in (y, _newton_with_rows(y, close, loss, psi, lam, rows)):
            if z is None or (z < lo).any() or (z > hi).any():
                continue
            cert = check(loss, psi, lam, constraints, z)
            if cert.objective > f_x + OBJECTIVE_RTOL * (1 + abs(f_x)) or feasible.violation(z) > max(v_x, 1e-12):
                continue
            if cert.residual <= best[1].residual:
                best = (z, cert)
    return best


def _newton_with_rows(y, fixed, loss, psi: PAR, lam, rows, steps: int = NEWTON_STEPS):
    """Newton steps on the free entries with the fixed ones on their kinks and the tight rows exact.

    With the free entries inside pieces of slopes s_F the problem on them is smooth and
    equality-constrained:  minimize f(y) + lam_F s_F^T y_F  s.t.  M_F y_F = rhs - M_K y_K,
    whose Newton step solves the KKT system [[H_FF, M_F^T], [M_F, 0]] [d; nu] = [-(g_F + lam_F s_F); r]
    (Nocedal & Wright 2006, eq. 16.4); one step is exact for least squares.  None when the loss
    has no Hessian block, the free set is too large, or a step leaves its pieces.
    """
    free = np.flatnonzero(~fixed)
    if free.size == 0 or free.size > MAX_FREE:
        return None
    s_lo, s_hi = psi.subdifferential(y[free])
    if not np.array_equal(s_lo, s_hi):
        return None
    pieces = np.searchsorted(psi.breakpoints, y[free])
    M, rhs = rows
    lam_f = lam if np.ndim(lam) == 0 else lam[free]
    for _ in range(steps):
        H = loss.hessian_block(y, free)
        if H is None:
            return None
        H = np.asarray(H, dtype=np.float64)
        g = np.asarray(loss.grad(y), dtype=np.float64)[free] + lam_f * s_lo
        k = M.shape[0]
        kkt = np.block([[H, M[:, free].T], [M[:, free], np.zeros((k, k))]])
        step = np.linalg.lstsq(kkt, np.concatenate([-g, rhs - M @ y]), rcond=None)[0][: free.size]
        y = y.copy()
        y[free] += step
        if not np.array_equal(np.searchsorted(psi.breakpoints, y[free]), pieces):
            return None
    return y


def _tight_rows(x: np.ndarray, feasible, tol: float):
    """(M, rhs): every equality row and the inequality rows with slack within tol (1 + |h|)."""
    G, h, n_eq = feasible.stacked()
    near = np.concatenate([np.ones(n_eq, bool), h[n_eq:] - G[n_eq:] @ x <= tol * (1 + np.abs(h[n_eq:]))])
    return G[near], h[near]


def _restore_rows(y: np.ndarray, fixed: np.ndarray, M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """y plus the least-norm change of its free entries that makes M y = rhs (when that exists)."""
    free = ~fixed
    if not free.any() or M.shape[0] == 0:
        return y
    change, *_ = np.linalg.lstsq(M[:, free], rhs - M @ y, rcond=None)
    out = y.copy()
    out[free] += change
    return out


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


def gap_closed(objective: float, bound: float | None, unit: float) -> bool:
    """F(x) - bound <= MIP_GAP_TOL max(|F(x)|, unit) (module docstring)."""
    return bound is not None and objective - bound <= MIP_GAP_TOL * max(abs(objective), unit)


def mip_gap(objective: float, bound: float | None) -> float | None:
    """(F(x) - bound) / |F(x)| (the usual relative MIP gap), or None without a bound."""
    if bound is None or not np.isfinite(bound):
        return None
    diff = max(objective - bound, 0.0)
    return diff / abs(objective) if objective != 0 else (0.0 if diff == 0 else np.inf)
