"""Fuzz ``problem.solve(method="cvxpar")`` on PARs of shifted and scaled coordinates, ``Maximize`` and matrix variables.

Each random :class:`fuzz_problems.Case` (loss, psi, lam, constraints on x) becomes a CVXPY problem whose PAR reads
u = a x + c through one of the forms ``x - c``, ``c + x``, ``x + c`` (c a vector), ``x - s`` (a scalar),
``multiply(a, x) + c`` and ``s * x + c`` (a_i != 0, some negative): the bridge solves it in y = a x + c
(:mod:`cvxpar.bridge.shift`) or, for one common (a, c), with the composed psi.  The variable is a vector or a
matrix (its entries in column-major order), the objective ``Minimize(f)`` or ``Maximize(-f)``.

The answer is checked against an independent model of the same problem: CVXPY + Clarabel with psi written as the
epigraph of its affine pieces read from its breakpoints and values (:func:`fuzz_oracles.psi_pieces`), psi's walls
as bounds on u, and the objective recomputed from the raw data (:func:`fuzz_oracles.loss_value`,
``par_strategies.reference_psi``).  Every ``OPTIMAL`` must be a convex psi, a feasible x (bounds, rows and psi's
domain on u, in their own units) and an objective within Clarabel's accuracy plus the certified residual's bound
of Clarabel's optimum; ``problem.status`` must be the one the bridge's table promises; an ``INFEASIBLE`` or
``UNBOUNDED`` must not be a problem Clarabel solves to optimality; a refusal must be cvxpar's own clear error.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import cvxpy as cp
import numpy as np
from fuzz_oracles import (
    BRIDGE_STATUS,
    CLARABEL_RTOL,
    Finding,
    _cvxpy_constraints,
    _cvxpy_loss,
    bridge_solve_error,
    domain,
    feasibility_ratio,
    is_convex,
    lam_vector,
    loss_value,
    psi_pieces,
    report,
)
from fuzz_problems import PsiSpec, cases
from hypothesis import event, note
from hypothesis import strategies as st
from par_strategies import reference_psi

import cvxpar

TOL = 1e-8
MAX_ITER = 5000
#: the forms of the PAR's argument u = a x + c
FORMS = ("x - c", "c + x", "x + c", "x - s", "multiply(a, x) + c", "s * x + c")
#: a feasibility ratio (fuzz_oracles.feasibility_ratio) within this multiple of tol counts as feasible: the
#: bridge certifies the bounds and rows in y = a x + c, and x = (y - c) / a rounds once more
FEASIBILITY_FACTOR = 10.0
#: |a_i| is at most this: the certified residual's bound F(x) - F* <= r ||y - y*||_1 in y is at most
#: A_MAX r ||x - x*||_1 in x
A_MAX = 2.0


@dataclasses.dataclass
class Shift:
    """u = a x + c (a, c of length d), written in CVXPY by ``form``."""

    form: str
    a: np.ndarray
    c: np.ndarray

    def expr(self, x, shape):
        """The CVXPY expression of u for the variable x (of ``shape``), in the form the user would write."""
        a, c = (v.reshape(shape, order="F") if len(shape) == 2 else v for v in (self.a, self.c))
        return {"x - c": lambda: x - (-c), "c + x": lambda: c + x, "x + c": lambda: x + c,
                "x - s": lambda: x - float(-self.c[0]), "multiply(a, x) + c": lambda: cp.multiply(a, x) + c,
                "s * x + c": lambda: float(self.a[0]) * x + c}[self.form]()


def shifts(d: int, span: float):
    """A :class:`Shift` of each form with offsets on the scale ``span`` of psi's breakpoints."""

    def build(form, seed):
        rng = np.random.default_rng(seed)
        c = np.round(rng.uniform(-1.0, 1.0, d) * span, 3)
        a = np.round(rng.uniform(0.5, A_MAX, d) * np.where(rng.random(d) < 0.3, -1.0, 1.0), 3)
        if form in ("x - c", "c + x", "x + c", "x - s"):
            a = np.ones(d)
        if form == "x - s":
            c = np.full(d, c[0])
        if form == "s * x + c":
            a = np.full(d, a[0])
        return Shift(form, a, c)

    return st.builds(build, st.sampled_from(FORMS), st.integers(0, 2**31 - 1))


def _matrix_shape(d: int, wide: bool) -> tuple[int, ...]:
    """A matrix shape with d entries (d x 1 when d is prime and ``wide`` is False)."""
    r = next(k for k in range(2, d + 1) if d % k == 0) if d > 1 else 1
    return (r, d // r) if wide else (d // r, r)


def build(case, sh: Shift, shape, maximize: bool):
    """(problem, variable) of the case with its PAR on u = a x + c."""
    X = cp.Variable(shape)
    x = cp.vec(X, order="F") if len(shape) == 2 else X
    u = sh.expr(X, shape)
    lam = lam_vector(case)
    lam_u = lam.reshape(shape, order="F") if len(shape) == 2 else lam
    pen = (float(lam[0]) * cp.sum(cvxpar.par(u, case.psi)) if np.all(lam == lam[0])
           else cp.sum(cp.multiply(lam_u, cvxpar.par(u, case.psi))))
    lo, hi = _box(case)
    f = _cvxpy_loss(case, x) + pen
    objective = cp.Maximize(-f) if maximize else cp.Minimize(f)
    return cp.Problem(objective, _cvxpy_constraints(case, x, lo, hi)), X


def _box(case) -> tuple[np.ndarray, np.ndarray]:
    """The case's own bounds on x (psi's domain applies to u, not to x)."""
    lo, hi = np.full(case.d, -np.inf), np.full(case.d, np.inf)
    c = case.cons_data
    if case.cons_kind in ("box", "box_vec"):
        lo, hi = np.broadcast_to(c["lower"], (case.d,)).astype(float), np.broadcast_to(c["upper"], (case.d,)).astype(float)
    elif case.cons_kind == "nonneg":
        lo = np.zeros(case.d)
    return lo, hi


def objective(case, sh: Shift, x) -> float:
    """loss(x) + sum_i lam_i psi(a_i x_i + c_i) from the raw data (+inf outside psi's domain)."""
    p = reference_psi(case.psi, sh.a * x + sh.c)
    lam = lam_vector(case)
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.where(np.isinf(p), p, np.where(lam > 0, lam * p, 0.0))
    return loss_value(case, x) + float(np.sum(terms))


def clarabel(case, sh: Shift):
    """(status, F*, x*) by CVXPY + Clarabel on psi's epigraph (module docstring)."""
    d = case.d
    x, s = cp.Variable(d), cp.Variable(d)
    pieces = psi_pieces(case.psi)
    if len(pieces) > 1 and any(p[0] == p[1] for p in pieces):
        return None, math.nan, None  # a slope beyond the float range: no max of float affine pieces
    slope, icpt = np.array([p[2] for p in pieces]), np.array([p[3] for p in pieces])
    u = cp.multiply(sh.a, x) + sh.c
    lo, hi = _box(case)
    cons = _cvxpy_constraints(case, x, lo, hi)
    cons.append(cp.reshape(s, (d, 1), order="F") @ np.ones((1, slope.size))
                >= cp.reshape(u, (d, 1), order="F") @ slope[None, :] + icpt[None, :])
    dom_lo, dom_hi = domain(case.psi)
    cons += ([u >= dom_lo] if math.isfinite(dom_lo) else []) + ([u <= dom_hi] if math.isfinite(dom_hi) else [])
    prob = cp.Problem(cp.Minimize(_cvxpy_loss(case, x) + lam_vector(case) @ s), cons)
    try:
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11, max_iter=300)
    except cp.SolverError:
        return None, math.nan, None
    return prob.status, prob.value, (None if x.value is None else np.array(x.value))


def infeasibility(case, sh: Shift, x) -> tuple[float, str]:
    """The largest relative violation of the case's bounds and rows (in x) and of psi's domain (in u)."""
    free = dataclasses.replace(case, psi_spec=PsiSpec("l1", "cvxpar.pars.l1()", cvxpar.pars.l1()))  # no walls on x
    worst, where = feasibility_ratio(free, x)
    u = sh.a * x + sh.c
    for name, lim, viol in (("psi's lower wall", domain(case.psi)[0], domain(case.psi)[0] - u),
                            ("psi's upper wall", domain(case.psi)[1], u - domain(case.psi)[1])):
        if math.isfinite(lim):
            r = float(np.max(viol / (1.0 + abs(lim))))
            if r > worst:
                worst, where = r, f"{name} at u = {u!r}"
    return worst, where


def check_answer(case, sh: Shift, problem, X, sign: float) -> str:
    """The promises of the module docstring; returns cvxpar's status; raises :class:`Finding`."""
    stats = problem.solver_stats.extra_stats
    status = "infeasible" if stats is None else stats["status"]
    convex = is_convex(case.psi)
    want = cp.USER_LIMIT if status == "optimal" and not convex else BRIDGE_STATUS[status]
    if problem.status != want:
        raise Finding("bridge-status", f"cvxpar status {status!r} written as {problem.status!r}, expected {want!r}")
    if problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE, cp.USER_LIMIT) and X.value.shape != X.shape:
        raise Finding("bad-shape", f"x.value has shape {X.value.shape}, the variable {X.shape}")
    if not convex or problem.status not in (cp.OPTIMAL, cp.INFEASIBLE, cp.UNBOUNDED):
        return status
    ref_status, f_ref, x_ref = clarabel(case, sh)
    if problem.status in (cp.INFEASIBLE, cp.UNBOUNDED):
        if ref_status == cp.OPTIMAL:
            raise Finding(f"false-{status}", f"status {problem.status!r} but Clarabel solves it (optimum {f_ref!r})")
        return status
    x = np.asarray(X.value, dtype=np.float64).reshape(-1, order="F")
    ratio, where = infeasibility(case, sh, x)
    if ratio > FEASIBILITY_FACTOR * TOL:
        raise Finding("infeasible-certified", f"OPTIMAL but x is infeasible: {where} (relative {ratio:.2e})")
    own = objective(case, sh, x)
    if abs(sign * problem.value - own) > 1e-9 * max(1.0, abs(own)) + 1e-12 * np.abs(case.A).sum() * (
            1.0 + np.abs(x).sum()) * (1.0 + np.abs(case.target).max()):
        raise Finding("objective-mismatch", f"problem.value = {problem.value!r}, recomputed {sign * own!r}")
    if ref_status != cp.OPTIMAL or x_ref is None:
        event(f"Clarabel: {ref_status}")
        return status
    residual = float(stats["result"].residual)
    scale = max(abs(own), abs(f_ref), 1.0)
    slack = CLARABEL_RTOL * scale + A_MAX * residual * float(np.sum(np.abs(x - x_ref)))
    if own > f_ref + slack:
        raise Finding("optimal-not-optimal", f"OPTIMAL at objective {own!r} but Clarabel finds {f_ref!r} "
                                             f"(slack {slack:.2e})")
    return status


def check_shifted(case, sh: Shift, matrix: bool, wide: bool, maximize: bool) -> None:
    shape = _matrix_shape(case.d, wide) if matrix else (case.d,)
    label = f"{'Maximize' if maximize else 'Minimize'}, variable of shape {shape}, PAR of {sh.form}"
    note(f"{label}; a = {sh.a!r}, c = {sh.c!r}\n{case.snippet()}")
    try:
        problem, X = build(case, sh, shape, maximize)
    except Exception as exc:  # a nonconvex psi in a DCP atom: not the bridge's part
        event(f"model not built ({type(exc).__name__})")
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem.solve(method="cvxpar", tol=TOL, max_iter=MAX_ITER)
    except Exception as exc:
        event(bridge_solve_error(exc, label, f"{label}: problem.solve(method='cvxpar')"))
        return
    try:
        event(f"{sh.form}: {check_answer(case, sh, problem, X, -1.0 if maximize else 1.0)}")
    except Finding as finding:
        report(finding, label)


@st.composite
def shifted_cases(draw):
    """(case, shift): a random case and a shift on the scale of its psi's breakpoints."""
    case = draw(cases(max_d=6, max_levels=31, sparse=None))
    q = case.psi.breakpoints
    return case, draw(shifts(case.d, max(float(q[-1] - q[0]), 1.0)))


def test_bridge_with_shifted_pars_maximize_and_matrix_variables(fuzz):
    fuzz.run(lambda pair, matrix, wide, maximize: check_shifted(*pair, matrix, wide, maximize), examples=16,
             pair=shifted_cases(), matrix=st.booleans(), wide=st.booleans(), maximize=st.booleans())
