"""Quantization maps: the baselines that :func:`cvxpar.solvers.aprox.solve_aprox` compares with AProx,
and the unbiased stochastic-rounding quantizers that :mod:`cvxpar.experiments.qsgd` simulates.

Deterministic and annealed maps (PARQ, Jin et al. 2025, Sec. 4-5 and Fig. 9; their code in
the ``parq`` package of facebookresearch and torchao.prototype.parq).  Each takes
the latent full-precision ``u`` and a sorted grid Q and returns the weights w the model uses:

- :func:`hard_quantize`: nearest grid point (STE / BinaryConnect, PARQ eq. 2-3; ``ProxHardQuant``).
- :func:`parq_map`: PARQ's annealed map (Fig. 9a, ``ProxPARQ``):
  w = clamp(c + (u - c) / iota, q_lo, q_hi), c the midpoint of the grid interval holding u;
  the slope 1/iota of the sloped pieces rises from 1 to infinity as iota falls from 1 to 0.
- :func:`binaryrelax_map`: BinaryRelax (Yin et al. 2018; Fig. 9b, ``ProxBinaryRelax``):
  w = (1 - theta) u + theta Q(u), the slope 1 - theta falling from 1 to 0.
- :func:`normalized_mirror_sigmoid` and :func:`linear_ramp`: the annealing schedules of the two.

Unbiased stochastic rounding (Zhang, Su and Zou 2025, arXiv 2510.18259, assume E[Q(u) | u] = u):

- :func:`stochastic_round`: onto the fixed grid step*Z (integer-like, "additive"); conditional
  variance p(1 - p) step^2 <= step^2 / 4.
- :func:`stochastic_round_relative`: onto a floating-point-like grid whose spacing is
  ``rel_step * 2**floor(log2|x|)`` (``rel_step = 2**-m`` is m mantissa bits; "multiplicative");
  conditional variance <= (rel_step * |x|)^2 / 4.
- :func:`stochastic_round_variance`, :func:`stochastic_round_relative_variance`: those conditional
  variances, exactly (NumPy only, like the rounding itself).

The deterministic maps work on NumPy, CuPy and Array-API arrays and return the same array type.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import _backend
from cvxpar.metrics import _grid, snap

__all__ = [
    "binaryrelax_map",
    "hard_quantize",
    "linear_ramp",
    "normalized_mirror_sigmoid",
    "parq_map",
    "relative_spacing",
    "stochastic_round",
    "stochastic_round_relative",
    "stochastic_round_relative_variance",
    "stochastic_round_variance",
]


def hard_quantize(u, grid_or_psi):
    """Nearest grid point Q(u), ties to the lower point (``torch.bucketize`` on the midpoints, as PARQ).

    ``grid_or_psi`` is a grid or a PAR (its breakpoints).  This is :func:`cvxpar.snap`.

    Parameters
    ----------
    u : array_like
        Latent full-precision values.
    grid_or_psi : sequence of float or PAR
        The grid Q, or a PAR whose grid (:attr:`cvxpar.PAR.grid`) is used.

    Returns
    -------
    array
        Same shape and array type as ``u``.

    Raises
    ------
    ValueError
        An empty grid or one with non-finite entries.

    Examples
    --------
    >>> from cvxpar import quantizers
    >>> quantizers.hard_quantize([0.2, 0.8], [0.0, 1.0])
    array([0., 1.])
    """
    return snap(u, grid_or_psi)


def normalized_mirror_sigmoid(t, t_start: float, t_end: float, steepness: float = 10.0, center: float = 0.5):
    """PARQ's inverse-slope schedule iota(t), falling from 1 at ``t_start`` to 0 at ``t_end``.

    With f = (t - t_start) / (t_end - t_start), s = ``steepness`` and c = ``center``:
    iota = (sigma_t - sigma_2) / (sigma_1 - sigma_2), where sigma_t = 1 / (1 + exp(s (f - c))),
    sigma_1 = 1 / (1 + exp(-s/2)), sigma_2 = 1 / (1 + exp(s/2))  (parq ``normalized_mirror_sigmoid``).  It is normalized (iota(0) = 1, iota(1) = 0) only for c = 0.5; like the
    reference code we clip f to [0, 1] but not iota itself.  Vectorized in ``t``.

    Parameters
    ----------
    t : float or array_like
        Step counter(s).
    t_start, t_end : float
        The annealing window, ``t_start < t_end``.
    steepness : float, default 10.0
        Positive s; larger is a sharper switch.
    center : float, default 0.5
        c, the fraction of the window where iota = 1/2 (for c = 0.5).

    Returns
    -------
    float or numpy.ndarray
        iota(t).

    Raises
    ------
    ValueError
        If ``t_end <= t_start`` or ``steepness`` is not a finite positive number.

    Examples
    --------
    >>> from cvxpar import quantizers
    >>> quantizers.normalized_mirror_sigmoid([0.0, 50.0, 100.0], 0.0, 100.0)
    array([1. , 0.5, 0. ])
    """
    if not math.isfinite(steepness) or steepness <= 0:
        raise ValueError(f"steepness must be a finite positive number; got {steepness}.")
    f = np.asarray(linear_ramp(t, t_start, t_end))
    st = 1.0 / (1.0 + np.exp(steepness * (f - center)))
    s1 = 1.0 / (1.0 + math.exp(-steepness / 2))
    s2 = 1.0 / (1.0 + math.exp(steepness / 2))
    out = (st - s2) / (s1 - s2)
    return out[()] if out.ndim == 0 else out


def linear_ramp(t, t_start: float, t_end: float):
    """BinaryRelax's theta(t) = (t - t_start) / (t_end - t_start), clipped to [0, 1] (parq ``ProxBinaryRelax``).

    Parameters
    ----------
    t : float or array_like
        Step counter(s).
    t_start, t_end : float
        The ramp, ``t_start < t_end``.

    Returns
    -------
    float or numpy.ndarray
        theta(t) in [0, 1].

    Raises
    ------
    ValueError
        If ``t_end <= t_start``.

    Examples
    --------
    >>> from cvxpar import quantizers
    >>> quantizers.linear_ramp([-5.0, 25.0, 200.0], 0.0, 100.0)
    array([0.  , 0.25, 1.  ])
    """
    if not t_end > t_start:
        raise ValueError(f"the schedule needs t_end > t_start; got t_start={t_start}, t_end={t_end}.")
    out = np.clip((np.asarray(t, dtype=np.float64) - t_start) / (t_end - t_start), 0.0, 1.0)
    return out[()] if out.ndim == 0 else out


def _check_fraction(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1]; got {value}.")
    return value


def parq_map(u, grid_or_psi, inv_slope: float):
    """PARQ's annealed map with inverse slope iota = ``inv_slope`` in [0, 1] (PARQ Fig. 9a, ``ProxPARQ``).

    For u in (q_lo, q_hi] (``bucketize`` semantics) with midpoint c = (q_lo + q_hi)/2:
    w = clamp(c + (u - c) / iota, q_lo, q_hi).  Outside [q_0, q_{m-1}], w is the nearest end.
    iota = 1 is the identity clipped to the grid's range; iota = 0 is :func:`hard_quantize`.
    (Before the annealing window PARQ applies no map at all, not even the clipping: the caller
    decides when to call this.)

    Parameters
    ----------
    u : array_like
        Latent full-precision values.
    grid_or_psi : sequence of float or PAR
        The grid Q, or a PAR whose grid (:attr:`cvxpar.PAR.grid`) is used.
    inv_slope : float
        iota in [0, 1].

    Returns
    -------
    array
        Same shape and array type as ``u``.

    Raises
    ------
    ValueError
        If ``inv_slope`` is outside [0, 1].

    Examples
    --------
    >>> from cvxpar import quantizers
    >>> quantizers.parq_map([0.3, 0.6, 1.4], [0.0, 1.0], inv_slope=0.5)
    array([0.1, 0.7, 1. ])
    """
    iota = _check_fraction(inv_slope, "inv_slope")
    if iota == 0.0:
        return hard_quantize(u, grid_or_psi)
    xp, arr, scalar = _backend.prepare(u)
    q = _backend.asarray_like(xp, _grid(grid_or_psi), arr)
    last = q.shape[0] - 1
    idx = xp.searchsorted(q, xp.reshape(arr, (-1,)), side="left")
    q_lo = xp.reshape(xp.take(q, xp.clip(idx - 1, 0, last)), arr.shape)
    q_hi = xp.reshape(xp.take(q, xp.clip(idx, 0, last)), arr.shape)
    c = (q_lo + q_hi) / 2
    out = xp.clip(c + (arr - c) / iota, q_lo, q_hi)
    return _backend.finish(xp.where(xp.isnan(arr), arr, out), scalar)


def binaryrelax_map(u, grid_or_psi, theta: float):
    """BinaryRelax: (1 - theta) u + theta Q(u), theta in [0, 1] (Yin et al. 2018; PARQ Fig. 9b).

    Parameters
    ----------
    u : array_like
        Latent full-precision values.
    grid_or_psi : sequence of float or PAR
        The grid Q, or a PAR whose grid (:attr:`cvxpar.PAR.grid`) is used.
    theta : float
        Weight of the quantized point, in [0, 1].

    Returns
    -------
    array
        Same shape and array type as ``u``.

    Raises
    ------
    ValueError
        If ``theta`` is outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar import quantizers
    >>> quantizers.binaryrelax_map(np.array([0.2, 0.8]), [0.0, 1.0], theta=0.5)
    array([0.1, 0.9])
    """
    theta = _check_fraction(theta, "theta")
    q = hard_quantize(u, grid_or_psi)
    if theta == 1.0:
        return q
    return (1.0 - theta) * u + theta * q


def _as_generator(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _check_step(value: float, name: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite nonnegative number; got {value}.")
    return float(value)


def _cells(x: np.ndarray, h) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x = (k + p) h with k integer and p in [0, 1); where h = 0, p = 0 and k h is replaced by x."""
    spacing = np.where(h > 0, h, 1.0)
    z = x / spacing
    k = np.floor(z)
    p = np.where(h > 0, z - k, 0.0)
    return np.where(h > 0, k * spacing, x), p, spacing


def _round_to_cells(x: np.ndarray, h, rng) -> np.ndarray:
    low, p, spacing = _cells(x, h)
    up = _as_generator(rng).random(x.shape) < p
    return low + np.where(up, spacing, 0.0)


def _cell_variance(x: np.ndarray, h) -> np.ndarray:
    _, p, spacing = _cells(x, h)
    return p * (1.0 - p) * spacing**2


def stochastic_round(x, step: float, rng=None) -> np.ndarray:
    """Unbiased stochastic rounding of ``x`` onto ``step * Z`` (integer-like quantization).

    With k = floor(x / step) and p = x / step - k, it returns (k + 1) step with probability p and
    k step otherwise, so E[Q(x)] = x and Var[Q(x) | x] = p (1 - p) step^2 <= step^2 / 4
    (:func:`stochastic_round_variance`).  No range clipping (saturation would be biased).
    ``step = 0`` is the identity.

    Parameters
    ----------
    x : array_like
        Values to round.
    step : float
        Nonnegative grid step.
    rng : numpy.random.Generator or int, optional
        Random generator or seed.

    Returns
    -------
    numpy.ndarray
        float64 values on ``step * Z``.

    Raises
    ------
    ValueError
        If ``step`` is negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar import quantizers
    >>> q = quantizers.stochastic_round(np.full(100_000, 0.3), step=1.0, rng=0)
    >>> sorted(set(q.tolist())), round(float(q.mean()), 2)     # unbiased: E[Q(x)] = x
    ([0.0, 1.0], 0.3)
    """
    step = _check_step(step, "step")
    return _round_to_cells(np.asarray(x, dtype=np.float64), step, rng)


def stochastic_round_variance(x, step: float) -> np.ndarray:
    """Var[Q(x) | x] = p (1 - p) step^2 of :func:`stochastic_round`, elementwise.

    Parameters
    ----------
    x : array_like
        Values.
    step : float
        Nonnegative grid step.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        A negative or non-finite step.

    Examples
    --------
    >>> from cvxpar import quantizers
    >>> quantizers.stochastic_round_variance([0.5, 2.0], step=1.0)
    array([0.25, 0.  ])
    """
    return _cell_variance(np.asarray(x, dtype=np.float64), _check_step(step, "step"))


def relative_spacing(x, rel_step: float) -> np.ndarray:
    """Grid spacing of :func:`stochastic_round_relative` at ``x``: rel_step * 2**floor(log2|x|) (0 at 0).

    Parameters
    ----------
    x : array_like
        Values.
    rel_step : float
        Relative step (``2**-m`` for m mantissa bits).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        A negative or non-finite rel_step.

    Examples
    --------
    >>> from cvxpar import quantizers
    >>> quantizers.relative_spacing([0.0, 1.5, 6.0], rel_step=0.25)
    array([0.  , 0.25, 1.  ])
    """
    rel_step = _check_step(rel_step, "rel_step")
    ax = np.abs(np.asarray(x, dtype=np.float64))
    with np.errstate(divide="ignore"):
        binade = np.exp2(np.floor(np.log2(ax)))
    return np.where(ax > 0, rel_step * binade, 0.0)


def stochastic_round_relative(x, rel_step: float, rng=None) -> np.ndarray:
    """Unbiased stochastic rounding onto a floating-point-like grid (multiplicative quantization).

    The spacing at x is h(x) = ``rel_step`` * 2**floor(log2|x|) (:func:`relative_spacing`), a relative
    precision between rel_step / 2 and rel_step (``rel_step = 2**-m`` emulates m mantissa bits, with
    no exponent limits); x is rounded stochastically to a neighbouring multiple of h(x), so
    E[Q(x)] = x, Var[Q(x) | x] <= h(x)^2 / 4 <= (rel_step x)^2 / 4 and 0 stays 0.  ``rel_step = 0``
    is the identity.

    Parameters
    ----------
    x : array_like
        Values to round.
    rel_step : float
        Nonnegative relative step.
    rng : numpy.random.Generator or int, optional
        Random generator or seed.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``rel_step`` is negative or not finite.

    Examples
    --------
    >>> from cvxpar import quantizers
    >>> q = quantizers.stochastic_round_relative([1.1, 0.0], rel_step=0.5, rng=0)
    >>> bool(q[0] in (1.0, 1.5)), float(q[1])
    (True, 0.0)
    """
    x = np.asarray(x, dtype=np.float64)
    return _round_to_cells(x, relative_spacing(x, _check_step(rel_step, "rel_step")), rng)


def stochastic_round_relative_variance(x, rel_step: float) -> np.ndarray:
    """Var[Q(x) | x] of :func:`stochastic_round_relative`, elementwise.

    Parameters
    ----------
    x : array_like
        Values.
    rel_step : float
        Nonnegative relative step.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        A negative or non-finite rel_step.

    Examples
    --------
    >>> from cvxpar import quantizers
    >>> quantizers.stochastic_round_relative_variance([1.25, 4.0], rel_step=0.5)
    array([0.0625, 0.    ])
    """
    x = np.asarray(x, dtype=np.float64)
    return _cell_variance(x, relative_spacing(x, _check_step(rel_step, "rel_step")))
