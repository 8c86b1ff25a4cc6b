"""The one primitive every distributed pass uses: a per-row-chunk function, summed by a tree reduction.

``row_chunk_sum(A, target, fn, width, **kw)`` maps ``fn(A_k, t_k, **kw) -> (1, width)`` over the
row chunks (A_k, t_k) of A and the target (one task per chunk: each chunk is read once) and sums
the partial rows with ``dask.array.sum(..., split_every=SPLIT_EVERY)``, a tree of partial sums
(the reduction pattern of MapReduce, Dean & Ghemawat 2004), computed on the active scheduler.
"""

from __future__ import annotations

import numpy as np

#: How many partial results one task of the tree reduction sums.
SPLIT_EVERY = 8


def row_chunk_sum(A, target, fn, width: int, **kwargs) -> np.ndarray:
    """sum_k fn(A_k, t_k[:, None], **kwargs) over the row chunks, as a NumPy vector of length ``width``."""
    parts = A.map_blocks(fn, target[:, None], dtype=np.float64, chunks=((1,) * len(A.chunks[0]), (width,)),
                         **kwargs)
    return np.asarray(parts.sum(axis=0, split_every=SPLIT_EVERY).compute())
