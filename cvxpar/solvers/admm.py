"""ADMM ("admm") for least squares with Simplex or Linear equality constraints (and any psi).

Consensus splitting (Boyd et al. 2011, section 7.1) of
minimize 1/2 ||Ax - b||^2 + p(z) + indicator_C(w)  subject to  x = z, x = w,
with p = sum_i lam_i psi + indicator(box) handled by its exact prox and C the Simplex (exact
sort-based projection) or {A_eq x = b_eq} (projection through a cached factorization):

    x <- (A^T A + 2 rho I)^-1 (A^T b + rho (z - u) + rho (w - v))      cached factorization; the
                                                                      Woodbury form when d > n
    z <- prox_{p / rho}(x + u),   w <- P_C(x + v),   u += x - z,   v += x - w.

rho adapts by residual balancing (x2 / /2 when the primal and dual residuals differ by 10x;
He, Yang and Wang 2000), with a refactorization.  The answer is z (exactly on the kinks, in the
box) or w (exactly in C), whichever the shared certificate rates better; the certificate folds
the remaining infeasibility into the residual, so the status stays honest.  Inequality rows
(A_ub) are not supported here.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import _backend
from cvxpar.losses import LeastSquares
from cvxpar.solvers._common import Monitor, Outcome, check

RHO_BALANCE = 10.0
RHO_EVERY = 50


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, check_every: int = 25,
        rho: float | None = None) -> Outcome:
    if not isinstance(prob.loss, LeastSquares) or prob.loss.op.kind != "dense":
        raise ValueError("method 'admm' needs a LeastSquares loss with a dense A.")
    if prob.linear is not None and prob.linear.A_ub is not None:
        raise ValueError(
            "method 'admm' handles Linear equality constraints only (A_eq, b_eq); A_ub is not supported yet. "
            "Solve problems with inequality rows exactly with cvxpar.reference(...) or, in CVXPY, "
            "problem.solve(solver='CLARABEL')."
        )
    xp = prob.xp
    A, b = prob.loss.op.A, prob.loss.target
    project = _projector(prob)
    Atb = A.T @ b
    rho = float(rho) if rho is not None else max(prob.loss.lipschitz() / 10.0, 1e-8)
    solve_x = _factor(xp, A, 2.0 * rho)
    x = prob.start()
    z, w = x, project(x)
    u = xp.zeros_like(x)
    v = xp.zeros_like(x)
    best, best_cert = z, None
    it = 0
    for it in range(1, max_iter + 1):
        x = solve_x(Atb + rho * (z - u) + rho * (w - v))
        z_old, w_old = z, w
        z = prob.prox(x + u, 1.0 / rho)
        w = project(x + v)
        u = u + x - z
        v = v + x - w
        if it % RHO_EVERY == 0:
            r = max(float(xp.max(xp.abs(x - z))), float(xp.max(xp.abs(x - w))))
            s = rho * max(float(xp.max(xp.abs(z - z_old))), float(xp.max(xp.abs(w - w_old))))
            factor = 2.0 if r > RHO_BALANCE * s else (0.5 if s > RHO_BALANCE * r else 1.0)
            if factor != 1.0:
                rho *= factor
                u, v = u / factor, v / factor
                solve_x = _factor(xp, A, 2.0 * rho)
        if it % check_every:
            continue
        for cand in (z, w):
            cert = check(prob, cand)
            if best_cert is None or cert.residual < best_cert.residual:
                best, best_cert = cand, cert
        monitor.row(it, best_cert, f"rho {rho:.1e}")
        if best_cert.certifies(tol):
            break
        if not math.isfinite(float(xp.max(xp.abs(x)))):
            return Outcome(best, it, diverged=True, info={"rho": rho})
    return Outcome(best, it, info={"rho": rho})


def _factor(xp, A, c: float):
    """x -> (A^T A + c I)^-1 x, factored once (Woodbury through the n x n system when d > n)."""
    n, d = A.shape
    if _backend.is_numpy_namespace(xp):
        import scipy.linalg as sla

        if d <= n:
            F = sla.cho_factor(A.T @ A + c * np.eye(d))
            return lambda r: sla.cho_solve(F, r)
        F = sla.cho_factor(A @ A.T + c * np.eye(n))
        return lambda r: (r - A.T @ sla.cho_solve(F, A @ r)) / c
    eye = xp.eye(d if d <= n else n, dtype=A.dtype, device=_backend.device(A))
    if d <= n:
        inv = xp.linalg.inv(A.T @ A + c * eye)
        return lambda r: inv @ r
    inv = xp.linalg.inv(A @ A.T + c * eye)
    return lambda r: (r - A.T @ (inv @ (A @ r))) / c


def _projector(prob):
    """P_C for the Simplex (exact) or the affine set {A_eq x = b_eq} (cached pseudo-inverse)."""
    if prob.linear is not None:
        xp = prob.xp
        G = _backend.asarray_like(xp, prob.linear.A_eq, prob.zeros)
        h = _backend.asarray_like(xp, prob.linear.b_eq, prob.zeros)
        M = _backend.asarray_like(xp, np.linalg.pinv(prob.linear.A_eq @ prob.linear.A_eq.T), prob.zeros)
        if prob.simplex is not None:
            raise ValueError("method 'admm' takes a Simplex or a Linear constraint, not both.")
        return lambda y: y - G.T @ (M @ (G @ y - h))
    return prob.simplex.project
