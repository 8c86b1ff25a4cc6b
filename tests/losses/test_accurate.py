"""Doubled-precision products with A and the accurate gradient built on them, against exact rational arithmetic
(``fractions.Fraction``) on the same float data, and mpmath for the logistic loss's transcendental dh."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import scipy.sparse as sp

from cvxpar.losses import Huber, LeastSquares, Logistic
from cvxpar.losses import _accurate as acc


def _badly_scaled(rng, n: int, d: int, spread: float) -> np.ndarray:
    A = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-spread, spread, (n, d))
    A[rng.random((n, d)) < 0.2] = 0.0
    return A


def _exact_product(A, v) -> list[Fraction]:
    return [sum((Fraction(float(a)) * Fraction(float(b)) for a, b in zip(row, v, strict=True)), Fraction(0))
            for row in A]


@pytest.mark.parametrize("layout", ["C", "F", "csc"])
@pytest.mark.parametrize("transpose", [False, True])
def test_dot2_products_are_within_their_bound_of_the_exact_product(layout, transpose):
    rng = np.random.default_rng(1)
    A = _badly_scaled(rng, 12, 9, 6.0)
    v = rng.standard_normal(A.shape[0] if transpose else A.shape[1]) * 10.0 ** rng.uniform(-6, 6)
    data = {"C": np.ascontiguousarray(A), "F": np.asfortranarray(A), "csc": sp.csc_array(A)}[layout]
    zero = np.zeros_like(v)
    p, s, absv, _ = acc.product(data, v, zero, zero, transpose)
    exact = _exact_product(A.T if transpose else A, v)
    m = len(v)
    for i, e in enumerate(exact):
        err = abs(Fraction(float(p[i])) + Fraction(float(s[i])) - e)
        assert err <= Fraction(acc.gamma(m) ** 2 * float(absv[i])), (i, float(err))
    # the naive product is much worse on these data: the pair is not just the plain product
    naive = (A.T if transpose else A) @ v
    naive_err = max(abs(Fraction(float(naive[i])) - e) for i, e in enumerate(exact))
    pair_err = max(abs(Fraction(float(p[i])) + Fraction(float(s[i])) - e) for i, e in enumerate(exact))
    assert pair_err < naive_err


def test_a_double_double_vector_is_multiplied_exactly_enough():
    rng = np.random.default_rng(2)
    A = _badly_scaled(rng, 8, 6, 4.0)
    vh = rng.standard_normal(6) * 1e8
    vl = vh * 2.0**-60  # below vh's last place: lost if vh + vl were rounded first
    e = np.abs(rng.standard_normal(6))
    p, s, absv, abse = acc.product(A, vh, vl, e, transpose=False)
    v = [Fraction(float(a)) + Fraction(float(b)) for a, b in zip(vh, vl, strict=True)]
    for i, row in enumerate(A):
        exact = sum((Fraction(float(a)) * vk for a, vk in zip(row, v, strict=True)), Fraction(0))
        err = abs(Fraction(float(p[i])) + Fraction(float(s[i])) - exact)
        assert err <= Fraction(acc.gamma(12) ** 2 * float(absv[i]))
    assert np.allclose(abse, np.abs(A) @ e, rtol=1e-14)


def _exact_gradient(kind: str, A, t, x, M: float = 0.5) -> list:
    """The exact gradient: rational for least squares and Huber, 60-digit mpmath for logistic."""
    z = _exact_product(A, x)
    tf = [Fraction(float(v)) for v in t]
    if kind == "ls":
        w = [zi - ti for zi, ti in zip(z, tf, strict=True)]
    elif kind == "huber":
        w = [min(max(zi - ti, -Fraction(M)), Fraction(M))
             for zi, ti in zip(z, tf, strict=True)]
    else:
        with mpmath.workdps(60):
            w = [-mpmath.mpf(ti.numerator) / ti.denominator
                 / (1 + mpmath.exp(mpmath.mpf(ti.numerator) / ti.denominator * mpmath.mpf(zi.numerator) / zi.denominator))
                 for zi, ti in zip(z, tf, strict=True)]
            return [sum(mpmath.mpf(float(A[i, j])) * w[i] for i in range(A.shape[0])) for j in range(A.shape[1])]
    return [sum((Fraction(float(A[i, j])) * w[i] for i in range(A.shape[0])), Fraction(0)) for j in range(A.shape[1])]


@pytest.mark.parametrize("kind", ["ls", "huber", "logistic"])
@pytest.mark.parametrize("sparse", [False, True])
def test_the_accurate_gradient_is_within_its_rigorous_bound_of_the_exact_gradient(kind, sparse):
    rng = np.random.default_rng(3)
    n, d = 10, 7
    A = _badly_scaled(rng, n, d, 4.0)
    x = rng.standard_normal(d) * 10.0 ** rng.uniform(-4, 4, d)
    t = A @ x + rng.standard_normal(n) * 1e-3  # a close fit: z - t cancels, where plain float64 loses digits
    data = sp.csc_array(A) if sparse else A
    if kind == "ls":
        loss = LeastSquares(data, t)
    elif kind == "huber":
        loss = Huber(data, t, M=0.5)
    else:
        t = np.where(rng.random(n) < 0.5, 1.0, -1.0)
        x = x * 1e-6
        loss = Logistic(data, t)
    g, err = loss.accurate_gradient(x)
    exact = _exact_gradient(kind, A, t, x)
    plain = np.asarray(loss.grad(x))
    with mpmath.workdps(60):
        actual = [abs(mpmath.mpf(float(g[j])) - (mpmath.mpf(e.numerator) / e.denominator if isinstance(e, Fraction) else e))
                  for j, e in enumerate(exact)]
        plain_err = max(abs(mpmath.mpf(float(plain[j])) - (mpmath.mpf(e.numerator) / e.denominator
                                                            if isinstance(e, Fraction) else e))
                        for j, e in enumerate(exact))
    for j in range(d):
        assert actual[j] <= err[j], (j, float(actual[j]), err[j])
    # the bound is a few units in the last place of g (plus the dh evaluation), far below the plain error estimate
    bound, estimate = loss.gradient_rounding(x)
    assert np.all(err <= 1e-3 * np.asarray(estimate()) + 1e-14 * np.abs(g) + 1e-300)
    if kind != "logistic":
        assert plain_err > 10 * float(max(actual)), (float(plain_err), float(max(actual)))


def test_data_without_a_host_array_give_no_accurate_gradient():
    from scipy.sparse.linalg import aslinearoperator

    A = np.eye(3)
    assert LeastSquares(aslinearoperator(A), np.ones(3)).accurate_gradient(np.ones(3)) is None
    assert LeastSquares(A, np.ones(3)).accurate_gradient(np.ones(3)) is not None


def test_float32_data_are_multiplied_as_their_exact_float64_values():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    x = rng.standard_normal(4).astype(np.float32)
    g, err = LeastSquares(A, b).accurate_gradient(x)
    exact = _exact_gradient("ls", A.astype(np.float64), b.astype(np.float64), x.astype(np.float64))
    assert all(abs(Fraction(float(g[j])) - exact[j]) <= Fraction(float(err[j])) for j in range(4))
    assert float(np.max(err)) < 1e-14 * float(np.max(np.abs(g)))
