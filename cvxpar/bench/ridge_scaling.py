"""How ssnal's time grows with the data on the wide ridge-PAR least squares of the issues.

Problem: 1/2 ||Ax - b||^2 + lam sum_i psi(x_i), A Gaussian n x d with d = 10 n, b = A x_true + 0.1
noise (x_true = 0.5 * Gaussian), psi = cvxpar.pars.ridge on the uniform grid of ``levels`` points
spanning [-1.5, 1.5], lam = 0.5 n; ``cvxpar.solve`` with method auto and its default tol (1e-8), BLAS
on one thread.  Per size and number of levels: the median wall and CPU times over the seeds (and the
kernel's share of the CPU time: page faults of fresh large arrays), the CPU time ratio to the previous
size (each size has 4x the data; the issue's target is at most 4x), and ssnal's counts (Newton steps,
n x n Cholesky factorizations, solves through a kept factor's Woodbury form, solves by conjugate
gradients), medians over the seeds.

Sizes: ``small`` 100 x 1000 and 200 x 2000 (one seed); ``full`` 500 x 5000, 1000 x 10000 and
2000 x 20000 (seeds 0, 1, 2).
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np

import cvxpar
from cvxpar import _progress as progress
from cvxpar.bench._table import Table
from cvxpar.losses import LeastSquares

SIZES = {"small": [(100, 1000), (200, 2000)], "full": [(500, 5000), (1000, 10000), (2000, 20000)]}
SEEDS = {"small": (0,), "full": (0, 1, 2)}
LEVELS = (7, 15)
COUNTS = ("newton_steps", "factorizations", "woodbury_solves", "cg_solves")


def problem(n: int, d: int, levels: int, seed: int):
    """(loss, psi, lam) of the module docstring's instance."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = A @ (0.5 * rng.standard_normal(d)) + 0.1 * rng.standard_normal(n)
    return LeastSquares(A, b), cvxpar.pars.ridge(cvxpar.grids.uniform(3.0 / (levels - 1), levels)), 0.5 * n


def run(size: str = "small") -> Table:
    """The table, BLAS on one thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _run(size)


def _run(size: str) -> Table:
    seeds = SEEDS[size]
    table = Table(
        f"ssnal on the wide ridge PAR, d = 10 n, lam = 0.5 n, seeds {', '.join(map(str, seeds))} (size={size})",
        ["n x d", "levels", "time (s, median)", "CPU (s, median)", "of which system (s)", "x previous size", "statuses", "Newton steps", "factorizations",
         "Woodbury solves", "CG solves"],
    )
    for levels in LEVELS:  # load the prox kernels (numba's cache) outside the timings: d > ssnal's direct route
        cvxpar.solve(*problem(40, 400, levels, 0))
    for levels in LEVELS:
        previous = None
        for n, d in SIZES[size]:
            times, cpu, system, statuses, counts = [], [], [], [], {c: [] for c in COUNTS}
            for seed in seeds:
                loss, psi, lam = problem(n, d, levels, seed)
                t0, c0, s0 = time.perf_counter(), time.process_time(), _system_seconds()
                res = cvxpar.solve(loss, psi, lam)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                system.append(_system_seconds() - s0)
                statuses.append(res.status)
                for c in COUNTS:
                    counts[c].append(res.info.get(c, 0))
                progress.note(f"  {n} x {d}, {levels} levels, seed {seed}: {times[-1]:.3g} s ({res.status})")
            t = statistics.median(cpu)
            table.add(f"{n} x {d}", levels, statistics.median(times), t, statistics.median(system), "-" if previous is None else f"{t / previous:.1f}x",
                      ", ".join(sorted(set(statuses))), *(statistics.median(counts[c]) for c in COUNTS))
            previous = t
    table.notes += [
        "time: wall time of cvxpar.solve (method auto, tol 1e-8) from the call to the certified answer, "
        "median over the seeds; CPU: its CPU seconds (time.process_time, one BLAS thread: the fair measure on a "
        "loaded machine), of which system: the kernel's share (resource.getrusage); x previous size: the CPU time's ratio to the row above (4x the data)",
        "counts: medians over the seeds, from SolveResult.info",
    ]
    return table


def _system_seconds() -> float:
    """The process's system CPU seconds so far (NaN where the resource module is missing: Windows)."""
    try:
        import resource
    except ImportError:
        return math.nan
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


if __name__ == "__main__":
    print(run("small").markdown())
