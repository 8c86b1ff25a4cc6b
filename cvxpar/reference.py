"""Exact reference solutions through CVXPY: ``cvxpar.reference(loss, psi, lam, constraints)``.

minimize loss(x) + sum_i lam_i psi(x_i) subject to x in C, solved to interior-point accuracy
(convex psi) or to global optimality by branch and bound (nonconvex psi), for checking
``cvxpar.solve`` and for users who want a certified answer on small problems.

**Convex psi** (measured in ``cvxpar/bench/reference_time.py``, results in benchmarks/RESULTS.md):

- the solver is Clarabel (faster and more accurate than OSQP and HiGHS on the 7-level ridge
  problem: benchmarks/RESULTS.md, tuning notes); logistic losses need the exponential cone,
  which Clarabel also handles;
- least squares and Huber get a residual variable r = Ax - b (objective 1/2 ||r||^2, a
  diagonal quadratic) when :func:`prefer_residual` predicts it to be faster: the KKT
  factorization then costs ~n^2 d per iteration (rank-one updates, QDLDL) instead of the d^3
  (dense kernels) of the P = A^T A that ``sum_squares(A @ x - b)`` produces; it pays only for
  d / n around 10 with n below ~250, and for d much larger than n (timings: benchmarks/RESULTS.md);
- psi is the :func:`cvxpar.par` atom (the epigraph t >= a_k x + b_k: n aux columns and n*K
  rows); the hinge form Sum c_k pos(x - q_k) has more rows and is no faster.

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

#: Entries of x within SNAP_TOL * (1 + |q|) of a breakpoint q are put on it when that costs no
#: objective and no feasibility (see ``_polish``): interior-point solutions stop short of the
#: kinks where the exact solution sits.  The quantization rate uses the same tolerance.
SNAP_TOL = 1e-5
SNAP_TOLS = (1e-8, 1e-7, 1e-6, SNAP_TOL)

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
        r = Ax - b; ``"auto"`` asks :func:`prefer_residual`.
    verbose : bool
        Passed to CVXPY.
    **solver_options
        Passed to ``problem.solve``.

    Returns
    -------
    SolveResult
        ``x`` (NumPy), the status mapped from CVXPY's, the objective recomputed from x in
        float64, ``solve_time`` (wall seconds: construction, compilation, solve, polish), ``iterations`` (the
        solver's), ``residual`` and ``gap`` from :func:`cvxpar.certificate`, and
        ``quantization_rate`` at ``atol = SNAP_TOL``.  ``info`` holds the solver, CVXPY's status,
        the formulation, the solver's own time and the number of binaries.
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
    use_residual = formulation == "residual" or (formulation == "auto" and prefer_residual(n, d))

    x = cp.Variable(d, name="x")
    loss_expr, cons = _loss_expression(A, target, kind, huber_m, x, use_residual)
    cons += _constraint_list(x, box, simplex, linear)
    info: dict = {"formulation": ("residual" if use_residual else "plain") if kind != "logistic" else "plain"}
    if psi.is_convex:
        penalty = par(x, psi)
        default_solver = cp.CLARABEL
        if solver is None and use_residual and kind != "logistic":
            solver_options.setdefault("direct_solve_method", "qdldl")
    else:
        if kind == "logistic":
            raise ValueError(
                "the mixed-integer reference takes least-squares and Huber losses (SCIP has no exponential cone "
                "in CVXPY); for a logistic loss with a nonconvex psi use cvxpar.solve."
            )
        _require_scip(solver)
        lower, upper = mip_bounds(loss, psi, lam, box, simplex, linear, bounds, d)
        penalty, mip_cons = _mip_penalty(x, psi, lower, upper)
        cons += mip_cons
        default_solver = cp.SCIP
        info["bounds"] = (lower, upper)
        info["formulation"] += " + mixed-integer PAR (cvxpar.mip)"
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
    stats = problem.solver_stats
    info.update(
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
        elapsed = time.perf_counter() - start
        return SolveResult(
            nan, status, math.nan, iterations, elapsed, math.nan, None, math.nan, "reference", message, info
        )
    xv = np.asarray(x.value, dtype=np.float64)
    if not psi.is_convex:
        xv = _polish_assignment(xv, A, target, kind, huber_m, psi, lam, box, simplex, linear, info)
        if status == OPTIMAL:
            message = "SCIP proved global optimality of the chunk assignment (default gap); x re-solved on it."
    xv, cert = _polish(xv, loss, psi, lam, constraints, box, simplex, linear, info)
    solve_time = time.perf_counter() - start
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


# ---------------------------------------------------------------------- formulation
#: Seconds per Clarabel iteration, fitted on the 7-level ridge benchmark (2-core machine, see
#: the module docstring): the plain form factors the dense d x d P = A^T A at dense-kernel speed
#: (~C_PLAIN d^3); the residual form eliminates each x_i into the n x n block of the rows
#: A x - r = b, a rank-one update at scalar speed that slows once that block leaves the cache
#: (~C_RESIDUAL (1 + n / N_CACHE) n^2 d with QDLDL).
C_PLAIN = 3.5e-11
C_RESIDUAL = 1.4e-9
N_CACHE = 250


def prefer_residual(n: int, d: int) -> bool:
    """Whether the residual variable r = Ax - b is predicted to make Clarabel faster than sum_squares(Ax - b)."""
    return n < d and C_RESIDUAL * (1 + n / N_CACHE) * n * n * d < C_PLAIN * d**3


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


def _polish(x: np.ndarray, loss, psi: PAR, lam, constraints, box, simplex, linear, info):
    """``(x, (residual, gap))``: the best of x clipped into psi's domain and the box, and the points
    with the entries within tol (1 + |p|) of a breakpoint or a bound p put on it, tol in
    SNAP_TOLS, ranked by the certificate's residual.

    Interior-point points stop short of the kinks where the exact solution sits (by ~1e-6 on
    degenerate problems), so the stationarity residual reads the slope of one side only.  A
    snapped point competes only if its objective is within 1e-9 (1 + |F|) of x's and it violates
    no constraint more than x does; equality rows (a Simplex's sum, Linear's A_eq) and nearly
    active A_ub rows are made exact again by a least-norm change of the entries left free.
    """
    lo, hi = psi.domain
    if box is not None:
        lo, hi = np.maximum(lo, box.lower), np.minimum(hi, box.upper)
    x = np.clip(x, lo, hi)
    rows = _tight_rows(x, simplex, linear)
    if rows is not None:
        x = np.clip(_restore_rows(x, np.zeros(x.shape, dtype=bool), *rows), lo, hi)
    best = (x, _certificate(x, loss, psi, lam, constraints, info))
    nearest = snap(x, psi)
    for bound in (lo, hi, 0.0 if simplex is not None else np.nan):  # box faces are kinks too
        bound = np.broadcast_to(bound, x.shape)
        nearest = np.where(np.abs(x - bound) < np.abs(x - nearest), bound, nearest)
    f_x = _objective(loss, psi, lam, x)
    for tol in SNAP_TOLS:
        close = np.abs(x - nearest) <= tol * (1 + np.abs(nearest))
        if not close.any():
            continue
        y = np.where(close, nearest, x)
        if rows is not None:
            y = _restore_rows(y, close, *rows)
        y = np.clip(y, lo, hi)
        for z in (y, _newton_free(y, close, loss, psi, lam, rows)):
            if z is None or not ((z >= lo) & (z <= hi)).all():
                continue
            if _objective(loss, psi, lam, z) > f_x + 1e-9 * (1 + abs(f_x)):
                continue
            if _violation(z, simplex, linear) > max(_violation(x, simplex, linear), 1e-12):
                continue
            candidate = (z, _certificate(z, loss, psi, lam, constraints, info))
            if not candidate[1][0] > best[1][0]:
                best = candidate
    return best


#: The exact re-solve of the free entries is tried up to this many of them (one least-squares
#: solve with an n x |F| matrix).
NEWTON_MAX_FREE = 2000


def _newton_free(y: np.ndarray, fixed: np.ndarray, loss, psi: PAR, lam, rows) -> np.ndarray | None:
    """Least squares only: the entries off the kinks solve A_F^T (A y - b) + lam_F s_F = 0 exactly.

    With the fixed entries on their kinks and the free ones on pieces of slope s_F, the
    optimality conditions of the free entries are linear; their solution (when A_F has full
    column rank and it stays on the same pieces) is the exact optimum for this active set.
    """
    if type(loss).__name__ != "LeastSquares" or rows is not None or loss.op.kind == "operator":
        return None
    free = np.flatnonzero(~fixed)
    if free.size == 0 or free.size > min(NEWTON_MAX_FREE, loss.n_samples):
        return None
    lo, hi = psi.subdifferential(y[free])
    if not np.array_equal(lo, hi):
        return None
    A = _to_numpy(loss.op.A)
    A_free = A[:, free].toarray() if sp.issparse(A) else np.asarray(A[:, free])
    rest = A @ np.where(fixed, y, 0.0) - _to_numpy(loss.target)
    lam_free = lam if np.ndim(lam) == 0 else lam[free]
    # normal equations of min 1/2 ||A_F x_F + rest||^2 + lam_F s_F . x_F
    gram = A_free.T @ A_free
    try:
        x_free = np.linalg.solve(gram, -(A_free.T @ rest) - lam_free * lo)
    except np.linalg.LinAlgError:
        return None
    same_pieces = np.searchsorted(psi.breakpoints, x_free) == np.searchsorted(psi.breakpoints, y[free])
    if not same_pieces.all():
        return None
    out = y.copy()
    out[free] = x_free
    return out


def _tight_rows(x: np.ndarray, simplex, linear):
    """(M, rhs) of the rows to hold with equality: sums, A_eq, A_ub rows within 1e-6 of active."""
    blocks = []
    if simplex is not None:
        blocks.append((np.ones((1, x.size)), np.array([simplex.total])))
    if linear is not None and linear.A_eq is not None:
        blocks.append((linear.A_eq, linear.b_eq))
    if linear is not None and linear.A_ub is not None:
        slack = linear.b_ub - linear.A_ub @ x
        near = slack <= 1e-6 * (1 + np.abs(linear.b_ub))
        if near.any():
            blocks.append((linear.A_ub[near], linear.b_ub[near]))
    if not blocks:
        return None
    return np.vstack([m for m, _ in blocks]), np.concatenate([r for _, r in blocks])


def _restore_rows(y: np.ndarray, fixed: np.ndarray, M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """y plus the least-norm change of its free entries that makes M y = rhs (when that exists)."""
    free = ~fixed
    if not free.any():
        return y
    change, *_ = np.linalg.lstsq(M[:, free], rhs - M @ y, rcond=None)
    out = y.copy()
    out[free] += change
    return out


def _violation(x: np.ndarray, simplex, linear) -> float:
    worst = 0.0
    if simplex is not None:
        worst = max(abs(float(x.sum()) - simplex.total), float(np.max(-x, initial=0.0)))
    if linear is not None and linear.A_eq is not None:
        worst = max(worst, float(np.max(np.abs(linear.A_eq @ x - linear.b_eq))))
    if linear is not None and linear.A_ub is not None:
        worst = max(worst, float(np.max(linear.A_ub @ x - linear.b_ub, initial=0.0)))
    return worst


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
    cert = certificate(loss, psi, lam, x, constraints)
    return float(cert.residual), cert.gap
