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
UNBOUNDED = "unbounded"
DIVERGED = "diverged"
STATUSES = (OPTIMAL, OPTIMAL_INACCURATE, STATIONARY, MAX_ITER, INFEASIBLE, UNBOUNDED, DIVERGED)


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
        - ``"unbounded"``: the objective is unbounded below (x is NaN; ``info["direction"]`` holds a
          direction v with F(x + t v) -> -inf, :mod:`cvxpar.recession`);
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
        """Gradients of <dx, x*> with respect to the data of the solved problem (reverse mode).

        Implicit differentiation of the reduced KKT system on the active set (coordinates on a
        breakpoint or a bound fixed, the others in their piece, the active rows with their
        multipliers; OptNet, Amos & Kolter 2017, section 3); see :mod:`cvxpar.derivatives` for the
        math, the assumptions and the choice at degenerate points (then ``info["degenerate"]``
        lists the coordinates concerned).

        Parameters
        ----------
        dx : array of shape (d,)
            The cotangent (the gradient of a scalar function of x*).
        wrt : sequence of str, optional
            The keys to compute (default: all that apply).

        Returns
        -------
        dict of numpy.ndarray
            ``"A"`` (n x d, dense), ``"b"`` (the loss's target), ``"lam"`` (a float for a scalar lam,
            else length d), ``"breakpoints"`` and ``"values"`` (psi's outer slopes held fixed); with
            finite bounds ``"lower"`` and ``"upper"`` (the merged per-coordinate bounds); with rows
            ``"A_eq"``, ``"b_eq"`` and/or ``"A_ub"``, ``"b_ub"`` (the constraints' rows stacked in the
            order the constraints were given, a Simplex's row being ones and its total; zero on
            inactive inequalities).

        Raises
        ------
        ValueError
            The status is not ``"optimal"`` or ``"stationary"``; the result has no recorded problem
            (``method="aprox"``); ``dx`` of the wrong length; an unknown key in ``wrt``; A given as a
            LinearOperator.
        TypeError
            A loss that is not a linear-model loss (``Smooth``).
        NotImplementedError
            ``"b"`` for a user loss without ``dh_dtarget``.

        Examples
        --------
        >>> import numpy as np, cvxpar
        >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> res = cvxpar.solve(cvxpar.losses.LeastSquares(A, [1.0, 0.1, 1.1]), cvxpar.pars.l1([0.0]), 0.5,
        ...                    tol=1e-12)
        >>> res.x.round(6)                       # x_1 sits on the breakpoint 0
        array([0.8, 0. ])
        >>> g = res.vjp(np.array([1.0, 0.0]))    # d x*_0 / d(data)
        >>> round(g["lam"], 6), g["breakpoints"].round(6)
        (-0.5, array([-0.5]))
        """
        from cvxpar.derivatives import vjp

        return vjp(self, dx, wrt)

    def jvp(self, dA=None, db=None, dlam=None, dbreakpoints=None, dvalues=None, dlower=None, dupper=None,
            dA_eq=None, db_eq=None, dA_ub=None, db_ub=None):
        """The derivative of x* along the given tangents of the data (forward mode of :meth:`vjp`).

        Parameters
        ----------
        dA, db, dlam, dbreakpoints, dvalues, dlower, dupper, dA_eq, db_eq, dA_ub, db_ub : array, optional
            Tangents of the inputs of the same names (shapes as in :meth:`vjp`'s result; a float for a
            scalar lam); None means zero.

        Returns
        -------
        numpy.ndarray of shape (d,)
            dx*, the directional derivative of the solution.

        Raises
        ------
        ValueError
            As in :meth:`vjp`; a tangent of the wrong shape, or a row tangent for rows the problem
            does not have.

        Examples
        --------
        >>> import numpy as np, cvxpar
        >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> res = cvxpar.solve(cvxpar.losses.LeastSquares(A, [1.0, 0.1, 1.1]), cvxpar.pars.l1([0.0]), 0.5,
        ...                    tol=1e-12)
        >>> res.jvp(dlam=1.0).round(6)           # raising lam pulls x_0 toward 0; x_1 stays on it
        array([-0.5,  0. ])
        """
        from cvxpar.derivatives import jvp

        return jvp(self, dA, db, dlam, dbreakpoints, dvalues, dlower, dupper, dA_eq, db_eq, dA_ub, db_ub)

    def __repr__(self) -> str:
        gap = "None" if self.gap is None else f"{self.gap:.3e}"
        return (
            f"SolveResult(status={self.status!r}, objective={self.objective:.10g}, iterations={self.iterations}, "
            f"solve_time={self.solve_time:.3g}s, residual={self.residual:.3e}, gap={gap}, "
            f"quantization_rate={self.quantization_rate:.3f}, method={self.method!r}, message={self.message!r})"
        )
