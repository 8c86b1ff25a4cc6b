"""Tall least squares stored in zarr, solved on a Dask LocalCluster (2 worker processes).

A is n x 100 float64 in a zarr store on local disk (``small``: n = 10^5, 80 MB; ``full``:
n = 10^7, 8 GB), chunks of n / 10 (small) or 10^5 (full) rows; b alongside.  The table reports

- the single-threaded read time of the same store (every chunk of A and b read in turn, no Dask):
  the floor a pass over the data cannot beat on one core;
- the time of one distributed pass (the Gram of [A | b], a tree reduction) and its ratio to that
  read, the first pass apart (the workers import cvxpar), the median time of a row chunk's task
  (reading A_k and b_k and forming the partial Gram, one fused task) and, measured in a worker
  alone, its two parts; on two clusters side by side: Dask's default worker settings, and workers
  started without the ``MALLOC_TRIM_THRESHOLD_`` the nanny sets (which makes every chunk-sized
  buffer a fresh allocation);
- the certificate's pass at a point;
- the total time of ``cvxpar.solve`` to a certified answer (pass + in-memory solve + certificate);
- the same problem solved in memory with NumPy (when it fits: at most 2 GB), and the agreement of
  the two answers;
- logistic regression on the same A (labels y in the store, lam = 0.002 n): proximal Newton
  (``cvxpar.distributed.newton``, one pass per step with the Hessian) against distributed FISTA
  (two passes per iteration, capped at FISTA_MAX_ITER iterations; small size only): time, passes,
  status, and the agreement with the in-memory solve.

psi is the 7-level ridge PAR on a grid of step 0.5, lam = 0.05 n, Box(-1, 1).  BLAS runs on one
thread in the client and in the workers (OPENBLAS_NUM_THREADS=1 is set before they start).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np

import cvxpar
from cvxpar.bench._table import Table

SIZES = {"small": (100_000, 100, 10_000), "full": (10_000_000, 100, 100_000)}
#: lam / n of the logistic comparison, and the iteration cap of its distributed FISTA run.
LOGISTIC_LAM, FISTA_MAX_ITER = 0.002, 100
#: The methods of the logistic comparison at each size (at full size distributed FISTA's ~44 passes over 8 GB
#: are left out; its time is its passes times the time of a pass).
LOGISTIC_METHODS = {"small": ("newton", "fista"), "full": ("newton",)}
IN_MEMORY_MAX_BYTES = 2 * 1024**3
REPEATS = 3


def run(size: str = "small") -> Table:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), tempfile.TemporaryDirectory(prefix="cvxpar-dask-bench-") as root:
        return _run(size, root)


def _write(root: str, n: int, d: int, rows: int):
    """A (Gaussian), b = A x_true + noise and labels y = sign(A x_true / 4 + noise), written chunk by chunk
    (never all in memory)."""
    import zarr

    rng = np.random.default_rng(0)
    x_true = rng.choice(np.linspace(-1.5, 1.5, 7), d)
    za = zarr.open_array(f"{root}/A", mode="w", shape=(n, d), chunks=(rows, d), dtype="f8")
    zb = zarr.open_array(f"{root}/b", mode="w", shape=(n,), chunks=(rows,), dtype="f8")
    zy = zarr.open_array(f"{root}/y", mode="w", shape=(n,), chunks=(rows,), dtype="f8")
    for start in range(0, n, rows):
        a = rng.standard_normal((min(rows, n - start), d))
        za[start:start + a.shape[0]] = a
        zb[start:start + a.shape[0]] = a @ x_true + 0.5 * rng.standard_normal(a.shape[0])
        zy[start:start + a.shape[0]] = np.where(a @ x_true / 4 + rng.standard_normal(a.shape[0]) > 0, 1.0, -1.0)
    return za, zb, zy


def _read_all(za, zb, rows: int) -> float:
    """Seconds to read every chunk of A and b once, in one thread."""
    t0 = time.perf_counter()
    for start in range(0, za.shape[0], rows):
        za[start:start + rows]
        zb[start:start + rows]
    return time.perf_counter() - t0


def _is_chunk_task(key) -> bool:
    """Whether a task of the Gram pass is the one of a row chunk: reading A_k and b_k, forming the partial
    Gram and the first step of the sum, fused into one task (key (name, i, 0)); the rest is the sum's tree."""
    return (isinstance(key, tuple) and len(key) == 3 and str(key[0]).startswith("sum-")
            and not str(key[0]).startswith(("sum-partial", "sum-aggregate")))


def _probe_chunks(root: str, rows: int, chunks: int = 5) -> dict:
    """On a worker: the median milliseconds of reading chunk k of A and b from the store (zarr, no Dask) and of
    the partial Gram of that chunk in memory, over the first ``chunks`` chunks."""
    import zarr

    from cvxpar.distributed.gram import _chunk_gram

    za, zb = zarr.open_array(f"{root}/A", mode="r"), zarr.open_array(f"{root}/b", mode="r")
    read, gram = [], []
    for k in range(chunks):
        t0 = time.perf_counter()
        a, b = za[k * rows:(k + 1) * rows], zb[k * rows:(k + 1) * rows]
        t1 = time.perf_counter()
        _chunk_gram(a, b[:, None])
        read.append(1e3 * (t1 - t0))
        gram.append(1e3 * (time.perf_counter() - t1))
    return {"read": statistics.median(read), "gram": statistics.median(gram)}


def _cluster(trim: bool):
    """The benchmark's LocalCluster (2 worker processes, 1 thread, 2 GiB each); ``trim=False`` starts the
    workers without the ``MALLOC_TRIM_THRESHOLD_`` that Dask's nanny sets by default."""
    import dask
    import distributed

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    if not trim:
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, memory_limit="2GiB", silence_logs=40)
    return cluster, distributed.Client(cluster)


def _gram_passes(client, root: str, rows: int, za, zb) -> dict:
    """The Gram pass on the cluster of ``client``: the first pass (the workers import cvxpar), REPEATS more,
    each followed by a single-threaded read of the store in this process (so that each pass has a read taken
    under the same machine load beside it), the compute time of each row chunk's task, and the in-worker
    breakdown of a chunk's task."""
    import dask.array as da
    import distributed

    from cvxpar.distributed.gram import gram_pass
    from cvxpar.losses import LeastSquares

    loss = LeastSquares(da.from_zarr(f"{root}/A"), da.from_zarr(f"{root}/b"))
    t0 = time.perf_counter()
    gram_pass(loss.op, loss.target)
    out = {"first": time.perf_counter() - t0, "passes": [], "reads": [], "task_ms": [],
           "chunks": len(loss.op.row_chunks)}
    for _ in range(REPEATS):
        with distributed.get_task_stream(client) as ts:
            t0 = time.perf_counter()
            gram_pass(loss.op, loss.target)
            out["passes"].append(time.perf_counter() - t0)
        out["reads"].append(_read_all(za, zb, rows))
        out["task_ms"] += [_compute_ms(t) for t in ts.data if _is_chunk_task(t["key"])]
    probes = list(client.run(_probe_chunks, root, rows).values())
    out["probe"] = {k: statistics.median(p[k] for p in probes) for k in ("read", "gram")}
    return out


def _logistic(A, y, psi, box, n: int, methods: tuple) -> dict:
    """{method: (result, seconds)} of the logistic problem on the cluster: proximal Newton (the "auto"
    choice) and distributed FISTA."""
    from cvxpar.losses import Logistic

    out = {}
    for method in methods:
        kw = {"max_iter": FISTA_MAX_ITER} if method == "fista" else {}
        t0 = time.perf_counter()
        res = cvxpar.solve(Logistic(A, y), psi, LOGISTIC_LAM * n, box, method=method, **kw)
        out[method] = (res, time.perf_counter() - t0)
    return out


def _compute_ms(task) -> float:
    return 1e3 * sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")


def _run(size: str, root: str) -> Table:
    import dask.array as da

    from cvxpar.constraints import Box
    from cvxpar.distributed import DistributedLoss
    from cvxpar.losses import LeastSquares

    n, d, rows = SIZES[size]
    za, zb, zy = _write(root, n, d, rows)
    gb = 8 * n * (d + 1) / 1e9
    read = min(_read_all(za, zb, rows) for _ in range(REPEATS))
    psi, lam, box = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)), 0.05 * n, Box(-1.0, 1.0)
    cvxpar.solve(LeastSquares(np.eye(3), np.ones(3)), psi, 1.0, box)  # compile outside the timings

    table = Table(f"Tall least squares in zarr on a Dask LocalCluster ({n} x {d} float64, {gb:.2f} GB)",
                  ["measure", "value", "note"])
    cluster, client = _cluster(trim=False)
    try:
        untrimmed = _gram_passes(client, root, rows, za, zb)
    finally:
        client.close()
        cluster.close()
    cluster, client = _cluster(trim=True)
    try:
        gram = _gram_passes(client, root, rows, za, zb)
        loss = LeastSquares(da.from_zarr(f"{root}/A"), da.from_zarr(f"{root}/b"))
        cert_pass = []
        for k in range(REPEATS):
            dl = DistributedLoss(loss)
            t0 = time.perf_counter()
            dl.value(np.full(d, 0.1 * (k + 1)))
            cert_pass.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = cvxpar.solve(loss, psi, lam, box)
        total = time.perf_counter() - t0
        logistic = _logistic(da.from_zarr(f"{root}/A"), da.from_zarr(f"{root}/y"), psi, box, n, LOGISTIC_METHODS[size])
    finally:
        client.close()
        cluster.close()

    n_chunks = gram["chunks"]
    table.add("single-threaded read of the store (A and b)", read, f"s, best of {REPEATS}; {gb / read:.2f} GB/s")
    for label, runs in (("Dask's default worker settings", gram), ("workers without MALLOC_TRIM_THRESHOLD_", untrimmed)):
        p = statistics.median(runs["passes"])
        side_by_side = statistics.median(q / r for q, r in zip(runs["passes"], runs["reads"], strict=True))
        table.add(f"one distributed pass, Gram of [A | b] ({label})", p,
                  f"s, median of {REPEATS}; {p / read:.2f}x the read above; {side_by_side:.2f}x the single-threaded "
                  f"read taken right after each pass (median of the {REPEATS} ratios; reads "
                  f"{', '.join(f'{r:.2f}' for r in runs['reads'])} s); first pass, workers importing: "
                  f"{runs['first']:.2f} s")
        table.add(f"per-chunk task: read A_k, b_k + partial Gram ({label})", statistics.median(runs["task_ms"]),
                  f"ms, median over {len(runs['task_ms'])} tasks ({n_chunks} chunks x {REPEATS} passes); in a worker "
                  f"alone: read {runs['probe']['read']:.1f} ms + partial Gram {runs['probe']['gram']:.1f} ms; the "
                  f"single-threaded read: {1e3 * read / n_chunks:.1f} ms per chunk")
    table.add("certificate pass at a point", statistics.median(cert_pass), "s: value, gradient, conjugate")
    table.add("cvxpar.solve to a certified answer", total,
              f"s; status {res.status}, {res.info['passes']} passes, in-memory method {res.method}")
    if 8 * n * (d + 1) <= IN_MEMORY_MAX_BYTES:
        t0 = time.perf_counter()
        A, b = za[:], zb[:]
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = cvxpar.solve(LeastSquares(A, b), psi, lam, box)
        mem = time.perf_counter() - t0
        table.add("load into memory (NumPy)", load, "s")
        table.add("cvxpar.solve in memory (NumPy)", mem, f"s; status {ref.status}, method {ref.method}")
        table.add("objective: |Dask - NumPy| / |NumPy|", abs(res.objective - ref.objective) / abs(ref.objective), "")
        table.add("x: max |Dask - NumPy|", float(np.max(np.abs(res.x - ref.x))), "")
    lam_logistic = LOGISTIC_LAM * n
    for method, (res_l, secs) in logistic.items():
        table.add(f"Logistic, lam = {LOGISTIC_LAM:g} n: {method} on the cluster", secs,
                  f"s; status {res_l.status}, {res_l.iterations} iterations, {res_l.info['passes']} passes")
    if 8 * n * (d + 1) <= IN_MEMORY_MAX_BYTES:
        from cvxpar.losses import Logistic

        t0 = time.perf_counter()
        ref_l = cvxpar.solve(Logistic(A, zy[:]), psi, lam_logistic, box)
        table.add("Logistic: cvxpar.solve in memory (NumPy)", time.perf_counter() - t0,
                  f"s; status {ref_l.status}, method {ref_l.method}")
        for method, (res_l, _) in logistic.items():
            table.add(f"Logistic objective: |{method} - NumPy| / |NumPy|",
                      abs(res_l.objective - ref_l.objective) / abs(ref_l.objective),
                      f"x: max |{method} - NumPy| = {float(np.max(np.abs(res_l.x - ref_l.x))):.1e}")
    table.notes += [
        f"Load average of the machine at the end of the run: {os.getloadavg()[0]:.1f} (other jobs share its 2 cores).",
        f"Data in a local zarr store, {n_chunks} row chunks of {rows} rows; LocalCluster of 2 worker processes, "
        "1 thread each, 2 GiB memory limit each; BLAS single-threaded.",
        "This machine has 2 cores shared with other jobs: scaling with workers cannot be shown here, and "
        "timings are noisy. A pass is one task per chunk plus a tree of partial sums, so on W workers it "
        "takes about (chunks / W) x the per-chunk time while the storage keeps up.",
        "Proximal Newton makes one pass per step (the Hessian's d^2 work per row is the Gram's), distributed FISTA "
        "two per iteration plus its polish's; the passes column is independent of the machine's load.",
        "CuPy chunks (A.map_blocks(cupy.asarray)) run the same per-chunk functions on each worker's GPU; not "
        "measured: this machine has no GPU.",
    ]
    if size == "small":
        table.notes.append(_full_size_plan(gram["task_ms"], rows))
    return table


def _full_size_plan(gram_ms: list, rows: int) -> str:
    """What ``--size full`` measures, why it is not run on a shared 2-core machine, and the time per pass
    projected from this run's per-chunk time (per row) for W workers reading in parallel."""
    n_full, d_full, rows_full = SIZES["full"]
    per_row_s = statistics.median(gram_ms) / 1e3 / rows if gram_ms else float("nan")
    projected = ", ".join(f"W = {w}: {n_full * per_row_s / w:.0f} s" for w in (1, 2, 8, 32))
    return (f"Full size (`python benchmarks/run.py --size full dask`): {n_full:.0e} x {d_full} float64 "
            f"({8 * n_full * (d_full + 1) / 1e9:.0f} GB) in zarr, {n_full // rows_full} chunks of {rows_full} rows, "
            "2 workers with 2 GiB each (the data are 4x the cluster's memory): the time per pass against the "
            "single-threaded read of the store (target: within 1.5x), the time to a certified answer, and the "
            "in-memory solve skipped (over 2 GB). Not run on this machine: writing and reading 8 GB several times "
            "on 2 cores shared with other jobs takes longer than a work session. Projected time of one pass from "
            f"this run's per-chunk Gram time ({per_row_s * 1e6:.2f} us per row, at this run's load): {projected} "
            "(while the storage delivers 8 GB / pass time; a parallel file system or object store, not one disk).")
