"""AProx: PARQ's aggregate proximal stochastic gradient method, and the QAT baselines it explains.

Source: Jin, Ma, Liu, Gromov, Defazio, Xiao, "PARQ: Piecewise-Affine Regularized Quantization"
(ICML 2025, arXiv 2503.15748), eq. (11), and its code (the ``parq`` package of facebookresearch).
For  minimize f(x) + sum_i lam_i psi(x_i),  f(x) = sum over the rows of A::

    u^{t+1} = u^t - eta_t g^t,            g^t a minibatch gradient of f taken at w^t
    w^{t+1} = M_t(u^{t+1}),                u^0 = w^0 = x0

with eta_t = eta0 * t^-power (Thm 3.1/3.2 use power = 1/2) and one of four maps M_t (``mapping``):

- ``"aprox"``: the exact aggregate prox M_t = prox_{gamma_t lam psi}, gamma_t = sum_{s<=t} eta_s.
  Equivalently (eq. 13) w^{t+1} = argmin_w sum_s eta_s (<g^s, w> + lam Psi(w)) + ||w - x0||^2 / 2.
  For convex f and psi its last iterate satisfies E F(w^t) - F* <= G R (2 + 1.5 ln t) / sqrt(t)
  (Thm 3.2, with eta_t = R / (2 G sqrt t)).
- ``"parq"``: PARQ's practical annealed map (Algorithm 1, Fig. 9a; :func:`cvxpar.quantizers.parq_map`)
  on the grid of psi's breakpoints, iota_t from :func:`cvxpar.quantizers.normalized_mirror_sigmoid`.
- ``"ste"``: hard quantization w = Q(u) at every step (BinaryConnect / STE, eq. 2-3).
- ``"binaryrelax"``: (1 - theta_t) u + theta_t Q(u), theta_t rising linearly (Fig. 9b).

The annealing window is ``anneal_start``..``anneal_end``, as fractions of the run: step t of T sits
at t/T; before the window the map is the identity (no clipping, as in the reference code), after it
hard quantization.  **Interpretations** (the reference code differs in ways we do not copy):
the grid is psi's breakpoints, fixed (PARQ re-estimates it with LSBQ from u every few steps), and
PARQ's gamma_t-scaling (``quant_shrink``) is not used.  Only ``"aprox"`` is covered by the theorem;
``"parq"``, ``"ste"`` and ``"binaryrelax"`` do not minimize f + lam Psi (their maps are
not prox maps of a fixed PAR: PARQ sec. 4 and Fig. 9).

Minibatches.  The rows of A are split once (a seeded permutation) into K = ceil(n / batch_size)
minibatches S_k; each epoch visits them in a fresh random order, and the step uses the unbiased
estimate g = K * grad f_{S_k}(w) of grad f (f is a sum, e.g. LeastSquares is 1/2 ||Ax - b||^2,
so each minibatch sum is scaled by K = n / batch_size).  A :class:`~cvxpar.losses.Smooth` loss
has no rows: its full gradient is used (one step per epoch).

Status.  A stochastic method certifies nothing by itself: the last iterate gets the shared status
rule of every method (:func:`cvxpar.solvers._common.status_of` on its certificate): ``"optimal"``
(``"stationary"`` for a nonconvex psi) only when the certificate holds to ``tol``,
``"optimal_inaccurate"`` within the shared factor of it, ``"diverged"`` on overflow, otherwise
``"max_iter"``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from cvxpar import quantizers as qz
from cvxpar import recession
from cvxpar.losses import LinearModelLoss
from cvxpar.result import SolveResult
from cvxpar.solvers._common import Monitor, Outcome, check, finish, infeasible_result, unbounded_result, with_verdict
from cvxpar.solvers._problem import Problem

MAPPINGS = ("aprox", "parq", "ste", "binaryrelax")

_DEFAULTS = {
    "batch_size": 32,
    "epochs": 20,
    "eta0": None,
    "power": 0.5,
    "seed": 0,
    "mapping": "aprox",
    "anneal_start": 0.0,
    "anneal_end": 0.9,
    "steepness": 10.0,
    "anneal_center": 0.5,
}

HISTORY_KEYS = ("epoch", "iteration", "objective", "residual", "quantization_rate", "gamma", "time")


def solve_aprox(
    loss,
    psi,
    lam,
    constraints=None,
    x0=None,
    tol: float = 1e-8,
    max_iter: int | None = None,
    verbose: bool = False,
    **options,
) -> SolveResult:
    """Minimize loss(x) + sum_i lam_i psi(x_i) over x in C by AProx (or a QAT baseline map).

    Parameters
    ----------
    loss : a loss of :mod:`cvxpar.losses` (LeastSquares, Logistic, Huber with a dense or
        scipy.sparse A: minibatches over its rows; Smooth: full gradients).
    psi : PAR
    lam : float or array of shape (d,), nonnegative.
    constraints : None or Box / NonNeg (folded exactly into the prox; ``mapping="aprox"`` only).
    x0 : initial point (default 0), moved into the domain.
    tol : the certificate tolerance behind the status (:mod:`cvxpar.certificate`).
    max_iter : total number of stochastic steps (default ``epochs`` * number of minibatches).
    verbose : one aligned row per epoch (objective, residual, % quantized, time).
    **options
        ``batch_size`` (32), ``epochs`` (20), ``eta0`` (default 1 / loss.lipschitz()), ``power``
        (0.5: eta_t = eta0 t^-power), ``seed`` (0), ``mapping`` (``"aprox"``, ``"parq"``, ``"ste"``,
        ``"binaryrelax"``), ``anneal_start`` (0.0) and ``anneal_end`` (0.9) as fractions of the
        run, ``steepness`` (10.0) and ``anneal_center`` (0.5) of PARQ's sigmoid schedule.

    Returns
    -------
    SolveResult with method ``"aprox"`` and ``info``: ``mapping``, ``epochs``, ``batch_size``,
    ``eta0``, ``power``, ``gamma`` (the final aggregate step) and ``history``: per-epoch lists
    ``epoch``, ``iteration``, ``objective``, ``residual``, ``quantization_rate``, ``gamma``, ``time``.
    """
    opts = _options(options)
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite nonnegative number; got {tol!r}.")
    prob = Problem(loss, psi, lam, constraints, x0)
    if prob.feasible.has_rows:
        raise ValueError(
            "AProx folds only Box / NonNeg constraints into its map; use method 'admm' for Simplex or Linear."
        )
    if prob.box is not None and opts["mapping"] != "aprox":
        raise ValueError(
            f"the {opts['mapping']!r} map quantizes onto psi's grid and takes no constraints; "
            "put the box into psi instead (a PAR with hard walls, e.g. cvxpar.pars.parq(grid))."
        )
    batches = _Minibatches(loss, opts["batch_size"], opts["seed"])
    n_iter = opts["epochs"] * batches.n_batches if max_iter is None else _positive_int(max_iter, "max_iter")
    eta0 = opts["eta0"] if opts["eta0"] is not None else 1.0 / max(loss.lipschitz(), np.finfo(float).tiny)
    note = (
        f"AProx, mapping {opts['mapping']!r}: {n_iter} steps, {batches.n_batches} minibatches of "
        f"{batches.batch_size or 'all'} rows per epoch, eta_t = {eta0:.3g} * t^-{opts['power']:g}"
    )
    monitor = Monitor(verbose, "aprox", prob, tol, note=note)
    if prob.infeasible is not None:
        return infeasible_result(prob, "aprox")
    tested = time.perf_counter()
    verdict = recession.decide(prob.loss, prob.psi, prob.lam, prob.feasible)
    if verdict.ray is not None:
        return unbounded_result(prob, "aprox", verdict.ray, time.perf_counter() - tested)

    step_map = _StepMap(prob, opts)
    xp = prob.xp
    w = u = prob.start()
    history: dict[str, list] = {key: [] for key in HISTORY_KEYS}
    gamma, diverged, t = 0.0, False, 0
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught below and reported as "diverged"
        for t in range(1, n_iter + 1):
            eta = eta0 * t ** (-opts["power"])
            u = u - eta * batches.gradient(w)
            gamma += eta
            w = step_map(u, gamma, t / n_iter)
            if t % batches.n_batches == 0 or t == n_iter:
                if not bool(xp.all(xp.isfinite(u))):
                    diverged = True
                    break
                cert = check(prob, w)
                epoch = t / batches.n_batches
                row = (epoch, t, cert.objective, cert.residual, cert.quantization_rate, gamma, monitor.elapsed())
                for key, value in zip(HISTORY_KEYS, row, strict=True):
                    history[key].append(value)
                monitor.row(t, cert, f"epoch {epoch:g}")
    info = {
        "mapping": opts["mapping"],
        "epochs": t / batches.n_batches,
        "batch_size": batches.batch_size,
        "eta0": eta0,
        "power": opts["power"],
        "gamma": gamma,
        "history": history,
    }
    baseline = None if opts["mapping"] == "aprox" else (
        f"{t} steps of the {opts['mapping']!r} baseline map, which does not minimize loss + lam*Psi")
    out = Outcome(w, t, diverged=diverged, info=info, stopped=baseline)
    return with_verdict(finish(prob, out, tol, "aprox", monitor), verdict)


# ----------------------------------------------------------------------------------------- options
def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _options(options: dict) -> dict:
    unknown = sorted(set(options) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"unknown AProx option(s) {unknown}; the options are {sorted(_DEFAULTS)}.")
    opts = {**_DEFAULTS, **options}
    opts["batch_size"] = _positive_int(opts["batch_size"], "batch_size")
    opts["epochs"] = _positive_int(opts["epochs"], "epochs")
    if opts["mapping"] not in MAPPINGS:
        raise ValueError(f"mapping must be one of {MAPPINGS}; got {opts['mapping']!r}.")
    if opts["eta0"] is not None and not (
        isinstance(opts["eta0"], (int, float)) and math.isfinite(opts["eta0"]) and opts["eta0"] > 0
    ):
        raise ValueError(f"eta0 must be a finite positive step size; got {opts['eta0']!r}.")
    if not (math.isfinite(opts["power"]) and 0 <= opts["power"] <= 1):
        raise ValueError(f"power must lie in [0, 1] (eta_t = eta0 * t^-power); got {opts['power']!r}.")
    if not 0.0 <= opts["anneal_start"] < opts["anneal_end"] <= 1.0:
        raise ValueError(
            "the annealing window needs 0 <= anneal_start < anneal_end <= 1 (fractions of the run); "
            f"got anneal_start={opts['anneal_start']}, anneal_end={opts['anneal_end']}."
        )
    return opts


# -------------------------------------------------------------------------------------- minibatches
class _Minibatches:
    """Unbiased stochastic gradients K * grad f_{S_k}; the K minibatches are visited in a random order each epoch."""

    def __init__(self, loss, batch_size: int, seed) -> None:
        self.rng = np.random.default_rng(seed)
        if not isinstance(loss, LinearModelLoss):  # no rows: full (deterministic) gradients
            self.batches, self.batch_size, self.scale = [loss], 0, 1.0
        elif loss.op.kind == "operator":
            raise ValueError(
                "AProx samples rows of A, which a LinearOperator cannot give: pass A as a dense or "
                "scipy.sparse matrix, or use method 'pg', 'fista' or 'admm'."
            )
        else:
            n = loss.n_samples
            self.batch_size = min(batch_size, n)
            perm = self.rng.permutation(n)
            self.batches = [loss.subsample(np.sort(perm[i : i + self.batch_size])) for i in range(0, n, self.batch_size)]
            self.scale = float(len(self.batches))
        self.n_batches = len(self.batches)
        self._order: list[int] = []

    def gradient(self, w):
        if not self._order:
            self._order = self.rng.permutation(self.n_batches).tolist()
        return self.scale * self.batches[self._order.pop()].grad(w)


# ------------------------------------------------------------------------------------------- maps
class _StepMap:
    """w = M_t(u): the exact aggregate prox, or a baseline quantization map on psi's grid."""

    def __init__(self, prob: Problem, opts: dict) -> None:
        self.prob, self.opts, self.mapping = prob, opts, opts["mapping"]
        self.grid = prob.psi.breakpoints

    def __call__(self, u, gamma: float, position: float):
        if self.mapping == "aprox":
            return self.prob.prox(u, gamma)
        start, end = self.opts["anneal_start"], self.opts["anneal_end"]
        if self.mapping == "ste" or position >= end:
            return qz.hard_quantize(u, self.grid)
        if position < start:
            return u
        if self.mapping == "parq":
            iota = qz.normalized_mirror_sigmoid(
                position, start, end, self.opts["steepness"], self.opts["anneal_center"]
            )
            return qz.parq_map(u, self.grid, float(np.clip(iota, 0.0, 1.0)))
        return qz.binaryrelax_map(u, self.grid, float(qz.linear_ramp(position, start, end)))
