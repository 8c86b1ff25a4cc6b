"""Smooth losses f(x) for ``cvxpar.solve``, and the contract every method consumes.

- :class:`LinearModelLoss` (``base``): f(x) = sum_i h_i(a_i^T x); a new loss defines the
  elementwise ``h``, ``dh``, ``d2h``, the constant ``smoothness`` and optionally ``conj`` and
  ``cvxpy`` (see :mod:`cvxpar.losses.base`);
- :class:`LeastSquares`, :class:`Logistic`, :class:`Huber`: three such subclasses, one file each;
- :class:`LinearTerm`: a linear term q^T x (h(z) = z), and :class:`Stacked`: a sum of linear-model losses
  of the same x, itself one (what the CVXPY bridge builds for objectives with several kinds of terms);
- :class:`Smooth`: any smooth loss from callables (value, gradient, optional Hessian);
- ``_operator``: the data A (dense of any Array-API namespace, scipy.sparse or LinearOperator).
- ``dask_operator``: the data A as a row-chunked Dask array (optional dependency, imported lazily).
"""

from cvxpar.losses._operator import Operator, padded_top_eigenvalue
from cvxpar.losses.base import LinearModelLoss, Loss
from cvxpar.losses.huber import Huber
from cvxpar.losses.least_squares import LeastSquares
from cvxpar.losses.linear_term import LinearTerm
from cvxpar.losses.logistic import Logistic
from cvxpar.losses.smooth import Smooth
from cvxpar.losses.stacked import Stacked

__all__ = [
    "Huber", "LeastSquares", "LinearModelLoss", "LinearTerm", "Logistic", "Loss", "Operator", "Smooth", "Stacked",
    "padded_top_eigenvalue",
]
