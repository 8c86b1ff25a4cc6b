"""Anderson extrapolation: the least-norm affine combination of the differences (against a least-squares
reference), the companion vector extrapolated with the same weights, a large gain on an iteration with two
slow modes, None on a degenerate history."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvxpar.solvers.anderson import DEFAULT_K, extrapolate


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), dim=st.integers(DEFAULT_K, 12))
def test_weights_give_the_least_norm_affine_combination_of_the_differences(seed, dim):
    rng = np.random.default_rng(seed)
    M = rng.uniform(-0.4, 0.4, (dim, dim))  # a contraction: x <- M x + c
    c = rng.standard_normal(dim)
    B, e = rng.standard_normal((3, dim)), rng.standard_normal(3)  # the companion r = B x + e
    xs = [rng.standard_normal(dim)]
    for _ in range(DEFAULT_K):
        xs.append(M @ xs[-1] + c)
    X = np.stack(xs, axis=1)
    out = extrapolate(X, B @ X + e[:, None])
    assert out is not None
    x_e, r_e = out
    # independent reference: min ||U w|| over w with sum(w) = 1, as least squares in w = e_K + N t
    U = np.diff(X, axis=1)
    N = np.vstack((np.eye(DEFAULT_K - 1), -np.ones((1, DEFAULT_K - 1))))
    last = np.zeros(DEFAULT_K)
    last[-1] = 1.0
    t = np.linalg.lstsq(U @ N, -U @ last, rcond=None)[0]
    w = last + N @ t
    assert np.allclose(x_e, X[:, 1:] @ w, atol=1e-7 * max(1.0, np.abs(x_e).max()))
    assert np.allclose(r_e, B @ x_e + e, atol=1e-8 * max(1.0, np.abs(r_e).max()))


def test_extrapolation_is_closer_to_the_limit_than_the_last_iterate_in_high_dimension():
    rng = np.random.default_rng(0)
    dim = 50
    M = np.diag(np.concatenate(([0.99, 0.98], rng.uniform(0.0, 0.3, dim - 2))))
    c = rng.standard_normal(dim)
    x = rng.standard_normal(dim)
    for _ in range(10):  # the fast modes die out; the two slow ones remain
        x = M @ x + c
    X = [x]
    for _ in range(DEFAULT_K):
        X.append(M @ X[-1] + c)
    X = np.stack(X, axis=1)
    limit = np.linalg.solve(np.eye(dim) - M, c)
    x_e, _ = extrapolate(X, X)
    assert np.linalg.norm(x_e - limit) < 0.1 * np.linalg.norm(X[:, -1] - limit)


def test_a_stationary_history_gives_no_extrapolation():
    X = np.ones((4, DEFAULT_K + 1))
    assert extrapolate(X, X) is None


def test_needs_two_iterates():
    with pytest.raises(ValueError, match="at least 2 iterates"):
        extrapolate(np.ones((3, 1)), np.ones((2, 1)))
