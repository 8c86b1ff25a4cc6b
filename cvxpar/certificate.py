"""Optimality certificates for  minimize loss(x) + sum_i lam_i psi(x_i)  subject to x in C.

Computed from x alone, independently of any solver (every solver's stopping test calls this
same code).

**Residual** (stationarity; generalizing skglm's
``subdiff_distance``):

    residual = max( max_i dist(-grad_i, lam_i [lo_i, hi_i] + N_C(x)_i),  infeasibility )

- [lo_i, hi_i] is the *Clarke* subdifferential of psi at x_i (``PAR.subdifferential``): the
  convex hull of the two adjacent slopes at a breakpoint, the slope elsewhere.  For a convex psi
  it is the convex subdifferential; for a nonconvex psi a point with residual 0 is Clarke
  stationary (concave kinks count as stationary: Clarke's subdifferential there holds both slopes).
- N_C for a Box is exact: (-inf, 0] at x_i = lower_i, [0, inf) at x_i = upper_i, {0} inside.
  For a Simplex {x >= 0, sum x = t}, N_C(x) = {mu*1 - nu : nu >= 0, nu_i = 0 where x_i > 0};
  the best mu is found in closed form (the distance is max(mu + P, Q - mu, 0), minimized at
  mu = (Q - P)/2).  For Linear constraints N_C(x) = A_eq^T nu + A_act^T mu (mu >= 0, A_act the
  rows with b_ub - A_ub x <= ACTIVE_RTOL (1 + |b_ub|)), and the best (nu, mu) solves a small LP
  (SciPy HiGHS).
- The subdifferential is taken at the projection of x onto the box and the domain of psi, and
  *infeasibility* (the largest violation of the box, the domain, the simplex or the linear
  rows) is folded into the residual, so an infeasible point is never certified.

**Tolerance semantics.**  ``cert.scale = max(1, ||grad loss(x)||_inf)`` and x is certified to
``tol`` when ``residual <= tol * scale`` (:meth:`Certificate.certifies`): absolute for
gradients below 1, relative to the gradient's size above.

**Gap.**  For a convex psi, a loss with a Fenchel conjugate (least squares, logistic, Huber:
f(x) = h(Ax)) and no constraints other than a box, the duality gap P(x) - D(alpha*w) with the
dual point w = h'(Ax) scaled by the largest alpha in (0, 1] that makes the dual finite
(benchmark_lasso's rescaling; D(w) = -h*(w) - sum_i lam_i phi_i*(-(A^T w)_i / lam_i) with
phi_i = psi + indicator of the box, whose conjugate is a max over the breakpoints and bounds).
Otherwise ``gap`` is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cvxpar import _backend
from cvxpar.constraints import split
from cvxpar.metrics import quantization_rate
from cvxpar.par import PAR

#: An inequality row is active when its slack is below this times (1 + |b_ub|).
ACTIVE_RTOL = 1e-9


@dataclass
class Certificate:
    """objective, residual, gap (or None), quantization_rate, and the parts behind them."""

    objective: float
    residual: float
    gap: float | None
    quantization_rate: float
    stationarity: float
    infeasibility: float
    scale: float

    def certifies(self, tol: float) -> bool:
        """True when residual <= tol * max(1, ||grad loss(x)||_inf) (see the module docstring)."""
        return bool(self.residual <= tol * self.scale)


def as_lam(lam, xp, like, d: int):
    """lam as a Python float (scalar) or a length-d array in x's namespace; checked >= 0 and finite."""
    if np.ndim(lam) == 0 and not hasattr(lam, "__array_namespace__"):
        value = float(lam)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"lam must be a finite nonnegative number (or array); got {value}.")
        return value
    arr = np.asarray(lam, dtype=np.float64) if _backend.is_numpy_namespace(_backend.array_namespace(lam)) else lam
    if getattr(arr, "ndim", 0) == 0:
        return as_lam(float(arr), xp, like, d)
    if arr.ndim != 1 or arr.shape[0] != d:
        raise ValueError(f"lam must be a scalar or have one entry per coordinate ({d}); got shape {tuple(arr.shape)}.")
    arr = _backend.asarray_like(xp, arr, like) if _backend.is_numpy_namespace(_backend.array_namespace(arr)) else arr
    if not bool(xp.all(xp.isfinite(arr))) or bool(xp.any(arr < 0)):
        raise ValueError("lam must be finite and nonnegative everywhere.")
    return arr


def penalty(x, psi: PAR, lam, xp) -> float:
    """sum_i lam_i psi(x_i), with 0 * psi = 0 for lam_i = 0 inside the domain (x must be in it)."""
    vals = psi(x)
    if isinstance(lam, float):
        return 0.0 if lam == 0.0 else lam * float(xp.sum(vals))
    return float(xp.sum(xp.where(lam > 0, lam * vals, xp.zeros_like(vals))))


def certificate(x, loss, psi: PAR, lam, constraints=None, with_gap: bool = True) -> Certificate:
    """Objective, stationarity residual, duality gap and quantization rate at x (module docstring).

    ``with_gap=False`` skips the duality gap (one product with A and one with A^T fewer).
    """
    if not isinstance(psi, PAR):
        raise TypeError(f"psi must be a cvxpar.PAR; got {type(psi).__name__}.")
    xp, x, _ = _backend.prepare(x)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D vector; got shape {tuple(x.shape)}.")
    d = x.shape[0]
    lam = as_lam(lam, xp, x, d)
    box, simplex, linear = split(constraints, d)

    g = loss.grad(x)
    grad_inf = float(xp.max(xp.abs(g))) if d else 0.0
    xc, lo, hi, violation = subgradient_interval(xp, x, psi, lam, box)
    # outside the box / the domain of psi the objective is +inf; a (rounding-size) violation of
    # Simplex or Linear rows leaves it finite and only enters the residual
    objective = loss.value(x) + penalty(xc, psi, lam, xp) if violation == 0.0 else math.inf
    inf = xp.full_like(x, math.inf)
    c = -g
    if linear is not None:
        stat, lin_violation = _linear_residual(xp, x, c, lo, hi, linear, simplex)
        violation = max(violation, lin_violation)
    elif simplex is not None:
        lo = xp.where(xc <= 0, -inf, lo)
        P = float(xp.max(lo - c))
        Q = float(xp.max(c - hi))
        mid = 0.5 * (P + Q)
        stat = 0.0 if math.isnan(mid) else max(0.0, mid)
        violation = max(violation, abs(float(xp.sum(x)) - simplex.total), float(xp.max(-x)))
    else:
        stat = float(xp.max(_distance(xp, c, lo, hi))) if d else 0.0

    gap = None
    if with_gap and psi.is_convex and simplex is None and linear is None and math.isfinite(objective):
        gap = _gap(xp, x, loss, psi, lam, box, objective)
    return Certificate(
        objective=objective,
        residual=max(stat, violation),
        gap=gap,
        quantization_rate=quantization_rate(x, psi),
        stationarity=stat,
        infeasibility=violation,
        scale=max(1.0, grad_inf),
    )


def subgradient_interval(xp, x, psi: PAR, lam, box):
    """(xc, lo, hi, violation): x projected on box and domain, lam dpsi(xc) + N_box(xc) as [lo, hi], and
    the largest distance from x to the box and domain."""
    dom_lo, dom_hi = psi.domain
    lower, upper = box.bounds_like(x) if box is not None else (-math.inf, math.inf)
    lo_b = xp.maximum(_full(xp, lower, x), _full(xp, dom_lo, x))
    hi_b = xp.minimum(_full(xp, upper, x), _full(xp, dom_hi, x))
    xc = xp.minimum(xp.maximum(x, lo_b), hi_b)
    violation = float(xp.max(xp.abs(x - xc))) if x.shape[0] else 0.0
    lo, hi = psi.subdifferential(xc)
    lo, hi = _scale(xp, lam, lo), _scale(xp, lam, hi)
    if box is not None:
        inf = xp.full_like(x, math.inf)
        lo = xp.where(xc <= _full(xp, lower, x), -inf, lo)
        hi = xp.where(xc >= _full(xp, upper, x), inf, hi)
    return xc, lo, hi, violation


def kkt_distances(x, g, psi: PAR, lam, box=None):
    """Per coordinate: dist(-g_i, lam_i dpsi(x_i) + N_box(x_i)) (the residual's terms; working-set scores)."""
    xp = _backend.array_namespace(x)
    _, lo, hi, _ = subgradient_interval(xp, x, psi, lam, box)
    return _distance(xp, -g, lo, hi)


def _distance(xp, c, lo, hi):
    return xp.maximum(xp.maximum(lo - c, c - hi), xp.zeros_like(c))


def _full(xp, value, like):
    if isinstance(value, float):
        return xp.full_like(like, value)
    return value


def _scale(xp, lam, s):
    """lam * s with 0 * (finite) = 0 and the empty-set markers (+/-inf) kept."""
    if isinstance(lam, float):
        return lam * s if lam > 0 else xp.where(xp.isfinite(s), xp.zeros_like(s), s)
    return xp.where(lam > 0, lam * s, xp.where(xp.isfinite(s), xp.zeros_like(s), s))


def _linear_residual(xp, x, c, lo, hi, linear, simplex):
    """min over the normal cone of the linear rows (+ simplex rows) of the largest distance: an LP."""
    from scipy.optimize import linprog

    xn = np.asarray(_to_numpy(x))
    cn, lon, hin = (np.asarray(_to_numpy(a)) for a in (c, lo, hi))
    G, h, n_eq = linear.stacked()
    if simplex is not None:
        G = np.vstack([np.ones((1, xn.size)), G])
        h = np.concatenate([[simplex.total], h])
        n_eq += 1
        lon = np.where(xn <= 0, -np.inf, lon)
    slack = h - G @ xn
    violation = max(
        float(np.max(np.abs(slack[:n_eq]), initial=0.0)),
        float(np.max(-slack[n_eq:], initial=0.0)),
        float(np.max(-xn, initial=0.0)) if simplex is not None else 0.0,
    )
    active = np.concatenate([np.ones(n_eq, bool), slack[n_eq:] <= ACTIVE_RTOL * (1 + np.abs(h[n_eq:]))])
    Ga = G[active]
    k = Ga.shape[0]
    rows, rhs = [], []
    fin_lo, fin_hi = np.isfinite(lon), np.isfinite(hin)
    # (G^T y)_i - s <= c_i - lo_i   and   -(G^T y)_i - s <= hi_i - c_i
    rows.append(np.hstack([Ga.T[fin_lo], -np.ones((fin_lo.sum(), 1))]))
    rhs.append(cn[fin_lo] - lon[fin_lo])
    rows.append(np.hstack([-Ga.T[fin_hi], -np.ones((fin_hi.sum(), 1))]))
    rhs.append(hin[fin_hi] - cn[fin_hi])
    n_act_eq = min(n_eq, k)
    bounds = [(None, None)] * n_act_eq + [(0, None)] * (k - n_act_eq) + [(0, None)]
    cost = np.zeros(k + 1)
    cost[-1] = 1.0
    res = linprog(cost, A_ub=np.vstack(rows), b_ub=np.concatenate(rhs), bounds=bounds, method="highs")
    stat = float(res.x[-1]) if res.status == 0 else math.inf
    return stat, violation


def _to_numpy(a):
    if isinstance(a, np.ndarray):
        return a
    try:
        return np.asarray(a)
    except Exception:  # CuPy and other device arrays
        return a.get() if hasattr(a, "get") else np.from_dlpack(a)


def _gap(xp, x, loss, psi: PAR, lam, box, objective: float):
    parts = getattr(loss, "dual_gap_parts", None)
    parts = parts(x) if parts is not None else None
    if parts is None:
        return None
    w, alpha, ATw = parts
    v = -ATw
    lower, upper = box.bounds_like(x) if box is not None else (-math.inf, math.inf)
    L = xp.maximum(_full(xp, lower, x), _full(xp, psi.domain[0], x))
    U = xp.minimum(_full(xp, upper, x), _full(xp, psi.domain[1], x))
    lam_arr = _full(xp, lam, x) if isinstance(lam, float) else lam
    pos = lam_arr > 0
    safe_lam = xp.where(pos, lam_arr, xp.ones_like(lam_arr))
    u = v / safe_lam
    # dom phi* = [smin, smax]: unbounded on a side with a finite bound, else psi's outer slope
    smin = xp.where(xp.isfinite(L), -math.inf, _full(xp, psi.left_slope, x))
    smax = xp.where(xp.isfinite(U), math.inf, _full(xp, psi.right_slope, x))
    one = xp.ones_like(u)
    zero = xp.zeros_like(u)
    a_hi = xp.where(u > smax, xp.where(smax > 0, smax / xp.where(u != 0, u, one), zero), one)
    a_lo = xp.where(u < smin, xp.where(smin < 0, smin / xp.where(u != 0, u, one), zero), one)
    a_i = xp.where(pos, xp.minimum(a_hi, a_lo), one)
    alpha = min(alpha, float(xp.min(a_i))) if x.shape[0] else alpha
    if alpha <= 0:
        return None
    conj = _conjugate_boxed(xp, psi, alpha * u, L, U)
    support = xp.where(v > 0, alpha * v * U, xp.where(v < 0, alpha * v * L, zero))
    term = xp.where(pos, lam_arr * conj, support)
    dual = -loss.conjugate(alpha * w) - float(xp.sum(term))
    return objective - dual


def _conjugate_boxed(xp, psi: PAR, u, L, U):
    """(psi + indicator [L, U])*(u) elementwise: the max of u q - psi(q) over breakpoints in [L, U] and finite bounds."""
    q = _backend.asarray_like(xp, psi.breakpoints, u)
    vals = _backend.asarray_like(xp, psi.values, u)
    cand = u[:, None] * q[None, :] - vals[None, :]
    inside = (q[None, :] >= L[:, None]) & (q[None, :] <= U[:, None])
    best = xp.max(xp.where(inside, cand, xp.full_like(cand, -math.inf)), axis=1)
    for bound in (L, U):
        fin = xp.isfinite(bound)
        safe = xp.where(fin, bound, xp.zeros_like(bound))
        best = xp.where(fin, xp.maximum(best, u * safe - psi(safe)), best)
    # unbounded sides: outside psi's outer slopes the conjugate is +inf (alpha keeps u inside)
    return best
