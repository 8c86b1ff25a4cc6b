"""Starting points for a nonconvex psi: the convex envelope's solution, then local refinement, several starts.

For a nonconvex psi every method returns a certified *stationary* point, and which one depends on where it
starts.  A cheap, good start is the solution of the convexified problem, with psi replaced by its convex
envelope (the greatest convex minorant, conv psi): on a grid with walls (a Box, or PARQ's hard box) conv
psi interpolates psi at the lower-hull breakpoints, so the convex solution already sits on the kinks that
psi and its envelope share, and the nonconvex refinement only has to move the coordinates where they
differ.  (The convex envelope is the tightest convex relaxation of the separable penalty: Falk 1969;
for sparse regression, e.g. the MCP/SCAD relaxations in Zhang 2010.)  Several starts are run and the
certified point with the lowest objective is kept.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar.par import PAR


def convex_envelope(psi: PAR) -> PAR | None:
    """The greatest convex minorant of psi as a PAR, or None when it is -inf (left slope > right slope).

    conv psi(x) = sup over a in [left_slope, right_slope] of (a x - max_k (a q_k - v_k)): the lower convex
    hull of the points (q_k, psi(q_k)) (Andrew's monotone chain), keeping the hull vertices whose two hull
    slopes straddle the outer slopes, which stay as they are.
    """
    sl, sr = psi.left_slope, psi.right_slope
    if sl > sr:
        return None
    q, v = psi.breakpoints, psi.values
    hull: list[int] = []
    for k in range(q.size):
        while len(hull) >= 2 and _cross(q, v, hull[-2], hull[-1], k) <= 0.0:
            hull.pop()
        hull.append(k)
    idx = np.asarray(hull)
    slopes = np.diff(v[idx]) / np.diff(q[idx])
    left = np.concatenate(([-math.inf], slopes))  # hull slope left of each vertex
    right = np.concatenate((slopes, [math.inf]))  # and right of it
    keep = (left < sr) & (right > sl)
    if not keep.any():  # the outer slopes alone: a single kink where they meet
        k = int(np.argmin(v - (sl if sl > -math.inf else 0.0) * q))
        keep = np.zeros(idx.size, bool)
        keep[np.searchsorted(idx, k)] = True
    kept = idx[keep]
    return PAR(q[kept], v[kept], sl, sr)


def _cross(q, v, i: int, j: int, k: int) -> float:
    """> 0 when (q_i, v_i), (q_j, v_j), (q_k, v_k) turn left (j lies strictly below the chord i-k)."""
    return (q[j] - q[i]) * (v[k] - v[i]) - (v[j] - v[i]) * (q[k] - q[i])


#: Starts tried by default for a nonconvex psi without a user x0: the convex envelope's solution and 0.
DEFAULT_STARTS = 2


def start_points(prob, n_starts: int, envelope_x=None, seed: int = 0) -> list[tuple[str, object]]:
    """(label, x0) pairs: the envelope's solution (if any), the user's x0 (or 0), then seeded random points
    drawn uniformly over psi's grid range intersected with the bounds."""
    from cvxpar import _backend

    points: list[tuple[str, object]] = []
    if envelope_x is not None:
        points.append(("convex envelope", envelope_x))
    points.append(("x0" if prob.x0 is not None else "zero", prob.x0))
    q = prob.psi.breakpoints
    width = max(float(q[-1] - q[0]), 1.0)
    lo, hi = prob.bounds_np()
    lo = np.maximum(lo, q[0] - 0.5 * width)
    hi = np.minimum(hi, q[-1] + 0.5 * width)
    rng = np.random.default_rng(seed)
    while len(points) < n_starts:
        x = rng.uniform(lo, hi)
        points.append((f"random {len(points)}", _backend.asarray_like(prob.xp, x, prob.zeros)))
    return points[:max(n_starts, 1)]


def best_of_starts(prob, run, points, sweep: bool = False):
    """Run ``run(problem_started_at_x0)`` from every start and keep the best result: a certified point before
    an uncertified one, then the lowest objective.  With ``sweep``, :func:`coordinate_sweeps` from the best
    point and, when a coordinate moved, one more run from there.  ``res.info["starts"]`` lists
    (label, status, objective) of every run."""
    from cvxpar import result as R

    best, log, iterations = None, [], 0
    points = list(points)
    while points:
        label, x0 = points.pop(0)
        res = run(prob.started_at(x0))
        iterations += res.iterations
        log.append((label, res.status, res.objective))
        key = (res.status not in (R.STATIONARY, R.OPTIMAL), res.objective)
        if best is None or key < best[0]:
            best = (key, res, label)
        if sweep and not points:
            sweep = False
            swept, moved = coordinate_sweeps(prob, best[1].x)
            if moved:
                points.append(("coordinate sweep", swept))
    _, res, label = best
    res.iterations = iterations
    res.info["starts"] = log
    res.info["best_start"] = label
    return res


#: Coordinate sweeps run only up to this many coordinates (a Python loop over coordinates).
SWEEP_MAX_D = 2000
#: At most this many sweeps over all coordinates.
SWEEP_MAX = 100


def coordinate_sweeps(prob, x):
    """Exact coordinate-wise minimization from x: each coordinate jumps to the global minimizer of the
    objective along its axis, until no coordinate moves (a *coordinate-wise minimum*, a stronger point
    than a Clarke-stationary one for a nonconvex psi; Beck and Hallak 2016, Tseng 2001).

    Along coordinate j, with z = A x and c_j = ||a_j||^2, the loss is at most
    f(x) + g_j delta + (smoothness c_j / 2) delta^2 (with equality for least squares), so the step
    x_j <- prox_{lam_j psi / (smoothness c_j)}(x_j - g_j / (smoothness c_j)) (the exact global prox of the
    restricted psi) never raises the objective and, for least squares, is the exact minimizer along the axis.
    Returns (x, moved); x unchanged when the loss is not a linear model on NumPy with a known smoothness.
    """
    from cvxpar import _backend
    from cvxpar.losses import LinearModelLoss

    loss = prob.loss
    smooth = getattr(loss, "smoothness", None)
    if (not isinstance(loss, LinearModelLoss) or smooth is None or prob.d > SWEEP_MAX_D
            or not _backend.is_numpy_namespace(prob.xp) or loss.op.kind not in ("dense", "sparse")):
        return x, False
    A = loss.op.columns(np.arange(prob.d)) if loss.op.kind == "sparse" else np.asarray(loss.op.A)
    c = smooth * np.einsum("ij,ij->j", A, A)
    lam = np.broadcast_to(np.asarray(prob.lam, dtype=np.float64), (prob.d,))
    x = np.array(x, dtype=np.float64, copy=True)
    z = A @ x
    moved = False
    cache: dict = {}
    for _ in range(SWEEP_MAX):
        changed = False
        for j in np.flatnonzero(c > 0):
            g = float(A[:, j] @ loss.dh(z))
            v = x[j] - g / c[j]
            new = float(_coordinate_psi(prob, j, cache).prox(np.array([v]), lam[j] / c[j])[0])
            if new != x[j]:
                z += (new - x[j]) * A[:, j]
                x[j] = new
                changed = True
        if not changed:
            break
        moved = True
    return x, moved


def _coordinate_psi(prob, j: int, cache: dict):
    """psi restricted to coordinate j's bounds (prob.kpsi when the bounds are uniform), cached per bound pair."""
    from cvxpar.constraints import restrict

    if prob.lb is None:
        return prob.kpsi
    key = (float(prob.lb[j]), float(prob.ub[j]))
    if key not in cache:
        cache[key] = restrict(prob.psi, *key)
    return cache[key]
