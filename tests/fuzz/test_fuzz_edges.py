"""Fuzz ``cvxpar.solve`` at the edges of its inputs: data layouts, redundant and almost-empty rows, odd psi.

Each random :class:`fuzz_problems.Case` is changed along one axis and solved (``auto`` and one drawn method); the
result must pass :func:`fuzz_oracles.check_result` on the changed case (an honest status, a certified one that
agrees with the recomputed certificate, a feasible x in its rows' own units, no worse than Clarabel):

- data layouts: A and the target as float32 (the case then holds the float32-rounded values, the problem that
  was solved), as integers, Fortran-ordered, as non-contiguous views (every other column of a wider array, a
  reversed target), lam as a float32 array or a list of ints, Box bounds as float32 or Fortran-ordered views;
  where the float64 case certifies and the layout's solve certifies too, both objectives agree;
- rows: a Linear set with a duplicated row, a row scaled by -2.5 or 3, a redundant row (the sum of two, with the
  sum of their sides), and an almost empty set: an inequality row and its negation shifted by a relative 1e-4 ..
  1e-13, or an equality row repeated with its side moved by as much;
- psi: one breakpoint (two pieces, any slopes among 0, +-1e-300, +-1e-3, +-1, +-1e8, +-1e12 and walls), a
  single affine piece walled on one side, and lam = 0 exactly.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
from fuzz_oracles import Finding, References, check_rejection, check_result, is_convex, objective, report
from fuzz_problems import PsiSpec, cases
from hypothesis import event, note
from hypothesis import strategies as st

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import Huber, LeastSquares, Logistic

TOL = 1e-8
METHODS = ("pg", "fista", "cd", "ssnal", "alm", "admm")
MAX_ITER = {"pg": 3000, "fista": 3000, "cd": 3000, "ssnal": 200, "alm": 100, "admm": 3000, "auto": 3000}
LAYOUTS = ("float32", "int", "fortran", "strided", "lam_float32", "lam_int_list", "bounds_float32", "bounds_view")
ROWS = ("duplicate", "scaled", "redundant", "almost_empty")
SLOPES = (0.0, 1e-300, -1e-300, 1e-3, -1e-3, 1.0, -1.0, 1e8, -1e8, 1e12, -1e12)


def _solve(case, loss, constraints, method: str, label: str, lam=None):
    """``(result, loss, constraints)`` checked against ``case``, or None when the method refused (checked) or
    the result broke a promise (reported)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = cvxpar.solve(loss, case.psi, case.lam if lam is None else lam, constraints=constraints,
                               method=method, tol=TOL, max_iter=MAX_ITER[method])
    except Exception as exc:
        try:
            check_rejection(exc, f"{label}: solve(method={method!r})")
        except Finding as finding:
            report(finding, label)
        event(f"{label}: rejected ({type(exc).__name__})")
        return None
    event(f"{label}: {res.status}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            check_result(case, res, TOL, References(case), case.loss(), case.constraints())
    except Finding as finding:
        report(_float32_class(finding, case, res, label), f"{label}, method={method!r}")
    return res


def _float32_class(finding: Finding, case, res, label: str) -> Finding:
    """A finding on float32 data where only the reported objective disagrees, by float32 rounding (1e-6 of it), is
    of the open class ``float32-reported-objective`` (fuzz_oracles.OPEN).  lam and the Box bounds are solved and
    certified as given since session 13 (float64), so a finding they would explain is no longer excused."""
    if label != "float32":
        return finding
    x = np.asarray(res.x, dtype=np.float64)
    if finding.cls == "objective-mismatch" and abs(res.objective - objective(case, x)) <= 1e-6 * max(1.0, abs(res.objective)):
        return Finding("float32-reported-objective", str(finding))
    return finding


def _loss(kind: str, A, t, M: float):
    return {"ls": lambda: LeastSquares(A, t), "logistic": lambda: Logistic(A, t),
            "huber": lambda: Huber(A, t, M=M)}[kind]()


def _layout(case, layout: str):
    """(the case of the problem solved, its loss, its constraints, its lam) in ``layout`` (module docstring)."""
    A, t, lam, cons = case.A, case.target, case.lam, case.constraints()
    if layout == "float32":
        A, t = A.astype(np.float32), t.astype(np.float32)
        case = dataclasses.replace(case, A=A.astype(np.float64), target=t.astype(np.float64))
    elif layout == "int":
        A = np.round(A / max(float(np.abs(A).max()), 1e-300) * 50.0).astype(np.int64)
        t = t if case.loss_kind == "logistic" else np.round(t / max(float(np.abs(t).max()), 1e-300) * 50.0).astype(np.int64)
        case = dataclasses.replace(case, A=A.astype(np.float64), target=np.asarray(t, dtype=np.float64))
    elif layout == "fortran":
        A = np.asfortranarray(A)
    elif layout == "strided":
        wide = np.zeros((A.shape[0], 2 * A.shape[1]))
        wide[:, ::2] = A
        A = wide[:, ::2]
        t = np.ascontiguousarray(t[::-1])[::-1]
    elif layout == "lam_float32" and np.ndim(lam):
        lam = np.asarray(lam, dtype=np.float32)
        case = dataclasses.replace(case, lam=lam.astype(np.float64))
    elif layout == "lam_int_list" and np.max(lam) < 1e6:
        lam = [round(v) for v in np.broadcast_to(np.asarray(lam, dtype=np.float64), (case.d,)).tolist()]
        case = dataclasses.replace(case, lam=np.asarray(lam, dtype=np.float64))
    elif layout in ("bounds_float32", "bounds_view") and case.cons_kind == "box_vec":
        lo, hi = (np.asarray(case.cons_data[k], dtype=np.float64) for k in ("lower", "upper"))
        if layout == "bounds_float32":
            lo32, hi32 = lo.astype(np.float32), hi.astype(np.float32)
            hi32 = np.maximum(hi32, lo32)
            cons = Box(lo32, hi32)
            case = dataclasses.replace(case, cons_data={"lower": lo32.astype(np.float64), "upper": hi32.astype(np.float64)})
        else:
            both = np.stack([lo, hi])  # rows of a C-ordered pair: each a view with stride 2 after the transpose
            cons = Box(both.T[:, 0], both.T[:, 1])
    if case.loss_kind == "smooth":  # a Smooth loss holds closures: it keeps the case's own data
        return case, case.loss(), cons, lam
    return case, _loss(case.loss_kind, A, t, case.huber_M), cons, lam


def check_layout(case, layout: str, method: str, seed: int) -> None:
    case = dataclasses.replace(case, sparse=False)
    note(f"layout {layout}, method {method}\n{case.snippet()}")
    base = _solve(case, case.loss(), case.constraints(), method, "float64")
    changed, loss, cons, lam = _layout(case, layout)
    res = _solve(changed, loss, cons, method, layout, lam=lam)
    if (changed is not case or base is None or res is None or base.status != "optimal" or res.status != "optimal"
            or not is_convex(case.psi)):
        return  # the same problem, both certified: the same optimum
    scale = max(1.0, abs(base.objective), abs(res.objective))
    slack = 1e-7 * scale + (base.residual + res.residual) * float(np.sum(np.abs(base.x - res.x)))
    if abs(base.objective - res.objective) > slack:
        report(Finding("layout-changes-optimum", f"{layout}: objective {res.objective!r}, float64 C-ordered "
                                                 f"{base.objective!r} (slack {slack:.2e})"), layout)


def test_data_layouts_give_honest_answers(fuzz):
    fuzz.run(check_layout, examples=10, case=cases(max_d=5, max_levels=15, loss=None),
             layout=st.sampled_from(LAYOUTS), method=st.sampled_from(("auto", *METHODS)), seed=st.integers(0, 2**31 - 1))


def _rows(case, how: str, eps: float, seed: int):
    """The case with its Linear rows changed ``how`` (module docstring)."""
    rng = np.random.default_rng(seed)
    key, side = ("A_eq", "b_eq") if case.cons_kind == "linear_eq" else ("A_ub", "b_ub")
    G, h = np.asarray(case.cons_data[key], dtype=np.float64), np.asarray(case.cons_data[side], dtype=np.float64)
    i = int(rng.integers(G.shape[0]))
    if how == "duplicate":
        G, h = np.vstack([G, G[i]]), np.append(h, h[i])
    elif how == "scaled":
        f = -2.5 if key == "A_eq" else 3.0
        G, h = np.vstack([G, f * G[i]]), np.append(h, f * h[i])
    elif how == "redundant":
        j = int(rng.integers(G.shape[0]))
        G, h = np.vstack([G, G[i] + G[j]]), np.append(h, h[i] + h[j])
    else:  # almost empty
        moved = h[i] + eps * (1.0 + abs(h[i]))
        if key == "A_eq":
            G, h = np.vstack([G, G[i]]), np.append(h, moved)
        else:
            G, h = np.vstack([G, -G[i]]), np.append(h, -moved)
    return dataclasses.replace(case, cons_data={key: G, side: h})


def check_rows(case, how: str, eps: float, method: str, seed: int) -> None:
    changed = _rows(case, how, eps, seed)
    note(f"rows {how} (eps {eps}), method {method}\n{changed.snippet()}")
    _solve(changed, changed.loss(), changed.constraints(), method, f"rows {how}")


def test_redundant_and_almost_empty_rows(fuzz):
    kind = st.sampled_from(["linear_eq", "linear_ineq"])
    fuzz.run(check_rows, examples=10,
             case=kind.flatmap(lambda k: cases(max_d=5, max_levels=15, constraint=k, loss="ls")),
             how=st.sampled_from(ROWS), eps=st.sampled_from([1e-4, 1e-7, 1e-10, 1e-13]),
             method=st.sampled_from(["auto", "admm", "alm"]), seed=st.integers(0, 2**31 - 1))


@st.composite
def edge_psi(draw) -> PsiSpec:
    """One breakpoint with two slopes from :data:`SLOPES` (or walls), or one affine piece walled on one side."""
    q = draw(st.sampled_from([0.0, 0.5, -2.0, 1e-8]))
    value = draw(st.sampled_from([0.0, 1.0, -3.0]))
    left = draw(st.sampled_from([*SLOPES, -math.inf]))
    right = draw(st.sampled_from([*SLOPES, math.inf]))
    if draw(st.booleans()):  # a single affine piece: a wall on one side
        s = draw(st.sampled_from(SLOPES))
        left, right = (-math.inf, s) if draw(st.booleans()) else (s, math.inf)
    psi = cvxpar.PAR([q], [value], left, right)
    return PsiSpec("edge", f"cvxpar.PAR([{q!r}], [{value!r}], {left!r}, {right!r})", psi)


def check_edge_psi(case, spec: PsiSpec, zero_lam: bool, method: str) -> None:
    changed = dataclasses.replace(case, psi_spec=spec, lam=0.0 if zero_lam else case.lam)
    note(f"psi {spec.source}, method {method}\n{changed.snippet()}")
    _solve(changed, changed.loss(), changed.constraints(), method, "edge psi")


def test_single_piece_and_huge_slope_psi(fuzz):
    fuzz.run(check_edge_psi, examples=12, case=cases(max_d=5, max_levels=3), spec=edge_psi(), zero_lam=st.booleans(),
             method=st.sampled_from(("auto", *METHODS)))
