"""Dense semismooth Newton on the forward-backward residual ("ssn"): the method for small problems.

    minimize  F(x) = f(x) + p(x),   p(x) = sum_i lam_i psi(x_i) + indicator of the box (and of a few linear rows),

psi convex, f twice differentiable (a generalized Hessian where f is C^1 only: Huber).  For a step g < 1/L
(L the Lipschitz constant of grad f) let

    T(x) = prox_{g p}(x - g grad f(x)),    r(x) = x - T(x);

x is a solution exactly when r(x) = 0.  The iteration is PANOC (Stella, Themelis, Sopasakis and
Patrinos 2017, "A simple and efficient algorithm for nonlinear model predictive control", IEEE CDC,
Algorithm 1) with the semismooth Newton direction of the residual:

- the merit function is the forward-backward envelope (Patrinos and Bemporad 2013, "Proximal Newton
  methods for convex composite optimization", IEEE CDC, eq. 5)

      phi(x) = f(x) + <grad f(x), T(x) - x> + ||T(x) - x||^2 / (2 g) + p(T(x)),

  a continuous function with the minimizers of F, and the forward-backward step never raises it by
  less than  phi(T(x)) <= phi(x) - (1 - g L) / (2 g) ||r(x)||^2  (Stella, Themelis and Patrinos 2017,
  "Forward-backward quasi-Newton methods for nonsmooth optimization problems", Comput. Optim. Appl.
  67, Prop. 2.2);
- the direction d solves  (I - P (I - g H)) d = -r(x),  with H the (generalized) Hessian of f at x
  and P = diag(prox'), an element of the generalized Jacobian of the piecewise-affine prox: 0 where
  T_i sits on a breakpoint of psi or on a bound (a plateau of the prox), 1 inside a piece.  On the
  plateau coordinates K this is d_K = T_K - x_K, on the others F
  H_FF d_F = -(grad_F f + lam_F s_F) - H_FK d_K, s the slopes of T's pieces (the Newton step of the
  active-set polish, :mod:`cvxpar.solvers.polish`): unshifted first, and after a step the line search
  cut with the Levenberg-Marquardt shift mu = damping L min(1, relative residual) on H_FF (adapted like
  a trust region; Levenberg-Marquardt with mu proportional to the residual converges quadratically under a
  local error bound, Yamashita and Fukushima 2001).  Free coordinates that the step carries out of T's
  pieces stop at the pieces' ends and the others are solved again (a primal active-set round);
- the step is x+ = x - (1 - tau) r(x) + tau d with tau = 1, 1/2, ... until
  phi(x+) <= phi(x) - BETA (1 - g L) / (2 g) ||r(x)||^2; tau = 0 is the forward-backward step, which
  always passes (so the iteration converges like proximal gradient at worst), and once the pieces of
  the solution are found tau = 1 passes and the steps are Newton steps: exact for a piecewise-quadratic
  loss (least squares, Huber) on the right pieces, quadratically convergent for a smooth one.

With one linear row a^T x = t (a Simplex, a budget; or a^T x <= t) the prox is the exact prox with the row
(:mod:`cvxpar.solvers._row_prox`), with up to MAX_ROWS rows G_E x = h_E, G_I x <= h_I the exact prox with the rows
(:mod:`cvxpar.solvers._rows_prox`: projected Newton steps on their multipliers), and where rows hold T(x) (the
equalities, the inequalities with a positive multiplier) the Newton step solves the free block's KKT system with
them (the prox's generalized Jacobian is then D - D G_W^T (G_W D G_W^T)^+ G_W D, D = diag(prox'): the
equality-constrained Newton step, Nocedal and Wright 2006, section 16.1).

The whole d x d problem is dense NumPy and LAPACK (no compiled kernels to load, no working sets): at
d <= a few hundred one iteration costs a few NumPy calls and one Cholesky factorization of the free
block.  When r is small the point T(x) (on the exact breakpoints) is certified by the shared certificate
(:mod:`cvxpar.certificate`), after the exact active-set polish where the certificate does not hold yet;
``"optimal"`` means certified.  L comes from ``loss.lipschitz()`` and is doubled where the
forward-backward step fails its decrease test (an underestimate, or a loss with no global constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cvxpar import _backend
from cvxpar.losses import LinearModelLoss
from cvxpar.solvers._common import Evaluator, Monitor, Outcome, PrecisionFloor, check
from cvxpar.solvers._gram import cholesky_solve
from cvxpar.solvers._kkt import kkt_step
from cvxpar.solvers._row_prox import RowProx
from cvxpar.solvers._rows_prox import RowsProx
from cvxpar.solvers.polish import newton_polish

#: The step g = STEP_FRACTION / L (PANOC's choice).
STEP_FRACTION = 0.95
#: Fraction of the forward-backward step's guaranteed decrease that a step must reach.
BETA = 0.5
#: Halvings of tau before the forward-backward step (tau = 0) is taken.
MAX_HALVINGS = 6
#: The Levenberg-Marquardt shift is mu = damping L min(1, residual / scale).  damping starts at 0 (the exact Newton
#: step), becomes DAMPING_MIN after a Newton step the line search cut and grows x DAMPING_FACTOR after each further
#: one (up to DAMPING_MAX) ...
DAMPING_MIN = 1e-3
#: ... shrinks below DAMPING_MIN after full steps, down to DAMPING_TINY, then 0; where the unshifted block is singular
#: (more free coordinates than samples), DAMPING_TINY stands for 0: a long step along the block's null space,
#: which the pieces' ends cut.
DAMPING_TINY = 1e-8
DAMPING_MAX = 1e3
DAMPING_FACTOR = 10.0
#: ... and shrinks / DAMPING_RELAX after a full step (slower than it grows: a shift that just worked is near the
#: right one, and a step cut after a cut back costs a Hessian and a line search).
DAMPING_RELAX = 3.0
#: The residual r = x - T(x) is at its rounding level below ROUNDING_ULPS ulps of max(1, ||x||_inf).
ROUNDING_ULPS = 8.0
#: Doublings of L allowed when the forward-backward step fails its decrease test.
MAX_L_DOUBLINGS = 60
#: The certificate is evaluated once ||r||_inf / g <= CERTIFY_FACTOR * tol * max(1, ||grad f||_inf), and again
#: only after that residual has dropped by RETRY_DROP.
CERTIFY_FACTOR = 1.0
RETRY_DROP = 1e-2
#: ``method="auto"`` runs ssn up to this many coordinates (benchmarks/RESULTS.md, startup) ...
AUTO_MAX_D = 200
#: ... and up to this n_samples d^2 (one Hessian block's flops: 600 x 200 rows and columns); ...
AUTO_MAX_WORK = 600 * 200**2
#: ... and, on a dense A with at least as many rows as columns (A^T D A then has no null space for want of rows, and
#: the Newton steps need no shift), up to this many coordinates ...
TALL_MAX_D = 500
#: ... and this n_samples d^2: 2-7x faster than ssnal on dense least squares, Huber and logistic at 250 x 250 ..
#: 1000 x 500 (Gaussian, AR(1) and row-scaled designs), 20x on least squares 20000 x 60 with a Simplex; ssnal's cached
#: Gram wins from 3000 x 300 on (benchmarks/RESULTS.md, "breadth sweep, fresh instances (session 13)").
TALL_MAX_WORK = 1000 * 500**2
#: ssn takes at most this many linear rows (its prox then searches their multipliers by dense Newton steps).
MAX_ROWS = 8
#: Rounds of the direction's active-set loop (free coordinates that leave their piece stop at its end).
REFIX_ROUNDS = 20


def applies(prob) -> bool:
    """ssn's conditions: a convex psi, at most MAX_ROWS linear rows (a Simplex, a budget, Linear rows), NumPy data,
    and a loss that gives its Hessian: a linear-model loss on a dense or scipy.sparse A, or a ``Smooth`` loss with a ``hessian``."""
    if not prob.convex or not _backend.is_numpy_namespace(prob.xp):
        return False
    if prob.feasible.has_rows and prob.feasible.stacked()[0].shape[0] > MAX_ROWS:
        return False
    loss = prob.loss
    if isinstance(loss, LinearModelLoss):
        return loss.op.kind in ("dense", "sparse")
    return getattr(loss, "hessian", None) is not None


@dataclass
class _Point:
    """x with its forward-backward step: z = A x (linear models), f, grad f, T(x), r = x - T(x), phi(x)."""

    x: np.ndarray
    z: object
    f: float
    g: np.ndarray
    T: np.ndarray
    r: np.ndarray
    phi: float
    #: the rows' multipliers in T(x) (None without rows; 0 where an inequality row is inactive)
    nu: np.ndarray | None


def _point(prob, ev: Evaluator, x, z, gamma: float, prox) -> _Point:
    f = ev.value(x, z)
    g = ev.grad(x, z)
    T, nu = prox(x - gamma * g, gamma)
    r = x - T
    phi = f - float(g @ r) + float(r @ r) / (2.0 * gamma) + prob.penalty(T)
    return _Point(x, z, f, g, T, r, phi, nu)


def _prox(prob):
    """(w, g) -> (T, nu): the prox of g p, with one row by :class:`~cvxpar.solvers._row_prox.RowProx`'s search on
    the line, with several by :class:`~cvxpar.solvers._rows_prox.RowsProx`'s projected Newton steps."""
    if not prob.feasible.has_rows:
        return lambda w, gamma: (prob.prox(w, gamma), None)
    if prob.feasible.stacked()[0].shape[0] == 1:
        one = RowProx(prob)

        def with_row(w, gamma):
            T, nu = one(w, gamma)
            return T, np.array([nu])

        return with_row
    return RowsProx(prob)


def _sufficient(new: float, old: float, decrease: float) -> bool:
    """new <= old - decrease, with a rounding allowance of a few ulps of |old|."""
    return new <= old - decrease + 1e-14 * max(1.0, abs(old))


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, polish_steps: int = 4) -> Outcome:
    """PANOC iterations with the dense semismooth Newton direction (module docstring), at most ``max_iter``."""
    loss = prob.loss
    ev = Evaluator(loss)
    L = loss.lipschitz()
    L = L if math.isfinite(L) and L > 0 else 1.0
    L_cap = 2.0**MAX_L_DOUBLINGS * L  # L doubles (its estimate was too small) up to here, then the run stops
    gamma = STEP_FRACTION / L
    x = prob.start()
    prox = _prox(prob)
    row = _row(prob)
    hessian = _HessianBlocks(loss)
    cur = _point(prob, ev, x, ev.z(x), gamma, prox)
    next_certify = math.inf
    newton_steps = backtracks = 0
    damping = 0.0
    it = 0
    floor = PrecisionFloor(tol)
    for it in range(1, max_iter + 1):
        scale = max(1.0, float(np.max(np.abs(cur.g), initial=0.0)))
        r_max = float(np.max(np.abs(cur.r), initial=0.0))
        res = r_max / gamma
        # r = x - T(x) is computed to a few ulps of x: below that, the certificate decides
        at_rounding = r_max <= ROUNDING_ULPS * np.finfo(np.float64).eps * max(1.0, float(np.max(np.abs(cur.x), initial=0.0)))
        # once a check found the data's precision floor, every step is checked until the floor rule decides
        if floor.best is not None or ((res <= CERTIFY_FACTOR * tol * scale or at_rounding) and res <= next_certify):
            xs, cert, done = _certified(prob, cur.T, gamma, tol, polish, polish_steps)
            if done:
                monitor.row(it, cert, "certified")
                return Outcome(xs, it, info={"newton_steps": newton_steps, "backtracks": backtracks}, cert=cert)
            if floor.reached(cert, xs):
                (xs, cert), stopped = floor.best, floor.reason
                monitor.row(it, cert, "precision floor")
                return Outcome(xs, it, info={"newton_steps": newton_steps, "backtracks": backtracks}, cert=cert,
                               stopped=stopped)
            next_certify = RETRY_DROP * res
        # the forward-backward step's decrease test (L may be an underestimate)
        zT = ev.z(cur.T)
        rr = float(cur.r @ cur.r)
        if ev.value(cur.T, zT) > cur.f - float(cur.g @ cur.r) + L * rr / 2.0 + 1e-14 * max(1.0, abs(cur.f)):
            if L > L_cap:
                break
            L *= 2.0
            gamma = STEP_FRACTION / L
            cur = _point(prob, ev, cur.x, cur.z, gamma, prox)
            continue
        decrease = BETA * (1.0 - gamma * L) / (2.0 * gamma) * rr
        mu_unit = L * min(1.0, res / scale)
        active = _active_rows(row, cur.nu)
        step = _newton_direction(prob, cur, mu_unit * damping, damping == 0.0, mu_unit, active, hessian)
        if step is None and damping == 0.0:  # a singular free block: the shifted step
            damping = DAMPING_MIN
            step = _newton_direction(prob, cur, mu_unit * damping, False, mu_unit, active, hessian)
        new = None
        if step is not None:
            tau = 1.0
            for _ in range(MAX_HALVINGS + 1):
                xt = step if tau == 1.0 else cur.T + tau * (step - cur.T)
                trial = _point(prob, ev, xt, ev.z(xt), gamma, prox)
                if _sufficient(trial.phi, cur.phi, decrease):
                    new = trial
                    newton_steps += tau == 1.0
                    break
                backtracks += 1
                tau *= 0.5
            damping = _next_damping(damping, full=tau == 1.0)
        if new is None:
            fb = _point(prob, ev, cur.T, zT, gamma, prox)
            if not _sufficient(fb.phi, cur.phi, decrease) and rr > 0.0:
                if L > L_cap:  # no finite L gives the decrease: values beyond float64's range (e.g. lam = 1e300)
                    break
                L *= 2.0  # the envelope's decrease needs g < 1/L: L was too small
                gamma = STEP_FRACTION / L
                cur = _point(prob, ev, cur.x, cur.z, gamma, prox)
                continue
            new = fb
        if rr == 0.0 and new.phi >= cur.phi:
            break  # a fixed point whose certificate failed: nothing left to do here
        cur = new
    xs = cur.T
    if polish:
        xs, cert, _ = newton_polish(prob, xs, gamma, steps=polish_steps, tol=tol, check=lambda v: check(prob, v))
        return Outcome(xs, it, info={"newton_steps": newton_steps, "backtracks": backtracks}, cert=cert)
    return Outcome(xs, it, info={"newton_steps": newton_steps, "backtracks": backtracks})


def _next_damping(damping: float, full: bool) -> float:
    """The Levenberg-Marquardt factor after a Newton step that the line search took in ``full`` or cut."""
    if full:
        return 0.0 if damping <= DAMPING_TINY else damping / DAMPING_RELAX
    return min(DAMPING_MAX, max(DAMPING_MIN, damping * DAMPING_FACTOR))


def _certified(prob, T, gamma: float, tol: float, polish: bool, polish_steps: int):
    """(x, certificate, certified): T, or the active-set polish from it, and whether it certifies to tol."""
    cert = check(prob, T)
    if cert.certifies(tol) or not polish:
        return T, cert, cert.certifies(tol)
    xs, pcert, _ = newton_polish(prob, T, gamma, steps=polish_steps, tol=tol, check=lambda v: check(prob, v))
    if pcert.certifies(tol) or pcert.residual < cert.residual:
        return xs, pcert, pcert.certifies(tol)
    return T, cert, False


def _row(prob):
    """(G, h, equality mask) of the problem's linear rows, or None."""
    if not prob.feasible.has_rows:
        return None
    G, h, n_eq = prob.feasible.stacked()
    return np.asarray(G, dtype=np.float64), np.asarray(h, dtype=np.float64), np.arange(len(h)) < n_eq


def _active_rows(rows, nu):
    """(G_W, h_W) of the rows that hold T(x) (the equalities and the inequalities with a positive multiplier), or
    None where there are none."""
    if rows is None:
        return None
    work = rows[2] | (nu > 0.0)
    return (rows[0][work], rows[1][work]) if work.any() else None


def _newton_direction(prob, cur: _Point, mu: float, exact: bool, mu_unit: float, row, hessian: _HessianBlocks):
    """x + d for the semismooth Newton direction d of the residual at cur (module docstring), its free
    coordinates cut at the ends of T's pieces; None where the free block's system has no finite solution.

    ``exact``: the step without shift (mu = 0), taken unless the free block is singular for want of rows (a
    linear-model loss with more free coordinates than samples), where mu stays.  ``row`` (G_W, h_W), the rows that
    hold T(x): the step keeps G_W x = h_W, solving the free block's KKT system with the rows (the prox's
    generalized Jacobian is then D - D G_W^T (G_W D G_W^T)^+ G_W D, D = diag(free); the Newton step on the residual
    is the equality-constrained Newton step, Nocedal and Wright 2006, section 16.1)."""
    loss = prob.loss
    fixed = np.asarray(prob.fixed(cur.T))
    free = np.flatnonzero(~fixed)
    out = np.where(fixed, cur.T, cur.x)
    if free.size == 0:
        return out
    if exact:  # unshifted, unless more free coordinates than samples make the block singular
        mu = mu_unit * DAMPING_TINY if free.size > getattr(loss, "n_samples", free.size) else 0.0
    x = cur.x
    dK = np.where(fixed, cur.T - x, 0.0)
    s, lo, hi = prob.piece(cur.T)
    lam = prob.lam if isinstance(prob.lam, float) else prob.lam[free]
    rhs = -(cur.g[free] + lam * s[free])
    if dK.any():
        coupling = loss.hvp(x, dK)
        if coupling is None:
            return None
        rhs = rhs - coupling[free]
    H = hessian.block(x, free)
    if H is None:
        return None
    H.flat[:: H.shape[0] + 1] += mu
    lo, hi, xF = lo[free], hi[free], x[free]
    keep = np.arange(free.size)
    new = xF.copy()
    sub = H
    for _ in range(REFIX_ROUNDS):
        if row is None:
            dF = cholesky_solve(sub, rhs[keep])
        else:  # the row's residual with the fixed and the cut coordinates moved, the free ones still at x
            out[free] = new
            out[free[keep]] = xF[keep]
            dF = kkt_step(sub, row[0][:, free[keep]], rhs[keep], row[1] - row[0] @ out)
        if dF is None:
            return None
        trial = xF[keep] + dF
        leave = (trial < lo[keep]) | (trial > hi[keep])
        new[keep] = np.clip(trial, lo[keep], hi[keep])
        if not leave.any():
            break
        # the leavers stop at the end of their piece; the others are solved again with that move's
        # change of the model's gradient (a primal active-set round)
        gone, keep = keep[leave], keep[~leave]
        if keep.size == 0:
            break
        rows = H.take(keep, axis=0)
        rhs[keep] -= rows.take(gone, axis=1) @ (new[gone] - xF[gone])
        sub = rows.take(keep, axis=1)
    out[free] = new
    return out


class _HessianBlocks:
    """The Hessian blocks H_FF of the Newton steps, each a fresh array.

    Where every h_i is the squared sample (z - b_i)^2 / 2 (``loss.huber_thresholds()`` all +inf: least squares), the
    Hessian is the constant A^T A: once the blocks formed so far have cost as much as A^T A (sum |F|^2 >= d^2, times
    n flops; the rent-or-buy rule, so never more than twice the cheaper of the two), it is formed and each later
    block is a slice of it (|F|^2), where forming B^T B from the loss's factor costs n |F|^2 at every step.
    Otherwise B^T B from the loss's factor at x, else the loss's dense block."""

    def __init__(self, loss) -> None:
        self.loss = loss
        thresholds = getattr(loss, "huber_thresholds", lambda: None)()
        self.constant = thresholds is not None and bool(np.all(np.isinf(thresholds)))
        self._gram: np.ndarray | None = None
        self._spent = 0  # sum of |F|^2 over the blocks formed from the factor

    def block(self, x, free):
        if self.constant and self._spent >= x.size**2:
            if self._gram is None:
                B = self.loss.hessian_factor(x, np.arange(x.size))
                self._gram = None if B is None else np.asarray(B.T @ B)
            if self._gram is not None:
                return self._gram[np.ix_(free, free)]
        B = self.loss.hessian_factor(x, free)
        self._spent += free.size**2
        if B is not None:
            return np.asarray(B.T @ B)
        H = self.loss.hessian_block(x, free)
        return None if H is None else np.array(H, dtype=np.float64)


def small(prob) -> bool:
    """auto's rule for ``"ssn"``: it applies (:func:`applies`), d <= AUTO_MAX_D and, for a linear-model loss,
    n_samples d^2 <= AUTO_MAX_WORK (the cost of one dense Hessian block); or a linear-model loss on a dense A with
    n_samples >= d, d <= TALL_MAX_D and n_samples d^2 <= TALL_MAX_WORK."""
    if not applies(prob):
        return False
    n = getattr(prob.loss, "n_samples", None)
    if n is None:
        return prob.d <= AUTO_MAX_D
    work = n * prob.d**2
    if prob.d <= AUTO_MAX_D and work <= AUTO_MAX_WORK:
        return True
    dense = getattr(getattr(prob.loss, "op", None), "kind", None) == "dense"
    return dense and prob.d <= min(n, TALL_MAX_D) and work <= TALL_MAX_WORK
