"""Semismooth Newton augmented Lagrangian ("ssnal") for least squares: fast to high accuracy
when the free block of A is nearly square, where first-order methods stall.

Li, Sun and Toh (2018), "A highly efficient semismooth Newton augmented Lagrangian method for
solving Lasso problems" (SIAM J. Optim. 28(1)), with the l1 norm replaced by
p(x) = sum_i lam_i psi(x_i) + indicator(box) (convex psi).  It is the proximal point method

    x+ = argmin_x 1/2 ||Ax - b||^2 + p(x) + ||x - x_k||^2 / (2 sigma),

each step solved through its dual in u in R^n (n = rows of A): minimize

    phi(u) = 1/2 ||u||^2 + b^T u + ||w||^2 / (2 sigma) - p(z) - ||z - w||^2 / (2 sigma),
    w = x_k - sigma A^T u,  z = prox_{sigma p}(w),  grad phi(u) = u + b - A z,

by semismooth Newton: (shift I + sigma A_J A_J^T) du = -grad phi(u), J the coordinates where the
prox has slope 1 (not on a plateau or a bound) and shift >= 1 a Levenberg-Marquardt damping
(``_damping``; shift = 1 is the plain generalized Newton matrix), solved in the cheaper of the
n x n form and the |J| x |J| Woodbury form; Armijo backtracking on phi, which costs no product
with A: phi is evaluated from A^T u, and A^T (u + alpha du) = A^T u + alpha A^T du (one A^T du per
Newton step; A z at the accepted point is A z + c A_J A_J^T du from the kept Gram plus the few
columns that crossed a kink: FreeGram.newton_product).  For a
dense NumPy A the n x n A_J A_J^T is kept up to date between Newton steps by the columns that
enter or leave J (cvxpar.solvers._gram.FreeGram: in-place BLAS syrk) and factored in place by LAPACK.

Then x_{k+1} = z and sigma grows: the proximal point method's linear rate tends to 0 as sigma
grows (Li, Sun and Toh 2018, section 3), but a larger sigma makes the inner problem harder for a
multi-level psi (its prox has slope-1 windows one piece wide between plateaus ~ sigma wide, so
Newton steps cross many windows).  So sigma grows x SIGMA_GROWTH after an inner solve of at most
HARD_NEWTON Newton steps and only x SLOW_GROWTH after a harder one, up to SIGMA_MAX / L, and past the cap (up to SIGMA_MAX_EASY / L)
only while an inner solve takes at most EASY_NEWTON Newton steps (the split has settled; the
larger sigma then moves the last coordinates that drift along the null space of the free block to
their kinks faster).  An inner solve that stalls short of its target with a point worse than x_k
is rejected (x_k kept, sigma reduced), so an inexact step never undoes progress.

Every outer step is checked by the shared certificate and followed, when the split looks final, by
the active-set polish, so "optimal" means certified.  For a wide A the polish waits until the
split has at most n free coordinates, as a generic solution does (Ma & Xiao 2025 Thm 1; a larger
free block makes its exact step singular), and the stationarity residual is within POLISH_GATE x
tol: earlier, its nearly square free block is still wrong by a few coordinates and a failed
attempt costs about as much as three outer steps (benchmarks/RESULTS.md, tuning notes).
"""

from __future__ import annotations

import math

from cvxpar.solvers._common import Monitor, Outcome, check
from cvxpar.solvers._gram import FreeGram
from cvxpar.solvers.polish import _better, _eye, _nonzero, _solve, newton_polish

#: sigma grows x SIGMA_GROWTH after an inner solve of at most HARD_NEWTON Newton steps, else x SLOW_GROWTH.
SIGMA_GROWTH = 10.0
SLOW_GROWTH = 2.0
HARD_NEWTON = 10
SIGMA_MAX = 1e7
SIGMA0 = 10.0
#: Past SIGMA_MAX / L, sigma keeps growing (up to SIGMA_MAX_EASY / L) while an inner solve takes at most
#: EASY_NEWTON Newton steps: the split has settled and a larger sigma only speeds up the outer rate.
SIGMA_MAX_EASY = 1e12
EASY_NEWTON = 2
INNER_MAX = 50
ARMIJO = 1e-4
#: Levenberg-Marquardt shift (see ``_damping``): x alpha^-DAMP_POWER after a step alpha < DAMP_BAD_STEP,
#: / DAMP_DOWN after a full step.
DAMP_DOWN = 10.0
DAMP_BAD_STEP = 0.1
DAMP_POWER = 0.5
#: Wide A: polish only once the stationarity residual is within POLISH_GATE x tol (x the certificate's scale).
POLISH_GATE = 1e3


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, sigma0: float | None = None,
        polish_steps: int = 4) -> Outcome:
    """Outer proximal-point steps (``max_iter`` bounds them; each runs up to INNER_MAX Newton steps)."""
    xp = prob.xp
    loss = prob.loss
    op, b = loss.op, loss.target
    gram = FreeGram(op.A) if FreeGram.applies(op) else _Gram(op)
    fast = isinstance(gram, FreeGram)
    wide = op.shape[1] > op.shape[0]  # the n x n A A^T is then the small Gram (and ssnal needs it anyway)
    L = max(gram.norm2_squared() if fast and wide else loss.lipschitz(), 1e-300)
    sigma = (SIGMA0 / L) if sigma0 is None else float(sigma0)
    x = prob.start()
    u = op.mv(x) - b
    newton = 0
    it = 0
    last_fixed = None
    restart = None
    shift = 1.0  # Levenberg-Marquardt damping of the Newton matrix's identity part (see DAMP_*)
    prev_cert = None
    for it in range(1, max_iter + 1):
        newton_before = newton
        atu = op.rmv(u)
        val, z = _phi(prob, x, u, atu, sigma)
        if restart is not None:  # after an accepted polish: the better of the old u and A x - b
            atr = op.rmv(restart)
            val_r, z_r = _phi(prob, x, restart, atr, sigma)
            if val_r < val:
                u, atu, val, z = restart, atr, val_r, z_r
            restart = None
        u_start = u
        az = op.mv(z)
        grad = u + b - az  # grad phi(u) = u + b - A z
        g0 = float(xp.max(xp.abs(grad)))
        converged = False
        fixed = prob.fixed(z)  # carried from step to step with z (and, for FreeGram, the piece index)
        piece = prob.piece_index(z) if fast else None
        for _ in range(INNER_MAX):
            gnorm = float(xp.max(xp.abs(grad)))
            if gnorm <= max(0.1 * g0 / it, 1e-3 * tol) or gnorm == 0.0:
                converged = True
                break
            du = _newton_direction(prob, z, grad, sigma, gram, shift, fixed)
            if du is None:
                break
            newton += 1
            slope = float(xp.sum(grad * du))
            if slope >= 0:
                du, slope = -grad, -float(xp.sum(grad * grad))
            atdu = op.rmv(du)  # A^T (u + alpha du) = A^T u + alpha A^T du: the line search needs no product
            alpha = 1.0
            while True:
                u_t, atu_t = u + alpha * du, atu + alpha * atdu
                val_t, z_t = _phi(prob, x, u_t, atu_t, sigma)
                if val_t <= val + ARMIJO * alpha * slope + 1e-14 * abs(val) or alpha < 1e-10:
                    break
                alpha *= 0.5
            if alpha < 1e-10:  # no decrease along the Newton direction: leave the inner loop
                break
            shift = _damping(shift, alpha)
            fixed_t = prob.fixed(z_t)
            if fast:
                piece_t = prob.piece_index(z_t)
                stay = ~fixed & ~fixed_t & (piece == piece_t)
                az = gram.newton_product(az, z, z_t, ~fixed, stay, du, atdu, -sigma * alpha)
                piece = piece_t
            else:
                az = op.mv(z_t)
            u, atu, val, z, fixed = u_t, atu_t, val_t, z_t, fixed_t
            grad = u + b - az
        cert = check(prob, z)
        if not converged and prev_cert is not None and not _better(cert, prev_cert):
            # the inner solve stalled short of its target and its point is worse: keep x, retry with a smaller sigma
            monitor.row(it, prev_cert, f"sigma {sigma:.1e}: inner solve stalled, step rejected")
            sigma = max(sigma / SIGMA_GROWTH, SIGMA0 / L)
            u, shift = u_start, 1.0
            continue
        x = z
        monitor.row(it, cert, f"sigma {sigma:.1e}, {newton - newton_before} Newton")
        if cert.certifies(tol):
            break
        prev_cert = cert
        settled = last_fixed is not None and int(xp.sum(xp.astype(fixed != last_fixed, xp.int32))) <= max(
            1, prob.d // 1000
        )
        last_fixed = fixed
        n_free = prob.d - int(xp.sum(xp.astype(fixed, xp.int32)))
        ready = prob.d <= op.shape[0] or (n_free <= op.shape[0] and cert.certifies(POLISH_GATE * tol))
        if polish and settled and ready:
            px, pcert, _ = newton_polish(prob, x, 1.0 / L, steps=polish_steps, tol=tol, check=lambda v: check(prob, v))
            monitor.row(it, pcert, "polish")
            if pcert.certifies(tol):
                x = px
                break
            if _better(pcert, cert):
                x, prev_cert = px, pcert
                restart = op.mv(x) - b
        if not math.isfinite(cert.objective):
            return Outcome(x, it, diverged=True, info={"newton_steps": newton, "sigma": sigma})
        inner_steps = newton - newton_before
        cap = SIGMA_MAX if inner_steps > EASY_NEWTON else SIGMA_MAX_EASY
        growth = SIGMA_GROWTH if inner_steps <= HARD_NEWTON else SLOW_GROWTH
        sigma = max(sigma, min(cap / L, sigma * growth))
    return Outcome(x, it, info={"newton_steps": newton, "sigma": sigma})


def _damping(shift: float, alpha: float) -> float:
    """The next Levenberg-Marquardt shift from the accepted step length alpha.

    The Newton matrix I + sigma A_J A_J^T has curvature 1 along the null space of A_J^T (|J| < n,
    or coordinates about to enter a window), where phi's true curvature jumps to ~sigma ||a_i||^2
    as soon as a fixed coordinate crosses into a window; the full step then overshoots along those
    directions and Armijo cuts the *whole* step (alpha ~ 1e-5 at 1000 x 10000).  Raising the shift
    shortens mostly those directions (curvature shift instead of 1) and leaves the well-modelled
    range of A_J (curvature ~ sigma ||A_J||^2) nearly untouched: a short step (alpha < DAMP_BAD_STEP)
    multiplies it by alpha^-DAMP_POWER, a full step divides it by DAMP_DOWN, down to the plain
    Newton matrix (shift 1).  Any shift gives a descent direction, so the line search still
    guarantees descent (Levenberg-Marquardt regularized semismooth Newton: Xiao, Li, Wen and Zhang 2018).
    """
    if alpha == 1.0:
        return max(1.0, shift / DAMP_DOWN)
    if alpha < DAMP_BAD_STEP:
        return shift * alpha ** -DAMP_POWER
    return shift


def _phi(prob, x, u, atu, sigma):
    """phi(u) (up to a constant) and z = prox_{sigma p}(w), from u and atu = A^T u (no product with A).

    With w = x - sigma A^T u:  (||w||^2 - ||z - w||^2) / (2 sigma) = ||x||^2 / (2 sigma) - (A^T u)^T z
    - ||z - x||^2 / (2 sigma), so phi(u) = 1/2 ||u||^2 + b^T u - (A^T u)^T z - ||z - x||^2 / (2 sigma) - p(z)
    + const, written without the cancellation of the two squared norms.
    """
    xp = prob.xp
    b = prob.loss.target
    z = prob.prox(x - sigma * atu, sigma)
    dz = z - x
    val = float(xp.sum(u * (0.5 * u + b))) - float(xp.sum(atu * z)) - float(xp.sum(dz * dz)) / (2.0 * sigma)
    return val - prob.penalty(z), z


class _Gram:
    """A A^T (n x n) of a dense A, formed on first use and kept for the run."""

    def __init__(self, op) -> None:
        self.op, self.G = op, None

    def __call__(self):
        if self.G is None:
            self.G = self.op.A @ self.op.A.T
        return self.G


def _newton_direction(prob, z, grad, sigma, gram, shift: float = 1.0, fixed=None):
    """Solve (shift I + sigma A_J A_J^T) du = -grad, J = free coordinates of z (shift = 1: Newton).

    For a dense NumPy A through :class:`FreeGram` (the cheaper of the n x n form, A_J A_J^T updated
    in place by the columns that entered or left J since the last step, and the Woodbury form;
    LAPACK Cholesky).  Otherwise with |J| >= n the n x n system formed directly, or, for a dense A
    with fewer fixed coordinates K than free ones, as A A^T - A_K A_K^T from the cached A A^T; with
    |J| < n the |J| x |J| Woodbury form du = -(grad - A_J (shift I / sigma + A_J^T A_J)^-1 A_J^T grad) / shift.
    """
    xp = prob.xp
    fixed = prob.fixed(z) if fixed is None else fixed
    J = _nonzero(xp, ~fixed)
    if int(J.shape[0]) == 0:
        return -grad / shift
    op = prob.loss.op
    n, k = op.shape[0], int(J.shape[0])
    fast = isinstance(gram, FreeGram)
    if fast:
        du = gram.solve(~fixed, sigma, shift, -grad)
        if du is None:  # not numerically PD: the least-squares fallback
            G = gram(~fixed)
            du = _solve(xp, sigma * G + shift * _eye(xp, G), -grad)
        return du
    if k >= n:
        if op.kind == "dense" and 2 * k > op.shape[1]:
            AK = op.columns(_nonzero(xp, fixed))
            M = sigma * (gram() - AK @ AK.T)
        else:
            AJ = op.columns(J)
            M = sigma * (AJ @ AJ.T)
        return _solve(xp, M + shift * _eye(xp, M), -grad)
    AJ = op.columns(J)
    small = AJ.T @ AJ
    inner = _solve(xp, small + (shift / sigma) * _eye(xp, small), AJ.T @ grad)
    return None if inner is None else -(grad - AJ @ inner) / shift
