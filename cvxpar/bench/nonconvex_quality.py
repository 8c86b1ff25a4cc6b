"""Nonconvex quality: how far ``cvxpar.solve``'s certified stationary point is above the global optimum.

For a nonconvex psi, ``cvxpar.solve`` returns a certified (Clarke) stationary point, which need not be a
global minimizer.  This benchmark measures the gap on small random least-squares problems

    minimize 1/2 ||Ax - b||^2 + lam * sum_i psi(x_i)   (with and without a Box),

against the exact global optimum F* of ``cvxpar.reference`` (for least squares with bounds only, the
branch and bound on convex envelopes of :mod:`cvxpar.exact.bnb`, run to a closed gap).  The excess of a
solve is (F_solve - F*) / |F*|.  Every nonconvex family of :mod:`cvxpar.pars` (mcp, sawtooth, the
quasiconvex staircase), the ridge and l1 PARs made nonconvex by a sawtooth term (``beta * dist(x, Q)``:
concave kinks between the grid points), and random nonconvex PARs built with
:meth:`cvxpar.PAR.from_slopes`.  Data: d in ``SIZES``, n = d/2, d and 2d rows, Gaussian A, x_true uniform
on [-1, 1] (off the grid), b = A x_true + 0.3 noise, lam = n * 10^u with u uniform on [-1.5, 0] (from
barely to strongly quantizing).  Problems whose reference does not close its gap within ``TIME_LIMIT``
seconds are left out of the excess columns and counted in "gap open"; "solve certified global" counts the
problems on which the solve's own budgeted branch and bound (:mod:`cvxpar.solvers.tree_search`) closed
its gap.  "cost" is the median over the problems of the default solve's time over one solve from
x0 = 0 (one start, no local search), timed back to back.  Run with one BLAS thread (``OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

import cvxpar
from cvxpar import PAR, grids, pars
from cvxpar.bench._table import Table
from cvxpar.constraints import Box
from cvxpar.losses import LeastSquares
from cvxpar.reference import SlowReferenceWarning

#: (dimensions d, rows n as multiples of d, seeds per (family, d, n, box)) per size
SIZES = {"small": ((6,), (0.5, 2.0), 1), "full": ((10, 20, 30), (0.5, 1.0, 2.0), 2)}
#: seconds for one reference (a problem whose gap stays open is left out of the excess)
TIME_LIMIT = 30.0
BOX = (-1.0, 1.0)


def _with_sawtooth(base: PAR, beta: float) -> PAR:
    """base + beta * dist(x, Q), Q = base's breakpoints: concave kinks at the midpoints of Q."""
    q = base.breakpoints
    mids = (q[1:] + q[:-1]) / 2
    points = np.sort(np.concatenate((q, mids)))
    values = base(points) + beta * np.abs(points - _nearest(q, points))
    return PAR(points, values, base.left_slope - beta, base.right_slope + beta)


def _nearest(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(q, x), 1, q.size - 1)
    return np.where(x - q[idx - 1] <= q[idx] - x, q[idx - 1], q[idx])


def _random_nonconvex(rng: np.random.Generator) -> PAR:
    """A from_slopes PAR on 7 uniform breakpoints with random inner slopes in [-1, 1] (nonconvex), outer
    slopes -1.5 / +1.5 (bounded below)."""
    while True:
        slopes = np.concatenate(([-1.5], rng.uniform(-1.0, 1.0, 6), [1.5]))
        psi = PAR.from_slopes(grids.uniform(1.0 / 3.0, 7), slopes)
        if psi.curvature == "nonconvex":
            return psi


def families() -> dict[str, Callable[[np.random.Generator], PAR]]:
    """name -> builder of a psi (random ones draw from the generator)."""
    return {
        "mcp": lambda rng: pars.mcp(grids.uniform(0.5, 9), gamma=1.0),
        "sawtooth": lambda rng: pars.sawtooth(grids.uniform(0.25, 9)),
        "staircase (quasiconvex)": lambda rng: pars.staircase(grids.uniform(0.5, 5)),
        "ridge + sawtooth": lambda rng: _with_sawtooth(pars.ridge(grids.uniform(0.5, 5)), 0.5),
        "l1 + sawtooth": lambda rng: _with_sawtooth(pars.l1(grids.uniform(0.5, 5)), 0.5),
        "random from_slopes": _random_nonconvex,
    }


@dataclass
class Case:
    family: str
    d: int
    n: int
    box: bool
    seed: int
    loss: LeastSquares
    psi: PAR
    lam: float

    @property
    def constraints(self):
        return Box(*BOX) if self.box else None


def cases(size: str, names: list[str] | None = None) -> Iterator[Case]:
    """The benchmark's problems, deterministic per (family, d, n, box, seed)."""
    dims, ratios, n_seeds = SIZES[size]
    for f_index, (family, build) in enumerate(families().items()):
        if names is not None and family not in names:
            continue
        for d in dims:
            for n in (max(int(round(r * d)), 1) for r in ratios):
                for box in (False, True):
                    for seed in range(n_seeds):
                        key = [f_index, n, int(box), seed] if d == 10 else [f_index, d, n, int(box), seed]
                        rng = np.random.default_rng(key)
                        A = rng.standard_normal((n, d))
                        b = A @ rng.uniform(-1.0, 1.0, d) + 0.3 * rng.standard_normal(n)
                        lam = float(n * 10.0 ** rng.uniform(-1.5, 0.0))
                        yield Case(family, d, n, box, seed, LeastSquares(A, b), build(rng), lam)


@dataclass
class Outcome:
    case: Case
    excess: float | None  # None: the reference did not close its gap
    stationary: bool
    closed: bool  # the solve's own budgeted search closed its gap (a global certificate)
    solve_time: float
    single_time: float
    reference_time: float


def solve_and_reference(loss, psi, lam, constraints, time_limit: float = TIME_LIMIT, clock=time.perf_counter,
                        solve_options: dict | None = None):
    """(the solve with ``solve_options`` (default: none), its time, the time of one solve from x0 = 0, the
    reference, its time), timed by ``clock``."""
    d = loss.n_features
    t0 = clock()
    res = cvxpar.solve(loss, psi, lam, constraints, **(solve_options or {}))
    t_solve = clock() - t0
    t0 = clock()
    cvxpar.solve(loss, psi, lam, constraints, x0=np.zeros(d))
    t_single = clock() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SlowReferenceWarning)
        t0 = clock()
        ref = cvxpar.reference(loss, psi, lam, constraints, time_limit=time_limit)
        t_ref = clock() - t0
    return res, t_solve, t_single, ref, t_ref


def measure(case: Case, solve_options: dict | None = None, time_limit: float = TIME_LIMIT) -> Outcome:
    """Solve one case with ``cvxpar.solve`` (default, and once from 0) and ``cvxpar.reference``."""
    res, t_solve, t_single, ref, t_ref = solve_and_reference(case.loss, case.psi, case.lam, case.constraints,
                                                             time_limit, solve_options=solve_options)
    excess = None
    if ref.status == "optimal":
        excess = (res.objective - ref.objective) / max(abs(ref.objective), 1e-12)
    closed = bool(res.info.get("tree_search", {}).get("closed", False))
    return Outcome(case, excess, res.status == "stationary", closed, t_solve, t_single, t_ref)


def _percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else math.nan


def table(outcomes: list[Outcome], title: str) -> Table:
    """Rows per (family, d, Box or not) over every n and seed, then per d and overall."""
    tab = Table(
        title=title,
        columns=["family", "d", "Box", "#problems", "gap open", "solve certified global", "median excess %",
                 "p90 excess %", "max excess %", "solve (s, median)", "cost vs one solve", "reference (s, median)"],
    )

    def row(label: str, d, box, group: list[Outcome]) -> None:
        if not group:
            return
        ok = [o for o in group if o.excess is not None]
        ex = [100.0 * o.excess for o in ok]
        tab.add(label, d, box, len(ok), len(group) - len(ok), sum(o.closed for o in group), _percentile(ex, 50), _percentile(ex, 90),
                max(ex, default=math.nan), statistics.median(o.solve_time for o in group),
                statistics.median(o.solve_time / o.single_time for o in group),
                statistics.median(o.reference_time for o in group))

    names = list(dict.fromkeys(o.case.family for o in outcomes))
    dims = sorted({o.case.d for o in outcomes})
    for family in names:
        for d in dims:
            for box in (False, True):
                row(family, d, "yes" if box else "no",
                    [o for o in outcomes if o.case.family == family and o.case.d == d and o.case.box == box])
    for d in dims:
        for box in (False, True):
            row("**all families**", d, "yes" if box else "no", [o for o in outcomes if o.case.d == d and o.case.box == box])
        row("**all families**", d, "both", [o for o in outcomes if o.case.d == d])
    row("**all**", "", "both", outcomes)
    dropped = sum(o.excess is None for o in outcomes)
    not_certified = sum(not o.stationary for o in outcomes)
    tab.notes += [
        "excess = (F_solve - F*) / |F*|, F* from cvxpar.reference (envelope branch and bound, gap closed to 1e-6); "
        f"Box = Box{BOX}; n = d/2, d, 2d",
        f"{dropped} of {len(outcomes)} problems left out (reference gap not closed within {TIME_LIMIT:g} s); "
        f"{not_certified} solves not certified stationary",
        "cost vs one solve: median of (default cvxpar.solve time) / (cvxpar.solve from x0 = 0: one start, no local "
        "search), timed back to back",
        "solve certified global: problems (of all, gap open or not) on which the solve's own budgeted branch and bound "
        "(res.info['tree_search']) closed its gap",
    ]
    return tab


def run(size: str = "small") -> Table:
    outcomes = []
    for case in cases(size):
        outcomes.append(measure(case))
        o = outcomes[-1]
        excess = "gap open" if o.excess is None else f"{100 * o.excess:.3g} %"
        print(f"{case.family:24s} d={case.d:3d} n={case.n:3d} box={case.box:d} seed={case.seed}: excess {excess}, "
              f"solve {o.solve_time:.3f} s, one solve {o.single_time:.3f} s, reference {o.reference_time:.2f} s",
              file=sys.stderr, flush=True)
    return table(outcomes, f"cvxpar.solve (default options) vs the global optimum, nonconvex least squares ({size})")


def side_by_side(cases_: list, variants: dict[str, Callable[[], object]], out, time_limit: float = TIME_LIMIT,
                 done: set | None = None, references: dict | None = None) -> None:
    """For each case: the reference once (or its record in ``references``: key -> (F* or None, time)), then
    ``cvxpar.solve`` under each variant's context manager and once from x0 = 0, back to back in this process
    (CPU times, ``time.process_time``); one JSON line per case to ``out`` (a text file), skipping the keys in
    ``done``.  For before/after comparisons of a solver change that a context manager switches off (e.g.
    :func:`cvxpar.solvers.lattice.suspended`)."""
    import json

    for case in cases_:
        key = case_key(case)
        if done is not None and key in done:
            continue
        if references is not None and key in references:
            F_star, t_ref = references[key]
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SlowReferenceWarning)
                t0 = time.process_time()
                ref = cvxpar.reference(case.loss, case.psi, case.lam, case.constraints, time_limit=time_limit)
                t_ref = time.process_time() - t0
            F_star = ref.objective if ref.status == "optimal" else None
        record = {"key": key, "family": case.family, "d": case.d, "n": case.n, "kind": _kind(case),
                  "reference": F_star, "reference_time": t_ref}
        t0 = time.process_time()
        cvxpar.solve(case.loss, case.psi, case.lam, case.constraints, x0=np.zeros(case.d))
        record["single_time"] = time.process_time() - t0
        for name, context in variants.items():
            with context():
                t0 = time.process_time()
                res = cvxpar.solve(case.loss, case.psi, case.lam, case.constraints)
                t = time.process_time() - t0
            record[name] = {"objective": res.objective, "status": res.status, "time": t}
        out.write(json.dumps(record) + "\n")
        out.flush()


def case_key(case) -> str:
    return f"{case.family}|{case.d}|{case.n}|{_kind(case)}|{case.seed}"


def _kind(case) -> str:
    kind = getattr(case, "kind", None)
    return kind if kind is not None else ("Box" if case.box else "none")


def compare_table(records: list[dict], variants: list[str], title: str, by: Callable[[dict], str]) -> Table:
    """Per group of ``by`` and overall, per variant: the excess distribution over the closed references (median,
    p90, max, misses above 1e-6 relative), solves not certified stationary, median CPU time and cost over one
    solve from 0."""
    tab = Table(title=title, columns=["group", "variant", "#closed", "gap open", "median excess %", "p90 excess %",
                                      "max excess %", "misses > 1e-6", "not stationary", "solve (CPU s, median)",
                                      "cost vs one solve"])
    groups = list(dict.fromkeys(by(r) for r in records)) + ["**all**"]
    for group in groups:
        rows = records if group == "**all**" else [r for r in records if by(r) == group]
        closed = [r for r in rows if r["reference"] is not None]
        for name in variants:
            ex = [100.0 * (r[name]["objective"] - r["reference"]) / max(abs(r["reference"]), 1e-12) for r in closed]
            tab.add(group, name, len(closed), len(rows) - len(closed), _percentile(ex, 50), _percentile(ex, 90),
                    max(ex, default=math.nan), sum(e > 1e-4 for e in ex),
                    sum(r[name]["status"] != "stationary" for r in rows),
                    statistics.median(r[name]["time"] for r in rows),
                    statistics.median(r[name]["time"] / max(r["single_time"], 1e-9) for r in rows))
    return tab


def _main() -> None:
    """``python -m cvxpar.bench.nonconvex_quality OUT.jsonl [--rows] [--shard I/K] [--references R.jsonl]
    [--table]``: the lattice
    enumeration's before/after (:func:`side_by_side` with :func:`cvxpar.solvers.lattice.suspended` as
    "before"), resumable; ``--table`` prints the comparison of the records in OUT.jsonl."""
    import argparse
    import contextlib
    import json

    from cvxpar.bench import nonconvex_rows
    from cvxpar.solvers import lattice

    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--rows", action="store_true", help="nonconvex_rows' problems instead")
    parser.add_argument("--size", default="full")
    parser.add_argument("--shard", default="0/1")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--references", default=None, help="reuse the references of an earlier OUT.jsonl")
    args = parser.parse_args()
    variants = {"before": lattice.suspended, "after": contextlib.nullcontext}
    if args.table:
        with open(args.out) as f:
            records = [json.loads(line) for line in f]
        by = (lambda r: f"{r['family']} {r['kind']}") if args.rows else (lambda r: f"{r['family']} d={r['d']}")
        print(compare_table(records, list(variants), args.out, by).markdown())
        return
    i, k = (int(v) for v in args.shard.split("/"))
    all_cases = list(nonconvex_rows.cases(args.size) if args.rows else cases(args.size))
    done = set()
    with contextlib.suppress(FileNotFoundError), open(args.out) as f:
        done = {json.loads(line)["key"] for line in f}
    references = None
    if args.references:
        with open(args.references) as f:
            references = {r["key"]: (r["reference"], r["reference_time"]) for r in map(json.loads, f)}
    with open(args.out, "a") as out:
        side_by_side(all_cases[i::k], variants, out, done=done, references=references)


if __name__ == "__main__":
    _main()
