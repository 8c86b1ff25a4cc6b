"""An exact mixed-integer formulation of psi(x_i) for a nonconvex PAR on a bounded interval.

On [L, U] psi splits at its *concave* kinks into convex chunks C_1, ..., C_K with
psi = max_j (a_kj x + b_kj) on C_k = [l_k, u_k].  Per coordinate i, one binary z_ik picks the
chunk (sum_k z_ik = 1) and a copy x_ik carries x_i in it (the disaggregated "multiple choice"
model, locally ideal; Vielma, Ahmed & Nemhauser 2010, "Mixed-integer models for nonseparable
piecewise-linear optimization", section 3):

    l_k z_ik <= x_ik <= u_k z_ik,   x_i = sum_k x_ik,
    w_ik >= a_kj x_ik + b_kj z_ik   (every piece j of chunk k: the perspective of the chunk's epigraph),
    psi(x_i) <= sum_k w_ik,

exact at a minimum (the w_ik are pushed down onto the chunk's max; w_ik = 0 where z_ik = 0).
Only concave kinks cost binaries: a convex psi is one chunk, and a PAR with c concave kinks in
(L, U) needs c + 1 binaries per coordinate.  The walls of psi and finite bounds L, U are needed,
since the chunk copies live in [l_k z, u_k z].
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from cvxpar.par import PAR, SLOPE_RTOL


@dataclass(frozen=True)
class Chunk:
    """psi = max_j (slopes[j] x + intercepts[j]) on [lower, upper]."""

    lower: float
    upper: float
    slopes: np.ndarray
    intercepts: np.ndarray

    def scaled(self, factor: float) -> Chunk:
        """The same chunk of psi(y / factor), y = factor x: bounds times factor, slopes divided by it."""
        return Chunk(self.lower * factor, self.upper * factor, self.slopes / factor, self.intercepts)


def convex_chunks(psi: PAR, lower: float, upper: float) -> list[Chunk]:
    """Split psi on [lower, upper] (finite, inside psi's domain) at its concave kinks."""
    if not (np.isfinite(lower) and np.isfinite(upper)) or lower > upper:
        raise ValueError(f"convex_chunks needs a finite interval; got [{lower}, {upper}].")
    dom_lo, dom_hi = psi.domain
    if lower < dom_lo or upper > dom_hi:
        raise ValueError(f"[{lower}, {upper}] leaves psi's domain [{dom_lo}, {dom_hi}].")
    q = psi.breakpoints
    points = np.concatenate(([lower], q[(q > lower) & (q < upper)], [upper]))
    if points.size == 2 and lower == upper:
        return [Chunk(lower, upper, np.zeros(1), np.asarray(psi([lower]), dtype=np.float64))]
    values = np.asarray(psi(points), dtype=np.float64)
    slopes = np.diff(values) / np.diff(points)
    intercepts = values[:-1] - slopes * points[:-1]
    scale = 1.0 + float(np.max(np.abs(slopes)))
    concave = np.flatnonzero(np.diff(slopes) < -SLOPE_RTOL * scale) + 1  # kink index into points
    starts = np.concatenate(([0], concave))
    ends = np.concatenate((concave, [slopes.size]))
    return [
        Chunk(float(points[s]), float(points[e]), slopes[s:e].copy(), intercepts[s:e].copy())
        for s, e in zip(starts, ends, strict=True)
    ]


def par_epigraph(x: cp.Variable, psi: PAR, lower: float, upper: float) -> tuple[cp.Expression, list]:
    """``(w, constraints)``: w_i >= psi(x_i) with equality at a minimum, for x in [lower, upper]^d.

    ``x`` is a 1-D CVXPY variable; ``lower``, ``upper`` are finite scalars (per-coordinate
    bounds go on x separately).  Adds ``d * (number of chunks)`` binaries; none for a convex
    psi.
    """
    chunks = convex_chunks(psi, lower, upper)
    d = x.shape[0]
    if len(chunks) == 1:
        chunk = chunks[0]
        w = cp.Variable(d)
        cons = [x >= chunk.lower, x <= chunk.upper]
        cons += [w >= a * x + b for a, b in zip(chunk.slopes, chunk.intercepts, strict=True)]
        return w, cons
    k = len(chunks)
    lo = np.array([c.lower for c in chunks])
    hi = np.array([c.upper for c in chunks])
    z = cp.Variable((d, k), boolean=True)
    xs = cp.Variable((d, k))
    w = cp.Variable((d, k))
    cons = [
        cp.sum(z, axis=1) == 1,
        xs >= cp.multiply(z, np.broadcast_to(lo, (d, k))),
        xs <= cp.multiply(z, np.broadcast_to(hi, (d, k))),
        x == cp.sum(xs, axis=1),
    ]
    for j, chunk in enumerate(chunks):
        cons += [w[:, j] >= a * xs[:, j] + b * z[:, j] for a, b in zip(chunk.slopes, chunk.intercepts, strict=True)]
    return cp.sum(w, axis=1), cons


def chosen_chunks(x_value: np.ndarray, psi: PAR, lower: float, upper: float) -> list[Chunk]:
    """The chunk holding each entry of ``x_value`` (the first, at a shared end)."""
    chunks = convex_chunks(psi, lower, upper)
    ends = np.array([c.upper for c in chunks[:-1]])
    return [chunks[k] for k in np.searchsorted(ends, x_value, side="left")]


def fixed_chunk_epigraph(x: cp.Variable, chunks: list[Chunk]) -> tuple[cp.Expression, list]:
    """``(t, constraints)``: t_i >= psi(x_i) with x_i confined to its own (convex) chunk; no binaries.

    With the chunks of a global minimizer of the mixed-integer model this convex problem has
    the same optimal value; an interior-point solve of it polishes the branch-and-bound point.
    The pieces of all chunks are stacked in one d x P array (shorter chunks repeat their first
    piece), so the model has three constraints whatever d.
    """
    d = x.shape[0]
    width = max(c.slopes.size for c in chunks)
    slopes = np.array([np.resize(c.slopes, width) for c in chunks])
    intercepts = np.array([np.resize(c.intercepts, width) for c in chunks])
    t = cp.Variable(d)
    lower = np.array([c.lower for c in chunks])
    upper = np.array([c.upper for c in chunks])
    stacked = cp.reshape(x, (d, 1), order="F") @ np.ones((1, width))
    cons = [x >= lower, x <= upper,
            cp.reshape(t, (d, 1), order="F") @ np.ones((1, width)) >= cp.multiply(slopes, stacked) + intercepts]
    return t, cons
