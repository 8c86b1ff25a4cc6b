"""Nonconvex quality: how far ``cvxpar.solve``'s certified stationary point is above the global optimum.

For a nonconvex psi, ``cvxpar.solve`` returns a certified (Clarke) stationary point, which need not be a
global minimizer.  This benchmark measures the gap on small random least-squares problems

    minimize 1/2 ||Ax - b||^2 + lam * sum_i psi(x_i)   (with and without a Box),

against the exact global optimum F* of ``cvxpar.reference`` (the mixed-integer model, solved by SCIP to a
closed gap).  The excess of a solve is (F_solve - F*) / |F*|.  Every nonconvex family of
:mod:`cvxpar.pars` (mcp, sawtooth, the quasiconvex staircase), the ridge and l1 PARs made nonconvex by a
sawtooth term (``beta * dist(x, Q)``: concave kinks between the grid points), and random nonconvex PARs
built with :meth:`cvxpar.PAR.from_slopes`.  Data: Gaussian A (n x d), x_true uniform on [-1, 1] (off the
grid), b = A x_true + 0.3 noise, lam = n * 10^u with u uniform on [-1.5, 0] (from barely to strongly
quantizing).  Problems whose reference does not close its gap within ``TIME_LIMIT`` seconds are left out
(counted in the notes).  Times are single runs (the reference dominates); "ratio" is the median over the
problems of reference time / solve time.  Run with one BLAS thread (``OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import math
import statistics
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

#: (d, list of n, seeds per (family, n, box)) per size
SIZES = {"small": (6, [3, 12], 1), "full": (10, [5, 10, 20], 2)}
#: seconds for one reference (a problem whose MIP gap stays open is left out)
TIME_LIMIT = 120.0
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
    """The benchmark's problems, deterministic per (family, n, box, seed)."""
    d, ns, n_seeds = SIZES[size]
    for f_index, (family, build) in enumerate(families().items()):
        if names is not None and family not in names:
            continue
        for n in ns:
            for box in (False, True):
                for seed in range(n_seeds):
                    rng = np.random.default_rng([f_index, n, int(box), seed])
                    A = rng.standard_normal((n, d))
                    b = A @ rng.uniform(-1.0, 1.0, d) + 0.3 * rng.standard_normal(n)
                    lam = float(n * 10.0 ** rng.uniform(-1.5, 0.0))
                    yield Case(family, d, n, box, seed, LeastSquares(A, b), build(rng), lam)


@dataclass
class Outcome:
    case: Case
    excess: float | None  # None: the reference did not close its gap
    stationary: bool
    solve_time: float
    reference_time: float


def measure(case: Case, solve_options: dict | None = None) -> Outcome:
    """Solve one case with ``cvxpar.solve`` and ``cvxpar.reference``; the relative excess of the solve."""
    t0 = time.perf_counter()
    res = cvxpar.solve(case.loss, case.psi, case.lam, case.constraints, **(solve_options or {}))
    t_solve = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SlowReferenceWarning)
        t0 = time.perf_counter()
        ref = cvxpar.reference(case.loss, case.psi, case.lam, case.constraints, time_limit=TIME_LIMIT)
        t_ref = time.perf_counter() - t0
    excess = None
    if ref.status == "optimal":
        excess = (res.objective - ref.objective) / max(abs(ref.objective), 1e-12)
    return Outcome(case, excess, res.status == "stationary", t_solve, t_ref)


def _percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else math.nan


def table(outcomes: list[Outcome], title: str) -> Table:
    """Rows per (family, d, n) over both box variants and every seed, then one row per family."""
    tab = Table(
        title=title,
        columns=["family", "d", "n", "#problems", "median excess %", "p90 excess %", "max excess %",
                 "solve (s, median)", "reference (s, median)", "reference / solve"],
    )

    def row(label: str, d, n, group: list[Outcome]) -> None:
        ok = [o for o in group if o.excess is not None]
        ex = [100.0 * o.excess for o in ok]
        tab.add(label, d, n, len(ok), _percentile(ex, 50), _percentile(ex, 90), max(ex, default=math.nan),
                statistics.median(o.solve_time for o in group), statistics.median(o.reference_time for o in group),
                statistics.median(o.reference_time / o.solve_time for o in group))

    names = list(dict.fromkeys(o.case.family for o in outcomes))
    for family in names:
        mine = [o for o in outcomes if o.case.family == family]
        for n in sorted({o.case.n for o in mine}):
            row(family, mine[0].case.d, n, [o for o in mine if o.case.n == n])
    for family in names:
        row(f"**{family}, all**", "", "", [o for o in outcomes if o.case.family == family])
    row("**all families**", "", "", outcomes)
    dropped = sum(o.excess is None for o in outcomes)
    not_certified = sum(not o.stationary for o in outcomes)
    tab.notes += [
        "excess = (F_solve - F*) / |F*|, F* from cvxpar.reference (SCIP, gap closed); half of each row's problems "
        f"have Box{BOX}, half none",
        f"{dropped} of {len(outcomes)} problems left out (reference gap not closed within {TIME_LIMIT:g} s); "
        f"{not_certified} solves not certified stationary",
    ]
    return tab


def run(size: str = "small") -> Table:
    outcomes = [measure(case) for case in cases(size)]
    return table(outcomes, f"cvxpar.solve (default options) vs the global optimum, nonconvex least squares ({size})")
