"""A row chunk of Dask data that cannot be used is named: unreadable (a corrupted zarr chunk file),
non-finite (a missing chunk file of a NaN-filled store), or short (a source that drops rows).
Local threaded scheduler; the same on a LocalCluster is in tests/distributed/test_solve_on_cluster.py."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cvxpar
from cvxpar.losses import LeastSquares, Logistic

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")

from cvxpar.losses.dask_chunks import UnreadableChunkError, chunk_reports  # noqa: E402

PSI = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))
N, D, ROWS = 200, 3, 50


@pytest.fixture
def store(tmp_path):
    """A (N x D) and b in zarr stores with fill_value NaN (a missing chunk file reads as NaN)."""
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((N, D)), rng.standard_normal(N)
    for name, arr, chunks in (("A", A, (ROWS, D)), ("b", b, (ROWS,))):
        z = zarr.create_array(str(tmp_path / name), shape=arr.shape, chunks=chunks, dtype="f8", fill_value=np.nan)
        z[:] = arr
    return tmp_path


def _chunk_file(root, name, *key):
    return os.path.join(root, name, "c", *map(str, key))


def _lazy_loss(root, cls=LeastSquares):
    return cls(da.from_zarr(str(root / "A")), da.from_zarr(str(root / "b")))


def test_a_corrupted_chunk_of_A_is_named_with_its_zarr_key(store):
    with open(_chunk_file(store, "A", 2, 0), "wb") as f:
        f.write(b"not a chunk")
    loss = _lazy_loss(store)  # construction reads only the target
    with pytest.raises(UnreadableChunkError) as info:
        cvxpar.solve(loss, PSI, 1.0)
    msg = str(info.value)
    assert "cannot read 1 row chunk" in msg and "A row chunk 2 of 4 (rows 100:150)" in msg
    assert f"zarr store {store / 'A'}, chunk key c/2/0:" in msg and "Restore or rewrite" in msg
    assert info.value.__cause__ is not None  # the reader's own error is chained


def test_a_corrupted_chunk_of_the_target_is_named_at_construction(store):
    with open(_chunk_file(store, "b", 1), "wb") as f:
        f.write(b"\x00" * 7)
    with pytest.raises(UnreadableChunkError, match=r"b row chunk 1 of 4 \(rows 50:100\).*chunk key c/1"):
        _lazy_loss(store)


@pytest.mark.parametrize("cls", [LeastSquares, Logistic])
def test_a_missing_chunk_file_of_a_nan_filled_store_is_named(store, cls):
    os.remove(_chunk_file(store, "A", 3, 0))
    y = np.where(np.asarray(zarr.open_array(str(store / "b"))[:]) > 0, 1.0, -1.0)
    loss = cls(da.from_zarr(str(store / "A")), da.from_array(y, chunks=ROWS) if cls is Logistic
               else da.from_zarr(str(store / "b")))
    with pytest.raises(ValueError, match=r"NaN or inf entries in A row chunk 3 of 4 \(rows 150:200\).*c/3/0"):
        cvxpar.solve(loss, PSI, 1.0)


def test_every_chunk_is_reported_even_when_one_fails(store):
    for k in (0, 2):
        with open(_chunk_file(store, "A", k, 0), "wb") as f:
            f.write(b"junk")
    reports = chunk_reports({"A": da.from_zarr(str(store / "A"))})
    assert [r.error is not None for r in reports] == [True, False, True, False]
    assert [r.rows for r in reports if r.error is None] == [ROWS, ROWS]
    with pytest.raises(UnreadableChunkError, match=r"cannot read 2 row chunks(.|\n)*chunk 0 of 4(.|\n)*chunk 2 of 4"):
        cvxpar.solve(_lazy_loss(store), PSI, 1.0)


class _BuggyLoss(LeastSquares):
    def h(self, z):
        raise ZeroDivisionError("a bug in the loss, not in the data")


def test_a_failure_that_is_not_a_chunk_read_is_raised_as_it_is(store):
    with pytest.raises(ZeroDivisionError, match="a bug in the loss"):
        cvxpar.solve(_lazy_loss(store, _BuggyLoss), PSI, 1.0, method="fista")


def test_a_corrupted_block_of_column_chunked_data_is_named_by_block(tmp_path):
    from cvxpar.losses.dask_chunks import raise_unreadable

    A = np.random.default_rng(6).standard_normal((40, 9))
    z = zarr.create_array(str(tmp_path / "W"), shape=A.shape, chunks=(20, 3), dtype="f8")
    z[:] = A
    with open(_chunk_file(tmp_path, "W", 1, 2), "wb") as f:
        f.write(b"not a chunk")
    blocks = da.from_zarr(str(tmp_path / "W"))  # 2 x 3 blocks, read block by block by the wide route
    with pytest.raises(UnreadableChunkError, match=r"cannot read 1 row chunk of the Dask data:\n  A block \(1, 2\) "
                                                   r"of 2 x 3 \(rows 20:40, columns 6:9\), zarr store .*W, chunk "
                                                   "key c/1/2:"):
        raise_unreadable({"A": blocks}, RuntimeError("a pass failed"))
