"""Quantization grids Q (sorted 1-D float64 arrays)."""

from __future__ import annotations

import numpy as np


def uniform(step: float, n_levels: int, center: float = 0.0) -> np.ndarray:
    """``n_levels`` equally spaced points ``center + step*(k - (n_levels-1)/2)``, k = 0..n_levels-1.

    An odd ``n_levels`` contains ``center`` itself; an even one straddles it.

    Parameters
    ----------
    step : float
        Positive spacing.
    n_levels : int
        Number of points (positive).
    center : float, default 0.0
        Midpoint of the grid.

    Returns
    -------
    numpy.ndarray
        The sorted float64 grid.

    Raises
    ------
    ValueError
        If ``step`` is not a finite positive number, ``n_levels`` is not a positive integer, or
        ``center`` is not finite.

    Examples
    --------
    >>> import cvxpar
    >>> cvxpar.grids.uniform(step=0.25, n_levels=5)
    array([-0.5 , -0.25,  0.  ,  0.25,  0.5 ])
    """
    if not np.isfinite(step) or step <= 0:
        raise ValueError(f"step must be a finite positive number; got {step}.")
    if int(n_levels) != n_levels or n_levels < 1:
        raise ValueError(f"n_levels must be a positive integer; got {n_levels}.")
    if not np.isfinite(center):
        raise ValueError(f"center must be finite; got {center}.")
    k = np.arange(int(n_levels), dtype=np.float64)
    return center + step * (k - (n_levels - 1) / 2.0)


def bits(b: int, scale: float, include_zero: bool = False) -> np.ndarray:
    """The uniform b-bit grid of PARQ's ``UnifQuantizer`` (Jin et al. 2025, arXiv 2503.15748).

    ``include_zero=False``: 2^b symmetric levels ``scale * {-(2^(b-1) - 1/2), ..., 2^(b-1) - 1/2}``
    (no zero; b = 1 gives +/- scale/2).  ``include_zero=True``: the 2^b - 1 levels
    ``scale * {-(2^(b-1) - 1), ..., 2^(b-1) - 1}`` (``MaxUnifQuantizer``), which contain 0.

    Parameters
    ----------
    b : int
        Number of bits (positive; at least 2 with ``include_zero=True``).
    scale : float
        Positive spacing of the levels.
    include_zero : bool, default False
        Use the 2^b - 1 levels that contain 0.

    Returns
    -------
    numpy.ndarray
        The sorted float64 grid.

    Raises
    ------
    ValueError
        If ``b`` or ``scale`` is out of range.

    Examples
    --------
    >>> import cvxpar
    >>> cvxpar.grids.bits(2, scale=1.0)
    array([-1.5, -0.5,  0.5,  1.5])
    >>> cvxpar.grids.bits(2, scale=1.0, include_zero=True)
    array([-1.,  0.,  1.])
    """
    if int(b) != b or b < 1:
        raise ValueError(f"b must be a positive integer number of bits; got {b}.")
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite positive number; got {scale}.")
    half = 2 ** (int(b) - 1)
    if include_zero:
        if b == 1:
            raise ValueError("include_zero=True needs b >= 2 (1 bit with zero leaves only {0}).")
        return scale * np.arange(-(half - 1), half, dtype=np.float64)
    return scale * (np.arange(-half, half, dtype=np.float64) + 0.5)


def integer(bits: int, scale: float = 1.0, signed: bool = True) -> np.ndarray:
    """The b-bit integer grid of fixed-point quantization, times ``scale``.

    ``signed=True``: two's-complement integers ``scale * {-2^(b-1), ..., 2^(b-1) - 1}`` (INT4 is
    {-8, ..., 7}); ``signed=False``: ``scale * {0, ..., 2^b - 1}``.  Both have 2^b levels and
    contain 0 (unlike :func:`bits`, whose symmetric levels straddle it).

    Parameters
    ----------
    bits : int
        Number of bits, 1 to 52 (float64 holds such integers exactly).
    scale : float, default 1.0
        Positive spacing of the levels.
    signed : bool, default True
        Two's-complement range around 0; else the nonnegative range from 0.

    Returns
    -------
    numpy.ndarray
        The sorted float64 grid of 2^bits levels.

    Raises
    ------
    ValueError
        If ``bits`` or ``scale`` is out of range.

    Examples
    --------
    >>> import cvxpar
    >>> cvxpar.grids.integer(4).astype(int).tolist()  # INT4
    [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7]
    >>> cvxpar.grids.integer(2, scale=0.5, signed=False)
    array([0. , 0.5, 1. , 1.5])
    """
    if isinstance(bits, bool) or int(bits) != bits or bits < 1:
        raise ValueError(f"bits must be a positive integer number of bits; got {bits!r}.")
    if bits > 52:
        raise ValueError(f"bits = {bits} exceeds float64's 52-bit mantissa: the grid would not be exact integers.")
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite positive number; got {scale}.")
    n = 2 ** int(bits)
    start = -(n // 2) if signed else 0
    return scale * np.arange(start, start + n, dtype=np.float64)
