"""PAR families from the PAR and PARQ papers, each built on a quantization grid.

- :func:`l1`: an l1-approximating convex PAR (Ma & Xiao 2025, arXiv 2508.11112).
- :func:`ridge`: the interpolant of x^2/2 on the grid (slopes (k + 1/2) step), a convex PAR with
  0 <= psi - x^2/2 <= step^2/8 on the grid and |g - x| <= step/2 for g in its subdifferential.
- :func:`mcp`: an MCP-approximating PAR (interpolated MCP plus beta*dist(x, Q)); nonconvex, or
  quasiconvex when the grid stays inside [-gamma, gamma] where MCP still increases.
- :func:`sawtooth`: the nonconvex W-shaped slope*dist(x, Q) (ProxQuant: Bai, Wang & Liberty 2019).
- :func:`staircase`: a quasiconvex staircase (Ma & Xiao 2025, Fig. 1).
- :func:`parq`: PARQ's convex PAR with slopes at interval midpoints and a hard box (PARQ eq. 6).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cvxpar._validation import as_finite_vector, check_strictly_increasing
from cvxpar.par import PAR


def _sorted_grid(grid) -> np.ndarray:
    q = as_finite_vector(grid, "grid")
    check_strictly_increasing(q, "grid")
    return q


def l1(grid: npt.ArrayLike = (0.0,), eps: float = 0.1) -> PAR:
    """Convex l1-approximating PAR with kinks at ``grid`` and at 0.

    psi(0) = 0 and the slope of the j-th segment away from 0 is +/-(1 + eps*j), j = 0, 1, ...;
    so |x| <= psi(x) and every grid point is a convex kink when eps > 0.  With the default grid
    {0}, psi(x) = |x| exactly (the Lasso).

    Parameters
    ----------
    grid : sequence of float, default (0.0,)
        Strictly increasing grid points; 0 is always added.
    eps : float, default 0.1
        Slope increment per segment away from 0 (nonnegative).

    Returns
    -------
    PAR
        A convex PAR.

    Raises
    ------
    ValueError
        If ``grid`` is not strictly increasing and finite, or ``eps`` is negative or not finite.

    Examples
    --------
    >>> import cvxpar
    >>> psi = cvxpar.pars.l1([-1.0, 0.0, 1.0])
    >>> psi.slopes
    array([-1.1, -1. ,  1. ,  1.1])
    """
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite nonnegative number; got {eps}.")
    q = np.union1d(_sorted_grid(grid), [0.0])
    zero = int(np.searchsorted(q, 0.0))
    slopes = np.empty(q.size + 1)
    right = np.arange(q.size - zero)
    left = np.arange(zero + 1)[::-1]
    slopes[zero + 1 :] = 1.0 + eps * right
    slopes[: zero + 1] = -(1.0 + eps * left)
    return PAR.from_slopes(q, slopes, offset=0.0)


def ridge(grid: npt.ArrayLike, box: bool = False) -> PAR:
    """The interpolant of x^2/2 on ``grid``: slopes (q_j + q_{j+1})/2 between grid points.

    Outside the grid the slopes continue the pattern (secants to one more step), so the end
    points stay convex kinks; ``box=True`` puts hard walls there instead.  On the grid's range
    0 <= psi(x) - x^2/2 <= step^2/8, and every g in the subdifferential satisfies |g - x| <= step/2.

    Parameters
    ----------
    grid : sequence of float
        At least two strictly increasing grid points.
    box : bool, default False
        Hard walls at the ends of the grid (psi = +inf outside).

    Returns
    -------
    PAR
        A convex PAR.

    Raises
    ------
    ValueError
        If the grid has fewer than two points or is not strictly increasing.

    Examples
    --------
    >>> import cvxpar
    >>> psi = cvxpar.pars.ridge([-1.0, 0.0, 1.0])
    >>> psi.slopes
    array([-1.5, -0.5,  0.5,  1.5])
    >>> psi.prox([0.2, 0.9], t=1.0)         # the plateau [-0.5, 0.5] maps onto 0
    array([0. , 0.4])
    """
    q = _sorted_grid(grid)
    if q.size < 2:
        raise ValueError("ridge needs a grid of at least two points.")
    if box:
        left, right = -np.inf, np.inf
    else:
        left = q[0] - (q[1] - q[0]) / 2
        right = q[-1] + (q[-1] - q[-2]) / 2
    return PAR.interpolate(lambda x: 0.5 * x * x, q, left, right)


def parq(grid: npt.ArrayLike) -> PAR:
    """PARQ's convex PAR (Jin et al. 2025, eq. 6 with lambda*a_k = (q_k + q_{k+1})/2).

    The slope on [q_k, q_{k+1}] is the interval midpoint, so as the prox weight grows the prox
    becomes rounding to the nearest grid point; a_m = +inf gives the hard box [q_0, q_{m-1}].
    It is the ridge interpolant with walls (the midpoint slopes are the secants of x^2/2).

    Parameters
    ----------
    grid : sequence of float
        At least two strictly increasing grid points.

    Returns
    -------
    PAR
        A convex PAR with hard walls at the ends of the grid.

    Raises
    ------
    ValueError
        If the grid has fewer than two points or is not strictly increasing.

    Examples
    --------
    >>> import numpy as np
    >>> import cvxpar
    >>> psi = cvxpar.pars.parq([0.0, 1.0, 2.0])
    >>> psi.domain
    (0.0, 2.0)
    >>> w = np.array([0.4, 0.7, 1.7])
    >>> psi.prox(100.0 * w, t=100.0)        # prox_{t psi}(t w) -> rounding of w as t grows
    array([0., 1., 2.])
    """
    return ridge(grid, box=True)


def sawtooth(grid: npt.ArrayLike, slope: float = 1.0) -> PAR:
    """slope * dist(x, Q) on [q_0, q_{m-1}], continued with slope outside: nonconvex (W-shaped).

    ProxQuant's regularizer (Bai, Wang & Liberty 2019).  Its prox soft-rounds: with p the nearest
    grid point and r = v - p, prox(v) = p + sign(r) max(|r| - t*slope, 0).

    Parameters
    ----------
    grid : sequence of float
        Strictly increasing grid points Q.
    slope : float, default 1.0
        Positive slope of every piece.

    Returns
    -------
    PAR
        A nonconvex PAR (concave kinks at the midpoints of the grid).

    Raises
    ------
    ValueError
        If the grid is not strictly increasing, or ``slope`` is not a finite positive number.

    Examples
    --------
    >>> import cvxpar
    >>> psi = cvxpar.pars.sawtooth([0.0, 1.0, 2.0])
    >>> psi.curvature
    'nonconvex'
    >>> psi.prox([0.3, 1.6], t=0.2)
    array([0.1, 1.8])
    """
    q = _sorted_grid(grid)
    if not np.isfinite(slope) or slope <= 0:
        raise ValueError(f"slope must be a finite positive number; got {slope}.")
    mids = (q[1:] + q[:-1]) / 2
    points = np.sort(np.concatenate((q, mids)))
    values = slope * np.abs(points - _nearest(q, points))
    return PAR(points, values, -slope, slope)


def staircase(grid: npt.ArrayLike, rise: float = 0.5, slope: float = 1.0) -> PAR:
    """Quasiconvex staircase: slope ``slope`` on the first ``rise`` fraction of each cell away from
    the grid point nearest 0, flat on the rest (Ma & Xiao 2025, Fig. 1); outer slopes +/-``slope``.

    The flat pieces make it quasiconvex, and they are also why the 1 - n/d quantization bound
    does not apply to it (a zero slope lets any number of coordinates stay off the grid).

    Parameters
    ----------
    grid : sequence of float
        Strictly increasing grid points.
    rise : float, default 0.5
        Fraction of each cell (from the grid point nearer 0) on which psi rises, in (0, 1).
    slope : float, default 1.0
        Positive slope of the rising pieces.

    Returns
    -------
    PAR
        A quasiconvex PAR.

    Raises
    ------
    ValueError
        If the grid is not strictly increasing, ``rise`` is not in (0, 1), or ``slope`` is not a
        finite positive number.

    Examples
    --------
    >>> import cvxpar
    >>> psi = cvxpar.pars.staircase([0.0, 1.0, 2.0])
    >>> psi.curvature
    'quasiconvex'
    >>> psi([0.5, 1.0, 1.5])
    array([0.5, 0.5, 1. ])
    """
    q = _sorted_grid(grid)
    if not 0 < rise < 1:
        raise ValueError(f"rise must lie strictly between 0 and 1; got {rise}.")
    if not np.isfinite(slope) or slope <= 0:
        raise ValueError(f"slope must be a finite positive number; got {slope}.")
    center = int(np.argmin(np.abs(q)))
    points = [q[center]]
    values = [0.0]
    for direction in (1, -1):
        level = 0.0
        j = center
        while 0 <= j + direction < q.size:
            a, b = q[j], q[j + direction]
            corner = a + rise * (b - a)
            level += slope * abs(corner - a)
            points += [corner, b]
            values += [level, level]
            j += direction
    order = np.argsort(points)
    return PAR(np.asarray(points)[order], np.asarray(values)[order], -slope, slope)


def mcp(grid: npt.ArrayLike, gamma: float, beta: float | None = None) -> PAR:
    """MCP-approximating PAR: the MCP interpolant on ``grid`` plus beta * dist(x, Q).

    Not convex: its curvature is ``"nonconvex"`` once the grid reaches past gamma (where MCP is
    flat and the dist term makes it fall), ``"quasiconvex"`` while psi still grows with |x|.

    MCP(x) = |x| - x^2/(2 gamma) for |x| <= gamma, gamma/2 beyond (Zhang 2010).  Interpolating it
    alone gives concave kinks, which the prox never lands on; adding beta*dist(x, Q) makes every
    grid point a convex kink (default beta = largest grid step / gamma, twice the slope drop of
    the interpolant), at a uniform error of at most beta * step / 2.

    Parameters
    ----------
    grid : sequence of float
        At least two strictly increasing grid points.
    gamma : float
        MCP's concavity parameter (positive): MCP is flat beyond |x| = gamma.
    beta : float, optional
        Weight of the dist(x, Q) term (nonnegative); default: largest grid step / gamma.

    Returns
    -------
    PAR
        A nonconvex or quasiconvex PAR.

    Raises
    ------
    ValueError
        If the grid has fewer than two points, or ``gamma`` / ``beta`` are out of range.

    Examples
    --------
    >>> import cvxpar
    >>> psi = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 9), gamma=1.0)
    >>> psi.curvature
    'nonconvex'
    """
    q = _sorted_grid(grid)
    if q.size < 2:
        raise ValueError("mcp needs a grid of at least two points.")
    if not np.isfinite(gamma) or gamma <= 0:
        raise ValueError(f"gamma must be a finite positive number; got {gamma}.")
    if beta is None:
        beta = float(np.max(np.diff(q))) / gamma
    if not np.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be a finite nonnegative number; got {beta}.")

    def mcp_value(x):
        ax = np.abs(x)
        return np.where(ax <= gamma, ax - x * x / (2 * gamma), gamma / 2)

    mids = (q[1:] + q[:-1]) / 2
    points = np.sort(np.concatenate((q, mids)))
    interp = np.interp(points, q, mcp_value(q))
    values = interp + beta * np.abs(points - _nearest(q, points))
    secant_left = (mcp_value(q[1]) - mcp_value(q[0])) / (q[1] - q[0])
    secant_right = (mcp_value(q[-1]) - mcp_value(q[-2])) / (q[-1] - q[-2])
    return PAR(points, values, min(secant_left, 0.0) - beta, max(secant_right, 0.0) + beta)


def _nearest(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(q, x), 1, q.size - 1)
    left, right = q[idx - 1], q[idx]
    return np.where(x - left <= right - x, left, right)
