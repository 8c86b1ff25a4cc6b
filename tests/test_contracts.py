"""A new loss is one class, a new constraint is one class: both are written here, in this file only,
against the public contracts (:class:`cvxpar.losses.LinearModelLoss`, :class:`cvxpar.constraints.Constraint`),
and every method that takes them, the certificate and ``cvxpar.reference`` must handle them, checked
against CVXPY + Clarabel on models written here (the loss's own ``cvxpy`` form, the constraint spelled
out in CVXPY by hand).

- LogCosh: h(z) = log cosh(z - y), the smooth robust regression loss; dh = tanh(z - y),
  d2h = 1 - tanh^2(z - y) <= 1 (smoothness 1), h^*(w) = w y + w atanh(w) + log(1 - w^2) / 2 on |w| < 1
  (sup_r w r - log cosh r is attained at r = atanh w), +inf beyond.
- Around: |x_i - c_i| <= r_i, a separable set given by its bounds only.
- Ordered: x_1 <= x_2 <= ... <= x_d (the isotonic cone), given by its rows only.
"""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest

import cvxpar
from cvxpar.constraints import Constraint
from cvxpar.losses import LeastSquares, LinearModelLoss
from cvxpar.solvers._common import INACCURATE_FACTOR

GRID = cvxpar.grids.uniform(0.25, 9)
L1G = cvxpar.pars.l1(GRID)
LAM = 0.8


# ---------------------------------------------------------------------------------- the new classes
class LogCosh(LinearModelLoss):
    smoothness = 1.0

    def h(self, z):
        return np.logaddexp(z - self.target, self.target - z) - math.log(2.0)

    def dh(self, z):
        return np.tanh(z - self.target)

    def d2h(self, z):
        return 1.0 - np.tanh(z - self.target) ** 2

    def conj(self, w):
        if np.any(np.abs(w) >= 1.0):
            return np.inf
        return float(np.sum(w * self.target + w * np.arctanh(w) + 0.5 * np.log1p(-w * w)))

    def cvxpy(self, z):
        r = z - self.target
        return cp.sum(r + cp.logistic(-2.0 * r)) - z.shape[0] * math.log(2.0)


class Around(Constraint):
    """|x_i - center_i| <= radius_i."""

    def __init__(self, center, radius) -> None:
        self.center = np.asarray(center, dtype=np.float64)
        self.radius = np.asarray(radius, dtype=np.float64)

    def check_size(self, d: int) -> None:
        if self.center.shape != (d,):
            raise ValueError(f"Around: center has shape {self.center.shape}, x has {d} entries.")

    def bounds(self, d: int):
        return self.center - self.radius, self.center + self.radius


class Ordered(Constraint):
    """x_1 <= x_2 <= ... <= x_d, as the rows x_i - x_{i+1} <= 0."""

    def rows(self, d: int):
        D = np.eye(d - 1, d) - np.eye(d - 1, d, k=1)
        return None, None, D, np.zeros(d - 1)


# ---------------------------------------------------------------------------------- data and references
def _regression(n=40, d=12, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) / math.sqrt(d)
    x_true = np.sort(cvxpar.snap(rng.standard_normal(d), GRID))
    y = A @ x_true + 0.3 * rng.standard_normal(n)
    y[:3] += 5.0  # outliers: where log cosh differs from least squares
    return A, y


def _clarabel(cvxpy_loss, A, d, cons_of=None) -> tuple[float, np.ndarray]:
    """min cvxpy_loss(A x) + LAM sum psi(x_i) by Clarabel, psi = max of its affine pieces; constraints by hand."""
    x = cp.Variable(d)
    slopes, intercepts = L1G.max_affine()
    reg = cp.sum(cp.maximum(*[a * x + c for a, c in zip(slopes, intercepts, strict=True)]))
    cons = [] if cons_of is None else cons_of(x)
    prob = cp.Problem(cp.Minimize(cvxpy_loss(A @ x) + LAM * reg), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11, max_iter=500)
    assert prob.status == "optimal"
    return float(prob.value), np.asarray(x.value)


def _around(d):
    center = np.linspace(-0.6, 0.9, d)
    return Around(center, np.full(d, 0.5)), (lambda x: [cp.abs(x - center) <= 0.5])


def _matches(res, ref_value, A, loss, constraints):
    """Certified to tol, the certificate agrees, and the objective is Clarabel's."""
    cert = cvxpar.certificate(loss, L1G, LAM, res.x, constraints)
    assert res.status == "optimal", res
    assert cert.certifies(1e-8) and cert.objective == pytest.approx(res.objective, rel=1e-12)
    assert abs(res.objective - ref_value) <= 1e-7 * max(1.0, abs(ref_value)), (res.objective, ref_value)


# ---------------------------------------------------------------------------------- a new loss
@pytest.mark.parametrize("method", ["auto", "pg", "fista", "cd", "ssnal"])
@pytest.mark.parametrize("bounded", [False, True], ids=["free", "around"])
def test_new_loss_and_bounds_constraint_every_method(method, bounded):
    A, y = _regression()
    loss = LogCosh(A, y)
    con, cons_of = _around(A.shape[1]) if bounded else (None, None)
    ref_value, _ = _clarabel(loss.cvxpy, A, A.shape[1], cons_of)
    res = cvxpar.solve(loss, L1G, LAM, constraints=con, method=method, tol=1e-9)
    _matches(res, ref_value, A, loss, con)
    if not bounded:  # the conjugate gives a duality gap, an upper bound on F(x) - F*
        assert res.gap is not None and -1e-9 <= res.gap <= 1e-6 * max(1.0, abs(ref_value))
    else:
        assert np.all(np.abs(res.x - con.center) <= 0.5)


def test_new_loss_with_the_stochastic_method_has_the_shared_status():
    A, y = _regression()
    loss = LogCosh(A, y)
    ref_value, _ = _clarabel(loss.cvxpy, A, A.shape[1])
    res = cvxpar.solve(loss, L1G, LAM, method="aprox", epochs=200, batch_size=10, seed=0)
    cert = cvxpar.certificate(loss, L1G, LAM, res.x)
    want = "optimal" if cert.certifies(1e-8) else "optimal_inaccurate" if cert.certifies(INACCURATE_FACTOR * 1e-8) else "max_iter"
    assert res.status == want
    assert ref_value - 1e-9 <= res.objective <= ref_value + 1e-3 * abs(ref_value)


def test_new_loss_in_the_reference():
    A, y = _regression()
    loss = LogCosh(A, y)
    ref_value, x_ref = _clarabel(loss.cvxpy, A, A.shape[1])
    ref = cvxpar.reference(loss, L1G, LAM)
    assert ref.status == "optimal"
    assert abs(ref.objective - ref_value) <= 1e-7 * max(1.0, abs(ref_value))
    # a nonconvex psi needs a mixed-integer solver for the loss's cone (log cosh: the exponential cone,
    # which SCIP lacks): the reference says so instead of answering wrongly
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 2.0)
    with pytest.raises(ValueError, match="exponential cone"):
        cvxpar.reference(LogCosh(A[:20, :5], y[:20]), mcp, LAM, constraints=Around(np.zeros(5), np.full(5, 3.0)))


def test_new_loss_refused_where_a_method_does_not_apply():
    A, y = _regression()
    with pytest.raises(ValueError, match="LeastSquares"):
        cvxpar.solve(LogCosh(A, y), L1G, LAM, method="admm")
    with pytest.raises(ValueError, match="admm"):  # rows need admm, which needs least squares
        cvxpar.solve(LogCosh(A, y), L1G, LAM, constraints=Ordered(), method="fista")


# ---------------------------------------------------------------------------------- a new constraint
@pytest.mark.parametrize("method", ["auto", "admm"])
def test_new_row_constraint_with_least_squares(method):
    A, y = _regression(seed=1)
    loss = LeastSquares(A, y)
    ref_value, _ = _clarabel(lambda z: 0.5 * cp.sum_squares(z - y), A, A.shape[1], lambda x: [cp.diff(x) >= 0])
    res = cvxpar.solve(loss, L1G, LAM, constraints=Ordered(), method=method, tol=1e-9)
    _matches(res, ref_value, A, loss, Ordered())
    assert np.all(np.diff(res.x) >= -1e-9 * max(1.0, float(np.abs(res.x).max())))
    ref = cvxpar.reference(loss, L1G, LAM, constraints=Ordered())
    assert abs(ref.objective - ref_value) <= 1e-7 * max(1.0, abs(ref_value))


def test_new_row_constraint_in_the_certificate():
    """Violation in x's units (distance to the violated hyperplane), and the normal cone of the active
    rows: Clarabel's optimum passes, the same point shifted along the feasible set does not."""
    A, y = _regression(n=30, d=6, seed=2)
    loss = LogCosh(A, y)
    _, x_ref = _clarabel(loss.cvxpy, A, 6, lambda x: [cp.diff(x) >= 0])
    # Clarabel's point made exact: entries within 1e-6 of the grid on it, near-ties between neighbours tied
    x = np.where(np.abs(x_ref - cvxpar.snap(x_ref, GRID)) < 1e-6, cvxpar.snap(x_ref, GRID), x_ref)
    for i in range(1, x.size):
        x[i] = x[i - 1] if x[i] - x[i - 1] < 1e-6 else x[i]
    cert = cvxpar.certificate(loss, L1G, LAM, x, Ordered())
    assert cert.infeasibility == 0.0 and cert.certifies(1e-5)  # Clarabel's accuracy on the exponential cone
    bad = np.array([0.0, 1.0, 0.5, 0.6, 0.7, 0.8])
    assert cvxpar.certificate(loss, L1G, LAM, bad, Ordered()).infeasibility == pytest.approx(0.5 / math.sqrt(2))
    shifted = x + 0.1  # still ordered (feasible), but no longer stationary
    cert = cvxpar.certificate(loss, L1G, LAM, shifted, Ordered())
    assert cert.infeasibility == 0.0 and not cert.certifies(1e-3)


def test_new_constraint_kinds_mix_with_the_built_in_ones():
    A, y = _regression(seed=3)
    d = A.shape[1]
    center = np.linspace(0.2, 1.4, d)
    con, cons_of = Around(center, np.full(d, 0.5)), (lambda x: [cp.abs(x - center) <= 0.5])
    both = [con, cvxpar.constraints.NonNeg(), Ordered()]
    ref_value, _ = _clarabel(lambda z: 0.5 * cp.sum_squares(z - y), A, d, lambda x: [*cons_of(x), x >= 0, cp.diff(x) >= 0])
    res = cvxpar.solve(LeastSquares(A, y), L1G, LAM, constraints=both, tol=1e-9)
    _matches(res, ref_value, A, LeastSquares(A, y), both)


def test_new_constraint_kinds_in_the_estimators():
    """PARRegressor takes a rows-only kind (the intercept stays free, the rows are lifted); PARClassifier
    takes a bounds-only kind and, with a convex psi, a rows-only one (its rows get a zero column for the free
    intercept), against CVXPY + Clarabel."""
    from cvxpar.sklearn import PARClassifier, PARRegressor

    X, y = _regression(n=50, d=6, seed=4)
    est = PARRegressor(psi=L1G, alpha=0.02, constraints=Ordered(), tol=1e-10).fit(X, y)
    w, c = cp.Variable(6), cp.Variable()
    slopes, intercepts = L1G.max_affine()
    reg = cp.sum(cp.maximum(*[a * w + b for a, b in zip(slopes, intercepts, strict=True)]))
    prob = cp.Problem(cp.Minimize(cp.sum_squares(y - X @ w - c) / (2 * 50) + 0.02 * reg), [cp.diff(w) >= 0])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    np.testing.assert_allclose(est.coef_, w.value, atol=1e-5)
    labels = (y > np.median(y)).astype(int)
    clf = PARClassifier(psi=L1G, alpha=0.01, constraints=Around(np.zeros(6), np.full(6, 0.3))).fit(X, labels)
    assert clf.status_ == "optimal" and np.all(np.abs(clf.coef_) <= 0.3)
    clf = PARClassifier(psi=L1G, alpha=0.01, constraints=Ordered(), tol=1e-10).fit(X, labels)
    s = 2.0 * labels - 1.0
    logistic = cp.sum(cp.logistic(-cp.multiply(s, X @ w + c))) / 50
    prob = cp.Problem(cp.Minimize(logistic + 0.01 * reg), [cp.diff(w) >= 0])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    assert clf.status_ == "optimal"
    np.testing.assert_allclose(clf.coef_[0], w.value, atol=1e-5)
    assert clf.intercept_[0] == pytest.approx(c.value, abs=1e-5)
