"""Regularization paths: warm-started solves over a sequence of lam, and a search for the lam
that reaches a target quantization rate.

Warm starts pay because the split (which coordinates sit on breakpoints) changes little
between neighbouring lam: the next solve starts next to its answer, and the active-set polish
often certifies it within a few iterations.
"""

from __future__ import annotations

import math

from cvxpar.result import SolveResult
from cvxpar.solve import solve


def lambda_path(loss, psi, lams, constraints=None, method: str = "auto", tol: float = 1e-8, x0=None,
                **options) -> list[SolveResult]:
    """Solve for each lam in ``lams`` (in the order given), each warm-started at the previous x.

    Order ``lams`` from large to small for the usual continuation (sparse / quantized first).
    Returns one SolveResult per lam.
    """
    results = []
    x = x0
    for lam in lams:
        res = solve(loss, psi, lam, constraints=constraints, method=method, x0=x, tol=tol, **options)
        results.append(res)
        if res.status in ("optimal", "optimal_inaccurate", "stationary"):
            x = res.x
    return results

def lambda_for_rate(loss, psi, rate: float, constraints=None, lam_lo: float | None = None,
                    lam_hi: float | None = None, max_steps: int = 40, rate_tol: float = 0.0,
                    **options) -> tuple[float, SolveResult]:
    """The smallest lam (to bisection accuracy in log lam) whose solution has quantization rate >= ``rate``.

    The quantization rate grows with lam in practice (not monotone in general: the answer is the
    lam found by bisection between a bracket [lam_lo, lam_hi] with rate(lam_lo) < rate <=
    rate(lam_hi), expanded geometrically from 1 when not given).  Each solve is warm-started.
    Returns (lam, result at lam).
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must lie in [0, 1]; got {rate}.")
    cache: dict[float, SolveResult] = {}
    warm = [None]

    def at(lam: float) -> SolveResult:
        if lam not in cache:
            res = solve(loss, psi, lam, constraints=constraints, x0=warm[0], **options)
            if res.status in ("optimal", "optimal_inaccurate", "stationary"):
                warm[0] = res.x
            cache[lam] = res
        return cache[lam]

    hi = 1.0 if lam_hi is None else float(lam_hi)
    for _ in range(60):
        if at(hi).quantization_rate >= rate - rate_tol:
            break
        hi *= 4.0
    else:
        raise RuntimeError(f"no lam up to {hi:g} reaches quantization rate {rate}.")
    lo = hi / 4.0 if lam_lo is None else float(lam_lo)
    while lo > 1e-12 and at(lo).quantization_rate >= rate - rate_tol:
        lo /= 4.0
    for _ in range(max_steps):
        if hi / max(lo, 1e-300) <= 1.0 + 1e-3:
            break
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
        if at(mid).quantization_rate >= rate - rate_tol:
            hi = mid
        else:
            lo = mid
    return hi, at(hi)

__all__ = ["lambda_path", "lambda_for_rate"]
