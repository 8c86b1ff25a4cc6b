"""Every loss (built-in and user-defined) against independent references: finite differences for
h, dh, d2h, value and grad; CVXPY's evaluation of its cvxpy(z) against its h; a numerical sup
(scipy.optimize) for its conjugate; pickling and deep copies; bad input."""

from __future__ import annotations

import copy
import pickle

import cvxpy as cp
import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from user_losses import Poisson, SquaredHinge

from cvxpar.losses import Huber, LeastSquares, LinearModelLoss, Logistic, Smooth

N, D = 12, 5


def _make(name, A=None, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, D)) if A is None else A
    n = A.shape[0]
    labels = np.where(rng.standard_normal(n) > 0, 1.0, -1.0)
    if name == "least_squares":
        return LeastSquares(A, rng.standard_normal(n))
    if name == "logistic":
        return Logistic(A, labels)
    if name == "huber":
        return Huber(A, 2.0 * rng.standard_normal(n), M=0.7)
    if name == "squared_hinge":
        return SquaredHinge(A, labels)
    return Poisson(A, rng.poisson(1.5, n).astype(float))


NAMES = ["least_squares", "logistic", "huber", "squared_hinge", "poisson"]


def _points(loss, seed=1):
    """z values away from the kinks (where h is C^2), so finite differences are exact to O(eps^2)."""
    z = np.random.default_rng(seed).uniform(-2.0, 2.0, loss.n_samples)
    if isinstance(loss, Huber):
        r = z - loss.target
        z = np.where(np.abs(np.abs(r) - loss.M) < 0.05, z + 0.1, z)
    if isinstance(loss, SquaredHinge):
        z = np.where(np.abs(loss.target * z - 1.0) < 0.05, z + 0.1 * loss.target, z)
    return z


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_against_finite_differences(name):
    loss = _make(name)
    z = _points(loss)
    eps = 1e-6
    np.testing.assert_allclose(loss.dh(z), (loss.h(z + eps) - loss.h(z - eps)) / (2 * eps), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(loss.d2h(z), (loss.dh(z + eps) - loss.dh(z - eps)) / (2 * eps), rtol=1e-6, atol=1e-7)
    if loss.smoothness is not None:
        assert np.all(loss.d2h(z) <= loss.smoothness + 1e-12)
    x = np.random.default_rng(2).standard_normal(D) * 0.3
    g = loss.grad(x)
    fd = np.array([(loss.value(x + eps * e) - loss.value(x - eps * e)) / (2 * eps) for e in np.eye(D)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)
    assert loss.value(x) == pytest.approx(float(np.sum(loss.h(loss.op.A @ x))), rel=1e-14)
    d = np.random.default_rng(3).standard_normal(D)
    hvp_fd = (loss.grad(x + eps * d) - loss.grad(x - eps * d)) / (2 * eps)
    np.testing.assert_allclose(loss.hvp(x, d), hvp_fd, rtol=1e-5, atol=1e-6)
    idx = np.array([0, 2, 3])
    H = np.array([(loss.grad(x + eps * e) - loss.grad(x - eps * e)) / (2 * eps) for e in np.eye(D)])
    np.testing.assert_allclose(loss.hessian_block(x, idx), H[np.ix_(idx, idx)], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_cvxpy_form_is_the_sum_of_h(name):
    loss = _make(name)
    z = _points(loss)
    expr = loss.cvxpy(cp.Constant(z))
    assert expr.is_convex()
    assert float(expr.value) == pytest.approx(float(np.sum(loss.h(z))), rel=1e-12, abs=1e-12)
    zv = cp.Variable(loss.n_samples)
    zv.value = z
    assert float(loss.cvxpy(zv).value) == pytest.approx(float(np.sum(loss.h(z))), rel=1e-12)


def _numerical_conjugate(h1, w: float) -> float:
    """sup_z w z - h1(z) by bounded scalar minimization (h1 a scalar convex function)."""
    res = scipy.optimize.minimize_scalar(lambda z: h1(z) - w * z, bounds=(-60.0, 60.0), method="bounded",
                                         options={"xatol": 1e-12})
    return -float(res.fun)


@pytest.mark.parametrize("name", NAMES)
def test_conjugate_against_numerical_sup(name):
    loss = _make(name)
    w = loss.dh(_points(loss, seed=4))  # in dom h^* (subgradients), and the edge of the domain is reached
    want = 0.0
    for i in range(loss.n_samples):
        sub = loss.subsample([i])

        def h1(s, sub=sub):
            return float(sub.h(np.array([s]))[0])

        want += _numerical_conjugate(h1, float(w[i]))
    assert loss.conjugate(w) == pytest.approx(want, rel=1e-6, abs=1e-6)
    # Fenchel-Young with equality at w = dh(z)
    z = _points(loss, seed=4)
    assert loss.conjugate(w) == pytest.approx(float(np.sum(w * z - loss.h(z))), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", ["logistic", "huber", "squared_hinge", "poisson"])
def test_conjugate_is_infinite_outside_its_domain(name):
    loss = _make(name)
    outside = {"logistic": 2.0 * loss.target, "huber": np.full(N, 2 * getattr(loss, "M", 1.0)),
               "squared_hinge": loss.target, "poisson": -loss.target - 1.0}[name]
    assert loss.conjugate(outside) == np.inf


@pytest.mark.parametrize("name", NAMES)
def test_losses_pickle_and_deepcopy(name):
    loss = _make(name)
    x = np.linspace(-0.3, 0.4, D)
    loss.lipschitz()
    for other in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        assert type(other) is type(loss)
        assert other.value(x) == loss.value(x)
        np.testing.assert_array_equal(other.grad(x), loss.grad(x))
        assert other.lipschitz() == loss.lipschitz()


def test_sparse_loss_pickles_and_matches_dense():
    A = sp.random(N, D, density=0.5, random_state=0, format="csr")
    loss = _make("logistic", A=A)
    dense = _make("logistic", A=A.toarray())
    x = np.linspace(-1, 1, D)
    other = pickle.loads(pickle.dumps(loss))
    np.testing.assert_allclose(other.grad(x), dense.grad(x), rtol=1e-14)


def _quadratic(x):
    return float(x @ x)


def _double(x):
    return 2.0 * x


def test_smooth_pickles_and_is_a_loss_without_linear_model():
    loss = Smooth(_quadratic, _double, lipschitz=2.0, n_features=3)
    other = pickle.loads(pickle.dumps(loss))
    assert other.value(np.ones(3)) == 3.0
    assert not isinstance(loss, LinearModelLoss)
    assert loss.dual_gap_parts(np.ones(3)) is None
    assert not hasattr(loss, "op")


def test_lipschitz_is_smoothness_times_norm_squared():
    loss = _make("logistic")
    top = np.linalg.norm(loss.op.A, 2) ** 2
    assert top / 4 <= loss.lipschitz() <= 1.1 * top / 4
    np.testing.assert_allclose(loss.coordinate_lipschitz(), 0.25 * np.sum(loss.op.A ** 2, axis=0))
    assert _make("poisson").coordinate_lipschitz() is None


@pytest.mark.parametrize("name", NAMES)
def test_subsample_is_the_loss_on_those_rows(name):
    loss = _make(name)
    rows = np.array([1, 4, 7])
    sub = loss.subsample(rows)
    x = np.linspace(-0.5, 0.5, D)
    assert sub.value(x) == pytest.approx(float(np.sum(loss.h(loss.op.A @ x)[rows])), rel=1e-14)
    assert type(sub) is type(loss) and sub.n_samples == 3


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="0 rows"):
        LeastSquares(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="-1 or \\+1"):
        Logistic(np.ones((2, 2)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="counts must be >= 0"):
        Poisson(np.ones((2, 2)), np.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match="length n_samples"):
        Huber(np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        LeastSquares(np.array([[np.nan, 1.0]]), np.ones(1))


def test_contract_without_conj_or_cvxpy_has_no_gap():
    class Bare(LinearModelLoss):
        smoothness = 1.0

        def h(self, z):
            return 0.5 * z * z

        def dh(self, z):
            return z

        def d2h(self, z):
            return np.ones_like(z)

    loss = Bare(np.eye(3), np.zeros(3))
    assert loss.dual_gap_parts(np.ones(3)) is None
    with pytest.raises(NotImplementedError, match="cvxpy"):
        loss.cvxpy(None)


def test_targets_take_the_keyword_names_of_the_public_contract():
    """LeastSquares(A, b), Logistic(A, y), Huber(A, b, M): the keywords work as the documented signatures say."""
    A = np.eye(2)
    assert np.array_equal(LeastSquares(A=A, b=np.ones(2)).target, np.ones(2))
    assert np.array_equal(Logistic(A=A, y=np.array([1.0, -1.0])).target, [1.0, -1.0])
    assert np.array_equal(Huber(A=A, b=np.ones(2), M=2.0).target, np.ones(2))


def test_huber_majorant_curvature_gives_a_sharp_quadratic_majorizer():
    """H(r + s) <= H(r) + H'(r) s + c(r) s^2 / 2 for every s (checked on a grid), with equality at the
    reflected point s = -2 r beyond M (the majorizer is the sharpest), and c = h'' = 1 inside [-M, M]."""
    from cvxpar.losses import Huber

    M = 0.3
    loss = Huber(np.eye(1), np.zeros(1), M=M)
    r = np.array([-5.0, -0.31, -0.2, 0.0, 0.1, 0.3, 0.5, 40.0])
    c = loss.d2h_majorant(r)
    np.testing.assert_array_equal(c[np.abs(r) <= M], 1.0)
    s = np.linspace(-100, 100, 20001)[:, None]
    upper = loss.h(r)[None, :] + loss.dh(r)[None, :] * s + 0.5 * c[None, :] * s**2
    assert np.all(loss.h(r[None, :] + s) <= upper + 1e-12)
    out = np.abs(r) > M
    np.testing.assert_allclose(loss.h(-r[out]), loss.h(r[out]) + loss.dh(r[out]) * (-2 * r[out]) + 2 * c[out] * r[out] ** 2)
