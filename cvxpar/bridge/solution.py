"""CVXPY ``Solution`` objects for results without a point, in the problem's own sense.

CVXPY's ``failure_solution`` gives a minimization's values: ``+inf`` for an infeasible problem,
``-inf`` for an unbounded one.  A ``Maximize`` problem has them the other way round (its
optimal value is the supremum of g: ``-inf`` over an empty set, ``+inf`` when g is unbounded above).
"""

from __future__ import annotations

from cvxpy.reductions.solution import Solution, failure_solution


def failure(status: str, attr: dict, maximize: bool) -> Solution:
    """``failure_solution(status, attr)`` with ``opt_val`` negated for a ``Maximize`` problem."""
    solution = failure_solution(status, attr)
    if maximize:
        solution.opt_val = -solution.opt_val
    return solution
