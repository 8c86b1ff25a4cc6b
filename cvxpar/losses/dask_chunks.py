"""Naming the row chunk of Dask data that a pass could not use: unreadable, non-finite, or short.

A pass over Dask data sums per-chunk results (a tree reduction), so when it fails -- a chunk
whose read raised, NaN or inf in the sum, a row count other than n -- the sum cannot say where.
The functions here then run one small diagnostic task per row chunk of each array (its row
count and whether it is finite, or the exception reading it raised; one more pass, on the error
path only) and raise an error naming every bad chunk: the array, the chunk index, its rows and,
when the array is read from a zarr store, the store and the chunk's key in it.

A zarr store reads a *missing* chunk file as the array's ``fill_value`` (the format's rule, not
an error; with ``write_empty_chunks=False`` absent chunks are normal).  A store written with
``fill_value=nan`` turns a lost chunk file into NaN rows, which the finiteness check reports by
chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How a failed chunk is fixed, appended to every message.
HOW_TO_FIX = ("Restore or rewrite that chunk from the data's origin, or leave its rows out explicitly (e.g. "
              "da.concatenate of the slices around them, for A and the target alike): cvxpar never skips rows.")


class UnreadableChunkError(RuntimeError):
    """A row chunk of the Dask data raised when it was read (the message names it and how to fix it)."""


@dataclass
class ChunkReport:
    """What one row chunk delivered: its rows and finiteness, or the exception computing it raised."""

    name: str
    index: int
    start: int
    stop: int
    column: tuple[int, int, int] | None = None  # (column chunk, first column, stop) of a block of column-chunked data
    rows: int = -1
    finite: bool = True
    error: BaseException | None = None


def _summary(block) -> np.ndarray:
    """[rows, 1 if every entry is finite else 0] of one chunk (any array type with ``shape``)."""
    from cvxpar._backend import array_namespace

    xp = array_namespace(block)
    return np.array([block.shape[0], float(bool(xp.all(xp.isfinite(block))))])


def _active_client():
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def chunk_reports(arrays: dict) -> list[ChunkReport]:
    """One :class:`ChunkReport` per row chunk of each named Dask array (one diagnostic task per chunk).

    On a ``dask.distributed`` client the tasks run as independent futures; otherwise chunk by
    chunk on the local scheduler, so one chunk's failure never hides another's.
    """
    import dask

    reports, tasks = [], []
    for name, arr in arrays.items():
        bounds = [np.cumsum((0,) + tuple(c)) for c in arr.chunks]
        parts = arr.to_delayed()
        blocked = arr.ndim == 2 and arr.numblocks[1] > 1
        for idx in np.ndindex(*arr.numblocks):
            i = idx[0]
            column = (idx[1], int(bounds[1][idx[1]]), int(bounds[1][idx[1] + 1])) if blocked else None
            reports.append(ChunkReport(name, i, int(bounds[0][i]), int(bounds[0][i + 1]), column))
            tasks.append(dask.delayed(_summary)(parts[idx]))
    client = _active_client()
    if client is not None:
        from distributed import wait

        futures = client.compute(tasks)
        wait(futures)
        outcomes = [f.exception() if f.status == "error" else f.result() for f in futures]
    else:
        outcomes = []
        for task in tasks:
            try:
                outcomes.append(task.compute())
            except Exception as err:  # every failure is reported, by chunk
                outcomes.append(err)
    for report, out in zip(reports, outcomes, strict=True):
        if isinstance(out, BaseException):
            report.error = out
        else:
            report.rows, report.finite = int(out[0]), bool(out[1])
    return reports


def _zarr_source(arr):
    """The zarr array ``arr`` is read from, when its graph reads exactly one of A's shape; else None."""
    found = []
    for value in arr.__dask_graph__().values():
        value = getattr(value, "value", value)  # a graph data node wraps its object
        if type(value).__module__.startswith("zarr") and hasattr(value, "store_path"):
            found.append(value)
    found = [z for z in found if tuple(z.shape) == tuple(arr.shape)]
    return found[0] if len(found) == 1 else None


def _store_location(z) -> str:
    """The directory or URL of a zarr array (its store's root or path, then the array's path in it)."""
    store = z.store_path.store
    base = str(getattr(store, "root", None) or getattr(store, "path", None) or store)
    return f"{base.rstrip('/')}/{z.store_path.path}" if z.store_path.path else base


def _where(report: ChunkReport, arr) -> str:
    """'A row chunk 2 of 4 (rows 10:15)' (or 'A block (2, 1) of 4 x 3 (rows 10:15, columns 5:10)' of column-chunked
    data), with the zarr store and chunk keys when there is one."""
    if report.column is None:
        text = f"{report.name} row chunk {report.index} of {len(arr.chunks[0])} (rows {report.start}:{report.stop})"
        spans = [(report.start, report.stop)] + [(0, 1)] * (arr.ndim - 1)
    else:
        j, c0, c1 = report.column
        text = (f"{report.name} block ({report.index}, {j}) of {arr.numblocks[0]} x {arr.numblocks[1]} "
                f"(rows {report.start}:{report.stop}, columns {c0}:{c1})")
        spans = [(report.start, report.stop), (c0, c1)]
    z = _zarr_source(arr)
    if z is not None:
        import itertools

        ranges = [range(lo // size, (hi - 1) // size + 1) for (lo, hi), size in zip(spans, z.chunks, strict=True)]
        keys = [z.metadata.encode_chunk_key(k) for k in itertools.product(*ranges)]
        text += f", zarr store {_store_location(z)}, chunk key{'s' if len(keys) > 1 else ''} {', '.join(keys)}"
    return text


def raise_unreadable(arrays: dict, err: BaseException) -> None:
    """After a pass raised ``err``: raise :class:`UnreadableChunkError` naming every chunk that cannot be
    computed (``err`` chained), or return when each chunk reads on its own (the failure was elsewhere)."""
    bad = [r for r in chunk_reports(arrays) if r.error is not None]
    if not bad:
        return
    lines = [f"{_where(r, arrays[r.name])}: {type(r.error).__name__}: {r.error}" for r in bad]
    raise UnreadableChunkError(f"cannot read {len(bad)} row chunk{'s' if len(bad) > 1 else ''} of the Dask data:\n  "
                               + "\n  ".join(lines) + f"\n{HOW_TO_FIX}") from err


def raise_bad_chunks(arrays: dict, n: int, rows_seen: float | None = None) -> None:
    """After a pass found NaN/inf or saw ``rows_seen`` != ``n`` rows: raise naming the chunks responsible.

    ValueError for non-finite chunks, RuntimeError for chunks that delivered another number of
    rows than their declared size, :class:`UnreadableChunkError` for chunks that cannot be read.
    """
    reports = chunk_reports(arrays)
    unreadable = [r for r in reports if r.error is not None]
    if unreadable:
        raise_unreadable({r.name: arrays[r.name] for r in unreadable}, unreadable[0].error)
    short = [r for r in reports if r.rows != r.stop - r.start]
    if short or (rows_seen is not None and rows_seen != n):
        where = "; ".join(f"{_where(r, arrays[r.name])} delivered {r.rows} rows" for r in short)
        if rows_seen is None:
            first = next(iter(arrays))
            rows_seen = sum(r.rows for r in reports if r.name == first and (r.column is None or r.column[0] == 0))
        raise RuntimeError(f"the pass over the data saw {rows_seen:.0f} rows, but A has n_samples = {n}"
                           + (f": {where}" if where else "") + ". Some chunks were dropped or returned the wrong "
                           "number of rows; check the data source. " + HOW_TO_FIX)
    bad = [r for r in reports if not r.finite]
    if not bad:
        raise ValueError("the pass over the data produced NaN or inf although every chunk is finite: the sums "
                         "overflow float64; rescale A or the target.")
    where = "; ".join(_where(r, arrays[r.name]) for r in bad)
    raise ValueError(f"the Dask data contain NaN or inf entries in {where}; clean the data before solving. A zarr "
                     "chunk file that is missing reads as the array's fill_value (NaN when the store was written "
                     "with fill_value=nan).")
