"""Fuzz the unboundedness verdict of every entry point against Clarabel's.

Random problems that are unbounded below or bounded but degenerate (:func:`fuzz_problems.recession_cases`:
psi's tails descending, flat, rising, walled or concave; wide, rank-deficient, zero or duplicated columns;
every loss and constraint kind) go through ``cvxpar.solve`` (auto, fista and aprox), ``solve_batch``
(least squares under at most a scalar box), ``lambda_path`` and ``problem.solve(method="cvxpar")``.
Clarabel's verdict on the problem with psi replaced by its tails
(:func:`fuzz_oracles.clarabel_boundedness`) is the reference:

- unbounded: a loss with an exact recession test (least squares, Huber, logistic) must get the status
  ``"unbounded"`` (the bridge: ``UNBOUNDED``); a ``Smooth`` loss, which has none, must never be
  ``"optimal"`` / ``"optimal_inaccurate"``, and a result that leaves the question open says the test was
  skipped;
- bounded or infeasible: never ``"unbounded"``;

and every result passes :func:`fuzz_oracles.check_result` (a claimed direction makes F fall from a feasible
point; a certified status agrees with the certificate and Clarabel's optimum).
"""

from __future__ import annotations

import copy
import warnings

import cvxpy as cp
import numpy as np
from fuzz_oracles import Finding, References, check_rejection, check_result, clarabel_boundedness, report
from fuzz_problems import recession_cases
from hypothesis import event, note
from hypothesis import strategies as st
from test_fuzz_bridge import Model

import cvxpar
from cvxpar.batch import solve_batch

TOL = 1e-8
MAX_ITER = {"auto": 300, "fista": 300, "aprox": None}
#: losses whose recession test gives an exact verdict
EXACT = ("ls", "huber", "logistic")


def check_verdict(case, status: str, message: str, verdict: str | None, label: str) -> None:
    """The status against Clarabel's verdict (module docstring); raises :class:`Finding`."""
    if verdict is None:
        return
    if verdict == "unbounded" and case.loss_kind in EXACT and status != "unbounded":
        raise Finding("missed-unbounded", f"{label}: Clarabel says unbounded, status {status!r}: {message}")
    if verdict == "unbounded" and case.loss_kind not in EXACT:
        if status in ("optimal", "optimal_inaccurate"):
            raise Finding("certified-unbounded", f"{label}: status {status!r} on a problem Clarabel calls unbounded")
        if status in ("max_iter", "diverged") and "recession test was skipped" not in message:
            raise Finding("silent-skip", f"{label}: status {status!r} without saying the recession test was skipped")
    if verdict in ("bounded", "infeasible") and status == "unbounded":
        raise Finding("false-unbounded", f"{label}: Clarabel says {verdict}, status 'unbounded': {message}")


def _run(label: str, call):
    """call() with cvxpar's rejections checked; None when it refused the problem."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except Exception as exc:
        try:
            check_rejection(exc, label)
        except Finding as finding:
            report(finding, label)
        event(f"{label}: rejected ({type(exc).__name__})")
        return None


def _checked(case, res, verdict, label: str) -> None:
    event(f"{label}: {res.status} (Clarabel: {verdict})")
    try:
        check_verdict(case, res.status, res.message, verdict, label)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            check_result(case, res, TOL, References(case), case.loss(), case.constraints())
    except Finding as finding:
        report(finding, label)


def _with_lam(case, lam):
    new = copy.copy(case)
    new.lam = lam
    return new


def check_solve_and_path(case) -> None:
    note(case.snippet())
    verdict = clarabel_boundedness(case)
    for method in MAX_ITER:
        label = f"solve(method={method!r})"
        res = _run(label, lambda m=method: cvxpar.solve(case.loss(), case.psi, case.lam, constraints=case.constraints(),
                                                         method=m, tol=TOL, max_iter=MAX_ITER[m]))
        if res is not None:
            _checked(case, res, verdict, label)
    smaller = np.asarray(case.lam) / 10.0 if np.ndim(case.lam) else case.lam / 10.0
    path = _run("lambda_path", lambda: cvxpar.lambda_path(case.loss(), case.psi, [case.lam, smaller],
                                                          constraints=case.constraints(), max_iter=300))
    for k, res in enumerate(path or []):
        step = _with_lam(case, [case.lam, smaller][k])
        _checked(step, res, verdict if k == 0 else clarabel_boundedness(step), f"lambda_path[{k}]")


def check_batch(case) -> None:
    """solve_batch on least squares: lams (0, lam, 3 lam), each column against its own Clarabel verdict."""
    note(case.snippet())
    lams = [0.0, float(case.lam), 3.0 * float(case.lam)]
    res = _run("solve_batch", lambda: solve_batch(case.loss(), case.psi, lams, constraints=case.constraints(),
                                                  max_iter=2000))
    if res is None:
        return
    for j, lam in enumerate(lams):
        column = _with_lam(case, lam)
        _checked(column, res[j], clarabel_boundedness(column), f"solve_batch column {j} (lam = {lam:g})")


def check_bridge(case) -> None:
    """problem.solve(method="cvxpar") on the case's CVXPY model: UNBOUNDED exactly where Clarabel says so (the
    model writes a Smooth case as least squares, whose test is exact)."""
    note(case.snippet())
    try:
        model = Model(case)
    except Exception as exc:  # a shape or atom CVXPY refuses: not the bridge's part
        event(f"model not built ({type(exc).__name__})")
        return
    model.load(case)
    verdict = clarabel_boundedness(case)
    label = "problem.solve(method='cvxpar')"
    if _run(label, lambda: model.problem.solve(method="cvxpar", tol=TOL, max_iter=2000)) is None and \
            model.problem.status is None:
        return
    status = model.problem.status
    event(f"bridge: {status} (Clarabel: {verdict})")
    if verdict == "unbounded" and status != cp.UNBOUNDED:
        report(Finding("missed-unbounded", f"{label}: Clarabel says unbounded, CVXPY status {status!r}"), label)
    if verdict in ("bounded", "infeasible") and status == cp.UNBOUNDED:
        report(Finding("false-unbounded", f"{label}: Clarabel says {verdict}, CVXPY status UNBOUNDED"), label)


def test_solve_and_path_agree_with_clarabel_on_boundedness(fuzz):
    fuzz.run(check_solve_and_path, examples=12, case=recession_cases())


def test_solve_batch_agrees_with_clarabel_on_boundedness(fuzz):
    box = st.sampled_from(["none", "none", "nonneg", "box"])
    fuzz.run(check_batch, examples=10,
             case=box.flatmap(lambda k: recession_cases(loss="ls", constraint=k, scalar_lam=True)))


def test_bridge_agrees_with_clarabel_on_boundedness(fuzz):
    fuzz.run(check_bridge, examples=10, case=recession_cases())


def test_check_verdict_catches_each_broken_promise():
    """The oracle itself: each way a status can contradict Clarabel's verdict is a Finding."""
    from fuzz_problems import Case, PsiSpec

    psi = cvxpar.PAR([0.0], [0.0], 1.0, -0.5)
    case = Case("ls", np.ones((1, 2)), np.ones(1), PsiSpec("tails", "", psi), 1.0, "none")
    smooth = copy.copy(case)
    smooth.loss_kind = "smooth"
    for c, status, message, verdict, cls in (
            (case, "max_iter", "", "unbounded", "missed-unbounded"),
            (case, "unbounded", "", "bounded", "false-unbounded"),
            (smooth, "optimal", "", "unbounded", "certified-unbounded"),
            (smooth, "max_iter", "iteration limit", "unbounded", "silent-skip")):
        try:
            check_verdict(c, status, message, verdict, "test")
        except Finding as finding:
            assert finding.cls == cls
        else:
            raise AssertionError(f"{cls} not caught")
    check_verdict(smooth, "max_iter", "The recession test was skipped (...)", "unbounded", "test")
    check_verdict(case, "unbounded", "", "unbounded", "test")
