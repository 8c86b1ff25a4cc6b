"""Semismooth Newton augmented Lagrangian ("ssnal") for least squares: fast to high accuracy
when the free block of A is nearly square, where first-order methods stall.

Li, Sun and Toh (2018), "A highly efficient semismooth Newton augmented Lagrangian method for
solving Lasso problems" (SIAM J. Optim. 28(1)), with the l1 norm replaced by
p(x) = sum_i lam_i psi(x_i) + indicator(box) (convex psi).  It is the proximal point method

    x+ = argmin_x 1/2 ||Ax - b||^2 + p(x) + ||x - x_k||^2 / (2 sigma),

each step solved through its dual in u in R^n (n = rows of A): minimize

    phi(u) = 1/2 ||u||^2 + b^T u + ||w||^2 / (2 sigma) - p(z) - ||z - w||^2 / (2 sigma),
    w = x_k - sigma A^T u,  z = prox_{sigma p}(w),  grad phi(u) = u + b - A z,

by semismooth Newton: (I + sigma A_J A_J^T) du = -grad phi(u), J the coordinates where the prox
has slope 1 (not on a plateau or a bound), solved in the smaller of the n x n form and the
|J| x |J| Woodbury form; Armijo backtracking on phi.  Then x_{k+1} = z and sigma grows.  Every
outer step is checked by the shared certificate and followed, when the split looks final, by
the active-set polish, so "optimal" means certified.
"""

from __future__ import annotations

import math

from cvxpar.solvers._common import Monitor, Outcome, check
from cvxpar.solvers.polish import _eye, _nonzero, _solve, newton_polish

SIGMA_GROWTH = 5.0
SIGMA_MAX = 1e5
INNER_MAX = 50
ARMIJO = 1e-4


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, sigma0: float | None = None,
        polish_steps: int = 4) -> Outcome:
    """Outer proximal-point steps (``max_iter`` bounds them; each runs up to INNER_MAX Newton steps)."""
    xp = prob.xp
    loss = prob.loss
    op, b = loss.op, loss.target
    L = max(loss.lipschitz(), 1e-300)
    sigma = (10.0 / L) if sigma0 is None else float(sigma0)
    x = prob.start()
    u = op.mv(x) - b
    newton = 0
    it = 0
    last_fixed = None
    for it in range(1, max_iter + 1):
        val, grad, z = _phi(prob, x, u, sigma)
        g0 = float(xp.max(xp.abs(grad)))
        for _ in range(INNER_MAX):
            gnorm = float(xp.max(xp.abs(grad)))
            if gnorm <= max(0.1 * g0 / it, 1e-3 * tol) or gnorm == 0.0:
                break
            du = _newton_direction(prob, z, grad, sigma)
            if du is None:
                break
            newton += 1
            slope = float(xp.sum(grad * du))
            if slope >= 0:
                du, slope = -grad, -float(xp.sum(grad * grad))
            alpha = 1.0
            while True:
                u_t = u + alpha * du
                val_t, grad_t, z_t = _phi(prob, x, u_t, sigma)
                if val_t <= val + ARMIJO * alpha * slope + 1e-14 * abs(val) or alpha < 1e-10:
                    break
                alpha *= 0.5
            if alpha < 1e-10:  # no decrease along the Newton direction: leave the inner loop
                break
            u, val, grad, z = u_t, val_t, grad_t, z_t
        x = z
        cert = check(prob, x)
        monitor.row(it, cert, f"sigma {sigma:.1e}")
        if cert.certifies(tol):
            break
        fixed = prob.fixed(x)
        settled = last_fixed is not None and int(xp.sum(xp.astype(fixed != last_fixed, xp.int32))) <= max(
            1, prob.d // 1000
        )
        last_fixed = fixed
        if polish and settled:
            px, pcert, _ = newton_polish(prob, x, 1.0 / L, steps=polish_steps, tol=tol, check=lambda v: check(prob, v))
            monitor.row(it, pcert, "polish")
            if pcert.certifies(tol):
                x = px
                break
            if pcert.objective < cert.objective:
                x = px
                u = op.mv(x) - b
        if not math.isfinite(cert.objective):
            return Outcome(x, it, diverged=True, info={"newton_steps": newton, "sigma": sigma})
        sigma = min(SIGMA_MAX / L, sigma * SIGMA_GROWTH)
    return Outcome(x, it, info={"newton_steps": newton, "sigma": sigma})


def _phi(prob, x, u, sigma):
    """phi(u) (up to a constant), its gradient and z = prox_{sigma p}(w)."""
    xp = prob.xp
    op, b = prob.loss.op, prob.loss.target
    w = x - sigma * op.rmv(u)
    z = prob.prox(w, sigma)
    Az = op.mv(z)
    dz = z - x
    # (||w||^2 - ||z - w||^2) / (2 sigma) - ||x||^2 / (2 sigma), rewritten without the cancellation
    val = float(xp.sum(u * (0.5 * u + b - Az))) - float(xp.sum(dz * dz)) / (2.0 * sigma) - prob.penalty(z)
    return val, u + b - Az, z


def _newton_direction(prob, z, grad, sigma):
    """Solve (I + sigma A_J A_J^T) du = -grad, J = free coordinates of z."""
    xp = prob.xp
    J = _nonzero(xp, ~prob.fixed(z))
    if int(J.shape[0]) == 0:
        return -grad
    AJ = prob.loss.op.columns(J)
    n, k = AJ.shape
    if k >= n:
        M = sigma * (AJ @ AJ.T)
        return _solve(xp, M + _eye(xp, M), -grad)
    small = AJ.T @ AJ
    inner = _solve(xp, small + _eye(xp, small) / sigma, AJ.T @ (-grad))
    return None if inner is None else -grad - AJ @ inner
