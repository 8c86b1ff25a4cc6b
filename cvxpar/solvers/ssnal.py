"""Semismooth Newton augmented Lagrangian ("ssnal") for f(x) = sum h(Ax) and a convex psi: fast to
high accuracy when the free block of A is nearly square, where first-order methods stall.

Least squares has the closed-form path described below (``_run_least_squares``), and so do Huber losses and sums
of least squares and Huber, as least squares in (x, v) with an l1 term M |v| on the samples (``_run_huber``);
every other linear-model loss takes the same proximal-point scheme with the loss replaced, at each outer step,
by its second-order model with the generalized Hessian A^T diag(h''(Ax)) A (``_run_newton``), blended
toward the loss's quadratic majorizer after steps the line search had to shorten (``_curvature``), and,
where A's column norms span more than two decades, with the proximal term in the column-norm metric
(:mod:`cvxpar.solvers._metric`) instead of one scalar sigma for every coordinate.

Li, Sun and Toh (2018), "A highly efficient semismooth Newton augmented Lagrangian method for
solving Lasso problems" (SIAM J. Optim. 28(1)), with the l1 norm replaced by
p(x) = sum_i lam_i psi(x_i) + indicator(box) (convex psi).  It is the proximal point method

    x+ = argmin_x 1/2 ||Ax - b||^2 + p(x) + ||x - x_k||^2 / (2 sigma),

each step solved through its dual in u in R^n (n = rows of A): minimize

    phi(u) = 1/2 ||u||^2 + b^T u + ||w||^2 / (2 sigma) - p(z) - ||z - w||^2 / (2 sigma),
    w = x_k - sigma A^T u,  z = prox_{sigma p}(w),  grad phi(u) = u + b - A z,

by semismooth Newton: (shift I + sigma A_J A_J^T) du = -grad phi(u), J the coordinates where the
prox has slope 1 (not on a plateau or a bound) and shift = 1 (the plain generalized Newton matrix;
the other losses' path raises it as a Levenberg-Marquardt damping, ``_damping``), solved in the cheaper of the
n x n form and the |J| x |J| Woodbury form; then the step length along du that minimizes phi on
[0, 1] (``_ray_search``; for the other losses ``_model_ray_search`` on their quadratic model: phi is
piecewise quadratic, its derivative along du piecewise linear), which costs no product with A: phi is evaluated
from A^T u, and A^T (u + alpha du) = A^T u + alpha A^T du (one A^T du per Newton step; A z at the accepted point is A z + c A_J A_J^T du from the kept Gram plus the few
columns that crossed a kink: FreeGram.newton_product).  Where the Newton systems come from:

- a dense NumPy A: the n x n A_J A_J^T kept up to date between Newton steps by the columns that
  enter or leave J (cvxpar.solvers._gram.FreeGram: in-place BLAS syrk), factored in place by LAPACK;
- a scipy.sparse A: sparse products of the free block, never densifying A
  (cvxpar.solvers._sparse_gram.SparseGram), or, for an A with 15 % or more nonzeros whose dense copy
  fits a memory budget, the dense path on that copy (``_sparse_gram.newton_systems``);
- any other Array-API array (torch, array_api_strict, CuPy: cuBLAS/cuSOLVER through the namespace's
  linalg): the same systems with the namespace's matmul and solve, on the data's device;
- tall least squares (n >= TALL_RATIO d): the exactly equivalent d x d problem of the normal
  equations (cvxpar.solvers._tall), after which no step touches the n rows.

Then x_{k+1} = z and sigma grows: the proximal point method's linear rate tends to 0 as sigma
grows (Li, Sun and Toh 2018, section 3), but a larger sigma makes the inner problem harder for a
multi-level psi (its prox has slope-1 windows one piece wide between plateaus ~ sigma wide, so
Newton steps cross many windows).  So sigma grows x SIGMA_GROWTH after an inner solve of at most
HARD_NEWTON Newton steps and only x SLOW_GROWTH after a harder one; for least squares x SIGMA_GROWTH
only where the next inner solve's first point keeps FREE_KEEP of the free set free in the same windows, else at
most x LS_GROWTH (the test costs one prox; for a dense A with at least GROWTH_TEST_ROWS rows, else x LS_GROWTH
after an outer step that moved more coordinates across a kink than A has rows): with the dual u carried over, that first prox moves each coordinate
in a window by (sigma_new / sigma_old) x its last step, so a x SIGMA_GROWTH jump while the split still moves
pushes thousands of coordinates onto plateaus or across kinks, the free set collapses (by ~40 % at
4000 x 40000) and the Newton steps that follow are short (alpha ~ 0.01) while it grows back, a few columns a
step; up to SIGMA_MAX / L, and past
the cap (up to SIGMA_MAX_EASY / L) only while an inner solve takes at most EASY_NEWTON Newton steps (the split has settled; the
larger sigma then moves the last coordinates that drift along the null space of the free block to
their kinks faster).  An inner solve that stalls short of its target with a point worse than x_k
is rejected (x_k kept, sigma reduced), so an inexact step never undoes progress.

Every outer step is checked by the shared certificate and followed, when the shared polish schedule
(:class:`cvxpar.solvers.polish.PolishSchedule`) says the split has settled, by the active-set polish,
so "optimal" means certified; a point whose residual passes tol while the exact gradient's does not
(:meth:`cvxpar.certificate.Certificate.limited_by_rounding`) stops the run, and so do FLOOR_CHECKS outer steps
in a row at the data's precision floor (:class:`cvxpar.solvers._common.PrecisionFloor`: the residual within the
float64 gradient's estimated rounding error, above tol, with no progress), which return the best of them.  For a wide A the schedule also waits until the split has at most n
free coordinates, as a generic solution does (Ma & Xiao 2025 Thm 1; a larger free block makes the
exact step singular), and backs off after a polish that brought no progress.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from functools import partial

import numpy as np

from cvxpar import _backend
from cvxpar.solvers._common import Monitor, Outcome, PrecisionFloor, check
from cvxpar.solvers._gram import FreeGram
from cvxpar.solvers._metric import ColumnMetric
from cvxpar.solvers._ray_prox import CompiledRay
from cvxpar.solvers._sparse_gram import SparseGram, newton_systems
from cvxpar.solvers._tall import square_least_squares
from cvxpar.solvers.polish import OBJECTIVE_NOISE, PolishSchedule, _better, _eye, _nonzero, _solve, newton_polish

#: sigma grows x SIGMA_GROWTH after an inner solve of at most HARD_NEWTON Newton steps, else x SLOW_GROWTH.
SIGMA_GROWTH = 10.0
#: Least squares: sigma grows x SIGMA_GROWTH only where the first prox of the next inner solve keeps at least
#: FREE_KEEP of the free set free in the same windows, else at most x LS_GROWTH (``_growth``; the module docstring).
LS_GROWTH = 3.0
FREE_KEEP = 0.9
#: ``_growth`` decides for a dense A (the kept Gram: a collapse of the free set costs n^2 a column in its updates)
#: with at least GROWTH_TEST_ROWS rows; otherwise sigma grows x LS_GROWTH after an outer step that moved more
#: coordinates across a kink of psi than A has rows, else x SIGMA_GROWTH (with few rows an outer step's fixed
#: costs outweigh the collapse's: 5-15 % slower with the test on 100 x 1000 sweep rows, sparse 1000 x 5000 at 5 % 38 %).
GROWTH_TEST_ROWS = 128
#: Least squares with n >= TALL_RATIO d rows runs on its d x d normal equations (``_run_square``).
TALL_RATIO = 2
SLOW_GROWTH = 2.0
HARD_NEWTON = 10
#: Least squares: sigma grows past SIGMA_MAX_EASY / L (after an easy inner solve) when the exact step lowered F by
#: more than DRIFT x the step before (``_drifting``).
DRIFT = 0.5
SIGMA_MAX = 1e7
SIGMA0 = 10.0
#: Past SIGMA_MAX / L, sigma keeps growing (up to SIGMA_MAX_EASY / L) while an inner solve takes at most
#: EASY_NEWTON Newton steps: the split has settled and a larger sigma only speeds up the outer rate.
SIGMA_MAX_EASY = 1e12
EASY_NEWTON = 2
INNER_MAX = 50
#: Problems with at most DIRECT_MAX_D coordinates (and no rows) first try DIRECT_STEPS active-set Newton
#: steps straight from the start point (``_direct``): at that size one Newton system costs less than
#: the proximal-point method's set-up and certificate checks.
DIRECT_MAX_D = 200
DIRECT_STEPS = 8
ARMIJO = 1e-4
#: The line search gives up below this step (no decrease along the Newton direction).
MIN_ALPHA = 1e-10
#: Levenberg-Marquardt shift (see ``_damping``): x alpha^-DAMP_POWER after a step alpha < DAMP_BAD_STEP,
#: / DAMP_DOWN after a full step.
DAMP_DOWN = 10.0
DAMP_BAD_STEP = 0.1
DAMP_POWER = 0.5
#: Proximal Newton path: the weight mu of the loss's quadratic majorizer in the model (``_curvature``) grows
#: x MAJORANT_UP (from at least MAJORANT_FLOOR, up to 1) after a shortened step, shrinks / MAJORANT_DOWN after a full one.
MAJORANT_UP = 100.0
MAJORANT_FLOOR = 1e-3
MAJORANT_DOWN = 3.0
#: Proximal Newton path: stop after STALL_STEPS outer steps without progress (``_progress``); least squares: after
#: STALL_STEPS rejected steps in a row: the data's precision (the spacing of float64 x times ||a_i||^2, or float32
#: arithmetic) then bounds the residual.
STALL_STEPS = 5
#: Proximal Newton path: the inner solve's target is FORCING x the last stationarity residual (scaled, see _inner_newton).
FORCING = 0.1
#: Least squares: the step along a Newton direction minimizes phi on [0, 1] to |phi'| <= RAY_RTOL |phi'(0)|,
#: in at most RAY_STEPS evaluations of phi' (``_ray_search``).
RAY_RTOL = 0.1
RAY_STEPS = 8
#: phi'(alpha) as computed is trusted to RAY_ROUNDING x the sum of its terms' magnitudes (``_ray_search``).
RAY_ROUNDING = 64 * 2.0**-52
#: Least squares on a scipy.sparse A: the Newton systems are solved inexactly, to a residual of at most
#: SPARSE_NEWTON_RTOL ||grad phi|| (conjugate gradients, or a Woodbury correction checked to it; a factorization
#: solves them exactly), as in the inexact semismooth Newton method of Li, Sun and Toh (2018, Algorithm SSN,
#: step 1: ||V d + grad|| <= min(eta, ||grad||^(1 + tau)), here relative to ||grad||).  Every CG iterate from 0
#: is a descent direction of phi and the ray search steps along it, so loose solves add a few Newton steps
#: while CG needs several times fewer iterations per system.
SPARSE_NEWTON_RTOL = 0.3


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, sigma0: float | None = None,
        polish_steps: int = 4) -> Outcome:
    """Outer proximal-point steps (``max_iter`` bounds them; each runs up to INNER_MAX Newton steps).

    Least squares takes the closed-form path (the dual of the proximal-point step is exact there),
    for a tall dense A (n >= TALL_RATIO d) on its d x d normal equations (``_run_square``); every other
    :class:`~cvxpar.losses.LinearModelLoss` the proximal Newton path.
    """
    from cvxpar.losses import LeastSquares

    kw = {"tol": tol, "max_iter": max_iter, "polish": polish, "monitor": monitor, "sigma0": sigma0,
          "polish_steps": polish_steps}
    if polish and sigma0 is None:
        direct = _direct(prob, tol, monitor)
        if direct is not None:
            return direct
    if not isinstance(prob.loss, LeastSquares):
        return _run_newton(prob, **kw)
    n, d = prob.loss.op.shape
    if n >= TALL_RATIO * d and prob.loss.op.kind == "dense":
        return _run_square(prob, **kw)
    return _run_least_squares(prob, **kw)


def _direct(prob, tol: float, monitor: Monitor) -> Outcome | None:
    """Small problems: the active-set Newton polish (:func:`~cvxpar.solvers.polish.newton_polish`) run
    straight from the start point, kept only when its point certifies to tol (else None: the method runs).

    Each step guesses the split from one proximal-gradient step u = prox_{p/L}(x - grad f(x) / L), fixes
    the coordinates on breakpoints and bounds and solves the free block's Newton system exactly (the
    exact step on the identified active set, as in the polish of Li, Sun and Toh 2018), with
    Levenberg-Marquardt damping while the split is wrong.  For d <= DIRECT_MAX_D without rows a few such
    steps usually certify, at the cost of a few d x d solves.
    """
    if prob.d > DIRECT_MAX_D or prob.feasible.has_rows:
        return None
    L = prob.loss.lipschitz()
    if not (math.isfinite(L) and L > 0):
        return None
    x, cert, steps = newton_polish(prob, prob.start(), 1.0 / L, steps=DIRECT_STEPS, tol=tol,
                                   check=lambda v: check(prob, v))
    if not cert.certifies(tol):
        return None
    monitor.row(steps, cert, "direct Newton")
    return Outcome(x, steps, info={"route": "direct active-set Newton", "newton_steps": steps}, cert=cert)


def _run_square(prob, *, tol: float, max_iter: int, monitor: Monitor, **kw) -> Outcome:
    """Tall least squares: the same method on the exactly equivalent d x d problem 1/2 ||R x - t||^2
    (:mod:`cvxpar.solvers._tall`: one pass over A for A^T A, after which no step touches the n rows).

    The square problem's objective is the data's minus a constant kappa; the rows shown add it back.  Its
    answer is then certified on the data, and where forming A^T A cost too much accuracy (it squares
    cond(A)) the data's own path continues from it.
    """
    square, kappa = square_least_squares(prob.loss.op.A, prob.loss.target)
    sq = copy.copy(prob)
    sq.loss = square
    out = _run_least_squares(sq, tol=tol, max_iter=max_iter, monitor=_Shifted(monitor, kappa), **kw)
    out.info["route"] = "normal equations"
    if out.diverged or out.iterations >= max_iter or check(prob, out.x).certifies(tol):
        return out
    rest = _run_least_squares(prob.started_at(out.x), tol=tol, max_iter=max_iter - out.iterations,
                              monitor=monitor, **kw)
    rest.iterations += out.iterations
    rest.info["route"] = "normal equations, then the data"
    return rest


class _Shifted:
    """A monitor for an equivalent problem whose objective is the data's minus ``kappa``: rows show the data's."""

    def __init__(self, monitor: Monitor, kappa: float) -> None:
        self.monitor, self.kappa = monitor, kappa

    def row(self, it: int, cert, event: str = "") -> None:
        self.monitor.row(it, dataclasses.replace(cert, objective=cert.objective + self.kappa), event)

    def announce(self, what: str) -> None:
        self.monitor.announce(what)


def _run_least_squares(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, sigma0: float | None,
                       polish_steps: int) -> Outcome:
    """The proximal point method on 1/2 ||Ax - b||^2 + p(x), each step by semismooth Newton on its dual."""
    xp = prob.xp
    loss = prob.loss
    op, b = loss.op, loss.target
    gram = _gram_for(op)
    fast = isinstance(gram, FreeGram)
    wide = op.shape[1] > op.shape[0]  # the n x n A A^T is then the small Gram (and ssnal needs it anyway)
    L = max(gram.norm2_squared() if fast and wide else loss.lipschitz(), 1e-300)
    sigma = (SIGMA0 / L) if sigma0 is None else float(sigma0)
    x = prob.start()
    u = op.mv(x) - b
    newton = 0
    it = 0
    schedule = PolishSchedule(prob, 1, exact_only=True)
    restart = None
    prev_cert = None
    sigmas = [sigma]
    floor, rejected, stopped = PrecisionFloor(tol), 0, None
    drop = math.inf  # the decrease of F in the last accepted outer step
    ray = CompiledRay.of(prob)
    split_of = (lambda v: (prob.fixed(v), prob.piece_index(v))) if ray is None else ray.split
    test_growth = fast and op.shape[0] >= GROWTH_TEST_ROWS  # sigma's growth by ``_growth``, else by the coordinates moved
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
        fixed, piece = split_of(z)  # carried from step to step with z (the piece index for FreeGram)
        split = None if test_growth else split_of(x)  # x's split: how many coordinates the step moves
        for _ in range(INNER_MAX):
            gnorm = float(xp.max(xp.abs(grad)))
            if gnorm <= max(0.1 * g0 / it, 1e-3 * tol) or gnorm == 0.0:
                converged = True
                break
            du = _newton_direction(prob, z, grad, sigma, gram, 1.0, fixed, rtol=SPARSE_NEWTON_RTOL)
            if du is None:
                break
            newton += 1
            # A^T (u + alpha du) = A^T u + alpha A^T du: the line search needs no product
            alpha, du, atdu, (u_t, atu_t, val_t, z_t) = _ray_search(prob, x, sigma, u, atu, val, grad, du, ray)
            if alpha < MIN_ALPHA:  # no decrease along the Newton direction: leave the inner loop
                break
            fixed_t, piece_t = split_of(z_t)
            if fast:
                stay = ~fixed & ~fixed_t & (piece == piece_t)
                az = gram.newton_product(az, z, z_t, ~fixed, stay, du, atdu, -sigma * alpha)
            else:
                az = op.mv(z_t)
            piece = piece_t
            u, atu, val, z, fixed = u_t, atu_t, val_t, z_t, fixed_t
            grad = u + b - az
        cert = check(prob, z)
        if not converged and prev_cert is not None and not _better(cert, prev_cert):
            # the inner solve stalled short of its target and its point is worse: keep x, retry with a smaller sigma
            rejected, stopped, sigma = _stalled_step(monitor, it, prev_cert, sigma, L, rejected)
            if stopped is not None:
                break
            sigmas.append(sigma)
            u = u_start
            continue
        prev_drop, drop = drop, (math.inf if prev_cert is None else prev_cert.objective - cert.objective)
        x = z
        monitor.row(it, cert, f"sigma {sigma:.1e}, {newton - newton_before} Newton")
        if cert.certifies(tol) or cert.limited_by_rounding(tol):
            break
        if floor.reached(cert, x):
            (x, cert), stopped = floor.best, floor.reason
            break
        prev_cert, rejected = cert, 0
        polished = _polish(prob, x, cert, schedule, L, tol, polish_steps, monitor, it,
                           factor=_free_columns(gram) if fast else None) if polish else None
        if polished is not None:
            x, prev_cert = polished
            if prev_cert.certifies(tol) or prev_cert.limited_by_rounding(tol):
                break
            floor.offer(prev_cert, x)
            restart = op.mv(x) - b
        if not math.isfinite(cert.objective):
            return Outcome(x, it, diverged=True, info={"newton_steps": newton, "sigma": sigma})
        steps = newton - newton_before
        if split is not None:  # few rows or no kept Gram: x SIGMA_GROWTH unless the step moved more than n coordinates
            moved = int(xp.sum(xp.astype((fixed != split[0]) | (piece != split[1]), xp.int64)))
            growth = LS_GROWTH if moved > op.shape[0] else SIGMA_GROWTH
        else:
            growth = LS_GROWTH if steps > HARD_NEWTON else _growth(prob, x, atu, sigma, fixed, piece, split_of)
        grown = _next_sigma(sigma, steps, L, growth)
        if steps <= EASY_NEWTON and _drifting(drop, prev_drop, converged):
            grown = max(grown, sigma * growth)  # past the cap: see _drifting
        sigma = grown
        sigmas.append(sigma)
    info = {"newton_steps": newton, "sigma": sigma, "sigmas": sigmas}
    if fast:
        info.update(factorizations=gram.factorizations, woodbury_solves=gram.woodbury_solves, cg_solves=gram.cg_solves,
                    single_factorizations=gram.single_factorizations)
    return Outcome(x, it, info=info, stopped=stopped)


def _polish(prob, x, cert, schedule: PolishSchedule, L: float, tol: float, steps: int, monitor: Monitor, it: int,
            factor=None, settle: bool = True):
    """The active-set polish when the shared schedule says the split has settled (for a wide A, also
    that the free block has at most n coordinates; ``settle``: see :meth:`PolishSchedule.due`).  Returns
    (point, certificate) when the polished point certifies or beats ``cert``, else None."""
    if not schedule.due(it, x, settle):
        return None
    monitor.announce("polish: Newton steps on the active set")
    px, pcert, _ = newton_polish(prob, x, 1.0 / L, steps=steps, tol=tol, check=lambda v: check(prob, v), factor=factor,
                                 x_cert=cert)  # cert: check(prob, x), as the caller computed it
    monitor.row(it, pcert, "polish")
    accepted = pcert.certifies(tol) or _better(pcert, cert)
    schedule.record(it, accepted)
    return (px, pcert) if accepted else None


def _stalled_step(monitor: Monitor, it: int, prev_cert, sigma: float, L: float, rejected: int
                  ) -> tuple[int, str | None, float]:
    """An inner solve stalled short of its target at a point worse than the last: the step is rejected (x kept) and
    retried with sigma / SIGMA_GROWTH (not below SIGMA0 / L).  Returns (rejections in a row, the stop reason once
    STALL_STEPS are reached, else None, the next sigma)."""
    monitor.row(it, prev_cert, f"sigma {sigma:.1e}: inner solve stalled, step rejected")
    rejected += 1
    if rejected >= STALL_STEPS:
        return rejected, (f"{STALL_STEPS} inner solves in a row stalled short of their target with a point worse "
                          "than the last: the data's precision limits the accuracy"), sigma
    return rejected, None, max(sigma / SIGMA_GROWTH, SIGMA0 / L)


def _free_columns(gram: FreeGram):
    """The least-squares polish's Hessian factor A_F (h'' = 1) gathered from the rows of the kept contiguous
    A^T (``FreeGram.AT``) instead of strided columns of A: (x, idx) -> A_F, Fortran-ordered n x k."""
    return lambda x, idx: gram.free_columns(idx)


def _growth(prob, x, atu, sigma: float, fixed, piece, split_of) -> float:
    """The least-squares path's fastest growth of sigma (module docstring): x SIGMA_GROWTH where the prox at that
    sigma from the current dual u, z' = prox_{sigma' p}(x - sigma' A^T u) with sigma' = SIGMA_GROWTH sigma (the next
    inner solve's first point), keeps at least FREE_KEEP of the free coordinates of z (``~fixed``, in the windows
    ``piece``) free and in their windows, else x LS_GROWTH (``split_of``: z -> (fixed, piece index), as in the inner
    loop)."""
    xp = prob.xp
    trial = sigma * SIGMA_GROWTH
    fixed_t, piece_t = split_of(prob.prox(x - trial * atu, trial))
    free = ~fixed
    kept = free & ~fixed_t & (piece_t == piece)
    return SIGMA_GROWTH if float(xp.sum(xp.astype(kept, xp.float64))) >= FREE_KEEP * float(xp.sum(xp.astype(free, xp.float64))) else LS_GROWTH


def _next_sigma(sigma: float, inner_steps: int, L: float, fast: float = SIGMA_GROWTH) -> float:
    """sigma after an outer step whose inner solve took ``inner_steps`` Newton steps, growing at most x ``fast``
    (module docstring)."""
    cap = SIGMA_MAX if inner_steps > EASY_NEWTON else SIGMA_MAX_EASY
    growth = fast if inner_steps <= HARD_NEWTON else min(fast, SLOW_GROWTH)
    return max(sigma, min(cap / L, sigma * growth))


def _drifting(drop: float, prev_drop: float, converged: bool) -> bool:
    """Whether the proximal point method is in its linear (drift) regime: the last two exact steps lowered F by
    ``prev_drop`` then ``drop`` > DRIFT x ``prev_drop``.

    Once the split has (nearly) settled F is affine along the directions a step can move in (the null space of
    A_J when more coordinates are free than A has rows: a piece of psi is affine there), and the proximal step
    x_{k+1} = argmin F(x) + ||x - x_k||^2 / (2 sigma) moves x by sigma times the projected slope, the same
    distance and the same decrease of F every step, however far the next kink of psi is: the rate is linear in
    sigma, not geometric (Rockafellar 1976, "Monotone operators and the proximal point algorithm", SIAM J.
    Control Optim. 14(5), Thm 2: the rate improves with sigma).  A contracting run has drop / prev_drop well
    below DRIFT; a drifting one near 1, and there only a larger sigma shortens the way, at any ||A||^2.
    """
    return converged and 0.0 < drop and 0.0 < prev_drop < math.inf and drop > DRIFT * prev_drop


def _run_newton(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, sigma0: float | None,
                polish_steps: int) -> Outcome:
    """Regularized proximal Newton steps for f(x) = sum h(Ax), each solved by semismooth Newton on its dual.

    At x_k with z_k = A x_k, g = A^T h'(z_k) and the generalized Hessian H = B^T B, B = diag(sqrt h''(z_k)) A,
    the step solves the strongly convex model

        y = argmin_y  g^T (y - x_k) + 1/2 ||B (y - x_k)||^2 + p(y) + ||y - x_k||^2 / (2 sigma)

    through its dual in u in R^n (``_phi_newton``): minimize
    phi(u) = 1/2 ||u||^2 - p(z) - c^T (z - x_k) - ||z - x_k||^2 / (2 sigma), c = B^T u + g,
    z = prox_{sigma p}(x_k - sigma c), grad phi(u) = u - B (z - x_k), by semismooth Newton with the
    matrix shift I + sigma B_J B_J^T = shift I + sigma S A_J A_J^T S (S = diag(sqrt h'')), i.e. the
    generalized Hessian A_J^T diag(h'') A_J of the free block in its n x n form; for least squares
    (h'' = 1, the model exact) it is the proximal-point step of ``_run_least_squares``.  Then
    x_{k+1} = x_k + t (y - x_k), t the largest of 1, 1/2, ... with the sufficient decrease
    F(x_k + t d) <= F(x_k) + ARMIJO t (g^T d + p(y) - p(x_k)) (Tseng and Yun 2009; Lee, Sun and
    Saunders 2014, eq. 2.20).  This is the semismooth Newton augmented Lagrangian of Li, Sun and
    Toh (2018) with the loss replaced by its second-order model at each outer step; sigma grows as
    in the least-squares path, so the steps become proximal Newton steps, locally superlinear.  Where the
    column norms of A spread over more than :data:`~cvxpar.solvers._metric.SPREAD` the proximal term is
    ||y - x_k||^2_{W^-1} / (2 sigma), W = diag(1 / ||a_i||^2) (:class:`~cvxpar.solvers._metric.ColumnMetric`),
    and sigma's scale is ||A W^(1/2)||^2 instead of ||A||^2; the iterates and certificates stay in x.  The
    model's curvature is h'' blended toward a quadratic majorizer of h after shortened steps (``_curvature``).
    The run stops after STALL_STEPS steps without progress (the data's precision bounds the residual).
    Losses of Huber form (``_huber_form``) take the exact proximal-point path :func:`_run_huber` instead.
    """
    M = _huber_form(prob)
    if M is not None:
        return _run_huber(prob, M, tol=tol, max_iter=max_iter, polish=polish, monitor=monitor, sigma0=sigma0,
                          polish_steps=polish_steps)
    xp = prob.xp
    loss = prob.loss
    op = loss.op
    metric = ColumnMetric.of(op)
    gram = _gram_for(op if metric is None else metric.op)
    L_data = max(loss.lipschitz(), 1e-300)
    L = L_data if metric is None else max(L_data * metric.norm_ratio, 1e-300)  # of A W^(1/2): sigma's scale
    w = None if metric is None else metric.w
    sigma = (SIGMA0 / L) if sigma0 is None else float(sigma0)
    x = prob.start()
    zx = op.mv(x)
    F = loss.value_z(zx) + prob.penalty(x)
    newton = backtracks = 0
    it = 0
    schedule = PolishSchedule(prob, 1, exact_only=True)
    residual = math.inf
    mu = 0.0  # the weight of the loss's quadratic majorizer in the model's curvature (``_curvature``)
    best, stalled, stopped, cert_x = None, 0, None, None
    for it in range(1, max_iter + 1):
        g = loss.grad_z(zx)
        S = xp.sqrt(_curvature(loss, zx, mu))
        y, steps, converged = _inner_newton(prob, x, g, S, sigma, gram, tol, it, FORCING * residual / math.sqrt(L_data),
                                            w, None if metric is None else metric.op)
        newton += steps
        dx, zy = y - x, op.mv(y)
        dz = zy - zx
        pen_x = prob.penalty(x)
        decrease = float(xp.sum(g * dx)) + prob.penalty(y) - pen_x
        t = 1.0
        noise = OBJECTIVE_NOISE * max(1.0, abs(F))
        cert = None
        if decrease > -noise and cert_x is not None:
            # the model's decrease is below the objective's rounding: F cannot rank y against x, the residual can
            F_y = loss.value_z(zy) + prob.penalty(y)
            cert_y = check(prob, y) if F_y <= F + noise else None
            if cert_y is not None and cert_y.residual < cert_x.residual:
                x, zx, F, cert = y, zy, F_y, cert_y
        while decrease <= -noise or (decrease < 0 and cert_x is None):
            x_t, z_t = (y, zy) if t == 1.0 else (x + t * dx, zx + t * dz)
            F_t = loss.value_z(z_t) + prob.penalty(x_t)
            if F_t <= F + ARMIJO * t * decrease:
                x, zx, F = x_t, z_t, F_t
                break
            if t < 1e-10:
                break
            t *= 0.5
            backtracks += 1
        cert = cert or check(prob, x)
        cert_x = cert
        mu = min(1.0, max(MAJORANT_UP * mu, MAJORANT_FLOOR)) if t < 1.0 else mu / MAJORANT_DOWN
        residual = cert.residual
        monitor.row(it, cert, f"sigma {sigma:.1e}, {steps} Newton, step {t:.2g}")
        if cert.certifies(tol) or cert.limited_by_rounding(tol):
            break
        improved = best is None or _progress(cert, best)
        stalled = 0 if improved else stalled + 1
        best = cert if improved else best
        if stalled >= STALL_STEPS:
            stopped = (f"{STALL_STEPS} outer steps lowered neither the objective (beyond its rounding) nor the "
                       "stationarity residual: the data's precision limits the accuracy")
            break
        if not math.isfinite(cert.objective):
            return Outcome(x, it, diverged=True, info={"newton_steps": newton, "sigma": sigma})
        polished = _polish(prob, x, cert, schedule, L_data, tol, polish_steps, monitor, it,
                           settle=not loss.piecewise_quadratic) if polish else None
        if polished is not None:
            x, cert_x = polished
            if cert_x.certifies(tol) or cert_x.limited_by_rounding(tol):
                break
            zx = op.mv(x)
            F = loss.value_z(zx) + prob.penalty(x)
        if not converged:  # the inner solve stalled short of its target: a smaller sigma makes it easier
            sigma = max(sigma / SIGMA_GROWTH, SIGMA0 / L)
        elif t == 1.0:
            sigma = _next_sigma(sigma, steps, L)
    return Outcome(x, it, info={"newton_steps": newton, "sigma": sigma, "backtracks": backtracks, "majorant": mu},
                   stopped=stopped)


def _huber_form(prob):
    """The per-sample thresholds M of a loss of the form h_i(z) = min_v (z - b_i - v)^2 / 2 + M_i |v| (Huber, sums
    of Huber and least squares: ``huber_thresholds``, M_i = inf on a squared sample), with at least one finite M_i,
    as an array of the data's namespace, dtype and device; else None."""
    thresholds = getattr(prob.loss, "huber_thresholds", None)
    M = None if thresholds is None else thresholds()
    if M is None or not bool(np.any(np.isfinite(M))):
        return None
    target = prob.loss.target
    return prob.xp.asarray(np.asarray(M, dtype=np.float64), dtype=target.dtype, device=_backend.device(target))


def _run_huber(prob, M, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, sigma0: float | None,
               polish_steps: int) -> Outcome:
    """Huber-type losses by the exact proximal point method on least squares in (x, v).

    H_M(r) = min_v (r - v)^2 / 2 + M |v| (Huber is the Moreau envelope of M |.|), so with r = A x - b

        min_x sum_i H_{M_i}(a_i^T x - b_i) + p(x) = min_{x, v} 1/2 ||A x - v - b||^2 + q(v) + p(x),  q(v) = sum_i M_i |v_i|,

    a least-squares problem with the data [A, -I] and the separable piecewise-linear q on v (v_i = 0 where
    M_i = inf).  Its proximal-point step (metric ||x - x_k||^2_{W^-1} for x, W from
    :class:`~cvxpar.solvers._metric.ColumnMetric` or the identity, and ||v - v_k||^2 / omega for v, omega the
    mean squared column norm of A, or 1 under the column metric, so that every column of the scaled data has
    a comparable norm and a rescaling of (A, b, M) by a constant leaves the iterates' path unchanged) is solved
    through its dual in u in R^n, as in the least-squares path (Li, Sun and Toh 2018):

        phi(u) = 1/2 ||u||^2 + b^T u - p(z) - (A^T u)^T z - ||z - x_k||^2_{W^-1} / (2 sigma)
                                     - q(s) + u^T s - ||s - v_k||^2 / (2 sigma omega),
        z = prox_{sigma W p}(x_k - sigma W A^T u),  s = soft(v_k + sigma omega u, sigma omega M),
        grad phi(u) = u + b - A z + s,

    by semismooth Newton with the matrix E + sigma A_J W_J A_J^T, E = I + sigma omega D, D = diag(1 on the
    samples where s_i != 0): E^(1/2) (I + sigma S A_J W_J A_J^T S) E^(1/2) with S = E^(-1/2), the scaled Newton
    system of the other losses' path; then the step along du minimizing phi on [0, 1] (``_huber_ray_search``).
    So the samples crossing M are handled inside each exact step (no re-linearized model per outer step, as in
    :func:`_run_newton`), sigma grows as in the least-squares path, and the shared certificate and polish
    decide "optimal" on x alone; as in the least-squares path the polish waits for the split to settle
    (:meth:`PolishSchedule.due`).  The dual u is h'(A x - b) at the solution: it starts there.
    """
    xp = prob.xp
    loss = prob.loss
    op, b = loss.op, loss.target
    metric = ColumnMetric.of(op)
    data = op if metric is None else metric.op
    gram = _gram_for(data)
    w = None if metric is None else metric.w
    L_data = max(loss.norm2_squared(), 1e-300)
    if metric is None:
        omega = max(float(xp.mean(op.column_sq_norms())), 1e-300)
        L = L_data + omega
    else:
        omega = 1.0
        L = L_data * metric.norm_ratio + omega
    sigma = (SIGMA0 / L) if sigma0 is None else float(sigma0)
    x = prob.start()
    r = op.mv(x) - b
    v = _soft(r, M)
    u = r - v
    newton, it = 0, 0
    schedule = PolishSchedule(prob, 1, exact_only=True)
    prev_cert, restart = None, False
    sigmas = [sigma]
    floor, rejected, stopped = PrecisionFloor(tol), 0, None
    for it in range(1, max_iter + 1):
        phi = partial(_phi_huber, prob, x, v, sigma=sigma, w=w, omega=omega, M=M)
        if restart:  # after an accepted polish: the better of the old u and h'(A x - b)
            r = op.mv(x) - b
            if phi(r - v, op.rmv(r - v))[0] < phi(u, op.rmv(u))[0]:
                u = r - v
            restart = False
        u_start = u
        (z, s), u, steps, converged = _huber_step(prob, phi, x, v, u, sigma, w, omega, M, gram, data,
                                                  0.1 / it, 1e-3 * tol)
        newton += steps
        cert = check(prob, z)
        if not converged and prev_cert is not None and not _better(cert, prev_cert):
            rejected, stopped, sigma = _stalled_step(monitor, it, prev_cert, sigma, L, rejected)
            if stopped is not None:
                break
            sigmas.append(sigma)
            u = u_start
            continue
        x, v = z, s
        monitor.row(it, cert, f"sigma {sigma:.1e}, {steps} Newton")
        if cert.certifies(tol) or cert.limited_by_rounding(tol):
            break
        if floor.reached(cert, x):
            (x, cert), stopped = floor.best, floor.reason
            break
        prev_cert, rejected = cert, 0
        polished = _polish(prob, x, cert, schedule, L_data, tol, polish_steps, monitor, it) if polish else None
        if polished is not None:
            x, prev_cert = polished
            if prev_cert.certifies(tol) or prev_cert.limited_by_rounding(tol):
                break
            v, restart = _soft(op.mv(x) - b, M), True
        if not math.isfinite(cert.objective):
            return Outcome(x, it, diverged=True, info={"newton_steps": newton, "sigma": sigma})
        sigma = _next_sigma(sigma, steps, L)
        sigmas.append(sigma)
    return Outcome(x, it, info={"newton_steps": newton, "sigma": sigma, "sigmas": sigmas, "route": "huber as least squares"},
                   stopped=stopped)


def _huber_step(prob, phi, x, v, u, sigma: float, w, omega: float, M, gram, data, rel: float, floor: float):
    """One proximal-point step of :func:`_run_huber` from (x, v): semismooth Newton on its dual phi (``phi(u, A^T u)``
    returns (value, (z, s))) from u until max |grad phi| <= max(``rel`` x its start value, ``floor``), in at most
    INNER_MAX steps (the least-squares path's rule, with rel = 0.1 / outer step).  ``data`` is A, or A W^(1/2) under
    the column metric, and ``gram`` solves its Newton systems.  Returns ((z, s), u, Newton steps, whether the target
    was met)."""
    xp = prob.xp
    op, b = prob.loss.op, prob.loss.target
    atu = op.rmv(u)
    val, zs = phi(u, atu)
    grad = u + b - op.mv(zs[0]) + zs[1]
    g0 = float(xp.max(xp.abs(grad)))
    steps = 0
    for _ in range(INNER_MAX):
        gnorm = float(xp.max(xp.abs(grad)))
        if gnorm <= max(rel * g0, floor) or gnorm == 0.0:
            return zs, u, steps, True
        active = xp.abs(v + sigma * omega * u) > sigma * omega * M  # the samples where s != 0
        S = None if not bool(xp.any(active)) else 1.0 / xp.sqrt(1.0 + sigma * omega * xp.astype(active, grad.dtype))
        dy = _newton_direction(prob, zs[0], grad if S is None else S * grad, sigma, gram, 1.0, prob.fixed(zs[0]),
                               scale=S, op=data)
        if dy is None:
            break
        steps += 1
        alpha, _, _, (u, atu, val, zs) = _huber_ray_search(prob, phi, x, v, sigma, w, omega, M, u, atu, val, grad,
                                                            dy if S is None else S * dy)
        if alpha < MIN_ALPHA:
            break
        grad = u + b - op.mv(zs[0]) + zs[1]
    return zs, u, steps, False


def _soft(t, M):
    """sign(t) max(|t| - M, 0): the prox of M |.| (0 where M = inf), in t's namespace."""
    xp = _backend.array_namespace(t)
    return xp.sign(t) * xp.maximum(xp.abs(t) - M, xp.zeros_like(t))


def _phi_huber(prob, x, v, u, atu, sigma, w, omega, M, zs=None):
    """phi(u) of :func:`_run_huber` (up to a constant) and (z, s), from u and atu = A^T u; ``zs``, when given,
    is (z, s), already computed."""
    xp = prob.xp
    b = prob.loss.target
    if zs is None:
        step = sigma if w is None else sigma * w
        zs = (prob.prox(x - step * atu, step), _soft(v + sigma * omega * u, sigma * omega * M))
    z, s = zs
    dz, ds = z - x, s - v
    prox_term = float(xp.sum(dz * dz if w is None else dz * dz / w))
    on = s != 0
    q = float(xp.sum(xp.where(on, M, xp.zeros_like(M)) * xp.abs(s)))  # s = 0 wherever M = inf
    val = (float(xp.sum(u * (0.5 * u + b + s))) - float(xp.sum(atu * z)) - prox_term / (2.0 * sigma)
           - float(xp.sum(ds * ds)) / (2.0 * sigma * omega) - q)
    return val - prob.penalty(z), zs


def _huber_ray_search(prob, phi, x, v, sigma: float, w, omega: float, M, u, atu, val: float, grad, du):
    """The step along du for :func:`_run_huber`: the minimizer of phi on u + alpha du, alpha in [0, 1]
    (:func:`_ray_root`), where phi is convex and piecewise quadratic and

        phi'(alpha) = du^T (u + alpha du + b + s(alpha)) - (A^T du)^T z(alpha),

    z(alpha) and s(alpha) the two proxes at u + alpha du (no product with A once A^T du is known); kept when it
    satisfies Armijo's condition, proven from phi' alone (:func:`_armijo_from_slopes`) or from phi's values, else
    Armijo backtracking (:func:`_line_search`).  Returns what :func:`_line_search` returns."""
    xp = prob.xp
    slope = float(xp.sum(grad * du))
    if slope >= 0:
        du, slope = -grad, -float(xp.sum(grad * grad))
    atdu = prob.loss.op.rmv(du)
    base, curv = float(xp.sum(du * (u + prob.loss.target))), float(xp.sum(du * du))
    step = sigma if w is None else sigma * w
    start, slide = x - step * atu, step * atdu  # z(alpha) = prox(start - alpha slide)
    t0, t1, cut = v + (sigma * omega) * u, (sigma * omega) * du, (sigma * omega) * M  # s(alpha) = soft(t0 + alpha t1, cut)
    # t0 + alpha t1 is affine in alpha: no sample leaves [-cut, cut] on [0, 1] when neither end does, and s = 0 there
    idle = bool(xp.all(xp.abs(t0) <= cut)) and bool(xp.all(xp.abs(t0 + t1) <= cut))
    last = []

    def derivative(alpha: float) -> float:
        zs = (prob.prox(start - alpha * slide, step), xp.zeros_like(t0) if idle else _soft(t0 + alpha * t1, cut))
        last[:] = [zs]
        return base + alpha * curv + (0.0 if idle else float(xp.sum(du * zs[1]))) - float(xp.sum(atdu * zs[0]))

    def rounding(alpha: float, zs) -> float:
        if zs is None:
            return 0.0
        return RAY_ROUNDING * (abs(base) + alpha * curv + (0.0 if idle else float(xp.sum(xp.abs(du * zs[1]))))
                               + float(xp.sum(xp.abs(atdu * zs[0]))))

    alpha, d, below = _ray_root(derivative, slope, last)
    u_t, atu_t, zs_t = u + alpha * du, atu + alpha * atdu, last[0]
    if _armijo_from_slopes(alpha, d, below, slope, rounding, zs_t):
        return alpha, du, atdu, (u_t, atu_t, None, zs_t)
    val_t, zs_t = phi(u_t, atu_t, zs=zs_t)
    if val is None:
        val = phi(u, atu)[0]
    if val_t <= val + ARMIJO * alpha * slope + 1e-14 * abs(val):
        return alpha, du, atdu, (u_t, atu_t, val_t, zs_t)
    return _line_search(xp, phi, u, atu, val, grad, du, lambda _: atdu)


def _curvature(loss, z, mu: float):
    """The model's per-sample curvature h'' + mu (c - h'') at z, c = ``loss.d2h_majorant(z)`` (h'' alone where
    the loss gives no majorizer).

    The generalized Hessian h'' makes the model exact on each piece of a piecewise-quadratic h and the
    steps locally superlinear, but where h'' vanishes on most samples (Huber with a small M far from the
    fit) the model has almost no curvature there and its step overshoots, so the line search cuts it.
    With mu = 1 the model majorizes f and its step always decreases F (majorize-minimize, iteratively
    reweighted least squares for Huber: Huber 1981, ch. 7; de Leeuw and Lange 2009).  mu starts at 0,
    grows x MAJORANT_UP (from at least MAJORANT_FLOOR, up to 1) after a step the line search shortened and
    shrinks / MAJORANT_DOWN after a full one, a Levenberg-Marquardt-like safeguard on the curvature
    rather than on the step (Lee, Sun and Saunders 2014, sec. 3.1, allow any model Hessian between the
    two)."""
    h2 = loss.d2h(z)
    if mu == 0.0:
        return h2
    c = loss.d2h_majorant(z)
    return h2 if c is None else h2 + mu * (c - h2)


def _progress(new, old) -> bool:
    """new has a lower objective than old beyond OBJECTIVE_NOISE (relative), or a smaller residual."""
    return new.objective < old.objective - OBJECTIVE_NOISE * max(1.0, abs(old.objective)) or new.residual < old.residual


def _inner_newton(prob, x, g, S, sigma, gram, tol, it, forcing, w=None, scaled_op=None):
    """The model step y of :func:`_run_newton` (semismooth Newton on phi): (y, Newton steps, whether
    phi's gradient reached its target).  The target is the least-squares path's, capped by ``forcing`` (FORCING x the last stationarity residual / ||A||: B^T grad phi is then a fraction of it,
    the forcing sequence of inexact proximal Newton, Lee, Sun and Saunders 2014, sec. 3.2).  With a
    diagonal metric ``w`` (:class:`~cvxpar.solvers._metric.ColumnMetric`) the proximal term is
    ||y - x||^2_{W^-1} / (2 sigma): the prox takes the per-coordinate step sigma w_i and the Newton matrix
    is shift I + sigma S A_J W_J A_J^T S, the Gram matrix of the free columns of ``scaled_op`` = A W^(1/2)."""
    xp = prob.xp
    op = prob.loss.op
    u = xp.zeros_like(S)
    atsu = xp.zeros_like(x)  # A^T (S u)
    val, z = _phi_newton(prob, x, u, atsu, g, sigma, w)
    fixed = prob.fixed(z)
    grad = u - S * op.mv(z - x)
    g0 = float(xp.max(xp.abs(grad)))
    shift = 1.0
    steps = 0
    converged = False
    for _ in range(INNER_MAX):
        gnorm = float(xp.max(xp.abs(grad)))
        if gnorm <= max(min(0.1 * g0 / it, forcing), 1e-3 * tol) or gnorm == 0.0:
            converged = True
            break
        du = _newton_direction(prob, z, grad, sigma, gram, shift, fixed, scale=S, op=scaled_op)
        if du is None:
            break
        steps += 1
        alpha, du, _, (u, atsu, val, z) = _model_ray_search(prob, x, g, S, sigma, w, u, atsu, val, grad, du)
        if alpha < MIN_ALPHA:
            break
        shift = _damping(shift, alpha)
        fixed = prob.fixed(z)
        grad = u - S * op.mv(z - x)
    return z, steps, converged


def _model_ray_search(prob, x, g, S, sigma: float, w, u, atsu, val: float | None, grad, du):
    """The step along du for :func:`_inner_newton`: the minimizer of phi (:func:`_phi_newton`) on the
    segment u + alpha du, alpha in [0, 1] (:func:`_ray_root`), kept when it satisfies Armijo's condition (as
    :func:`_line_search`'s), else that backtracking search runs.

    The model is quadratic and p piecewise linear, so phi is convex and piecewise quadratic and its derivative
    along du,

        phi'(alpha) = du^T (u + alpha du) - (A^T S du)^T (z(alpha) - x),
        z(alpha) = prox_{sigma W p}(x - sigma W (A^T S u + alpha A^T S du + g)),

    nondecreasing and piecewise linear (W = diag(``w``), the identity when None): one prox per
    evaluation and one product A^T (S du) per step.  Where phi' proves Armijo's condition
    (:func:`_armijo_from_slopes`) phi's value (a psi evaluation) is not computed: it is returned as None,
    and ``val`` may be None (computed here only where a value is compared); the point z(alpha) of the last
    evaluation of phi' is the returned z.  Returns what :func:`_line_search` returns.
    """
    xp = prob.xp
    slope = float(xp.sum(grad * du))
    if slope >= 0:
        du, slope = -grad, -float(xp.sum(grad * grad))
    atsdu = prob.loss.op.rmv(S * du)
    base, curv = float(xp.sum(du * u)), float(xp.sum(du * du))
    step = sigma if w is None else sigma * w
    last = []  # z(alpha) at the last evaluation

    def derivative(alpha: float) -> float:
        z = prob.prox(x - step * ((atsu + alpha * atsdu) + g), step)  # as _phi_newton forms it at u + alpha du
        last[:] = [z]
        return base + alpha * curv - float(xp.sum(atsdu * (z - x)))

    def rounding(alpha: float, z) -> float:  # of phi'(alpha) as computed
        return 0.0 if z is None else RAY_ROUNDING * (abs(base) + alpha * curv + float(xp.sum(xp.abs(atsdu * (z - x)))))

    alpha, d, below = _ray_root(derivative, slope, last)
    u_t, atsu_t, z_t = u + alpha * du, atsu + alpha * atsdu, last[0]
    if _armijo_from_slopes(alpha, d, below, slope, rounding, z_t):
        return alpha, du, atsdu, (u_t, atsu_t, None, z_t)
    phi = partial(_phi_newton, prob, x, g=g, sigma=sigma, w=w)
    val_t, z_t = phi(u_t, atsu_t, z=z_t)
    if val is None:
        val = phi(u, atsu)[0]
    if val_t <= val + ARMIJO * alpha * slope + 1e-14 * abs(val):
        return alpha, du, atsdu, (u_t, atsu_t, val_t, z_t)
    return _line_search(xp, phi, u, atsu, val, grad, du, lambda _: atsdu)


def _phi_newton(prob, x, u, atsu, g, sigma, w=None, z=None):
    """phi(u) of :func:`_run_newton` and z = prox_{sigma p}(x - sigma c), c = A^T (S u) + g, from atsu = A^T (S u)
    (``z``, when given, is that prox, already computed).

    With a diagonal metric W = diag(``w``): z = prox_{sigma W p}(x - sigma W c) (per-coordinate steps
    sigma w_i) and the proximal term ||z - x||^2_{W^-1} / (2 sigma)."""
    xp = prob.xp
    c = atsu + g
    step = sigma if w is None else sigma * w
    z = prob.prox(x - step * c, step) if z is None else z
    dz = z - x
    prox_term = float(xp.sum(dz * dz if w is None else dz * dz / w))
    val = 0.5 * float(xp.sum(u * u)) - float(xp.sum(c * dz)) - prox_term / (2.0 * sigma)
    return val - prob.penalty(z), z


def _damping(shift: float, alpha: float) -> float:
    """The next Levenberg-Marquardt shift from the accepted step length alpha (the proximal Newton
    path, :func:`_inner_newton`, whose step length minimizes phi along du: :func:`_model_ray_search`).

    The Newton matrix I + sigma A_J A_J^T has curvature 1 along the null space of A_J^T (|J| < n,
    or coordinates about to enter a window), where phi's true curvature jumps to ~sigma ||a_i||^2
    as soon as a fixed coordinate crosses into a window; the full step then overshoots along those
    directions and the line search cuts the *whole* step (alpha ~ 1e-5 at 1000 x 10000).  Raising the shift
    shortens mostly those directions (curvature shift instead of 1) and leaves the well-modelled
    range of A_J (curvature ~ sigma ||A_J||^2) nearly untouched: a short step (alpha < DAMP_BAD_STEP)
    multiplies it by alpha^-DAMP_POWER, a full step divides it by DAMP_DOWN, down to the plain
    Newton matrix (shift 1).  Any shift gives a descent direction, so the line search still
    guarantees descent (Levenberg-Marquardt regularized semismooth Newton: Xiao, Li, Wen and Zhang 2018).
    The least-squares path keeps shift 1: its step minimizes phi along the plain Newton direction
    (``_ray_search``), and every shift change would cost a fresh n x n factorization.
    """
    if alpha == 1.0:
        return max(1.0, shift / DAMP_DOWN)
    if alpha < DAMP_BAD_STEP:
        return shift * alpha ** -DAMP_POWER
    return shift


def _line_search(xp, phi, u, aux, val: float, grad, du, adjoint):
    """Armijo backtracking on phi along du from u: the largest alpha in 1, 1/2, ... with
    phi(u + alpha du) <= phi(u) + ARMIJO alpha grad^T du (plus rounding slack), down to MIN_ALPHA.

    ``aux`` = A^T u (times the loss's scaling) is carried along linearly, aux + alpha ``adjoint(du)``,
    so each trial evaluates phi without a product with A; ``phi(v, aux_v)`` returns (value, z).  A du
    that is not a descent direction is replaced by -grad.  Returns (alpha, du, adjoint(du), (u_t,
    aux_t, value_t, z_t)); alpha < MIN_ALPHA means no decrease was found.
    """
    slope = float(xp.sum(grad * du))
    if slope >= 0:
        du, slope = -grad, -float(xp.sum(grad * grad))
    aux_du = adjoint(du)
    alpha = 1.0
    while True:
        u_t, aux_t = u + alpha * du, aux + alpha * aux_du
        val_t, z_t = phi(u_t, aux_t)
        if val_t <= val + ARMIJO * alpha * slope + 1e-14 * abs(val) or alpha < MIN_ALPHA:
            return alpha, du, aux_du, (u_t, aux_t, val_t, z_t)
        alpha *= 0.5


def _ray_search(prob, x, sigma: float, u, atu, val: float, grad, du, ray: CompiledRay | None = None):
    """The step along du for :func:`_run_least_squares`: the minimizer of phi on the segment
    u + alpha du, alpha in [0, 1], to within RAY_RTOL of its slope, instead of halving alpha.

    phi is convex and piecewise quadratic (the Moreau envelope of the piecewise-linear p), so along the
    ray its derivative

        phi'(alpha) = du^T (u + alpha du + b) - (A^T du)^T z(alpha),  z(alpha) = prox_{sigma p}(x - sigma (A^T u + alpha A^T du)),

    is nondecreasing and piecewise linear, and costs one prox and no product with A once A^T du is
    known; its root in (0, 1) by :func:`_ray_root`.  The step is kept when it satisfies Armijo's condition (as :func:`_line_search`'s), else that
    backtracking search runs.  Since phi' is nondecreasing, phi(alpha) - phi(0), the integral of phi' over
    [0, alpha], is at most a phi'(a) + (alpha - a) phi'(alpha) for any evaluated a <= alpha with phi'(a) < 0
    (the last such point of the search, or a = 0); where that bound, beyond the rounding of the phi' values
    in it, is at most ARMIJO alpha phi'(0), Armijo's condition holds without evaluating phi(alpha) (its
    value, which costs a psi evaluation, is then returned as None, and ``val`` may be None: computed here
    only where a value is compared).  The point z(alpha) of the last evaluation of phi' is the returned z.
    ``ray`` (:class:`~cvxpar.solvers._ray_prox.CompiledRay`), when given, evaluates z(alpha) with (A^T du)^T z(alpha)
    and its rounding sum in one compiled pass, bit-identical to the array expressions.
    Returns what :func:`_line_search` returns.
    """
    xp = prob.xp
    slope = float(xp.sum(grad * du))
    if slope >= 0:
        du, slope = -grad, -float(xp.sum(grad * grad))
    atdu = prob.loss.op.rmv(du)
    base = float(xp.sum(du * (u + prob.loss.target)))
    curv = float(xp.sum(du * du))

    last = []  # (z(alpha), sum_i |(A^T du)_i z_i(alpha)|) at the last evaluation

    def derivative(alpha: float) -> float:
        if ray is None:
            z = prob.prox(x - sigma * (atu + alpha * atdu), sigma)
            dot, size = float(xp.sum(atdu * z)), None
        else:
            z, dot, size = ray.point(x, atu, atdu, alpha, sigma)
        last[:] = [(z, size)]
        return base + alpha * curv - dot

    def rounding(alpha: float, evaluated) -> float:  # of phi'(alpha) as computed
        if evaluated is None:
            return 0.0
        z, size = evaluated
        return RAY_ROUNDING * (abs(base) + alpha * curv + (float(xp.sum(xp.abs(atdu * z))) if size is None else size))

    alpha, d, below = _ray_root(derivative, slope, last)
    u_t, atu_t = u + alpha * du, atu + alpha * atdu  # z(alpha) = last[0] was computed from exactly this atu_t
    z_t = last[0][0]
    if _armijo_from_slopes(alpha, d, below, slope, rounding, last[0]):
        return alpha, du, atdu, (u_t, atu_t, None, z_t)
    val_t, z_t = _phi(prob, x, u_t, atu_t, sigma, z_t)
    if val is None:
        val = _phi(prob, x, u, atu, sigma)[0]
    if val_t <= val + ARMIJO * alpha * slope + 1e-14 * abs(val):
        return alpha, du, atdu, (u_t, atu_t, val_t, z_t)
    return _line_search(xp, partial(_phi, prob, x, sigma=sigma), u, atu, val, grad, du, lambda _: atdu)


def _armijo_from_slopes(alpha: float, d: float, below, slope: float, rounding, z) -> bool:
    """Armijo's condition phi(alpha) - phi(0) <= ARMIJO alpha phi'(0) proven from phi' alone (:func:`_ray_search`):
    phi' is nondecreasing, so phi(alpha) - phi(0) <= a phi'(a) + (alpha - a) phi'(alpha) for a = below[0] <= alpha
    (``below`` and d = phi'(alpha) from :func:`_ray_root`), required to hold beyond ``rounding(alpha, z)``, the
    rounding of phi' as computed at its point z."""
    a, d_a, z_a = below
    bound = a * d_a + (alpha - a) * d
    return bound <= ARMIJO * alpha * slope and (
        bound + a * rounding(a, z_a) + (alpha - a) * rounding(alpha, z) <= ARMIJO * alpha * slope)


def _ray_root(derivative, slope: float, last=None):
    """The minimizer on [0, 1] of a convex function of alpha with a nondecreasing, piecewise-linear
    derivative (phi' along a ray, phi piecewise quadratic), from phi'(0) = ``slope`` < 0.

    alpha = 1 when phi'(1) <= 0 (the Newton step does not pass the minimizer); else the root of
    phi' in (0, 1) by regula falsi with the Illinois modification (Dowell and Jarratt 1971), exact on
    each linear piece, stopped once |phi'(alpha)| <= RAY_RTOL |phi'(0)| or after RAY_STEPS evaluations.
    Returns (alpha, phi'(alpha), below): below = (a, phi'(a), last[0] at a) for the last evaluated a with
    phi'(a) < 0 (or (0, slope, None)), ``last`` the one-element list ``derivative`` keeps its point in.
    """
    alpha = 1.0
    lo, d_lo, hi, d_hi = 0.0, slope, 1.0, derivative(1.0)
    d = d_hi
    below = (0.0, slope, None)  # the last alpha where phi' < 0, its phi' (not halved) and z(alpha)
    side = 0
    for _ in range(RAY_STEPS if d_hi > 0 else 0):
        alpha = hi - d_hi * (hi - lo) / (d_hi - d_lo)
        d = derivative(alpha)
        if d < 0:
            below = (alpha, d, None if last is None else last[0])
        if abs(d) <= RAY_RTOL * abs(slope):
            break
        if d > 0:  # the root is left of alpha; Illinois: halve the kept end's value after two moves on one side
            hi, d_hi = alpha, d
            d_lo = 0.5 * d_lo if side == -1 else d_lo
            side = -1
        else:
            lo, d_lo = alpha, d
            d_hi = 0.5 * d_hi if side == 1 else d_hi
            side = 1
    return alpha, d, below


def _phi(prob, x, u, atu, sigma, z=None):
    """phi(u) (up to a constant) and z = prox_{sigma p}(w), from u and atu = A^T u (no product with A); ``z``,
    when given, is that prox, already computed.

    With w = x - sigma A^T u:  (||w||^2 - ||z - w||^2) / (2 sigma) = ||x||^2 / (2 sigma) - (A^T u)^T z
    - ||z - x||^2 / (2 sigma), so phi(u) = 1/2 ||u||^2 + b^T u - (A^T u)^T z - ||z - x||^2 / (2 sigma) - p(z)
    + const, written without the cancellation of the two squared norms.
    """
    xp = prob.xp
    b = prob.loss.target
    z = prob.prox(x - sigma * atu, sigma) if z is None else z
    dz = z - x
    val = float(xp.sum(u * (0.5 * u + b))) - float(xp.sum(atu * z)) - float(xp.sum(dz * dz)) / (2.0 * sigma)
    return val - prob.penalty(z), z


def _gram_for(op):
    """What solves the Newton systems for the data ``op``: the kept A_J A_J^T of a dense NumPy A, sparse
    products for a scipy.sparse A (or its dense copy, where that pays: ``_sparse_gram.newton_systems``), else
    direct products (with A A^T cached for a dense A)."""
    if FreeGram.applies(op):
        return FreeGram(op.A)
    return newton_systems(op.A) if SparseGram.applies(op) else _Gram(op)


class _Gram:
    """A A^T (n x n) of a dense A, formed on first use and kept for the run."""

    def __init__(self, op) -> None:
        self.op, self.G = op, None

    def __call__(self):
        if self.G is None:
            self.G = self.op.A @ self.op.A.T
        return self.G


def _newton_direction(prob, z, grad, sigma, gram, shift: float = 1.0, fixed=None, scale=None, op=None,
                      rtol: float | None = None):
    """Solve (shift I + sigma S A_J A_J^T S) du = -grad, J = free coordinates of z (shift = 1: Newton),
    S = diag(``scale``) (the identity when None), A the data of ``op`` (None: the loss's; ``gram`` is built
    on the same data); with :class:`SparseGram` and ``rtol``, to a residual of at most rtol ||grad||.

    For a dense NumPy A through :class:`FreeGram` (the cheaper of the n x n form, A_J A_J^T updated
    in place by the columns that entered or left J since the last step, and the Woodbury form;
    LAPACK Cholesky); for a scipy.sparse A through :class:`SparseGram` (sparse products of the free
    block, the smaller of the two forms).  Otherwise with |J| >= n the n x n system formed directly, or, for a dense A
    with fewer fixed coordinates K than free ones, as A A^T - A_K A_K^T from the cached A A^T; with
    |J| < n the |J| x |J| Woodbury form du = -(grad - A_J (shift I / sigma + A_J^T A_J)^-1 A_J^T grad) / shift.
    """
    xp = prob.xp
    fixed = prob.fixed(z) if fixed is None else fixed
    J = _nonzero(xp, ~fixed)
    if int(J.shape[0]) == 0:
        return -grad / shift
    op = prob.loss.op if op is None else op
    n, k = op.shape[0], int(J.shape[0])
    if isinstance(gram, (FreeGram, SparseGram)):
        du = (gram.solve(~fixed, sigma, shift, -grad, scale=scale) if rtol is None or isinstance(gram, FreeGram)
              else gram.solve(~fixed, sigma, shift, -grad, scale=scale, rtol=rtol))
        if du is None:  # not numerically PD: the least-squares fallback
            G = gram(~fixed)
            if scale is not None:
                G = scale[:, None] * G * scale[None, :]
            du = _solve(xp, sigma * G + shift * _eye(xp, G), -grad)
        return du
    if k >= n:
        if op.kind == "dense" and 2 * k > op.shape[1]:
            AK = op.columns(_nonzero(xp, fixed))
            G = gram() - AK @ AK.T
        else:
            AJ = op.columns(J)
            G = AJ @ AJ.T
        if scale is not None:
            G = scale[:, None] * G * scale[None, :]
        M = sigma * G
        return _solve(xp, M + shift * _eye(xp, M), -grad)
    AJ = op.columns(J) if scale is None else scale[:, None] * op.columns(J)
    small = AJ.T @ AJ
    inner = _solve(xp, small + (shift / sigma) * _eye(xp, small), AJ.T @ grad)
    return None if inner is None else -(grad - AJ @ inner) / shift
