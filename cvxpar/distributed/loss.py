"""A Dask-backed linear-model loss as the solvers see it: NumPy in, NumPy out, one pass per point.

:class:`DistributedLoss` wraps a :class:`~cvxpar.losses.LinearModelLoss` whose data are Dask
arrays.  Each pass is one task per row chunk (:func:`~cvxpar.distributed._reduce.row_chunk_sum`):
the task runs the loss's own elementwise ``h``, ``dh``, ``d2h``, ``conj`` on the NumPy chunk
(A_k, t_k) -- a copy of the loss without its data is shipped to the workers -- and the per-chunk
partial sums meet in a tree reduction.  At a new point x one pass gives

    rows seen,   f(x) = sum_k sum h(A_k x),   grad f(x) = sum_k A_k^T dh(A_k x),
    and sum_k h^*(dh(A_k x))   (the conjugate at the Fenchel dual point w = dh(Ax), for the gap),
    and, when a Newton-type method asks, the Hessian sum_k A_k^T diag(d2h(A_k x)) A_k (d x d, formed
    in row blocks of bounded size: :mod:`~cvxpar.distributed._weighted_gram`),

the row count is checked against n, and the results are kept for the last few points, so the
solvers' value, gradient and certificate calls at one point share one pass.  The conjugate at a
rescaled dual point alpha w (the certificate's rescaling) and the polish's generalized Hessian
block A_F^T diag(d2h(Ax)) A_F (k x k on the client) or product A^T diag(d2h(Ax)) A d are one
more pass each.  Wide data stored in column chunks run their passes block by block instead
(:mod:`cvxpar.distributed.blocked`: two passes per point).
"""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np

from cvxpar._backend import array_namespace, device
from cvxpar.distributed._reduce import on_chunk, row_chunk_sum
from cvxpar.distributed._weighted_gram import weighted_gram
from cvxpar.distributed.blocked import BlockedPasses
from cvxpar.losses import Loss
from cvxpar.losses._operator import POWER_ITERATIONS
from cvxpar.losses.dask_chunks import raise_bad_chunks
from cvxpar.losses.dask_operator import GRAM_MAX_FEATURES

#: How many points keep their pass's results.
KEPT_POINTS = 4


class _ChunkData:
    """What a loss's elementwise methods read from ``self.op`` on a worker: the chunk's namespace and dtype."""

    def __init__(self, a) -> None:
        self.xp = array_namespace(a)
        self.dtype = a.dtype


def _on_chunk(template, a, t):
    """The loss restricted to one row chunk: ``template`` (the loss without data) with this chunk's target
    (t of shape (rows, 1), already in a's namespace)."""
    view = copy.copy(template)
    view.op, view.target = _ChunkData(a), t[:, 0]
    return view


def _chunk_values(a, t, template=None, x=None, scale=None, hessian=False):
    """[rows, sum h(z), sum h^*(scale dh(z)) (0 without scale), A_k^T dh(z)] at z = A_k x, followed with
    ``hessian`` by the flattened A_k^T diag(d2h(z)) A_k; in the chunk's namespace."""
    xp, (t, x) = on_chunk(a, t, x)
    loss = _on_chunk(template, a, t)
    z = a @ x
    dh = loss.dh(z)
    conj = 0.0 if scale is None else float(loss.conj(scale * dh))
    head = xp.asarray([a.shape[0], float(xp.sum(loss.h(z))), conj], dtype=xp.float64, device=device(a))
    parts = [head, a.T @ dh]
    if hessian:
        parts.append(xp.reshape(weighted_gram(a, loss.d2h(z)), (-1,)))
    return xp.reshape(xp.concat(parts), (1, -1))


def _chunk_values_at_points(a, t, template=None, X=None, scale=None):
    """:func:`_chunk_values` at each column of X, side by side (the chunk is read once)."""
    xp = array_namespace(a)
    return xp.concat([_chunk_values(a, t, template, X[:, j], scale) for j in range(X.shape[1])], axis=1)


def _with_rows(xp, a, values):
    """[rows of the chunk a, values...] as a (1, 1 + size) row."""
    rows = xp.asarray([a.shape[0]], dtype=xp.float64, device=device(a))
    return xp.reshape(xp.concat([rows, xp.reshape(values, (-1,))]), (1, -1))


def _chunk_hessian_block(a, t, template=None, x=None, idx=None):
    """[rows, A_F^T diag(d2h(z)) A_F for the columns idx at z = A_k x, flattened]."""
    xp, (t, x) = on_chunk(a, t, x)
    loss = _on_chunk(template, a, t)
    return _with_rows(xp, a, weighted_gram(a, loss.d2h(a @ x), columns=idx))


def _chunk_hvp(a, t, template=None, x=None, d=None):
    """[rows, A_k^T diag(d2h(z)) A_k d at z = A_k x]."""
    xp, (t, x, d) = on_chunk(a, t, x, d)
    loss = _on_chunk(template, a, t)
    return _with_rows(xp, a, a.T @ (loss.d2h(a @ x) * (a @ d)))


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
        self._capacity = KEPT_POINTS
        self._L: float | None = None
        self._blocked = None if loss.op.blocks is None else BlockedPasses(loss, self._template)

    def recession_slopes(self):
        """The wrapped loss's (h_i'(-inf), h_i'(+inf)), for :mod:`cvxpar.recession`."""
        return self.loss.recession_slopes()

    def recession_operator(self):
        """The Dask operator A that :mod:`cvxpar.recession` tests (brought to memory only when small)."""
        return self.loss.op

    def _sum(self, fn, width: int, **kwargs) -> np.ndarray:
        self.passes += 1
        return row_chunk_sum(self.loss.op.A, self.loss.target, fn, width, target_name=self.loss.target_name,
                             template=self._template, **kwargs)

    def _check_rows(self, rows: float) -> None:
        """Raise, naming the chunks responsible, when a pass saw another number of rows than n."""
        if rows != self.n_samples:
            raise_bad_chunks({"A": self.loss.op.A, self.loss.target_name: self.loss.target}, self.n_samples, rows)

    def _counted_sum(self, fn, width: int, **kwargs) -> np.ndarray:
        """:meth:`_sum` of a chunk function whose first entry counts the chunk's rows, checked against n."""
        out = self._sum(fn, 1 + width, **kwargs)
        self._check_rows(out[0])
        return out[1:]

    def _at(self, x, hessian: bool = False) -> dict:
        x = np.ascontiguousarray(x, dtype=np.float64)
        key = x.tobytes()
        if key in self._kept and (not hessian or "hessian" in self._kept[key]):
            self._kept.move_to_end(key)
            return self._kept[key]
        if self._blocked is not None:
            if hessian:
                raise ValueError("the d x d Hessian of wide column-chunked data is not formed; use 'fista' or 'pg'.")
            self.passes += 2
            return self._keep(key, self._blocked.values(x[:, None], 1.0 if self.loss.has_conj else None)[0])
        first = self.passes == 0
        d = self.n_features
        out = self._sum(_chunk_values, d + 3 + (d * d if hessian else 0), x=x,
                        scale=1.0 if self.loss.has_conj else None, hessian=hessian)
        rows, value, conj, grad = out[0], out[1], out[2], out[3:d + 3]
        if rows != self.n_samples or (first and np.isfinite(x).all() and not (np.isfinite(value)
                                                                               and np.isfinite(grad).all())):
            raise_bad_chunks({"A": self.loss.op.A, self.loss.target_name: self.loss.target}, self.n_samples,
                             rows)
        entry = {"x": x, "value": float(value), "grad": grad, "conj": float(conj)}
        if hessian:
            entry["hessian"] = out[d + 3:].reshape(d, d)
        return self._keep(key, entry)

    def _keep(self, key: bytes, entry: dict) -> dict:
        self._kept[key] = entry
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)
        return entry

    def prefetch(self, points) -> None:
        """f, grad f and the conjugate term at every point of ``points`` in one pass, kept for the calls
        that follow (a path's certificates)."""
        X = np.column_stack([np.asarray(p, dtype=np.float64) for p in points])
        d, k = X.shape
        self._capacity = max(self._capacity, k + KEPT_POINTS)
        if self._blocked is not None:
            self.passes += 2
            for entry in self._blocked.values(X, 1.0 if self.loss.has_conj else None):
                self._keep(entry["x"].tobytes(), entry)
            return
        out = self._sum(_chunk_values_at_points, (d + 3) * k, X=X,
                        scale=1.0 if self.loss.has_conj else None).reshape(k, d + 3)
        if np.any(out[:, 0] != self.n_samples):
            raise_bad_chunks({"A": self.loss.op.A, self.loss.target_name: self.loss.target}, self.n_samples,
                             float(out[0, 0]))
        for j in range(k):
            x = np.ascontiguousarray(X[:, j])
            self._keep(x.tobytes(), {"x": x, "value": float(out[j, 1]), "grad": out[j, 3:], "conj": float(out[j, 2])})

    def value(self, x) -> float:
        return self._at(x)["value"]

    def grad(self, x):
        return self._at(x)["grad"].copy()

    def second_order(self, x) -> tuple[float, np.ndarray, np.ndarray]:
        """(f(x), grad f(x), the Hessian A^T diag(d2h(Ax)) A), all from one pass (kept for the point)."""
        entry = self._at(x, hessian=True)
        return entry["value"], entry["grad"].copy(), entry["hessian"].copy()

    def lipschitz(self) -> float:
        if self._L is None:
            self._L = self.loss.lipschitz()
            self.passes += 1 if self.n_features <= GRAM_MAX_FEATURES else POWER_ITERATIONS
        return self._L

    def hvp(self, x, d):
        if self._blocked is not None:
            self.passes += 2
            return self._blocked.hvp(self._at(x)["z"], np.asarray(d, dtype=np.float64))
        return self._counted_sum(_chunk_hvp, self.n_features, x=np.asarray(x, dtype=np.float64),
                                 d=np.asarray(d, dtype=np.float64))

    def hessian_block(self, x, idx):
        """A_F^T diag(d2h(Ax)) A_F for the columns ``idx``: one pass, a tree reduction of per-chunk blocks."""
        idx = np.asarray(idx, dtype=np.int64)
        k = idx.shape[0]
        if self._blocked is not None:
            self.passes += 1
            return self._blocked.hessian_block(self._at(x)["z"], idx)
        return self._counted_sum(_chunk_hessian_block, k * k, x=np.asarray(x, dtype=np.float64), idx=idx).reshape(k, k)

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
        if self._blocked is not None:  # from the point's h'(Ax), kept on the client
            entry = self._at(w.x)
            return float(self._blocked.on_client(entry["z"]).conj(w.scale * entry["dh"]))
        out = self._sum(_chunk_values, self.n_features + 3, x=w.x, scale=w.scale)
        self._check_rows(out[0])
        return float(out[2])
