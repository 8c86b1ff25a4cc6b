"""Working-set coordinate descent ("cd") for any linear-model loss f(x) = sum h(Ax), NumPy (numba).

Psi is separable, so each coordinate update is an exact 1-D prox of a quadratic model of f:

    x_j <- prox_{(lam_j / c_j) psi_box}( x_j + a_j^T r / c_j ),   c_j = a_j^T W a_j,

with r = -(h'(z) + W A (x - x_outer)) the model's negative gradient in sample space, kept up to
date by r -= dx_j W a_j (:class:`_Model`): for least squares W = I and r = b - A x (the model is f
itself, so this is exact CD); for another loss with a convex psi W = diag(h''(Ax_outer)), a
proximal Newton model whose epochs are followed by a line search; with a nonconvex psi
W = smoothness I, a majorizer (per-coordinate Lipschitz constants smoothness ||a_j||^2).  Each update
lands exactly on a breakpoint whenever the 1-D minimizer is there (so the quantized
coordinates are identified early, as CD identifies the Lasso support).  The outer loop is
skglm's working-set scheme (Bertrand et al. 2022, "Beyond L1", NeurIPS): score every
coordinate by its KKT distance (:meth:`cvxpar.PAR.subdifferential_distance`), work on the free
coordinates plus the worst violators (size max(p0, 2 |free|)), run CD epochs there until the
working-set score falls below 0.3 x the outer one.  For least squares the epochs on a working set
are accelerated by Anderson extrapolation of (x_ws, r) every 6 epochs, kept when it lowers the
objective (:mod:`cvxpar.solvers.anderson`; Bertrand and Massias 2021): once the support is
identified CD is an affine fixed-point iteration, slow when the free columns are nearly dependent
(the Lasso at small lam), and the extrapolation removes its slowest modes.  The residual r is
recomputed from x at each outer step, so the rounding of its updates never accumulates.  The
active-set polish, exact once the split is right, is tried by
the shared rule (:class:`~cvxpar.solvers.polish.PolishSchedule`: the fixed set has settled between
two outer steps, with a back-off after a polish that did not help), once CD has moved, and when A
is wide only on a split with at most n_samples free coordinates (a generic solution has no more,
Ma & Xiao 2025 Thm 1).  For least squares it is the exact face solve (:mod:`cvxpar.solvers.face`: an
active-set method on the free block's bound-constrained QP, which stays well defined when that block is
square and nearly singular), run on the working set's columns only, the other coordinates held: its
certificate checks then cost O(n |ws|), and the full certificate is computed once, when the restricted one
holds; for the other losses the Newton polish of :mod:`cvxpar.solvers.polish`.  The polish reads its split from
u = prox(x - t grad f(x)): for a convex psi every t > 0 has the same fixed points, and
t = 1 / max_j ||a_j||^2 (the largest CD step) needs no power iteration; for a nonconvex psi,
where the split decides which stationary point is reached, t = 1 / L as in "pg"/"fista".
The KKT scores are compiled (:func:`cvxpar.solvers._cd_kernels.scores`); the working set's are computed
from A_ws^T r only, and the full certificate only when
max(score) says it can hold (for a feasible x with Box constraints only, its residual is
max(score) and its scale max(1, ||grad||_inf); :mod:`cvxpar.certificate`).

Dense A is copied once to Fortran order (columns contiguous); scipy.sparse A runs on its CSC
arrays; one compiled epoch serves both (:mod:`cvxpar.solvers._cd_kernels`).  Any psi (the 1-D prox
is the exact global one, so CD is monotone for nonconvex psi too); per-coordinate Box bounds only with
a convex psi (clip after the prox is exact there).  Under ``method="auto"`` a run that crawls on a free
set larger than n_samples stops early (``handoff``, see :func:`run`) and ssnal finishes from its point.
"""

from __future__ import annotations

import numpy as np

from cvxpar.prox import pieces
from cvxpar.solvers._cd_kernels import Columns, epochs, penalty_at, scores
from cvxpar.solvers._common import Monitor, Outcome, check
from cvxpar.solvers.anderson import DEFAULT_K as ANDERSON_K
from cvxpar.solvers.anderson import extrapolate
from cvxpar.solvers.face import face_polish
from cvxpar.solvers.polish import PolishSchedule, newton_polish

#: Working-set settings (skglm AndersonCD defaults).
P0 = 10
INNER_RATIO = 0.3
EPOCH_CHECK = 10
#: An inner solve on a working set stops after this many epochs.
INNER_EPOCHS = 50 * EPOCH_CHECK
#: On scipy.sparse least squares the face polish (sparse factorizations) costs about what a few epochs do, so it
#: is tried once the fixed set changed by at most PolishSchedule.SETTLED_FREE_FRACTION of the free coordinates,
#: without the tighter cap of PolishSchedule.SETTLED_FRACTION d: this overrides that cap.
SPARSE_SETTLED_FRACTION = 1.0
#: The least-squares polish runs again on the new working set at most this many times when the restricted
#: problem certified and the full one did not, while at most |ws| / REPOLISH_SHARE coordinates outside ws violate
#: their KKT conditions (:func:`_polish_on`; 0-5 of 1000-3000 near the end, hundreds of 10 early on).
REPOLISH = 2
REPOLISH_SHARE = 16
#: Proximal Newton (non-quadratic losses, convex psi): h'' floored at this fraction of its scale, the
#: Armijo constant of the line search and its smallest step.
CURVATURE_FLOOR = 1e-3
ARMIJO = 1e-4
MIN_STEP = 1e-10


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, p0: int = P0,
        polish_steps: int = 8, handoff: bool = False) -> Outcome:
    """Outer working-set iterations (max_iter bounds the total number of epochs).

    With ``handoff`` (``method="auto"``, where a second-order method can take over), CD stops early, with
    ``Outcome.stopped`` saying why, when A is wide, its free set has more than n_samples coordinates and
    the working set's CD epochs used their whole budget (INNER_EPOCHS) without reaching their target: a
    solution has at most n_samples free coordinates (Ma & Xiao 2025 Thm 1), so the free block of the
    iterate is rank-deficient and CD drives its excess coordinates to their kinks along directions of
    vanishing curvature, at a vanishing rate.  A crowded free set alone is no reason to stop: CD often
    sheds its excess coordinates within a few working sets."""
    loss = prob.loss
    op = loss.op
    if prob.lb is not None and not prob.kpsi.is_convex:
        raise ValueError("method 'cd' with a nonconvex psi needs scalar Box bounds; use 'fista' or 'pg'.")
    model = _Model(loss, prob.kpsi.is_convex)
    kern = _Kernels(prob)
    cols = kern.cols
    colsq = cols.sq_norms
    x = np.array(prob.start(), dtype=np.float64)
    z = np.asarray(op.mv(x), dtype=np.float64)
    stopped = final = None  # why cd stopped early; the certificate at the final x, when it certified
    d = prob.d
    n = loss.n_samples
    total = outer = polishes = backtracks = extrapolations = 0
    schedule = PolishSchedule(prob, period=1, exact_only=True)
    if model.exact and op.kind == "sparse":
        schedule.SETTLED_FRACTION = SPARSE_SETTLED_FRACTION
    # the polish's prox step: for a convex psi any t > 0 has the same fixed points (1 / the largest
    # coordinate curvature needs no power iteration); for a nonconvex psi t = 1 / L as in "pg"/"fista"
    step = 1.0 / max(float(colsq.max(initial=0.0)) * model.scale if prob.convex else loss.lipschitz(), 1e-300)
    while total < max_iter:
        outer += 1
        if model.exact and outer > 1:  # the carried residual is recomputed from x: no drift across outer steps
            z = np.asarray(op.mv(x), dtype=np.float64)
        r = -np.asarray(loss.dh(z), dtype=np.float64)
        g = np.asarray(loss.grad_z(z))
        score = kern.scores(x, g)
        free = ~np.asarray(prob.fixed(x))
        n_free = int(free.sum())
        cert = None
        # for a feasible x with Box constraints only, the certificate's residual is max(score) and its
        # scale max(1, ||g||_inf): the certificate is computed when it can hold (or is printed)
        if monitor.verbose or float(score.max(initial=0.0)) <= tol * max(1.0, float(np.abs(g).max(initial=0.0))):
            cert = prob.certify(x, grad=g)
            monitor.row(total, cert, f"outer {outer}")
            if cert.certifies(tol):
                final = cert if model.exact else None  # z is A x exactly only on the exact path
                break
            if cert.limited_by_rounding(tol):  # no later point certifies either; the status says why (status_of)
                break
        ws = _working_set(free, score, min(d, max(p0, 2 * n_free)))
        # the shared polish rule (exact_only: with more features than samples only on a split with at most
        # n free coordinates), once CD has moved
        if polish and schedule.due(outer, x) and total > 0:
            if model.exact:  # least squares: the polish on the working set, then one full certificate
                px, pcert, improved = _polish_on(prob, kern, ws, x, r, step, polish_steps, tol, p0)
            else:
                cert = cert or prob.certify(x, grad=g)
                px, pcert, _ = newton_polish(prob, x, step, steps=polish_steps, tol=tol,
                                             check=lambda v: check(prob, v))
                improved = pcert.objective < cert.objective
            polishes += 1
            if pcert is not None:
                monitor.row(total, pcert, "polish")
                if pcert.certifies(tol):
                    x, final = np.asarray(px), pcert
                    break
            schedule.record(outer, improved)
            if improved:
                x = np.array(px, dtype=np.float64)
                z = np.asarray(op.mv(x), dtype=np.float64)
                r = -np.asarray(loss.dh(z), dtype=np.float64)
                g = np.asarray(loss.grad_z(z))
                score = kern.scores(x, g)
                free = ~np.asarray(prob.fixed(x))
                ws = _working_set(free, score, min(d, max(p0, 2 * int(free.sum()))))
        Aws = cols.take(ws)
        wt, curv = model.weights(z, ws, Aws, colsq)
        x_old = x.copy()
        target = max(INNER_RATIO * float(score.max()), INNER_RATIO * tol)
        inner, found, reached = _inner(kern, r, x, ws, Aws, curv, wt, target, min(INNER_EPOCHS, max_iter - total),
                                       model.exact)
        total += inner
        extrapolations += found
        if handoff and not reached and inner == INNER_EPOCHS and d > n and n_free > n:
            stopped = (f"{INNER_EPOCHS} epochs on a working set with {n_free} free coordinates > n_samples = {n} "
                       "did not reach its target (a rank-deficient free block, where coordinate descent crawls)")
            break
        if not model.exact:
            x, z, tries = model.line_search(prob, x_old, x, z, g)
            backtracks += tries
    info = {"outer": outer, "polishes": polishes, "epochs": total, "backtracks": backtracks,
            "extrapolations": extrapolations}
    return Outcome(x, total, info=info, stopped=stopped, cert=final)


def _working_set(free, score, size: int):
    """The free coordinates and the worst KKT violators, ``size`` in all (sorted)."""
    if size >= free.size:
        return np.arange(free.size)
    prio = np.where(free, np.inf, score)
    return np.sort(np.argpartition(-prio, size - 1)[:size])


def _polish_on(prob, kern, ws, x, r, step: float, steps: int, tol: float, p0: int = P0):
    """The active-set polish of least squares restricted to the working set ws, the other coordinates held.

    With x_K fixed outside ws, f(x) = 1/2 ||A_ws x_ws - (r + A_ws x_ws)||^2 (r = b - Ax), so the face polish
    (:func:`cvxpar.solvers.face.face_polish`) runs on the |ws|-column problem, whose certificate
    checks cost O(n |ws|) instead of O(n d).  When the restricted problem certifies but the full one does
    not (coordinates outside ws violate their KKT conditions at the polished point), the polish runs again, up
    to REPOLISH more times, on the working set of the polished point (its free coordinates and worst violators,
    as :func:`run` builds it), without CD epochs in between: the split inside ws is right already; not when the
    violators outside ws are more than |ws| / REPOLISH_SHARE (an early split, which CD's epochs move faster).
    Returns (x, certificate, improved): the certificate is the full problem's when the restricted one
    certifies (else None), x the polished point when improved."""
    out, improved = x, False
    for _ in range(REPOLISH + 1):
        px, restricted = _polish_ws(prob, kern, ws, out, r, step, steps, tol)
        if px is None:
            break
        out, improved = px, True
        if not restricted:
            return out, None, True
        z = np.asarray(prob.loss.op.mv(out), dtype=np.float64)
        r = -np.asarray(prob.loss.dh(z), dtype=np.float64)
        g = np.asarray(prob.loss.grad_z(z))
        score = kern.scores(out, g)
        violated = score > tol * max(1.0, float(np.abs(g).max(initial=0.0)))
        if not violated.any():
            cert = prob.certify(out)
            if cert.certifies(tol):
                return out, cert, True
        violated[ws] = False
        if REPOLISH_SHARE * np.count_nonzero(violated) > ws.size:  # many violators outside: CD's work first
            break
        free = ~np.asarray(prob.fixed(out))
        ws = _working_set(free, score, min(prob.d, max(p0, 2 * int(free.sum()))))
    return out, None, improved


def _polish_ws(prob, kern, ws, x, r, step: float, steps: int, tol: float):
    """One face polish on the working set ws (:func:`_polish_on`): (the polished point or None when no round
    improved on x, whether the restricted problem certified)."""
    from cvxpar.constraints import Box
    from cvxpar.losses import LeastSquares
    from cvxpar.solvers._problem import Problem

    A_ws = kern.cols.take(ws)
    x_ws = x[ws]
    lower, upper = prob.feasible.lower[ws], prob.feasible.upper[ws]
    box = [Box(lower, upper)] if np.isfinite(lower).any() or np.isfinite(upper).any() else None
    lam = prob.lam if isinstance(prob.lam, float) else np.asarray(prob.lam)[ws]
    sub = Problem(LeastSquares(A_ws, r + A_ws @ x_ws), prob.psi, lam, box)
    px, pcert, _ = face_polish(sub, x_ws, step, rounds=steps, tol=tol, check=lambda v: check(sub, v))
    if px is x_ws:
        return None, False
    out = x.copy()
    out[ws] = px
    return out, pcert.certifies(tol)


class _Kernels:
    """The compiled epoch and working-set penalty, bound to the problem's data (A's columns, lam, psi's
    pieces, per-coordinate bounds)."""

    def __init__(self, prob) -> None:
        self.cols = Columns(prob.loss.op)
        p = pieces(prob.kpsi)
        self.pieces = (p.slope, p.lo, p.hi, p.anchor_x, p.anchor_value, p.end_x, p.end_value)
        self.convex = prob.kpsi.is_convex
        self.lam = np.atleast_1d(np.asarray(prob.lam, dtype=np.float64))
        self.lb = np.zeros(0) if prob.lb is None else np.asarray(prob.lb, dtype=np.float64)
        self.ub = np.zeros(0) if prob.ub is None else np.asarray(prob.ub, dtype=np.float64)
        psi, feasible = prob.psi, prob.feasible
        uniform = feasible.scalar_bounds
        lower, upper = (feasible.lower, feasible.upper) if uniform is None else uniform
        self.psi_args = (np.asarray(psi.breakpoints, dtype=np.float64), np.asarray(psi.slopes, dtype=np.float64),
                         *(float(v) for v in psi.domain),
                         np.atleast_1d(np.asarray(lower, dtype=np.float64)),
                         np.atleast_1d(np.asarray(upper, dtype=np.float64)))
        self.all = np.arange(prob.d)

    def sweep(self, r, x, ws, k, curv, wt, xs, rs) -> None:
        """k epochs over ws (:func:`cvxpar.solvers._cd_kernels.epochs`)."""
        epochs(*self.cols.args, r, x, ws, curv, wt, self.lam, *self.pieces, self.convex, self.lb, self.ub, k, xs, rs)

    def scores(self, x, g, idx=None):
        """The KKT distances dist(-g_j, lam_j dpsi(x_j) + N_box(x_j)) at the coordinates idx (all when None),
        g holding the gradient at idx (:func:`cvxpar.solvers._cd_kernels.scores`, the compiled
        :meth:`cvxpar.solvers._problem.Problem.kkt_distance`)."""
        return scores(x, g, self.all if idx is None else idx, self.lam, *self.psi_args)

    def objective(self, r, x_ws, ws) -> float:
        """1/2 ||r||^2 + sum_{j in ws} lam_j psi(x_j) (inf outside the bounds or psi's domain): the least-squares
        objective up to the terms of the coordinates outside ws."""
        if self.lb.size and not (np.all(x_ws >= self.lb[ws]) and np.all(x_ws <= self.ub[ws])):
            return np.inf
        return 0.5 * float(r @ r) + penalty_at(x_ws, ws, self.lam, *self.pieces)


def _inner(kern: _Kernels, r, x, ws, Aws, curv, wt, target: float, budget: int, accelerate: bool):
    """CD epochs on the working set ws (x and r updated in place) until its KKT score is below ``target``
    (checked about every EPOCH_CHECK epochs) or ``budget`` epochs.  With ``accelerate`` (least squares) the
    epochs run in chunks of K + 1 whose iterates give an Anderson extrapolation of (x_ws, r), kept when it
    lowers the objective.  Returns (epochs run, extrapolations kept, whether the target was reached)."""
    inner = kept = since_check = 0
    reached = False
    chunk = ANDERSON_K + 1 if accelerate else EPOCH_CHECK
    xs = np.empty((ws.size, chunk if accelerate else 0))
    rs = np.empty((r.shape[0], chunk if accelerate else 0))
    while inner < budget:
        k = min(chunk, budget - inner)
        kern.sweep(r, x, ws, k, curv, wt, xs[:, :k], rs[:, :k])
        inner += k
        since_check += k
        if accelerate and k == chunk:
            proposal = extrapolate(xs, rs)
            if proposal is not None and kern.objective(proposal[1], proposal[0], ws) < kern.objective(r, x[ws], ws):
                x[ws], r[:] = proposal
                kept += 1
        if since_check >= EPOCH_CHECK or inner >= budget:
            since_check = 0
            g_ws = -(Aws.T @ r)  # the working set's gradient (of the model) only
            if float(np.max(kern.scores(x, g_ws, ws))) <= target:
                reached = True
                break
    return inner, kept, reached


def exact(loss) -> bool:
    """Whether cd's epochs minimize f itself (least squares: the closed-form path of :func:`run`)."""
    from cvxpar.losses import LeastSquares

    return isinstance(loss, LeastSquares)


class _Model:
    """The quadratic model of f(x + d) = sum h(Ax + Ad) that the coordinate epochs minimize.

    - least squares: the model is f itself (h'' = 1), and the residual r = b - Ax is carried between
      outer steps: the closed form of :func:`run`'s exact path;
    - a convex psi: the proximal Newton model h'(z)^T A d + 1/2 (Ad)^T diag(h''(z)) (Ad) with
      h'' floored at CURVATURE_FLOOR x its scale (a coordinate whose rows all have h'' = 0 still
      gets a finite step), followed by a backtracking line search on the objective (Tseng and Yun
      2009; Lee, Sun and Saunders 2014, eq. 2.20; skglm's ProxNewton, Bertrand et al. 2022);
    - a nonconvex psi: the majorizer with h'' replaced by ``smoothness`` (per-coordinate Lipschitz
      constants smoothness ||a_j||^2), so each epoch is monotone in the objective without a line search.
    """

    def __init__(self, loss, convex: bool) -> None:
        self.loss = loss
        self.exact = exact(loss)
        self.newton = convex and not self.exact
        if not (self.exact or self.newton) and loss.smoothness is None:
            raise ValueError(
                f"method 'cd' with a nonconvex psi needs a loss with a finite smoothness (sup of d2h); "
                f"{type(loss).__name__}.smoothness is None: use 'fista' or 'pg'."
            )
        self.scale = 1.0 if self.exact or loss.smoothness is None else float(loss.smoothness)

    def weights(self, z, ws, Aws, colsq):
        """(per-sample weights, per-coordinate curvatures): (empty, ||a_j||^2) when the model is f itself."""
        if self.exact:
            return np.zeros(0), colsq
        n = z.shape[0]
        if self.newton:
            wt = np.asarray(self.loss.d2h(z), dtype=np.float64)
            top = self.scale if self.loss.smoothness is not None else float(wt.max(initial=0.0))
            wt = np.maximum(wt, CURVATURE_FLOOR * max(top, 1e-300))
        else:
            wt = np.full(n, self.scale)
        cw = np.zeros(colsq.shape[0])
        sq = Aws.multiply(Aws) if hasattr(Aws, "multiply") else Aws * Aws
        cw[ws] = np.asarray(sq.T @ wt).reshape(-1)
        return wt, cw

    def line_search(self, prob, x_old, x_new, z_old, g):
        """x_old + t (x_new - x_old) with the largest t in {1, 1/2, ...} of sufficient decrease."""
        loss = self.loss
        dx = x_new - x_old
        z_new = np.asarray(loss.op.mv(x_new), dtype=np.float64)
        if not self.newton:  # the majorizer: monotone by construction
            return x_new, z_new, 0
        pen_old = prob.penalty(x_old)
        f_old = loss.value_z(z_old) + pen_old
        decrease = float(g @ dx) + prob.penalty(x_new) - pen_old
        dz = z_new - z_old
        t, tries = 1.0, 0
        while decrease < 0 and t >= MIN_STEP:
            x_t, z_t = x_old + t * dx, z_old + t * dz
            if loss.value_z(z_t) + prob.penalty(x_t) <= f_old + ARMIJO * t * decrease:
                return x_t, z_t, tries
            t *= 0.5
            tries += 1
        return x_old, z_old, tries
