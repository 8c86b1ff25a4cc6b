"""Data larger than a worker's memory: zarr on disk, a LocalCluster whose workers have a low memory limit.

The store holds more bytes than one worker may use (``memory_limit`` per worker process); the
Gram pass streams it chunk by chunk.  The workers' peak resident memory (VmHWM) is read
before and after the solve to show that no worker ever held the data (its growth stays far below
the data's size; the interpreter's own share differs by environment), and their process ids to show that none was
restarted for exceeding its limit.  CI runs the store at about 1.2x one worker's limit;
CVXPAR_FULL=1 at about 2.5x the limit of both workers together.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import LeastSquares

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

#: Per-worker memory limit: a worker process with cvxpar imported holds about 150 MiB before any data.
MEMORY_LIMIT = 250 * 2**20
D, ROWS = 40, 20_000
N = 5_000_000 if os.environ.get("CVXPAR_FULL") == "1" else 1_000_000  # A holds 8 D N bytes: 1.6 GB / 320 MB


def _peak_rss_bytes() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across fork and exec)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024  # kB


def _import_the_solve_stack() -> None:
    """What a worker imports for the Gram pass, so that the peak measured before the solve includes it."""
    import dask.array  # noqa: F401
    import zarr as _zarr  # noqa: F401

    import cvxpar.distributed  # noqa: F401


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A and b = A x_true + noise written with zarr itself (no Dask, no cluster); also returned in memory."""
    root = tmp_path_factory.mktemp("out-of-core")
    rng = np.random.default_rng(3)
    x_true = rng.choice(np.linspace(-1.5, 1.5, 7), D)
    # uncompressed (Gaussian noise does not compress): the write is disk-bound, not codec-bound
    za = zarr.create_array(str(root / "A"), shape=(N, D), chunks=(ROWS, D), dtype="f8", compressors=None)
    zb = zarr.create_array(str(root / "b"), shape=(N,), chunks=(ROWS,), dtype="f8", compressors=None)
    A = 2.0 * rng.random((N, D)) - 1.0
    b = A @ x_true + 0.5 * rng.standard_normal(N)
    za[:], zb[:] = A, b
    return root, A, b


@pytest.fixture(scope="module")
def small_workers():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       memory_limit=MEMORY_LIMIT, silence_logs=40)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from /proc (Linux)")
def test_a_store_larger_than_a_workers_memory_solves_like_numpy(store, small_workers):
    root, A_np, b_np = store
    A, b = da.from_zarr(str(root / "A")), da.from_zarr(str(root / "b"))
    limits = {w["memory_limit"] for w in small_workers.scheduler_info()["workers"].values()}
    assert limits == {MEMORY_LIMIT} and A.nbytes > 1.2 * MEMORY_LIMIT
    pids = small_workers.run(os.getpid)
    psi, lam, box = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)), 0.05 * N, Box(-1.0, 1.0)
    small_workers.run(_import_the_solve_stack)
    before = small_workers.run(_peak_rss_bytes)  # the interpreter's own share: 150-220 MiB by environment

    res = cvxpar.solve(LeastSquares(A, b), psi, lam, box)

    peaks = small_workers.run(_peak_rss_bytes)
    assert small_workers.run(os.getpid) == pids  # no worker was killed for its memory
    assert max(peaks.values()) < MEMORY_LIMIT < A.nbytes
    growth = max(peaks[w] - before[w] for w in peaks)
    assert growth < A.nbytes / 4, f"a worker's peak grew by {growth / 2**20:.0f} MiB: it held the data"  # streamed
    assert res.info["route"] == "gram" and res.info["passes"] == 2
    ref = cvxpar.solve(LeastSquares(A_np, b_np), psi, lam, box, method="fista")  # the fastest at this shape
    assert isinstance(res.x, np.ndarray) and res.status == ref.status == "optimal"
    assert abs(res.objective - ref.objective) <= 1e-9 * abs(ref.objective)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-7 * max(1.0, np.abs(ref.x).max()))
