"""A Dask-backed linear-model loss as the solvers see it: NumPy in, NumPy out, one pass per point.

:class:`DistributedLoss` wraps a :class:`~cvxpar.losses.LinearModelLoss` whose data are Dask
arrays.  Each pass is one task per row chunk (:func:`~cvxpar.distributed._reduce.row_chunk_sum`):
the task runs the loss's own elementwise ``h``, ``dh``, ``d2h``, ``conj`` on the NumPy chunk
(A_k, t_k) -- a copy of the loss without its data is shipped to the workers -- and the per-chunk
partial sums meet in a tree reduction.  At a new point x one pass gives

    rows seen,   f(x) = sum_k sum h(A_k x),   grad f(x) = sum_k A_k^T dh(A_k x),
    and sum_k h^*(dh(A_k x))   (the conjugate at the Fenchel dual point w = dh(Ax), for the gap),

the row count is checked against n, and the results are kept for the last few points, so the
solvers' value, gradient and certificate calls at one point share one pass.  The conjugate at a
rescaled dual point alpha w (the certificate's rescaling) and the polish's generalized Hessian
block A_F^T diag(d2h(Ax)) A_F (k x k on the client) or product A^T diag(d2h(Ax)) A d are one
more pass each.
"""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np

from cvxpar.distributed._reduce import row_chunk_sum
from cvxpar.losses import Loss
from cvxpar.losses._operator import POWER_ITERATIONS
from cvxpar.losses.dask_chunks import raise_bad_chunks
from cvxpar.losses.dask_operator import GRAM_MAX_FEATURES

#: How many points keep their pass's results.
KEPT_POINTS = 4


class _ChunkData:
    """What a loss's elementwise methods read from ``self.op`` on a worker: the chunk's namespace and dtype."""

    def __init__(self, a) -> None:
        from cvxpar import _backend

        self.xp = _backend.array_namespace(a)
        self.dtype = a.dtype


def _on_chunk(template, a, t):
    """The loss restricted to one row chunk: ``template`` (the loss without data) with this chunk's target."""
    view = copy.copy(template)
    view.op, view.target = _ChunkData(a), t[:, 0]
    return view


def _chunk_values(a, t, template=None, x=None, scale=None):
    """[rows, sum h(z), sum h^*(scale dh(z)) (0 without scale), A_k^T dh(z)] at z = A_k x."""
    loss = _on_chunk(template, a, t)
    z = a @ x
    dh = loss.dh(z)
    conj = 0.0 if scale is None else float(loss.conj(scale * dh))
    return np.concatenate(([a.shape[0], float(np.sum(loss.h(z))), conj], a.T @ dh)).reshape(1, -1)


def _chunk_hessian_block(a, t, template=None, x=None, idx=None):
    """A_F^T diag(d2h(z)) A_F for the columns idx at z = A_k x, flattened."""
    loss = _on_chunk(template, a, t)
    af = a[:, idx]
    return ((af * loss.d2h(a @ x)[:, None]).T @ af).reshape(1, -1)


def _chunk_hvp(a, t, template=None, x=None, d=None):
    """A_k^T diag(d2h(z)) A_k d at z = A_k x."""
    loss = _on_chunk(template, a, t)
    return (a.T @ (loss.d2h(a @ x) * (a @ d))).reshape(1, -1)


class _DualPoint:
    """The dual point scale * dh(A x), kept symbolically: the certificate multiplies it by its rescaling alpha."""

    def __init__(self, x, scale: float = 1.0) -> None:
        self.x, self.scale = x, scale

    def __rmul__(self, alpha: float) -> _DualPoint:
        return _DualPoint(self.x, float(alpha) * self.scale)

    __mul__ = __rmul__


class DistributedLoss(Loss):
    """The Dask-backed ``loss`` with NumPy values, gradients and Hessian blocks (see the module docstring).

    ``passes`` counts the passes over the data made so far.
    """

    def __init__(self, loss) -> None:
        if getattr(getattr(loss, "op", None), "kind", None) != "dask":
            raise TypeError("DistributedLoss wraps a LinearModelLoss built on Dask arrays.")
        self.loss = loss
        self.n_samples, self.n_features = loss.n_samples, loss.n_features
        self.passes = 0
        self._template = copy.copy(loss)
        self._template.op = self._template.target = None
        self._kept: OrderedDict = OrderedDict()
        self._L: float | None = None

    def _sum(self, fn, width: int, **kwargs) -> np.ndarray:
        self.passes += 1
        return row_chunk_sum(self.loss.op.A, self.loss.target, fn, width, target_name=self.loss.target_name,
                             template=self._template, **kwargs)

    def _at(self, x) -> dict:
        x = np.ascontiguousarray(x, dtype=np.float64)
        key = x.tobytes()
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        first = self.passes == 0
        out = self._sum(_chunk_values, self.n_features + 3, x=x, scale=1.0 if self.loss.has_conj else None)
        rows, value, conj, grad = out[0], out[1], out[2], out[3:]
        if rows != self.n_samples or (first and np.isfinite(x).all() and not (np.isfinite(value)
                                                                               and np.isfinite(grad).all())):
            raise_bad_chunks({"A": self.loss.op.A, self.loss.target_name: self.loss.target}, self.n_samples,
                             rows)
        entry = {"x": x, "value": float(value), "grad": grad, "conj": float(conj)}
        self._kept[key] = entry
        if len(self._kept) > KEPT_POINTS:
            self._kept.popitem(last=False)
        return entry

    def value(self, x) -> float:
        return self._at(x)["value"]

    def grad(self, x):
        return self._at(x)["grad"].copy()

    def lipschitz(self) -> float:
        if self._L is None:
            self._L = self.loss.lipschitz()
            self.passes += 1 if self.n_features <= GRAM_MAX_FEATURES else POWER_ITERATIONS
        return self._L

    def hvp(self, x, d):
        return self._sum(_chunk_hvp, self.n_features, x=np.asarray(x, dtype=np.float64),
                         d=np.asarray(d, dtype=np.float64))

    def hessian_block(self, x, idx):
        """A_F^T diag(d2h(Ax)) A_F for the columns ``idx``: one pass, a tree reduction of per-chunk blocks."""
        idx = np.asarray(idx, dtype=np.int64)
        k = idx.shape[0]
        return self._sum(_chunk_hessian_block, k * k, x=np.asarray(x, dtype=np.float64), idx=idx).reshape(k, k)

    def dual_gap_parts(self, x):
        """(w, 1.0, A^T w) with w = dh(Ax) (kept symbolically: see :meth:`conjugate`), or None without ``conj``."""
        if not self.loss.has_conj:
            return None
        entry = self._at(x)
        return _DualPoint(entry["x"]), 1.0, entry["grad"].copy()

    def conjugate(self, w) -> float:
        """sum_i h_i^*(w_i) at w = scale * dh(Ax): from the point's pass when scale is 1, else one more pass."""
        if w.scale == 1.0:
            return self._at(w.x)["conj"]
        return float(self._sum(_chunk_values, self.n_features + 3, x=w.x, scale=w.scale)[2])
