"""The data operator A of a linear-model loss when A (and the target) are Dask arrays.

A is held row-chunked (one chunk across the columns, any number of row chunks), lazily: nothing
is read at construction except the target (n numbers, for its checks).  Wide data stored in column
chunks (more than GRAM_MAX_FEATURES columns) also keep their blocks as ``blocks``: a full-width row
chunk of them would need every column chunk of its rows in one task's memory, so their products
run block by block (:mod:`cvxpar.losses.dask_blocks`: A x sums the blocks' products of each row
chunk, A^T r those of each column chunk; two passes for a gradient) -- see :mod:`cvxpar.distributed.loss`.  Products build Dask graphs
and are computed on the active Dask scheduler -- a ``dask.distributed.Client`` when one exists,
Dask's local threads otherwise -- with these conventions:

- ``mv(x)`` (x a NumPy d-vector) returns the *lazy* n-vector z = A x, a Dask array row-chunked like A;
- ``rmv_lazy(r)`` returns the lazy d-vector A^T r (a tree reduction of the per-chunk products
  A_k^T r_k); ``rmv(r)`` computes it and returns NumPy;
- ``column_sq_norms()`` and ``norm2_squared()`` return NumPy / a float (one pass each for
  moderate d).

Dask is an optional dependency (``pip install cvxpar[dask]``): this module imports it lazily, and
``is_dask_array`` tells a Dask array from other data without importing Dask.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar._backend import to_host
from cvxpar.losses._operator import index_like, padded_top_eigenvalue
from cvxpar.losses.dask_blocks import block_adjoint, block_products
from cvxpar.losses.dask_chunks import raise_bad_chunks, raise_unreadable

#: Up to this many features a d x d Gram matrix is formed on the client (one pass over the data)
#: instead of iterating passes: for ||A||_2 here, and for the least-squares route of ``cvxpar.solve``.
GRAM_MAX_FEATURES = 2000


def is_dask_array(obj) -> bool:
    """True for a ``dask.array.Array`` (checked by module name: Dask is not imported)."""
    return type(obj).__module__.startswith("dask.array") and hasattr(obj, "chunks") and hasattr(obj, "dask")


def _dask():
    try:
        import dask.array as da
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError("Dask arrays need the optional dependency: pip install 'cvxpar[dask]'.") from err
    return da


def _numeric(arr, name: str):
    """arr as a floating array (integers and booleans become float64); TypeError otherwise."""
    kind = np.dtype(arr.dtype).kind
    if kind == "f":
        return arr
    if kind in "biu":
        return arr.astype(np.float64)
    raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}. Convert it (e.g. "
                    f"{name}.astype('float64'), or {name}.real for complex data meant to drop the imaginary part) first.")


def _known_chunks(arr, name: str) -> None:
    if any(math.isnan(c) for dim in arr.chunks for c in dim):
        raise ValueError(
            f"{name} has unknown chunk sizes (NaN in {name}.chunks, typical after boolean indexing or from a "
            f"dask.dataframe); call {name}.compute_chunk_sizes() (or dataframe.to_dask_array(lengths=True)) first."
        )


def _chunk_matvec(a, x=None):
    """a @ x with x (NumPy) moved into the chunk's namespace and device (CuPy chunks)."""
    from cvxpar._backend import array_namespace, asarray_like

    return a @ asarray_like(array_namespace(a), x, a)


class DaskOperator:
    """A as a row-chunked Dask array, with the products the losses need (see the module docstring).

    Attributes: ``A`` (the Dask array, one chunk across the columns), ``kind`` (``"dask"``),
    ``shape``, ``dtype``, ``xp`` (the Array-API namespace of Dask arrays).
    """

    kind = "dask"

    def __init__(self, A) -> None:
        if not is_dask_array(A):  # a Dask target with A of another kind
            raise TypeError(f"the target is a Dask array but A is a {type(A).__name__}: pass A as a Dask array too "
                            "(dask.array.from_array(A, chunks=(rows, -1)), or read it lazily from disk), or pass the "
                            "target in memory (target.compute()).")
        if A.ndim != 2:
            raise ValueError(f"A must be a 2-D matrix (n_samples, n_features); got shape {tuple(A.shape)}.")
        _known_chunks(A, "A")
        A = _numeric(A, "A")
        self.blocks = A if len(A.chunks[1]) > 1 and A.shape[1] > GRAM_MAX_FEATURES else None
        if len(A.chunks[1]) > 1:
            A = A.rechunk({1: -1})
        self.A = A
        self.shape = (int(A.shape[0]), int(A.shape[1]))
        if self.shape[0] == 0:
            raise ValueError("A has 0 rows (no samples): a loss needs at least one sample; check how the data was sliced.")

    @property
    def xp(self):
        """The Array-API namespace of Dask arrays (``array_api_compat.dask.array``)."""
        import array_api_compat.dask.array as xp

        return xp

    @property
    def dtype(self):
        return self.A.dtype

    @property
    def row_chunks(self) -> tuple[int, ...]:
        return self.A.chunks[0]

    def like(self):
        """A one-entry Dask array of the data's dtype (for placing constants)."""
        return _dask().zeros((1,), dtype=self.dtype)

    def target(self, target, name: str):
        """The target as a Dask vector row-chunked like A, checked (length n, numeric, finite).

        Accepts a Dask array, NumPy array or sequence.  Reads the target once (n numbers) for the
        finiteness check.
        """
        da = _dask()
        n = self.shape[0]
        if not is_dask_array(target):
            target = np.asarray(target)
            if target.ndim != 1 or target.shape[0] != n:
                raise ValueError(f"{name} must be a vector of length n_samples = {n} (the rows of A); got shape "
                                 f"{tuple(target.shape)}.")
            target = _numeric(target, name)
            target = da.from_array(target, chunks=(self.row_chunks,))
        else:
            _known_chunks(target, name)
            if target.ndim == 2 and target.shape[1] == 1:
                target = target[:, 0]
            if target.ndim != 1 or target.shape[0] != n:
                raise ValueError(f"{name} must be a vector of length n_samples = {n} (the rows of A); got shape "
                                 f"{tuple(target.shape)}.")
            target = _numeric(target, name)
            if target.chunks[0] != self.row_chunks:
                target = target.rechunk((self.row_chunks,))
        try:
            finite = bool(da.isfinite(target).all().compute())
        except Exception as err:
            raise_unreadable({name: target}, err)
            raise
        if not finite:
            raise_bad_chunks({name: target}, n)
        return target

    def _compute(self, collection, of_A_only: bool = False) -> np.ndarray:
        """``collection`` computed on the active scheduler, as NumPy; a chunk of A that cannot be read, or
        (``of_A_only``: a function of A alone) that holds NaN/inf, is named."""
        try:
            out = to_host(collection.compute())
        except Exception as err:
            raise_unreadable({"A": self.A}, err)
            raise
        if of_A_only and not np.isfinite(out).all():
            raise_bad_chunks({"A": self.A}, self.shape[0])
        return out

    # -- products
    def mv(self, x):
        """The lazy z = A x (x a NumPy vector of length d)."""
        x = np.asarray(x, dtype=self.dtype)
        if self.blocks is not None:
            return block_products(self.blocks, x[:, None])[:, 0]
        return self.A.map_blocks(_chunk_matvec, x=x, drop_axis=1, dtype=self.dtype)  # x goes to each chunk's device

    def rmv_lazy(self, r):
        """The lazy A^T r (r a Dask or NumPy n-vector; a Dask one chunked like A's rows)."""
        if self.blocks is not None:
            return block_adjoint(self.blocks, r[:, None])[:, 0]
        return self.A.T @ r

    def rmv(self, r):
        """A^T r, computed, as a NumPy vector."""
        return self._compute(self.rmv_lazy(r))

    def columns(self, idx):
        """The lazy (n, k) block A[:, idx]."""
        return self.A[:, np.asarray(idx, dtype=np.int64)]

    def rows(self, idx) -> DaskOperator:
        """The operator of the rows ``idx``."""
        return DaskOperator(self.A[index_like(np, idx, None)])

    def column_sq_norms(self):
        """||a_j||^2 for every column j (one pass), NumPy."""
        A = self.A if self.blocks is None else self.blocks
        return self._compute((A * A).sum(axis=0), of_A_only=True)

    def norm2_squared(self) -> float:
        """||A||_2^2: with at most GRAM_MAX_FEATURES columns the largest eigenvalue of A^T A (one pass
        for the Gram, LAPACK's symmetric eigensolver on the client); otherwise power iteration on
        A^T A (one pass per iteration), padded like the in-memory operator's
        (:func:`cvxpar.losses._operator.padded_top_eigenvalue`)."""
        if self.shape[1] <= GRAM_MAX_FEATURES:
            gram = self._compute(self.A.T @ self.A, of_A_only=True)
            return float(np.linalg.eigvalsh(gram)[-1])
        v = np.random.default_rng(0).standard_normal(self.shape[1])
        return padded_top_eigenvalue(lambda w: self.rmv(self.mv(w)), v, np)
