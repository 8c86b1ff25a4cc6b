"""Exact rational references for the certificate tests: the gradient and the stationarity residual recomputed
with ``fractions.Fraction`` from the same float data and the same x."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def exact_gradient(loss_kind: str, A: np.ndarray, t: np.ndarray, x: np.ndarray, M: float = 1.0) -> list[Fraction]:
    """The gradient of least squares ("ls"), Huber or logistic at x, in rational arithmetic from the float data."""
    Af = [[Fraction(float(v)) for v in row] for row in A]
    xf = [Fraction(float(v)) for v in x]
    tf = [Fraction(float(v)) for v in t]
    z = [sum((a * b for a, b in zip(row, xf, strict=True)), Fraction(0)) for row in Af]
    if loss_kind == "ls":
        dz = [zi - ti for zi, ti in zip(z, tf, strict=True)]
    elif loss_kind == "huber":
        Mf = Fraction(M)
        dz = [min(max(zi - ti, -Mf), Mf) for zi, ti in zip(z, tf, strict=True)]
    else:  # logistic, dh = -t sigmoid(-t z): not rational; float of the exact z, rounded once
        dz = [Fraction(float(-ti * np.exp(-np.logaddexp(0.0, float(ti * zi))))) for zi, ti in zip(z, tf, strict=True)]
    return [sum((Af[j][i] * dz[j] for j in range(len(dz))), Fraction(0)) for i in range(A.shape[1])]


def exact_residual(psi, lam: float, x: np.ndarray, g: list[Fraction]) -> float:
    """max_i dist(-g_i, lam [lo_i, hi_i]) with [lo_i, hi_i] psi's Clarke subdifferential at x_i (no bounds)."""
    q = [Fraction(float(v)) for v in psi.breakpoints]
    v = [Fraction(float(w)) for w in psi.values]
    inner = [(v[k + 1] - v[k]) / (q[k + 1] - q[k]) for k in range(len(q) - 1)]
    slopes = [Fraction(float(psi.slopes[0]))] + inner + [Fraction(float(psi.slopes[-1]))]
    lamf, worst = Fraction(lam), Fraction(0)
    for xi, gi in zip(x, g, strict=True):
        xf = Fraction(float(xi))
        k = sum(1 for qk in q if qk <= xf)  # slopes[k] is the slope right of x
        right = slopes[k]
        left = slopes[k - 1] if k > 0 and q[k - 1] == xf else right
        lo, hi = lamf * min(left, right), lamf * max(left, right)
        c = -gi
        worst = max(worst, lo - c, c - hi)
    return float(worst)
