"""A smooth loss given by callables."""

from __future__ import annotations

import math
from collections.abc import Callable

from cvxpar import _backend
from cvxpar.losses.base import Loss


class Smooth(Loss):
    """Any smooth loss from callables: ``fun(x) -> float``, ``grad(x) -> array``.

    ``lipschitz`` is an upper bound on the Lipschitz constant of ``grad`` (or None: the solvers
    backtrack from 1).  ``hessian(x) -> (d, d) array`` is optional and enables the polish.
    No duality gap is defined for a generic loss.  Pickles when its callables do.
    """

    def __init__(
        self,
        fun: Callable,
        grad: Callable,
        lipschitz: float | None = None,
        n_features: int | None = None,
        hessian: Callable | None = None,
    ) -> None:
        if lipschitz is not None and not (math.isfinite(lipschitz) and lipschitz > 0):
            raise ValueError(f"lipschitz must be a finite positive number or None; got {lipschitz}.")
        self.fun, self.gradient, self.hessian = fun, grad, hessian
        self._L = lipschitz
        self.n_features = n_features

    def value(self, x) -> float:
        return float(self.fun(x))

    def grad(self, x):
        return self.gradient(x)

    def lipschitz(self) -> float:
        return 1.0 if self._L is None else self._L

    def hvp(self, x, d):
        return None if self.hessian is None else self.hessian(x) @ d

    def hessian_block(self, x, idx):
        if self.hessian is None:
            return None
        xp = _backend.array_namespace(x)
        H = self.hessian(x)
        return xp.take(xp.take(H, idx, axis=0), idx, axis=1)
