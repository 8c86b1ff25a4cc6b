"""Working-set coordinate descent ("cd") for least squares, NumPy fast path (numba).

Psi is separable, so each coordinate update is an exact 1-D prox:

    x_j <- prox_{(lam_j / ||a_j||^2) psi_box}( x_j + a_j^T r / ||a_j||^2 ),   r = b - A x,

which lands exactly on a breakpoint whenever the 1-D minimizer is there (so the quantized
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

import numpy as np

from cvxpar._prox_kernels import _convex_at_t, _nonconvex_at_t
from cvxpar.certificate import kkt_distances
from cvxpar.prox import pieces
from cvxpar.solvers._common import Monitor, Outcome, check
from cvxpar.solvers.polish import newton_polish

try:
    import numba

    AVAILABLE = True
except ImportError:  # pragma: no cover - numba is a core dependency
    AVAILABLE = False

#: Working-set settings (skglm AndersonCD defaults).
P0 = 10
INNER_RATIO = 0.3
EPOCH_CHECK = 10


if AVAILABLE:

    @numba.njit(inline="always")
    def _prox1d(v, t, slope, lo, hi, ax, av, ex, ev, convex):
        """The exact 1-D prox of t*psi (the per-element-t kernels of cvxpar._prox_kernels)."""
        if convex:
            return _convex_at_t(v, t, slope, lo, hi)
        return _nonconvex_at_t(v, t, slope, lo, hi, ax, av, ex, ev)

    @numba.njit(inline="always")
    def _coordinate_value(xj, s, c, j, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub):
        """The new x_j: the exact 1-D prox of lam_j/c psi at x_j + s/c (s = a_j^T r, c = ||a_j||^2),
        clipped to [lb_j, ub_j] when there are bounds (exact for convex psi; nonconvex psi comes with
        scalar bounds folded into psi)."""
        lj = lam[0] if lam.size == 1 else lam[j]
        xn = _prox1d(xj + s / c, lj / c, slope, lo, hi, ax, av, ex, ev, convex)
        if lb.size:
            xn = min(max(xn, lb[j]), ub[j])
        return xn

    @numba.njit(cache=True, nogil=True)
    def _epochs_dense(A, r, x, ws, colsq, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub, n_epochs):
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
                        r[i] -= dx * A[i, j]
                    x[j] = xn

    @numba.njit(cache=True, nogil=True)
    def _epochs_sparse(
        indptr, indices, data, r, x, ws, colsq, lam, slope, lo, hi, ax, av, ex, ev, convex, lb, ub, n_epochs
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
                        r[indices[p]] -= dx * data[p]
                    x[j] = xn


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, p0: int = P0,
        polish_steps: int = 8) -> Outcome:
    """Outer working-set iterations (max_iter bounds the total number of epochs)."""
    loss = prob.loss
    op = loss.op
    if prob.lb is not None and not prob.kpsi.is_convex:
        raise ValueError("method 'cd' with a nonconvex psi needs scalar Box bounds; use 'fista' or 'pg'.")
    p = pieces(prob.kpsi)
    kernel_args = (p.slope, p.lo, p.hi, p.anchor_x, p.anchor_value, p.end_x, p.end_value, prob.kpsi.is_convex)
    lb = np.zeros(0) if prob.lb is None else np.asarray(prob.lb, dtype=np.float64)
    ub = np.zeros(0) if prob.ub is None else np.asarray(prob.ub, dtype=np.float64)
    lam = np.atleast_1d(np.asarray(prob.lam, dtype=np.float64))
    colsq = np.asarray(op.column_sq_norms(), dtype=np.float64)
    if op.kind == "dense":
        Af = np.asfortranarray(op.A, dtype=np.float64)

        def epochs(r, x, ws, k):
            _epochs_dense(Af, r, x, ws, colsq, lam, *kernel_args, lb, ub, k)
    else:
        Af = op.A

        def epochs(r, x, ws, k):
            _epochs_sparse(Af.indptr, Af.indices, Af.data, r, x, ws, colsq, lam, *kernel_args, lb, ub, k)

    x = np.array(prob.start(), dtype=np.float64)
    r = loss.target - op.mv(x)
    d = prob.d
    n = loss.n_samples
    total = 0
    outer = 0
    polishes = 0
    prev_free = -1
    while total < max_iter:
        outer += 1
        g = -op.rmv(r)
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
            step = 1.0 / max(float(colsq.max(initial=0.0)) if prob.convex else loss.lipschitz(), 1e-300)
            px, pcert, _ = newton_polish(prob, x, step, steps=polish_steps, tol=tol, check=lambda v: check(prob, v))
            polishes += 1
            monitor.row(total, pcert, "polish")
            if pcert.certifies(tol):
                x = np.asarray(px)
                break
            if pcert.objective < cert.objective:
                x = np.array(px, dtype=np.float64)
                r = loss.target - op.mv(x)
                g = -op.rmv(r)
                score = np.asarray(kkt_distances(x, g, prob.psi, prob.lam, prob.box))
                free = ~np.asarray(prob.fixed(x))
        size = min(d, max(p0, 2 * int(free.sum())))
        prio = np.where(free, np.inf, score)
        ws = np.sort(np.argpartition(-prio, size - 1)[:size]) if size < d else np.arange(d)
        Aws = Af[:, ws]
        target = INNER_RATIO * float(score.max())
        inner = 0
        gw = np.zeros(d)
        while total < max_iter:
            k = min(EPOCH_CHECK, max_iter - total)
            epochs(r, x, ws, k)
            total += k
            inner += k
            gw[ws] = -(Aws.T @ r)  # the working set's gradient only
            ws_score = np.asarray(kkt_distances(x, gw, prob.psi, prob.lam, prob.box))[ws]
            if float(ws_score.max()) <= max(target, 0.3 * tol) or inner >= 50 * EPOCH_CHECK:
                break
    return Outcome(x, total, info={"outer": outer, "polishes": polishes, "epochs": total})
