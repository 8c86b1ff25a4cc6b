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
coordinate by its KKT distance (:func:`cvxpar.certificate.kkt_distances`), work on the free
coordinates plus the worst violators (size max(p0, 2 |free|)), run CD epochs there until the
working-set score falls below 0.3 x the outer one.  The active-set Newton polish
(:mod:`cvxpar.solvers.polish`), exact once the split is right, is tried at every outer step
when A is tall, and when A is wide once CD has moved and its free set has settled (at most
n_samples free coordinates, grown by at most 5% since the previous outer step: a polish on an
unsettled split is a large, wasted least-squares solve).  The polish reads its split from
u = prox(x - t grad f(x)): for a convex psi every t > 0 has the same fixed points, and
t = 1 / max_j ||a_j||^2 (the largest CD step) needs no power iteration; for a nonconvex psi,
where the split decides which stationary point is reached, t = 1 / L as in "pg"/"fista".
The working set's score is computed from A_ws^T r only, and the full certificate only when
max(score) says it can hold (for a feasible x with Box constraints only, its residual is
max(score) and its scale max(1, ||grad||_inf); :mod:`cvxpar.certificate`).

Dense A is copied once to Fortran order (columns contiguous); scipy.sparse A runs on its CSC
arrays.  Any psi (the 1-D prox is the exact global one, so CD is monotone for nonconvex psi
too); per-coordinate Box bounds only with a convex psi (clip after the prox is exact there).
"""

from __future__ import annotations

import numba
import numpy as np

from cvxpar._prox_kernels import _convex_at_t, _nonconvex_at_t
from cvxpar.certificate import kkt_distances
from cvxpar.prox import pieces
from cvxpar.solvers._common import Monitor, Outcome, check
from cvxpar.solvers.polish import newton_polish

#: Working-set settings (skglm AndersonCD defaults).
P0 = 10
INNER_RATIO = 0.3
EPOCH_CHECK = 10
#: An inner solve on a working set stops after this many epochs.
INNER_EPOCHS = 50 * EPOCH_CHECK
#: Proximal Newton (non-quadratic losses, convex psi): h'' floored at this fraction of its scale, the
#: Armijo constant of the line search and its smallest step.
CURVATURE_FLOOR = 1e-3
ARMIJO = 1e-4
MIN_STEP = 1e-10


@numba.njit(inline="always")
def _prox1d(v, t, slope, lo, hi, ax, av, ex, ev, convex):
    """The exact 1-D prox of t*psi (the per-element-t kernels of cvxpar._prox_kernels)."""
    if convex:
        return _convex_at_t(v, t, slope, lo, hi)
    return _nonconvex_at_t(v, t, slope, lo, hi, ax, av, ex, ev)


@numba.njit(inline="always")
def _coordinate_value(xj, s, c, j, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub):
    """The new x_j: the exact 1-D prox of lam_j/c psi at x_j + s/c (s = a_j^T r, c = a_j^T W a_j),
    clipped to [lb_j, ub_j] when there are bounds (exact for convex psi; nonconvex psi comes with
    scalar bounds folded into psi)."""
    lj = lam[0] if lam.size == 1 else lam[j]
    xn = _prox1d(xj + s / c, lj / c, slope, lo, hi, ax, av, ex, ev, convex)
    if lb.size:
        xn = min(max(xn, lb[j]), ub[j])
    return xn


@numba.njit(cache=True, nogil=True)
def _epochs_dense(A, r, x, ws, colsq, wt, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub, n_epochs):
    n = A.shape[0]
    for _ in range(n_epochs):
        for jj in range(ws.size):
            j = ws[jj]
            c = colsq[j]
            if c == 0.0:
                continue
            s = 0.0
            for i in range(n):
                s += A[i, j] * r[i]
            xn = _coordinate_value(x[j], s, c, j, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub)
            dx = xn - x[j]
            if dx != 0.0:
                for i in range(n):
                    r[i] -= dx * (wt[i] if wt.size else 1.0) * A[i, j]
                x[j] = xn


@numba.njit(cache=True, nogil=True)
def _epochs_sparse(
    indptr, indices, data, r, x, ws, colsq, wt, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub, n_epochs
):
    for _ in range(n_epochs):
        for jj in range(ws.size):
            j = ws[jj]
            c = colsq[j]
            if c == 0.0:
                continue
            s = 0.0
            for p in range(indptr[j], indptr[j + 1]):
                s += data[p] * r[indices[p]]
            xn = _coordinate_value(x[j], s, c, j, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub)
            dx = xn - x[j]
            if dx != 0.0:
                for p in range(indptr[j], indptr[j + 1]):
                    i = indices[p]
                    r[i] -= dx * (wt[i] if wt.size else 1.0) * data[p]
                x[j] = xn


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, p0: int = P0,
        polish_steps: int = 8) -> Outcome:
    """Outer working-set iterations (max_iter bounds the total number of epochs)."""
    loss = prob.loss
    op = loss.op
    if prob.lb is not None and not prob.kpsi.is_convex:
        raise ValueError("method 'cd' with a nonconvex psi needs scalar Box bounds; use 'fista' or 'pg'.")
    model = _Model(loss, prob.kpsi.is_convex)
    p = pieces(prob.kpsi)
    kernel_args = (p.slope, p.lo, p.hi, p.anchor_x, p.anchor_value, p.end_x, p.end_value, prob.kpsi.is_convex)
    lb = np.zeros(0) if prob.lb is None else np.asarray(prob.lb, dtype=np.float64)
    ub = np.zeros(0) if prob.ub is None else np.asarray(prob.ub, dtype=np.float64)
    lam = np.atleast_1d(np.asarray(prob.lam, dtype=np.float64))
    colsq = np.asarray(op.column_sq_norms(), dtype=np.float64)
    if op.kind == "dense":
        Af = np.asfortranarray(op.A, dtype=np.float64)

        def epochs(r, x, ws, k, cw, wt):
            _epochs_dense(Af, r, x, ws, cw, wt, lam, *kernel_args, lb, ub, k)
    else:
        Af = op.A

        def epochs(r, x, ws, k, cw, wt):
            _epochs_sparse(Af.indptr, Af.indices, Af.data, r, x, ws, cw, wt, lam, *kernel_args, lb, ub, k)

    x = np.array(prob.start(), dtype=np.float64)
    z = np.asarray(op.mv(x), dtype=np.float64)
    r = -np.asarray(loss.dh(z), dtype=np.float64)  # least squares: b - A x, carried exactly between outer steps
    d = prob.d
    n = loss.n_samples
    total = 0
    outer = 0
    polishes = 0
    backtracks = 0
    prev_free = -1
    # the polish's prox step: for a convex psi any t > 0 has the same fixed points (1 / the largest
    # coordinate curvature needs no power iteration); for a nonconvex psi t = 1 / L as in "pg"/"fista"
    step = 1.0 / max(float(colsq.max(initial=0.0)) * model.scale if prob.convex else loss.lipschitz(), 1e-300)
    while total < max_iter:
        outer += 1
        g = np.asarray(op.rmv(-r)) if model.exact else np.asarray(loss.grad_z(z))
        score = np.asarray(kkt_distances(x, g, prob.psi, prob.lam, prob.box))
        free = ~np.asarray(prob.fixed(x))
        n_free = int(free.sum())
        # for a feasible x with Box constraints only, the certificate's residual is max(score) and its
        # scale max(1, ||g||_inf): the certificate is computed when it can hold (or is printed)
        if monitor.verbose or float(score.max(initial=0.0)) <= tol * max(1.0, float(np.abs(g).max(initial=0.0))):
            cert = check(prob, x)
            monitor.row(total, cert, f"outer {outer}")
            if cert.certifies(tol):
                break
        # tall A: the polish is tried at every outer step; wide A: once CD has moved and its free set
        # has settled, at most n free coordinates (Ma & Xiao 2025 Thm 1) grown by at most 5% since
        # the previous outer step
        settled = n_free <= n and prev_free >= 0 and n_free <= 1.05 * prev_free
        prev_free = n_free
        if polish and (d <= n or total > 0 and settled):
            cert = check(prob, x)
            px, pcert, _ = newton_polish(prob, x, step, steps=polish_steps, tol=tol, check=lambda v: check(prob, v))
            polishes += 1
            monitor.row(total, pcert, "polish")
            if pcert.certifies(tol):
                x = np.asarray(px)
                break
            if pcert.objective < cert.objective:
                x = np.array(px, dtype=np.float64)
                z = np.asarray(op.mv(x), dtype=np.float64)
                r = -np.asarray(loss.dh(z), dtype=np.float64)
                g = np.asarray(loss.grad_z(z))
                score = np.asarray(kkt_distances(x, g, prob.psi, prob.lam, prob.box))
                free = ~np.asarray(prob.fixed(x))
        size = min(d, max(p0, 2 * int(free.sum())))
        prio = np.where(free, np.inf, score)
        ws = np.sort(np.argpartition(-prio, size - 1)[:size]) if size < d else np.arange(d)
        Aws = Af[:, ws]
        wt, cw = model.weights(z, ws, Aws, colsq)
        x_old = x.copy()
        target = INNER_RATIO * float(score.max())
        inner = 0
        gw = np.zeros(d)
        while total < max_iter:
            k = min(EPOCH_CHECK, max_iter - total)
            epochs(r, x, ws, k, cw, wt)
            total += k
            inner += k
            gw[ws] = -(Aws.T @ r)  # the working set's gradient (of the model) only
            ws_score = np.asarray(kkt_distances(x, gw, prob.psi, prob.lam, prob.box))[ws]
            if float(ws_score.max()) <= max(target, INNER_RATIO * tol) or inner >= INNER_EPOCHS:
                break
        if not model.exact:
            x, z, tries = model.line_search(prob, x_old, x, z, g)
            backtracks += tries
            r = -np.asarray(loss.dh(z), dtype=np.float64)
    return Outcome(x, total, info={"outer": outer, "polishes": polishes, "epochs": total, "backtracks": backtracks})


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
