"""Fuzz ``cvxpar.solve``: on random problems every method that accepts one returns an honest status.

For each random :class:`fuzz_problems.Case` and each method (pg, fista, cd, ssnal, alm, admm, auto, and
aprox for the honesty of its status only) the result must pass :func:`fuzz_oracles.check_result`:
a certified status ("optimal", "optimal_inaccurate", "stationary") agrees with the recomputed
certificate, x is feasible in its own units, the objective is what it says and (convex psi) no
worse than Clarabel's optimum on our own epigraph model, or (nonconvex psi, few pieces) never
below the brute-force global minimum and, if "optimal", equal to it; "infeasible" is confirmed by
an LP; "diverged" means non-finite values.  A method may refuse a problem only with cvxpar's own
ValueError/TypeError; any other exception is an internal error.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from fuzz_oracles import Finding, References, check_rejection, check_result, report
from fuzz_problems import cases
from hypothesis import event, note
from hypothesis import strategies as st

import cvxpar

METHODS = ("pg", "fista", "cd", "ssnal", "alm", "admm", "auto", "aprox")
#: iteration caps that keep a CI example to about a second (ten times more in the long form); a
#: capped run must say "max_iter", which is as honest a status as any
_CAP = 10 if os.environ.get("CVXPAR_FUZZ") == "long" else 1
MAX_ITER = {"pg": 300 * _CAP, "fista": 300 * _CAP, "cd": 300 * _CAP, "ssnal": 100, "alm": 20 * _CAP, "admm": 500 * _CAP, "auto": 300 * _CAP,
            "aprox": None}
TOL = 1e-8


def solve_and_check(case) -> None:
    """Solve ``case`` with every method and check each result (module docstring)."""
    note(case.snippet())
    tol = TOL
    refs = References(case)
    for method in METHODS:
        loss, constraints = case.loss(), case.constraints()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = cvxpar.solve(loss, case.psi, case.lam, constraints=constraints, method=method, tol=tol,
                                   max_iter=MAX_ITER[method])
        except Exception as exc:
            try:
                check_rejection(exc, f"solve(method={method!r})")
            except Finding as finding:
                report(finding, f"method={method!r}")
            event(f"{method}: rejected ({type(exc).__name__})")
            continue
        event(f"{method}: {res.status}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                check_result(case, res, tol, refs, loss, constraints)
        except Finding as finding:
            report(finding, f"method={method!r}")


def test_solve_statuses_are_honest(fuzz):
    fuzz.run(solve_and_check, examples=14, case=cases())


def test_solve_statuses_are_honest_nonconvex_small(fuzz):
    """Few pieces and coordinates, so brute force enumerates the global optimum."""
    family = st.sampled_from(["mcp", "sawtooth", "staircase", "from_slopes"])
    fuzz.run(solve_and_check, examples=8,
             case=family.flatmap(lambda f: cases(max_d=3, max_levels=3, family=f)))


def test_solve_statuses_are_honest_constrained(fuzz):
    """Simplex and Linear constraints (ADMM, auto, and every method that must refuse them)."""
    kind = st.sampled_from(["simplex", "linear_eq", "linear_ineq", "box_vec"])
    fuzz.run(solve_and_check, examples=8, case=kind.flatmap(lambda k: cases(loss="ls", constraint=k)))


def test_solve_on_extreme_scales(fuzz):
    """Data scaled by 1e-6 or 1e6 with lam at its extremes."""

    def body(case, scale):
        case.A = case.A * scale
        case.target = case.target if case.loss_kind == "logistic" else case.target * scale
        solve_and_check(case)

    fuzz.run(body, examples=6, case=cases(max_d=5), scale=st.sampled_from([1e-6, 1e6]))


def test_reproducer_snippet_rebuilds_the_case():
    """Case.snippet() is the reproducer a report quotes: it must rebuild the same problem."""
    from hypothesis import given, settings

    @settings(settings.get_profile("fuzz-ci"), max_examples=20)
    @given(case=cases())
    def check(case):
        env: dict = {}
        exec(case.snippet(), env)
        assert env["psi"] == case.psi
        assert np.array_equal(env["A"], case.A) and np.array_equal(env["target"], case.target)
        assert np.array_equal(np.asarray(env["lam"]), np.asarray(case.lam))
        assert repr(env["constraints"]) == repr(case.constraints())
        x = np.linspace(-1.0, 1.0, case.d)
        assert env["loss"].value(x) == case.loss().value(x)

    check()
