"""Hypothesis strategies for random PARs and an independent reference psi (no cvxpar code).

The reference evaluates psi from its defining data with ``np.interp`` inside the breakpoints
and the outer slopes beyond them, so tests of :meth:`cvxpar.PAR.__call__` and of the prox
never lean on the code under test.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import cvxpar

CURVATURES = ("convex", "quasiconvex", "nonconvex")



def reals(lo: float, hi: float):
    """Floats in [lo, hi] on a 1e-9 lattice: no subnormal scales, whose squares underflow."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 9))


_coord = reals(-8.0, 8.0)
_slope = reals(-6.0, 6.0)


@st.composite
def breakpoints(draw, min_size: int = 1, max_size: int = 6) -> np.ndarray:
    """Strictly increasing breakpoints, at least 1e-2 apart."""
    raw = draw(st.lists(_coord, min_size=min_size, max_size=max_size, unique=True))
    q = np.sort(np.asarray(raw, dtype=np.float64))
    keep = np.concatenate(([True], np.diff(q) >= 1e-2))
    q = q[keep]
    if q.size < min_size:
        q = np.asarray(sorted(raw)[0] + np.arange(min_size), dtype=np.float64)
    return q


@st.composite
def slopes_for(draw, curvature: str, n: int) -> np.ndarray:
    """n slopes (left to right) of the given curvature class (convex is a special case of the others)."""
    s = np.asarray(draw(st.lists(_slope, min_size=n, max_size=n)), dtype=np.float64)
    if curvature == "convex":
        s = np.sort(s)
    elif curvature == "quasiconvex":
        split = draw(st.integers(0, n))
        s[:split] = -np.abs(s[:split])
        s[split:] = np.abs(s[split:])
    if draw(st.booleans()):  # round slopes so that exact ties and flat pieces occur
        s = np.round(s)
    return s


@st.composite
def pars(draw, curvature: str | None = None, max_breakpoints: int = 6, walls: bool = True):
    """A random PAR of the given curvature class (any when None), hard walls drawn at random."""
    curvature = curvature or draw(st.sampled_from(CURVATURES))
    q = draw(breakpoints(max_size=max_breakpoints))
    s = draw(slopes_for(curvature, q.size + 1))
    if walls and draw(st.booleans()):
        s[0] = -np.inf
    if walls and draw(st.booleans()):
        s[-1] = np.inf
    offset = draw(reals(-5.0, 5.0))
    return cvxpar.PAR.from_slopes(q, s, offset=offset)


def reference_psi(psi: cvxpar.PAR, x) -> np.ndarray:
    """psi(x) from breakpoints, values and outer slopes alone (float64, +inf outside the domain)."""
    x = np.asarray(x, dtype=np.float64)
    q, vals = np.asarray(psi.breakpoints), np.asarray(psi.values)
    left, right = psi.slopes[0], psi.slopes[-1]
    inside = np.interp(x, q, vals)
    with np.errstate(invalid="ignore"):
        below = vals[0] + left * (x - q[0]) if np.isfinite(left) else np.full_like(x, np.inf)
        above = vals[-1] + right * (x - q[-1]) if np.isfinite(right) else np.full_like(x, np.inf)
    out = np.where(x < q[0], below, np.where(x > q[-1], above, inside))
    return np.where(np.isnan(x), np.nan, out)


def prox_objective(psi: cvxpar.PAR, x, v, t) -> np.ndarray:
    """t * psi(x) + (x - v)^2 / 2 in float64 through :func:`reference_psi` (0 * inf counts as inf)."""
    x = np.asarray(x, dtype=np.float64)
    p = reference_psi(psi, x)
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), p.shape)
    scaled = np.where(np.isinf(p), np.inf, t * np.where(np.isinf(p), 0.0, p))
    return scaled + 0.5 * (x - np.asarray(v, dtype=np.float64)) ** 2
