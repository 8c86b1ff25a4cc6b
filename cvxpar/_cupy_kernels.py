"""CuPy fast paths for the accelerated proximal-gradient tail of :mod:`cvxpar.batch`.

One iteration of FISTA with gradient restart (Beck & Teboulle 2009, eq. (4.1)-(4.3); restart
test of O'Donoghue & Candes 2015, sec. 3.2) on k columns at once, for a quadratic loss whose
gradient is affine, written so that the extrapolated point is never stored:

    y      = x + beta_j (x - x_prev)                      (extrapolation, per column j)
    grad_y = (1 + beta_j) g - beta_j g_prev               (g = grad f(x): exact for an affine gradient)
    x_new  = prox_{t lam_j psi}(y - t grad_y)             (search in prox_table(psi, t lam_j), then shift)
    p_j    = sum_i (y - x_new)_i (x_new - x)_i            (restart when p_j > 0)
    r_j    = max_i dist(-g_i, lam_j dpsi(x_i))            (stationarity of x: the certificate's residual)
    s_j    = max_i |g_i|                                  (the certificate's scale max(1, s_j))

One ``ElementwiseKernel`` does all of it per element; three column reductions in float64 follow
(only the first every iteration), and a k-element kernel updates the momentum.  Nothing is read
back to the host: the caller reads r and s every few iterations.  The products with A are cuBLAS
GEMM/GEMV calls that read a C-ordered A in place for both A x and A^T r (:func:`gemm`).

The reference is the unfused array-API step :func:`cvxpar.batch.array_tail`, which calls the one
prox (:meth:`cvxpar.PAR.prox`) and the one stationarity measure
(:meth:`cvxpar.PAR.subdifferential_distance`); the kernel is checked against it on a GPU.

**Wiring into a single-vector solver.**  The simplest route is the batched solver with one
column: for a dense CuPy least-squares problem with a scalar lam (and at most a scalar Box),
``res = cvxpar.batch.solve_batch(loss, psi, [lam], constraints=C, x0=x0, tol=tol,
max_iter=max_iter, certify=False)`` runs exactly this loop with GEMV products, and
``res.x[:, 0]`` can go to the shared certificate and polish.  A loop of its own uses the pieces:
build ``tail = FistaTail(psi, [lam], 1 / L)`` once; keep x, x_prev, g = grad f(x), g_prev as
(d, 1) arrays and ``theta, beta`` as length-1 float64 arrays (ones, zeros); per iteration call
``x_new, p, r, s = tail(x, x_prev, g, g_prev, beta, want_residual)`` (r, s only on check
iterations: read them with ``.get()``), then ``theta, beta = momentum_cupy(theta, p, True)``,
``g_new = A^T (A x_new - b)`` with two :func:`gemm` calls, and shift (x_prev, x) <- (x, x_new),
(g_prev, g) <- (g, g_new).  A backtracking step change is ``tail.set_step(1 / L)``.  Not
covered: per-coordinate lam arrays and non-quadratic losses (grad_y is then not the
extrapolation of the gradients): use the array-API path there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxpar.prox import TIE_ULPS, prox_table


@dataclass(frozen=True)
class PackedTables:
    """The prox tables of t_j * psi for k step sizes t_j, one row per column, padded.

    ``thr`` (k, P-1) is padded with +inf, so a search never enters the padding; the piece
    arrays (k, P) repeat their last entry; ``n_pieces[j]`` is the true length of row j.
    """

    thr: np.ndarray
    slope: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    ax: np.ndarray
    av: np.ndarray
    ex: np.ndarray
    ev: np.ndarray
    n_pieces: np.ndarray
    exact: bool

    @property
    def width(self) -> int:
        return int(self.slope.shape[1])


def pack_tables(psi, taus) -> PackedTables:
    """Rows ``prox_table(psi, tau_j)`` (the threshold tables of :mod:`cvxpar.prox`) for each tau_j."""
    tables = [prox_table(psi, float(tau)) for tau in np.asarray(taus, dtype=np.float64).reshape(-1)]
    if any(tb.enumerate_all for tb in tables):
        raise ValueError(
            "a step t * lam is so large that t * slope leaves the float64 range; rescale the problem (lam or the "
            "loss) so that t * lam * max|slope| stays below ~1e300."
        )
    width = max(tb.slope.size for tb in tables)
    k = len(tables)

    def rows(name, fill=None):
        out = np.empty((k, width - 1 if name == "thresholds" else width))
        for j, tb in enumerate(tables):
            a = getattr(tb, name)
            out[j, : a.size] = a
            out[j, a.size :] = fill if fill is not None else a[-1]
        return out

    return PackedTables(
        thr=rows("thresholds", np.inf),
        slope=rows("slope"),
        lo=rows("lo"),
        hi=rows("hi"),
        ax=rows("anchor_x"),
        av=rows("anchor_value"),
        ex=rows("end_x"),
        ev=rows("end_value"),
        n_pieces=np.array([tb.slope.size for tb in tables], dtype=np.int32),
        exact=all(tb.exact for tb in tables),
    )


# ---------------------------------------------------------------------- momentum
def momentum(xp, theta, p, accelerate: bool):
    """(theta_next, beta): FISTA's theta_{k+1} = (1 + sqrt(1 + 4 theta_k^2)) / 2 and
    beta = (theta_k - 1) / theta_{k+1}, reset to (1, 0) where the restart quantity p > 0."""
    if not accelerate:
        return xp.ones_like(theta), xp.zeros_like(theta)
    theta_next = (1.0 + xp.sqrt(1.0 + 4.0 * theta * theta)) / 2.0
    beta = (theta - 1.0) / theta_next
    restart = p > 0
    return xp.where(restart, xp.ones_like(theta), theta_next), xp.where(restart, xp.zeros_like(beta), beta)


# ---------------------------------------------------------------------- CuPy kernels
_TAIL_SOURCE = r"""
const int j = (int)(i % k);
const double xv = (double)x, b = beta[j], lj = lam[j], tau = t * lj;
const double y = xv + b * (xv - (double)x_prev);
const double gv = (double)g;
const double gy = (1.0 + b) * gv - b * (double)g_prev;
const double v = y - t * gy;
double best_x = v;
if (v == v) {
    const int npc = n_pieces[j];
    const ptrdiff_t trow = (ptrdiff_t)j * (width - 1), prow = (ptrdiff_t)j * width;
    int a = 0, e = npc - 1;
    while (a < e) { int mid = (a + e) >> 1; if (thr[trow + mid] < v) a = mid + 1; else e = mid; }
    const double w = tau > 1.0 ? tau : 1.0, tw = tau / w;
    double best_l = 0, best_p = 0;
    for (int c = 0; c < (exact ? 1 : 3); ++c) {  // piece a, then a - 1, then a + 1 (as cvxpar.prox)
        const int kk = c == 0 ? a : (c == 1 ? (a > 0 ? a - 1 : 0) : (a + 1 < npc ? a + 1 : npc - 1));
        const double sl = slope[prow + kk], l = lo[prow + kk], h = hi[prow + kk];
        const double sh = tau * sl;
        double xc = v - sh;
        xc = xc < l ? l : (xc > h ? h : xc);
        const bool near_end = (xc - ax[prow + kk]) > (ex[prow + kk] - xc);  // psi from the nearer end
        const double anx = near_end ? ex[prow + kk] : ax[prow + kk];
        const double lvl = near_end ? ev[prow + kk] : av[prow + kk];
        const double sp = sl * (xc - anx);
        bool take = (c == 0);
        if (!take) {  // the sign of (f(xc) - f(best_x)) / max(1, tau), as cvxpar.prox._pick
            const double dl = lvl - best_l;
            const double hc = 0.5 * xc, hb = 0.5 * best_x;  // (xc + best_x) / 2 - v, as cvxpar.prox.mid_gap
            const double s2 = hc + hb, z = s2 - hc;
            double e2 = (hc - (s2 - z)) + (hb - z);
            e2 = e2 != e2 ? 0.0 : e2;
            const double quad = (xc - best_x) * (((s2 - v) + e2) / w);
            const double d = tw * (dl + (sp - best_p)) + quad;
            if (isinf(d)) {
                take = d < 0.0;
            } else {
                const double cc = tie_ulps * 2.220446049250313e-16;
                const double tol = cc * (tw * fabs(dl)) + cc * (tw * fabs(sp)) + cc * (tw * fabs(best_p)) + cc * fabs(quad);
                take = (d < -tol) ||
                       (fabs(d) <= tol && (fabs(xc) < fabs(best_x) || (fabs(xc) == fabs(best_x) && xc < best_x)));
            }
        }
        if (take) { best_x = xc; best_l = lvl; best_p = sp; }
    }
}
x_new = (T)best_x;
const double xn = (double)x_new;
prod = (y - xn) * (xn - xv);
if (want) {
    int a = 0, e = nq;
    while (a < e) { int mid = (a + e) >> 1; if (q[mid] <= xv) a = mid + 1; else e = mid; }
    const int jq = a > 0 ? a - 1 : 0;
    const double right = s[a];
    const double left = (xv == q[jq]) ? s[jq] : right;
    double slo = fmin(left, right), shi = fmax(left, right);
    slo = lj > 0 ? lj * slo : (isfinite(slo) ? 0.0 : slo);
    shi = lj > 0 ? lj * shi : (isfinite(shi) ? 0.0 : shi);
    const double c = -gv;
    double d = fmax(fmax(slo - c, c - shi), 0.0);
    dist = (xv < dom_lo || xv > dom_hi) ? __longlong_as_double(0x7ff0000000000000ULL) : d;
    gabs = fabs(gv);
}
"""

_MOMENTUM_SOURCE = r"""
if (!accelerate) { theta_next = 1.0; beta = 0.0; }
else if (p > 0) { theta_next = 1.0; beta = 0.0; }
else {
    theta_next = 0.5 * (1.0 + sqrt(1.0 + 4.0 * theta * theta));
    beta = (theta - 1.0) / theta_next;
}
"""

_kernels: dict[str, object] = {}


def _kernel(name: str):
    """Compile on first use (CuPy caches the binary on disk)."""
    if name not in _kernels:
        import cupy

        if name == "tail":
            _kernels[name] = cupy.ElementwiseKernel(
                "T x, T x_prev, T g, T g_prev, raw float64 beta, raw float64 lam, float64 t, int64 k, "
                "raw float64 thr, raw float64 slope, raw float64 lo, raw float64 hi, raw float64 ax, raw float64 av, "
                "raw float64 ex, raw float64 ev, "
                "raw int32 n_pieces, int32 width, bool exact, raw float64 q, int32 nq, raw float64 s, "
                "float64 dom_lo, float64 dom_hi, bool want, float64 tie_ulps",
                "T x_new, float64 prod, float64 dist, float64 gabs",
                _TAIL_SOURCE,
                "cvxpar_fista_tail",
                options=("--fmad=false",),  # no FMA contraction: bit-for-bit the NumPy reference's rounding
            )
        else:
            _kernels[name] = cupy.ElementwiseKernel(
                "float64 theta, float64 p, bool accelerate",
                "float64 theta_next, float64 beta",
                _MOMENTUM_SOURCE,
                "cvxpar_fista_momentum",
            )
    return _kernels[name]


class FistaTail:
    """The fused tail on CuPy arrays for one PAR, k per-column lam_j and one step t.

    Holds the packed prox tables and the scratch buffers on the device; call it once per
    iteration.  ``select(idx)`` keeps only the columns ``idx`` (host integers), for callers that
    drop converged columns.
    """

    def __init__(self, psi, lam, t: float) -> None:
        import cupy

        self.psi = psi
        self.lam_host = np.asarray(lam, dtype=np.float64).reshape(-1)
        self.t = float(t)
        self._q = cupy.asarray(psi.breakpoints)
        self._s = cupy.asarray(psi.slopes)
        self._upload()

    def _upload(self) -> None:
        import cupy

        tables = pack_tables(self.psi, self.t * self.lam_host)
        self.tables = tables
        self._dev = {f: cupy.asarray(getattr(tables, f).ravel()) for f in ("thr", "slope", "lo", "hi", "ax", "av", "ex", "ev", "n_pieces")}
        self._lam = cupy.asarray(self.lam_host)
        self._buffers = None

    def set_step(self, t: float) -> None:
        """A new step size: rebuild the tables (thresholds depend on t * lam_j)."""
        self.t = float(t)
        self._upload()

    def select(self, idx) -> None:
        self.lam_host = self.lam_host[np.asarray(idx)]
        self._upload()

    def __call__(self, x, x_prev, g, g_prev, beta, want_residual: bool):
        import cupy

        k = x.shape[1]
        if self._buffers is None or self._buffers[0].shape != x.shape:
            self._buffers = tuple(cupy.empty(x.shape, dtype=cupy.float64) for _ in range(3))
        prod, dist, gabs = self._buffers
        x_new = cupy.empty_like(x)  # the caller keeps it as the next x; prod/dist/gabs are scratch
        d = self._dev
        lo_dom, hi_dom = self.psi.domain
        _kernel("tail")(
            x, x_prev, g, g_prev, beta, self._lam, self.t, k,
            d["thr"], d["slope"], d["lo"], d["hi"], d["ax"], d["av"], d["ex"], d["ev"], d["n_pieces"], np.int32(self.tables.width),
            bool(self.tables.exact), self._q, np.int32(self._q.size), self._s, float(lo_dom), float(hi_dom),
            bool(want_residual), TIE_ULPS,
            x_new, prod, dist, gabs,
        )
        p = cupy.sum(prod, axis=0)
        if not want_residual:
            return x_new, p, None, None
        return x_new, p, cupy.max(dist, axis=0), cupy.max(gabs, axis=0)


def momentum_cupy(theta, p, accelerate: bool):
    """:func:`momentum` as one k-element kernel."""
    return _kernel("momentum")(theta, p, bool(accelerate))


def gemm(A, X, out, trans: bool = False, alpha: float = 1.0, beta: float = 0.0):
    """out <- alpha op(A) X + beta out with cuBLAS, op(A) = A or A^T, A read in place (no transpose copy).

    A 1-D X, or a single column, goes through GEMV; more columns through GEMM.  ``out`` must be
    C-contiguous.
    """
    import cupy
    from cupy import cublas

    op = "T" if trans else "N"
    if X.ndim == 1 or X.shape[1] == 1:
        cublas.gemv(op, alpha, A, cupy.ascontiguousarray(X.reshape(-1)), beta, out.reshape(-1))
        return out
    return cublas.gemm(op, "N", A, X, out=out, alpha=alpha, beta=beta)


__all__ = ["FistaTail", "PackedTables", "gemm", "momentum", "momentum_cupy", "pack_tables"]

