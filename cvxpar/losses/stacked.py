"""A sum of linear-model losses over one x: f(x) = sum_k f_k(x), itself a linear-model loss.

Each f_k(x) = sum_{i in block k} h_{k,i}(a_{k,i}^T x), so f is sum_i h_i(a_i^T x) over the stacked rows
A = [A_1; ...; A_K] with h_i the h of the block that holds row i: every method, the certificate, the
recession test and the references take f as they take any :class:`~cvxpar.losses.LinearModelLoss`
(a Newton method sees the generalized Hessian sum_k A_k^T diag(h_k'') A_k).  This is what
``problem.solve(method="cvxpar")`` builds for an objective with several kinds of smooth terms
(least squares plus logistic plus Huber plus a linear term).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cvxpar.losses.base import LinearModelLoss


class Stacked(LinearModelLoss):
    """f(x) = sum_k f_k(x) for linear-model losses f_k of the same x (NumPy or scipy.sparse data).

    h, dh, d2h, d2h_majorant (a part without one contributes its own h''), dh_dtarget, conj,
    recession_slopes and cvxpy act blockwise on z = A x, with A the parts' designs stacked by rows;
    ``smoothness`` is the largest of the parts' (None when one is unbounded) and the loss is
    piecewise quadratic when every part is.  The optional methods exist when every part has them.

    Parameters
    ----------
    parts : sequence of LinearModelLoss
        At least one; all with the same ``n_features``, on NumPy or scipy.sparse data (a part on a
        LinearOperator, a Dask array or a GPU array is refused).

    Raises
    ------
    TypeError
        A part that is not a LinearModelLoss, or whose data is not NumPy / scipy.sparse.
    ValueError
        No parts, or parts of different ``n_features``.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> from cvxpar.losses import LeastSquares, LinearTerm, Stacked
    >>> A, b, q = np.eye(2), np.array([1.0, 2.0]), np.array([0.5, -0.5])
    >>> f = Stacked([LeastSquares(A, b), LinearTerm(q[None, :])])
    >>> x = np.array([1.0, 1.0])
    >>> bool(f.value(x) == LeastSquares(A, b).value(x) + q @ x), f.grad(x)
    (True, array([ 0.5, -1.5]))
    """

    def __init__(self, parts) -> None:
        parts = list(parts)
        if not parts:
            raise ValueError("Stacked needs at least one loss.")
        for p in parts:
            if not isinstance(p, LinearModelLoss):
                raise TypeError(f"Stacked takes LinearModelLoss parts; got {type(p).__name__}.")
            if p.op.kind not in ("dense", "sparse") or not isinstance(p.target, np.ndarray):
                raise TypeError(f"Stacked takes parts on NumPy or scipy.sparse data; a {type(p).__name__} part holds "
                                f"{p.op.kind} data of {type(p.op.A).__name__}.")
        widths = {p.n_features for p in parts}
        if len(widths) != 1:
            raise ValueError(f"the parts of a Stacked loss must act on the same x; their n_features are {sorted(widths)}.")
        self.parts = parts
        rows = np.cumsum([0] + [p.n_samples for p in parts])
        self._blocks = [(p, slice(int(rows[k]), int(rows[k + 1]))) for k, p in enumerate(parts)]
        if any(p.op.kind == "sparse" for p in parts):
            A = sp.vstack([sp.csr_array(p.op.A) for p in parts], format="csr")
        else:
            A = np.vstack([np.asarray(p.op.A, dtype=np.float64) for p in parts])
        smooth = [p.smoothness for p in parts]
        self.smoothness = None if any(s is None for s in smooth) else float(max(smooth))
        self.piecewise_quadratic = all(p.piecewise_quadratic for p in parts)
        super().__init__(A, np.concatenate([np.asarray(p.target, dtype=np.float64) for p in parts]))

    def _each(self, method: str, z):
        return np.concatenate([getattr(p, method)(z[s]) for p, s in self._blocks])

    def h(self, z):
        return self._each("h", z)

    def dh(self, z):
        return self._each("dh", z)

    def d2h(self, z):
        return self._each("d2h", z)

    def d2h_majorant(self, z):
        pieces = [(p.d2h_majorant(z[s]), p, s) for p, s in self._blocks]
        if all(c is None for c, _, _ in pieces):
            return None
        return np.concatenate([p.d2h(z[s]) if c is None else c for c, p, s in pieces])

    def dh_dtarget(self, z):
        return self._each("dh_dtarget", z)

    def conj(self, w):
        if not self.has_conj:
            return super().conj(w)
        return sum(float(p.conj(w[s])) for p, s in self._blocks)

    @property
    def has_conj(self) -> bool:
        """True when every part defines ``conj`` (then the sum has a duality gap)."""
        return all(p.has_conj for p in self.parts)

    @property
    def has_cvxpy(self) -> bool:
        """True when every part defines ``cvxpy`` (then :func:`cvxpar.reference` takes the sum)."""
        return all(p.has_cvxpy for p in self.parts)

    def huber_thresholds(self):
        """The parts' Huber thresholds per sample (+inf on a least-squares part), or None when a part has none
        (see :meth:`~cvxpar.losses.Huber.huber_thresholds`)."""
        parts = [getattr(p, "huber_thresholds", lambda: None)() for p in self.parts]
        if any(t is None for t in parts):
            return None
        return np.concatenate([np.asarray(t, dtype=np.float64) for t in parts])

    def recession_slopes(self):
        slopes = [p.recession_slopes() for p in self.parts]
        if any(s is None for s in slopes):
            return None
        return (np.concatenate([np.asarray(lo, dtype=np.float64) for lo, _ in slopes]),
                np.concatenate([np.asarray(hi, dtype=np.float64) for _, hi in slopes]))

    def cvxpy(self, z):
        if not self.has_cvxpy:
            return super().cvxpy(z)
        return sum(p.cvxpy(z[s.start:s.stop]) for p, s in self._blocks)

    def subsample(self, rows) -> Stacked:
        """The same sum over the rows ``rows`` of the stacked A (each part keeps its own rows)."""
        rows = np.asarray(rows)
        kept = []
        for p, s in self._blocks:
            mine = rows[(rows >= s.start) & (rows < s.stop)] - s.start
            if mine.size:
                kept.append(p.subsample(mine))
        return Stacked(kept)
