"""``problem.solve(method="cvxpar")``: CVXPY problems with PAR structure, solved by :func:`cvxpar.solve`.

``import cvxpar`` registers the method (:mod:`cvxpar._cvxpy_registration`), which calls
:func:`solve_problem`.  The bridge reads the problem's expression tree (:mod:`.parse`), maps it
to a loss, a PAR, its weights and a constraint set (:mod:`.assemble`), solves, and writes the
result back the way CVXPY's own solvers do (a ``Solution`` passed to ``problem.unpack``).

What it takes: minimize (or maximize the negative of), over ONE variable x (a vector, a scalar or a
matrix, whose entries are taken in column-major order; ``Maximize(g)`` is solved as ``Minimize(-g)``,
so g must be concave),

- smooth terms: ``sum_squares(A @ x - b)``, ``norm(A @ x - b, 2) ** 2``, ``square(norm2(...))``
  (any positive factor, e.g. ``/ (2 * n)``, and weighted residuals ``multiply(w, A @ x - b)``),
  ``sum(square(...))``, ``quad_form(x, P)`` with P constant PSD,
  ``sum(logistic(-multiply(y, A @ x)))`` (or any ``sum(logistic(G @ x))``),
  ``sum(huber(A @ x - b, M))``, linear terms ``q @ x``, and ``sum_squares(x)``;
- PAR terms with nonnegative weights: ``lam * sum(cvxpar.par(r, psi))``, ``w @ cvxpar.par(r, psi)``
  (w >= 0 per entry), ``norm1(r)``, ``sum(abs(r))``, where each entry of r reads one coordinate:
  r = x, a selection ``x[:k]`` (the other coordinates get lam_i = 0), or a scaling plus an offset
  (``a * x + c``, ``x - c``, ``c + x``, ``multiply(a, x) + c``, with a != 0 and c scalars, vectors or
  Parameters: one (a, c) for every coordinate makes psi(a u + c), again a PAR, built exactly; a
  per-coordinate one is solved in the variable y = a x + c, every other term rewritten in y
  (:mod:`.shift`), and x = (y - c) / a written back); weights may be
  ``cp.Parameter(nonneg=True)``.  All coordinates must end up with one common psi (several PAR
  terms add up to one when their weight vectors are proportional): :func:`cvxpar.solve` takes
  per-coordinate weights lam_i, not a different psi per coordinate, so different PARs on
  different slices of x are refused with an error that says so; a psi that is +inf outside an
  interval keeps every entry of its argument there, weight 0 included: where it does not read
  every coordinate with positive weight (``par(x[:k], psi)``, ``0 * par(x - c, psi)``), its walls
  become bounds on the coordinates it reads (:mod:`.walls`);
- constraints: bounds (``x >= l``, ``x <= u``, ``x[:k] >= 0``, ``abs(x) <= c``,
  ``norm_inf(x) <= c``, ``Variable(bounds=...)``, ``nonneg=True``), a simplex
  (``x >= 0, sum(x) == t``), and linear equalities / inequalities (``abs(G @ x) <= c`` included).

Anything else raises :class:`UnsupportedProblemError` (a ``cvxpy.error.SolverError`` and a
``ValueError``) naming the culprit (constants shown by their shapes) and the CVXPY solver (or
``cvxpar.reference``) to use instead; so does a loss and constraint set that no cvxpar method
takes (today Simplex and Linear constraints need a convex psi or a least-squares loss).

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
``unbounded``          ``UNBOUNDED``           proven before any iteration (:mod:`cvxpar.recession`)
``diverged``           raises ``SolverError``  as CVXPY does for a failed solver
====================== ======================= ===============================================

A nonconvex (or quasiconvex) psi never gets ``OPTIMAL``.  Because ``USER_LIMIT`` stands for two
outcomes, each comes with a warning that names it: a :class:`StationaryPointWarning` for a
certified stationary point, a ``UserWarning`` ("Solution may be inaccurate ... iteration limit")
for ``max_iter`` (as CVXPY warns for its own solvers; ``optimal_inaccurate`` is warned about too).

``problem.solver_stats`` has ``solver_name == "CVXPAR"``, ``num_iters``, ``solve_time``,
``setup_time`` and ``extra_stats``, a dict:

- ``extra_stats["status"]``: cvxpar's own status (the first column above), which tells
  ``stationary`` from ``max_iter``;
- ``"message"`` (a sentence on the status), ``"method"`` (the method that ran),
  ``"objective"``, ``"residual"``, ``"gap"``, ``"quantization_rate"`` (of the problem as
  cvxpar solved it: the objective divided by a positive factor, see :mod:`.assemble`);
- ``"result"``: the whole :class:`cvxpar.SolveResult` of the problem as cvxpar solved it, kept as it
  is: where a per-coordinate shift applies that problem is in the variable y = a x + c (its ``x``,
  ``residual``, ``vjp`` are in y, the units psi reads; mapping them back would need every field
  rewritten), and ``"shift"`` holds ``(a, c)`` (``None`` without a shift) so that
  x = (result.x - c) / a, which is what ``variable.value`` holds.

Constraint ``dual_value``s are set to ``None`` (cvxpar computes no multipliers), so none is left
over from an earlier solve with another solver.

Options (``problem.solve(method="cvxpar", **options)``):

- ``algorithm``: :func:`cvxpar.solve`'s ``method``: ``"auto"`` (default: picks a method that takes
  the loss and constraints), ``"pg"``, ``"fista"``, ``"cd"``, ``"ssnal"``, ``"alm"``, ``"admm"``, ``"aprox"``;
- ``tol`` (default 1e-8), ``max_iter``, ``polish`` (default True), ``verbose`` (default False);
- ``x0`` (a starting point) and ``warm_start`` (default True: start from this problem's previous
  solution);
- any other keyword of :func:`cvxpar.solve` (a method's own options, e.g. ``check_every``);
- CVXPY's compilation keywords ``enforce_dpp``, ``ignore_dpp``, ``canon_backend`` are accepted
  and ignored (nothing is compiled); ``solver=``, ``gp=``, ``qcp=`` are refused.

Re-solves: the parsed structure is cached per problem object (a weak reference), and so are the
loss and the constraint set when no Parameter enters them, so changing a ``cp.Parameter`` that
weights the PAR re-solves without re-parsing and warm-starts from the previous x (a lambda
path).  Every Parameter (in the loss, the PAR weights or arguments, bounds, linear rows) is
re-read at each solve.
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
from cvxpy.reductions.solution import Solution

from cvxpar.bridge.errors import UnsupportedProblemError
from cvxpar.bridge.parse import Structure, alternative
from cvxpar.bridge.parse import parse as parse_problem
from cvxpar.bridge.solution import failure

__all__ = ["solve_problem", "UnsupportedProblemError", "StationaryPointWarning", "SOLVER_NAME", "STATUS_MAP"]

SOLVER_NAME = "CVXPAR"

#: cvxpar.solve status -> CVXPY status (see the module docstring); "diverged" raises.
STATUS_MAP = {
    "optimal": s.OPTIMAL,
    "optimal_inaccurate": s.OPTIMAL_INACCURATE,
    "stationary": s.USER_LIMIT,
    "max_iter": s.USER_LIMIT,
    "infeasible": s.INFEASIBLE,
    "unbounded": s.UNBOUNDED,
}


class StationaryPointWarning(UserWarning):
    """``problem.status == "user_limit"`` stands for a certified stationary point of a nonconvex problem."""


@dataclass
class _Cached:
    structure: Structure
    alternative: str
    loss: Any = None
    dense: bool = False
    constraints: Any = None
    x: np.ndarray | None = None
    shift: Any = None  # the key of the substitution the cached loss and constraints were built in


#: CVXPY's compilation keywords: meaningless here (nothing is compiled), accepted and ignored.
_COMPILATION_OPTIONS = ("enforce_dpp", "ignore_dpp", "canon_backend")

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def solve_problem(problem, *, algorithm: str = "auto", warm_start: bool = True, x0=None, **options) -> float:
    """Solve ``problem`` with :func:`cvxpar.solve`; write variable values, value, status, solver_stats.

    Parameters
    ----------
    problem : cvxpy.Problem
        Of the shape described in the module docstring.
    algorithm : str
        :func:`cvxpar.solve`'s ``method``: ``"auto"`` (default), ``"pg"``, ``"fista"``, ``"cd"``,
        ``"ssnal"``, ``"alm"``, ``"admm"`` or ``"aprox"``.
    warm_start : bool
        Start from this problem's previous cvxpar solution (default True).
    x0 : array, optional
        Starting point (overrides ``warm_start``), in the variable's shape or flattened.
    **options
        ``tol``, ``max_iter``, ``polish``, ``verbose`` and any other keyword of :func:`cvxpar.solve`.

    Returns
    -------
    float
        ``problem.value``.  Also written: the variable's ``value``, ``problem.status`` (cvxpar's
        ``optimal`` -> ``OPTIMAL`` for a convex psi only; ``optimal_inaccurate`` ->
        ``OPTIMAL_INACCURATE``; ``stationary`` and ``max_iter`` -> ``USER_LIMIT``, told apart by a
        :class:`StationaryPointWarning` or a ``UserWarning`` and by ``extra_stats["status"]``;
        ``infeasible`` -> ``INFEASIBLE``; ``unbounded`` -> ``UNBOUNDED``, ``problem.value`` -inf),
        and ``problem.solver_stats`` (``solver_name``
        ``"CVXPAR"``, ``num_iters``, ``solve_time``, ``setup_time``, ``extra_stats``: a dict
        with ``"status"`` (cvxpar's status), ``"message"``, ``"method"``, ``"objective"``,
        ``"residual"``, ``"gap"``, ``"quantization_rate"`` and ``"result"``, the whole
        :class:`cvxpar.SolveResult`; None when the bounds alone are evidently infeasible).
        Constraint duals are cleared (cvxpar computes none).

    Raises
    ------
    UnsupportedProblemError
        The problem is not of the supported shape, or no cvxpar method takes its combination of
        loss and constraints.
    ValueError
        A Parameter has no value, an option is invalid, or a keyword that does not apply
        (``solver``, ``solver_path``, ``gp``, ``qcp``, ``requires_grad``) is given.
    cvxpy.error.SolverError
        The solver diverged.

    Examples
    --------
    Called through ``problem.solve(method="cvxpar", ...)``:

    >>> import numpy as np, cvxpy as cp, cvxpar
    >>> x = cp.Variable(3)
    >>> psi = cvxpar.pars.l1(cvxpar.grids.uniform(1.0, 2))
    >>> c = np.array([1.0, 0.2, -2.0])
    >>> objective = 0.5 * cp.sum_squares(x - c) + 0.5 * cp.sum(cvxpar.par(x, psi))
    >>> prob = cp.Problem(cp.Minimize(objective), [x >= -1])
    >>> float(round(prob.solve(method="cvxpar", algorithm="fista", tol=1e-10), 6))
    1.42
    >>> prob.status, x.value.round(6), prob.solver_stats.extra_stats["status"]
    ('optimal', array([ 0.5,  0. , -1. ]), 'optimal')
    """
    from cvxpar import solve
    from cvxpar.bridge import assemble, shift, walls

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
    st = walls.release(cached.structure)  # a walled psi on some coordinates (or weight 0): its walls as bounds
    st, sub = shift.substitute(st, cached.alternative)  # y = a x + c where the PARs need it
    key = None if sub is None else sub.key()
    if cached.shift != key:
        cached.loss = cached.constraints = None
        cached.shift = key
    cons = cached.constraints
    if cons is None or st.constraint_params:
        cons = assemble.build_constraints(st)
        cached.constraints = None if st.constraint_params else cons
    dense = assemble.needs_dense(cons)
    loss = cached.loss
    if loss is None or st.smooth_params or cached.dense != dense:
        loss = assemble.build_loss(st, cached.alternative, dense=dense)
        cached.loss, cached.dense = (None if st.smooth_params else loss), dense
    psi, lam = assemble.build_par(st, loss.scale, cached.alternative)
    setup = time.perf_counter() - start
    if isinstance(cons, str):  # evidently infeasible (empty box, negative simplex total)
        return _write_infeasible(problem, cached, setup)
    if x0 is None and warm_start:
        x0 = cached.x
    if x0 is not None:
        x0 = _flat(x0, st.x)
        x0 = x0 if sub is None else sub.to_y(x0)
    res = _run(solve, loss.loss, psi, lam, cons, algorithm, x0, options, cached.alternative)
    if res.status == "diverged":
        cached.x = None
        raise SolverError(
            f"cvxpar.solve diverged ({res.message}). Try problem.solve(method='cvxpar', algorithm='admm') or "
            "another solver, e.g. problem.solve(solver='CLARABEL') for a convex problem."
        )
    status = STATUS_MAP[res.status]
    if status == s.OPTIMAL and psi.curvature != "convex":
        status = s.USER_LIMIT
    _warn(res, status)
    attr = {
        s.SOLVE_TIME: float(res.solve_time),
        s.SETUP_TIME: setup,
        s.NUM_ITERS: int(res.iterations),
        s.EXTRA_STATS: {**extra_stats(res), "shift": None if sub is None else (sub.a.copy(), sub.c.copy())},
    }
    if status in (s.INFEASIBLE, s.UNBOUNDED):
        cached.x = None
        problem.unpack(failure(status, attr, st.maximize))
    else:
        x = np.asarray(res.x, dtype=np.float64).reshape(-1)
        x = x if sub is None else sub.to_x(x)
        cached.x = x
        value = x.reshape(st.x.shape, order="F") if st.x.ndim else x.reshape(())
        problem.unpack(Solution(status, float(res.objective), {st.x.id: value}, {}, attr))
    _clear_duals(problem)
    problem._solver_stats = SolverStats.from_dict(attr, SOLVER_NAME)
    return problem.value


def _flat(x0, x) -> np.ndarray:
    """A start in the variable's shape or flattened, as its entries in column-major order."""
    x0 = np.asarray(x0, dtype=np.float64)
    return x0.reshape(-1, order="F") if x0.shape == x.shape else x0.reshape(-1)


def _run(solve, loss, psi, lam, cons, algorithm: str, x0, options: dict, alternative: str):
    """``cvxpar.solve``; a method's refusal of this loss and constraint set, under ``"auto"``, becomes
    an :class:`UnsupportedProblemError` that says which combination no method takes."""
    try:
        return solve(loss, psi, lam, constraints=cons or None, method=algorithm, x0=x0, **options)
    except ValueError as err:
        if algorithm != "auto" or not str(err).startswith("method "):
            raise
        kinds = ", ".join(type(c).__name__ for c in cons or []) or "no"
        raise UnsupportedProblemError(
            f"problem.solve(method='cvxpar') cannot take this problem: no cvxpar method solves a "
            f"{type(loss).__name__} loss with {kinds} constraints (method 'auto' picked one that says: {err}). "
            f"{alternative}",
            type(loss).__name__,
        ) from err


def extra_stats(res) -> dict:
    """``problem.solver_stats.extra_stats``: cvxpar's own status and certificate figures, and the result."""
    return {
        "status": res.status,
        "message": res.message,
        "method": res.method,
        "objective": res.objective,
        "residual": res.residual,
        "gap": res.gap,
        "quantization_rate": res.quantization_rate,
        "result": res,
    }


def _warn(res, status: str) -> None:
    """Say which outcome a non-OPTIMAL CVXPY status stands for (CVXPY's vocabulary has no word for it)."""
    if res.status == "stationary" or (res.status == "optimal" and status == s.USER_LIMIT):
        warnings.warn(
            f"problem.status is {status!r} because cvxpar found a certified stationary point of a nonconvex "
            "problem (cvxpar status 'stationary'), not a certified global optimum; "
            "problem.solver_stats.extra_stats['status'] says so. For a global optimum use cvxpar.reference.",
            StationaryPointWarning,
            stacklevel=5,  # the caller of problem.solve
        )
    elif res.status == "max_iter":
        warnings.warn(
            f"Solution may be inaccurate: problem.status is {status!r} because cvxpar.solve hit its iteration "
            f"limit (cvxpar status 'max_iter': {res.message}). Raise max_iter, try another algorithm=..., or "
            "warm-start from a nearby solution.",
            UserWarning,
            stacklevel=5,
        )
    elif res.status == "optimal_inaccurate":
        warnings.warn(
            f"Solution may be inaccurate: cvxpar.solve returned 'optimal_inaccurate' ({res.message}). Raise max_iter, "
            "try another algorithm=..., or warm-start from a nearby solution.",
            UserWarning,
            stacklevel=5,
        )


def _clear_duals(problem) -> None:
    """cvxpar computes no constraint multipliers: clear any a previous solve left on the constraints."""
    for c in problem.constraints:
        for dv in c.dual_variables:
            dv.save_value(None)


def _write_infeasible(problem, cached: _Cached, setup: float) -> float:
    cached.x = None
    attr = {s.SOLVE_TIME: 0.0, s.SETUP_TIME: setup, s.NUM_ITERS: 0, s.EXTRA_STATS: None}
    problem.unpack(failure(s.INFEASIBLE, attr, cached.structure.maximize))
    problem._solver_stats = SolverStats.from_dict(attr, SOLVER_NAME)
    return problem.value
