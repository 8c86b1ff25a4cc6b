"""Batched lambda sweep (issue 5): 64 values of lam in one :func:`cvxpar.batch.solve_batch` call
against 64 separate solves.

Problem: least squares with a dense Gaussian A (m x n), b from a quantized sparse truth plus
noise, psi = l1 on a uniform grid, lam on a geometric grid from lam_max/100 to lam_max/2
(lam_max = ||A^T b||_inf, where 0 becomes optimal for plain l1).  Every run stops per column at
the same certified tolerance (tol = 1e-8, the certificate's semantics).  Rows:

- batched: one ``solve_batch`` call (GEMM iterations, columns leave the batch as they converge);
- loop, same method: 64 ``solve_batch`` calls with one lam each (the same FISTA, GEMV iterations):
  the ratio to it is the gain of batching alone;
- loop, cvxpar.solve: 64 ``cvxpar.solve`` calls (method "auto", with its polish), what a user
  would write otherwise.

On a GPU (CuPy sees a device) the same three rows are measured on it too; the issue's target
there is a batched sweep at least 10x faster than the separate solves.

    python benchmarks/run.py --size full batch_sweep
"""

from __future__ import annotations

import time

import numpy as np

from cvxpar import grids, pars
from cvxpar.bench._table import Table, gpu_name

SIZES = {"small": (200, 400), "full": (1000, 2000)}
N_LAMS = 64
TOL = 1e-8
PSI = pars.l1(grids.uniform(0.25, 17))


def _data(m: int, n: int):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    truth = np.where(rng.random(n) < 0.1, np.round(2 * rng.standard_normal(n)) / 2, 0.0)
    b = A @ truth + 0.05 * rng.standard_normal(m)
    lam_max = float(np.max(np.abs(A.T @ b)))
    return A, b, np.geomspace(lam_max / 100, lam_max / 2, N_LAMS)


def blas_threads() -> str:
    """The BLAS libraries and their thread counts (GEMM timings depend on them; see the notes)."""
    try:
        from threadpoolctl import threadpool_info

        return ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        return "unknown (threadpoolctl not installed)"


def _timed(fn, sync):
    sync()
    t0 = time.perf_counter()
    out = fn()
    sync()
    return time.perf_counter() - t0, out


def _rows(table: Table, backend: str, A, b, lams, sync) -> None:
    from cvxpar.batch import solve_batch
    from cvxpar.losses import LeastSquares
    from cvxpar.solve import solve

    loss = LeastSquares(A, b)
    loss.lipschitz()
    solve_batch(loss, PSI, lams[:2])  # warm-up: compiled kernels, prox tables
    solve(loss, PSI, float(lams[0]))
    t_batch, res = _timed(lambda: solve_batch(loss, PSI, lams, tol=TOL), sync)
    t_same, same = _timed(lambda: [solve_batch(loss, PSI, [lam], tol=TOL) for lam in lams], sync)
    t_solve, singles = _timed(lambda: [solve(loss, PSI, float(lam), tol=TOL) for lam in lams], sync)
    obj_single = np.array([s.objective for s in singles])
    agree = float(np.max(np.abs(res.objective - obj_single) / np.maximum(1.0, np.abs(obj_single))))
    statuses = {s: res.status.count(s) for s in dict.fromkeys(res.status)}
    table.add(backend, "batched (1 call)", t_batch, int(res.iterations.sum()), f"{float(np.max(res.residual)):.1e}",
              "1.0x", f"{agree:.1e}", str(statuses))
    table.add(backend, "loop, same method (64 calls)", t_same, int(sum(int(r.iterations[0]) for r in same)),
              f"{max(float(r.residual[0]) for r in same):.1e}", f"{t_same / t_batch:.1f}x", "-", "-")
    table.add(backend, "loop, cvxpar.solve (64 calls)", t_solve, int(sum(s.iterations for s in singles)),
              f"{max(s.residual for s in singles):.1e}", f"{t_solve / t_batch:.1f}x", "-",
              str({s: [x.status for x in singles].count(s) for s in dict.fromkeys(x.status for x in singles)}))


def run(size: str = "small") -> Table:
    m, n = SIZES[size]
    A, b, lams = _data(m, n)
    table = Table(
        f"Batched lambda sweep: {N_LAMS} lams, least squares {m} x {n}, l1 on a 17-point grid, tol {TOL:g}",
        ["backend", "run", "time (s)", "iterations (sum)", "max residual", "time / batched", "objective agreement", "status"],
    )
    _rows(table, "NumPy (CPU)", A, b, lams, lambda: None)
    try:
        import cupy

        has_gpu = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        has_gpu = False
    if has_gpu:
        _rows(table, f"CuPy ({gpu_name()})", cupy.asarray(A), cupy.asarray(b), lams, cupy.cuda.Device().synchronize)
    else:
        table.add("CuPy (GPU)", "no GPU: skipped", "-", "-", "-", "-", "-", "-")
    table.notes += [
        "objective agreement: max over lams of |batched - cvxpar.solve| / max(1, |objective|).",
        "iterations (sum): over the 64 columns; the batched run does them as GEMM iterations on the columns still active.",
        "Issue target on a GPU: batched >= 10x faster than the separate solves.",
        f"BLAS: {blas_threads()}. On an oversubscribed host (load above the core count) a multithreaded BLAS GEMM "
        "can run 10-40x slower than single-threaded (measured here: 23 ms vs 0.6 ms for 200x400 @ 400x64); "
        "set OPENBLAS_NUM_THREADS=1 there.",
    ]
    return table
