"""Smooth losses f(x) for ``cvxpar.solve``: a small protocol every solver consumes.

Every loss exposes

- ``n_features``, ``xp`` (the array namespace of its data), ``dtype``;
- ``value(x)``, ``grad(x)``, ``lipschitz()`` (an upper estimate of the gradient's Lipschitz
  constant: power iteration on A, padded, and the solvers still backtrack);
- for the active-set polish (Newton steps on the free coordinates): ``hvp(x, d)`` and
  ``hessian_block(x, idx)`` (the dense |idx| x |idx| block of the Hessian), or ``None`` where
  the loss cannot give them (a :class:`Smooth` without ``hessian``);
- for duality gaps: ``dual_gap_parts(x)``, see :class:`LinearModelLoss`.

The linear-model losses f(x) = h(Ax) (least squares, logistic, Huber) also let the solvers keep
z = Ax between iterations: ``value_z`` / ``grad_z`` take a precomputed z, so an accelerated
step costs one product with A and one with A^T (z at the extrapolated point is the same
extrapolation of the z's).  ``A`` may be a dense array of any Array-API namespace, a
``scipy.sparse`` matrix or a ``scipy.sparse.linalg.LinearOperator`` (the last two on NumPy).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cvxpar import _backend

#: Power-iteration settings for ||A||_2^2 (the power method, Golub & Van Loan 2013, sec. 7.3.1: 30
#: iterations are within a few percent; the pad keeps the estimate an upper bound in practice, backtracking does the rest).
POWER_ITERATIONS = 30
POWER_PAD = 1.05


class _Operator:
    """A, whatever its kind: dense array (any namespace), scipy.sparse matrix or LinearOperator."""

    def __init__(self, A) -> None:
        import scipy.sparse as sp
        from scipy.sparse.linalg import LinearOperator

        if sp.issparse(A):
            A = sp.csc_array(A, dtype=np.float64)
            if not np.isfinite(A.data).all():
                raise ValueError("A contains NaN or inf entries; clean the data (e.g. np.nan_to_num) before solving.")
            self.kind, self.xp = "sparse", _backend.array_namespace(np.zeros(1))
            self._AT = A.T.tocsc()
        elif isinstance(A, LinearOperator):
            self.kind, self.xp = "operator", _backend.array_namespace(np.zeros(1))
        else:
            xp, A, _ = _backend.prepare(A)
            if A.ndim != 2:
                raise ValueError(f"A must be a 2-D matrix (n_samples, n_features); got shape {tuple(A.shape)}.")
            if not bool(xp.all(xp.isfinite(A))):
                raise ValueError("A contains NaN or inf entries; clean the data (e.g. np.nan_to_num) before solving.")
            self.kind, self.xp = "dense", xp
            self._AT = A.T
        if len(A.shape) != 2:
            raise ValueError(f"A must be 2-D; got shape {A.shape}.")
        self.A = A
        self.shape = (int(A.shape[0]), int(A.shape[1]))
        self.dtype = self.xp.float64 if self.kind != "dense" else A.dtype

    def mv(self, x):
        if self.kind == "operator":
            return np.asarray(self.A.matvec(x), dtype=np.float64).reshape(-1)
        return self.A @ x

    def rmv(self, r):
        if self.kind == "operator":
            return np.asarray(self.A.rmatvec(r), dtype=np.float64).reshape(-1)
        return self._AT @ r

    def columns(self, idx):
        """The dense (n, k) block A[:, idx] in the data's namespace."""
        if self.kind == "dense":
            return self.xp.take(self.A, idx, axis=1)
        if self.kind == "sparse":
            return self.A[:, np.asarray(idx)].toarray()
        eye = np.zeros((self.shape[1], len(idx)))
        eye[np.asarray(idx), np.arange(len(idx))] = 1.0
        return np.asarray(self.A.matmat(eye), dtype=np.float64)

    def column_sq_norms(self):
        if self.kind == "dense":
            return self.xp.sum(self.A * self.A, axis=0)
        if self.kind == "sparse":
            return np.asarray(self.A.multiply(self.A).sum(axis=0)).reshape(-1)
        return np.asarray([float(np.sum(self.columns([j]) ** 2)) for j in range(self.shape[1])])

    def norm2_squared(self) -> float:
        """||A||_2^2 by power iteration on A^T A (deterministic start), padded by POWER_PAD."""
        xp = self.xp
        v = _backend.asarray_like(xp, np.random.default_rng(0).standard_normal(self.shape[1]), self._like())
        return padded_top_eigenvalue(lambda w: self.rmv(self.mv(w)), v, xp)

    def _like(self):
        return self.A if self.kind == "dense" else np.zeros(1)


def padded_top_eigenvalue(apply, v, xp) -> float:
    """POWER_PAD x the largest eigenvalue of a symmetric PSD operator ``apply`` (A^T A, or A A^T: both
    give ||A||_2^2) by POWER_ITERATIONS power iterations from ``v``."""
    est = 0.0
    for _ in range(POWER_ITERATIONS):
        w = apply(v)
        nrm = float(xp.sqrt(xp.sum(w * w)))
        if nrm == 0.0:
            return 0.0
        est = nrm / float(xp.sqrt(xp.sum(v * v)))
        v = w / nrm
    return POWER_PAD * est


def _vector(xp, v, n: int, name: str, like):
    if _backend.is_numpy_namespace(xp):
        arr = np.asarray(v, dtype=np.float64)
    else:
        arr = xp.asarray(v, dtype=like.dtype, device=_backend.device(like)) if not hasattr(v, "__array_namespace__") else v
        if not xp.isdtype(arr.dtype, "real floating"):
            arr = xp.astype(arr, xp.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must be a vector of length n_samples = {n}; got shape {tuple(arr.shape)}.")
    if not bool(xp.all(xp.isfinite(arr))):
        raise ValueError(f"{name} contains NaN or inf entries; clean the data before solving.")
    return arr


class LinearModelLoss:
    """f(x) = h(Ax) with h separable and convex: the base of the least-squares, logistic and Huber losses.

    Subclasses define ``_h(z)``, ``_dh(z)``, ``_d2h(z)``, ``_curvature`` (a bound on h'') and, for
    duality gaps, ``_conj(w)`` = h*(w) and ``_dual_scale(w)`` (the largest alpha in (0, 1] with
    alpha*w in dom h*; 1 for least squares).
    """

    _curvature = 1.0

    def __init__(self, A, target, target_name: str) -> None:
        self.op = _Operator(A)
        self.xp = self.op.xp
        n, d = self.op.shape
        like = self.op.A if self.op.kind == "dense" else np.zeros(1)
        self.target = _vector(self.xp, target, n, target_name, like)
        self.n_samples, self.n_features = n, d
        self._L: float | None = None

    @property
    def dtype(self):
        return self.op.dtype

    # -- values and gradients (z = Ax may be passed in to save a product with A)
    def linear(self, x):
        return self.op.mv(x)

    def value_z(self, z) -> float:
        return float(self._h(z))

    def grad_z(self, z):
        return self.op.rmv(self._dh(z))

    def value(self, x) -> float:
        return self.value_z(self.linear(x))

    def grad(self, x):
        return self.grad_z(self.linear(x))

    def lipschitz(self) -> float:
        """An (estimated, padded) upper bound on the Lipschitz constant of grad f."""
        if self._L is None:
            self._L = self._curvature * self.op.norm2_squared()
        return self._L

    # -- second order (the polish)
    def hvp(self, x, d):
        return self.op.rmv(self._d2h(self.linear(x)) * self.op.mv(d))

    def hessian_factor(self, x, idx):
        """B = diag(sqrt h''(Ax)) A_F for the columns ``idx`` (dense n x k): the block is B^T B."""
        w = self.xp.sqrt(self._d2h(self.linear(x)))
        return w[:, None] * self.op.columns(idx)

    def hessian_block(self, x, idx):
        """A_F^T diag(h''(Ax)) A_F for the columns ``idx``, dense."""
        B = self.hessian_factor(x, idx)
        return B.T @ B

    # -- duality (Fenchel dual of h(Ax) + g(x): D(w) = -h*(w) - g*(-A^T w), at w = h'(Ax))
    def dual_gap_parts(self, x):
        """(w, alpha, h*(alpha w), A^T w): the dual point w = h'(Ax) and its feasibility scale."""
        z = self.linear(x)
        w = self._dh(z)
        return w, self._dual_scale(w), self.op.rmv(w)

    def conjugate(self, w) -> float:
        return float(self._conj(w))


class LeastSquares(LinearModelLoss):
    """f(x) = 1/2 ||Ax - b||^2 (no 1/n: pass lam * n_samples to match scikit-learn's 1/(2n) scaling)."""

    def __init__(self, A, b) -> None:
        super().__init__(A, b, "b")

    def _h(self, z):
        r = z - self.target
        return 0.5 * self.xp.sum(r * r)

    def _dh(self, z):
        return z - self.target

    def _d2h(self, z):
        return self.xp.ones_like(z)

    def _conj(self, w):
        return 0.5 * self.xp.sum(w * w) + self.xp.sum(w * self.target)

    def _dual_scale(self, w) -> float:
        return 1.0


class Logistic(LinearModelLoss):
    """f(x) = sum_i log(1 + exp(-y_i a_i^T x)), labels y_i in {-1, +1}."""

    _curvature = 0.25

    def __init__(self, A, y) -> None:
        super().__init__(A, y, "y")
        xp = self.xp
        if not bool(xp.all((self.target == 1.0) | (self.target == -1.0))):
            raise ValueError("Logistic labels y must be -1 or +1 (map {0, 1} labels with y = 2*y - 1).")

    def _margin(self, z):
        return -self.target * z

    def _h(self, z):
        m = self._margin(z)
        return self.xp.sum(self.xp.logaddexp(self.xp.zeros_like(m), m))

    def _sigmoid(self, m):
        xp = self.xp
        e = xp.exp(-xp.abs(m))
        return xp.where(m >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def _dh(self, z):
        return -self.target * self._sigmoid(self._margin(z))

    def _d2h(self, z):
        s = self._sigmoid(self._margin(z))
        return s * (1.0 - s)

    def _conj(self, w):
        xp = self.xp
        p = xp.clip(-self.target * w, 0.0, 1.0)
        q = 1.0 - p
        safe_p = xp.where(p > 0, p, xp.ones_like(p))
        safe_q = xp.where(q > 0, q, xp.ones_like(q))
        return xp.sum(p * xp.log(safe_p) + q * xp.log(safe_q))

    def _dual_scale(self, w) -> float:
        return 1.0  # p = sigmoid in (0, 1): any w = h'(z) is in dom h*, and so is alpha w


class Huber(LinearModelLoss):
    """f(x) = sum_i H_M(a_i^T x - b_i), H_M(r) = r^2/2 for |r| <= M, M|r| - M^2/2 beyond."""

    def __init__(self, A, b, M: float = 1.0) -> None:
        if not (math.isfinite(M) and M > 0):
            raise ValueError(f"M must be a finite positive number; got {M}.")
        super().__init__(A, b, "b")
        self.M = float(M)

    def _h(self, z):
        xp = self.xp
        r = xp.abs(z - self.target)
        return xp.sum(xp.where(r <= self.M, 0.5 * r * r, self.M * r - 0.5 * self.M**2))

    def _dh(self, z):
        return self.xp.clip(z - self.target, -self.M, self.M)

    def _d2h(self, z):
        xp = self.xp
        return xp.astype(xp.abs(z - self.target) <= self.M, z.dtype)

    def _conj(self, w):
        return 0.5 * self.xp.sum(w * w) + self.xp.sum(w * self.target)

    def _dual_scale(self, w) -> float:
        return 1.0  # |h'(z)| <= M already


class Smooth:
    """Any smooth loss from callables: ``fun(x) -> float``, ``grad(x) -> array``.

    ``lipschitz`` is an upper bound on the Lipschitz constant of ``grad`` (or None: the solvers
    backtrack from 1).  ``hessian(x) -> (d, d) array`` is optional and enables the polish.
    No duality gap is defined for a generic loss.
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
        self.op = None
        self.xp = None

    dtype = None

    def linear(self, x):
        return None

    def value_z(self, z) -> float:  # pragma: no cover - linear() returns None, solvers use value()
        raise NotImplementedError

    def value(self, x) -> float:
        return float(self.fun(x))

    def grad(self, x):
        return self.gradient(x)

    def lipschitz(self) -> float:
        return 1.0 if self._L is None else self._L

    def hvp(self, x, d):
        return self.hessian(x) @ d

    def hessian_factor(self, x, idx):
        return None

    def hessian_block(self, x, idx):
        if self.hessian is None:
            return None
        xp = _backend.array_namespace(x)
        H = self.hessian(x)
        return xp.take(xp.take(H, idx, axis=0), idx, axis=1)

    def dual_gap_parts(self, x):
        return None
