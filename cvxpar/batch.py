"""Batched solves: many lambda values or right-hand sides of one least-squares PAR problem at once.

For j = 1..k this solves

    minimize_x  1/2 ||A x - b_j||^2 + lam_j * sum_i psi(x_i)      (x in a scalar Box, optionally)

with the k columns stacked in an (n, k) matrix X, so each iteration reads A twice with matrix-
matrix products (R = A X - B, G = A^T R) instead of 2k matrix-vector products: the arithmetic
intensity grows k-fold for the same memory traffic, which is what moves a bandwidth-bound
first-order method off the bandwidth roof (the roofline model: Williams, Waterman & Patterson 2009).

**Method.**  FISTA (Beck & Teboulle 2009, eq. (4.1)-(4.3)) with the gradient restart of
O'Donoghue & Candes (2015, sec. 3.2) decided per column, step 1/L with L = ||A||_2^2 (the loss's
padded power-iteration estimate, raised if a step ever shows a larger curvature
||A d||^2 / ||d||^2), and the prox of t lam_j psi per column by :func:`cvxpar.prox.prox` (one
scalar-t call when the lam_j agree, its per-element ``t`` for a convex psi, else one call per
column).  The gradient is affine, so the gradient at the extrapolated point is
the same extrapolation of the gradients at the iterates, and the stationarity residual of the
current iterate comes for free at each check (see :mod:`cvxpar._cupy_kernels`).  Nonconvex psi:
the same accelerated steps by default, a heuristic there (no convergence theorem covers it),
so only the certificate decides "stationary";
``momentum=False`` runs plain proximal gradient, which converges to a critical point (Attouch,
Bolte & Svaiter 2013, Thm. 5.1).

**Stopping, per column.**  Every ``check_every`` iterations, column j stops when the certificate's
residual max_i dist(-grad_i, lam_j dpsi(x_i) + N_C(x)_i) is at most tol * max(1, ||grad||_inf)
(the tolerance semantics of :mod:`cvxpar.certificate`); stopped columns leave the batch, so the
products shrink as the sweep converges.  Each column then gets an independent certificate
(:func:`cvxpar.certificate.certificate`, in float64 even for float32 iterations), and its status is the
shared rule on that certificate (:func:`cvxpar.solvers._common.status_of`).

**Without certificates** (``certify=False``, for timing the loop alone): the loop's own test is computed
in the iteration dtype, without the certificate's rounding bound or feasibility check, so it certifies
nothing, and no column is ``"optimal"``, ``"stationary"`` or ``"optimal_inaccurate"``: every column not
proven unbounded gets ``"max_iter"``, the status :mod:`cvxpar.result` defines for a stop without a
certificate, with a message giving the loop's residual against tol * scale; ``info["loop_converged"]``
says which columns met the loop's own test (for ``certify=True`` too).

**Backends.**  One code path for NumPy, CuPy and any Array-API library (array_api_strict, PyTorch)
through ``array_api_compat`` (and a scipy.sparse A on NumPy); results stay on the input's device.
On CuPy the iteration tail is
one fused kernel and the products are cuBLAS GEMMs (:mod:`cvxpar._cupy_kernels`); the host reads
k residuals every ``check_every`` iterations and nothing else.

**Unbounded columns.**  Before the first iteration, the recession test of :mod:`cvxpar.recession`
(the one :func:`cvxpar.solve` runs) decides whether the columns with lam_j > 0 are unbounded below;
for least squares the verdict does not depend on b_j or on the value of lam_j > 0, so one test decides
all of them.  Those columns get the status ``"unbounded"`` (x NaN, objective -inf) and never iterate.

**Result.**  A :class:`BatchResult`: the (n, k) solution matrix ``x`` plus per-column arrays of the
:class:`~cvxpar.result.SolveResult` fields; ``res[j]`` (or ``list(res)``) gives column j as a
``SolveResult``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cvxpar import _backend, _progress
from cvxpar import _cupy_kernels as _ck
from cvxpar._validation import as_lam, check_tol
from cvxpar.par import PAR
from cvxpar.result import MAX_ITER, OPTIMAL, STATIONARY, UNBOUNDED, SolveResult
from cvxpar.solve import _positive_int_or_none
from cvxpar.solvers._common import INACCURATE_FACTOR, status_of

#: Iterations between two stopping checks (each check reads k numbers back to the host).
CHECK_EVERY = 10
DEFAULT_MAX_ITER = 20_000
#: Iterating in a dtype with machine epsilon eps stops no tighter than this many eps.
DTYPE_TOL_EPS = 100.0
#: When a step shows curvature above L, L becomes this multiple of it.
CURVATURE_RAISE = 1.1
#: A column whose residual/tol has not dropped below STALL_GAIN times its best for STALL_CHECKS
#: checks has hit the rounding floor of its dtype; it stops when within the shared
#: optimal_inaccurate factor of the tolerance (float32 iterates reach about 1e-6..1e-5 relative).
STALL_GAIN = 0.9
STALL_CHECKS = 30
#: A step's curvature counts as above L beyond this relative margin (rounding of A d).
CURVATURE_RTOL = 1e-4


@dataclass
class BatchResult:
    """Outcome of :func:`solve_batch`: column j of ``x`` solves the problem with ``lams[j]``, ``b[:, j]``.

    ``x`` is (n, k) in the input's namespace and on its device; ``status`` is a list of k strings
    and ``objective``, ``residual``, ``quantization_rate``, ``iterations`` are NumPy arrays of
    length k; ``gap`` is a list (None where no gap is defined).  ``res[j]`` is column j as a
    :class:`~cvxpar.result.SolveResult` (its ``solve_time`` is the whole batch's time).

    Parameters
    ----------
    x : array of shape (n_features, k)
        The solutions, one per column.
    status : list of str
        Per column: ``"optimal"``, ``"stationary"``, ``"optimal_inaccurate"``, ``"max_iter"``,
        ``"diverged"`` or ``"unbounded"`` (the meanings of :class:`~cvxpar.result.SolveResult`); the
        first three only from the column's independent certificate (``certify=True``).
    objective, iterations, residual, quantization_rate : numpy.ndarray of shape (k,)
        Per-column values of the :class:`~cvxpar.result.SolveResult` fields.
    gap : list of float or None
        Per-column duality gaps (None where none is defined).
    lams : numpy.ndarray of shape (k,)
        The lam of each column.
    solve_time : float
        Seconds for the whole batch.
    method : str
        ``"fista-batch"`` (or ``"pg-batch"`` with ``momentum=False``).
    info : dict
        Extras: ``"lipschitz"`` (the L used), ``"tol_effective"`` (tol raised to the dtype's floor),
        ``"check_every"``, ``"fused_kernels"``, ``"loop_converged"`` (a boolean array of length k: the
        column met the loop's own, uncertified residual test before max_iter); when columns are unbounded below, ``"direction"`` (a
        direction v proving it, shared by every such column) and ``"rate"`` (F_inf(v) per column, NaN
        for the bounded ones).
    message : list of str
        Per column: why it has its status.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> from cvxpar.batch import solve_batch
    >>> loss = cvxpar.losses.LeastSquares(np.eye(2), np.array([1.0, -2.0]))
    >>> res = solve_batch(loss, cvxpar.pars.l1(), [0.5, 3.0])
    >>> len(res), [r.status for r in res]
    (2, ['optimal', 'optimal'])
    >>> res[1].x.round(6), res[1].info["lam"]
    (array([0., 0.]), 3.0)
    """

    x: Any
    status: list[str]
    objective: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    gap: list[float | None]
    quantization_rate: np.ndarray
    lams: np.ndarray
    solve_time: float
    method: str
    info: dict[str, Any] = field(default_factory=dict)
    message: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.status)

    def __getitem__(self, j: int) -> SolveResult:
        return SolveResult(
            x=self.x[:, j],
            status=self.status[j],
            objective=float(self.objective[j]),
            iterations=int(self.iterations[j]),
            solve_time=self.solve_time,
            residual=float(self.residual[j]),
            gap=self.gap[j],
            quantization_rate=float(self.quantization_rate[j]),
            method=self.method,
            message=self.message[j],
            info={"lam": float(self.lams[j]), "column": j,
                  **({"direction": self.info["direction"], "rate": float(self.info["rate"][j])}
                     if self.status[j] == UNBOUNDED else {})},
        )

    def __iter__(self):
        return (self[j] for j in range(len(self)))

    def __repr__(self) -> str:
        counts = {s: self.status.count(s) for s in dict.fromkeys(self.status)}
        return (
            f"BatchResult(k={len(self)}, status={counts}, max residual={float(np.max(self.residual)):.3e}, "
            f"iterations={int(np.min(self.iterations))}..{int(np.max(self.iterations))}, "
            f"solve_time={self.solve_time:.3g}s, method={self.method!r})"
        )


# ---------------------------------------------------------------------- the problem data
def _host(xp, a) -> np.ndarray:
    """A small array as float64 NumPy (one device-to-host copy)."""
    if _backend.is_numpy_namespace(xp):
        return np.asarray(a, dtype=np.float64)
    if _backend.is_cupy_array(a):
        return a.get().astype(np.float64)
    try:
        return np.asarray(np.from_dlpack(a), dtype=np.float64)
    except Exception:  # a device the DLPack protocol cannot export to NumPy
        return np.array([float(a[j]) for j in range(a.shape[0])], dtype=np.float64)


def _least_squares_data(loss):
    """(xp, A, b) of cvxpar.losses.LeastSquares with a dense A (any namespace) or a scipy.sparse A."""
    from cvxpar.losses import LeastSquares

    if not isinstance(loss, LeastSquares) or loss.op.kind not in ("dense", "sparse"):
        raise TypeError(
            "solve_batch needs cvxpar.losses.LeastSquares(A, b) with a dense A (any Array-API namespace) or a "
            f"scipy.sparse A; got {type(loss).__name__}"
            + (f" with a {loss.op.kind} A" if isinstance(loss, LeastSquares) else "")
            + ". Solve other problems one at a time with cvxpar.solve."
        )
    return loss.op.xp, loss.op.A, loss.target


def _columns(xp, A, b, lams, rhs):
    """(B (m, k), lams (k,) host float64): lams and the right-hand sides broadcast against each other."""
    lam_host = np.atleast_1d(as_lam(lams, np.zeros(0), name="lams (one per column)"))
    m = A.shape[0]
    if rhs is None:
        B = xp.reshape(b, (m, 1))
    else:
        B = rhs if hasattr(rhs, "__array_namespace__") and _backend.array_namespace(rhs) is xp else _backend.asarray_like(xp, np.asarray(rhs), A)
        B = xp.reshape(B, (m, 1)) if B.ndim == 1 else B
        if B.ndim != 2 or B.shape[0] != m:
            raise ValueError(f"rhs must be (n_samples, k) = ({m}, k) or a vector of length {m}; got shape {tuple(B.shape)}.")
        if not bool(xp.all(xp.isfinite(B))):
            raise ValueError("rhs contains NaN or inf entries; clean the data before solving.")
    k = max(lam_host.size, B.shape[1])
    if lam_host.size not in (1, k) or B.shape[1] not in (1, k):
        raise ValueError(f"{lam_host.size} lams and {B.shape[1]} right-hand sides: give one of each per column, or a single one.")
    B = xp.astype(B, A.dtype)
    if B.shape[1] != k:
        B = xp.broadcast_to(B, (m, k))
    return B, np.broadcast_to(lam_host, (k,)).copy()


def _effective_psi(psi: PAR, constraints, n: int) -> PAR:
    """psi restricted to a scalar Box (exact for any curvature); other constraints are refused."""
    from cvxpar.constraints import FeasibleSet

    feasible = FeasibleSet(constraints, n)
    if not feasible.items:
        return psi
    uniform = feasible.scalar_bounds
    if feasible.has_rows or uniform is None:
        raise ValueError("solve_batch supports no constraints or bounds that are the same for every coordinate "
                         "(Box with scalar bounds, NonNeg); use cvxpar.solve per problem otherwise.")
    restricted = None if feasible.empty else psi.restrict(*uniform)
    if restricted is None:
        raise ValueError("the Box misses the domain of psi: every problem is infeasible.")
    return restricted


# ---------------------------------------------------------------------- the array-API tail
class _ArrayTail:
    """The tail of :mod:`cvxpar._cupy_kernels` in array-API calls, unfused (any namespace)."""

    def __init__(self, xp, psi: PAR, lam, t: float) -> None:
        self.xp, self.psi, self.lam, self.t = xp, psi, np.asarray(lam, dtype=np.float64), float(t)

    def set_step(self, t: float) -> None:
        self.t = float(t)

    def select(self, idx) -> None:
        self.lam = self.lam[np.asarray(idx)]

    def __call__(self, x, x_prev, g, g_prev, beta, want_residual: bool):
        return array_tail(self.xp, self.psi, x, x_prev, g, g_prev, beta, self.lam, self.t, want_residual)


def array_tail(xp, psi: PAR, x, x_prev, g, g_prev, beta, lam, t: float, want_residual: bool = True):
    """One step of the batched FISTA tail with array-API calls: ``(x_new, p, r, s)``.

    The unfused step the fused CuPy kernel is checked against (see :mod:`cvxpar._cupy_kernels` for the
    formulas): with the extrapolation y = x + beta (x - x_prev) and its gradient
    gy = (1 + beta) g - beta g_prev (the gradient is affine), x_new = prox_{t lam psi}(y - t gy) per
    column (:meth:`PAR.prox`), and the residual of x per column from :meth:`PAR.subdifferential_distance`
    (the certificate's).

    Parameters
    ----------
    xp : module
        The array namespace of x.
    psi : PAR
    x, x_prev : arrays of shape (n, k)
        The current and previous iterates, one column per problem.
    g, g_prev : arrays of shape (n, k)
        Their gradients.
    beta : array of shape (k,)
        The momentum per column (float64, x's namespace).
    lam : numpy.ndarray of shape (k,)
        The lam of each column.
    t : float
        The step.
    want_residual : bool, default True
        Also compute the stationarity residual of x per column.

    Returns
    -------
    x_new : array of shape (n, k)
        The next iterates, in x's dtype.
    p : array of shape (k,)
        sum_i (y - x_new)_i (x_new - x)_i per column (the gradient-restart test of O'Donoghue & Candes 2015).
    r, s : arrays of shape (k,) or None
        The residual max_i dist(-g_i, lam dpsi(x_i)) and max_i |g_i| per column (None when
        ``want_residual`` is False).

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> from cvxpar.batch import array_tail
    >>> psi = cvxpar.pars.l1([0.0])
    >>> x = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> g = np.array([[0.5, -0.2], [0.0, 0.0]])
    >>> beta = np.zeros(2)
    >>> x_new, p, r, s = array_tail(np, psi, x, x, g, g, beta, np.array([0.1, 0.1]), t=1.0)
    >>> x_new                                # prox of 0.1 |.| at x - g
    array([[0.4, 0.1],
           [0. , 1.9]])
    >>> r, s                                 # residual of x per column: dist(-g_i, 0.1 dpsi(x_i))
    (array([0.6, 0.1]), array([0.5, 0.2]))
    """
    lam_x = _backend.asarray_like(xp, lam, beta)
    x64, xp64, g64, gp64 = (xp.astype(a, xp.float64, copy=False) for a in (x, x_prev, g, g_prev))
    y = x64 + beta * (x64 - xp64)
    gy = (1.0 + beta) * g64 - beta * gp64
    x_new = xp.astype(_prox_columns(xp, psi, y - t * gy, t * lam, t * lam_x), x.dtype, copy=False)
    xn64 = xp.astype(x_new, xp.float64, copy=False)
    p = xp.sum((y - xn64) * (xn64 - x64), axis=0)
    if not want_residual:
        return x_new, p, None, None
    dist = psi.subdifferential_distance(x64, -g64, lam_x)
    return x_new, p, xp.max(dist, axis=0), xp.max(xp.abs(g64), axis=0)


def _prox_columns(xp, psi: PAR, U, taus, taus_x):
    """Column j of U through prox_{tau_j psi}: one scalar-t call when the taus agree (many
    right-hand sides), else the per-element t of :func:`cvxpar.prox.prox` (convex psi: a
    search per element), else one scalar-t call per column (nonconvex psi, where per-element t
    would compare every piece)."""
    n, k = U.shape
    if np.all(taus == taus[0]):
        return psi.prox(U, float(taus[0]))
    if psi.is_convex:
        tau = xp.reshape(xp.broadcast_to(taus_x, (n, k)), (-1,))
        return xp.reshape(psi.prox(xp.reshape(U, (-1,)), tau), (n, k))
    return xp.stack([psi.prox(U[:, j], float(taus[j])) for j in range(k)], axis=1)


# ---------------------------------------------------------------------- the solver
def solve_batch(
    loss,
    psi: PAR,
    lams,
    *,
    rhs=None,
    constraints=None,
    x0=None,
    tol: float = 1e-8,
    max_iter: int | None = None,
    check_every: int = CHECK_EVERY,
    momentum: bool = True,
    certify: bool = True,
    fused: bool | None = None,
    verbose: bool = False,
    progress: bool = False,
) -> BatchResult:
    """Solve min 1/2||A x - b_j||^2 + lam_j sum_i psi(x_i) for k columns at once (module docstring).

    Parameters
    ----------
    loss : cvxpar.losses.LeastSquares
        A (dense in any Array-API namespace, its dtype the iteration dtype; or scipy.sparse) and b.
    psi : PAR
    lams : float or 1-D sequence
        One lam per column (a lambda sweep) or one for all.
    rhs : (n_samples, k) array, optional
        Many right-hand sides (replacing the loss's b), in A's namespace or NumPy.
    constraints : None or a scalar :class:`~cvxpar.constraints.Box`
    x0 : (n_features,) or (n_features, k) array, optional
        Warm start (default 0).
    tol : float
        Per-column stopping tolerance, with the certificate's semantics.
    max_iter : int, optional
        Default 20 000.
    check_every : int
        Iterations between stopping checks.
    momentum : bool
        FISTA with restart (default) or plain proximal gradient (``False``).
    certify : bool
        Compute an independent certificate per column at the end (objective, residual, gap) and take each
        column's status from it.  ``False`` skips them (to time the loop alone): no column is then
        ``"optimal"``, ``"stationary"`` or ``"optimal_inaccurate"``; every column not proven unbounded is
        ``"max_iter"`` (stopped without a certificate), its message and ``info["loop_converged"]`` saying
        whether the loop's own residual test held.
    fused : bool, optional
        Use the fused CuPy tail kernel (default: whenever A is a CuPy array); ``False`` runs the
        array-API tail on CuPy too (for comparisons).
    verbose : bool
        One row per check: iteration, active columns, largest residual / tolerance, time.
    progress : bool
        Show the number of finished columns on stderr: a tqdm bar when tqdm is installed
        (``pip install "cvxpar[progress]"``), else one line each time columns finish.

    Returns
    -------
    BatchResult
        ``x`` of shape (n_features, k) and per-column ``status`` (with ``certify=True``: the shared rule
        on the column's certificate, ``"optimal"``, ``"stationary"``, ``"optimal_inaccurate"``,
        ``"max_iter"`` or ``"diverged"``; with ``certify=False``: ``"max_iter"``; either way
        ``"unbounded"`` for a column proven unbounded below before iterating, x NaN), ``objective``,
        ``residual``, ``gap``, ``quantization_rate``, ``iterations``; ``res[j]`` is column j as a
        :class:`~cvxpar.result.SolveResult`.

    Raises
    ------
    TypeError
        ``psi`` not a :class:`~cvxpar.PAR`, or a loss other than ``LeastSquares`` with a dense or
        scipy.sparse A.
    ValueError
        ``check_every`` < 1; ``tol`` not finite and positive; ``max_iter`` not a positive integer;
        ``lams`` negative, not finite or not 1-D; ``rhs`` or ``x0`` of the wrong shape or with NaN or inf; as many lams as right-hand sides neither one nor equal;
        constraints other than one Box with the same bounds for every coordinate, or a Box that
        misses psi's domain; ``fused=True`` without a CuPy A.

    Examples
    --------
    A lambda sweep of three problems in one run:

    >>> import numpy as np, cvxpar
    >>> from cvxpar.batch import solve_batch
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 5))
    >>> loss = cvxpar.losses.LeastSquares(A, A @ np.array([1.0, -1.0, 0.5, 0.0, 0.0]))
    >>> psi = cvxpar.pars.l1(cvxpar.grids.uniform(1.0, 2))
    >>> res = solve_batch(loss, psi, [0.1, 1.0, 10.0])
    >>> res.status, res.x.shape
    (['optimal', 'optimal', 'optimal'], (5, 3))
    >>> np.round(res.x[:, 0], 1)            # the column of lam = 0.1
    array([ 1. , -1. ,  0.5,  0. ,  0. ])
    """
    if not isinstance(psi, PAR):
        raise TypeError(f"psi must be a cvxpar.PAR; got {type(psi).__name__}.")
    if check_every < 1:
        raise ValueError(f"check_every must be a positive integer; got {check_every}.")
    check_tol(tol)  # the rules of cvxpar.solve: a tol <= 0 or NaN would be silently raised to the dtype's floor
    max_iter = _positive_int_or_none(max_iter, "max_iter")
    start = time.perf_counter()
    xp, A, b = _least_squares_data(loss)
    B, lam_host = _columns(xp, A, b, lams, rhs)
    n, k = A.shape[1], lam_host.size
    psi_eff = _effective_psi(psi, constraints, n)
    max_iter = DEFAULT_MAX_ITER if max_iter is None else int(max_iter)
    accelerate = bool(momentum)
    eps = float(xp.finfo(A.dtype).eps)
    tol_eff = max(float(tol), DTYPE_TOL_EPS * eps)
    dev = _backend.device(b)
    on_gpu = _backend.is_cupy_array(A)
    use_kernel = on_gpu if fused is None else bool(fused)
    if use_kernel and not on_gpu:
        raise ValueError("fused=True needs A as a CuPy array (the fused tail is a CUDA kernel).")

    X = _start(xp, x0, psi_eff, n, k, A.dtype, b)
    verdict = _recession(loss, psi, constraints, n, lam_host)
    direction = verdict.ray
    unbounded = (lam_host > 0) & (direction is not None)
    active = np.flatnonzero(~unbounded)
    B_all = B
    if unbounded.any():  # those columns leave before the first iteration
        keep = xp.asarray(active, device=dev)
        X, B = xp.take(X, keep, axis=1), xp.take(B, keep, axis=1)
    L = float(loss.lipschitz())
    t = 1.0 / L if L > 0 else 1.0
    tail, momentum_step = _tail_engine(xp, psi_eff, lam_host[active], t, use_kernel)

    def grad(Xc, Bc):
        return _matmul(xp, A, _matmul(xp, A, Xc, on_gpu) - Bc, on_gpu, trans=True)

    G = grad(X, B)
    X_prev, G_prev = X, G
    theta = _backend.asarray_like(xp, np.ones(active.size), xp.zeros((1,), dtype=xp.float64, device=dev))
    beta = xp.zeros_like(theta)

    best = np.full(active.size, np.inf)  # the best residual/tolerance ratio seen, per active column
    stalled = np.zeros(active.size, dtype=np.int64)  # checks since it last improved by STALL_GAIN
    out_x: list[Any] = [xp.full((n,), math.nan, dtype=A.dtype, device=dev) if u else None for u in unbounded]
    residual = np.full(k, np.nan)
    scales = np.full(k, np.nan)  # max(1, ||grad||_inf) of each column at its stop, in the iteration dtype
    converged = np.zeros(k, dtype=bool)  # the loop's own residual test held (it certifies nothing)
    iterations = np.where(unbounded, 0, max_iter).astype(np.int64)
    status = [UNBOUNDED if u else MAX_ITER for u in unbounded]
    it = 0
    bar = _progress.counter(k, "solve_batch", "column", enabled=progress)
    bar.update(int(np.count_nonzero(unbounded)))
    while active.size:
        check = it % check_every == 0 or it == max_iter
        X_new, p, r, s = tail(X, X_prev, G, G_prev, beta, check)
        if check:
            r_h, s_h = _host(xp, r), _host(xp, s)
            ratio = r_h / (tol_eff * np.maximum(1.0, s_h))
            improved = ratio < STALL_GAIN * best
            best = np.where(improved, ratio, best)
            stalled = np.where(improved, 0, stalled + 1)
            inaccurate = (stalled >= STALL_CHECKS) & (ratio <= INACCURATE_FACTOR)
            done = (ratio <= 1.0) | inaccurate | (it == max_iter)
            if verbose:
                print(f"{it:>7d} {active.size:>6d} active  max residual/tol {np.max(ratio):10.3e}  {time.perf_counter() - start:8.3f}s")
            for pos in np.flatnonzero(done):
                j = int(active[pos])
                out_x[j] = X[:, int(pos)]
                residual[j] = r_h[pos]
                iterations[j] = it
                scales[j] = max(1.0, float(s_h[pos]))
                converged[j] = ratio[pos] <= 1.0
            bar.update(int(np.count_nonzero(done)))
            if done.all():
                break
            if done.any():
                keep = np.flatnonzero(~done)
                idx = xp.asarray(keep, device=dev)
                X, X_prev, X_new, G, G_prev, B = (xp.take(a, idx, axis=1) for a in (X, X_prev, X_new, G, G_prev, B))
                beta, theta, p = (xp.take(a, idx) for a in (beta, theta, p))
                tail.select(keep)
                active, best, stalled = active[keep], best[keep], stalled[keep]
            raised = _curvature_check(xp, A, X, X_prev, X_new, beta, L, on_gpu)
            if raised is not None:  # L was too small: take the step again from X, momentum reset
                L = CURVATURE_RAISE * raised
                tail.set_step(1.0 / L)
                theta, beta = xp.ones_like(theta), xp.zeros_like(beta)
                X_prev, G_prev = X, G
                it += 1
                continue
        theta, beta = momentum_step(theta, p, accelerate)
        X_prev, X = X, X_new
        G_prev, G = G, grad(X_new, B)
        it += 1
    bar.close()

    x_all = xp.stack(out_x, axis=1)
    result = BatchResult(
        x=x_all,
        status=status,
        objective=np.full(k, np.nan),
        iterations=iterations,
        residual=residual,
        gap=[None] * k,
        quantization_rate=np.full(k, np.nan),
        lams=lam_host,
        solve_time=0.0,
        method="fista-batch" if accelerate else "pg-batch",
        info={"lipschitz": L, "tol_effective": tol_eff, "check_every": check_every, "fused_kernels": use_kernel,
              "loop_converged": converged},
        message=[_loop_message(residual[j], tol_eff * scales[j], converged[j], int(iterations[j])) for j in range(k)],
    )
    if unbounded.any():
        result.objective[unbounded] = -math.inf
        result.info.update(direction=direction.v, rate=np.where(unbounded, lam_host * direction.rate, math.nan))
        for j in np.flatnonzero(unbounded):
            scaled = dataclasses.replace(direction, rate=lam_host[j] * direction.rate,
                                         psi_rate=lam_host[j] * direction.psi_rate)
            result.message[j] = f"unbounded below: {scaled.describe()}."
    if certify:
        _certify(result, loss, psi, constraints, B_all, tol_eff, skip=unbounded)
    for j in np.flatnonzero(lam_host > 0):
        if result.status[j] not in (OPTIMAL, STATIONARY):
            result.message[j] += verdict.note()
    result.solve_time = time.perf_counter() - start
    return result


def _loop_message(residual: float, bound: float, converged: bool, it: int) -> str:
    """Why an uncertified column (``certify=False``) is ``"max_iter"``: what the loop's own test saw."""
    seen = (f"the loop's own residual {residual:.2e} met tol * scale = {bound:.2e} at iteration {it}" if converged
            else f"the loop stopped at iteration {it} with its own residual {residual:.2e} (tol * scale = {bound:.2e})")
    return (f"not certified (certify=False): {seen}, computed in the iteration dtype without the certificate's "
            "rounding bound, so it proves nothing; pass certify=True for a certified status")


def _tail_engine(xp, psi: PAR, lam, t: float, use_kernel: bool):
    """(tail, momentum update): the fused CuPy kernels, or the array-API versions."""
    if use_kernel:
        return _ck.FistaTail(psi, lam, t), _ck.momentum_cupy
    return _ArrayTail(xp, psi, lam, t), lambda theta, p, accelerate: _ck.momentum(xp, theta, p, accelerate)


def _start(xp, x0, psi: PAR, n: int, k: int, dtype, like):
    """x0 (or 0) as an (n, k) array of the iteration dtype on ``like``'s device, inside psi's domain."""
    if x0 is None:
        X = xp.zeros((n, k), dtype=dtype, device=_backend.device(like))
    else:
        X = x0 if hasattr(x0, "__array_namespace__") and _backend.array_namespace(x0) is xp else _backend.asarray_like(xp, np.asarray(x0), like)
        if tuple(X.shape) not in ((n,), (n, k)):
            raise ValueError(f"x0 must have shape ({n},) or ({n}, {k}); got {tuple(X.shape)}.")
        X = xp.astype(X, dtype)
        if X.ndim == 1:
            X = xp.broadcast_to(xp.reshape(X, (n, 1)), (n, k))
    # project onto the domain of psi (walls, boxes), where every iterate lives
    lo, hi = psi.domain
    return xp.clip(X, lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None)


def _matmul(xp, A, X, on_gpu: bool, trans: bool = False):
    if on_gpu:
        import cupy

        out = cupy.empty((A.shape[1] if trans else A.shape[0], X.shape[1]), dtype=A.dtype)
        return _ck.gemm(A, X, out, trans=trans)
    return A.T @ X if trans else A @ X  # operators: Array-API arrays and scipy.sparse alike


def _curvature_check(xp, A, X, X_prev, X_new, beta, L: float, on_gpu: bool):
    """The largest ||A d||^2 / ||d||^2 over the columns of the last step d = x_new - y, if above L.

    A Rayleigh quotient of A^T A never exceeds ||A||_2^2, so a value above L proves the estimate
    too small.  A d is one product with A (not a difference of residuals, which cancels).
    """
    beta_ = xp.astype(beta, X.dtype)
    D = X_new - (X + beta_ * (X - X_prev))
    AD = _matmul(xp, A, D, on_gpu)
    num = _host(xp, xp.sum(xp.astype(AD * AD, xp.float64), axis=0))
    den = _host(xp, xp.sum(xp.astype(D * D, xp.float64), axis=0))
    real = den > 0
    if not real.any():
        return None
    worst = float(np.max(num[real] / den[real]))
    return worst if worst > L * (1.0 + CURVATURE_RTOL) else None


def _recession(loss, psi: PAR, constraints, n: int, lams: np.ndarray):
    """The :class:`cvxpar.recession.Verdict` for every column with lam_j > 0: its ray, when there is one, shows
    each of them unbounded below.

    For least squares the recession function of column j is
    F_inf(v) = lam_j sum_i psi_inf(v_i) on {v in K : A v = 0} and +inf elsewhere (:mod:`cvxpar.recession`),
    whatever b_j is: its sign is the same for every lam_j > 0, so one test with lam = 1 decides every
    such column, and a column with lam_j = 0 is a least-squares problem, bounded below by 0.
    """
    from cvxpar import recession
    from cvxpar.constraints import FeasibleSet

    if not (lams > 0).any():
        return recession.Verdict(None)
    return recession.decide(loss, psi, 1.0, FeasibleSet(constraints, n))


def _certify(result: BatchResult, loss, psi: PAR, constraints, B_full, tol: float, skip: np.ndarray) -> None:
    """Per-column certificates from cvxpar.certificate, in float64, and the shared status rule on them
    (columns in ``skip``, proven unbounded, keep their status)."""
    from cvxpar.certificate import certificate

    xp = _backend.array_namespace(result.x)
    X = xp.astype(result.x, xp.float64)
    base = loss
    if loss.op.A.dtype != xp.float64:
        from cvxpar.losses import LeastSquares

        base = LeastSquares(xp.astype(loss.op.A, xp.float64), xp.astype(loss.target, xp.float64))
    B = xp.astype(B_full, xp.float64)
    for j in np.flatnonzero(~skip):
        col_loss = copy.copy(base)
        col_loss.target = B[:, j]
        cert = certificate(col_loss, psi, float(result.lams[j]), X[:, j], constraints)
        result.objective[j] = cert.objective
        result.gap[j] = cert.gap
        result.quantization_rate[j] = cert.quantization_rate
        result.residual[j] = cert.residual
        result.status[j], result.message[j] = status_of(cert, tol, psi.is_convex)
