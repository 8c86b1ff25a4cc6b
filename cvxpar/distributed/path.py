"""``cvxpar.lambda_path`` on Dask least squares: one pass over the data for the whole path.

Everything 1/2 ||A x - b||^2 knows about x is in the Gram of [A | b], which does not depend on
lam: one pass computes it (:mod:`cvxpar.distributed.gram`), the warm-started path runs in memory
on the equivalent d-dimensional least squares, and one more pass evaluates the loss, gradient
and conjugate term at every answer of the path together (each chunk read once, the products with
all answers formed from it), from which each answer's certificate and status are computed on the
distributed data.  Other losses (and ``method="newton"``) have no lam-free summary of the data,
and least squares with more than MAX_GRAM_FEATURES features forms none: their path is a sequence
of warm-started distributed solves.
"""

from __future__ import annotations

import time

from cvxpar import result as R


def gram_path_applicable(loss, method: str) -> bool:
    from cvxpar.distributed.solve import gram_applicable

    return method != "newton" and gram_applicable(loss)


def gram_lambda_path(loss, psi, lams, constraints=None, method: str = "auto", tol: float = 1e-8, x0=None,
                     progress: bool = False, verbose: bool = False, **options) -> list[R.SolveResult]:
    """The path of :func:`cvxpar.lambda_path` for a Dask ``LeastSquares`` (see the module docstring).

    Each result's ``info["path_passes"]`` is the number of passes over the data of the whole path.
    """
    import numpy as np

    from cvxpar.distributed.loss import DistributedLoss
    from cvxpar.distributed.solve import certified, equivalent_problem
    from cvxpar.path import lambda_path
    from cvxpar.solvers._problem import Problem

    t0 = time.perf_counter()
    dloss = DistributedLoss(loss)
    probs = [Problem(dloss, psi, lam, constraints) for lam in lams]  # validated before any pass
    small, kappa, t_pass = equivalent_problem(loss, verbose, t0)
    x0 = None if x0 is None else np.asarray(x0, dtype=np.float64)
    path = lambda_path(small, psi, lams, constraints, method=method, tol=tol, x0=x0, progress=progress,
                       verbose=verbose, **options)
    answers = [res.x for res in path if res.status != R.INFEASIBLE]
    if answers:
        dloss.prefetch(answers)
    results = [certified(res, prob, dloss, kappa, t_pass, tol, t0) for res, prob in zip(path, probs, strict=True)]
    for res in results:
        res.info["path_passes"] = 1 + dloss.passes
    return results
