"""A smooth loss given by callables."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cvxpar import _backend
from cvxpar.losses.base import Loss


class Smooth(Loss):
    """Any smooth loss from callables: ``fun(x) -> float``, ``grad(x) -> array``.

    No duality gap is defined for a generic loss (``res.gap`` is None), and the methods that need
    a linear model (``cd``, ``ssnal``, ``admm``) do not apply: ``method="auto"`` runs ``fista``.
    Pickles when its callables do.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, the value f(x).
    grad : callable
        ``grad(x) -> array of shape (d,)``, the gradient of f, in the namespace of x.
    lipschitz : float or None, default None
        An upper bound on the Lipschitz constant of ``grad``, finite and > 0; None: the solvers
        start from 1 and backtrack.
    n_features : int or None, default None
        d; required unless ``solve`` is given an ``x0`` (whose length is then d).
    hessian : callable or None, default None
        ``hessian(x) -> array of shape (d, d)``; enables the active-set polish (Newton steps).

    Raises
    ------
    TypeError
        ``fun`` or ``grad`` (or a given ``hessian``) is not callable.
    ValueError
        ``lipschitz`` not None and not finite and positive, or ``n_features`` not None and not a positive integer.

    Examples
    --------
    f(x) = ||x - c||^2 / 2 with an l1 PAR: the answer is soft-thresholding of c.

    >>> import numpy as np, cvxpar
    >>> c = np.array([2.0, 0.3, -1.0])
    >>> loss = cvxpar.losses.Smooth(lambda x: 0.5 * np.sum((x - c) ** 2), lambda x: x - c,
    ...                             lipschitz=1.0, n_features=3, hessian=lambda x: np.eye(3))
    >>> res = cvxpar.solve(loss, cvxpar.pars.l1(), 0.5)
    >>> res.status, res.x.round(6)
    ('optimal', array([ 1.5,  0. , -0.5]))
    """

    def __init__(
        self,
        fun: Callable,
        grad: Callable,
        lipschitz: float | None = None,
        n_features: int | None = None,
        hessian: Callable | None = None,
    ) -> None:
        for name, f in (("fun", fun), ("grad", grad), ("hessian", hessian)):
            if not callable(f) and not (name == "hessian" and f is None):
                raise TypeError(f"{name} must be a function of x (a callable); got {type(f).__name__}.")
        if lipschitz is not None and not (
            isinstance(lipschitz, (int, float, np.number)) and math.isfinite(lipschitz) and lipschitz > 0
        ):
            raise ValueError(f"lipschitz must be a finite positive number or None; got {lipschitz!r}.")
        if n_features is not None and not (isinstance(n_features, (int, np.integer)) and n_features > 0):
            raise ValueError(f"n_features must be a positive integer (the length of x) or None; got {n_features!r}.")
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
