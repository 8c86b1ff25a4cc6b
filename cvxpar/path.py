"""Regularization paths: warm-started solves over a sequence of lam, and a search for the lam
that reaches a target quantization rate.

Warm starts pay because the split (which coordinates sit on breakpoints) changes little
between neighbouring lam: the next solve starts next to its answer, and the active-set polish
often certifies it within a few iterations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import numpy.typing as npt

from cvxpar import _progress
from cvxpar.result import SolveResult
from cvxpar.solve import solve

if TYPE_CHECKING:
    from cvxpar.constraints.base import Constraint
    from cvxpar.losses.base import Loss
    from cvxpar.par import PAR

#: One constraint, a list of them, or None.
_Constraints = Union["Constraint", Sequence["Constraint"], None]


def lambda_path(loss: Loss, psi: PAR, lams: npt.ArrayLike, constraints: _Constraints = None, method: str = "auto",
                tol: float = 1e-8, x0: npt.ArrayLike | None = None, progress: bool = False,
                **options: Any) -> list[SolveResult]:
    """Solve for each lam in ``lams`` (in the order given), each warm-started at the previous x.

    Order ``lams`` from large to small for the usual continuation (sparse / quantized first).
    On Dask least squares the whole path makes two passes over the data
    (:mod:`cvxpar.distributed.path`).
    A solve that ends without a usable point (not optimal, optimal_inaccurate or stationary)
    does not become the next warm start.

    Parameters
    ----------
    loss, psi, constraints, method, tol, options
        As in :func:`cvxpar.solve`.
    lams : sequence of float or of arrays
        The weights, solved in the order given.
    x0 : array, optional
        Warm start of the first solve.
    progress : bool, default False
        Show progress on stderr: a tqdm bar when tqdm is installed, else one line per lam.

    Returns
    -------
    list of SolveResult
        One per lam, in the order of ``lams``.

    Raises
    ------
    TypeError
        If ``lams`` is a single number instead of a sequence.
    ValueError
        If ``lams`` is empty.

    Examples
    --------
    >>> import numpy as np
    >>> import cvxpar
    >>> rng = np.random.default_rng(0)
    >>> loss = cvxpar.losses.LeastSquares(rng.standard_normal((20, 50)), rng.standard_normal(20))
    >>> psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    >>> path = cvxpar.lambda_path(loss, psi, [10.0, 1.0, 0.1])
    >>> [r.status for r in path]
    ['optimal', 'optimal', 'optimal']
    """
    if np.ndim(lams) == 0:
        raise TypeError(
            f"lams must be a sequence of lam values, e.g. [1.0, 0.1, 0.01]; got the single number {lams!r}. "
            "For one lam call cvxpar.solve, or pass [lam]."
        )
    if len(lams) == 0:
        raise ValueError("lams is empty: pass at least one lam value, e.g. [1.0, 0.1, 0.01] (largest first).")
    if getattr(getattr(loss, "op", None), "kind", None) == "dask":
        from cvxpar.distributed.path import gram_lambda_path, gram_path_applicable

        if gram_path_applicable(loss, method):
            return gram_lambda_path(loss, psi, lams, constraints, method=method, tol=tol, x0=x0, progress=progress,
                                    **options)
    results = []
    x = x0
    for lam in (_progress.over(lams, "lambda_path", unit="lam") if progress else lams):
        res = solve(loss, psi, lam, constraints=constraints, method=method, x0=x, tol=tol, **options)
        results.append(res)
        if res.status in ("optimal", "optimal_inaccurate", "stationary"):
            x = res.x
    return results

def lambda_for_rate(loss: Loss, psi: PAR, rate: float, constraints: _Constraints = None, lam_lo: float | None = None,
                    lam_hi: float | None = None, max_steps: int = 40, rate_tol: float = 0.0,
                    **options: Any) -> tuple[float, SolveResult]:
    """The smallest lam (to bisection accuracy in log lam) whose solution has quantization rate >= ``rate``.

    The quantization rate grows with lam in practice (not monotone in general: the answer is the
    lam found by bisection between a bracket [lam_lo, lam_hi] with rate(lam_lo) < rate <=
    rate(lam_hi), expanded geometrically from 1 when not given).  Each solve is warm-started.

    Parameters
    ----------
    loss, psi, constraints, options
        As in :func:`cvxpar.solve`.
    rate : float
        Target quantization rate in [0, 1].
    lam_lo, lam_hi : float, optional
        A bracket; found by geometric search when not given.
    max_steps : int, default 40
        Bisection steps (in log lam).
    rate_tol : float, default 0.0
        Accept a rate this far below ``rate``.

    Returns
    -------
    lam : float
    result : SolveResult
        The solution at ``lam``.

    Raises
    ------
    ValueError
        If ``rate`` is outside [0, 1], or a solve finds the problem infeasible or unbounded below.

    Examples
    --------
    >>> import numpy as np
    >>> import cvxpar
    >>> from cvxpar.path import lambda_for_rate
    >>> rng = np.random.default_rng(0)
    >>> loss = cvxpar.losses.LeastSquares(rng.standard_normal((20, 50)), rng.standard_normal(20))
    >>> psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    >>> lam, res = lambda_for_rate(loss, psi, 0.9)
    >>> bool(res.quantization_rate >= 0.9)
    True
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must lie in [0, 1]; got {rate}.")
    cache: dict[float, SolveResult] = {}
    warm = [None]

    def at(lam: float) -> SolveResult:
        if lam not in cache:
            res = solve(loss, psi, lam, constraints=constraints, x0=warm[0], **options)
            if res.status in ("infeasible", "unbounded"):
                raise ValueError(f"at lam = {lam:g} the problem is {res.status}, so no lam reaches a quantization rate: "
                                 f"{res.message}")
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
