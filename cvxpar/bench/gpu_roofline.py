"""GPU roofline (issue 5): the least-squares solver's time per iteration against the bandwidth floor.

One dense least-squares FISTA iteration reads A twice (A x and A^T r), so it can take no less
than 2 * bytes(A) / B, with B the device's copy bandwidth measured in the same run
(``b[...] = a`` on 1 GiB: bytes read plus bytes written over the time).  For square dense A
from 8 MB to 4 GB, float32 and float64, each row gives that floor, the measured time per
iteration of

- the batched solver with one column (:func:`cvxpar.batch.solve_batch`, k = 1: the fused CuPy
  tail kernel and cuBLAS GEMV, no host synchronization between checks), and
- :func:`cvxpar.solve` (``method="fista"``, the array-API code path running on CuPy),

and the same batched solver on NumPy on the host CPU (the speedup column).  A second table
gives the prox's throughput (bytes in plus out per second) against the copy bandwidth.  Time
per iteration is the difference of two runs with different iteration caps divided by the
difference of their iteration counts, so set-up (the Lipschitz estimate) and the final
certificate cancel.  Without a GPU both tables print one "no GPU: skipped" row, and a CPU
table (NumPy, host copy bandwidth) is measured instead.

    python benchmarks/run.py --size full gpu_roofline
"""

from __future__ import annotations

import math
import time

import numpy as np

from cvxpar import grids, pars
from cvxpar._backend import cupy_with_gpu
from cvxpar.bench._table import Table, gpu_name
from cvxpar.bench.batch_sweep import blas_threads

SIZES_MB = {"small": [8, 32], "full": [8, 32, 128, 512, 2048, 4096]}
CPU_SIZES_MB = {"small": [8, 32], "full": [8, 32, 128, 512]}
#: Iteration caps of the two timed runs (their difference is what is timed).
ITERS = {"gpu": (20, 220), "cpu": (3, 13)}
PSI = pars.l1(grids.uniform(0.05, 41))
COPY_BYTES = 1 << 30
PROX_ELEMENTS = 1 << 26


def _problem(xp_random, n: int, dtype):
    """A square dense least-squares problem with a quantized truth, made on the target device."""
    rng = xp_random.default_rng(0) if hasattr(xp_random, "default_rng") else xp_random.RandomState(0)
    A = rng.standard_normal((n, n), dtype=np.float32).astype(dtype) / math.sqrt(n)
    x = rng.standard_normal(n, dtype=np.float32).astype(dtype)
    return A, A @ x


def _per_iteration(run, caps) -> float:
    """(T(cap2) - T(cap1)) / (iterations2 - iterations1) for ``run(cap) -> (seconds, iterations)``."""
    run(caps[0])  # warm-up: kernels compiled, caches filled
    t1, i1 = run(caps[0])
    t2, i2 = run(caps[1])
    return (t2 - t1) / max(i2 - i1, 1)


def _batch_runner(A, b, sync, fused=None):
    from cvxpar.batch import solve_batch
    from cvxpar.losses import LeastSquares

    loss = LeastSquares(A, b)
    loss.lipschitz()

    def run(cap):
        sync()
        t0 = time.perf_counter()
        res = solve_batch(loss, PSI, 1e-3, tol=1e-300, max_iter=cap, certify=False, fused=fused)
        sync()
        return time.perf_counter() - t0, int(res.iterations[0])

    return run


def _solve_runner(A, b, sync):
    from cvxpar.losses import LeastSquares
    from cvxpar.solve import solve

    loss = LeastSquares(A, b)
    loss.lipschitz()

    def run(cap):
        sync()
        t0 = time.perf_counter()
        res = solve(loss, PSI, 1e-3, method="fista", tol=1e-300, max_iter=cap, polish=False)
        sync()
        return time.perf_counter() - t0, int(res.iterations)

    return run


def _copy_bandwidth_gpu(cupy) -> float:
    a = cupy.ones(COPY_BYTES // 4, dtype=cupy.float32)
    b = cupy.empty_like(a)
    b[...] = a
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    reps = 10
    for _ in range(reps):
        b[...] = a
    stop.record()
    stop.synchronize()
    seconds = cupy.cuda.get_elapsed_time(start, stop) / 1e3 / reps
    return 2 * a.nbytes / seconds


def _copy_bandwidth_cpu(nbytes: int) -> float:
    a = np.ones(nbytes // 8)
    b = np.empty_like(a)
    np.copyto(b, a)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(b, a)
        times.append(time.perf_counter() - t0)
    return 2 * a.nbytes / min(times)


def _gpu_tables(cupy, size: str) -> list[Table]:
    bw = _copy_bandwidth_gpu(cupy)
    name = gpu_name()
    roof = Table(
        f"GPU roofline, least-squares FISTA iteration ({name}; copy bandwidth {bw / 1e9:.0f} GB/s)",
        ["A (MB)", "dtype", "n x n", "floor (us)", "batched k=1 (us)", "x floor", "unfused (us)", "cvxpar.solve (us)",
         "x floor", "NumPy CPU (us)", "CPU / batched"],
    )
    sync = cupy.cuda.Device().synchronize
    for mb in SIZES_MB[size]:
        for dtype in (np.float32, np.float64):
            n = int(math.sqrt(mb * 2**20 / np.dtype(dtype).itemsize))
            A, b = _problem(cupy.random, n, dtype)
            floor = 2 * A.nbytes / bw
            fused = _per_iteration(_batch_runner(A, b, sync), ITERS["gpu"])
            unfused = _per_iteration(_batch_runner(A, b, sync, fused=False), ITERS["gpu"])
            generic = _per_iteration(_solve_runner(A, b, sync), ITERS["gpu"])
            A_h, b_h = A.get(), b.get()
            del A, b
            cupy.get_default_memory_pool().free_all_blocks()
            cpu = _per_iteration(_batch_runner(A_h, b_h, lambda: None), ITERS["cpu"])
            del A_h, b_h
            roof.add(mb, np.dtype(dtype).name, f"{n} x {n}", floor * 1e6, fused * 1e6, f"{fused / floor:.2f}",
                     unfused * 1e6, generic * 1e6, f"{generic / floor:.2f}", cpu * 1e6, f"{cpu / fused:.1f}x")
    roof.notes += [
        "floor = 2 bytes(A) / copy bandwidth: an iteration reads A for A x and again for A^T r.",
        f"Time per iteration: difference of runs capped at {ITERS['gpu'][0]} and {ITERS['gpu'][1]} iterations "
        f"(CPU: {ITERS['cpu'][0]} and {ITERS['cpu'][1]}), tol = 1e-300 so no run stops early, no certificate/polish.",
        "batched k=1: cvxpar.batch.solve_batch (fused tail kernel + cuBLAS GEMV); unfused: the same with "
        "fused=False (array-API tail on CuPy); cvxpar.solve: method='fista'.",
        f"NumPy CPU: solve_batch k=1 on the host; BLAS: {blas_threads()}.",
    ]
    prox = Table(f"GPU prox throughput ({name})", ["dtype", "elements", "prox (us)", "GB/s in+out", "copy GB/s", "share of copy"])
    for dtype in (np.float32, np.float64):
        v = cupy.random.default_rng(1).standard_normal(PROX_ELEMENTS, dtype=np.float32).astype(dtype)
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        PSI.prox(v, 0.3)
        start.record()
        reps = 20
        for _ in range(reps):
            PSI.prox(v, 0.3)
        stop.record()
        stop.synchronize()
        seconds = cupy.cuda.get_elapsed_time(start, stop) / 1e3 / reps
        rate = 2 * v.nbytes / seconds
        prox.add(np.dtype(dtype).name, PROX_ELEMENTS, seconds * 1e6, rate / 1e9, bw / 1e9, f"{rate / bw:.2f}")
    prox.notes.append(f"psi = l1 on a {PSI.n_breakpoints}-point grid, scalar t: one fused kernel (cvxpar._prox_kernels).")
    return [roof, prox]


def _cpu_table(size: str) -> Table:
    bw = _copy_bandwidth_cpu(512 * 2**20)
    table = Table(
        f"CPU roofline, least-squares FISTA iteration on NumPy (host copy bandwidth {bw / 1e9:.1f} GB/s)",
        ["A (MB)", "dtype", "n x n", "floor (us)", "batched k=1 (us)", "x floor", "cvxpar.solve (us)", "x floor"],
    )
    for mb in CPU_SIZES_MB[size]:
        for dtype in (np.float32, np.float64):
            n = int(math.sqrt(mb * 2**20 / np.dtype(dtype).itemsize))
            A, b = _problem(np.random, n, dtype)
            floor = 2 * A.nbytes / bw
            fused = _per_iteration(_batch_runner(A, b, lambda: None), ITERS["cpu"])
            generic = _per_iteration(_solve_runner(A, b, lambda: None), ITERS["cpu"])
            table.add(mb, np.dtype(dtype).name, f"{n} x {n}", floor * 1e6, fused * 1e6, f"{fused / floor:.2f}",
                      generic * 1e6, f"{generic / floor:.2f}")
    table.notes += [
        "floor = 2 bytes(A) / single-thread np.copyto bandwidth (multithreaded BLAS GEMV can beat it: ratios < 1).",
        f"Time per iteration: difference of runs capped at {ITERS['cpu'][0]} and {ITERS['cpu'][1]} iterations. "
        f"BLAS: {blas_threads()}.",
    ]
    return table


def run(size: str = "small") -> list[Table]:
    cupy = cupy_with_gpu()
    if cupy is not None:
        return _gpu_tables(cupy, size)
    skipped = Table("GPU roofline, least-squares FISTA iteration", ["A (MB)", "dtype", "result"])
    skipped.add(", ".join(map(str, SIZES_MB[size])), "float32, float64", "no GPU: skipped (CuPy sees no CUDA device)")
    prox = Table("GPU prox throughput", ["dtype", "result"])
    prox.add("float32, float64", "no GPU: skipped (CuPy sees no CUDA device)")
    return [skipped, prox, _cpu_table(size)]
