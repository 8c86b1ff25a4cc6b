"""Two losses written only against the public contract of cvxpar.losses.LinearModelLoss (as a user would),
and the CVXPY + Clarabel reference that solves any loss through its own cvxpy(z) form.

- SquaredHinge: h(z) = 0.5 max(0, 1 - y z)^2, labels y in {-1, +1}; C^1 with the generalized
  second derivative 1[y z < 1] (smoothness 1); h^*(w) = y w + w^2 / 2 for y w <= 0, +inf beyond.
- Poisson: h(z) = exp(z) - y z, counts y >= 0; d2h = exp(z) is unbounded (smoothness None);
  h^*(w) = v log v - v with v = w + y >= 0 (0 log 0 = 0), +inf for v < 0.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from cvxpar.losses import LinearModelLoss


class SquaredHinge(LinearModelLoss):
    smoothness = 1.0
    piecewise_quadratic = True

    def validate_target(self, target):
        if not np.all(np.abs(target) == 1.0):
            raise ValueError("SquaredHinge labels must be -1 or +1.")

    def h(self, z):
        return 0.5 * np.maximum(0.0, 1.0 - self.target * z) ** 2

    def dh(self, z):
        return -self.target * np.maximum(0.0, 1.0 - self.target * z)

    def d2h(self, z):
        return (self.target * z < 1.0).astype(float)

    def conj(self, w):
        s = self.target * w
        if np.any(s > 0):
            return np.inf
        return np.sum(s + 0.5 * w * w)

    def cvxpy(self, z):
        return 0.5 * cp.sum_squares(cp.pos(1.0 - cp.multiply(self.target, z)))


class Poisson(LinearModelLoss):
    smoothness = None

    def validate_target(self, target):
        if np.any(target < 0):
            raise ValueError("Poisson counts must be >= 0.")

    def h(self, z):
        return np.exp(z) - self.target * z

    def dh(self, z):
        return np.exp(z) - self.target

    def d2h(self, z):
        return np.exp(z)

    def conj(self, w):
        v = w + self.target
        if np.any(v < 0):
            return np.inf
        safe = np.where(v > 0, v, 1.0)
        return np.sum(np.where(v > 0, v * np.log(safe), 0.0) - v)

    def cvxpy(self, z):
        return cp.sum(cp.exp(z) - cp.multiply(self.target, z))


def hinge_data(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    y = np.where(A @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    return A, y


def poisson_data(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) / np.sqrt(d)
    y = rng.poisson(np.exp(A @ rng.standard_normal(d))).astype(float)
    return A, y


def clarabel_objective(loss, psi, lam, box=None) -> float:
    """min loss.cvxpy(Ax) + lam sum psi(x_i) (psi as a max of affine pieces) over an optional box, by Clarabel."""
    A = loss.op.A
    x = cp.Variable(A.shape[1])
    slopes, intercepts = psi.max_affine()
    reg = cp.sum(cp.maximum(*[a * x + c for a, c in zip(slopes, intercepts, strict=True)]))
    cons = [] if box is None else [x >= box[0], x <= box[1]]
    prob = cp.Problem(cp.Minimize(loss.cvxpy(A @ x) + lam * reg), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=500)
    assert prob.status == "optimal"
    return float(prob.value)
