"""cvxpar.solve on Dask data, on a real LocalCluster (2 worker processes), against the in-memory solve.

The data live in zarr stores on disk and are read lazily by the workers; the cluster is the
``client`` fixture of tests/conftest.py, except for the fault tests, which kill worker processes and
each get a cluster of their own (``own_client``), so that a worker slow to come back never leaves the
shared one short of workers.  The fault tests kill a worker process in the middle of an iterative
solve at a chosen point (the k-th read of a chosen chunk, counted across the worker processes through
files: no timing race) or kill every worker between two passes, and check that the answer, the
iterations and the passes are those of the undisturbed solve, that the killed process is dead, and
that its nanny replaced it.

Restarts on a loaded machine: a nanny restarts its killed worker in a fresh interpreter, which on a
loaded 2-core machine can take longer than Dask's ``distributed.deploy.lost-worker-timeout`` (15 s by
default), after which the LocalCluster closes that nanny for good and the cluster stays one worker
short, whatever the test waits.  ``own_client`` raises that timeout to ``WORKERS_S``, so a replacement
is waited for as long as the test waits for it; the waits then poll the cluster's state (running
workers, none of them a killed process), not a fixed time.

No test here can hang: every wait for workers has a timeout, and each test runs under a wall-clock
limit (``TEST_LIMIT_S``) past which it fails with the traceback of where it was waiting.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import numpy as np
import pytest

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import LeastSquares, Logistic

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
pytest.importorskip("zarr")

N, D, ROWS = 4000, 12, 500
#: Seconds a test may run (they take 1-30 s on an idle machine) and seconds a wait for (re)started workers may
#: take, generous for a loaded 2-core machine; past them a test fails instead of hanging.
TEST_LIMIT_S, WORKERS_S = 480, 240


class _TestTimeout(BaseException):
    """Raised in the main thread when a test passes ``TEST_LIMIT_S`` (a BaseException: no ``except Exception`` in
    Dask's waits swallows it)."""


@pytest.fixture(autouse=True)
def _time_limit(request):
    """Fail the test, with the traceback of the wait it is stuck in, once it has run ``TEST_LIMIT_S`` seconds."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise _TestTimeout(f"{request.node.name} ran past its limit of {TEST_LIMIT_S} s (a wait on the cluster hung)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, TEST_LIMIT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _own_cluster(**options):
    """A fresh LocalCluster of 2 worker processes (1 thread each) and its client, closed at the end; it keeps a nanny
    whose worker is slow to restart for ``WORKERS_S`` seconds instead of Dask's 15 (module docstring)."""
    with dask.config.set({"distributed.deploy.lost-worker-timeout": f"{WORKERS_S}s"}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                           silence_logs=40, timeout=WORKERS_S, **options)
        try:
            client = distributed.Client(cluster, timeout=WORKERS_S)
            try:
                client.wait_for_workers(2, timeout=WORKERS_S)
                yield client
            finally:
                client.close(timeout=WORKERS_S)
        finally:
            cluster.close(timeout=WORKERS_S)


@pytest.fixture
def own_client():
    """A cluster of its own (``_own_cluster``) for one test that kills workers, so that the shared ``client`` is
    never left short."""
    with _own_cluster() as client:
        yield client


def _dead(pid: int, since: float) -> bool:
    """The process ``pid`` is gone, a zombie, or a newer process that reuses its pid (started after ``since``,
    a time.time() stamp taken no earlier than the kill)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.status() == psutil.STATUS_ZOMBIE or proc.create_time() > since
    except psutil.NoSuchProcess:
        return True


def _assert_replaced(client, killed) -> None:
    """Every process in ``killed`` died and the cluster runs 2 workers again, none of them a killed process: waits on
    the cluster's state (running workers, their pids), up to ``WORKERS_S``."""
    deadline = time.monotonic() + WORKERS_S
    pids: dict = {}
    while time.monotonic() < deadline:
        client.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
        pids = client.run(os.getpid, on_error="ignore")  # a killed worker the scheduler still lists is skipped
        if len(pids) == 2 and not set(killed) & set(pids.values()):
            return
        time.sleep(0.2)
    pytest.fail(f"after {WORKERS_S} s the cluster runs the workers {pids}, not two replacing the killed {sorted(killed)}")


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


#: Seconds a restarted worker of the next test takes to start: above Dask's default lost-worker-timeout (15 s).
SLOW_RESTART_S = 20


def test_a_worker_slower_to_restart_than_dasks_lost_worker_timeout_is_waited_for(tmp_path):
    """The fault tests' cluster gets its killed worker back even when the restart takes longer than Dask's default
    lost-worker-timeout (as a fresh interpreter can on a loaded machine): with the default, the LocalCluster closed
    that nanny for good at 15 s and the wait for two workers failed after WORKERS_S (seen once under load)."""
    flag, preload = tmp_path / "slow", tmp_path / "slow_start.py"
    preload.write_text(f"import os, time\n\ndef dask_setup(worker):\n    if os.path.exists({str(flag)!r}):\n"
                       f"        time.sleep({SLOW_RESTART_S})\n")
    with _own_cluster(preload=[str(preload)]) as client:
        flag.touch()  # from now on a worker takes SLOW_RESTART_S to start
        victim = sorted(client.run(os.getpid).values())[0]
        killed = time.time()
        os.kill(victim, signal.SIGKILL)
        _assert_replaced(client, [victim])
        assert _dead(victim, since=killed) and time.time() - killed >= SLOW_RESTART_S


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


def test_a_worker_killed_during_the_gram_pass_does_not_change_the_answer(own_client, problem):
    client, lam, box = own_client, 200.0, Box(-1.0, 1.0)
    ref = cvxpar.solve(LeastSquares(problem["A"], problem["b"]), PSI, lam, box)
    slow = _lazy(problem, "A").map_blocks(_slow_block, dtype=np.float64)  # 8 chunks x 0.3 s over 2 workers
    before = client.run(os.getpid)
    victim = sorted(before.values())[0]
    killed_at = []

    def kill():
        time.sleep(0.25)
        killed_at.append(time.perf_counter())
        os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill)
    t0 = time.perf_counter()
    killer.start()
    res = cvxpar.solve(LeastSquares(slow, _lazy(problem, "b")), PSI, lam, box)
    killer.join()
    assert killed_at and killed_at[0] - t0 < res.info["gram_pass_time"]  # the kill landed inside the pass
    assert _dead(victim, since=time.time() - (time.perf_counter() - killed_at[0]) - 1.0)  # the process really died
    _assert_same(res, ref)
    _assert_replaced(client, [victim])  # and the nanny started another


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


def _next_count(directory) -> int:
    """1, 2, 3, ... on successive calls from any process (an exclusively created file per call)."""
    j = 0
    while True:
        try:
            os.close(os.open(os.path.join(directory, f"{j}"), os.O_CREAT | os.O_EXCL))
            return j + 1
        except FileExistsError:
            j += 1


def _killing_block(block, block_id=None, flags=None, chunk=None, read=None):
    """``block`` unchanged; the worker reading block ``chunk`` for the ``read``-th time kills its own process
    first (once: the claim of the file ``killed`` holds the victim's pid)."""
    if block_id == chunk and _next_count(os.path.join(flags, "reads")) == read:
        try:
            fd = os.open(os.path.join(flags, "killed"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return block
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)
    return block


def _kill_at(arr, flags, chunk, read):
    """``arr`` whose block ``chunk`` kills the worker reading it for the ``read``-th time (see _killing_block)."""
    os.makedirs(flags / "reads")
    return arr.map_blocks(_killing_block, flags=str(flags), chunk=chunk, read=read, dtype=arr.dtype,
                          meta=np.empty((0,) * arr.ndim, dtype=arr.dtype))


def _assert_the_kill_landed(client, flags):
    """The worker that claimed the kill (the file ``killed``, written just before its SIGKILL) died during the solve,
    and its nanny started another."""
    claim = flags / "killed"
    victim = int(claim.read_text())
    assert _dead(victim, since=claim.stat().st_mtime - 1.0)
    _assert_replaced(client, [victim])


def _assert_undisturbed(res, ref):
    """``res`` (a disturbed solve) equals the undisturbed ``ref``: answer, status, iterations and passes."""
    assert res.status == ref.status and res.method == ref.method
    assert res.iterations == ref.iterations and res.info["passes"] == ref.info["passes"]
    assert abs(res.objective - ref.objective) <= 1e-9 * abs(ref.objective)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-7 * max(1.0, np.abs(ref.x).max()))


def _assert_same_iterates(res, mem):
    """``res`` (disturbed, on the cluster) and the in-memory ``mem`` made the same capped iterations."""
    assert res.status == mem.status == "max_iter" and res.iterations == mem.iterations
    assert abs(res.objective - mem.objective) <= 1e-9 * abs(mem.objective)
    np.testing.assert_allclose(res.x, mem.x, rtol=0, atol=1e-7 * max(1.0, np.abs(mem.x).max()))


#: The last row chunk: when it is read, the pass's other chunks are usually done, on both workers.
LAST = (N // ROWS - 1, 0)


def test_a_worker_killed_in_the_middle_of_a_newton_solve_does_not_change_the_answer(own_client, problem, tmp_path):
    client = own_client
    lam, y = 20.0, _lazy(problem, "y")
    ref = cvxpar.solve(Logistic(_lazy(problem, "A"), y), PSI, lam)
    assert ref.method == "newton" and ref.info["passes"] > 4  # the kill (in the third pass) falls inside the solve
    res = cvxpar.solve(Logistic(_kill_at(_lazy(problem, "A"), tmp_path, LAST, 3), y), PSI, lam)
    _assert_the_kill_landed(client, tmp_path)
    _assert_undisturbed(res, ref)
    _assert_same(res, cvxpar.solve(Logistic(problem["A"], problem["y"]), PSI, lam))


def test_a_worker_killed_in_the_middle_of_a_fista_solve_does_not_change_the_answer(own_client, problem, tmp_path):
    client = own_client
    lam, kw, y = 20.0, dict(method="fista", max_iter=8, polish=False), _lazy(problem, "y")
    ref = cvxpar.solve(Logistic(_lazy(problem, "A"), y), PSI, lam, **kw)
    assert ref.status == "max_iter" and ref.info["route"] == "distributed products" and ref.info["passes"] > 12
    lazy = _kill_at(_lazy(problem, "A"), tmp_path, LAST, 9)  # the step size's pass, then about 4 FISTA iterations
    res = cvxpar.solve(Logistic(lazy, y), PSI, lam, **kw)
    _assert_the_kill_landed(client, tmp_path)
    _assert_undisturbed(res, ref)


def test_every_worker_killed_between_two_newton_steps_does_not_change_the_answer(own_client, problem, monkeypatch):
    from cvxpar.distributed import loss as dloss

    client, lam = own_client, 20.0
    make = lambda: Logistic(_lazy(problem, "A"), _lazy(problem, "y"))  # noqa: E731
    ref = cvxpar.solve(make(), PSI, lam)
    pids, passes, original = client.run(os.getpid), [], dloss.row_chunk_sum
    assert len(pids) == 2

    def killing_every_worker_after_pass_2(*args, **kwargs):
        out = original(*args, **kwargs)
        passes.append(1)
        if len(passes) == 2:  # the cluster loses everything it held; the next pass waits for the new workers
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)
        return out

    monkeypatch.setattr(dloss, "row_chunk_sum", killing_every_worker_after_pass_2)
    started = time.time()
    res = cvxpar.solve(make(), PSI, lam)
    assert len(passes) > 3
    assert all(_dead(pid, since=started) for pid in pids.values())
    _assert_replaced(client, pids.values())  # every worker process was replaced
    _assert_undisturbed(res, ref)


def test_a_worker_killed_during_a_block_by_block_solve_of_wide_data_does_not_change_the_answer(own_client, tmp_path):
    client = own_client
    from cvxpar.losses._operator import POWER_ITERATIONS
    from cvxpar.losses.dask_operator import GRAM_MAX_FEATURES

    rng = np.random.default_rng(12)
    n, d = 60, GRAM_MAX_FEATURES + 100
    A = rng.standard_normal((n, d)) / np.sqrt(n)
    b = A[:, :20] @ rng.choice(np.linspace(-1.5, 1.5, 7), 20) + 0.1 * rng.standard_normal(n)
    da.from_array(A, chunks=(20, 700)).to_zarr(str(tmp_path / "A"))  # 3 x 3 blocks
    psi, lam, box, kw = cvxpar.pars.l1(), 0.3, Box(-1.0, 1.0), dict(method="fista", max_iter=6, polish=False)
    # the power iteration for the step size reads each block once per iteration (A^T (A w) in one graph), a FISTA
    # iteration about four times (two points, two passes each): the kill comes in the third FISTA iteration
    lazy = _kill_at(da.from_zarr(str(tmp_path / "A")), tmp_path / "flags", (2, 1), POWER_ITERATIONS + 10)
    res = cvxpar.solve(LeastSquares(lazy, da.from_array(b, chunks=20)), psi, lam, box, **kw)
    _assert_the_kill_landed(client, tmp_path / "flags")
    assert res.info["route"] == "distributed products"
    _assert_same_iterates(res, cvxpar.solve(LeastSquares(A, b), psi, lam, box, **kw))
