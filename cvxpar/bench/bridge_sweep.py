"""A lambda path through a ``cp.Parameter``: ``problem.solve(method="cvxpar")`` warm vs cold, vs Clarabel.

    minimize  1/(2m) ||A x - b||^2 + lam * sum_i psi(x_i)   s.t.  -1.5 <= x <= 1.5

with psi the ridge PAR on the grid {-1.5, -1, ..., 1.5} and lam a ``cp.Parameter(nonneg=True)``
swept over 20 values from lam_max = ||A^T b||_inf / m down to 1e-3 lam_max (1e-2 at size "small"),
geometrically.  Three ways, each on a freshly built
problem (so parsing / CVXPY compilation is included once):

- **cvxpar warm**: ``problem.solve(method="cvxpar")``, which warm-starts from the previous x;
- **cvxpar cold**: ``problem.solve(method="cvxpar", warm_start=False)``;
- **Clarabel**: ``problem.solve(solver="CLARABEL")`` (CVXPY's DPP cache makes re-solves cheap).

Reported: total sweep time (median of repeats), total iterations, the ratio to the warm path and
the largest relative objective difference from Clarabel over the path.
"""

from __future__ import annotations

import statistics
import time
import warnings

import cvxpy as cp
import numpy as np

import cvxpar
from cvxpar.bench._table import Table

#: size -> (m, n, repeats, smallest lambda / lam_max); the small path stops before the ill-conditioned tail
SIZES = {"small": (50, 100, 1, 1e-2), "full": (200, 1000, 3, 1e-3)}
N_LAMBDAS = 20


def _data(m: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x_true = np.round(rng.uniform(-1.5, 1.5, n) * 2) / 2 * (rng.random(n) < 0.3)
    b = A @ x_true + 0.1 * rng.standard_normal(m)
    return A, b


def _problem(A, b):
    m, n = A.shape
    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(step=0.5, n_levels=7))
    x = cp.Variable(n)
    lam = cp.Parameter(nonneg=True)
    objective = cp.sum_squares(A @ x - b) / (2 * m) + lam * cp.sum(cvxpar.par(x, psi))
    return cp.Problem(cp.Minimize(objective), [x >= -1.5, x <= 1.5]), lam


def sweep(A, b, lams, how: str) -> tuple[float, int, list[float], list[str]]:
    """(seconds, total iterations, objective values, statuses) for one path solved ``how``."""
    problem, lam = _problem(A, b)
    kwargs = {
        "warm": {"method": "cvxpar"},
        "cold": {"method": "cvxpar", "warm_start": False},
        "clarabel": {"solver": "CLARABEL"},
    }[how]
    values, statuses, iters = [], [], 0
    t0 = time.perf_counter()
    for v in lams:
        lam.value = v
        with warnings.catch_warnings():  # inaccurate / max_iter solves are counted in the statuses column
            warnings.simplefilter("ignore", UserWarning)
            values.append(problem.solve(**kwargs))
        statuses.append(problem.status)
        iters += problem.solver_stats.num_iters or 0
    return time.perf_counter() - t0, iters, values, statuses


def run(size: str = "small") -> Table:
    m, n, repeat, ratio = SIZES[size]
    A, b = _data(m, n)
    lam_max = float(np.abs(A.T @ b).max() / m)
    lams = np.geomspace(lam_max, ratio * lam_max, N_LAMBDAS)
    for how in ("warm", "clarabel"):  # untimed: JIT compilation and imports
        sweep(A[:, :10], b, lams[:2], how)
    results = {}
    for how in ("warm", "cold", "clarabel"):
        runs = [sweep(A, b, lams, how) for _ in range(repeat)]
        results[how] = (statistics.median(r[0] for r in runs), *runs[0][1:])
    ref = np.asarray(results["clarabel"][2])
    t_warm = results["warm"][0]
    table = Table(
        f"Parameter sweep, {N_LAMBDAS} lambdas: m={m}, n={n}, ridge PAR (7 levels), box [-1.5, 1.5]",
        [
            "method",
            "sweep time (s)",
            "per lambda (ms)",
            "iterations",
            "time / warm",
            "max rel. objective diff vs Clarabel",
            "statuses",
        ],
    )
    labels = {"warm": "cvxpar, warm-started", "cold": "cvxpar, cold", "clarabel": "Clarabel (DPP re-solves)"}
    for how, (t, iters, values, statuses) in results.items():
        diff = float(np.max(np.abs(np.asarray(values) - ref) / np.maximum(np.abs(ref), 1e-12)))
        counts = ", ".join(f"{k} x{statuses.count(k)}" for k in sorted(set(statuses)))
        table.add(labels[how], t, 1e3 * t / N_LAMBDAS, iters, t / t_warm, diff, counts)
    table.notes += [
        f"lambda from lam_max = ||A^T b||_inf / m = {lam_max:.3g} down to {ratio:g} lam_max (geometric); each path on a "
        f"freshly built problem (parse / compile included), median of {repeat} runs.",
        "cvxpar iterations are those of cvxpar.solve (method='auto'); Clarabel's are interior-point iterations. "
        "A cvxpar 'user_limit' is an honest max_iter (the objective difference then shows how far it stopped).",
    ]
    return table


if __name__ == "__main__":
    import sys

    print(run(sys.argv[1] if len(sys.argv) > 1 else "small").markdown())
