"""The one primitive every distributed pass uses: a per-row-chunk function, summed by a tree reduction.

``row_chunk_sum(A, target, fn, width, **kw)`` maps ``fn(A_k, t_k, **kw) -> (1, width)`` over the
row chunks (A_k, t_k) of A and the target (one task per chunk: each chunk is read once) and sums
the partial rows with ``dask.array.sum(..., split_every=SPLIT_EVERY)``, a tree of partial sums
(the reduction pattern of MapReduce, Dean & Ghemawat 2004), computed on the active scheduler.
"""

from __future__ import annotations

import numpy as np

from cvxpar.losses.dask_chunks import raise_unreadable

#: How many partial results one task of the tree reduction sums.
SPLIT_EVERY = 8


def row_chunk_sum(A, target, fn, width: int, target_name: str = "target", **kwargs) -> np.ndarray:
    """sum_k fn(A_k, t_k[:, None], **kwargs) over the row chunks, as a NumPy vector of length ``width``.

    Raises :class:`~cvxpar.losses.dask_chunks.UnreadableChunkError` naming the chunk (of A or of the
    target, called ``target_name``) when reading one fails.
    """
    parts = A.map_blocks(fn, target[:, None], dtype=np.float64, chunks=((1,) * len(A.chunks[0]), (width,)),
                         **kwargs)
    try:
        return np.asarray(parts.sum(axis=0, split_every=SPLIT_EVERY).compute())
    except Exception as err:
        raise_unreadable({"A": A, target_name: target}, err)
        raise
