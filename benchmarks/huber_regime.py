"""Huber losses whose threshold M is comparable to the residuals (unscaled A): cvxpar against CVXPY + Clarabel.

    OPENBLAS_NUM_THREADS=1 nice -n 10 python benchmarks/huber_regime.py {ours,clarabel}

One line per instance, tab-separated: label, status, CPU seconds (``time.process_time``, one solve after a
warm-up solve of the first instance), objective, and for ``ours`` the outer iterations and Newton steps.  Run
``ours`` on two checkouts (PYTHONPATH) and ``clarabel`` once for an A/B with the reference side by side.
Instances: x on the 7-level grid of spacing 0.5, b = A x + 0.1 noise, ridge psi, lam = 0.05 n, M in
{0.05, 0.5, 5} at 150 x 1000, 500 x 2000 and 2000 x 500 (two seeds, with a Box [0, 2.5] at M = 0.5), least
squares on half of 300 rows plus Huber on the other half (``Stacked``) at 300 x 1000, and the first 150 x 1000
M = 0.5 instance with (A, b, M) rescaled by c in {1e-3, 1e6} and lam by c^2 (the same minimizers, the objective
times c^2).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import Huber, LeastSquares, Stacked

GRID = cvxpar.grids.uniform(0.5, 7)
PSI = cvxpar.pars.ridge(GRID)


def _data(n: int, d: int, seed: int):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    return A, A @ rng.choice(GRID, d) + 0.1 * rng.standard_normal(n)


def instances():
    """(label, loss, lam, constraints) of every instance."""
    for n, d in ((150, 1000), (500, 2000), (2000, 500)):
        for M in (0.05, 0.5, 5.0):
            for seed in (0, 1):
                for box in (None, (0.0, 2.5)) if M == 0.5 else (None,):
                    A, b = _data(n, d, 1000 * seed + n)
                    label = f"huber {n}x{d} M={M} s{seed}{' box' if box else ''}"
                    yield label, Huber(A, b, M=M), 0.05 * n, None if box is None else Box(*box)
    for M in (0.05, 0.5, 5.0):
        for seed in (0, 1):
            A, b = _data(300, 1000, seed + 5)
            loss = Stacked([LeastSquares(A[:150], b[:150]), Huber(A[150:], b[150:], M=M)])
            yield f"LS+huber 300x1000 M={M} s{seed}", loss, 15.0, None
    A, b = _data(150, 1000, 150)
    for c in (1e-3, 1e6):
        yield f"huber 150x1000 M=0.5 s0 x{c:g}", Huber(c * A, c * b, M=0.5 * c), 0.05 * 150 * c * c, None


def main(mode: str) -> None:
    warnings.filterwarnings("ignore")
    first = True
    for label, loss, lam, cons in instances():
        if mode == "ours":
            if first:
                cvxpar.solve(loss, PSI, lam, constraints=cons, tol=1e-8)
                first = False
            t = time.process_time()
            r = cvxpar.solve(loss, PSI, lam, constraints=cons, tol=1e-8)
            t = time.process_time() - t
            print(f"{label}\t{r.status}\t{t:.3f}\t{r.objective:.10g}\t{r.iterations}\t{r.info.get('newton_steps')}",
                  flush=True)
        else:
            from cvxpar.bench.breadth import _clarabel

            t = time.process_time()
            _, prob, x = _clarabel(loss, PSI, lam, cons)
            t = time.process_time() - t
            F = cvxpar.certificate(loss, PSI, lam, x.value, cons).objective
            print(f"{label}\t{prob.status}\t{t:.3f}\t{F:.10g}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ours")
