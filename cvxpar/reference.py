"""Exact reference solutions through CVXPY: ``cvxpar.reference(loss, psi, lam, constraints)``.

minimize loss(x) + sum_i lam_i psi(x_i) subject to x in C, solved to interior-point accuracy
(convex psi, Clarabel: faster and more accurate than OSQP and HiGHS on the 7-level ridge problem,
benchmarks/RESULTS.md tuning notes, and it has the exponential cone logistic losses need) or to
global optimality by branch and bound (nonconvex psi: for least squares with bounds only, the branch
and bound on convex envelopes of :mod:`cvxpar.exact.bnb`; otherwise SCIP on the exact mixed-integer
model of :mod:`cvxpar.exact.mip`), for checking ``cvxpar.solve`` and for users who want a certified
answer on small problems.  The pipeline (:mod:`cvxpar.exact`):

1. rescale (:mod:`cvxpar.exact.scaling`): powers of two that make the model O(1) whatever the data's
   units;
2. for a nonconvex psi, finite bounds containing every minimizer (:mod:`cvxpar.exact.bounds`);
3. build and solve the CVXPY model (:mod:`cvxpar.exact.model`), or search (:mod:`cvxpar.exact.bnb`);
4. polish the point onto the kinks and certify it (:mod:`cvxpar.exact.finish`): ``"optimal"`` only
   when :func:`cvxpar.certificate` holds and, for the mixed-integer model, the gap to the proven
   lower bound is closed.  A solver status the reference cannot confirm ("infeasible" while a
   phase-1 LP finds a feasible point, "optimal" with a failing certificate) becomes a non-optimal
   status with a message.

Statuses: ``"optimal"``; ``"optimal_inaccurate"`` (the solver finished but its point does not certify);
``"max_iter"`` (a time limit or solver failure: ``x`` is the best point known, ``bound`` the best
proven lower bound); ``"infeasible"`` (confirmed by a phase-1 LP); ``"unbounded"`` (unbounded below: proven
before any model is built by :mod:`cvxpar.recession`, whose direction is in ``info["direction"]``, or reported by
the conic solver).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import cvxpy as cp
import cvxpy.settings as cvxpy_settings
import numpy as np
import numpy.typing as npt

from cvxpar import recession
from cvxpar._validation import as_lam
from cvxpar.constraints import FeasibleSet
from cvxpar.exact import bnb, cvxpy_problem, finish, mip, model, scaling
from cvxpar.exact import bounds as _bounds
from cvxpar.losses import LeastSquares
from cvxpar.par import PAR
from cvxpar.result import INFEASIBLE, MAX_ITER, OPTIMAL, OPTIMAL_INACCURATE, UNBOUNDED

if TYPE_CHECKING:
    from cvxpar.constraints.base import Constraint
    from cvxpar.losses.base import LinearModelLoss

ReferenceResult = finish.ReferenceResult

#: The ``solver=`` name of cvxpar's own branch and bound (:mod:`cvxpar.exact.bnb`).
BRANCH_AND_BOUND = "CVXPAR_BNB"
#: A mixed-integer model with more binaries than this warns before it starts (without time_limit).
SLOW_BINARIES = 150
#: A convex model predicted (model.C_PLAIN / C_RESIDUAL, ~30 iterations) to take longer warns too.
SLOW_SECONDS = 120.0
TYPICAL_ITERATIONS = 30


#: SCIP's settings for the rescaled model (whose numbers are O(1)): its default feasibility tolerance
#: (1e-6) on the second-order cone of the loss leaves its bound ~1e-6 (relative) away from the optimum,
#: above MIP_GAP_TOL; user ``scip_params`` override these.
SCIP_PARAMS = {"numerics/feastol": 1e-9}

#: SCIP's dual bound is exact only up to its tolerances, absolute in the model's units (it prunes nodes within
#: numerics/epsilon = 1e-9 of the incumbent, and its LP relaxations' bounds carry the dual feasibility tolerance,
#: 1e-7): the bound reported on F is SCIP's less this many model units (times s).  The model's objective is O(1)
#: in F's own range (:func:`cvxpar.exact.scaling.capped`), so that is ~1e-7 of F's range, below MIP_GAP_TOL.
SCIP_BOUND_SLACK = 1e-7

#: With time_limit, SCIP gets what is left after compiling less this share (for the polish after it),
#: and at least MIN_SCIP_SECONDS.
FINISH_SHARE = 0.2
MIN_SCIP_SECONDS = 0.1


class SlowReferenceWarning(UserWarning):
    """The reference model is likely to take long (see ``time_limit=`` and ``verbose=``)."""


def reference(
    loss: LinearModelLoss | cp.Problem,
    psi: PAR | None = None,
    lam: float | npt.ArrayLike | None = None,
    constraints: Constraint | Sequence[Constraint] | None = None,
    solver: str | None = None,
    *,
    bounds: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    formulation: str = "auto",
    time_limit: float | None = None,
    verbose: bool = False,
    **solver_options: Any,
) -> ReferenceResult:
    """Solve minimize loss(x) + sum_i lam_i psi(x_i) s.t. x in C exactly through CVXPY.

    ``reference(problem)`` takes a CVXPY problem instead, of any shape ``problem.solve(method="cvxpar")``
    reads (convex or nonconvex psi), solves it exactly and writes ``variable.value``, ``problem.value``
    and ``problem.status`` back (:mod:`cvxpar.exact.cvxpy_problem`); the keywords below apply.

    Parameters
    ----------
    loss : cvxpar.losses.LinearModelLoss or cvxpy.Problem
        Any loss with a CVXPY form (``loss.cvxpy(z)``): LeastSquares, Logistic, Huber or a user
        loss; NumPy / SciPy-sparse data (CuPy and Array-API data are copied to NumPy).  Or a CVXPY
        problem (then psi, lam and constraints are read from it).
    psi : PAR
        Convex: a conic problem (Clarabel).  Quasiconvex or nonconvex: a global branch and bound (least
        squares with bounds only: :mod:`cvxpar.exact.bnb`, no extra solver needed; otherwise SCIP on the
        mixed-integer model).
    lam : float or array of shape (d,)
        Nonnegative weights.
    constraints : Box, NonNeg, Simplex, Linear or a list of them, optional
    solver : str, optional
        A CVXPY solver name; default Clarabel (convex) or, for a nonconvex psi, ``"CVXPAR_BNB"`` (cvxpar's
        branch and bound on convex envelopes, which takes a least-squares loss with bounds only) where it
        applies and SCIP otherwise.  Pass ``"SCIP"`` (or another mixed-integer CVXPY solver) to solve the
        mixed-integer model instead.
    bounds : (lower, upper), optional
        Extra bounds on x (scalars or arrays) for the mixed-integer model; they must contain a
        minimizer (:mod:`cvxpar.exact.bounds` derives them when they can be).
    formulation : {"auto", "residual", "plain"}
        With (``"residual"``) or without (``"plain"``) a variable for z = Ax; ``"auto"`` asks
        :func:`cvxpar.exact.model.prefer_residual`.
    time_limit : float, optional
        Seconds for the whole reference; when reached, ``status`` is ``"max_iter"`` and ``x`` the best
        point found (with the proven ``bound`` and ``gap`` for the mixed-integer model).
    verbose : bool
        The solver's own progress output (the branch and bound's table of nodes, incumbent and bound;
        SCIP's; Clarabel's iterations).
    **solver_options
        Passed to ``problem.solve``.

    Returns
    -------
    ReferenceResult
        ``x`` (NumPy), ``status`` (module docstring), ``objective`` F(x) recomputed in float64,
        ``solve_time`` (wall seconds), ``iterations`` (the solver's), ``residual`` and the
        certificate's ``gap`` (convex) or the relative MIP gap (nonconvex), ``bound`` (a proven lower
        bound on the optimal value, or None), ``quantization_rate`` (the certificate's), ``message``,
        and ``info`` (solver, CVXPY status, formulation, scaling, bounds, number of binaries).

    Raises
    ------
    TypeError
        psi is not a PAR, or the loss has no CVXPY form.
    ValueError
        Bad lam, constraints or formulation; no finite bounds for a nonconvex psi.
    ImportError
        A nonconvex psi that needs the mixed-integer model (a loss other than least squares, or linear
        rows) without SCIP installed.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> rng = np.random.default_rng(0)
    >>> A, b = rng.standard_normal((20, 5)), rng.standard_normal(20)
    >>> psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    >>> ref = cvxpar.reference(cvxpar.losses.LeastSquares(A, b), psi, 1.0)
    >>> ref.status
    'optimal'
    >>> bool(cvxpar.certificate(cvxpar.losses.LeastSquares(A, b), psi, 1.0, ref.x).certifies(1e-6))
    True
    """
    if isinstance(loss, cp.Problem):
        if psi is not None or lam is not None or constraints is not None:
            raise TypeError("reference(problem) takes the CVXPY problem alone: its objective and constraints say what "
                            "psi, lam and the constraints are.")
        return cvxpy_problem.solve_problem(loss, reference, solver=solver, bounds=bounds, formulation=formulation,
                                           time_limit=time_limit, verbose=verbose, **solver_options)
    start = time.perf_counter()
    if not isinstance(psi, PAR):
        raise TypeError(f"psi must be a cvxpar.PAR; got {type(psi).__name__}.")
    A = model.data_matrix(loss)
    n, d = A.shape
    lam = as_lam(lam, np.zeros(d), d)
    feasible = FeasibleSet(constraints, d)
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ValueError(f"time_limit must be a positive number of seconds (or None); got {time_limit!r}.")
    _check_solver(solver)
    scale = scaling.choose(loss, psi, lam)
    info: dict = {"scaling": scale}
    unbounded = _unbounded(loss, psi, lam, feasible, info, start)
    if unbounded is not None:
        return unbounded
    if psi.is_convex:
        return _convex(loss, psi, lam, constraints, feasible, scale, solver, formulation, time_limit, verbose,
                       solver_options, info, start)
    return _mixed_integer(loss, psi, lam, constraints, feasible, scale, solver, formulation, bounds, time_limit,
                          verbose, solver_options, info, start)


# ---------------------------------------------------------------------- convex psi
def _convex(loss, psi, lam, constraints, feasible, scale, solver, formulation, time_limit, verbose, options,
            info, start):
    m = model.build(loss, psi, lam, feasible, scale, formulation=formulation)
    chosen = solver or cp.CLARABEL
    if chosen == cp.CLARABEL and m.formulation == "residual":
        options.setdefault("direct_solve_method", "qdldl")
    if chosen == cp.CLARABEL and time_limit is not None:
        options.setdefault("time_limit", max(time_limit - (time.perf_counter() - start), 1e-3))
    if time_limit is None:
        _warn_if_slow_convex(m, loss.n_samples)
    _solve(m, chosen, verbose, options, info)
    x = m.x()
    if x is None:
        return _no_point(m, loss, psi, lam, constraints, feasible, info, start)
    x, cert = finish.polish(x, loss, psi, lam, constraints, feasible)
    ok = finish.certified(cert)
    limit = m.problem.status == cp.USER_LIMIT
    if ok:
        status, message = OPTIMAL, f"Certified: {finish.describe(cert)}."
    elif limit:
        status, message = MAX_ITER, f"{chosen} stopped at its iteration or time limit; x is its last point ({finish.describe(cert)})."
    else:
        status = OPTIMAL_INACCURATE
        message = (f"{chosen} reported {m.problem.status!r}, but the certificate does not hold to "
                   f"{finish.REF_TOL:g} at its (polished) point: {finish.describe(cert)}.")
    bound = cert.objective - cert.gap if cert.gap is not None else None
    return _result(x, status, cert, cert.gap, bound, message, info, start)


# ---------------------------------------------------------------------- nonconvex psi
def _mixed_integer(loss, psi, lam, constraints, feasible, scale, solver, formulation, bounds, time_limit, verbose,
                   options, info, start):
    search = _use_search(solver, loss, feasible)
    if not search:
        _require_scip(solver)
    if feasible.empty is not None:
        return _infeasible(feasible.empty, feasible, info, start)
    points = _candidates(loss, psi, lam, constraints, feasible.d)  # an incumbent, and the level set's F(x0)
    lower, upper = _bounds.mip_bounds(loss, psi, lam, feasible, bounds, points, sigma=scale.sigma)
    info["bounds"] = (lower, upper)
    deadline = None if time_limit is None else start + time_limit
    floor = _bounds.penalty_floor(loss, psi, lam, lower, upper)
    unit = finish.gap_unit(scale.s, loss, psi, lam, lower, upper, points)
    if search:
        x, bound, limited = _branch_and_bound(loss, psi, lam, lower, upper, points, unit, deadline, verbose, info)
        chosen = BRANCH_AND_BOUND
    else:
        chosen = solver or cp.SCIP
        mip_scale = scaling.capped(scale, unit)
        info["mip_scaling"] = mip_scale
        x, bound, limited = _scip(loss, psi, lam, feasible, mip_scale, chosen, formulation, lower, upper, time_limit,
                                  deadline, verbose, options, info)
    bound = _best_bound(bound, floor)
    if not search:
        if x is None:
            solver_status = info.get("scip_status", info.get("cvxpy_status"))
            what = (f"{chosen} reached the {time_limit:g} s time limit before finding a point"
                    if solver_status == "timelimit" and time_limit is not None
                    else f"{chosen} returned no point (status {solver_status!r})")
            return _fallback(what, loss,
                             psi, lam, constraints, feasible, lower, upper, info, start, points, bound)
        x = _resolve_on_chunks(x, loss, psi, lam, feasible, scale, lower, upper, info)
    x, cert = finish.polish(x, loss, psi, lam, constraints, feasible)
    for p in points:  # a stopped branch and bound may not have reached the point cvxpar.solve found
        x, cert = _better_point(x, cert, p, loss, psi, lam, constraints)
    if bound is not None:
        bound = min(bound, cert.objective)  # the solvers' tolerances can leave a bound a hair above F(x)
    gap = finish.mip_gap(cert.objective, bound)
    closed = finish.gap_closed(cert.objective, bound, unit)
    if closed and finish.certified(cert):  # a closed gap proves x optimal, whether or not a limit stopped the search
        status = OPTIMAL
        message = (f"Global optimum: F(x) - bound = {cert.objective - bound:.2e} <= {finish.MIP_GAP_TOL:g} "
                   f"max(|F(x)|, {unit:.3g}) with the proven lower bound {bound:.10g}; {finish.describe(cert)}.")
    elif limited or (time_limit is not None and not closed and info.get("scip_status") != "optimal"):
        status = MAX_ITER
        limit = "the" if time_limit is None else f"the {time_limit:g} s"
        message = (f"Reached {limit} time limit: x is the best point found, objective {cert.objective:.10g}; "
                   f"{_bound_text(bound, gap)}.")
    else:
        status = OPTIMAL_INACCURATE
        why = "the MIP gap is not closed" if not closed else "the certificate does not hold"
        gap_text = "unknown" if gap is None else f"{gap:.2e}"
        reported = info.get("search", repr(info.get("cvxpy_status")))
        message = (f"{chosen} reported {reported} but {why}: relative gap {gap_text} to the bound, "
                   f"{finish.describe(cert)}.")
    return _result(x, status, cert, gap, bound, message, info, start)


def _use_search(solver: str | None, loss, feasible) -> bool:
    """Whether the nonconvex reference runs :mod:`cvxpar.exact.bnb` (its default where it applies)."""
    applies = isinstance(loss, LeastSquares) and not feasible.has_rows
    if solver == BRANCH_AND_BOUND and not applies:
        raise ValueError(
            f"solver={BRANCH_AND_BOUND!r} (cvxpar's branch and bound on convex envelopes) takes a least-squares loss "
            "with bounds only (Box, NonNeg or none); for other losses or linear rows pass solver=None (SCIP) or "
            "another CVXPY mixed-integer solver."
        )
    return applies and solver in (None, BRANCH_AND_BOUND)


def _branch_and_bound(loss, psi, lam, lower, upper, points, unit, deadline, verbose, info):
    """(x, proven bound, whether a limit stopped it) from :func:`cvxpar.exact.bnb.search`."""
    A = model.data_matrix(loss)
    A = A.toarray() if hasattr(A, "toarray") else A
    lam_d = np.broadcast_to(np.asarray(lam, dtype=np.float64), (A.shape[1],))
    if deadline is not None:  # leave a share for the polish that follows
        deadline -= FINISH_SHARE * max(deadline - time.perf_counter(), 0.0)
    t0 = time.perf_counter()
    found = bnb.search(A, np.asarray(loss.target, dtype=np.float64), psi, lam_d, lower, upper, points,
                       unit=unit, gap_tol=finish.MIP_GAP_TOL, deadline=deadline, verbose=verbose)
    info.update(solver=BRANCH_AND_BOUND, search=found.message, nodes=found.nodes, n_binaries=0,
                solver_time=time.perf_counter() - t0, iterations=found.nodes, formulation="envelope")
    return found.x, found.bound, found.limit is not None


def _scip(loss, psi, lam, feasible, scale, chosen, formulation, lower, upper, time_limit, deadline, verbose,
          options, info):
    """(x or None, the solver's proven bound or None, whether a limit stopped it) from the mixed-integer model."""
    m = model.build(loss, psi, lam, feasible, scale, formulation=formulation, bounds=(lower, upper))
    info["n_binaries"] = m.n_binaries
    if time_limit is None and m.n_binaries > SLOW_BINARIES:
        warnings.warn(
            f"the mixed-integer reference has {m.n_binaries} binaries ({feasible.d} coordinates x "
            f"{m.n_binaries // feasible.d} convex chunks of psi): branch and bound may take minutes to hours. Pass "
            "time_limit=<seconds> to get the best point and a proven bound in time, and verbose=True to watch SCIP.",
            SlowReferenceWarning,
            stacklevel=4,
        )
    bound = _solve_mip(m, chosen, verbose, options, info, deadline)
    return m.x(), bound, info.get("scip_status") == "timelimit"


def _best_bound(*bounds) -> float | None:
    """The largest of the proven lower bounds; None when none is finite (a search stopped before its first
    node proves nothing: its open bound is -inf)."""
    known = [b for b in bounds if b is not None and math.isfinite(b)]
    return max(known) if known else None


def _candidates(loss, psi, lam, constraints, d):
    """Feasible points for the level-set bounds: cvxpar.solve's answer (checked feasible by the caller)."""
    from cvxpar.solve import solve
    from cvxpar.solvers import tree_search

    try:
        with tree_search.suspended():  # the exact search follows: no budgeted one first
            res = solve(loss, psi, lam, constraints=constraints)
    except (ValueError, TypeError, NotImplementedError, ArithmeticError):
        return []
    x = np.asarray(res.x, dtype=np.float64)
    return [x] if x.shape == (d,) else []


def _check_solver(solver) -> None:
    """A ``solver=`` CVXPY cannot run here gets an error that says what is installed (CVXPY's own names only the
    solver), and for SCIP how to install it."""
    if solver is None or solver == BRANCH_AND_BOUND:
        return
    if not isinstance(solver, str):
        raise TypeError(f"solver must be a CVXPY solver name (a string) or None; got {type(solver).__name__}.")
    installed = cp.installed_solvers()
    if solver.upper() in installed:
        return
    hint = " Install it with: pip install cvxpar[mip] (or pip install pyscipopt)." if solver.upper() == cp.SCIP else ""
    known = "is not installed" if solver.upper() in cp.settings.SOLVERS else "is not a CVXPY solver"
    raise ValueError(f"solver {solver!r} {known}.{hint} Installed solvers: {', '.join(installed)}; or pass "
                     f"solver=None (Clarabel for a convex psi, cvxpar's branch and bound or SCIP for a nonconvex one).")


def _require_scip(solver: str | None) -> None:
    if solver is not None:
        return
    if cp.SCIP not in cp.installed_solvers():
        raise ImportError(
            "the exact reference for a nonconvex psi is a mixed-integer program solved by SCIP, which is not "
            "installed: pip install cvxpar[mip] (or pip install pyscipopt); or pass solver= a CVXPY solver that "
            "takes mixed-integer QPs / SOCPs (e.g. GUROBI, MOSEK)."
        )


def _solve_mip(m, chosen, verbose, options, info, deadline: float | None) -> float | None:
    """Solve the mixed-integer model; return the branch and bound's proven lower bound on F (or None).

    SCIP's dual bound is on the objective c^T v of CVXPY's standard form, which equals the model's
    objective minus the constant offset CVXPY keeps aside; the bound on F is s (dual + offset - SCIP_BOUND_SLACK),
    the slack covering SCIP's tolerances in the model's O(1) units.  It is read from SCIP's model directly, so it
    is there even when SCIP stops without a point.
    """
    if chosen != cp.SCIP:
        _solve(m, chosen, verbose, options, info)
        return None
    try:
        data, chain, inverse = m.problem.get_problem_data(cp.SCIP)
    except cp.error.SolverError as exc:
        raise ValueError(
            "SCIP cannot take this mixed-integer model: the loss's CVXPY form needs a cone SCIP does not have (the "
            "exponential cone of a logistic loss, for one). For a nonconvex psi use a loss with a quadratic or "
            "second-order-cone form (LeastSquares, Huber), pass solver= a CVXPY solver that takes mixed-integer "
            "exponential cones (e.g. MOSEK), or use cvxpar.solve."
        ) from exc
    options = dict(options)
    options["scip_params"] = {**SCIP_PARAMS, **options.get("scip_params", {})}
    if deadline is not None:  # what is left after compiling, less a share for the polish that follows
        left = (deadline - time.perf_counter()) * (1 - FINISH_SHARE)
        options["scip_params"] = {**options.get("scip_params", {}), "limits/time": max(left, MIN_SCIP_SECONDS)}
    try:
        raw = chain.solver.solve_via_data(data, False, verbose, options)
    except Exception as exc:  # pyscipopt raises a bare Exception("SCIP: error in input data!")
        if "input data" not in str(exc):
            raise
        raise ValueError(
            f"SCIP rejected the mixed-integer model's numbers ({exc}): after rescaling by the objective unit "
            f"s = {m.scaling.s:.3g} (from lam and the loss's curvature) some entry is beyond SCIP's infinity (1e20). "
            "Rescale lam or the data (s follows lam times psi's slopes and the loss's curvature; a lam of 1e-200 "
            "next to a loss with no curvature leaves a Huber threshold or a target divided by sqrt(s) beyond it), or "
            "use cvxpar.solve for a certified stationary point."
        ) from exc
    info["scip_status"] = raw.get("scip_status")
    bound = None
    scip = raw.get("model")
    if scip is not None:
        dual = float(scip.getDualbound())
        if math.isfinite(dual) and not scip.isInfinity(abs(dual)):
            bound = m.scaling.s * (dual + float(inverse[-1][cvxpy_settings.OFFSET]) - SCIP_BOUND_SLACK)
    try:
        with warnings.catch_warnings():  # CVXPY's "may be inaccurate": the status below says what x is
            warnings.simplefilter("ignore", UserWarning)
            m.problem.unpack_results(raw, chain, inverse)
    except cp.error.SolverError:
        m.y.value = None
    _record(m, chosen, info)
    return bound


def _resolve_on_chunks(x0, loss, psi, lam, feasible, scale, lower, upper, info) -> np.ndarray:
    """Re-solve with each x_i held in the convex chunk branch and bound chose (Clarabel, no binaries).

    Same optimal value (the chunks of a global minimizer), interior-point accuracy: SCIP's
    nonlinear feasibility tolerance (~1e-6) leaves residuals near 1e-4 otherwise.  Kept only where F is not
    higher than at the branch and bound's point (on badly scaled data the re-solve can end above it).
    """
    chunks = mip.chosen_chunks(x0, psi, float(lower.min()), float(upper.max()))
    m = model.build(loss, psi, lam, feasible, scale, chunks=chunks)
    m.problem.constraints.extend([m.y >= lower / scale.sigma, m.y <= upper / scale.sigma])
    problem = cp.Problem(m.problem.objective, m.problem.constraints)
    try:
        problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        problem = None
    if problem is None or problem.status != cp.OPTIMAL or m.y.value is None:
        info["polish"] = "the convex re-solve on the chosen chunks failed; x is the branch and bound's point"
        return x0
    x = np.clip(m.x(), lower, upper)
    if _bounds.objective(loss, psi, lam, x) > _bounds.objective(loss, psi, lam, x0):
        info["polish"] = "the convex re-solve on the chosen chunks ended higher; x is the branch and bound's point"
        return x0
    info["polish"] = "re-solved with Clarabel on the chunks the branch and bound chose"
    return x


# ---------------------------------------------------------------------- shared
def _solve(m, chosen, verbose, options, info) -> None:
    try:
        m.problem.solve(solver=chosen, verbose=verbose, **options)
    except cp.error.SolverError:
        raise
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{chosen} rejected the solver options {sorted(options)}: {exc}") from exc
    _record(m, chosen, info)


def _record(m, chosen, info) -> None:
    stats = m.problem.solver_stats
    info.update(
        solver=chosen,
        cvxpy_status=m.problem.status,
        formulation=m.formulation,
        solver_time=stats.solve_time if stats is not None else None,
        iterations=int(stats.num_iters) if stats is not None and stats.num_iters is not None else 0,
    )


def _warn_if_slow_convex(m, n: int) -> None:
    d = m.y.size
    seconds = TYPICAL_ITERATIONS * (model.C_PLAIN * d**3 if m.formulation == "plain" else
                                    model.C_RESIDUAL * (1 + n / model.N_CACHE) * n * n * d)
    if seconds > SLOW_SECONDS:
        warnings.warn(
            f"the reference's interior-point model (d = {d}) is predicted to take about {seconds:.0f} s; pass "
            "time_limit=<seconds> to stop early, or use cvxpar.solve for a certified answer at this size.",
            SlowReferenceWarning,
            stacklevel=4,
        )


def _no_point(m, loss, psi, lam, constraints, feasible, info, start):
    """The solver returned no x: confirm an "infeasible" with a phase-1 LP, else report the failure."""
    status = m.problem.status
    if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
        nan = np.full(feasible.d, np.nan)
        return ReferenceResult(nan, UNBOUNDED, -math.inf, info.get("iterations", 0), time.perf_counter() - start,
                               math.nan, None, math.nan, "reference",
                               f"{info['solver']} reports the objective unbounded below.", info)
    return _fallback(f"{info['solver']} reported {status!r}", loss, psi, lam, constraints, feasible, None, None,
                     info, start)


def _unbounded(loss, psi, lam, feasible, info, start):
    """The result for a problem proven unbounded below before any model is built (:mod:`cvxpar.recession`:
    a direction of the constraints' recession cone along which F decreases linearly, from a feasible point
    a phase-1 LP confirms), or None."""
    if feasible.empty is not None:
        return None
    found = recession.ray(loss, psi, lam, feasible)
    dom_lo, dom_hi = psi.domain
    if found is None or feasible.find_point(np.full(feasible.d, dom_lo), np.full(feasible.d, dom_hi)) is None:
        return None
    info.update(solver="recession test", direction=found.v, rate=found.rate)
    return ReferenceResult(np.full(feasible.d, np.nan), UNBOUNDED, -math.inf, 0, time.perf_counter() - start,
                           math.nan, None, math.nan, "reference", f"Unbounded below: {found.describe()}.", info)


def _fallback(what, loss, psi, lam, constraints, feasible, lower, upper, info, start, points=(), bound=None):
    """No point from the solver: the best known feasible point (status max_iter), or confirmed infeasibility.

    The known points are ``points`` (e.g. cvxpar.solve's answer) and a phase-1 LP point of the
    constraints inside psi's domain and the bounds; when the LP finds none the problem is infeasible.
    """
    dom_lo, dom_hi = psi.domain
    lo = np.full(feasible.d, dom_lo) if lower is None else lower
    hi = np.full(feasible.d, dom_hi) if upper is None else upper
    phase1 = feasible.find_point(lo, hi)
    if phase1 is None:
        return _infeasible(f"{what}, and a phase-1 LP confirms that no point of the constraints lies in psi's "
                           "domain", feasible, info, start)
    x, cert = phase1, finish.check(loss, psi, lam, constraints, phase1)
    for p in points:
        if np.all(p >= lo) and np.all(p <= hi):
            x, cert = _better_point(x, cert, p, loss, psi, lam, constraints)
    if bound is not None:
        bound = min(bound, cert.objective)
    gap = finish.mip_gap(cert.objective, bound)
    message = (f"{what}; the constraints are feasible, and x is the best feasible point known (a phase-1 LP's or "
               f"cvxpar.solve's), not a certified optimum; {_bound_text(bound, gap)}.")
    return _result(x, MAX_ITER, cert, gap, bound, message, info, start)


def _better_point(x, cert, p, loss, psi, lam, constraints):
    """(p, its certificate) if p is feasible (to finish.POLISH_TOL in x's units) with a lower objective, else (x, cert)."""
    other = finish.check(loss, psi, lam, constraints, p)
    if other.infeasibility <= finish.POLISH_TOL * other.x_scale and other.objective < cert.objective:
        return np.asarray(p, dtype=np.float64), other
    return x, cert


def _infeasible(why, feasible, info, start):
    nan = np.full(feasible.d, np.nan)
    return ReferenceResult(nan, INFEASIBLE, math.nan, info.get("iterations", 0), time.perf_counter() - start,
                           math.nan, None, math.nan, "reference", f"Infeasible: {why}.", info)


def _bound_text(bound, gap) -> str:
    if bound is None:
        return "no lower bound was proven"
    return f"proven lower bound {bound:.10g} (relative gap {gap:.2e})"


def _result(x, status, cert, gap, bound, message, info, start):
    return ReferenceResult(
        x=x,
        status=status,
        objective=float(cert.objective),
        iterations=info.get("iterations", 0),
        solve_time=time.perf_counter() - start,
        residual=float(cert.residual),
        gap=gap,
        quantization_rate=float(cert.quantization_rate),
        method="reference",
        message=message,
        info=info,
        bound=bound,
    )
