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

    Built by the solvers, not by users; every field is also readable by name, and ``repr(res)``
    shows them all but ``x`` and ``info``.

    Parameters
    ----------
    x : array of shape (d,)
        The solution, in the namespace (NumPy, CuPy, ...) and on the device of the input data.
    status : str
        One of :data:`STATUSES`:

        - ``"optimal"``: convex problem, certified to ``tol`` by :func:`cvxpar.certificate`
          (``residual <= tol * max(1, ||grad loss(x)||_inf)`` and
          ``infeasibility <= tol * max(1, ||x||_inf)``);
        - ``"optimal_inaccurate"``: convex problem, close to but not within ``tol`` (the
          certificate within 1000 x ``tol``, a stochastic run's last iterate, or a reference
          solver that reported an inaccurate solution);
        - ``"stationary"``: nonconvex problem, a certified (Clarke) critical point to ``tol``;
        - ``"max_iter"``: stopped without a certificate; ``message`` says how far off;
        - ``"infeasible"``: the constraints have no common point;
        - ``"diverged"``: the iterates or the objective became non-finite.
    objective : float
        F(x) = loss(x) + sum_i lam_i psi(x_i).
    iterations : int
        Iterations (outer steps for ``cd`` and ``ssnal``), summed over all starts.
    solve_time : float
        Wall-clock seconds.
    residual : float
        Stationarity: the largest distance of -grad loss(x) from lam*dPsi(x) + N_C(x).
    gap : float or None
        Duality gap where defined (convex psi, a loss with a conjugate, bound constraints): an
        upper bound on F(x) - F*; else None.
    quantization_rate : float
        Fraction of entries on a breakpoint of psi.
    method : str
        What ran (for ``method="auto"``, what it picked).
    message : str
        A sentence explaining the status.
    info : dict
        Method-specific extras (e.g. the CVXPY solver used, history); for ``cvxpar.solve``,
        ``info["trace"]`` lists (time.perf_counter() stamp, objective, residual) of every check,
        and for a nonconvex psi ``info["starts"]`` lists (label, status, objective) of every start
        and ``info["best_start"]`` the one kept.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> loss = cvxpar.losses.LeastSquares(np.eye(3), np.array([1.0, 0.2, -2.0]))
    >>> psi = cvxpar.pars.l1(cvxpar.grids.uniform(1.0, 2))
    >>> res = cvxpar.solve(loss, psi, 0.5)
    >>> res.status, res.x.round(6), round(res.quantization_rate, 3)
    ('optimal', array([ 0.5 ,  0.  , -1.45]), 0.667)
    >>> res.status in cvxpar.result.STATUSES
    True
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

    def vjp(self, dx, wrt=None) -> dict:
        """Gradients of <dx, x*> with respect to ``"A"``, ``"b"``, ``"lam"``, ``"breakpoints"``, ``"values"``
        (and the bounds ``"lower"``, ``"upper"`` when there are finite ones).

        Implicit differentiation of the reduced KKT system on the active set; see
        :mod:`cvxpar.derivatives` for the math, the assumptions and the choice at degenerate points
        (then ``info["degenerate"]`` lists the coordinates).
        """
        from cvxpar.derivatives import vjp

        return vjp(self, dx, wrt)

    def jvp(self, dA=None, db=None, dlam=None, dbreakpoints=None, dvalues=None, dlower=None, dupper=None):
        """The derivative of x* along the given tangents of the data (forward mode of :meth:`vjp`)."""
        from cvxpar.derivatives import jvp

        return jvp(self, dA, db, dlam, dbreakpoints, dvalues, dlower, dupper)

    def __repr__(self) -> str:
        gap = "None" if self.gap is None else f"{self.gap:.3e}"
        return (
            f"SolveResult(status={self.status!r}, objective={self.objective:.10g}, iterations={self.iterations}, "
            f"solve_time={self.solve_time:.3g}s, residual={self.residual:.3e}, gap={gap}, "
            f"quantization_rate={self.quantization_rate:.3f}, method={self.method!r}, message={self.message!r})"
        )
