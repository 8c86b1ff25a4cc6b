"""The one primitive every distributed pass uses: a per-row-chunk function, summed by a tree reduction.

``row_chunk_sum(A, target, fn, width, **kw)`` maps ``fn(A_k, t_k, **kw) -> (1, width)`` over the
row chunks (A_k, t_k) of A and the target (one task per chunk: each chunk is read once) and sums
the partial rows with ``dask.array.sum(..., split_every=SPLIT_EVERY)``, a tree of partial sums
(the reduction pattern of MapReduce, Dean & Ghemawat 2004), computed on the active scheduler.

The chunk functions are written against the Array API of the chunk (``on_chunk``): with NumPy
chunks they run on the workers' CPUs, with CuPy chunks on their GPUs, and only the (1, width)
partial sums come back to the client, as NumPy.
"""

from __future__ import annotations

import numpy as np

from cvxpar._backend import array_namespace, device, is_numpy_namespace, to_host
from cvxpar.losses.dask_chunks import raise_unreadable

#: How many partial results one task of the tree reduction sums.
SPLIT_EVERY = 8


def row_chunk_sum(A, target, fn, width: int, target_name: str = "target", rows: tuple = (), **kwargs) -> np.ndarray:
    """sum_k fn(A_k, t_k[:, None], *r_k, **kwargs) over the row chunks, as a NumPy vector of length ``width``
    (``rows``: more vectors chunked like A's rows, whose chunks r_k follow the target's).

    Raises :class:`~cvxpar.losses.dask_chunks.UnreadableChunkError` naming the chunk (of A or of the
    target, called ``target_name``) when reading one fails.
    """
    import dask.array as da

    more = [arg for v in rows for arg in (v, "i")]
    parts = da.blockwise(_with_target_column, "ij", A, "ij", target, "i", *more, fn=fn, dtype=np.float64,
                         adjust_chunks={"i": 1, "j": width}, meta=A._meta, **kwargs)
    try:
        return to_host(parts.sum(axis=0, split_every=SPLIT_EVERY).compute())
    except Exception as err:
        raise_unreadable({"A": A, target_name: target}, err)
        raise


def _with_target_column(a, t, *rows, fn, **kwargs):
    """fn(a, t as a (rows, 1) column, *rows, **kwargs): the target's chunk enters the task that reads A's chunk
    (one blockwise task per row chunk: the reads and fn fuse into it, with no reshaping task in between)."""
    xp = array_namespace(t)
    return fn(a, xp.reshape(t, (t.shape[0], 1)), *rows, **kwargs)


def on_chunk(a, *host):
    """(xp, moved): the Array-API namespace of the chunk ``a`` and the arrays ``host`` (NumPy, or chunks of
    another type such as a NumPy target beside CuPy A) in it, on a's device, as float64 (None stays None)."""
    xp = array_namespace(a)
    if is_numpy_namespace(xp):
        return xp, tuple(None if v is None else np.asarray(v, dtype=np.float64) for v in host)
    return xp, tuple(None if v is None else xp.asarray(to_host(v) if array_namespace(v) is not xp else v,
                                                        dtype=xp.float64, device=device(a)) for v in host)
