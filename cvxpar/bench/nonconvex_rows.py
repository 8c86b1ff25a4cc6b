"""Nonconvex quality with linear rows: ``cvxpar.solve``'s certified stationary point against the global optimum.

The problems of :mod:`cvxpar.bench.nonconvex_quality` (least squares, every nonconvex family of
:mod:`cvxpar.pars` and the sawtooth-perturbed ridge and l1 PARs, random ``from_slopes`` PARs) with rows:

- *inequality rows*: two Gaussian rows R x <= h, h_r = 0.05 ||R_r||_1 (about a tenth of the box cut off each);
- *budget row*: x >= 0 and sum_i x_i <= 0.2 d;
- *Simplex*: x >= 0 and sum_i x_i = 1.

Data: d in ``SIZES``, n = 3d/4 rows of Gaussian A, x_true uniform on [-1, 1], b = A x_true + 0.3 noise,
lam = n 10^u with u uniform on [-1.5, 0].  The global optimum F* is ``cvxpar.reference`` (SCIP on the
mixed-integer model; with rows the envelope branch and bound does not apply); problems whose reference
does not close its gap within ``TIME_LIMIT`` seconds are counted in "gap open" and left out of the excess
(F_solve - F*) / |F*|.  Times are CPU seconds (``time.process_time``): "cost vs one solve" is the median
over the problems of the default solve's time over one solve from x0 = 0 (one start, no searches), timed
back to back.  Run with one BLAS thread (``OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cvxpar.bench._table import Table
from cvxpar.bench.nonconvex_quality import families, solve_and_reference
from cvxpar.constraints import Linear, NonNeg, Simplex
from cvxpar.losses import LeastSquares
from cvxpar.par import PAR

#: (dimensions d, seeds per (family, rows, d)) per size
SIZES = {"small": ((6,), 1), "full": ((8, 16), 2)}
#: seconds for one reference (a problem whose gap stays open is left out of the excess)
TIME_LIMIT = 30.0
KINDS = ("inequality rows", "budget row", "Simplex")


def constraints(kind: str, d: int, rng: np.random.Generator):
    """The rows of ``kind`` for d coordinates (random ones draw from rng)."""
    if kind == "inequality rows":
        R = rng.standard_normal((2, d))
        return Linear(A_ub=R, b_ub=0.05 * np.abs(R).sum(axis=1))
    if kind == "budget row":
        return [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.2 * d])]
    if kind == "Simplex":
        return Simplex()
    raise ValueError(f"unknown rows {kind!r}; use one of {KINDS}")


@dataclass
class Case:
    family: str
    kind: str
    d: int
    n: int
    seed: int
    loss: LeastSquares
    psi: PAR
    lam: float
    constraints: object


def cases(size: str) -> Iterator[Case]:
    """The benchmark's problems, deterministic per (family, rows, d, seed)."""
    dims, n_seeds = SIZES[size]
    for f_index, (family, build) in enumerate(families().items()):
        for k_index, kind in enumerate(KINDS):
            for d in dims:
                for seed in range(n_seeds):
                    rng = np.random.default_rng([f_index, k_index, d, seed, 18])
                    n = max(3 * d // 4, 1)
                    A = rng.standard_normal((n, d))
                    b = A @ rng.uniform(-1.0, 1.0, d) + 0.3 * rng.standard_normal(n)
                    lam = float(n * 10.0 ** rng.uniform(-1.5, 0.0))
                    psi = build(rng)
                    yield Case(family, kind, d, n, seed, LeastSquares(A, b), psi, lam, constraints(kind, d, rng))


@dataclass
class Outcome:
    case: Case
    objective: float
    reference: float | None  # None: the reference did not close its gap
    stationary: bool
    solve_time: float
    single_time: float
    reference_time: float

    @property
    def excess(self) -> float | None:
        if self.reference is None:
            return None
        return (self.objective - self.reference) / max(abs(self.reference), 1e-12)


def measure(case: Case, time_limit: float = TIME_LIMIT) -> Outcome:
    """Solve one case with ``cvxpar.solve`` (default, and once from 0) and ``cvxpar.reference`` (CPU times)."""
    res, t_solve, t_single, ref, t_ref = solve_and_reference(case.loss, case.psi, case.lam, case.constraints,
                                                             time_limit, clock=time.process_time)
    reference = ref.objective if ref.status == "optimal" else None
    return Outcome(case, res.objective, reference, res.status == "stationary", t_solve, t_single, t_ref)


def _percentile(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else math.nan


def table(outcomes: list[Outcome], title: str) -> Table:
    """Rows per (family, rows) over every d and seed, then per rows and overall."""
    tab = Table(title=title, columns=["family", "rows", "#problems", "gap open", "median excess %", "p90 excess %",
                                      "max excess %", "solve (CPU s, median)", "cost vs one solve",
                                      "reference (CPU s, median)"])

    def row(label: str, kind: str, group: list[Outcome]) -> None:
        if not group:
            return
        ex = [100.0 * o.excess for o in group if o.excess is not None]
        tab.add(label, kind, len(ex), len(group) - len(ex), _percentile(ex, 50), _percentile(ex, 90),
                max(ex, default=math.nan), statistics.median(o.solve_time for o in group),
                statistics.median(o.solve_time / max(o.single_time, 1e-9) for o in group),
                statistics.median(o.reference_time for o in group))

    names = list(dict.fromkeys(o.case.family for o in outcomes))
    for family in names:
        for kind in KINDS:
            row(family, kind, [o for o in outcomes if o.case.family == family and o.case.kind == kind])
    for kind in KINDS:
        row("**all families**", kind, [o for o in outcomes if o.case.kind == kind])
    row("**all**", "all", outcomes)
    dims = sorted({o.case.d for o in outcomes})
    tab.notes += [
        "excess = (F_solve - F*) / |F*|, F* from cvxpar.reference (SCIP, gap closed); d in "
        f"{dims}, n = 3d/4; inequality rows: 2 Gaussian rows, h_r = 0.05 ||R_r||_1; budget: x >= 0, sum x <= 0.2 d; "
        "Simplex: x >= 0, sum x = 1",
        f"{sum(o.excess is None for o in outcomes)} of {len(outcomes)} problems left out (reference gap not closed "
        f"within {TIME_LIMIT:g} s); {sum(not o.stationary for o in outcomes)} solves not certified stationary",
        "cost vs one solve: median of (default cvxpar.solve CPU time) / (cvxpar.solve from x0 = 0: one start, no "
        "searches), timed back to back",
    ]
    return tab


def run(size: str = "small") -> Table:
    outcomes = []
    for case in cases(size):
        o = measure(case)
        outcomes.append(o)
        excess = "gap open" if o.excess is None else f"{100 * o.excess:.3g} %"
        print(f"{case.family:24s} {case.kind:16s} d={case.d:3d} seed={case.seed}: F {o.objective:.10g}, excess "
              f"{excess}, solve {o.solve_time:.3f} s, one solve {o.single_time:.3f} s, reference "
              f"{o.reference_time:.2f} s", file=sys.stderr, flush=True)
    return table(outcomes, f"cvxpar.solve (default options) vs the global optimum with linear rows ({size})")
