"""The result object shared by every solver and by :func:`cvxpar.reference`.

Modelled on SciPy's ``OptimizeResult``: one object with an honest status and a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Status values, shared by every method.  ``"optimal"`` is only reported when the certificate holds to tol.
OPTIMAL = "optimal"
OPTIMAL_INACCURATE = "optimal_inaccurate"
STATIONARY = "stationary"
MAX_ITER = "max_iter"
INFEASIBLE = "infeasible"
DIVERGED = "diverged"
STATUSES = (OPTIMAL, OPTIMAL_INACCURATE, STATIONARY, MAX_ITER, INFEASIBLE, DIVERGED)


@dataclass
class SolveResult:
    """Outcome of :func:`cvxpar.solve` or :func:`cvxpar.reference`.

    Attributes
    ----------
    x : array
        The solution, in the namespace (NumPy, CuPy, ...) and on the device of the input data.
    status : str
        ``"optimal"`` (certified to tol), ``"optimal_inaccurate"``, ``"stationary"`` (a certified
        critical point of a nonconvex problem), ``"max_iter"``, ``"infeasible"`` or ``"diverged"``.
    objective : float
        loss(x) + sum_i lam_i psi(x_i).
    iterations : int
    solve_time : float
        Seconds.
    residual : float
        Stationarity: the largest distance of -grad loss(x) from lam*dPsi(x) + N_C(x).
    gap : float or None
        Duality gap where defined (convex least squares / logistic), else None.
    quantization_rate : float
        Fraction of entries on a breakpoint of psi.
    method : str
        What ran (for ``method="auto"``, what it picked).
    message : str
        A sentence explaining the status.
    info : dict
        Method-specific extras (e.g. the CVXPY solver used, history); for ``cvxpar.solve``,
        ``info["trace"]`` lists (time.perf_counter() stamp, objective, residual) of every check.
    """

    x: Any
    status: str
    objective: float
    iterations: int
    solve_time: float
    residual: float
    gap: float | None
    quantization_rate: float
    method: str = ""
    message: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        gap = "None" if self.gap is None else f"{self.gap:.3e}"
        return (
            f"SolveResult(status={self.status!r}, objective={self.objective:.10g}, iterations={self.iterations}, "
            f"solve_time={self.solve_time:.3g}s, residual={self.residual:.3e}, gap={gap}, "
            f"quantization_rate={self.quantization_rate:.3f}, method={self.method!r}, message={self.message!r})"
        )
