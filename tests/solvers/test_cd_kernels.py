"""The compiled CD epoch: one kernel for dense and sparse A (same iterates), each coordinate step the exact
1-D minimizer (brute force on a fine grid), the working-set penalty equal to psi's own evaluation, the
compiled KKT scores equal to psi's subdifferential distance and to one-sided difference quotients."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from par_strategies import pars, reference_psi

import cvxpar
from cvxpar.losses import LeastSquares
from cvxpar.prox import pieces
from cvxpar.solvers._cd_kernels import Columns, epochs, penalty_at, scores


def _piece_args(psi):
    p = pieces(psi)
    return (p.slope, p.lo, p.hi, p.anchor_x, p.anchor_value, p.end_x, p.end_value)


def _run(A, b, psi, lam, n_epochs, wt=None, record=0):
    cols = Columns(LeastSquares(A, b).op)
    d = A.shape[1]
    x = np.zeros(d)
    r = np.array(b, dtype=float)
    wt = np.zeros(0) if wt is None else wt
    curv = cols.sq_norms if wt.size == 0 else np.asarray((A.multiply(A) if sp.issparse(A) else A * A).T @ wt).ravel()
    xs, rs = np.empty((d, record)), np.empty((A.shape[0], record))
    e = np.zeros(0)
    epochs(*cols.args, r, x, np.arange(d), curv, wt, np.array([lam]), *_piece_args(psi), psi.is_convex, e, e,
           n_epochs, xs, rs)
    return x, r, xs, rs


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), weighted=st.booleans())
def test_dense_and_sparse_columns_give_the_same_iterates(seed, weighted):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((12, 9)) * (rng.random((12, 9)) < 0.5)
    b = rng.standard_normal(12)
    wt = rng.uniform(0.5, 2.0, 12) if weighted else None
    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.3, 5))
    xd, rd, _, _ = _run(A, b, psi, 0.7, 3, wt)
    xs, rs, _, _ = _run(sp.csc_array(A), b, psi, 0.7, 3, wt)
    assert np.allclose(xd, xs, rtol=1e-12, atol=1e-12)
    assert np.allclose(rd, rs, rtol=1e-12, atol=1e-12)


def test_sq_norms_match_numpy_dense_and_sparse():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((7, 11)) * (rng.random((7, 11)) < 0.4)
    for data in (A, sp.csc_array(A)):
        assert np.allclose(Columns(LeastSquares(data, np.zeros(7)).op).sq_norms, (A * A).sum(0), rtol=1e-14)


@settings(max_examples=30, deadline=None)
@given(psi=pars(), seed=st.integers(0, 2**31 - 1))
def test_each_coordinate_step_is_the_exact_minimizer_and_the_residual_stays_b_minus_Ax(psi, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((6, 1))
    b = rng.standard_normal(6)
    lam = 0.8
    x, r, _, _ = _run(A, b, psi, lam, 1)
    assert np.allclose(r, b - A @ x, atol=1e-12)
    lo, hi = psi.domain
    grid = np.linspace(max(lo, -12.0), min(hi, 12.0), 200_001)
    f = 0.5 * ((A[:, :1] * grid - b[:, None]) ** 2).sum(0) + lam * reference_psi(psi, grid)
    f_x = 0.5 * float(r @ r) + lam * float(reference_psi(psi, x)[0])
    assert f_x <= f.min() + 1e-9 * max(1.0, abs(f.min()))


def test_recorded_iterates_are_the_epoch_ends():
    rng = np.random.default_rng(2)
    A, b = rng.standard_normal((8, 5)), rng.standard_normal(8)
    psi = cvxpar.pars.l1()
    _, _, xs, rs = _run(A, b, psi, 0.5, 3, record=3)
    for e in range(3):
        x_e, r_e, _, _ = _run(A, b, psi, 0.5, e + 1)
        assert np.array_equal(xs[:, e], x_e) and np.array_equal(rs[:, e], r_e)


@settings(max_examples=60, deadline=None)
@given(psi=pars(), seed=st.integers(0, 2**31 - 1))
def test_penalty_at_matches_the_reference_psi(psi, seed):
    rng = np.random.default_rng(seed)
    lo, hi = psi.domain
    q = psi.breakpoints
    x = np.concatenate((rng.uniform(q[0] - 3, q[-1] + 3, 20), q))
    x = np.clip(x, lo, hi)
    lam = rng.uniform(0.0, 2.0, x.size)
    lam[::5] = 0.0
    ws = np.arange(x.size)
    ref = float(np.sum(np.where(lam > 0, lam * reference_psi(psi, x), 0.0)))
    got = penalty_at(x, ws, lam, *_piece_args(psi))
    assert abs(got - ref) <= 1e-9 * max(1.0, float(np.sum(np.abs(lam * reference_psi(psi, x)))))


def test_penalty_at_is_inf_outside_the_domain():
    psi = cvxpar.PAR.from_slopes(np.array([-1.0, 1.0]), np.array([-np.inf, 0.0, np.inf]))  # the indicator of [-1, 1]
    assert penalty_at(np.array([1.5]), np.array([0]), np.array([1.0]), *_piece_args(psi)) == np.inf
    assert penalty_at(np.array([0.5]), np.array([0]), np.array([1.0]), *_piece_args(psi)) < np.inf


def _score_args(psi, lam, lower, upper):
    return (np.atleast_1d(lam), psi.breakpoints.astype(float), psi.slopes.astype(float), *map(float, psi.domain),
            np.atleast_1d(np.asarray(lower, float)), np.atleast_1d(np.asarray(upper, float)))


@settings(max_examples=60, deadline=None)
@given(psi=pars(), seed=st.integers(0, 2**31 - 1), bounds=st.sampled_from(["none", "scalar", "per-coordinate"]))
def test_scores_match_the_subdifferential_distance(psi, seed, bounds):
    rng = np.random.default_rng(seed)
    q = psi.breakpoints
    x = np.concatenate((rng.uniform(q[0] - 3, q[-1] + 3, 30), q, [q[0] - 1.0, q[-1] + 1.0]))
    d = x.size
    g = rng.standard_normal(d) * 3
    lam = rng.uniform(0.0, 2.0, d)
    lam[::7] = 0.0
    if bounds == "none":
        lower, upper = -np.inf, np.inf
    elif bounds == "scalar":
        lower, upper = float(np.median(x)) - 1.0, float(np.median(x)) + 1.0
        x[:4] = [lower, upper, lower - 0.5, upper + 0.5]
    else:
        lower, upper = x - rng.uniform(0, 1, d) * (rng.random(d) < 0.7), x + rng.uniform(0, 1, d) * (rng.random(d) < 0.7)
    ref = np.asarray(psi.subdifferential_distance(x, -g, lam, lower, upper))
    idx = rng.permutation(d)[: d // 2]
    for which, grad in ((None, g), (idx, g[idx])):
        got = scores(x, grad, np.arange(d) if which is None else which, *_score_args(psi, lam, lower, upper))
        sel = np.arange(d) if which is None else which
        inside = (x[sel] >= psi.domain[0]) & (x[sel] <= psi.domain[1])
        assert np.all(got[~inside] == np.inf)  # outside psi's domain the subdifferential is empty
        want = ref[sel]
        assert np.array_equal(np.isinf(got), np.isinf(want))  # also where both bounds sit on x outside it
        got, want = got[inside], want[inside]
        fin = np.isfinite(want)
        assert np.allclose(got[fin], want[fin], rtol=1e-13, atol=1e-13)


@settings(max_examples=40, deadline=None)
@given(psi=pars(walls=False), seed=st.integers(0, 2**31 - 1))
def test_scores_match_one_sided_difference_quotients(psi, seed):
    # dpsi(x) = [min(psi'_-(x), psi'_+(x)), max(...)] from difference quotients of the reference psi over a step
    # shorter than the gap between breakpoints (psi is affine between them, so the quotients are exact slopes)
    rng = np.random.default_rng(seed)
    q = psi.breakpoints
    h = 1e-3 * min(1.0, float(np.diff(q).min(initial=1.0)))
    x = rng.uniform(q[0] - 2, q[-1] + 2, 20)
    x = np.concatenate((x[np.abs(x[:, None] - q[None, :]).min(1) > 2 * h], q))  # off a breakpoint by > h, or on one
    left = (reference_psi(psi, x) - reference_psi(psi, x - h)) / h
    right = (reference_psi(psi, x + h) - reference_psi(psi, x)) / h
    lam = rng.uniform(0.1, 2.0, x.size)
    g = rng.standard_normal(x.size) * 2
    c = -g
    want = np.maximum.reduce([lam * np.minimum(left, right) - c, c - lam * np.maximum(left, right), np.zeros_like(c)])
    got = scores(x, g, np.arange(x.size), *_score_args(psi, lam, -np.inf, np.inf))
    assert np.allclose(got, want, rtol=1e-6, atol=1e-6 * max(1.0, float(np.abs(psi.slopes).max())))
