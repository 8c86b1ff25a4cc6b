"""``cvxpar.reference(problem)``: the exact reference for a CVXPY problem the bridge can read.

The problem is read by the bridge (:mod:`cvxpar.bridge`: its parser and assembler turn the expression
tree into ``loss``, ``psi``, ``lam`` and ``constraints``, the objective divided by a positive factor,
which keeps the minimizers), solved by :func:`cvxpar.reference` (Clarabel for a convex psi, the
mixed-integer model for a nonconvex one), and written back the way ``problem.solve`` does:
``variable.value``, ``problem.value`` (CVXPY evaluates the objective at the new value), ``problem.status``
and ``problem.solver_stats`` (``extra_stats`` is the :class:`~cvxpar.exact.finish.ReferenceResult`).
The result's ``objective``, ``bound`` and ``gap`` are in the units of ``problem.value``; its ``residual``
in those of the assembled (loss, psi, lam), ``info["problem_scale"]`` being the factor between them.

Status mapping (reference -> CVXPY): ``optimal`` -> ``OPTIMAL`` (for a nonconvex psi a global optimum
with a closed gap), ``optimal_inaccurate`` -> ``OPTIMAL_INACCURATE``, ``max_iter`` -> ``USER_LIMIT``
(a time limit: the best point found), ``infeasible`` -> ``INFEASIBLE``, ``unbounded`` -> ``UNBOUNDED``.
"""

from __future__ import annotations

import cvxpy as cp
import cvxpy.settings as s
import numpy as np
from cvxpy.problems.problem import SolverStats
from cvxpy.reductions.solution import Solution

from cvxpar.bridge import assemble, shift, walls
from cvxpar.bridge.parse import alternative
from cvxpar.bridge.parse import parse as parse_problem
from cvxpar.bridge.solution import failure
from cvxpar.exact import finish

STATUS_MAP = {
    "optimal": s.OPTIMAL,
    "optimal_inaccurate": s.OPTIMAL_INACCURATE,
    "max_iter": s.USER_LIMIT,
    "infeasible": s.INFEASIBLE,
    "unbounded": s.UNBOUNDED,
}


def arguments(problem: cp.Problem):
    """``(x, loss, psi, lam, constraints, scale, sense, substitution)`` of ``problem`` as the bridge reads it
    (Parameters at their values): the problem's objective is sense * (scale * (loss(y) + sum_i lam_i psi(y_i))
    + a constant), with sense = 1 for ``Minimize`` and -1 for ``Maximize``, and y the variable x itself or, where
    the PARs shift or scale coordinates differently, y = a x + c (``substitution``, :mod:`cvxpar.bridge.shift`;
    else None)."""
    hint = alternative(problem)
    structure, sub = shift.substitute(walls.release(parse_problem(problem)), hint)  # as problem.solve reads it
    constraints = assemble.build_constraints(structure)
    loss = assemble.build_loss(structure, hint)
    psi, lam = assemble.build_par(structure, loss.scale, hint)
    sense = -1.0 if structure.maximize else 1.0
    return structure.x, loss.loss, psi, lam, constraints, float(loss.scale), sense, sub


def solve_problem(problem: cp.Problem, reference, **options):
    """Solve ``problem`` with ``reference(loss, psi, lam, constraints, **options)`` and write the result back."""
    if not isinstance(problem, cp.Problem):
        raise TypeError(f"expected a cvxpy.Problem; got {type(problem).__name__}.")
    x, loss, psi, lam, constraints, scale, sense, sub = arguments(problem)
    if isinstance(constraints, str):  # the bridge found the constraints evidently infeasible
        return _write(problem, x, _infeasible(x, constraints), sense)
    res = reference(loss, psi, lam, constraints or None, **options)
    if sub is not None and np.isfinite(res.x).all():
        res.x = sub.to_x(res.x)  # back from y = a x + c to the problem's variable
    _write(problem, x, res, sense)
    if problem.value is not None and np.isfinite(problem.value) and np.isfinite(res.objective):
        _to_problem_units(res, float(problem.value), scale, sense, psi.is_convex)
    return res


def _to_problem_units(res, value: float, scale: float, sense: float, convex: bool) -> None:
    """objective, bound and gap in the units of problem.value = sense * (scale * F + constant).

    For a ``Maximize`` problem (sense = -1) the bound on F, a lower bound, is an upper bound on
    problem.value; the gap stays nonnegative.
    """
    constant = sense * value - scale * res.objective
    res.info["problem_scale"] = scale
    res.objective = value
    if res.bound is not None:
        lower = scale * res.bound + constant
        res.bound = sense * lower
    if res.gap is not None:
        res.gap = scale * res.gap if convex else finish.mip_gap(sense * value, None if res.bound is None else lower)


def _infeasible(x, why: str):
    nan = np.full(x.size, np.nan)
    return finish.ReferenceResult(nan, "infeasible", np.nan, 0, 0.0, np.nan, None, np.nan, "reference",
                           f"Infeasible: {why}.", {})


def _write(problem: cp.Problem, x, res, sense: float = 1.0):
    status = STATUS_MAP[res.status]
    attr = {s.SOLVE_TIME: float(res.solve_time), s.NUM_ITERS: int(res.iterations), s.EXTRA_STATS: res}
    if status in s.SOLUTION_PRESENT and np.isfinite(res.x).all():
        value = np.asarray(res.x, dtype=np.float64).reshape(x.shape, order="F") if x.ndim else np.asarray(res.x[0])
        problem.unpack(Solution(status, float(res.objective), {x.id: value}, {}, attr))
    else:
        problem.unpack(failure(status, attr, sense < 0))
    for c in problem.constraints:  # no duals are computed: clear any left by an earlier solve
        for dv in c.dual_variables:
            dv.save_value(None)
    problem._solver_stats = SolverStats.from_dict(attr, f"CVXPAR-REFERENCE ({res.info.get('solver', 'none')})")
    return res
