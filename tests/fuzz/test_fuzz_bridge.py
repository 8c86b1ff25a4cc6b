"""Fuzz ``problem.solve(method="cvxpar")``: Parameters in the PAR weights, the loss's target, the bounds
and the linear rows, solved, changed and solved again.

Each random :class:`fuzz_problems.Case` becomes a CVXPY problem over one vector variable whose data sit
in ``cp.Parameter`` objects (lam, per-coordinate weights, the least-squares / Huber target, finite
bounds, the simplex total, the rows' matrix and right-hand side; A dense or scipy.sparse).  It is
solved, every Parameter is given new values (lam times 0, 0.1 or 10, a shifted target, widened or
narrowed bounds, moved right-hand sides), and solved again: the second solve runs on the bridge's
cached parse and warm start.  After each solve the result must pass :func:`fuzz_oracles.check_result`
on the case the Parameters hold at that moment (the bridge's status mapped back through
``extra_stats["status"]``, ``x.value`` and ``problem.value``), and ``problem.status`` must be the one
the bridge's table promises (``OPTIMAL`` only for a convex psi).  A refusal must be the bridge's
``UnsupportedProblemError`` (or another clear ValueError/TypeError of cvxpar's own).
"""

from __future__ import annotations

import copy
import warnings

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from fuzz_oracles import Finding, bridge_solve_error, check_bridge_answer, report
from fuzz_problems import cases
from hypothesis import event, note
from hypothesis import strategies as st

import cvxpar

TOL = 1e-8
MAX_ITER = 5000


class Model:
    """The CVXPY problem of a case with its data in Parameters, and :meth:`load` to set them from a case."""

    def __init__(self, case) -> None:
        d, n = case.d, case.A.shape[0]
        self.x = x = cp.Variable(d)
        A = sp.csr_matrix(case.A) if case.sparse else case.A
        self.vector_lam = np.ndim(case.lam) > 0
        self.lam = cp.Parameter(d if self.vector_lam else (), nonneg=True)
        self.target = cp.Parameter(n)
        if case.loss_kind in ("ls", "smooth"):
            loss = 0.5 * cp.sum_squares(A @ x - self.target)
        elif case.loss_kind == "logistic":
            loss = cp.sum(cp.logistic(-cp.multiply(case.target, A @ x)))
        else:
            loss = 0.5 * cp.sum(cp.huber(A @ x - self.target, case.huber_M))
        term = self.lam @ cvxpar.par(x, case.psi) if self.vector_lam else self.lam * cp.sum(cvxpar.par(x, case.psi))
        cons, c = [], case.cons_data
        self.lower = self.upper = self.total = self.G = self.h = None
        if case.cons_kind in ("box", "box_vec"):
            lo, hi = (np.broadcast_to(c[k], (d,)) for k in ("lower", "upper"))
            self.lo_idx, self.hi_idx = np.flatnonzero(np.isfinite(lo)), np.flatnonzero(np.isfinite(hi))
            if self.lo_idx.size:
                self.lower = cp.Parameter(self.lo_idx.size)
                cons.append(x[self.lo_idx] >= self.lower)
            if self.hi_idx.size:
                self.upper = cp.Parameter(self.hi_idx.size)
                cons.append(x[self.hi_idx] <= self.upper)
        elif case.cons_kind == "nonneg":
            cons.append(x >= 0)
        elif case.cons_kind == "simplex":
            self.total = cp.Parameter(nonneg=True)
            cons += [x >= 0, cp.sum(x) == self.total]
        elif case.cons_kind in ("linear_eq", "linear_ineq"):
            G = c["A_eq"] if case.cons_kind == "linear_eq" else c["A_ub"]
            self.G, self.h = cp.Parameter(G.shape), cp.Parameter(G.shape[0])
            cons.append(self.G @ x == self.h if case.cons_kind == "linear_eq" else self.G @ x <= self.h)
        self.problem = cp.Problem(cp.Minimize(loss + term), cons)

    def load(self, case) -> None:
        self.lam.value = np.asarray(case.lam, dtype=np.float64) if self.vector_lam else float(case.lam)
        self.target.value = np.asarray(case.target, dtype=np.float64)
        c = case.cons_data
        if self.lower is not None:
            self.lower.value = np.broadcast_to(c["lower"], (case.d,))[self.lo_idx].astype(np.float64)
        if self.upper is not None:
            self.upper.value = np.broadcast_to(c["upper"], (case.d,))[self.hi_idx].astype(np.float64)
        if self.total is not None:
            self.total.value = float(c["total"])
        if self.G is not None:
            key = "A_eq" if case.cons_kind == "linear_eq" else "A_ub"
            self.G.value = c[key]
            self.h.value = c["b_eq" if key == "A_eq" else "b_ub"]


def changed(case, factor: float, shift: float, seed: int):
    """The case with every Parameter moved (module docstring); the constraints stay of the same kind."""
    rng = np.random.default_rng(seed)
    new = copy.deepcopy(case)
    new.lam = np.asarray(case.lam, dtype=np.float64) * factor if np.ndim(case.lam) else float(case.lam) * factor
    if case.loss_kind != "logistic":
        new.target = case.target + shift * rng.standard_normal(case.target.shape) * (1.0 + np.abs(case.target))
    c = new.cons_data
    if case.cons_kind in ("box", "box_vec"):
        lo, hi = np.broadcast_to(c["lower"], (case.d,)), np.broadcast_to(c["upper"], (case.d,))
        mid = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi), 0.0)
        lo = np.where(np.isfinite(lo), np.minimum(lo - shift, mid), lo)  # shift < 0 narrows, never past the middle
        hi = np.where(np.isfinite(hi), np.maximum(hi + shift, mid), hi)
        c["lower"], c["upper"] = lo, hi
        new.cons_kind = "box_vec"
    elif case.cons_kind == "simplex":
        c["total"] = float(c["total"]) * (1.0 + abs(shift))
    elif case.cons_kind == "linear_eq":
        c["A_eq"] = c["A_eq"] + 0.1 * shift * rng.standard_normal(c["A_eq"].shape)
        c["b_eq"] = c["b_eq"] + shift * rng.standard_normal(c["b_eq"].shape)
    elif case.cons_kind == "linear_ineq":
        c["A_ub"] = c["A_ub"] + 0.1 * shift * rng.standard_normal(c["A_ub"].shape)
        c["b_ub"] = c["b_ub"] + shift * rng.standard_normal(c["b_ub"].shape)
    return new


def solve_and_check(model: Model, case, algorithm: str, label: str) -> None:
    note(f"{label}:\n{case.snippet()}")
    model.load(case)
    prob = model.problem
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob.solve(method="cvxpar", algorithm=algorithm, tol=TOL, max_iter=MAX_ITER)
    except Exception as exc:
        outcome = bridge_solve_error(exc, label, f"{label}: problem.solve(method='cvxpar', algorithm={algorithm!r})")
        event(f"{label}: {outcome}")
        return
    try:
        event(f"{label}: {check_bridge_answer(case, prob, model.x.value, TOL)}")
    except Finding as finding:
        report(finding, label)


def check_bridge(case, algorithm, factor, shift, seed) -> None:
    try:
        model = Model(case)
    except Exception as exc:  # a nonconvex psi in a DCP atom, or a shape CVXPY refuses: not the bridge's part
        event(f"model not built ({type(exc).__name__})")
        return
    solve_and_check(model, case, algorithm, "first solve")
    solve_and_check(model, changed(case, factor, shift, seed), algorithm, "after changing the Parameters")


def test_bridge_with_parameters(fuzz):
    fuzz.run(check_bridge, examples=10, case=cases(max_d=6, max_levels=31, sparse=None, degenerate=True),
             algorithm=st.sampled_from(["auto", "auto", "fista", "cd", "ssnal", "admm"]),
             factor=st.sampled_from([0.0, 0.1, 10.0]), shift=st.sampled_from([0.0, 0.3, -0.2]),
             seed=st.integers(0, 2**31 - 1))


def test_bridge_with_parameters_in_rows(fuzz):
    kind = st.sampled_from(["simplex", "linear_eq", "linear_ineq", "box_vec"])
    fuzz.run(check_bridge, examples=6,
             case=kind.flatmap(lambda k: cases(max_d=6, max_levels=15, constraint=k, sparse=None, degenerate=True)),
             algorithm=st.just("auto"), factor=st.sampled_from([0.1, 10.0]), shift=st.sampled_from([0.3, -0.2]),
             seed=st.integers(0, 2**31 - 1))
