"""Badly scaled but ordinary data: cvxpar against CVXPY + Clarabel, with the accuracy each answer proves.

    OPENBLAS_NUM_THREADS=1 nice -n 10 python benchmarks/data_precision.py [--only PARTS]

Unstandardized features (column norms over 1e-4..1e4), rows of very different scales, targets and entries of
large magnitude, and float32 torch data: each instance solved by ``cvxpar.solve(..., tol=1e-8)`` (method auto)
and by CVXPY + Clarabel on the model of ``cvxpar.bench.breadth``.  cvxpar's time is the CPU time
(``time.process_time``) of the faster of two solves, Clarabel's the CPU time of one.  "proven" is
``Certificate.proven_accuracy`` at cvxpar's point: the smallest tol that point provably certifies to (the
doubled-precision gradient's residual with its rigorous error bound, relative to max(1, ||grad||_inf)).
"""

from __future__ import annotations

import argparse
import datetime
import os
import time

import numpy as np

import cvxpar
from cvxpar import grids, pars
from cvxpar.bench.breadth import _clarabel
from cvxpar.losses import Huber, LeastSquares


def _instances():
    """Yield (class, params, loss, psi, lam, constraints)."""
    rng = np.random.default_rng(11)
    n, d = 300, 1000
    grid = grids.uniform(0.5, 7)
    psi = pars.ridge(grid)
    A0 = rng.standard_normal((n, d))
    x0 = rng.choice(grid, d)
    noise = 0.1 * rng.standard_normal(n)
    cols = 10.0 ** rng.uniform(-4, 4, d)
    A = A0 * cols
    b = A0 @ x0 / np.sqrt(d) + noise
    for lam_f in (0.001, 0.05):
        yield "columns 1e-4..1e4", f"LS {n}x{d} lam={lam_f}n", LeastSquares(A, b), psi, lam_f * n, None
    yield "columns 1e-4..1e4", f"Huber M=0.1 {n}x{d} lam=0.001n", Huber(A, b, M=0.1), psi, 0.001 * n, None
    rows = 10.0 ** rng.uniform(-3, 3, n)
    Ar, br = A0 * rows[:, None], (A0 @ x0 + noise) * rows
    yield "rows 1e-3..1e3", f"LS {n}x{d} lam=0.001n", LeastSquares(Ar, br), psi, 0.001 * n, None
    yield "rows 1e-3..1e3", f"LS {n}x{d} lam=1.0n", LeastSquares(Ar, br), psi, 1.0 * n, None
    bs = A0 @ x0 + noise
    yield "target x 1e6", f"LS {n}x{d} lam=0.05n", LeastSquares(A0, 1e6 * bs), psi, 0.05 * n, None
    yield "A x 1e3, target x 1e6", f"LS {n}x{d} lam=0.05n", LeastSquares(1e3 * A0, 1e6 * bs), psi, 0.05 * n, None
    small = np.random.default_rng(2024)
    As = small.standard_normal((40, 120))
    bsm = As @ small.choice(grid, 120) + 0.1 * small.standard_normal(40)
    yield "A x 1e3, target x 1e6", "LS 40x120 lam=0.05n", LeastSquares(1e3 * As, 1e6 * bsm), psi, 0.05 * 40, None
    try:
        import torch
    except ImportError:
        return
    A32 = torch.from_numpy((A0[:100, :300]).astype(np.float32))
    b32 = torch.from_numpy((A0[:100, :300] @ x0[:300] + noise[:100]).astype(np.float32))
    yield "torch float32", "LS 100x300 lam=0.05n", LeastSquares(A32, b32), psi, 0.05 * 100, None


def _cpu(f):
    t0 = time.process_time()
    out = f()
    return time.process_time() - t0, out


def _host(loss):
    """The same loss on float64 NumPy copies of its data (what Clarabel is given)."""
    A = np.asarray(loss.op.A, dtype=np.float64)
    t = np.asarray(loss.target, dtype=np.float64)
    return Huber(A, t, M=loss.M) if isinstance(loss, Huber) else LeastSquares(A, t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=None, help="comma-separated parts of class labels to run")
    args = parser.parse_args()
    wanted = None if args.only is None else [w.strip().lower() for w in args.only.split(",")]
    print(f"data precision, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"load {os.getloadavg()[0]:.1f}")
    print("| class | instance | method | status | iterations | cvxpar s | Clarabel s | ratio | rel. obj diff | proven |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cls, params, loss, psi, lam, cons in _instances():
        if wanted is not None and not any(w in cls.lower() for w in wanted):
            continue
        solve = lambda: cvxpar.solve(loss, psi, lam, constraints=cons, tol=1e-8)  # noqa: E731, B023
        t1, res = _cpu(solve)
        t2, res = _cpu(solve)
        host = _host(loss)
        cert = cvxpar.certificate(loss, psi, lam, res.x, cons)
        t_cl, (_, prob, x) = _cpu(lambda: _clarabel(host, psi, lam, cons))  # noqa: B023
        if x.value is not None and prob.status in ("optimal", "optimal_inaccurate"):
            F_cl = cvxpar.certificate(host, psi, lam, x.value, cons).objective
            diff = f"{(cvxpar.certificate(host, psi, lam, np.asarray(res.x, dtype=np.float64), cons).objective - F_cl) / max(abs(F_cl), 1e-300):.1e}"
        else:
            diff = f"Clarabel: {prob.status}"
        t = min(t1, t2)
        proven = f"{cert.proven_accuracy:.1e}" if hasattr(cert, "proven_accuracy") else "-"
        print(f"| {cls} | {params} | {res.method} | {res.status} | {res.iterations} | {t:.3g} | {t_cl:.3g} | "
              f"{t_cl / t:.3g} | {diff} | {proven} |", flush=True)
    print(f"\nload {os.getloadavg()[0]:.1f} at the end.")


if __name__ == "__main__":
    main()
