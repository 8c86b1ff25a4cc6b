"""ADMM ("admm") for least squares with linear rows (Simplex, Linear) and any psi.

Consensus splitting (Boyd et al. 2011, sections 5 and 7.1) of
minimize 1/2 ||Ax - b||^2 + p(z) + indicator_C(w) + indicator(y <= h)
subject to  x = z, x = w, G x = y,
with p = sum_i lam_i psi + indicator(bounds) handled by its exact prox, C = {A_eq x = b_eq}
(projection through a cached factorization; C = R^d without equality rows), and the inequality rows {G x <= h} = {A_ub x <= b_ub} as the third block:

    x <- (A^T A + 2 rho I + rho G^T G)^-1 (A^T b + rho (z - u) + rho (w - v) + rho G^T (y - s))
         (cached factorization of the stacked matrix [A; sqrt(rho) G]; Woodbury when it is wide)
    z <- prox_{p / rho}(x + u),   w <- P_C(x + v),   y <- min(G x + s, h),
    u += x - z,   v += x - w,   s += G x - y.

The bounds (a Simplex's x >= 0 included) live in the prox block, the equality rows (a Simplex's
sum included) in the projection block.  Once the fixed/free split has settled, the shared
active-set polish (:mod:`cvxpar.solvers.polish`) solves the equality-constrained Newton system on
the free coordinates with the working rows, which lands exactly on the kinks and the rows.

rho adapts by residual balancing (x2 / /2 when the primal and dual residuals differ by 10x;
He, Yang and Wang 2000), with a refactorization.  The answer is z (exactly on the kinks, in the
box) or w (exactly on the rows), whichever the shared certificate rates better, or the polished
point; the certificate judges feasibility in x's units, so the status stays honest.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import _backend
from cvxpar.losses import LeastSquares
from cvxpar.solvers._common import Monitor, Outcome, check
from cvxpar.solvers.polish import PolishSchedule, newton_polish

RHO_BALANCE = 10.0
RHO_EVERY = 50
#: The final polish aims this much below tol: an ADMM point certified to tol satisfies the rows only
#: to about tol, and one exact Newton step on the settled split makes it exact.
FINAL_POLISH_FACTOR = 1e-3


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, check_every: int = 25,
        rho: float | None = None) -> Outcome:
    if not isinstance(prob.loss, LeastSquares) or prob.loss.op.kind != "dense":
        raise ValueError("method 'admm' needs a LeastSquares loss with a dense A.")
    xp = prob.xp
    A, b = prob.loss.op.A, prob.loss.target
    project = _projector(prob)
    has_eq = prob.feasible.A_eq is not None
    G, h = _inequalities(prob)
    Atb = A.T @ b
    rho = float(rho) if rho is not None else max(prob.loss.lipschitz() / 10.0, 1e-8)
    solve_x = _factor(xp, _stack(xp, A, G, rho), 2.0 * rho)
    x = prob.start()
    z, w = x, project(x)
    u = xp.zeros_like(x)
    v = xp.zeros_like(x)
    y = xp.minimum(G @ x, h) if G is not None else None
    s = xp.zeros_like(y) if G is not None else None
    best, best_cert = z, None
    schedule = PolishSchedule(prob, check_every)
    t_polish = 1.0 / max(prob.loss.lipschitz(), 1e-300)
    polishes = 0
    it = 0
    for it in range(1, max_iter + 1):
        rhs = Atb + rho * (z - u) + rho * (w - v)
        if G is not None:
            rhs = rhs + rho * (G.T @ (y - s))
        x = solve_x(rhs)
        z_old, w_old, y_old = z, w, y
        z = prob.prox(x + u, 1.0 / rho)
        w = project(x + v)
        u = u + x - z
        v = v + x - w
        if G is not None:
            Gx = G @ x
            y = xp.minimum(Gx + s, h)
            s = s + Gx - y
        if it % RHO_EVERY == 0:
            primal = [x - z, x - w] + ([Gx - y] if G is not None else [])
            dual = [z - z_old, w - w_old] + ([G.T @ (y - y_old)] if G is not None else [])
            r_norm = max(float(xp.max(xp.abs(e))) for e in primal)
            s_norm = rho * max(float(xp.max(xp.abs(e))) for e in dual)
            factor = 2.0 if r_norm > RHO_BALANCE * s_norm else (0.5 if s_norm > RHO_BALANCE * r_norm else 1.0)
            if factor != 1.0:
                rho *= factor
                u, v = u / factor, v / factor
                s = s / factor if G is not None else None
                solve_x = _factor(xp, _stack(xp, A, G, rho), 2.0 * rho)
        if it % check_every:
            continue
        best, best_cert = _best_candidate(prob, (z, w) if has_eq else (z,), best, best_cert)
        monitor.row(it, best_cert, f"rho {rho:.1e}")
        if best_cert.certifies(tol):
            break
        if not math.isfinite(float(xp.max(xp.abs(x)))):
            return Outcome(best, it, diverged=True, info={"rho": rho, "polishes": polishes})
        if polish and schedule.due(it, z):
            monitor.announce("polish: Newton steps on the active set with the working rows")
            px, pcert, _ = newton_polish(prob, z, t_polish, tol=tol, check=lambda v: check(prob, v))
            polishes += 1
            monitor.row(it, pcert, "polish")
            schedule.record(it, pcert.objective < best_cert.objective or pcert.certifies(tol))
            if pcert.certifies(tol):
                return Outcome(px, it, info={"rho": rho, "polishes": polishes})
    if best_cert is None:  # max_iter ended before the first check
        best, best_cert = _best_candidate(prob, (z, w) if has_eq else (z,), best, best_cert)
    if polish:  # a last exact attempt from the best point: lands on the kinks and rows to rounding
        px, pcert, _ = newton_polish(prob, best, t_polish, tol=FINAL_POLISH_FACTOR * tol,
                                     check=lambda v: check(prob, v))
        polishes += 1
        if pcert.relative_error < best_cert.relative_error:
            best = px
    return Outcome(best, it, info={"rho": rho, "polishes": polishes})


def _best_candidate(prob, candidates, best, best_cert):
    """The candidate (or the kept ``best``) with the smallest certificate relative error, and its certificate.
    Without equality rows only z is a candidate: w = x + v need not lie in the bounds."""
    for cand in candidates:
        cert = check(prob, cand)
        if best_cert is None or cert.relative_error < best_cert.relative_error:
            best, best_cert = cand, cert
    return best, best_cert


def _factor(xp, A, c: float):
    """x -> (A^T A + c I)^-1 x, factored once (Woodbury through the n x n system when d > n)."""
    n, d = A.shape
    if _backend.is_numpy_namespace(xp):
        import scipy.linalg as sla

        if d <= n:
            F = sla.cho_factor(A.T @ A + c * np.eye(d))
            return lambda r: sla.cho_solve(F, r, check_finite=False)  # a non-finite iterate is "diverged" below
        F = sla.cho_factor(A @ A.T + c * np.eye(n))
        return lambda r: (r - A.T @ sla.cho_solve(F, A @ r, check_finite=False)) / c
    eye = xp.eye(d if d <= n else n, dtype=A.dtype, device=_backend.device(A))
    if d <= n:
        inv = xp.linalg.inv(A.T @ A + c * eye)
        return lambda r: inv @ r
    inv = xp.linalg.inv(A @ A.T + c * eye)
    return lambda r: (r - A.T @ (inv @ (A @ r))) / c


def _stack(xp, A, G, rho: float):
    """[A; sqrt(rho) G], so that its Gram matrix is A^T A + rho G^T G (just A without rows G)."""
    if G is None:
        return A
    return xp.concat([A, math.sqrt(rho) * G], axis=0)


def _inequalities(prob):
    """The rows (G, h) of {A_ub x <= b_ub} in the data's namespace, or (None, None)."""
    S = prob.feasible
    if S.A_ub is None:
        return None, None
    return _backend.asarray_like(prob.xp, S.A_ub, prob.zeros), _backend.asarray_like(prob.xp, S.b_ub, prob.zeros)


def _projector(prob):
    """P_C for the equality rows: the exact projection onto {A_eq x = b_eq} (cached pseudo-inverse of
    A_eq A_eq^T), or the identity.  The bounds (a Simplex's x >= 0 included) are in the prox block."""
    S = prob.feasible
    if S.A_eq is None:
        return lambda y: y
    xp = prob.xp
    G = _backend.asarray_like(xp, S.A_eq, prob.zeros)
    h = _backend.asarray_like(xp, S.b_eq, prob.zeros)
    M = _backend.asarray_like(xp, np.linalg.pinv(S.A_eq @ S.A_eq.T), prob.zeros)
    return lambda y: y - G.T @ (M @ (G @ y - h))
