"""A diagonal proximal metric for data whose columns differ in scale by orders of magnitude.

The proximal point and proximal Newton steps of ssnal add ||x - x_k||^2 / (2 sigma) to the model.  One
scalar sigma cannot suit columns whose norms span decades: sigma ~ 1 / ||A||^2 (set by the largest
columns) makes the term dominate the curvature ||a_i||^2 of every small column, whose coordinates then
barely move from step to step, and a sigma that suits the small columns makes the large ones' model
overshoot.  The Jacobi (column-norm) metric

    ||x - x_k||^2_{W^-1} / (2 sigma),   W = diag(w),   w_i = 1 / ||a_i||^2

weighs every coordinate by its own curvature bound.  It is the scalar method after the change of
variables x = W^(1/2) y, with data A W^(1/2) (unit columns) and the separable penalty p(W^(1/2) y); the
step's prox stays closed form per coordinate, now with the step sigma w_i (prox of a separable p under
a diagonal metric: Combettes and Vu 2014, "Variable metric forward-backward splitting with applications
to monotone inclusions in duality", Optimization 63(9), eq. 1.1 and example 2.3), and the Newton
matrix of the dual becomes I + sigma A_J W_J A_J^T, the Gram matrix of the scaled free columns.  The
iterates, the penalty and the certificate stay in the user's variables x.
"""

from __future__ import annotations

import math

#: Use the metric when the largest nonzero column norm exceeds the smallest by more than SPREAD; below
#: that the scalar sigma suits every column (W is then close to a multiple of I, which sigma absorbs).
SPREAD = 100.0


class ColumnMetric:
    """w_i = 1 / ||a_i||^2 (1 / the smallest nonzero ||a_i||^2 for an all-zero column) and the data
    A W^(1/2) whose columns the Newton systems use.

    Attributes: ``w`` (the metric's diagonal, in the data's namespace), ``scaled`` (A W^(1/2), of the
    data's kind: dense in its namespace or scipy.sparse), ``norm_ratio`` (||A W^(1/2)||^2 / ||A||^2, to
    carry Lipschitz constants over to the scaled data).
    """

    def __init__(self, op, sq_norms, smallest: float) -> None:
        xp = op.xp
        self.w = 1.0 / xp.where(sq_norms > 0, sq_norms, smallest)
        s = xp.sqrt(self.w)
        if op.kind == "sparse":
            import scipy.sparse as sp

            self.scaled = sp.csc_array(op.A @ sp.diags_array(s))
        else:
            self.scaled = op.A * s[None, :]
        from cvxpar.losses._operator import Operator

        self.op = Operator(self.scaled)
        base = op.norm2_squared()
        self.norm_ratio = self.op.norm2_squared() / base if base > 0 else 1.0

    @staticmethod
    def of(op) -> ColumnMetric | None:
        """The metric for the data ``op`` when its nonzero column norms span more than SPREAD (dense and
        scipy.sparse data), else None (the scalar sigma)."""
        found = _norms(op)
        if found is None or math.sqrt(found[2] / found[1]) <= SPREAD:
            return None
        return ColumnMetric(op, *found[:2])


def column_spread(op) -> float:
    """max ||a_i|| / min ||a_i|| over the nonzero columns of dense or scipy.sparse data (1 for other data or
    an all-zero A)."""
    found = _norms(op)
    return 1.0 if found is None else math.sqrt(found[2] / found[1])


def _norms(op):
    """(||a_i||^2 for every column, the smallest and the largest nonzero one), or None for data other than
    dense and scipy.sparse, or an all-zero A."""
    if op.kind not in ("dense", "sparse"):
        return None
    xp = op.xp
    sq = op.column_sq_norms()
    largest = float(xp.max(sq))
    if not largest > 0:
        return None
    return sq, float(xp.min(xp.where(sq > 0, sq, largest))), largest
