"""``problem.solve(method="cvxpar")``: CVXPY problems with PAR structure, solved by :func:`cvxpar.solve`.

``import cvxpar`` registers the method (:mod:`cvxpar._cvxpy_registration`), which calls
:func:`solve_problem`.  The bridge reads the problem's expression tree (:mod:`.parse`), maps it
to a loss, a PAR, its weights and a constraint set (:mod:`.assemble`), solves, and writes the
result back the way CVXPY's own solvers do (``Solution`` + ``problem.unpack``).

What it takes: minimize, over ONE vector variable x,

- smooth terms: ``sum_squares(A @ x - b)`` (any positive factor, e.g. ``/ (2 * n)``),
  ``sum(square(...))``, ``quad_form(x, P)`` with P constant PSD, ``sum(logistic(-multiply(y, A @ x)))``
  (or any ``sum(logistic(G @ x))``), ``sum(huber(A @ x - b, M))``, linear terms ``q @ x``, and
  ``sum_squares(x)``;
- PAR terms with nonnegative weights: ``lam * sum(cvxpar.par(x, psi))``, ``w @ cvxpar.par(x, psi)``
  (w >= 0 per coordinate), ``norm1(x)``, ``sum(abs(x))``; weights may be ``cp.Parameter(nonneg=True)``;
- constraints: bounds (``x >= l``, ``x <= u``, ``Variable(bounds=...)``, ``nonneg=True``), a
  simplex (``x >= 0, sum(x) == t``), and linear equalities / inequalities.

Anything else raises :class:`UnsupportedProblemError` (a ``cvxpy.error.SolverError`` and a
``ValueError``) naming the culprit and the CVXPY solver (or ``cvxpar.reference``) to use instead.

Statuses written to ``problem.status`` (``cvxpar.solve`` status -> CVXPY status):

====================== ======================= ===============================================
cvxpar                 CVXPY                   why
====================== ======================= ===============================================
``optimal``            ``OPTIMAL``             certified to tol (convex psi only)
``optimal_inaccurate`` ``OPTIMAL_INACCURATE``
``stationary``         ``USER_LIMIT``          a certified critical point of a nonconvex problem is
                                               not a certified optimum: CVXPY's "stopped early,
                                               solution present" is the honest status
``max_iter``           ``USER_LIMIT``          as CVXPY's solvers report an iteration limit
``infeasible``         ``INFEASIBLE``
``diverged``           raises ``SolverError``  as CVXPY does for a failed solver
====================== ======================= ===============================================

A nonconvex (or quasiconvex) psi never gets ``OPTIMAL``.  As CVXPY does for its own solvers, a
``UserWarning`` ("Solution may be inaccurate") accompanies ``max_iter`` and ``optimal_inaccurate``;
``stationary`` is the expected outcome for a nonconvex psi and is not warned about.

``problem.solver_stats`` has ``solver_name == "CVXPAR"``, ``num_iters``, ``solve_time``, and ``extra_stats`` holding the
:class:`cvxpar.SolveResult` (its ``status``, ``residual``, ``gap``, ``quantization_rate``...).

Options (``problem.solve(method="cvxpar", **options)``): ``algorithm`` (cvxpar.solve's
``method``: ``"auto"``, ``"pg"``, ``"fista"``, ``"admm"``...), ``tol``, ``max_iter``, ``polish``,
``verbose``, ``x0``, ``warm_start`` (default True: start from this problem's previous solution),
and any other keyword of :func:`cvxpar.solve`.

Re-solves: the parsed structure, the loss and the constraint set are cached per problem object
(a weak reference), so changing a ``cp.Parameter`` that weights the PAR re-solves without
re-parsing and warm-starts from the previous x (a lambda path).  Parameters inside the loss or
the constraints are re-read on every solve.
"""

from __future__ import annotations

import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import cvxpy.settings as s
import numpy as np
from cvxpy.error import SolverError
from cvxpy.problems.problem import SolverStats
from cvxpy.reductions.solution import Solution, failure_solution

from cvxpar.bridge.errors import UnsupportedProblemError
from cvxpar.bridge.parse import Structure, alternative
from cvxpar.bridge.parse import parse as parse_problem

__all__ = ["solve_problem", "UnsupportedProblemError", "SOLVER_NAME", "STATUS_MAP"]

SOLVER_NAME = "CVXPAR"

#: cvxpar.solve status -> CVXPY status (see the module docstring); "diverged" raises.
STATUS_MAP = {
    "optimal": s.OPTIMAL,
    "optimal_inaccurate": s.OPTIMAL_INACCURATE,
    "stationary": s.USER_LIMIT,
    "max_iter": s.USER_LIMIT,
    "infeasible": s.INFEASIBLE,
}


@dataclass
class _Cached:
    structure: Structure
    alternative: str
    loss: Any = None
    constraints: Any = None
    x: np.ndarray | None = None


#: CVXPY's compilation keywords: meaningless here (nothing is compiled), accepted and ignored.
_COMPILATION_OPTIONS = ("enforce_dpp", "ignore_dpp", "canon_backend")

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def solve_problem(problem, *, algorithm: str = "auto", warm_start: bool = True, x0=None, **options) -> float:
    """Solve ``problem`` with :func:`cvxpar.solve`; write variable values, value, status, solver_stats.

    Returns ``problem.value``.  Raises :class:`UnsupportedProblemError` if the problem is not of
    the supported shape (see the module docstring), ``ValueError`` for a Parameter without a
    value, and ``cvxpy.error.SolverError`` if the solver diverged.
    """
    from cvxpar import solve
    from cvxpar.bridge import assemble

    start = time.perf_counter()
    for key in ("solver", "solver_path", "gp", "qcp", "requires_grad"):
        if options.pop(key, None):
            raise ValueError(f"{key}= does not apply to method='cvxpar'; drop it or call problem.solve(solver=...).")
    for key in _COMPILATION_OPTIONS:
        options.pop(key, None)
    cached = _CACHE.get(problem)
    if cached is None:
        structure = parse_problem(problem)
        cached = _Cached(structure, alternative(problem))
        _CACHE[problem] = cached
    st = cached.structure
    loss = cached.loss
    if loss is None or st.smooth_params:
        loss = assemble.build_loss(st, cached.alternative)
        cached.loss = None if st.smooth_params else loss
    cons = cached.constraints
    if cons is None or st.constraint_params:
        cons = assemble.build_constraints(st)
        cached.constraints = None if st.constraint_params else cons
    psi, lam = assemble.build_par(st, loss.scale, cached.alternative)
    setup = time.perf_counter() - start
    if isinstance(cons, str):  # evidently infeasible (empty box, negative simplex total)
        return _write_infeasible(problem, cached, setup)
    if x0 is None and warm_start:
        x0 = cached.x
    res = solve(loss.loss, psi, lam, constraints=cons or None, method=algorithm, x0=x0, **options)
    if res.status == "diverged":
        cached.x = None
        raise SolverError(
            f"cvxpar.solve diverged ({res.message}). Try problem.solve(method='cvxpar', algorithm='admm') or "
            "another solver, e.g. problem.solve(solver='CLARABEL') for a convex problem."
        )
    status = STATUS_MAP[res.status]
    if status == s.OPTIMAL and psi.curvature != "convex":
        status = s.USER_LIMIT
    if res.status in ("max_iter", "optimal_inaccurate"):  # CVXPY warns on these statuses too
        warnings.warn(
            f"Solution may be inaccurate: cvxpar.solve returned {res.status!r} ({res.message}). Raise max_iter, try "
            "another algorithm=..., or warm-start from a nearby solution.",
            UserWarning,
            stacklevel=4,  # the caller of problem.solve
        )
    attr = {
        s.SOLVE_TIME: float(res.solve_time),
        s.SETUP_TIME: setup,
        s.NUM_ITERS: int(res.iterations),
        s.EXTRA_STATS: res,
    }
    if status == s.INFEASIBLE:
        cached.x = None
        problem.unpack(failure_solution(status, attr))
    else:
        x = np.asarray(res.x, dtype=np.float64).reshape(-1)
        cached.x = x
        value = x.reshape(st.x.shape, order="F") if st.x.ndim else x.reshape(())
        problem.unpack(Solution(status, float(res.objective), {st.x.id: value}, {}, attr))
    problem._solver_stats = SolverStats.from_dict(attr, SOLVER_NAME)
    return problem.value


def _write_infeasible(problem, cached: _Cached, setup: float) -> float:
    cached.x = None
    attr = {s.SOLVE_TIME: 0.0, s.SETUP_TIME: setup, s.NUM_ITERS: 0, s.EXTRA_STATS: None}
    problem.unpack(failure_solution(s.INFEASIBLE, attr))
    problem._solver_stats = SolverStats.from_dict(attr, SOLVER_NAME)
    return problem.value
