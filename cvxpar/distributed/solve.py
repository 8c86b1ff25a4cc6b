"""``cvxpar.solve`` on a loss whose data are Dask arrays: which method runs, and where.

- **Least squares with at most MAX_GRAM_FEATURES features** (tall data, the common out-of-core
  case): one pass computes the Gram of [A | b] as a tree reduction (:mod:`cvxpar.distributed.gram`),
  the problem is solved exactly in memory on the d-dimensional equivalent
  ``LeastSquares(R, R^{-T} A^T b)`` (equal to 1/2 ||A x - b||^2 up to a constant) by the method
  asked for (``"auto"``, ``"ssnal"``, ``"cd"``, ``"admm"``, ... and every constraint), and the
  certificate is recomputed on the distributed data with one more pass at the answer.
- **Every other linear-model loss with a convex psi and at most MAX_GRAM_FEATURES features**
  (Logistic, Huber, user subclasses): proximal Newton (``"newton"``, the ``"auto"`` choice;
  :mod:`cvxpar.distributed.newton`): one pass per step gives f, its gradient and the d x d Hessian
  A^T diag(h''(Ax)) A, and the step is an exact in-memory solve of the quadratic model with the
  PAR (every constraint).  ``method="newton"`` also runs least squares this way.
- **Nonconvex psi, more features, or asked for**: ``"fista"`` or ``"pg"`` on :class:`DistributedLoss`: each
  point costs one pass over A (z = A x and A^T dh(z) in one graph), an accelerated iteration two
  (the new point and the extrapolated one); the step size comes from ||A||_2^2 (one pass for the
  Gram up to MAX_GRAM_FEATURES features, a power iteration beyond), and the active-set polish
  takes each Hessian block from one pass.  Bounds (Box, NonNeg) only; Simplex and Linear
  constraints need the least-squares or the Newton route.

Every pass runs on the active Dask scheduler (a ``dask.distributed.Client`` when one exists) and
``res.x`` is a NumPy array; statuses follow the same certificate as in memory, computed on the
distributed data.
"""

from __future__ import annotations

import time

import numpy as np

from cvxpar import result as R
from cvxpar.losses.dask_operator import GRAM_MAX_FEATURES

#: The Gram route keeps d x d matrices on the client and in each reduction task.
MAX_GRAM_FEATURES = GRAM_MAX_FEATURES


def gram_applicable(loss) -> bool:
    from cvxpar.losses import LeastSquares

    return isinstance(loss, LeastSquares) and loss.n_features <= MAX_GRAM_FEATURES


def solve_distributed(loss, psi, lam, constraints=None, method: str = "auto", x0=None, tol: float = 1e-8,
                      max_iter: int | None = None, polish: bool = True, verbose: bool = False,
                      **options) -> R.SolveResult:
    """``cvxpar.solve`` for a Dask-backed ``loss`` (arguments as there; see the module docstring)."""
    from cvxpar.constraints import FeasibleSet
    from cvxpar.distributed.loss import DistributedLoss
    from cvxpar.solve import solve

    t0 = time.perf_counter()
    dloss = DistributedLoss(loss)
    kw = dict(method=method, x0=None if x0 is None else np.asarray(x0, dtype=np.float64), tol=tol,
              max_iter=max_iter, polish=polish, verbose=verbose, **options)
    if method == "aprox":
        raise ValueError("method 'aprox' samples rows in memory; with Dask data use 'auto', 'newton', 'fista' or "
                         "'pg'.")
    if method == "newton" or (method == "auto" and not gram_applicable(loss) and newton_applicable(loss, psi)):
        return _solve_newton(loss, dloss, psi, lam, constraints, kw, t0)
    if not gram_applicable(loss):
        if method not in ("auto", "fista", "pg"):
            raise ValueError(f"method {method!r} needs the data in memory; with Dask data and a "
                             f"{type(loss).__name__} loss use 'auto', 'newton', 'fista' or 'pg'.")
        if FeasibleSet(constraints, loss.n_features).has_rows:
            raise ValueError("Simplex and Linear constraints on Dask data need a LeastSquares loss or method 'newton' "
                             "(a convex psi and at most MAX_GRAM_FEATURES features); fista and pg take Box/NonNeg "
                             "bounds only.")
        res = solve(dloss, psi, lam, constraints, **{**kw, "method": "fista" if method == "auto" else method})
        res.solve_time = time.perf_counter() - t0
        res.info.update(route="distributed products", passes=dloss.passes)
        return res
    return _solve_gram(loss, dloss, psi, lam, constraints, kw, t0, solve)


def newton_applicable(loss, psi) -> bool:
    """Proximal Newton's d x d Hessian fits the client, and psi is convex (a descent direction)."""
    return loss.n_features <= MAX_GRAM_FEATURES and getattr(psi, "is_convex", False)


def _solve_newton(loss, dloss, psi, lam, constraints, kw, t0) -> R.SolveResult:
    from cvxpar import recession
    from cvxpar.distributed import newton
    from cvxpar.solvers._common import unbounded_result, with_verdict
    from cvxpar.solvers._problem import Problem

    if loss.n_features > MAX_GRAM_FEATURES:
        raise ValueError(f"method 'newton' forms the d x d Hessian on the client: at most {MAX_GRAM_FEATURES} "
                         f"features (got {loss.n_features}); use 'fista' or 'pg'.")
    if not getattr(psi, "is_convex", True):
        raise ValueError("method 'newton' needs a convex psi (its direction is a descent direction only then); "
                         "use 'fista' or 'pg' for a nonconvex psi.")
    prob = Problem(dloss, psi, lam, constraints, x0=kw["x0"])
    verdict = recession.decide(dloss, prob.psi, prob.lam, prob.feasible)
    if prob.infeasible is None and verdict.ray is not None:
        res = unbounded_result(prob, "newton", verdict.ray, time.perf_counter() - t0)
        res.info.update(route="distributed newton", passes=dloss.passes)
        return res
    res = with_verdict(newton.run(prob, dloss, kw["tol"], kw["max_iter"], kw["verbose"]), verdict)
    res.solve_time = time.perf_counter() - t0
    res.info.update(route="distributed newton", passes=dloss.passes)
    return res


def _solve_gram(loss, dloss, psi, lam, constraints, kw, t0, solve) -> R.SolveResult:
    from cvxpar.solvers._problem import Problem

    prob = Problem(dloss, psi, lam, constraints)  # validates psi, lam and the constraints before any pass
    small, kappa, t_pass = equivalent_problem(loss, kw["verbose"], t0)
    res = solve(small, psi, lam, constraints, **kw)
    return certified(res, prob, dloss, kappa, t_pass, kw["tol"], t0)


def equivalent_problem(loss, verbose: bool, t0: float):
    """(LeastSquares(R, t), kappa, seconds since t0): the in-memory least squares equal to ``loss`` up to
    the constant kappa, from one Gram pass (:mod:`cvxpar.distributed.gram`)."""
    from cvxpar.distributed.gram import equivalent_least_squares, gram_pass
    from cvxpar.losses import LeastSquares

    gram = gram_pass(loss.op, loss.target)
    Rm, t, kappa = equivalent_least_squares(gram)
    t_pass = time.perf_counter() - t0
    if verbose:
        print(f"cvxpar on Dask: one pass computed the {loss.n_features} x {loss.n_features} Gram of "
              f"{gram.rows_seen} rows in {t_pass:.3f}s; solving the equivalent least squares in memory")
    return LeastSquares(Rm, t), kappa, t_pass


def certified(res: R.SolveResult, prob, dloss, kappa: float, t_pass: float, tol: float, t0: float) -> R.SolveResult:
    """The in-memory answer ``res`` with its status and certificate recomputed on the distributed data
    (``prob`` over ``dloss``); infeasible and unbounded results are returned as they are (A^T A = R^T R, so a
    direction with R v = 0 has A v = 0: the in-memory ray is one of the distributed problem)."""
    from cvxpar.solvers._common import status_of

    info = dict(res.info, route="gram", gram_pass_time=t_pass, in_memory_status=res.status,
                in_memory_objective=res.objective + kappa)
    if res.status in (R.INFEASIBLE, R.UNBOUNDED):
        res.info = info
        return res
    cert = prob.certify(res.x, gap=True)
    status, message = status_of(cert, tol, prob.convex)
    info["passes"] = 1 + dloss.passes
    return R.SolveResult(x=res.x, status=status, objective=cert.objective, iterations=res.iterations,
                         solve_time=time.perf_counter() - t0, residual=cert.residual, gap=cert.gap,
                         quantization_rate=cert.quantization_rate, method=res.method,
                         message=message + " (certified on the distributed data)", info=info)
