"""Proximal Newton on Dask data: one pass per step for f, grad f and the Hessian, the step in memory.

For a linear-model loss f(x) = sum_i h(a_i^T x) with d features (tall data) the method of Lee,
Sun & Saunders (2014, "Proximal Newton-type methods for minimizing composite functions",
SIAM J. Optim. 24(3), Algorithm 1 with its backtracking line search) iterates

    H_k = A^T diag(h''(A x_k)) A + mu_k I,   g_k = grad f(x_k)               (one pass over the data)
    x_hat = argmin_{x in C} g_k^T (x - x_k) + 1/2 (x - x_k)^T H_k (x - x_k) + sum_i lam_i psi(x_i)
    x_{k+1} = x_k + t (x_hat - x_k),  t in {1, 1/2, 1/4, ...} the first with
    F(x_{k+1}) <= F(x_k) + ALPHA t Delta_k,   Delta_k = g_k^T (x_hat - x_k) + lam Psi(x_hat) - lam Psi(x_k).

The subproblem is a d-dimensional least squares: with H_k = R^T R (Cholesky) it is
1/2 ||R x - R^{-T} (H_k x_k - g_k)||^2 up to a constant, solved exactly in memory by
``cvxpar.solve`` (every constraint, the exact PAR prox, the active-set polish), so iterates land
on ψ's breakpoints exactly.  The trial point's pass also returns its Hessian, so an accepted unit
step costs one pass.  mu_k = MU_REL * max(1, max_j (H_k)_jj) keeps R nonsingular when h'' vanishes
on many samples (Huber).  For convex ψ and C, Delta_k < 0 until x_k is optimal and the iterates
converge superlinearly near a solution where f is strongly convex (Lee, Sun & Saunders 2014,
sec. 3.2); the stopping test and the status are the certificate's, computed on the distributed
data.  Nonconvex ψ runs distributed FISTA instead (no descent guarantee for the Newton direction).
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import result as R

#: Armijo constant of the line search (Lee, Sun & Saunders 2014 take ALPHA <= 1/2).
ALPHA = 1e-4
#: Relative Levenberg-Marquardt term added to the Hessian's diagonal.
MU_REL = 1e-12
#: Default number of Newton steps.
MAX_ITER = 50
#: The step is halved at most this many times before the method stops (F cannot decrease in float64).
MAX_HALVINGS = 30
#: The subproblem is solved to this fraction of the outer tolerance.
INNER_TOL_FACTOR = 1e-2


def _step(prob, x, grad, hessian, tol: float):
    """The in-memory solve whose x is x_hat, the minimizer of the quadratic model at x over C."""
    from cvxpar.distributed.gram import Gram, equivalent_least_squares
    from cvxpar.losses import LeastSquares
    from cvxpar.solve import solve

    H = hessian + MU_REL * max(1.0, float(np.max(np.diag(hessian)))) * np.eye(x.shape[0])
    Rm, t, _ = equivalent_least_squares(Gram(G=H, c=H @ x - grad, beta=0.0, rows_seen=0))
    return solve(LeastSquares(Rm, t), prob.psi, prob.lam, prob.constraints, x0=x, tol=INNER_TOL_FACTOR * tol)


def run(prob, dloss, tol: float, max_iter: int | None, verbose: bool):
    """Proximal Newton on ``prob`` (its loss a :class:`~cvxpar.distributed.DistributedLoss` ``dloss``);
    returns the :class:`~cvxpar.result.SolveResult` (see the module docstring)."""
    from cvxpar.solvers._common import Monitor, Outcome, finish, infeasible_result

    monitor = Monitor(verbose, "newton (distributed)", prob, tol,
                      note="one pass over the data per step: value, gradient and Hessian")
    if prob.infeasible is not None:
        return infeasible_result(prob, "newton")
    max_iter = MAX_ITER if max_iter is None else max_iter
    x = np.asarray(prob.start(), dtype=np.float64)
    stopped, it = None, 0
    for it in range(max_iter + 1):
        value, grad, hessian = dloss.second_order(x)
        cert = prob.certify(x, grad=grad)
        monitor.row(it, cert)
        if cert.certifies(tol) or it == max_iter:
            break
        sub = _step(prob, x, grad, hessian, tol)
        if sub.status == R.INFEASIBLE:
            return infeasible_result(prob, "newton")
        x_hat = np.asarray(sub.x, dtype=np.float64)
        if cert.infeasibility > 0.0:  # a start outside C's rows: x_hat is feasible, take it whole
            x = x_hat
            continue
        x, stopped = _line_search(prob, dloss, x, x_hat, value, grad)
        if stopped is not None:
            break
    return finish(prob, Outcome(x=x, iterations=it, stopped=stopped), tol, "newton", monitor)


def _line_search(prob, dloss, x, x_hat, value: float, grad):
    """(x + t (x_hat - x), None) for the first t = 1, 1/2, ... with sufficient decrease, or (x, why) when none."""
    direction = x_hat - x
    pen = prob.penalty(x)
    F = value + pen
    decrease = float(grad @ direction) + prob.penalty(x_hat) - pen
    slack = 16 * np.finfo(np.float64).eps * abs(F)  # F is a sum of n terms: equal values differ by rounding
    t = 1.0
    for _ in range(MAX_HALVINGS + 1):
        trial = x_hat if t == 1.0 else x + t * direction
        trial_value = dloss.second_order(trial)[0] + prob.penalty(trial)
        if math.isfinite(trial_value) and trial_value <= F + ALPHA * t * min(decrease, 0.0) + slack:
            return trial, None
        t *= 0.5
    return x, f"no step along the Newton direction decreased the objective (directional decrease {decrease:.2e})"
