"""The solver family behind :func:`cvxpar.solve`: one module per method.

Each method module has ``run(prob, *, tol, max_iter, polish, monitor, **options) -> Outcome``
on a validated :class:`cvxpar.solvers._problem.Problem`; the stopping test, the verbose table,
the status rule and the result are shared (:mod:`cvxpar.solvers._common`).
"""
