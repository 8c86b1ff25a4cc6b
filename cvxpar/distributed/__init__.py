"""cvxpar on Dask: losses whose A and target are Dask arrays (row-chunked, lazily read from disk).

- :mod:`~cvxpar.distributed.gram`: one pass computing the Gram of [A | b] (a tree reduction) and
  the exactly equivalent in-memory least squares;
- :mod:`~cvxpar.distributed.loss`: :class:`DistributedLoss`, the solvers' view of a Dask-backed
  loss (NumPy in and out, one pass per point);
- :mod:`~cvxpar.distributed.solve`: what ``cvxpar.solve`` runs on Dask data, and where.

The data operator itself is :mod:`cvxpar.losses.dask_operator`.  Dask is optional
(``pip install 'cvxpar[dask]'``) and imported only when Dask data are used.
"""

from cvxpar.distributed.loss import DistributedLoss
from cvxpar.distributed.solve import MAX_GRAM_FEATURES, solve_distributed

__all__ = ["MAX_GRAM_FEATURES", "DistributedLoss", "solve_distributed"]
