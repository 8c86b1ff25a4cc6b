"""Power-of-two rescaling that makes the reference's CVXPY model well conditioned, whatever the data's units.

The model is solved in y = x / sigma with the objective divided by s:

    F(x) / s = (1/s) f(A x) + sum_i (lam_i / s) psi(sigma y_i),     x = sigma y,

which has the same minimizers (y* = x* / sigma) for any sigma, s > 0.  The rescaled PAR
psi_sigma(y) = psi(sigma y) has breakpoints q / sigma, the same values, and slopes times sigma.
For f(x) = sum_i h(a_i^T x) the loss enters as (1/s) sum_i h(rho z'_i) with z' = (sigma / rho) A y and
rho = sqrt(s).  Least squares and Huber are homogeneous in the data, so that is the same loss on the
rescaled data (:func:`scaled_loss`), which conic solvers (SCIP) need to see O(1) numbers:

    (1/s) 1/2 ||rho z' - b||^2 = 1/2 ||z' - b / rho||^2,
    (1/s) H_M(rho r) = H_{M / rho}(r)        (H_M(c r) = c^2 H_{M / c}(r), c > 0).

Choice (interior-point and branch-and-bound tolerances are absolute or relative to O(1) data):

- sigma ~ the largest finite |breakpoint| of psi (the units in which x is quantized), 1 if none;
- s ~ max(sigma^2 L, sigma max_i lam_i |slope|_max): the curvature of the loss along y
  (L = ``loss.lipschitz()``, an upper bound on the Hessian's norm) or the slope of the penalty,
  whichever dominates, so the objective's changes per unit of y are O(1).

Both are rounded to powers of two (s to a power of four, so rho is one too): multiplying by them is
exact in floating point, so the breakpoints q / sigma map back to exactly q.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cvxpar import losses
from cvxpar.par import PAR


@dataclass(frozen=True)
class Scaling:
    """x = sigma * y and the objective divided by s = rho^2 (all powers of two)."""

    sigma: float
    rho: float

    @property
    def s(self) -> float:
        return self.rho * self.rho

    def par(self, psi: PAR) -> PAR:
        """psi_sigma(y) = psi(sigma y): breakpoints q / sigma, the same values, slopes times sigma."""
        if self.sigma == 1.0:
            return psi
        return PAR(psi.breakpoints / self.sigma, psi.values, psi.left_slope * self.sigma, psi.right_slope * self.sigma)


def choose(loss, psi: PAR, lam) -> Scaling:
    """The scaling of the module docstring for minimize loss(x) + sum_i lam_i psi(x_i)."""
    q = psi.breakpoints[np.isfinite(psi.breakpoints)]
    x_scale = float(np.max(np.abs(q), initial=0.0))
    sigma = _power_of_two(x_scale if x_scale > 0 else 1.0)
    slopes = psi.slopes[np.isfinite(psi.slopes)]
    penalty = sigma * float(np.max(lam, initial=0.0)) * float(np.max(np.abs(slopes), initial=0.0))
    try:
        curvature = sigma * sigma * float(loss.lipschitz())
    except (AttributeError, NotImplementedError, TypeError):
        curvature = 0.0
    objective = max(curvature, penalty)
    if not (math.isfinite(objective) and objective > 0):
        return Scaling(sigma, 1.0)
    return Scaling(sigma, _power_of_two(math.sqrt(objective)))


#: :func:`capped` lowers s by at most this factor (the loss's rescaled data grow by its square root).
MIN_OBJECTIVE_SHARE = 1e-12


def capped(scale: Scaling, unit: float) -> Scaling:
    """``scale`` with s lowered to about ``unit`` (a power of four) where unit < s.

    s is the objective's change along the loss's largest curvature; on a nearly rank-deficient A it can exceed
    every value F takes by orders of magnitude, and the model's objective F / s then sits at a branch and bound's
    absolute tolerances (SCIP's 1e-9), which prune and bound by up to ~1e-9 s in F's units.  With s ~ ``unit``
    (F's own range, :func:`cvxpar.exact.finish.gap_unit`) those tolerances cost ~1e-9 unit.
    """
    if not (math.isfinite(unit) and 0.0 < unit < scale.s):
        return scale
    s = max(unit, MIN_OBJECTIVE_SHARE * scale.s)  # the data, divided by sqrt(s), stay within 1e6 of the model's
    return Scaling(scale.sigma, min(scale.rho, _power_of_two(math.sqrt(s))))


def scaled_loss(loss, A_y, scale: Scaling):
    """The loss of the same family whose value at z' is (1/s) loss at z = rho z' (module docstring),
    on the rescaled data ``A_y`` = (sigma / rho) A; None for a loss without that identity."""
    rho = scale.rho
    target = np.asarray(_host(loss.target), dtype=np.float64) / rho
    if isinstance(loss, losses.LeastSquares):
        return losses.LeastSquares(A_y, target)
    if isinstance(loss, losses.Huber):
        return losses.Huber(A_y, target, M=loss.M / rho)
    return None


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _power_of_two(v: float) -> float:
    return math.ldexp(1.0, round(math.log2(v)))
