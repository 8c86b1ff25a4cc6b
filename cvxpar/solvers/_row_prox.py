"""The exact prox of the PAR term, the bounds and one linear row (a Simplex, a budget):

    T(w) = argmin_u  p(u) + ||u - w||^2 / (2 g)   subject to  a^T u = t   (or a^T u <= t),

with p(u) = sum_i lam_i psi(u_i) + the indicator of the bounds, psi convex.  Dualizing the row with a multiplier nu
leaves a separable problem, so u(nu) = prox_{g p}(w - g nu a) and T(w) = u(nu*) where nu* solves
s(nu) = a^T u(nu) = t (Rockafellar 1970, Thm 28.3: the KKT conditions of the convex problem); for an inequality
row nu* = 0 when u(0) already satisfies it.  Each coordinate's prox is nondecreasing and piecewise affine in its
argument, so s is continuous, piecewise affine and nonincreasing in nu, with slope -g sum_{i free} a_i^2 on a piece
(free: u_i strictly inside a piece of psi and the bounds).  nu* is found by Newton steps on the current piece,
kept inside a bracket of the root by bisection (Dekker's safeguard, as in Brent 1973, ch. 4): a Newton step lands on
the root once it is taken on the root's piece, so the search ends exactly (to the rounding of s), usually in a few
prox evaluations from the previous call's multiplier.
"""

from __future__ import annotations

import math

import numpy as np

#: s(nu) = t is accepted to this many ulps of max(1, |t|, sum_i |a_i u_i|).
ROW_ULPS = 16.0
#: At most this many evaluations of u(nu) (the bracket halves at least every other one).
MAX_EVALUATIONS = 200


class RowProx:
    """The prox above for a validated problem with exactly one linear row (``prob.feasible.stacked()``).

    Calling it with (w, g) returns (T(w), nu*); the last multiplier starts the next search.
    """

    def __init__(self, prob) -> None:
        G, h, n_eq = prob.feasible.stacked()
        self.prob = prob
        self.a = np.asarray(G[0], dtype=np.float64)
        self.a2 = self.a * self.a
        self.t = float(h[0])
        self.equality = n_eq == 1
        self.nu = 0.0

    def __call__(self, w, gamma: float):
        nu0 = self.nu if self.equality else 0.0  # an inequality first tries nu = 0 (the row inactive)
        u, s, slope = self._at(w, gamma, nu0)
        if not self.equality and s <= self.t:
            self.nu = 0.0
            return u, 0.0
        start = self.nu if not self.equality and self.nu > 0.0 else None
        nu, u = self._root(w, gamma, nu0, u, s, slope, start)
        self.nu = nu
        return u, nu

    def _at(self, w, gamma: float, nu: float):
        """u(nu), s(nu) and the slope of s on nu's piece."""
        u = self.prob.prox(w - (gamma * nu) * self.a, gamma)
        free = ~np.asarray(self.prob.fixed(u))
        return u, float(self.a @ u), -gamma * float(self.a2 @ free)

    def _root(self, w, gamma: float, nu0: float, u0, s0: float, slope0: float, start: float | None):
        """(nu*, u(nu*)) by the safeguarded Newton search from nu0 (already evaluated); ``start``, when given, is
        the second point tried (the last call's multiplier)."""
        t = self.t
        lo, hi = -math.inf, math.inf  # s(lo) > t > s(hi)
        best = (abs(s0 - t), nu0, u0)
        nu, u, s, slope = nu0, u0, s0, slope0
        step = abs(s0 - t) / max(gamma * float(np.sum(self.a2)), 1e-300)  # |slope| <= g ||a||^2
        for k in range(MAX_EVALUATIONS):
            if s > t:
                lo = max(lo, nu)
            else:
                hi = min(hi, nu)
            if abs(s - t) < best[0]:
                best = (abs(s - t), nu, u)
            if abs(s - t) <= ROW_ULPS * np.finfo(np.float64).eps * max(1.0, abs(t), float(np.abs(self.a) @ np.abs(u))):
                return nu, u
            if k == 0 and start is not None and math.isfinite(start):
                nxt = start
            elif slope < 0.0:
                nxt = nu + (s - t) / -slope
            else:
                nxt = math.nan
            if not (lo < nxt < hi):
                if math.isfinite(lo) and math.isfinite(hi):
                    nxt = 0.5 * (lo + hi)
                else:  # expand toward the root, doubling
                    step *= 2.0
                    nxt = (lo if math.isfinite(lo) else nu) + step if s > t else (hi if math.isfinite(hi) else nu) - step
            if nxt == nu or (math.isfinite(lo) and math.isfinite(hi) and hi - lo <= 4 * np.finfo(np.float64).eps * max(abs(lo), abs(hi))):
                break
            nu = nxt
            u, s, slope = self._at(w, gamma, nu)
        return best[1], best[2]
