"""Tall least squares through its d x d normal equations: the exactly equivalent square problem.

For f(x) = 1/2 ||A x - b||^2 with A of shape (n, d), everything f knows about x is in

    G = A^T A (d x d),   c = A^T b (d),   beta = b^T b,

since f(x) = 1/2 x^T G x - c^T x + beta / 2.  With G = R^T R (Cholesky, R upper triangular) and
t = R^{-T} c,

    1/2 ||A x - b||^2 = 1/2 ||R x - t||^2 + kappa,    kappa = 1/2 (beta - ||t||^2) >= 0,

an exact identity (expand both sides; Golub & Van Loan 2013, sec. 5.3.2, the normal equations in
Cholesky form), so the d-dimensional ``LeastSquares(R, t)`` has the same minimizers, gradient
(R^T (R x - t) = G x - c = A^T (A x - b)) and Hessian as f.  When G is singular to working precision
(collinear columns) R comes from the eigendecomposition G = V diag(mu) V^T instead:
R = diag(sqrt(mu_k)) V_k^T over the eigenvalues above d * eps * max(mu), t = diag(mu_k^{-1/2}) V_k^T c
(c lies in range(G), so the identity holds up to the dropped eigenvalues' rounding).  Forming G
squares A's condition number: x is accurate to about cond(A)^2 * eps relative, so a solver that
uses the square problem certifies its answer on the original data.
"""

from __future__ import annotations

import numpy as np


def normal_equations_factor(G: np.ndarray, c: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(R, t, kappa) with 1/2 ||A x - b||^2 = 1/2 ||R x - t||^2 + kappa from G = A^T A, c = A^T b and
    beta = b^T b (module docstring)."""
    import scipy.linalg as sla

    try:
        R = sla.cholesky(G, lower=False, check_finite=False)
        t = sla.solve_triangular(R, c, trans="T", lower=False, check_finite=False)
        ok = np.isfinite(R).all() and np.isfinite(t).all() and np.all(np.diag(R) > 0)
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        mu, V = np.linalg.eigh(G)
        keep = mu > G.shape[0] * np.finfo(np.float64).eps * max(float(mu[-1]), 0.0)
        if not keep.any():  # A = 0: f is the constant beta / 2
            keep[-1] = True
        root = np.sqrt(np.maximum(mu[keep], 0.0))
        R = root[:, None] * V[:, keep].T
        t = np.divide(V[:, keep].T @ c, root, out=np.zeros_like(root), where=root > 0)
    kappa = 0.5 * (beta - float(t @ t))
    return R, t, kappa


def square_least_squares(A, b):
    """``LeastSquares(R, t)`` equal to 1/2 ||A x - b||^2 - kappa for a dense A (one A^T A, n d^2 flops, and a
    d x d factorization), and kappa.  A NumPy float64 A goes through BLAS syrk and LAPACK; any other
    Array-API array stays in its namespace and on its device (``_factor_in_namespace``)."""
    from cvxpar import _backend
    from cvxpar.losses import LeastSquares

    xp = _backend.array_namespace(A)
    if _backend.is_numpy_namespace(xp) and A.dtype == np.float64:
        from scipy.linalg import blas

        G = blas.dsyrk(1.0, A, trans=1, lower=0)  # A^T A, upper triangle
        G = np.triu(G) + np.triu(G, 1).T
        R, t, kappa = normal_equations_factor(G, A.T @ b, float(b @ b))
    else:
        R, t, kappa = _factor_in_namespace(xp, A.T @ A, A.T @ b, float(xp.sum(b * b)))
    return LeastSquares(R, t), kappa


def _factor_in_namespace(xp, G, c, beta: float):
    """:func:`normal_equations_factor` with the Array API's linalg extension (Cholesky, solve, eigh)."""
    R = None
    try:
        R = xp.linalg.cholesky(G, upper=True)
        t = xp.linalg.solve(R.mT, c[:, None])[:, 0]
        if not (bool(xp.all(xp.isfinite(R))) and bool(xp.all(xp.isfinite(t)))):
            R = None
    except Exception:  # not positive definite (namespaces raise different errors): the eigendecomposition
        R = None
    if R is None:
        mu, V = xp.linalg.eigh(G)
        cut = G.shape[0] * float(np.finfo(np.float64).eps) * max(float(mu[-1]), 0.0)
        keep = mu > cut
        if not bool(xp.any(keep)):  # A = 0: f is the constant beta / 2
            keep = mu >= mu[-1]
        idx = xp.nonzero(keep)[0]
        root = xp.sqrt(xp.clip(xp.take(mu, idx), 0.0, None))
        Vk = xp.take(V, idx, axis=1)
        R = root[:, None] * Vk.T
        t = xp.where(root > 0, (Vk.T @ c) / xp.where(root > 0, root, 1.0), 0.0)
    kappa = 0.5 * (beta - float(xp.sum(t * t)))
    return R, t, kappa
