"""Quantization metrics: the fraction of entries on the grid, and snapping to the grid."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from cvxpar import _backend
from cvxpar.par import PAR


def _grid(grid_or_psi) -> np.ndarray:
    if isinstance(grid_or_psi, PAR):
        return grid_or_psi.grid
    q = np.unique(np.asarray(grid_or_psi, dtype=np.float64).reshape(-1))
    if q.size == 0 or not np.isfinite(q).all():
        raise ValueError("the grid must be a nonempty sequence of finite numbers (or a PAR, whose quantization grid PAR.grid is used).")
    return q


def snap(x: npt.ArrayLike, grid_or_psi: npt.ArrayLike | PAR) -> Any:
    """The nearest grid point to each entry of ``x`` (ties go to the smaller grid point).

    ``grid_or_psi`` is a sequence of grid points or a PAR (its quantization grid :attr:`PAR.grid`:
    the breakpoints that are convex kinks).  Same array type out.

    Parameters
    ----------
    x : array_like
        Values to round (NumPy, CuPy or Array-API array, or a scalar); NaN stays NaN.
    grid_or_psi : sequence of float or PAR
        The grid, or a PAR whose grid is used.

    Returns
    -------
    array
        Same shape and array type as ``x``.

    Raises
    ------
    ValueError
        If the grid is empty or not finite.

    Examples
    --------
    >>> import cvxpar
    >>> cvxpar.snap([0.1, 0.3, -0.9], [-0.5, 0.0, 0.5])
    array([ 0. ,  0.5, -0.5])
    """
    xp, arr, scalar = _backend.prepare(x)
    q = _backend.asarray_like(xp, _grid(grid_or_psi), arr)
    n = q.shape[0]
    if n == 1:
        return _backend.finish(xp.where(xp.isnan(arr), arr, xp.zeros_like(arr) + q[0]), scalar)
    mids = (q[1:] + q[:-1]) / 2
    idx = xp.searchsorted(mids, arr, side="left")
    out = xp.reshape(xp.take(q, xp.reshape(idx, (-1,))), arr.shape)
    return _backend.finish(xp.where(xp.isnan(arr), arr, out), scalar)


def quantization_rate(x: npt.ArrayLike, grid_or_psi: npt.ArrayLike | PAR, atol: float = 1e-8) -> float:
    """Fraction of the entries of ``x`` within ``atol`` of a grid point.

    For a PAR the grid is :attr:`PAR.grid`, its breakpoints that are convex kinks (all of them for a
    convex PAR with strictly increasing slopes); the concave kinks of a nonconvex PAR (sawtooth
    midpoints) are not quantization points.

    NaN entries count as not quantized; an empty ``x`` gives NaN.

    Parameters
    ----------
    x : array_like
        The values (any shape, any supported array type).
    grid_or_psi : sequence of float or PAR
        The grid, or a PAR whose grid is used.
    atol : float, default 1e-8
        Absolute distance within which an entry counts as on the grid.

    Returns
    -------
    float
        A number in [0, 1] (NaN for an empty ``x``).

    Raises
    ------
    ValueError
        If ``atol`` is negative or the grid is empty or not finite.

    Examples
    --------
    >>> import cvxpar
    >>> cvxpar.quantization_rate([0.0, 0.5, 0.3, -0.5], [-0.5, 0.0, 0.5])
    0.75
    """
    if not atol >= 0:
        raise ValueError(f"atol must be a nonnegative number; got {atol}.")
    xp, arr, _ = _backend.prepare(x)
    size = math.prod(arr.shape)
    if size == 0:
        return float("nan")
    hits = xp.abs(arr - snap(arr, grid_or_psi)) <= atol
    return float(xp.sum(xp.astype(hits, xp.float64))) / size
