"""Equality-constrained Newton steps: the KKT system of the row polish, dense and in factored form.

On its free block of k coordinates with the m working rows G, the row polish
(:func:`cvxpar.solvers.polish.newton_polish`) takes the step d of

    [H  G^T] [d]   [g]
    [G  0  ] [y] = [r]                                                                     (1)

(Nocedal and Wright 2006, "Numerical Optimization", eq. (16.4)): the minimizer of the quadratic model
1/2 d^T H d - g^T d subject to G d = r.

**Dense form** (:func:`kkt_step`, H given as a k x k matrix): with H positive definite, the Schur
complement (G H^-1 G^T) y = G H^-1 g - r (eq. (16.16)) and d = H^-1 (g - G^T y), one Cholesky
factorization of H for the few rows; where H is singular, the minimum-norm least-squares solution of (1).

**Factored form** (:func:`factored_kkt_step`, H = B^T B + mu I with B the n x k Hessian factor,
B^T B = A_F^T diag(h'') A_F for a loss sum_i h(a_i^T x)): with more free coordinates than samples
(k > n) B^T B is singular, and a dense solve of (1) costs O(k^3).  Let M = [B; G] ((n + m) x k) and
Q (k x rho) an orthonormal basis of range(M^T), from a column-pivoted QR factorization of M^T
(Golub and Van Loan 2013, "Matrix Computations", 4th ed., section 5.4.1).  Every d is d = Q a + z with
M z = 0 (so B z = 0 and G z = 0), and (1) splits into the reduced system of rho + m unknowns

    [(BQ)^T BQ + mu I  (GQ)^T] [a]   [Q^T g]
    [GQ                0     ] [y] = [r    ]                                               (2)

and mu z = g_N := g - Q Q^T g, the part of g in null(M).  With mu > 0, z = g_N / mu.  With mu = 0,
(1) has a solution only when g_N = 0 (otherwise the model falls without bound along g_N); the
coefficient matrix K of (1) is symmetric with null space null(M) x null(G^T), so its least-squares
solutions solve (1) with g_N removed from g, and the one of minimum norm has z = 0: d = Q a, what a dense
least-squares (SVD) solve of (1) returns.  A g_N below NULL_RTOL ||g|| is rounding and is dropped in
both cases.  The d part of (2) is unique (MQ has full column rank), and (2) is solved by a symmetric indefinite
(Bunch-Kaufman) factorization, or in dense form where that fails; MQ needs no product, it is the transposed
triangular factor.
The cost is O(k (n + m)^2) for the QR factorization and O((n + m)^3) for (2).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from scipy.linalg import lapack

#: A Schur-complement solution of the KKT system is kept when its residual is within this (relative) bound;
#: otherwise (a singular or indefinite block) the system is solved by least squares.
KKT_RTOL = 1e-10

EPS = float(np.finfo(np.float64).eps)

#: Workspace of LAPACK's dormqr for one right-hand side (at least 1; more lets it block the reflectors).
REFLECTOR_LWORK = 64

#: A part of g in the null space of [B; G] below this fraction of ||g|| is rounding (the factored form).
NULL_RTOL = 1e-10


def kkt_step(H: np.ndarray, G: np.ndarray, g: np.ndarray, r: np.ndarray) -> np.ndarray | None:
    """The d of (1) for a dense k x k H (the module docstring's dense form), or None when it has no finite
    solution: :func:`schur_step`, or where that fails (H not numerically positive definite, or the check),
    the least-squares (SVD) solution of (1)."""
    step = schur_step(H, G, g, r)
    if step is not None:
        return step
    K, rhs = _system(H, G, g, r)
    try:
        sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
    except np.linalg.LinAlgError:
        return None
    return sol[:H.shape[0]] if np.isfinite(sol).all() else None


def schur_step(H: np.ndarray, G: np.ndarray, g: np.ndarray, r: np.ndarray) -> np.ndarray | None:
    """The Schur-complement solution of (1) for a positive definite H, checked against the full system
    (relative residual KKT_RTOL); None where the Cholesky factorization of H fails or the check does."""
    m = G.shape[0]
    try:
        c = sla.cho_factor(H, check_finite=False)
        Y = sla.cho_solve(c, np.column_stack([g, G.T]), check_finite=False)
        y = np.linalg.lstsq(G @ Y[:, 1:], G @ Y[:, 0] - r, rcond=None)[0] if m else np.zeros(0)
    except (np.linalg.LinAlgError, ValueError):
        return None
    sol = np.concatenate([Y[:, 0] - Y[:, 1:] @ y, y])
    K, rhs = _system(H, G, g, r)
    return sol[:H.shape[0]] if _solves(K, sol, rhs) else None


def factored_kkt_step(B: np.ndarray, mu: float, G: np.ndarray, g: np.ndarray, r: np.ndarray) -> np.ndarray | None:
    """The d of (1) for H = B^T B + mu I (B n x k, mu >= 0) through the reduced system (2) of the module
    docstring, or None when it has no finite solution.  Meant for k > n, where B^T B is singular.

    Q is kept as LAPACK's Householder reflectors (dgeqp3), applied by dormqr: Q^T g gives Q^T g in its first
    rho entries and the coordinates of g_N in the rest, and d = Q [a; g_N coordinates / mu] in one pass.
    """
    n, k = B.shape
    MT = np.empty((k, n + G.shape[0]), order="F")  # M^T = [B; G]^T, overwritten by the factorization
    MT[:, :n] = B.T
    MT[:, n:] = G.T
    if not np.isfinite(MT).all():
        return None
    qr, jpvt, tau, _, info = lapack.dgeqp3(MT, overwrite_a=1)  # M^T[:, jpvt - 1] = Q R
    if info != 0:
        return None
    diag = np.abs(np.diag(qr))
    rho = int(np.count_nonzero(diag > max(qr.shape) * EPS * diag[0])) if diag.size else 0
    MQ = np.empty((qr.shape[1], rho))
    MQ[jpvt - 1] = np.triu(qr[:rho]).T  # M[piv] = R^T Q^T, so M Q = R^T (rows put back in place)
    BQ, GQ = MQ[:n], MQ[n:]
    reflectors = qr[:, :tau.size]  # min(k, n + m) of them: with k < n + m, M^T's trailing columns add none
    qg, _, info = lapack.dormqr("L", "T", reflectors, tau, g[:, None], lwork=REFLECTOR_LWORK)
    if info != 0:
        return None
    a = _reduced_step(BQ.T @ BQ + mu * np.eye(rho), GQ, qg[:rho, 0], r)
    if a is None:
        return None
    coef = np.zeros_like(qg)
    coef[:rho, 0] = a
    null = qg[rho:, 0]
    if mu > 0.0 and np.linalg.norm(null) > NULL_RTOL * np.linalg.norm(g):
        coef[rho:, 0] = null / mu
    d, _, info = lapack.dormqr("L", "N", reflectors, tau, coef, lwork=REFLECTOR_LWORK)
    return d[:, 0] if info == 0 and np.isfinite(d).all() else None


def _reduced_step(H, G, g, r):
    """The d of the reduced system (2): its d part is unique (M Q has full column rank), so a symmetric
    indefinite (Bunch-Kaufman) solve of the whole matrix, checked against it, where H alone may be singular
    (directions that only the rows G fix); :func:`kkt_step` where that fails (dependent rows)."""
    K, rhs = _system(H, G, g, r)
    _, _, sol, info = lapack.dsysv(K, rhs)
    if info == 0 and _solves(K, sol, rhs):
        return sol[:H.shape[0]]
    return kkt_step(H, G, g, r)


def _system(H, G, g, r):
    """The matrix and right-hand side of (1)."""
    m = G.shape[0]
    return np.block([[H, G.T], [G, np.zeros((m, m))]]), np.concatenate([g, r])


def _solves(K, sol, rhs) -> bool:
    """sol is finite and solves K sol = rhs to KKT_RTOL, relative to max(1, ||rhs||)."""
    return bool(np.isfinite(sol).all()) and np.linalg.norm(K @ sol - rhs) <= KKT_RTOL * max(1.0, np.linalg.norm(rhs))
