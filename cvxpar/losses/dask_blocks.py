"""Products of a Dask matrix stored in blocks A_ij (row chunk i, column chunk j) with in-memory points.

For X (d x k) and R (n x k) held in host memory,

    (A X)_i = sum_j A_ij X_j,        (A^T R)_j = sum_i A_ij^T R_i,

each computed as one task per stored block (the block read once, multiplied by the slice of X or
R it meets) followed by Dask's tree sum of the partial products over j (resp. i): no task holds
more than one block.  The per-block functions use only the block's Array API: the slice of X or R
is moved onto the block's namespace and device inside the task, so blocks of NumPy, CuPy or any
Array-API library run the same graph, and the partial products stay in the block's namespace
until the caller computes the result.  ``block_columns`` gathers the columns F of A (n x |F|)
from the column chunks holding them, one task per block of those chunks.
"""

from __future__ import annotations

import numpy as np

from cvxpar._backend import array_namespace, device, is_numpy_namespace, to_host

#: How many partial products one task of the tree sum adds.
SPLIT_EVERY = 8


def _da():
    import dask.array as da

    return da


def _meta(blocks, ndim: int):
    """An empty float64 array of ``ndim`` dimensions in the namespace of the blocks' chunks."""
    from dask.array.utils import meta_from_array

    return meta_from_array(blocks._meta, ndim=ndim, dtype=np.float64)


def _moved(a, v):
    """``v`` (a NumPy slice, or a chunk of another namespace) as float64 in a's namespace, on a's device."""
    xp = array_namespace(a)
    if is_numpy_namespace(xp):
        return np.asarray(v, dtype=np.float64)
    if array_namespace(v) is not xp:
        v = xp.asarray(np.array(to_host(v), dtype=np.float64), device=device(a))
    return v if v.dtype == xp.float64 else xp.astype(v, xp.float64)


def _block_matmul(a, x):
    """A_ij X_j for one block, as a (rows, 1, k) partial in the block's namespace."""
    xp = array_namespace(a)
    x = _moved(a, x)
    return xp.reshape(a @ x, (a.shape[0], 1, x.shape[1]))


def _block_rmatmul(a, r):
    """A_ij^T R_i for one block, as a (cols, 1, k) partial in the block's namespace."""
    xp = array_namespace(a)
    r = _moved(a, r)
    return xp.reshape(a.T @ r, (a.shape[1], 1, r.shape[1]))


def _block_take(a, cols=None):
    """The columns ``cols`` (positions in this column chunk) of one block."""
    xp = array_namespace(a)
    return xp.take(a, xp.asarray(cols, device=device(a)), axis=1)


def _as_dask(v, chunks: tuple):
    """``v`` (NumPy or Dask, n x k or d x k) as a Dask array with the row ``chunks`` given and one column chunk."""
    da = _da()
    if not hasattr(v, "dask"):
        return da.from_array(np.asarray(v, dtype=np.float64), chunks=(chunks, v.shape[1]))
    return v.rechunk((chunks, v.shape[1]))


def _per_block_then_sum(fn, blocks, blocks_index: str, V, v_chunks: tuple, v_index: str, out_index: str):
    """The lazy sum over the middle index of ``out_index`` of fn(block, slice of V): one task per stored block
    (the middle index, the one the product contracts, is kept with chunks of 1 and then summed by a tree)."""
    parts = _da().blockwise(fn, out_index, blocks, blocks_index, _as_dask(V, v_chunks), v_index,
                            adjust_chunks={out_index[1]: 1}, dtype=np.float64, meta=_meta(blocks, 3))
    return parts.sum(axis=1, split_every=SPLIT_EVERY)


def block_products(blocks, X):
    """The lazy A X (n x k) for X (d x k, NumPy or Dask): one task per block, then a tree sum over each row."""
    return _per_block_then_sum(_block_matmul, blocks, "ik", X, blocks.chunks[1], "kj", "ikj")


def block_adjoint(blocks, R):
    """The lazy A^T R (d x k) for R (n x k, NumPy or Dask): one task per block, then a tree sum over each column."""
    return _per_block_then_sum(_block_rmatmul, blocks, "ij", R, blocks.chunks[0], "ik", "jik")


def block_columns(blocks, idx):
    """The lazy A[:, idx] (n x k), gathered block by block from the column chunks holding ``idx``."""
    da = _da()
    idx = np.asarray(idx, dtype=np.int64)
    bounds = np.cumsum((0,) + tuple(blocks.chunks[1]))
    order = np.argsort(idx, kind="stable")
    chunk_of = np.searchsorted(bounds, idx[order], side="right") - 1
    parts = []
    for j in np.unique(chunk_of):
        local = idx[order][chunk_of == j] - bounds[j]
        part = blocks[:, int(bounds[j]):int(bounds[j + 1])]
        parts.append(part.map_blocks(_block_take, cols=local, chunks=(blocks.chunks[0], (local.shape[0],)),
                                     dtype=blocks.dtype, meta=blocks._meta))
    gathered = da.concatenate(parts, axis=1)
    if np.array_equal(order, np.arange(idx.shape[0])):
        return gathered
    return gathered[:, np.argsort(order, kind="stable")]  # back to the order of idx
