"""The dense simplex for the certificate's multiplier LP (cvxpar.constraints._small_lp) against SciPy's HiGHS."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from cvxpar.constraints import _small_lp


def _largest(P, beta, y, n_eq):
    y = y.copy()
    y[n_eq:] = np.maximum(y[n_eq:], 0.0)
    return max(float(np.max(P @ y - beta)), 0.0)


def _highs_value(P, beta, n_eq):
    k = P.shape[1]
    res = linprog(np.r_[np.zeros(k), 1.0], A_ub=np.hstack([P, -np.ones((P.shape[0], 1))]), b_ub=beta,
                  bounds=[(None, None)] * n_eq + [(0, None)] * (k - n_eq) + [(0, None)], method="highs")
    assert res.status == 0
    return _largest(P, beta, res.x[:k], n_eq)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 9), M=st.integers(1, 300), eq_share=st.floats(0.0, 1.0),
       scale=st.floats(-3.0, 3.0), level=st.integers(0, 10), degenerate=st.booleans())
def test_the_dense_simplex_reaches_highs_optimum(seed, k, M, eq_share, scale, level, degenerate):
    """min s over (y, s): P y - s <= beta, y >= 0 past n_eq, s >= 0: the simplex's y is a feasible multiplier (signs
    exact) whose largest excess max(P y - beta, 0) is at most HiGHS's (up to rounding; HiGHS solves to a 1e-7
    tolerance), and its s is that excess, for random, integer (degenerate ties) and repeated rows, optima from 0 up,
    free and sign-constrained y."""
    rng = np.random.default_rng(seed)
    n_eq = int(round(eq_share * k))
    P = rng.standard_normal((M, k)) * 10.0**scale
    beta = rng.standard_normal(M) * 10.0**-level
    if degenerate:
        P = np.round(P)
        P[M // 2:] = P[: M - M // 2]  # repeated rows
        beta = np.abs(np.round(beta * 10.0**level))
    found = _small_lp.solve(P, beta, n_eq)
    assert found is not None
    y, s = found
    assert y.shape == (k,) and np.all(np.isfinite(y))
    ours, ref = _largest(P, beta, y, n_eq), _highs_value(P, beta, n_eq)
    size = 1.0 + float(np.max(np.abs(beta))) + float(np.max(np.abs(P))) * (1.0 + float(np.max(np.abs(y))))
    assert ours <= ref + 1e-12 * size
    assert abs(s - ours) <= 1e-12 * size


def test_a_failed_simplex_falls_back_to_highs(monkeypatch):
    """Where the dense simplex gives up (None: its pivot limit, a singular basis), the multiplier LP runs HiGHS."""
    import cvxpar.constraints.feasible_set as fs

    rng = np.random.default_rng(3)
    G, c = rng.standard_normal((3, 50)), rng.standard_normal(50)
    lo = c - rng.uniform(0.0, 1.0, 50)
    hi = lo + rng.uniform(0.0, 1.0, 50)
    y_dense, s_dense = fs._lp_on(c, lo, hi, G, 1, with_value=True)
    monkeypatch.setattr(_small_lp, "solve", lambda *a: None)
    y_highs, s_highs = fs._lp_on(c, lo, hi, G, 1, with_value=True)
    assert np.all(y_highs[1:] >= 0.0)
    assert abs(s_highs - s_dense) <= 1e-6 * (1.0 + s_dense)
