"""``cvxpar.solve``: the front door of the proximal solver family.

    minimize  loss(x) + sum_i lam_i psi(x_i)   subject to  x in C

Methods (``method=``): ``"pg"`` (proximal gradient), ``"fista"`` (accelerated, adaptive restart),
``"cd"`` (coordinate descent with working sets, least squares on NumPy), ``"ssnal"``
(semismooth Newton augmented Lagrangian, least squares with a convex psi: the fast method when
the free block of A is nearly square), ``"admm"`` (cached
factorization, adaptive rho; the method for Simplex and Linear constraints), ``"aprox"``
(stochastic, PARQ's aggregate prox; :mod:`cvxpar.solvers.aprox`) and ``"auto"``, which picks
one and says which (``res.method``, and the verbose header): ``"cd"`` for wide least squares
(more features than samples) with a psi of at most one breakpoint (the Lasso and its
box-constrained variants; measured 3-6x faster than ``"ssnal"`` there: ``python -m cvxpar.bench.lasso``),
``"ssnal"`` for the other convex least squares.  Every deterministic method ends
with the same certificate (:mod:`cvxpar.certificate`): the status is ``"optimal"`` (convex) or
``"stationary"`` (nonconvex) only when the residual is within ``tol`` (the tolerance semantics
are in :mod:`cvxpar.certificate`), and the active-set polish (:mod:`cvxpar.solvers.polish`)
is what gets it there exactly.
"""

from __future__ import annotations

import importlib
import math
import numbers

import numpy as np

from cvxpar import result as R
from cvxpar.constraints import Box
from cvxpar.solvers import starts
from cvxpar.solvers._common import Monitor, finish, infeasible_result
from cvxpar.solvers._problem import Problem
from cvxpar.solvers.options import for_method as options_for

METHODS = ("auto", "pg", "fista", "cd", "ssnal", "admm", "aprox")
DEFAULT_MAX_ITER = {"pg": 50_000, "fista": 20_000, "cd": 5_000, "ssnal": 200, "admm": 20_000}


def solve(
    loss,
    psi,
    lam,
    constraints=None,
    method: str = "auto",
    x0=None,
    tol: float = 1e-8,
    max_iter: int | None = None,
    polish: bool = True,
    verbose: bool = False,
    n_starts: int | None = None,
    **options,
) -> R.SolveResult:
    """Solve the PAR-regularized problem; see the module docstring.

    ``options`` go to the method; each method's options (name, valid values, meaning) are in
    :mod:`cvxpar.solvers.options` (``print(cvxpar.solvers.options.table())``).  Unknown names
    raise ``TypeError`` with the closest valid name, out-of-range values ``ValueError``;
    ``check_every`` (the stopping-test period) is accepted by every method.  ``tol`` is any real
    number > 0, ``max_iter`` an integer >= 1 or None, ``lam`` a scalar or a sequence of d
    nonnegative numbers.  Returns a :class:`cvxpar.result.SolveResult` with ``x`` in the
    namespace of the data.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    _check_tol(tol)
    max_iter = _positive_int_or_none(max_iter, "max_iter")
    n_starts = _positive_int_or_none(n_starts, "n_starts")
    if isinstance(lam, (list, tuple)):
        lam = _lam_sequence(lam)
    if method == "aprox":
        from cvxpar.solvers.aprox import solve_aprox

        return solve_aprox(loss, psi, lam, constraints=constraints, x0=x0, tol=float(tol), max_iter=max_iter,
                           verbose=verbose, **options_for("aprox", options, requested="aprox"))
    prob = Problem(loss, psi, lam, constraints, x0)
    _check_operator(prob.loss)
    chosen, why = pick(prob) if method == "auto" else (method, "")
    options = options_for(chosen, options, requested=method)
    if prob.infeasible is not None:
        return infeasible_result(prob, chosen)
    if prob.feasible.has_rows and chosen != "admm":
        raise ValueError(
            f"method {chosen!r} handles Box/NonNeg constraints only; Simplex and Linear constraints need method='admm' "
            "(or 'auto')."
        )
    if chosen == "admm" and prob.feasible.has_rows and not _admm_applicable(prob):
        kind = "/".join(sorted({type(c).__name__ for c in prob.feasible.items if not isinstance(c, Box)}))
        raise ValueError(
            "method 'admm', the method for Simplex and Linear constraints, needs a LeastSquares loss with a dense A: "
            f"{kind} constraints with a {type(prob.loss).__name__} loss{_operator_note(prob.loss)} are not supported. "
            "Use Box or NonNeg constraints with this loss, or a dense least-squares loss with these constraints."
        )
    if chosen == "ssnal" and not _ssnal_applicable(prob):
        raise ValueError("method 'ssnal' needs a LeastSquares loss and a convex psi; use 'fista' (or 'auto').")
    if chosen == "cd" and not _cd_applicable(prob):
        raise ValueError(_cd_refusal(prob))
    monitor = Monitor(verbose, chosen, prob, tol, note=f"method auto -> {chosen}: {why}" if why else "")
    module = importlib.import_module(f"cvxpar.solvers.{chosen}")

    def run(p):
        out = module.run(p, tol=float(tol), max_iter=max_iter or DEFAULT_MAX_ITER[chosen], polish=polish,
                         monitor=monitor, **options)
        return finish(p, out, tol, chosen, monitor)

    if prob.convex or (x0 is not None and n_starts is None):
        return run(prob)
    count = int(n_starts or starts.DEFAULT_STARTS)
    envelope = starts.convex_envelope(prob.kpsi if prob.lb is None else psi)
    env_x = None
    if envelope is not None and count > 1:
        env_x = solve(loss, envelope, lam, constraints=constraints, tol=tol, max_iter=max_iter).x
    points = starts.start_points(prob, count, env_x)
    return starts.best_of_starts(prob, run, points, sweep=True)


def _check_tol(tol) -> None:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite positive real number; got {tol!r}.")


def _positive_int_or_none(value, name: str) -> int | None:
    """``value`` as an int >= 1 (an integral float such as 1e4 counts), or None."""
    if value is None:
        return None
    integral = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()
    )
    if isinstance(value, bool) or not integral or value < 1:
        raise ValueError(f"{name} must be a positive integer or None; got {value!r}.")
    return int(value)


def _check_operator(loss) -> None:
    """A LinearOperator that returns NaN or inf shows up first in the Lipschitz estimate (a power
    iteration on A^T A, computed once and cached for the methods): say so there."""
    op = getattr(loss, "op", None)
    if getattr(op, "kind", None) != "operator":
        return
    L = loss.lipschitz()
    if not math.isfinite(L):
        raise ValueError(
            f"the LinearOperator A returned non-finite values (its estimated ||A||^2 is {L}): check its matvec and "
            "rmatvec (NaN or inf in A or in its implementation)."
        )


def _lam_sequence(lam) -> np.ndarray:
    """A list or tuple lam as a float64 array (the per-coordinate form)."""
    try:
        return np.asarray(lam, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lam must be a nonnegative number or a sequence of d nonnegative numbers; got {lam!r}.") from exc


def _admm_applicable(prob) -> bool:
    from cvxpar.losses import LeastSquares

    return isinstance(prob.loss, LeastSquares) and prob.loss.op.kind == "dense"


def _operator_note(loss) -> str:
    kind = getattr(getattr(loss, "op", None), "kind", "dense")
    return "" if kind == "dense" else f" on a {kind} A"


def _cd_refusal(prob) -> str:
    """Why method 'cd' does not apply to this problem, and what to use."""
    from cvxpar.losses import LeastSquares
    from cvxpar.solvers import cd

    if not cd.AVAILABLE:
        return "method 'cd' needs numba, which is not importable here; use 'fista' (or 'auto')."
    if prob.lb is not None and not prob.kpsi.is_convex:
        return (
            "method 'cd' with a nonconvex psi needs scalar Box bounds (one lower and one upper bound for every "
            "coordinate); with per-coordinate bounds use 'fista' or 'pg' (or 'auto')."
        )
    if not isinstance(prob.loss, LeastSquares):
        return f"method 'cd' needs a LeastSquares loss; got {type(prob.loss).__name__}. Use 'fista' (or 'auto')."
    return "method 'cd' needs a LeastSquares loss with a dense NumPy or scipy.sparse A; use 'fista' (or 'auto')."


def pick(prob) -> tuple[str, str]:
    """The method ``"auto"`` runs, and why."""
    if prob.feasible.has_rows:
        return "admm", "Simplex/Linear constraints are handled by ADMM"
    if _cd_applicable(prob) and prob.kpsi.n_breakpoints <= 1 and prob.d > prob.loss.n_samples:
        return "cd", ("wide least squares with a one-breakpoint psi (Lasso-like): working-set coordinate descent "
                      "+ active-set polish")
    if _ssnal_applicable(prob):
        return "ssnal", "least squares with a convex psi: semismooth Newton augmented Lagrangian + active-set polish"
    if _cd_applicable(prob):
        return "cd", "least squares on NumPy: working-set coordinate descent with exact 1-D prox + active-set polish"
    return "fista", "accelerated proximal gradient with restart + active-set polish"


def _ssnal_applicable(prob) -> bool:
    from cvxpar.losses import LeastSquares

    return isinstance(prob.loss, LeastSquares) and prob.convex


def _cd_applicable(prob) -> bool:
    from cvxpar.losses import LeastSquares
    from cvxpar.solvers import cd

    per_coordinate_box_on_nonconvex = prob.lb is not None and not prob.kpsi.is_convex
    return cd.AVAILABLE and isinstance(prob.loss, LeastSquares) and prob.loss.op.kind in ("dense", "sparse") and (
        prob.xp.__name__.endswith("numpy")
    ) and not per_coordinate_box_on_nonconvex
