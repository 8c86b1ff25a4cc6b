"""Exact reference solutions through CVXPY: ``cvxpar.reference(loss, psi, lam, constraints)``.

minimize loss(x) + sum_i lam_i psi(x_i) subject to x in C, solved to interior-point accuracy
(convex psi) or to global optimality by branch and bound (nonconvex psi), for checking
``cvxpar.solve`` and for users who want a certified answer on small problems.

**Convex psi** (measured in ``cvxpar/bench/reference_time.py``, results in benchmarks/RESULTS.md):

- least squares and Huber on a *wide* A (n < d) get a residual variable r = Ax - b: the
  objective is 1/2 ||r||^2 (a diagonal quadratic), and the KKT factorization costs about
  n^2 d per interior-point iteration instead of the d^3 of the dense P = A^T A that
  ``sum_squares(A @ x - b)`` produces; a tall A (n >= d) keeps ``sum_squares(A @ x - b)``;
- psi is the :func:`cvxpar.par` atom (the epigraph t >= a_k x + b_k: n aux columns and n*K
  rows, fewer than the hinge form Sum c_k pos(x - q_k), and no slower with Clarabel);
- the solver is Clarabel with its QDLDL factorization (faster than its faer backend, OSQP
  and HiGHS on these problems; OSQP did not reach 1e-9 accuracy in 10^5 iterations);
  logistic losses need the exponential cone, which Clarabel also handles.

**Nonconvex psi**: the exact mixed-integer model of :mod:`cvxpar.mip` (one binary per convex
chunk of psi and coordinate), solved by SCIP (``pip install cvxpar[mip]``).  It needs finite
bounds on x, taken from psi's walls, a Box or Simplex constraint, ``bounds=``, or (when psi
grows on both sides and every lam_i > 0) from the objective at a feasible point: any minimizer
has lam_i psi(x_i) <= F(x0) - sum_{j != i} lam_j min psi, since every loss here is >= 0.
"""

from __future__ import annotations

import importlib
import math
import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from cvxpar import _backend
from cvxpar.atoms import par
from cvxpar.atoms.par_atom import psi_range
from cvxpar.metrics import quantization_rate, snap
from cvxpar.par import PAR
from cvxpar.result import (
    DIVERGED,
    INFEASIBLE,
    MAX_ITER,
    OPTIMAL,
    OPTIMAL_INACCURATE,
    SolveResult,
)

#: Entries of x within SNAP_TOL * (1 + |q|) of a breakpoint q are put on it (interior-point
#: solutions stop ~1e-9 short of the kinks where the exact solution sits; the quantization
#: rate and the stationarity certificate are read at the snapped point).
SNAP_TOL = 1e-7

#: CVXPY status -> (our status, sentence)
_STATUS = {
    cp.OPTIMAL: (OPTIMAL, "CVXPY reports the problem solved to the solver's default tolerances."),
    cp.OPTIMAL_INACCURATE: (OPTIMAL_INACCURATE, "The solver stopped with a solution of reduced accuracy."),
    cp.INFEASIBLE: (INFEASIBLE, "The solver proved the constraints infeasible."),
    cp.INFEASIBLE_INACCURATE: (INFEASIBLE, "The solver found the constraints (probably) infeasible."),
    cp.USER_LIMIT: (MAX_ITER, "The solver hit an iteration or time limit; x is its best point."),
    cp.UNBOUNDED: (DIVERGED, "The objective is unbounded below (psi decreases without bound where the loss is flat)."),
    cp.UNBOUNDED_INACCURATE: (DIVERGED, "The objective is (probably) unbounded below."),
}


def reference(
    loss,
    psi: PAR,
    lam,
    constraints=None,
    solver: str | None = None,
    *,
    bounds=None,
    formulation: str = "auto",
    verbose: bool = False,
    **solver_options,
) -> SolveResult:
    """Solve minimize loss(x) + sum_i lam_i psi(x_i) s.t. x in C exactly through CVXPY.

    Parameters
    ----------
    loss : cvxpar.losses.LeastSquares, Logistic or Huber
        With NumPy / SciPy-sparse data (CuPy and Array-API data are copied to NumPy).
        ``Smooth`` losses have no CVXPY form.
    psi : PAR
        Convex: an LP/QP/conic problem.  Quasiconvex or nonconvex: a mixed-integer problem.
    lam : float or array of shape (d,)
        Nonnegative weights.
    constraints : Box, NonNeg, Simplex, Linear or a list of them, optional
    solver : str, optional
        A CVXPY solver name; default Clarabel (convex) or SCIP (nonconvex).
    bounds : (lower, upper), optional
        Extra bounds on x (scalars or arrays) for the mixed-integer model; they must contain a
        minimizer (see the module docstring for the bounds derived automatically).
    formulation : {"auto", "residual", "plain"}
        Least squares / Huber: with (``"residual"``) or without (``"plain"``) a residual variable
        r = Ax - b; ``"auto"`` uses it when A is wide (n < d).
    verbose : bool
        Passed to CVXPY.
    **solver_options
        Passed to ``problem.solve``.

    Returns
    -------
    SolveResult
        ``x`` (NumPy), the status mapped from CVXPY's, the objective recomputed from x in
        float64, ``solve_time`` (seconds, problem construction included), ``iterations`` (the
        solver's), ``residual`` and ``gap`` from :func:`cvxpar.certificate`, and
        ``quantization_rate`` at ``atol = SNAP_TOL``.  ``info`` holds the CVXPY problem
        (``"problem"``), the solver, the formulation and the solver's own time.
    """
    start = time.perf_counter()
    if not isinstance(psi, PAR):
        raise TypeError(f"psi must be a cvxpar.PAR; got {type(psi).__name__}.")
    A, target, kind, huber_m = _loss_data(loss)
    n, d = A.shape
    lam = _as_lam(lam, d)
    box, simplex, linear = _split_constraints(constraints, d)
    if formulation not in ("auto", "residual", "plain"):
        raise ValueError(f"formulation must be 'auto', 'residual' or 'plain'; got {formulation!r}.")
    use_residual = formulation == "residual" or (formulation == "auto" and n < d)

    x = cp.Variable(d, name="x")
    loss_expr, cons = _loss_expression(A, target, kind, huber_m, x, use_residual)
    cons += _constraint_list(x, box, simplex, linear)
    info: dict = {"formulation": ("residual" if use_residual else "plain") if kind != "logistic" else "plain"}
    if psi.is_convex:
        penalty = par(x, psi)
        default_solver = cp.CLARABEL
        if solver is None:
            solver_options.setdefault("direct_solve_method", "qdldl")
    else:
        lower, upper = mip_bounds(loss, psi, lam, box, simplex, linear, bounds, d)
        penalty, mip_cons = _mip_penalty(x, psi, lower, upper)
        cons += mip_cons
        default_solver = cp.SCIP
        info["bounds"] = (lower, upper)
        info["formulation"] += " + mixed-integer PAR (cvxpar.mip)"
        if kind == "logistic":
            raise ValueError(
                "the mixed-integer reference takes least-squares and Huber losses (SCIP has no exponential cone "
                "in CVXPY); for a logistic loss with a nonconvex psi use cvxpar.solve."
            )
        _require_scip(solver)
    objective = loss_expr + (lam * cp.sum(penalty) if np.ndim(lam) == 0 else lam @ penalty)
    problem = cp.Problem(cp.Minimize(objective), cons)
    chosen = solver or default_solver
    try:
        problem.solve(solver=chosen, verbose=verbose, **solver_options)
    except cp.error.SolverError as exc:
        raise cp.error.SolverError(
            f"{chosen} failed on the reference problem ({exc}). Try another solver: solver='CLARABEL', 'SCS', "
            f"or for a nonconvex psi 'SCIP' (installed: {cp.installed_solvers()})."
        ) from exc
    solve_time = time.perf_counter() - start
    stats = problem.solver_stats
    info.update(
        problem=problem,
        solver=chosen,
        cvxpy_status=problem.status,
        solver_time=stats.solve_time if stats is not None else None,
        n_binaries=sum(v.size for v in problem.variables() if v.attributes["boolean"]),
    )
    status, message = _STATUS.get(problem.status, (None, None))
    if status is None:
        raise cp.error.SolverError(f"{chosen} ended with CVXPY status {problem.status!r} on the reference problem.")
    iterations = int(stats.num_iters) if stats is not None and stats.num_iters is not None else 0
    if x.value is None:
        nan = np.full(d, np.nan)
        return SolveResult(
            nan, status, math.nan, iterations, solve_time, math.nan, None, math.nan, "reference", message, info
        )
    xv = np.asarray(x.value, dtype=np.float64)
    if not psi.is_convex:
        xv = _polish_assignment(xv, A, target, kind, huber_m, psi, lam, box, simplex, linear, info)
        solve_time = time.perf_counter() - start
    xv = _polish(xv, psi, box, simplex, linear)
    cert = _certificate(xv, loss, psi, lam, constraints, info)
    return SolveResult(
        x=xv,
        status=status,
        objective=_objective(loss, psi, lam, xv),
        iterations=iterations,
        solve_time=solve_time,
        residual=cert[0],
        gap=cert[1],
        quantization_rate=quantization_rate(xv, psi, atol=SNAP_TOL * (1 + float(np.max(np.abs(psi.breakpoints))))),
        method="reference",
        message=message,
        info=info,
    )


# ---------------------------------------------------------------------- inputs
def _to_numpy(a):
    if a is None or isinstance(a, np.ndarray) or sp.issparse(a):
        return a
    if _backend.is_cupy_array(a):
        return a.get()
    try:
        return np.asarray(a)
    except (TypeError, ValueError):
        return np.from_dlpack(a)


def _loss_data(loss):
    """(A, target, kind, M) for the CVXPY form; clear errors for what has none."""
    losses = importlib.import_module("cvxpar.losses")
    if isinstance(loss, losses.Smooth):
        raise TypeError(
            "cvxpar.losses.Smooth has no CVXPY form, so cvxpar.reference cannot solve it; use cvxpar.solve, or "
            "write the loss as LeastSquares, Logistic or Huber."
        )
    kinds = {losses.LeastSquares: "least_squares", losses.Logistic: "logistic", losses.Huber: "huber"}
    kind = kinds.get(type(loss))
    if kind is None:
        raise TypeError(f"loss must be cvxpar.losses.LeastSquares, Logistic or Huber; got {type(loss).__name__}.")
    if loss.op.kind == "operator":
        raise TypeError(
            "A is a LinearOperator, which CVXPY cannot take; pass it as a dense array or a scipy.sparse matrix "
            "(e.g. A @ np.eye(d)) for the reference."
        )
    A = _to_numpy(loss.op.A)
    A = A.tocsc() if sp.issparse(A) else np.asarray(A, dtype=np.float64)
    return A, np.asarray(_to_numpy(loss.target), dtype=np.float64), kind, getattr(loss, "M", None)


def _as_lam(lam, d: int):
    arr = np.asarray(_to_numpy(lam), dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != d):
        raise ValueError(f"lam must be a scalar or have one entry per coordinate ({d}); got shape {arr.shape}.")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("lam must be finite and nonnegative everywhere.")
    return float(arr) if arr.ndim == 0 else arr


def _split_constraints(constraints, d: int):
    return importlib.import_module("cvxpar.constraints").split(constraints, d)


# ---------------------------------------------------------------------- the CVXPY problem
def _loss_expression(A, target, kind: str, huber_m, x, use_residual: bool):
    if kind == "logistic":
        return cp.sum(cp.logistic(cp.multiply(-target, A @ x))), []
    cons = []
    if use_residual:
        r = cp.Variable(A.shape[0], name="r")
        cons.append(A @ x - r == target)
    else:
        r = A @ x - target
    if kind == "least_squares":
        return 0.5 * cp.sum_squares(r), cons
    return 0.5 * cp.sum(cp.huber(r, huber_m)), cons  # cvxpy's huber is 2 H_M


def _constraint_list(x, box, simplex, linear) -> list:
    cons = []
    if box is not None:
        lo = np.broadcast_to(box.lower, x.shape)
        hi = np.broadcast_to(box.upper, x.shape)
        if np.isfinite(lo).all():
            cons.append(x >= lo)
        elif np.isfinite(lo).any():
            idx = np.flatnonzero(np.isfinite(lo))
            cons.append(x[idx] >= lo[idx])
        if np.isfinite(hi).all():
            cons.append(x <= hi)
        elif np.isfinite(hi).any():
            idx = np.flatnonzero(np.isfinite(hi))
            cons.append(x[idx] <= hi[idx])
    if simplex is not None:
        cons += [x >= 0, cp.sum(x) == simplex.total]
    if linear is not None:
        if linear.A_eq is not None:
            cons.append(linear.A_eq @ x == linear.b_eq)
        if linear.A_ub is not None:
            cons.append(linear.A_ub @ x <= linear.b_ub)
    return cons


def _require_scip(solver: str | None) -> None:
    if solver is not None:
        return
    if cp.SCIP not in cp.installed_solvers():
        raise ImportError(
            "the exact reference for a nonconvex psi is a mixed-integer program solved by SCIP, which is not "
            "installed: pip install cvxpar[mip] (or pip install pyscipopt); or pass solver= a CVXPY solver that "
            "takes mixed-integer QPs / SOCPs (e.g. GUROBI, MOSEK)."
        )


def _mip_penalty(x, psi: PAR, lower: np.ndarray, upper: np.ndarray):
    from cvxpar.mip import par_epigraph

    lo, hi = float(lower.min()), float(upper.max())
    w, cons = par_epigraph(x, psi, lo, hi)
    if (lower > lo).any():
        cons.append(x >= lower)
    if (upper < hi).any():
        cons.append(x <= upper)
    return w, cons


def mip_bounds(loss, psi: PAR, lam, box, simplex, linear, bounds, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Finite per-coordinate bounds containing every minimizer, or a ValueError saying what to give.

    Intersects psi's walls, the Box, the Simplex and ``bounds``; a side still infinite is
    closed by the objective value at a feasible point when psi grows there and lam_i > 0
    (module docstring).
    """
    dom_lo, dom_hi = psi.domain
    lower, upper = np.full(d, dom_lo), np.full(d, dom_hi)
    if box is not None:
        lower, upper = np.maximum(lower, box.lower), np.minimum(upper, box.upper)
    if simplex is not None:
        lower, upper = np.maximum(lower, 0.0), np.minimum(upper, simplex.total)
    if bounds is not None:
        try:
            user_lo, user_hi = bounds
        except (TypeError, ValueError) as exc:
            raise ValueError("bounds must be a pair (lower, upper) of scalars or length-d arrays.") from exc
        lower = np.maximum(lower, np.broadcast_to(np.asarray(user_lo, dtype=np.float64), (d,)))
        upper = np.minimum(upper, np.broadcast_to(np.asarray(user_hi, dtype=np.float64), (d,)))
    if (lower > upper).any():
        raise ValueError(
            "the bounds on x (psi's walls, Box, Simplex, bounds=) are empty for some coordinate: infeasible."
        )
    if np.isfinite(lower).all() and np.isfinite(upper).all():
        return lower, upper
    lower, upper = _growth_bounds(loss, psi, np.broadcast_to(lam, (d,)), lower, upper, linear)
    if not (np.isfinite(lower).all() and np.isfinite(upper).all()):
        raise ValueError(
            "the mixed-integer reference for a nonconvex psi needs finite bounds on x, and none could be derived: "
            "psi has no walls, no Box or Simplex constraint bounds x, and psi does not grow on both sides with "
            "every lam_i > 0 (or a Linear constraint prevents picking a feasible point). Pass bounds=(lower, upper) "
            "that contain a minimizer, or add a cvxpar.constraints.Box."
        )
    return lower, upper


def _growth_bounds(loss, psi: PAR, lam: np.ndarray, lower, upper, linear):
    """Close infinite sides with {lam_i psi(x_i) <= F(x0) - sum_{j != i} lam_j inf psi} (loss >= 0)."""
    if linear is not None or (lam <= 0).any():
        return lower, upper
    x0 = np.clip(0.0, lower, upper)
    f0 = float(loss.value(x0)) + float(np.sum(lam * psi(x0)))
    inf_psi = np.array([psi_range(psi, lo, hi)[0] for lo, hi in zip(lower, upper, strict=True)])
    if not np.isfinite(f0) or not np.isfinite(inf_psi).all():
        return lower, upper
    level = inf_psi + (f0 - float(np.sum(lam * inf_psi))) / lam  # psi(x_i) <= level_i at any minimizer
    q, v, s = psi.breakpoints, psi.values, psi.slopes
    lower, upper = lower.copy(), upper.copy()
    if s[0] < 0:
        lower = np.maximum(lower, q[0] + np.maximum(level - v[0], 0.0) / s[0])
    if s[-1] > 0:
        upper = np.minimum(upper, q[-1] + np.maximum(level - v[-1], 0.0) / s[-1])
    return lower, upper


# ---------------------------------------------------------------------- results
def _polish_assignment(x0, A, target, kind, huber_m, psi, lam, box, simplex, linear, info) -> np.ndarray:
    """Re-solve with each x_i held in the convex chunk branch and bound chose (Clarabel, no binaries).

    Same optimal value (the chunks of a global minimizer), interior-point accuracy: SCIP's
    nonlinear feasibility tolerance (~1e-6) leaves residuals near 1e-4 otherwise.
    """
    from cvxpar.mip import chosen_chunks, fixed_chunk_epigraph

    lower, upper = info["bounds"]
    chunks = chosen_chunks(x0, psi, float(lower.min()), float(upper.max()))
    x = cp.Variable(x0.size)
    loss_expr, cons = _loss_expression(A, target, kind, huber_m, x, info["formulation"].startswith("residual"))
    t, chunk_cons = fixed_chunk_epigraph(x, chunks)
    cons += chunk_cons + _constraint_list(x, box, simplex, linear) + [x >= lower, x <= upper]
    objective = loss_expr + (lam * cp.sum(t) if np.ndim(lam) == 0 else lam @ t)
    problem = cp.Problem(cp.Minimize(objective), cons)
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        problem = None
    if problem is None or problem.status != cp.OPTIMAL or x.value is None:
        info["polish"] = "the convex re-solve on the chosen chunks failed; x is SCIP's point"
        return x0
    info["polish"] = "re-solved with Clarabel on the chunks SCIP chose"
    return np.asarray(x.value, dtype=np.float64)


def _polish(x: np.ndarray, psi: PAR, box, simplex, linear) -> np.ndarray:
    """Clip into psi's domain and the box, and snap entries within SNAP_TOL of a breakpoint onto it.

    Snapping moves an entry by at most SNAP_TOL (1 + |q|), so a Simplex or Linear constraint may
    then be violated by about that much, which the certificate's residual reports.
    """
    lo, hi = psi.domain
    if box is not None:
        lo, hi = np.maximum(lo, box.lower), np.minimum(hi, box.upper)
    x = np.clip(x, lo, hi)
    nearest = snap(x, psi)
    close = np.abs(x - nearest) <= SNAP_TOL * (1 + np.abs(nearest))
    return np.clip(np.where(close, nearest, x), lo, hi)


def _objective(loss, psi: PAR, lam, x: np.ndarray) -> float:
    values = psi(x)
    penalty = np.where(np.broadcast_to(lam, x.shape) > 0, lam * values, 0.0)
    return float(loss.value(x)) + float(np.sum(penalty))


def _certificate(x, loss, psi, lam, constraints, info) -> tuple[float, float | None]:
    """(residual, gap) from cvxpar.certificate, or (NaN, None) when that module is absent."""
    try:
        certificate = importlib.import_module("cvxpar.certificate").certificate
    except ImportError:
        info["certificate"] = "cvxpar.certificate is not available: residual is NaN and gap is None."
        return math.nan, None
    cert = certificate(x, loss, psi, lam, constraints)
    return float(cert.residual), cert.gap
