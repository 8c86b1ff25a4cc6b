"""Learning under quantization: one-pass minibatch SGD with iterate averaging for high-dimensional
linear regression with quantized data, labels, parameters, activations and gradients.

Reproduces the setting of Zhang, Su and Zou, "Learning under Quantization for High-Dimensional
Linear Regression" (arXiv 2510.18259, ICLR 2026), built on the averaged-SGD analysis of Zou et al.
(2021, 2023).  The paper's full text was not available to us: every place where the setting below is
our reconstruction, or where we had to choose, is marked **[interpretation]**.

Model
    x ~ N(0, H), H = diag(lambda) (e.g. the power law lambda_i = i^-a, a = 2), y = <x, w*> + sigma xi.

Update, with a fresh batch (X_t, y_t) of B samples per step and a constant step size gamma::

    w_t = w_{t-1} + gamma/B * Qd(X_t)^T Qo( Ql(y_t) - Qa( Qd(X_t) Qp(w_{t-1}) ) )

- Qd quantizes the features, Ql the labels, Qp the parameters (only inside the forward product;
  the master copy w stays in full precision), Qa the activations (the B predictions) and Qo the
  output gradient (the B residuals).  The draws are independent across targets and steps.
- **[interpretation]** The same quantized draw Qd(X_t) is used in the forward and the backward
  product.  N counts *steps* (N*B samples are seen).
- The output is the iterate average: ``averaging="full"`` is w_bar_N = (1/N) sum_{t<N} w_t
  (Zou et al. 2021/2023, on which the paper builds) and ``"tail"`` averages w_t for N/2 <= t < N.

Quantizers: unbiased, E[Q(u) | u] = u, classified by the conditional second moment.

- additive (integer-like, constant step): E[(Q(u)-u)(Q(u)-u)^T | u] = eps I;
- multiplicative (floating-point-like, relative step): = eps u u^T.

``mode="synthetic"`` adds analytic noise with exactly these moments: u + sqrt(eps) g, and
u (1 + sqrt(eps) zeta) with **one zeta per vector** (``shared=True``: the paper's rank-one eps u u^T,
a shared relative scale; for the data the vector is a sample row, for labels, activations and
residuals the batch vector, for the parameters w) or one per entry (``shared=False``: eps diag(u^2),
what per-element floating-point rounding does).  **[interpretation]** We could not confirm
which of the two the paper means; for the data covariance they coincide ((1 + eps) H).
``mode="rounding"`` uses real unbiased stochastic rounding (:mod:`cvxpar.quantizers`) with a grid
whose worst-case variance is eps: a fixed step 2 sqrt(eps) (variance p(1-p) step^2 <= eps, data
dependent, so only approximately "additive"), or a floating-point grid with relative spacing
2 sqrt(eps) (variance <= eps x^2 per entry).  Nothing is clipped (saturation would be biased).

Risk.  Excess risk is measured without the factor 1/2:
``excess_risk(w) = (w - w*)^T H (w - w*)``, the clean population risk minus sigma^2.
**[interpretation]** The paper's risk may be taken on quantized test features,
L^(q)(w) - L(w*) = (w - w*)^T H (w - w*) + sum_i v_i w_i^2, with v_i the feature-noise variance of
coordinate i; :meth:`LinearRegression.quantized_excess_risk` computes it and :func:`simulate`
reports both.  Only the quantized-feature metric shows the strong growth of the additive risk
with d.

Exact expectations (ours): for full precision and additive synthetic quantizers the expected risk
of the averaged iterate has a closed O(d)-per-step recursion, :func:`expected_risk`: noise-free
curves, and an independent check of :func:`simulate`.

Bound shapes (the paper's Theorem 4.1 and Zou et al. 2023): :func:`bound_shapes` returns the variance, bias
and approximation terms as functions of N, without constants, for plotting beside simulations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from cvxpar.quantizers import (
    stochastic_round,
    stochastic_round_relative,
    stochastic_round_relative_variance,
    stochastic_round_variance,
)

__all__ = [
    "NONE",
    "LinearRegression",
    "QuantConfig",
    "Quantizer",
    "SGDRun",
    "additive",
    "approximation_error",
    "bound_shapes",
    "effective_dimension",
    "effective_noise",
    "expected_risk",
    "multiplicative",
    "quantized_spectrum",
    "simulate",
    "with_eps",
]

TARGETS = ("data", "labels", "params", "activations", "gradients")
_KINDS = ("none", "additive", "multiplicative")
_MODES = ("synthetic", "rounding")


# ---------------------------------------------------------------------------------------- quantizers
@dataclass(frozen=True)
class Quantizer:
    """An unbiased quantizer of one target.

    Parameters
    ----------
    kind : ``"none"``, ``"additive"`` or ``"multiplicative"``
    eps : float
        The paper's second-moment coefficient: the noise covariance is eps*I (additive) or
        eps*u u^T (multiplicative).  For ``mode="rounding"`` it is the worst-case variance, which
        fixes the grid: step 2*sqrt(eps) (additive) or relative spacing 2*sqrt(eps) (multiplicative).
    mode : ``"synthetic"`` (analytic noise with the exact moments) or ``"rounding"`` (stochastic rounding)
    shared : bool
        Multiplicative synthetic only: one relative error per vector (eps*u u^T, default) or one
        per entry (eps*diag(u^2)).  Rounding is always per entry.

    Raises
    ------
    ValueError
        An unknown kind or mode, a negative or non-finite eps, or eps > 0 with kind ``"none"``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.experiments.qsgd import Quantizer
    >>> q = Quantizer("additive", eps=0.01)
    >>> q.active, q.step, q.conditional_variance([1.0, 2.0])
    (True, 0.2, array([0.01, 0.01]))
    >>> q(np.zeros(3), np.random.default_rng(0)).shape
    (3,)
    """

    kind: str = "none"
    eps: float = 0.0
    mode: str = "synthetic"
    shared: bool = True

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}; got {self.kind!r}.")
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}; got {self.mode!r}.")
        if not math.isfinite(self.eps) or self.eps < 0:
            raise ValueError(f"eps must be a finite nonnegative number; got {self.eps}.")
        if self.kind == "none" and self.eps != 0:
            raise ValueError("kind='none' takes eps=0; use additive(eps) or multiplicative(eps).")

    @property
    def active(self) -> bool:
        """True unless the kind is ``"none"`` (the identity)."""
        return self.kind != "none"

    @property
    def step(self) -> float:
        """Rounding grid: the step (additive) or relative spacing (multiplicative), 2*sqrt(eps)."""
        return 2.0 * math.sqrt(self.eps)

    def __call__(self, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Q(u); for a shared multiplicative quantizer the vectors lie along the last axis."""
        if not self.active:
            return u
        if self.mode == "rounding":
            if self.kind == "additive":
                return stochastic_round(u, self.step, rng)
            return stochastic_round_relative(u, self.step, rng)
        root = math.sqrt(self.eps)
        if self.kind == "additive":
            return u + root * rng.standard_normal(u.shape)
        shape = u.shape[:-1] + (1,) if self.shared else u.shape
        return u * (1.0 + root * rng.standard_normal(shape))

    def conditional_variance(self, u) -> np.ndarray:
        """E[(Q(u)_i - u_i)^2 | u] for each entry (the diagonal of the conditional covariance).

        Parameters
        ----------
        u : array_like
            The values quantized.

        Returns
        -------
        numpy.ndarray
            Same shape as ``u``.
        """
        u = np.asarray(u, dtype=np.float64)
        if not self.active:
            return np.zeros_like(u)
        if self.mode == "synthetic":
            return np.full_like(u, self.eps) if self.kind == "additive" else self.eps * u * u
        if self.kind == "additive":
            return stochastic_round_variance(u, self.step)
        return stochastic_round_relative_variance(u, self.step)


#: The identity (full precision).
NONE = Quantizer()


def additive(eps: float, mode: str = "synthetic") -> Quantizer:
    """Integer-like quantizer with noise covariance eps*I (``"rounding"``: step 2*sqrt(eps)).

    Parameters
    ----------
    eps : float
        The noise second moment (nonnegative).
    mode : {"synthetic", "rounding"}

    Returns
    -------
    Quantizer

    Raises
    ------
    ValueError
        As :class:`Quantizer`.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import additive
    >>> additive(0.04).step
    0.4
    """
    return Quantizer("additive", eps, mode)


def multiplicative(eps: float, mode: str = "synthetic", shared: bool = True) -> Quantizer:
    """Floating-point-like quantizer with noise covariance eps*u u^T (``"rounding"``: relative spacing 2*sqrt(eps)).

    Parameters
    ----------
    eps : float
        The relative noise second moment (nonnegative).
    mode : {"synthetic", "rounding"}
    shared : bool, default True
        One relative error per vector (eps u u^T) or one per entry (eps diag(u^2)).

    Returns
    -------
    Quantizer

    Raises
    ------
    ValueError
        As :class:`Quantizer`.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import multiplicative
    >>> multiplicative(0.01).conditional_variance([2.0])
    array([0.04])
    """
    return Quantizer("multiplicative", eps, mode, shared)


@dataclass(frozen=True)
class QuantConfig:
    """Which quantizer acts on each of the five targets (default: full precision everywhere).

    Parameters
    ----------
    data, labels, params, activations, gradients : Quantizer, default NONE
        The quantizer of each target (features, labels, parameters, activations, output gradients).

    Raises
    ------
    ValueError
        From :meth:`on`: an unknown target name.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import QuantConfig, additive
    >>> cfg = QuantConfig.on(additive(0.01), ["data", "labels"])
    >>> cfg.data.eps, cfg.params.active, cfg.full_precision
    (0.01, False, False)
    """

    data: Quantizer = NONE
    labels: Quantizer = NONE
    params: Quantizer = NONE
    activations: Quantizer = NONE
    gradients: Quantizer = NONE

    @classmethod
    def on(cls, quantizer: Quantizer, targets: Sequence[str] = TARGETS) -> QuantConfig:
        """The same quantizer on ``targets`` (default all five), full precision elsewhere.

        Parameters
        ----------
        quantizer : Quantizer
        targets : sequence of str
            Among ``"data"``, ``"labels"``, ``"params"``, ``"activations"``, ``"gradients"``.

        Returns
        -------
        QuantConfig
        """
        unknown = set(targets) - set(TARGETS)
        if unknown:
            raise ValueError(f"unknown targets {sorted(unknown)}; choose from {TARGETS}.")
        return cls(**{t: quantizer for t in targets})

    @property
    def full_precision(self) -> bool:
        """True when no target is quantized."""
        return not any(getattr(self, t).active for t in TARGETS)


# ------------------------------------------------------------------------------------------ problem
@dataclass(frozen=True)
class LinearRegression:
    """y = <x, w*> + sigma*xi with x ~ N(0, diag(spectrum)), xi ~ N(0, 1).

    Parameters
    ----------
    spectrum : array of shape (d,)
        The eigenvalues of H (finite, positive).
    w_star : float or array of shape (d,)
        The true parameter (a scalar is broadcast).
    sigma : float, default 1.0
        The label noise level.

    Raises
    ------
    ValueError
        An empty, non-positive or non-finite spectrum, a non-finite w_star, or a negative sigma.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.experiments.qsgd import LinearRegression
    >>> prob = LinearRegression.power_law(4)
    >>> prob.d, prob.spectrum.tolist()
    (4, [1.0, 0.25, 0.1111111111111111, 0.0625])
    >>> float(prob.excess_risk(np.zeros(4)))          # ||w*||_H^2
    1.4236111111111112
    """

    spectrum: np.ndarray
    w_star: np.ndarray
    sigma: float = 1.0

    def __post_init__(self) -> None:
        lam = np.asarray(self.spectrum, dtype=np.float64)
        w = np.broadcast_to(np.asarray(self.w_star, dtype=np.float64), lam.shape).copy()
        if lam.ndim != 1 or lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
            raise ValueError("spectrum must be a nonempty 1-D array of finite positive eigenvalues.")
        if not np.all(np.isfinite(w)):
            raise ValueError("w_star must be finite.")
        if not math.isfinite(self.sigma) or self.sigma < 0:
            raise ValueError(f"sigma must be a finite nonnegative number; got {self.sigma}.")
        object.__setattr__(self, "spectrum", lam)
        object.__setattr__(self, "w_star", w)

    @classmethod
    def power_law(cls, d: int, a: float = 2.0, w_star: float = 1.0, sigma: float = 1.0) -> LinearRegression:
        """The paper's experiment (its Figure 1): lambda_i = i^-a (a = 2), w*_i = 1, sigma^2 = 1.

        Parameters
        ----------
        d : int
            The dimension.
        a : float, default 2.0
            The decay exponent.
        w_star, sigma : float
            As in the class.

        Returns
        -------
        LinearRegression
        """
        if int(d) != d or d < 1:
            raise ValueError(f"d must be a positive integer; got {d}.")
        return cls(np.arange(1, int(d) + 1, dtype=np.float64) ** (-float(a)), w_star, sigma)

    @property
    def d(self) -> int:
        """The dimension."""
        return int(self.spectrum.size)

    def excess_risk(self, w) -> np.ndarray:
        """Clean excess risk (w - w*)^T H (w - w*), over the last axis of ``w``.

        Parameters
        ----------
        w : array of shape (..., d)

        Returns
        -------
        numpy.ndarray of shape (...)
        """
        diff = np.asarray(w) - self.w_star
        return np.sum(self.spectrum * diff * diff, axis=-1)

    def feature_noise_variance(self, quantizer: Quantizer, n_mc: int = 4096, seed: int = 0) -> np.ndarray:
        """v_i = E_x[Var(Qd(x)_i | x)]: exact for synthetic noise (eps, or eps*lambda_i), Monte Carlo
        over x (``n_mc`` draws, fixed ``seed``) for stochastic rounding.

        Parameters
        ----------
        quantizer : Quantizer
            The data quantizer.
        n_mc : int, default 4096
        seed : int, default 0

        Returns
        -------
        numpy.ndarray of shape (d,)
        """
        if int(n_mc) != n_mc or n_mc < 1:
            raise ValueError(f"n_mc must be a positive integer (Monte Carlo draws); got {n_mc}.")
        if not quantizer.active:
            return np.zeros(self.d)
        if quantizer.mode == "synthetic":
            return np.full(self.d, quantizer.eps) if quantizer.kind == "additive" else quantizer.eps * self.spectrum
        x = np.sqrt(self.spectrum) * np.random.default_rng(seed).standard_normal((n_mc, self.d))
        return quantizer.conditional_variance(x).mean(axis=0)

    def quantized_excess_risk(self, w, data: Quantizer, n_mc: int = 4096, seed: int = 0) -> np.ndarray:
        """Risk on quantized test features minus the clean optimum sigma^2 (**[interpretation]**):
        (w - w*)^T H (w - w*) + sum_i v_i w_i^2.

        Parameters
        ----------
        w : array of shape (..., d)
        data : Quantizer
            The feature quantizer (its variances v_i).
        n_mc, seed : int
            As in :meth:`feature_noise_variance`.

        Returns
        -------
        numpy.ndarray of shape (...)
        """
        w = np.asarray(w)
        return self.excess_risk(w) + np.sum(self.feature_noise_variance(data, n_mc, seed) * w * w, axis=-1)


# ---------------------------------------------------------------------------------------- simulator
@dataclass
class SGDRun:
    """Outcome of :func:`simulate`.  Arrays are indexed [checkpoint, replica].

    Attributes
    ----------
    checkpoints : numpy.ndarray
        The step counts N evaluated.
    w_avg : numpy.ndarray of shape (n_checkpoints, n_reps, d)
        The averaged iterates.
    risk, risk_quantized : numpy.ndarray of shape (n_checkpoints, n_reps)
        Clean and quantized-feature excess risks (inf for diverged replicas).
    diverged : numpy.ndarray of bool, shape (n_reps,)
    problem, quant, step_size, batch_size, averaging, info
        The run's settings.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import LinearRegression, simulate
    >>> run = simulate(LinearRegression.power_law(8), n_steps=50, step_size=0.1, n_reps=4, checkpoints=[10, 50])
    >>> run.risk.shape, run.mean().shape, bool(run.mean()[-1] < run.mean()[0])
    ((2, 4), (2,), True)
    """

    checkpoints: np.ndarray
    w_avg: np.ndarray
    risk: np.ndarray
    risk_quantized: np.ndarray
    diverged: np.ndarray
    problem: LinearRegression
    quant: QuantConfig
    step_size: float
    batch_size: int
    averaging: str
    info: dict = field(default_factory=dict)

    def mean(self, quantized: bool = False) -> np.ndarray:
        """Mean excess risk over the replicas at each checkpoint.

        Parameters
        ----------
        quantized : bool, default False
            The quantized-feature risk instead of the clean one.

        Returns
        -------
        numpy.ndarray of shape (n_checkpoints,)
        """
        return (self.risk_quantized if quantized else self.risk).mean(axis=1)

    def sem(self, quantized: bool = False) -> np.ndarray:
        """Standard error of :meth:`mean`.

        Parameters
        ----------
        quantized : bool, default False

        Returns
        -------
        numpy.ndarray of shape (n_checkpoints,)
            Zero with one replica.
        """
        r = self.risk_quantized if quantized else self.risk
        return r.std(axis=1, ddof=1) / math.sqrt(r.shape[1]) if r.shape[1] > 1 else np.zeros(r.shape[0])


def _checkpoints(n_steps: int, checkpoints) -> np.ndarray:
    if checkpoints is None:
        pts = np.unique(np.geomspace(1, n_steps, num=min(n_steps, 25)).round().astype(np.int64))
    else:
        pts = np.unique(np.asarray(checkpoints, dtype=np.int64))
    if pts.size == 0 or pts[0] < 1 or pts[-1] > n_steps:
        raise ValueError(f"checkpoints must be step counts in [1, n_steps={n_steps}]; got {checkpoints}.")
    return pts


def _schedule(n_steps, step_size, batch_size, averaging, checkpoints):
    """Validated (n_steps, batch_size, checkpoints, averaging-window starts)."""
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer; got {n_steps}.")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size}.")
    if not math.isfinite(step_size) or step_size <= 0:
        raise ValueError(f"step_size must be a finite positive number; got {step_size}.")
    if averaging not in ("full", "tail"):
        raise ValueError(f"averaging must be 'full' or 'tail'; got {averaging!r}.")
    pts = _checkpoints(int(n_steps), checkpoints)
    starts = pts // 2 if averaging == "tail" else np.zeros_like(pts)
    return int(n_steps), int(batch_size), pts, starts


def simulate(
    problem: LinearRegression,
    n_steps: int,
    step_size: float,
    quant: QuantConfig | None = None,
    batch_size: int = 1,
    n_reps: int = 32,
    averaging: str = "full",
    checkpoints: Sequence[int] | None = None,
    w0=None,
    seed: int = 0,
    n_mc: int = 4096,
) -> SGDRun:
    """Run ``n_reps`` independent replicas of quantized one-pass SGD at once.

    Parameters
    ----------
    problem : LinearRegression
    n_steps : int
        N, the number of SGD steps (each sees a fresh batch of ``batch_size`` samples).
    step_size : float
        The constant step gamma.  Stability needs gamma * tr(H^(q)) well below 1 (as for averaged SGD, Zou et al. 2021;
        :func:`quantized_spectrum`); additive data noise raises tr(H^(q)) by eps*d.
    quant : QuantConfig, optional
        The quantizers (default: full precision).
    averaging : ``"full"`` or ``"tail"``
    checkpoints : step counts N at which the averaged iterate is evaluated (default ~25 geometric points).
    w0 : initial point (default 0).
    seed : int
        Data (features, label noise) and quantization noise come from two independent streams of
        ``SeedSequence(seed)``, so runs with the same seed share their data (common random numbers)
        and a quantizer with eps = 0 reproduces full-precision SGD exactly.

    Returns
    -------
    SGDRun
        The clean and quantized-feature excess risks of the averaged iterate at each checkpoint.
        Replicas whose iterates overflow are flagged in ``diverged`` (their risks are inf).

    Raises
    ------
    ValueError
        A non-positive n_steps, batch_size, n_reps or step_size, an unknown averaging, or checkpoints
        outside [1, n_steps].

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import LinearRegression, QuantConfig, additive, simulate
    >>> prob = LinearRegression.power_law(8)
    >>> clean = simulate(prob, n_steps=100, step_size=0.1, n_reps=8, checkpoints=[100])
    >>> noisy = simulate(prob, n_steps=100, step_size=0.1, n_reps=8, checkpoints=[100],
    ...                  quant=QuantConfig.on(additive(0.5), ["labels"]))
    >>> bool(noisy.mean()[0] > clean.mean()[0])         # label noise raises the risk (same data)
    True
    """
    quant = QuantConfig() if quant is None else quant
    if int(n_reps) != n_reps or n_reps < 1:
        raise ValueError(f"n_reps must be a positive integer; got {n_reps}.")
    n_reps = int(n_reps)
    n_steps, batch_size, pts, starts = _schedule(n_steps, step_size, batch_size, averaging, checkpoints)
    record = set(pts.tolist()) | set(starts.tolist())

    data_seed, quant_seed = np.random.SeedSequence(seed).spawn(2)
    drng, qrng = np.random.default_rng(data_seed), np.random.default_rng(quant_seed)
    d, sqrt_lam = problem.d, np.sqrt(problem.spectrum)
    w = (
        np.zeros((n_reps, d))
        if w0 is None
        else np.array(np.broadcast_to(np.asarray(w0, dtype=np.float64), (n_reps, d)))
    )
    prefix = {0: np.zeros((n_reps, d))}
    total = np.zeros((n_reps, d))
    scale = step_size / batch_size
    q = quant
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(n_steps):
            total += w
            if t + 1 in record:
                prefix[t + 1] = total.copy()
            x = drng.standard_normal((n_reps, batch_size, d)) * sqrt_lam
            y = x @ problem.w_star + problem.sigma * drng.standard_normal((n_reps, batch_size))
            xq = q.data(x, qrng)
            act = q.activations(np.matmul(xq, q.params(w, qrng)[:, :, None])[:, :, 0], qrng)
            res = q.gradients(q.labels(y, qrng) - act, qrng)
            w = w + scale * np.matmul(res[:, None, :], xq)[:, 0, :]
    w_avg = np.stack([(prefix[int(n)] - prefix[int(s)]) / (n - s) for n, s in zip(pts, starts, strict=True)])
    diverged = ~np.all(np.isfinite(w_avg), axis=(0, 2)) | ~np.all(np.isfinite(w), axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        risk = problem.excess_risk(w_avg)
        risk_q = problem.quantized_excess_risk(w_avg, q.data, n_mc=n_mc)
    risk[:, diverged] = np.inf
    risk_q[:, diverged] = np.inf
    return SGDRun(pts, w_avg, risk, risk_q, diverged, problem, quant, float(step_size), batch_size, averaging)


def expected_risk(
    problem: LinearRegression,
    n_steps: int,
    step_size: float,
    quant: QuantConfig | None = None,
    batch_size: int = 1,
    averaging: str = "full",
    checkpoints: Sequence[int] | None = None,
    w0=None,
) -> dict[str, np.ndarray]:
    """The exact expected excess risks of the averaged iterate, for full precision and additive
    synthetic quantizers: what :func:`simulate` estimates, without sampling noise.

    Derivation (ours; Gaussian x and diagonal H): with additive data noise, x_q = x + sqrt(eps_d) n
    is Gaussian with covariance H^(q) = H + eps_d I, and nu = y - x_q^T w^(q)*, w^(q)* = (H^(q))^-1 H w*,
    is Gaussian and uncorrelated with x_q, hence independent of it, with variance
    sigma^2 + ApproxErr (:func:`approximation_error`).  Label, activation and gradient noise add
    eps_l + eps_a + eps_o to it.  So e_t = w_t - w^(q)* follows full-precision SGD on H^(q) plus
    the parameter noise -gamma (1/B) X_q^T X_q sqrt(eps_p) n, and the diagonal D_t of E[e_t e_t^T]
    obeys (Gaussian fourth moments, B samples per step)::

        D' = D - 2 gamma lq D + gamma^2 [(1 + 1/B) lq^2 D + lq <lq, D> / B]
             + gamma^2 [(sigma^2 + ApproxErr + eps_l + eps_a + eps_o) lq / B
                        + eps_p ((1 + 1/B) lq^2 + lq sum(lq) / B)]

    with lq the eigenvalues of H^(q).  E[e_t | e_s] = (I - gamma H^(q))^(t-s) e_s, so the risk of the
    average needs only D_t and the mean (I - gamma H^(q))^t e_0: O(d) work per step.

    Parameters
    ----------
    problem, n_steps, step_size, quant, batch_size, averaging, checkpoints, w0
        As in :func:`simulate`.

    Returns
    -------
    dict
        ``"checkpoints"``, ``"risk"`` (clean) and ``"risk_quantized"`` (quantized-feature), the
        expectations of :attr:`SGDRun.risk` and :attr:`SGDRun.risk_quantized`.

    Raises
    ------
    ValueError
        Multiplicative or rounding quantizers (their moments do not close), or the errors of :func:`simulate`.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import LinearRegression, expected_risk
    >>> out = expected_risk(LinearRegression.power_law(8), n_steps=100, step_size=0.1, checkpoints=[10, 100])
    >>> out["checkpoints"].tolist(), bool(out["risk"][1] < out["risk"][0])
    ([10, 100], True)
    """
    quant = QuantConfig() if quant is None else quant
    for target in TARGETS:
        qt = getattr(quant, target)
        if qt.active and (qt.kind != "additive" or qt.mode != "synthetic"):
            raise ValueError(
                f"expected_risk is exact for additive synthetic quantizers only; {target} has {qt}. Use simulate()."
            )
    n_steps, batch_size, pts, starts = _schedule(n_steps, step_size, batch_size, averaging, checkpoints)
    lam, gamma, inv_b = problem.spectrum, float(step_size), 1.0 / batch_size
    eps_d, eps_p = quant.data.eps, quant.params.eps
    lq = lam + eps_d
    w_q = lam * problem.w_star / lq
    approx = float(np.sum(lam * problem.w_star**2 * eps_d / lq))
    noise = problem.sigma**2 + approx + quant.labels.eps + quant.activations.eps + quant.gradients.eps
    start = np.zeros(problem.d) if w0 is None else np.broadcast_to(np.asarray(w0, dtype=np.float64), (problem.d,))
    m0 = start - w_q
    q = 1.0 - gamma * lq
    contraction = 1.0 - 2.0 * gamma * lq + gamma**2 * (1.0 + inv_b) * lq**2
    forcing = gamma**2 * (noise * inv_b * lq + eps_p * ((1.0 + inv_b) * lq**2 + inv_b * lq * np.sum(lq)))

    record = set(pts.tolist()) | set(starts.tolist())
    sums = {0: (np.zeros(problem.d), np.zeros(problem.d))}
    D, A, G = m0 * m0, np.zeros(problem.d), np.zeros(problem.d)  # A = sum_{s<t} D_s, G = sum_{s<t} D_s q^(t-s)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, n_steps + 1):
            A = A + D
            G = q * (G + D)
            if t in record:
                sums[t] = (A, G)
            D = contraction * D + gamma**2 * inv_b * lq * np.dot(lq, D) + forcing

    risk, risk_q = np.empty(pts.size), np.empty(pts.size)
    one_minus_q = gamma * lq
    for k, (n, s0) in enumerate(zip(pts.tolist(), starts.tolist(), strict=True)):
        (A_n, G_n), (A_s, G_s) = sums[n], sums[s0]
        length = n - s0
        window = A_n - A_s
        tail = G_n - q ** (n - s0) * G_s  # sum_{s0<=s<n} D_s q^(n-s)
        second = (
            window * (1.0 + 2.0 * q / one_minus_q) - 2.0 * tail / one_minus_q
        ) / length**2  # diag E[e_bar e_bar^T]
        mean = m0 * (q**s0 - q**n) / (length * one_minus_q)  # E[e_bar]
        shift = w_q - problem.w_star
        risk_q[k] = float(np.sum(lq * second)) + approx
        risk[k] = float(np.sum(lam * second) + 2.0 * np.sum(lam * shift * mean) + np.sum(lam * shift**2))
    return {"checkpoints": pts, "risk": risk, "risk_quantized": risk_q}


# ------------------------------------------------------------------------------------- bound shapes
def quantized_spectrum(problem: LinearRegression, data: Quantizer, n_mc: int = 4096) -> np.ndarray:
    """Eigenvalues of H^(q) = E[Qd(x) Qd(x)^T] = H + diag(v): lambda + eps (additive),
    (1 + eps) lambda (multiplicative), lambda + E[rounding variance] (stochastic rounding).

    Parameters
    ----------
    problem : LinearRegression
    data : Quantizer
        The feature quantizer.
    n_mc : int, default 4096
        Monte Carlo draws for stochastic rounding.

    Returns
    -------
    numpy.ndarray of shape (d,)

    Raises
    ------
    ValueError
        A non-positive n_mc.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import LinearRegression, additive, quantized_spectrum
    >>> quantized_spectrum(LinearRegression.power_law(2), additive(0.1)).tolist()
    [1.1, 0.35]
    """
    return problem.spectrum + problem.feature_noise_variance(data, n_mc)


def effective_dimension(spectrum_q, n, step_size: float) -> np.ndarray:
    """k* = max{k : lambda^(q)_k >= 1/(N gamma)} (Zou et al. 2021), for each N in ``n``; the spectrum sorted decreasing.

    Parameters
    ----------
    spectrum_q : array of shape (d,)
        The eigenvalues of H^(q).
    n : int or array of int
        Step counts N.
    step_size : float
        gamma.

    Returns
    -------
    numpy.ndarray
        k* for each N, the shape of ``n``.

    Raises
    ------
    ValueError
        A step size that is not finite and positive.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import effective_dimension
    >>> effective_dimension([1.0, 0.1, 0.01], [1, 100], step_size=0.5).tolist()
    [0, 2]
    """
    if not math.isfinite(step_size) or step_size <= 0:
        raise ValueError(f"step_size must be a finite positive number; got {step_size}.")
    lam = np.sort(np.asarray(spectrum_q, dtype=np.float64))[::-1]
    n = np.asarray(n, dtype=np.float64)
    return np.sum(lam[None, :] >= 1.0 / (n.reshape(-1, 1) * step_size), axis=1).reshape(n.shape)


def _split_sums(k: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sum_{i<=k} values_i and sum_{i>k} values_i (1-based i), for each k."""
    c = np.concatenate(([0.0], np.cumsum(values)))
    return c[k], c[-1] - c[k]


def approximation_error(problem: LinearRegression, data: Quantizer, n_mc: int = 4096) -> float:
    """ApproxErr = L^(q)(w^(q)*) - L(w*) = sum_i lambda_i w*_i^2 v_i / (lambda_i + v_i).

    Multiplicative: eps/(1 + eps) ||w*||_H^2 (the paper's Theorem 4.2);
    additive: sum_i lambda_i w*_i^2 eps/(lambda_i + eps) (**[interpretation]**: our derivation, the same formula with v_i = eps).

    Parameters
    ----------
    problem : LinearRegression
    data : Quantizer
        The feature quantizer.
    n_mc : int, default 4096

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A non-positive n_mc.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import LinearRegression, approximation_error, multiplicative
    >>> prob = LinearRegression.power_law(3)
    >>> round(approximation_error(prob, multiplicative(0.1)), 6) == round(0.1 / 1.1 * float(prob.excess_risk(0 * prob.w_star)), 6)
    True
    """
    v = problem.feature_noise_variance(data, n_mc)
    lam, w = problem.spectrum, problem.w_star
    return float(np.sum(lam * w * w * v / (lam + v)))


def effective_noise(problem: LinearRegression, quant: QuantConfig, batch_size: int = 1) -> float:
    """The effective noise level sigma_G^(q)2 of Theorem 4.1, as a shape.

    Additive (Corollary 4.1): label, activation and gradient noise add to sigma^2 and are divided
    by B; parameter noise enters through tr(H^(q)) and is not:
    (sigma^2 + eps_l + eps_a + eps_o)/B + alpha_B eps_p tr(H^(q)).
    **[interpretation]** alpha_B (undefined in our sources) is taken as 1: the same Qp(w) multiplies
    every sample of the batch, so its error does not average out.
    Multiplicative (Theorem 4.2): the noise scales with the signal: labels with E y^2 =
    ||w*||_H^2 + sigma^2, activations with ||w*||_H^2, residuals with sigma^2 (their size near w*),
    parameters with ||w*||^2_{H^(q)}; **[interpretation]** a shared (rank-one) error is not divided
    by B, a per-entry one is.  Rounding quantizers use their worst-case eps.

    Parameters
    ----------
    problem : LinearRegression
    quant : QuantConfig
    batch_size : int, default 1

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A batch size that is not a positive integer.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import LinearRegression, QuantConfig, additive, effective_noise
    >>> prob = LinearRegression.power_law(4)
    >>> effective_noise(prob, QuantConfig()), effective_noise(prob, QuantConfig.on(additive(0.5), ["labels"]), 2)
    (1.0, 0.75)
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size}.")
    signal = float(np.sum(problem.spectrum * problem.w_star**2))
    sigma2 = problem.sigma**2
    lam_q = quantized_spectrum(problem, quant.data)
    level = {"labels": signal + sigma2, "activations": signal, "gradients": sigma2}
    noise = sigma2 / batch_size
    for target, size in level.items():
        qt = getattr(quant, target)
        if qt.kind == "additive":
            noise += qt.eps / batch_size
        elif qt.kind == "multiplicative":
            noise += qt.eps * size / (batch_size if qt.mode == "rounding" or not qt.shared else 1)
    qp = quant.params
    if qp.kind == "additive":
        noise += qp.eps * float(np.sum(lam_q))
    elif qp.kind == "multiplicative":
        noise += qp.eps * float(np.sum(lam_q * problem.w_star**2))
    return noise


def bound_shapes(
    problem: LinearRegression,
    quant: QuantConfig | None,
    n,
    step_size: float,
    batch_size: int = 1,
    w0=None,
    n_mc: int = 4096,
) -> dict[str, np.ndarray]:
    """The terms of Theorem 4.1's bound as functions of N (shapes, constants dropped).

    With lambda^(q) sorted decreasing, k* = :func:`effective_dimension`, sigma_G^2 =
    :func:`effective_noise` and the quantized optimum w^(q)* = (H^(q))^-1 H w*
    (**[interpretation]**: the shapes of Zou et al. 2023's bound for averaged SGD)::

        variance = sigma_G^2 (k*/N + N gamma^2 sum_{i>k*} lambda_i^2)
        bias     = ||w0 - w^(q)*||^2_{H^-1, i<=k*} / (gamma N)^2 + ||w0 - w^(q)*||^2_{H, i>k*}
        approx   = :func:`approximation_error`

    Returns a dict with ``"n"``, ``"k_star"``, ``"variance"``, ``"bias"``, ``"approx"`` and
    ``"total"`` (their sum); every spectrum and norm is that of H^(q).  With eps = 0 everywhere
    this is the full-precision bound of Zou et al.

    Parameters
    ----------
    problem : LinearRegression
    quant : QuantConfig or None
        None: full precision.
    n : int or array of int
        Step counts N.
    step_size : float
    batch_size : int, default 1
    w0 : array of shape (d,), optional
        The start (default 0).
    n_mc : int, default 4096

    Returns
    -------
    dict of numpy.ndarray

    Raises
    ------
    ValueError
        A ``w0`` that does not broadcast to d entries.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import LinearRegression, bound_shapes
    >>> b = bound_shapes(LinearRegression.power_law(16), None, [10, 1000], step_size=0.1)
    >>> sorted(b), bool(b["total"][1] < b["total"][0])
    (['approx', 'bias', 'k_star', 'n', 'total', 'variance'], True)
    """
    quant = QuantConfig() if quant is None else quant
    n = np.atleast_1d(np.asarray(n, dtype=np.float64))
    lam_q = quantized_spectrum(problem, quant.data, n_mc)
    order = np.argsort(-lam_q, kind="stable")
    lam_sorted = lam_q[order]
    w_q = (problem.spectrum * problem.w_star / lam_q)[order]
    start = (
        np.zeros(problem.d) if w0 is None else np.broadcast_to(np.asarray(w0, dtype=np.float64), (problem.d,))[order]
    )
    delta2 = (start - w_q) ** 2
    k = effective_dimension(lam_sorted, n, step_size).astype(np.int64)
    _, tail_sq = _split_sums(k, lam_sorted**2)
    head_bias, _ = _split_sums(k, delta2 / lam_sorted)
    _, tail_bias = _split_sums(k, delta2 * lam_sorted)
    variance = effective_noise(problem, quant, batch_size) * (k / n + n * step_size**2 * tail_sq)
    bias = head_bias / (step_size * n) ** 2 + tail_bias
    approx = np.full_like(n, approximation_error(problem, quant.data, n_mc))
    return {
        "n": n,
        "k_star": k,
        "variance": variance,
        "bias": bias,
        "approx": approx,
        "total": variance + bias + approx,
    }


def with_eps(quant: QuantConfig, eps: float) -> QuantConfig:
    """``quant`` with every active quantizer's eps replaced (handy for eps sweeps).

    Parameters
    ----------
    quant : QuantConfig
    eps : float

    Returns
    -------
    QuantConfig

    Raises
    ------
    ValueError
        A negative or non-finite eps.

    Examples
    --------
    >>> from cvxpar.experiments.qsgd import QuantConfig, additive, with_eps
    >>> cfg = with_eps(QuantConfig.on(additive(0.1), ["data"]), 0.3)
    >>> cfg.data.eps, cfg.labels.active
    (0.3, False)
    """
    return QuantConfig(
        **{t: replace(getattr(quant, t), eps=eps) if getattr(quant, t).active else NONE for t in TARGETS}
    )
