"""Fuzz ``PAR.prox`` against brute force: random PARs, extreme t and v.

The brute force minimizes t*psi(x) + (x - v)^2 / 2 over an explicit candidate set that contains a
global minimizer: every breakpoint in the domain and, on every piece k of psi, the clipped
stationary point clip(v - t*s_k, piece) (psi is affine on a piece, so the objective is a parabola
there).  psi is evaluated from its breakpoints and values alone (``tests/par_strategies.py``).
The prox's answer must be in the domain and its objective no worse than the best candidate's,
compared through the difference

    F(x) - F(y) = t (psi(x) - psi(y)) + (x - y) ((x - v) + (y - v)) / 2

which stays finite for |v| up to 1e300 where F itself overflows.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from fuzz_oracles import Finding, domain, psi_pieces, tolerated
from fuzz_problems import psi_specs
from hypothesis import event, note
from hypothesis import strategies as st
from par_strategies import pars

EPS = float(np.finfo(np.float64).eps)
#: the nonconvex prox's overflow classes start near t * slope ~ 1e154 (issue 13) and |v| ~ 1e154
OVERFLOW_ONSET = 1e150
EXTREME_T = (0.0, 1e-300, 1e-12, 1e8, 1e150, 1e155, 1e300)
EXTREME_V = (0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 1e154, -1e154)


def brute_force_prox(psi, v: float, t: float) -> float:
    """A global minimizer of t*psi(x) + (x - v)^2 / 2 among the candidates of the module docstring."""
    lo, hi = domain(psi)
    cands = [float(q) for q in psi.breakpoints if lo <= q <= hi]
    for lo, hi, s, _ in psi_pieces(psi):
        with np.errstate(over="ignore", invalid="ignore"):
            step = v - t * s if t > 0 else v
        if math.isnan(step):
            continue
        cands.append(float(min(max(step, lo), hi)))
    best = cands[0]
    for c in cands[1:]:
        if objective_difference(psi, c, best, v, t)[0] < 0:
            best = c
    return best


def psi_over(psi, x: float, K: float) -> float:
    """psi(x) / K from breakpoints, values and outer slopes (+inf outside the domain), without
    overflowing where psi(x) itself would (|x| near 1e300, slopes up to 1e9)."""
    q, vals = psi.breakpoints, psi.values
    left, right = float(psi.slopes[0]), float(psi.slopes[-1])
    if x < q[0]:
        return math.inf if left == -math.inf else vals[0] / K + left * ((x - q[0]) / K)
    if x > q[-1]:
        return math.inf if right == math.inf else vals[-1] / K + right * ((x - q[-1]) / K)
    return float(np.interp(x, q, vals)) / K


def interpolation_magnitude(psi, x: float) -> float:
    """The size of the rounding error of :func:`psi_over` at x, in units of eps: 0 at a breakpoint (its value is
    returned exactly), else the larger |value| at the ends of x's piece (np.interp's error is relative to those,
    not to the result: psi(x) may be far smaller than them, or 0)."""
    q, vals = psi.breakpoints, psi.values
    if x <= q[0] or x >= q[-1] or x in q:
        return 0.0
    j = int(np.searchsorted(q, x))
    return max(abs(float(vals[j - 1])), abs(float(vals[j])))


def objective_difference(psi, x: float, y: float, v: float, t: float) -> tuple[float, float]:
    """(F(x) - F(y), a rounding tolerance for it) / K^2 for F(x) = t*psi(x) + (x - v)^2 / 2, in units
    K = max(1, |x|, |y|, |v|) so that |v| up to 1e300 does not overflow."""
    K = max(1.0, abs(x), abs(y), abs(v))
    px, py = psi_over(psi, x, K), psi_over(psi, y, K)
    mx, my = interpolation_magnitude(psi, x) / K, interpolation_magnitude(psi, y) / K
    if math.isinf(px) or math.isinf(py):
        return (math.inf if math.isinf(px) and not math.isinf(py) else -math.inf if math.isinf(py) and not math.isinf(px) else 0.0), 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        dpsi = t * ((px - py) / K) if t > 0 else 0.0
        quad = 0.5 * ((x - y) / K) * (((x - v) + (y - v)) / K)
        diff = dpsi + quad
        scale = (t * ((max(abs(px), mx) + max(abs(py), my)) / K) if t > 0 else 0.0) + abs(quad)
        # x and y are breakpoints (exact) or stationary points of their piece (F flat to first order),
        # so rounding enters through the terms' magnitudes and the differences x - v, y - v only
        slack = 1e-9 * scale + 64 * EPS * (abs(x - v) + abs(y - v)) / K * max(abs(x), abs(y), abs(v)) / K
    if not math.isfinite(diff):  # t * psi overflows even in units of K: psi decides, then the distance to v
        if abs(px - py) > 1e-12 * (abs(px) + abs(py)):
            return px - py, 0.0
        return (abs(x - v) - abs(y - v)) / K, 64 * EPS
    return diff, slack


def check_prox(psi, v: np.ndarray, t) -> None:
    """psi.prox(v, t) against :func:`brute_force_prox`, elementwise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.asarray(psi.prox(v, t))
    if out.shape != v.shape:
        raise Finding("prox-shape", f"prox returned shape {out.shape} for v of shape {v.shape}")
    tt = np.broadcast_to(np.asarray(t, dtype=np.float64), v.shape)
    smax = max((abs(p[2]) for p in psi_pieces(psi)), default=0.0)
    for vi, ti, xi in zip(v, tt, out, strict=True):
        vi, ti, xi = float(vi), float(ti), float(xi)
        if not domain(psi)[0] <= xi <= domain(psi)[1]:
            raise Finding("prox-outside-domain", f"prox(v={vi!r}, t={ti!r}) = {xi!r} is outside the domain {psi!r}")
        best = brute_force_prox(psi, vi, ti)
        diff, slack = objective_difference(psi, xi, best, vi, ti)
        if diff > slack:
            cls = "prox-not-minimal"
            if not psi.is_convex and abs(vi) >= OVERFLOW_ONSET:
                cls = "prox-overflow-large-v"
            elif not psi.is_convex and ti * smax >= OVERFLOW_ONSET:
                cls = "prox-overflow"
            raise Finding(cls, f"{psi!r}.prox({vi!r}, {ti!r}) = {xi!r} but {best!r} is better by {diff:.3e} (slack {slack:.1e})")


def _check(psi, v, t) -> None:
    note(f"psi = {psi!r}\nv = np.array({v.tolist()!r})\nt = {t!r}")
    try:
        check_prox(psi, v, t)
    except Finding as finding:
        if not tolerated(finding):
            raise
        event(f"known open class: {finding.cls}")


@st.composite
def probe_points(draw, psi) -> np.ndarray:
    """v: breakpoints, their neighbours at 1 ulp and at the prox thresholds' scale, random and extreme values."""
    q = psi.breakpoints
    picks = draw(st.lists(st.sampled_from(list(q)), min_size=1, max_size=6))
    near = [np.nextafter(p, np.inf) for p in picks] + [np.nextafter(p, -np.inf) for p in picks]
    span = max(float(q[-1] - q[0]), 1.0)
    rand = draw(st.lists(st.floats(-3 * span, 3 * span, allow_nan=False) .map(lambda x: float(f"{x:.6g}")) , max_size=6))
    extreme = draw(st.lists(st.sampled_from(EXTREME_V), max_size=3))
    return np.asarray(picks + near + rand + extreme, dtype=np.float64)


def scalar_t():
    return st.one_of(st.sampled_from(EXTREME_T), st.floats(-4, 4).map(lambda u: float(f"{10.0**u:.6g}")))


def any_psi():
    return st.one_of(pars(max_breakpoints=8), psi_specs().map(lambda s: s.psi))


def test_prox_matches_brute_force(fuzz):
    def body(psi, data):
        v = data.draw(probe_points(psi))
        _check(psi, v, data.draw(scalar_t()))

    fuzz.run(body, examples=150, psi=any_psi(), data=st.data())


def test_prox_matches_brute_force_per_element_t(fuzz):
    def body(psi, data):
        v = data.draw(probe_points(psi))
        t = np.asarray(data.draw(st.lists(scalar_t(), min_size=v.size, max_size=v.size)))
        _check(psi, v, t)

    fuzz.run(body, examples=80, psi=any_psi(), data=st.data())


def test_prox_on_scaled_pars(fuzz):
    """psi(x) = c * base(x / s) for s, c in 1e-6 .. 1e6: the prox must not depend on the units."""
    import cvxpar

    def body(base, s, c, data):
        q = base.breakpoints * s
        vals = base.values * c
        slopes = base.slopes
        psi = cvxpar.PAR(q, vals, slopes[0] * c / s, slopes[-1] * c / s)
        v = data.draw(probe_points(psi))
        _check(psi, v, data.draw(scalar_t()))

    scale = st.sampled_from([1e-6, 1e-3, 1.0, 1e3, 1e6])
    fuzz.run(body, examples=60, base=pars(max_breakpoints=6), s=scale, c=scale, data=st.data())
