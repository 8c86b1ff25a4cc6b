"""cvxpar.solve on Dask data, on a real LocalCluster (2 worker processes), against the in-memory solve.

The data live in zarr stores on disk and are read lazily by the workers; the cluster is the
``client`` fixture of tests/conftest.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import LeastSquares, Logistic

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
pytest.importorskip("zarr")

N, D, ROWS = 4000, 12, 500


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((N, D))
    x_true = rng.choice(np.linspace(-1.5, 1.5, 7), D)
    b = A @ x_true + 0.5 * rng.standard_normal(N)
    y = np.where(A @ x_true + rng.standard_normal(N) > 0, 1.0, -1.0)
    root = tmp_path_factory.mktemp("zarr")
    for name, arr, chunks in (("A", A, (ROWS, D)), ("b", b, (ROWS,)), ("y", y, (ROWS,))):
        da.from_array(arr, chunks=chunks).to_zarr(str(root / name))
    return {"A": A, "b": b, "y": y, "root": root}


def _lazy(problem, name):
    return da.from_zarr(str(problem["root"] / name))


def _assert_same(res, ref):
    assert isinstance(res.x, np.ndarray)
    assert res.status == ref.status == "optimal"
    assert abs(res.objective - ref.objective) <= 1e-9 * abs(ref.objective)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-7 * max(1.0, np.abs(ref.x).max()))


PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def test_least_squares_with_a_box_runs_on_the_cluster_and_matches_numpy(client, problem):
    lam, box = 200.0, Box(-1.0, 1.0)
    ref = cvxpar.solve(LeastSquares(problem["A"], problem["b"]), PSI, lam, box)
    with distributed.get_task_stream(client) as ts:
        res = cvxpar.solve(LeastSquares(_lazy(problem, "A"), _lazy(problem, "b")), PSI, lam, box)
    _assert_same(res, ref)
    assert res.info["route"] == "gram" and res.info["passes"] == 2  # the Gram, then the certificate
    assert res.gap is not None and abs(res.gap) <= 1e-8 * abs(ref.objective)
    workers = {t["worker"] for t in ts.data}
    assert len(workers) == 2  # both worker processes read chunks
    # one task per row chunk (reading A_k and b_k, fused with the partial Gram) ran on the workers
    chunk_tasks = {t["key"][1] for t in ts.data if isinstance(t["key"], tuple) and len(t["key"]) == 3
                   and not str(t["key"][0]).startswith(("sum-partial", "sum-aggregate"))}
    assert chunk_tasks == set(range(N // ROWS))


def test_logistic_runs_proximal_newton_and_matches_numpy(client, problem):
    lam = 20.0
    ref = cvxpar.solve(Logistic(problem["A"], problem["y"]), PSI, lam)
    res = cvxpar.solve(Logistic(_lazy(problem, "A"), _lazy(problem, "y")), PSI, lam)
    _assert_same(res, ref)
    assert res.method == "newton" and res.info["route"] == "distributed newton" and res.info["passes"] <= 12


def _slow_block(block):
    time.sleep(0.3)
    return block


def test_a_worker_killed_during_the_gram_pass_does_not_change_the_answer(client, problem):
    lam, box = 200.0, Box(-1.0, 1.0)
    ref = cvxpar.solve(LeastSquares(problem["A"], problem["b"]), PSI, lam, box)
    slow = _lazy(problem, "A").map_blocks(_slow_block, dtype=np.float64)  # 8 chunks x 0.3 s over 2 workers
    before = client.run(os.getpid)
    victim = sorted(before.values())[0]
    killed_at = []

    def kill():
        time.sleep(0.25)
        os.kill(victim, signal.SIGKILL)
        killed_at.append(time.perf_counter())

    killer = threading.Thread(target=kill)
    t0 = time.perf_counter()
    killer.start()
    res = cvxpar.solve(LeastSquares(slow, _lazy(problem, "b")), PSI, lam, box)
    killer.join()
    assert killed_at and killed_at[0] - t0 < res.info["gram_pass_time"]  # the kill landed inside the pass
    _assert_same(res, ref)
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()  # the process really died (the nanny restarted it)


def test_a_corrupted_chunk_read_by_a_worker_is_named(client, problem, tmp_path):
    import shutil

    from cvxpar.losses.dask_chunks import UnreadableChunkError

    shutil.copytree(problem["root"] / "A", tmp_path / "A")
    with open(tmp_path / "A" / "c" / "5" / "0", "wb") as f:  # row chunk 5: rows 2500:3000
        f.write(b"truncated")
    loss = LeastSquares(da.from_zarr(str(tmp_path / "A")), _lazy(problem, "b"))
    with pytest.raises(UnreadableChunkError, match=r"cannot read 1 row chunk of the Dask data:\n  A row chunk 5 of 8 "
                                                   r"\(rows 2500:3000\), zarr store /.*/A, chunk key c/5/0: "):
        cvxpar.solve(loss, PSI, 1.0)
