"""Non-quadratic losses through the loss contract: logistic and Huber with a 7-level ridge PAR.

Problems (A Gaussian n x d, x_true = 0.5 * Gaussian, psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)),
lam = 1):

- logistic: labels y = sign(A x_true + 0.5 noise), loss sum log(1 + exp(-y a_i^T x));
- Huber: b = A x_true + 0.1 noise with 5% of the samples shifted by 10 (outliers), M = 1.

Per problem, in one process: CVXPY + Clarabel on the loss's own CVXPY form ``loss.cvxpy(A @ x) + lam
* sum(max of psi's affine pieces)`` (Clarabel defaults, time with compilation), and ``cvxpar.solve``
with each method from a cold start (kernels compiled beforehand) to a certified tol = 1e-8.  Each
time is the median of REPEAT runs; the final objective is compared with Clarabel's.
Sizes: ``small`` 100 x 400; ``full`` 500 x 2000.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import cvxpar
from cvxpar import _progress as progress
from cvxpar.bench._table import Table
from cvxpar.losses import Huber, Logistic

SIZES = {"small": (100, 400), "full": (500, 2000)}
METHODS = ("fista", "ssnal", "cd")
REPEAT = 3
TOL = 1e-8


def problem(kind: str, n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    signal = A @ (0.5 * rng.standard_normal(d))
    if kind == "logistic":
        loss = Logistic(A, np.where(signal + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0))
    else:
        b = signal + 0.1 * rng.standard_normal(n)
        b[rng.permutation(n)[: n // 20]] += 10.0
        loss = Huber(A, b, M=1.0)
    return loss, cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)), 1.0


def objective(loss, psi, lam, x) -> float:
    return loss.value(x) + lam * float(np.sum(psi(x)))


def clarabel(loss, psi, lam) -> tuple[float, float, str]:
    """(seconds, objective, status) of CVXPY + Clarabel on the loss's CVXPY form."""
    import cvxpy as cp

    A = loss.op.A
    x = cp.Variable(A.shape[1])
    slopes, intercepts = psi.max_affine()
    reg = cp.sum(cp.maximum(*[a * x + c for a, c in zip(slopes, intercepts, strict=True)]))
    prob = cp.Problem(cp.Minimize(loss.cvxpy(A @ x) + lam * reg))
    t0 = time.perf_counter()
    prob.solve(solver=cp.CLARABEL)
    return time.perf_counter() - t0, objective(loss, psi, lam, x.value), prob.status


def run(size: str = "small") -> Table:
    """The table, BLAS on one thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _run(size)


def _run(size: str) -> Table:
    n, d = SIZES[size]
    table = Table(
        f"Logistic and Huber, 7-level ridge PAR, {n} x {d}, to a certified tol = {TOL:g} (medians of {REPEAT})",
        ["loss", "solver", "time (s)", "status", "obj. vs Clarabel", "speed-up vs Clarabel"],
    )
    for kind in ("logistic", "huber"):
        small = problem(kind, 20, 40)
        for method in METHODS:  # compile the kernels outside the timings
            cvxpar.solve(*small, method=method)
        loss, psi, lam = problem(kind, n, d)
        runs = [clarabel(loss, psi, lam) for _ in range(REPEAT)]
        t_ref, f_ref, status = statistics.median(r[0] for r in runs), runs[0][1], runs[0][2]
        table.add(kind, "CVXPY + Clarabel", t_ref, status, 0.0, "1x")
        progress.note(f"  {kind}: CVXPY + Clarabel {t_ref:.3g} s ({status})")
        for method in METHODS:
            times, res = [], None
            for _ in range(REPEAT):
                start = time.perf_counter()
                res = cvxpar.solve(loss, psi, lam, method=method, tol=TOL)
                times.append(time.perf_counter() - start)
            t = statistics.median(times)
            rel = (objective(loss, psi, lam, res.x) - f_ref) / abs(f_ref)
            speedup = f"{t_ref / t:.1f}x" if res.status == "optimal" else "- (not certified)"
            table.add(kind, f"cvxpar {method}", t, res.status, rel, speedup)
            progress.note(f"  {kind}: cvxpar {method} {t:.3g} s ({res.status})")
    table.notes += [
        "time: wall time of the whole call (cold start, kernels compiled beforehand) ending with the certificate; "
        "Clarabel: prob.solve wall time including CVXPY's compilation",
        "obj. vs Clarabel: (cvxpar - Clarabel) / |Clarabel| from each x (negative: cvxpar's answer is lower)",
        "BLAS on one thread; the machine is shared by several developers, so compare within a table",
    ]
    return table


if __name__ == "__main__":
    import sys

    print(run(sys.argv[1] if len(sys.argv) > 1 else "small").markdown())
