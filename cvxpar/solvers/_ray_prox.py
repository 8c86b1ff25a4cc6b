"""ssnal's per-Newton-step array work in compiled passes: the prox along a ray with the slope of phi there, and
the split (free set and piece index) of a point.

The least-squares path of :mod:`cvxpar.solvers.ssnal` evaluates, at each trial step alpha of its ray search,

    z(alpha) = prox_{sigma p}(x - sigma (A^T u + alpha A^T du)),   (A^T du)^T z(alpha),   sum_i |(A^T du)_i z_i(alpha)|

(phi' along the ray and its rounding bound), and then, at the accepted point, which coordinates sit on a kink or a
bound and on which piece of psi each lies.  Written with NumPy these are some ten array passes, each with its
call overhead, at every evaluation; :func:`cvxpar._prox_kernels.ray_prox` and :func:`cvxpar._prox_kernels.split_of`
do them in one compiled pass each, with the same arithmetic in the same order (the sums in NumPy's pairwise
order), so that the iterates are bit-identical to the NumPy expressions they replace.

They apply to a float64 NumPy problem with a convex psi, one scalar lam > 0 and a compiled prox table (the data the
NumPy prox sends to the same kernels); :meth:`CompiledRay.of` returns None otherwise, and the caller keeps its
array-API expressions.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar import _backend
from cvxpar.prox import _compiled, prox_table


class CompiledRay:
    """The compiled ray evaluation and split test of one validated problem (see the module docstring)."""

    def __init__(self, prob) -> None:
        from cvxpar import _prox_kernels

        self.kernels = _prox_kernels
        self.prob = prob
        self.psi, self.lam = prob.kpsi, float(prob.lam)
        self.q = np.ascontiguousarray(prob.kpsi.breakpoints, dtype=np.float64)
        self.bounded = prob.lb is not None
        d = prob.d
        if self.bounded:
            self.lower = np.ascontiguousarray(np.broadcast_to(np.asarray(prob.lb, dtype=np.float64), (d,)))
            self.upper = np.ascontiguousarray(np.broadcast_to(np.asarray(prob.ub, dtype=np.float64), (d,)))
        else:
            self.lower = self.upper = np.zeros(1)
        self.work = np.empty(d)

    @classmethod
    def of(cls, prob) -> CompiledRay | None:
        """The compiled passes for ``prob``, or None where they do not apply (see the module docstring)."""
        zeros = prob.zeros
        if not (_backend.is_numpy_namespace(prob.xp) and type(zeros) is np.ndarray and zeros.dtype == np.float64
                and isinstance(prob.lam, float) and prob.lam > 0.0 and prob.kpsi.is_convex
                and prob.kpsi.breakpoints.size > 0 and _compiled(prob.xp, zeros)):
            return None
        return cls(prob)

    def point(self, x, atu, atdu, alpha: float, sigma: float):
        """(z, (A^T du)^T z, sum_i |(A^T du)_i z_i|) at z = prox_{sigma p}(x - sigma (atu + alpha atdu)), as
        ``prob.prox`` and ``np.sum`` compute them."""
        t = sigma * self.lam
        table = prox_table(self.psi, t) if 0.0 < t < math.inf else None
        if table is None or table.enumerate_all or not table.exact:
            z = self.prob.prox(x - sigma * (atu + alpha * atdu), sigma)
            prod = atdu * z
            return z, float(np.sum(prod)), float(np.sum(np.abs(prod)))
        s = table.search
        z = np.empty_like(x)
        dot, size = self.kernels.ray_prox(x, atu, atdu, float(alpha), float(sigma), z, self.work, table.rows,
                                          self.lower, self.upper, self.bounded, s.padded, s.start, s.cells, s.origin,
                                          s.inv_width, s.n_buckets, s.width)
        return z, dot, size

    def split(self, z):
        """(``prob.fixed(z)``, ``prob.piece_index(z)``) in one pass."""
        fixed = np.empty(z.shape[0], dtype=np.bool_)
        piece = np.empty(z.shape[0], dtype=np.int64)
        self.kernels.split_of(z, self.q, self.lower, self.upper, self.bounded, fixed, piece)
        return fixed, piece
