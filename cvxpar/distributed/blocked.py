"""Passes over wide Dask data stored in column chunks: the products block by block, the loss on the client.

When A (n x d, d > GRAM_MAX_FEATURES) is stored in blocks A_ij (row chunk i, column chunk j), a
full-width row chunk would hold every column chunk of its rows in one task's memory.  These
passes never form one: at the points X (d x k)

    Z = A X,      Z_i = sum_j A_ij X_j        (one pass: each block read once, a row chunk's products summed),
    f, h', h^*    on the client, elementwise on Z (n x k numbers) with the loss's own functions,
    A^T R,        (A^T R)_j = sum_i A_ij^T R_i  (a second pass, R = h'(Z)),

so a gradient costs two passes and a task holds one block (:mod:`cvxpar.losses.dask_blocks`: the
per-block products run in the blocks' own Array-API namespace, NumPy or CuPy, with the slice of
the point moved to the block's device); the client holds n- and d-vectors, as the first-order
methods for wide data need (x and the prox live there).  The Hessian block
A_F^T diag(h''(z)) A_F of the polish reads the column chunks holding F (one pass), and
A^T diag(h''(z)) A d two.  Every result is checked for its number of rows (n).
"""

from __future__ import annotations

import numpy as np

from cvxpar.distributed._weighted_gram import weighted_gram
from cvxpar.losses.dask_blocks import block_adjoint, block_columns, block_products


def _computed(arrays: dict, collection) -> np.ndarray:
    """``collection`` computed on the active scheduler, as NumPy; a chunk of ``arrays`` (by name) that cannot be
    read is named."""
    from cvxpar._backend import to_host
    from cvxpar.losses.dask_chunks import raise_unreadable

    try:
        return to_host(collection.compute())
    except Exception as err:
        raise_unreadable(arrays, err)
        raise


class BlockedPasses:
    """The passes of :class:`~cvxpar.distributed.loss.DistributedLoss` over the column-chunked ``loss.op.blocks``
    (see the module docstring); ``template`` is the loss without its data."""

    def __init__(self, loss, template) -> None:
        self.loss, self.template = loss, template
        self.blocks = loss.op.blocks
        self.arrays = {"A": self.blocks, loss.target_name: loss.target}
        self._target: np.ndarray | None = None

    def _check_rows(self, rows: int) -> None:
        from cvxpar.losses.dask_chunks import raise_bad_chunks

        if rows != self.loss.n_samples:
            raise_bad_chunks(self.arrays, self.loss.n_samples, rows)

    def target(self) -> np.ndarray:
        """The target on the client (n numbers, read once)."""
        if self._target is None:
            self._target = _computed({self.loss.target_name: self.loss.target}, self.loss.target)
            self._check_rows(self._target.shape[0])
        return self._target

    def on_client(self, z: np.ndarray):
        """The loss's elementwise functions at z = A x on the client (the template with the whole target)."""
        from cvxpar.distributed.loss import _on_chunk

        return _on_chunk(self.template, z[:, None], self.target()[:, None])

    def products(self, X: np.ndarray) -> np.ndarray:
        """A X (n x k) for the columns of X (d x k): one pass."""
        Z = _computed(self.arrays, block_products(self.blocks, X))
        self._check_rows(Z.shape[0])
        return Z

    def adjoint(self, R: np.ndarray) -> np.ndarray:
        """A^T R (d x k) for the columns of R (n x k): one pass."""
        return _computed({"A": self.blocks}, block_adjoint(self.blocks, R))

    def values(self, X: np.ndarray, scale: float | None) -> list[dict]:
        """f, grad f, the conjugate term at scale h'(Ax), z = A x and h'(z) at each column x of X: two passes."""
        Z = self.products(X)
        entries, DH = [], np.empty_like(Z)
        for j in range(X.shape[1]):
            view = self.on_client(Z[:, j])
            DH[:, j] = view.dh(Z[:, j])
            conj = 0.0 if scale is None else float(view.conj(scale * DH[:, j]))
            entries.append({"x": np.ascontiguousarray(X[:, j]), "value": float(np.sum(view.h(Z[:, j]))),
                            "conj": conj, "z": Z[:, j], "dh": DH[:, j]})
        G = self.adjoint(DH)
        for j, entry in enumerate(entries):
            entry["grad"] = G[:, j]
        return entries

    def hessian_block(self, z: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """A_F^T diag(h''(z)) A_F for the columns idx: one pass over the column chunks holding them."""
        Af = _computed({"A": self.blocks}, block_columns(self.blocks, idx))
        self._check_rows(Af.shape[0])
        return weighted_gram(Af, self.on_client(z).d2h(z))

    def hvp(self, z: np.ndarray, d: np.ndarray) -> np.ndarray:
        """A^T diag(h''(z)) A d: two passes."""
        Ad = self.products(d[:, None])[:, 0]
        return self.adjoint((self.on_client(z).d2h(z) * Ad)[:, None])[:, 0]
