"""cvxpar.prox: the exact proximal map of t*psi, against references that share no code with it.

References: a dense grid plus a bounded scalar minimization (SciPy) on every piece, evaluated
through ``par_strategies.reference_psi`` (np.interp); the Moreau identity through the
conjugate PAR; firm nonexpansiveness, monotonicity and the optimality condition
(v - x)/t in the Clarke subdifferential at x.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from par_strategies import pars, prox_objective, reals, reference_psi
from scipy.optimize import minimize_scalar

import cvxpar
from cvxpar import PAR, _prox_kernels
from cvxpar.prox import prox_table

INF = np.inf
t_scalar = st.one_of(st.just(0.0), reals(1e-3, 8.0), st.sampled_from([0.5, 1.0, 2.0]))


def probe_points(psi: PAR, t, extra) -> np.ndarray:
    """Random points plus the breakpoints and the points q_j + t*s where the prox changes regime."""
    q, s = psi.breakpoints, psi.slopes
    t_max = float(np.max(t))
    finite = s[np.isfinite(s)]
    shifted = (q[:, None] + t_max * finite[None, :]).ravel()
    return np.concatenate((np.asarray(extra, dtype=np.float64), q, shifted, 0.5 * (q[1:] + q[:-1])))


def brute_force_min(psi: PAR, v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """min_x t*psi(x) + (x - v)^2/2 per element: a dense grid, the breakpoints, and SciPy's
    bounded minimizer on every piece (a window around the data stands in for the outer rays)."""
    q, s = psi.breakpoints, psi.slopes
    lo_dom, hi_dom = psi.domain
    s_max = float(np.max(np.abs(s[np.isfinite(s)]), initial=0.0))
    best = np.empty(v.shape)
    for i, (vi, ti) in enumerate(zip(v, t, strict=True)):
        reach = ti * s_max + 1.0
        left = max(lo_dom, min(q[0], vi) - reach)
        right = min(hi_dom, max(q[-1], vi) + reach)
        grid = np.concatenate((np.linspace(left, right, 4001), q[(q >= lo_dom) & (q <= hi_dom)]))
        values = [np.min(prox_objective(psi, grid, vi, ti))]
        edges = np.concatenate(([left], q[(q > left) & (q < right)], [right]))
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            res = minimize_scalar(
                lambda x, vi=vi, ti=ti: float(prox_objective(psi, x, vi, ti)),
                bounds=(a, b),
                method="bounded",
                options={"xatol": 1e-12},
            )
            values.append(res.fun)
        best[i] = min(values)
    return best


def assert_global_min(psi: PAR, v, t, x) -> None:
    v = np.asarray(v, dtype=np.float64)
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), v.shape).ravel()
    v = v.ravel()
    x = np.asarray(x, dtype=np.float64).ravel()
    lo, hi = psi.domain
    assert np.all((x >= lo) & (x <= hi)), "prox left the domain"
    got = prox_objective(psi, x, v, t)
    ref = brute_force_min(psi, v, t)
    tol = 1e-9 * (1.0 + np.abs(ref) + t * np.abs(reference_psi(psi, x)))
    bad = got > ref + tol
    assert not bad.any(), f"prox not a global minimizer at v={v[bad]}, t={t[bad]}: {got[bad]} > {ref[bad]}"


# ---------------------------------------------------------------------- global optimality
@settings(max_examples=40)
@given(pars(), t_scalar, st.lists(reals(-25, 25), min_size=1, max_size=4))
def test_prox_is_global_minimizer_scalar_t(psi, t, extra):
    v = probe_points(psi, t, extra)
    v = v[:: max(1, v.size // 16)]  # SciPy per piece per element is slow; the enumeration test is denser
    assert_global_min(psi, v, t, psi.prox(v, t))


@settings(max_examples=40)
@given(pars(), st.lists(st.tuples(reals(-25, 25), reals(0.0, 8.0)), min_size=1, max_size=8))
def test_prox_is_global_minimizer_per_element_t(psi, pairs):
    v = np.array([p[0] for p in pairs])
    t = np.array([p[1] for p in pairs])
    assert_global_min(psi, v, t, psi.prox(v, t))


@given(pars(max_breakpoints=12), t_scalar, st.lists(reals(-25, 25), min_size=1, max_size=20))
def test_global_optimality_by_enumeration(psi, t, extra):
    """Faster and denser: every element against the best breakpoint and the best point of a fine grid."""
    v = probe_points(psi, t, extra)
    x = psi.prox(v, t)
    q = psi.breakpoints
    lo, hi = psi.domain
    left = max(lo, min(q[0], v.min()) - 10.0 * (1 + t))
    right = min(hi, max(q[-1], v.max()) + 10.0 * (1 + t))
    grid = np.concatenate((np.linspace(left, right, 20001), q))
    ref = np.min(prox_objective(psi, grid[None, :], v[:, None], t), axis=1)
    got = prox_objective(psi, x, v, t)
    assert np.all(got <= ref + 1e-9 * (1 + np.abs(ref)))


# ---------------------------------------------------------------------- dtypes and shapes
@pytest.mark.parametrize("shape", [(), (7,), (3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("per_element_t", [False, True])
def test_dtype_and_shape(shape, dtype, per_element_t):
    rng = np.random.default_rng(0)
    grid = cvxpar.grids.uniform(0.5, 7)
    for psi in (cvxpar.pars.ridge(grid), cvxpar.pars.sawtooth(grid), cvxpar.pars.staircase(grid), cvxpar.pars.parq(grid)):
        v = np.asarray(3 * rng.standard_normal(shape), dtype=dtype)
        t = rng.uniform(0, 2, shape) if per_element_t else 0.7
        x = psi.prox(v, t)
        assert isinstance(x, np.ndarray) and x.shape == shape and x.dtype == dtype
        expected = psi.prox(v.astype(np.float64), t).astype(dtype)  # computed in float64, then rounded
        np.testing.assert_array_equal(x, expected)
        assert_global_min(psi, v.astype(np.float64), t, psi.prox(v.astype(np.float64), t))


def test_python_scalars_lists_ints_and_noncontiguous():
    psi = PAR([0.0], [0.0], -1.0, 1.0)
    assert psi.prox(3.0) == 2.0 and isinstance(psi.prox(3.0), np.floating)
    assert psi.prox(np.float32(3.0)).dtype == np.float32 and np.ndim(psi.prox(np.float32(3.0))) == 0
    assert psi(np.float32(3.0)).dtype == np.float32
    np.testing.assert_array_equal(psi.prox([3, -3, 0]), [2.0, -2.0, 0.0])
    np.testing.assert_array_equal(psi.prox(np.array([3, -3])), [2.0, -2.0])
    v = np.arange(12.0).reshape(3, 4)[:, ::2]
    np.testing.assert_array_equal(psi.prox(v, 1.5), np.maximum(v - 1.5, 0.0))
    t = np.array([[0.0], [1.0], [2.0]])  # broadcasts along rows
    np.testing.assert_array_equal(psi.prox(v, t), np.maximum(v - t, 0.0))


# ---------------------------------------------------------------------- convex-analysis identities
def conjugate_par(psi: PAR) -> PAR:
    """psi* as a PAR (convex psi): kinks at the distinct finite slopes, slopes the breakpoints."""
    q, s = psi.breakpoints, psi.slopes
    u = np.unique(s[np.isfinite(s)])
    if u.size == 0:
        u = np.array([0.0])
    vals = np.max(u[:, None] * q[None, :] - psi.values[None, :], axis=1)
    left = q[0] if s[0] == -INF else -INF
    right = q[-1] if s[-1] == INF else INF
    return PAR(u, vals, left, right)


@given(pars("convex"), st.floats(0.05, 8.0), st.lists(reals(-25, 25), min_size=1, max_size=20))
def test_moreau_identity(psi, t, extra):
    v = probe_points(psi, t, extra)
    conj = conjugate_par(psi)
    u = np.linspace(-20, 20, 41)
    np.testing.assert_allclose(conj(u), psi.conjugate(u), rtol=1e-9, atol=1e-9)
    total = psi.prox(v, t) + t * conj.prox(v / t, 1.0 / t)
    np.testing.assert_allclose(total, v, rtol=1e-9, atol=1e-9 * (1 + t))


@given(pars("convex"), t_scalar, st.lists(reals(-25, 25), min_size=2, max_size=30))
def test_firm_nonexpansiveness(psi, t, vs):
    v = np.asarray(vs)
    u = v[::-1].copy()
    pu, pv = psi.prox(u, t), psi.prox(v, t)
    lhs = (pu - pv) ** 2
    rhs = (pu - pv) * (u - v)
    assert np.all(lhs <= rhs + 1e-12 * (1 + np.abs(u) + np.abs(v)) ** 2)


@given(pars(), t_scalar, st.lists(reals(-25, 25), min_size=1, max_size=30))
def test_monotone_for_every_curvature(psi, t, vs):
    v = np.sort(probe_points(psi, t, vs))
    x = psi.prox(v, t)
    assert np.all(np.diff(x) >= 0)


@given(pars(), st.floats(1e-3, 8.0), st.lists(reals(-25, 25), min_size=1, max_size=30))
def test_optimality_condition(psi, t, vs):
    v = probe_points(psi, t, vs)
    x = psi.prox(v, t)
    lo, hi = psi.subdifferential(x)
    g = (v - x) / t
    tol = 1e-9 * (1 + np.abs(v) + np.abs(x)) / t
    assert np.all((lo - tol <= g) & (g <= hi + tol))


@given(pars(), st.floats(0.01, 4.0))
def test_scalar_and_per_element_t_agree(psi, t):
    v = np.linspace(-20, 20, 801)
    x_scalar = psi.prox(v, t)
    x_array = psi.prox(v, np.full_like(v, t))
    got = prox_objective(psi, x_array, v, t)
    ref = prox_objective(psi, x_scalar, v, t)
    assert np.all(np.abs(got - ref) <= 1e-9 * (1 + np.abs(ref)))
    if psi.is_convex:
        np.testing.assert_allclose(x_array, x_scalar, rtol=0, atol=1e-12 * (1 + np.abs(v).max()))


# ---------------------------------------------------------------------- hand-made cases
def test_sawtooth_midpoints_tie_to_smaller_abs():
    psi = cvxpar.pars.sawtooth([-2.0, -1.0, 0.0, 1.0, 2.0])
    v = np.array([-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_array_equal(psi.prox(v, 2.0), [-1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(psi.prox(v, np.full(4, 2.0)), [-1.0, 0.0, 0.0, 1.0])


def test_symmetric_tie_goes_to_smaller_x():
    psi = PAR([-1.0, 0.0, 1.0], [-1.0, 0.0, -1.0], -INF, INF)  # -|x| in [-1, 1]: x = +/-t tie at v = 0
    assert psi.prox(0.0, 0.5) == -0.5
    assert psi.prox(0.0, 2.0) == -1.0
    np.testing.assert_array_equal(psi.prox(np.zeros(3), np.array([0.5, 2.0, 0.25])), [-0.5, -1.0, -0.25])
    assert psi.prox(0.0, 0.0) == 0.0


def test_t_zero_projects_onto_the_domain():
    rng = np.random.default_rng(1)
    v = rng.uniform(-5, 5, 50)
    for psi in (
        PAR([-1.0, 2.0], [3.0, -1.0], -INF, INF),
        PAR([-1.0, 0.0, 2.0], [3.0, 5.0, -1.0], -INF, 4.0),
        cvxpar.pars.sawtooth([0.0, 1.0, 2.0]),
    ):
        lo, hi = psi.domain
        np.testing.assert_array_equal(psi.prox(v, 0.0), np.clip(v, lo, hi))
        np.testing.assert_array_equal(psi.prox(v, np.zeros_like(v)), np.clip(v, lo, hi))


def test_nan_and_infinite_inputs():
    for psi in (PAR([0.0], [0.0], -1.0, 1.0), cvxpar.pars.sawtooth([-1.0, 0.0, 1.0])):
        x = psi.prox(np.array([np.nan, 3.0, INF, -INF]), 0.5)
        assert np.isnan(x[0]) and x[1] == psi.prox(3.0, 0.5)
        np.testing.assert_array_equal(x[2:], [INF, -INF])
        assert np.isnan(psi.prox(np.array([np.nan]), np.array([0.5]))[0])
    boxed = PAR([-1.0, 1.0], [0.0, 0.0], -INF, INF)
    np.testing.assert_array_equal(boxed.prox(np.array([INF, -INF, 0.3]), 0.5), [1.0, -1.0, 0.3])


def test_walls_clip():
    psi = cvxpar.pars.parq([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(psi.prox(np.array([-100.0, 100.0, 1.2]), 0.1), [-1.0, 1.0, 1.0])
    one_sided = PAR([0.0], [0.0], -INF, 1.0)  # x >= 0, slope 1: prox = max(v - t, 0)
    v = np.linspace(-3, 3, 61)
    np.testing.assert_allclose(one_sided.prox(v, 0.5), np.maximum(v - 0.5, 0.0), atol=1e-15)


def test_single_breakpoint():
    v = np.linspace(-3, 3, 61)
    absolute = PAR([0.0], [0.0], -1.0, 1.0)
    np.testing.assert_allclose(absolute.prox(v, 0.7), np.sign(v) * np.maximum(np.abs(v) - 0.7, 0.0), atol=1e-15)
    point = PAR([2.0], [3.0], -INF, INF)
    np.testing.assert_array_equal(point.prox(v, 0.7), np.full_like(v, 2.0))
    tent = PAR([0.0], [0.0], 1.0, -1.0)  # -|x|: pushes away from 0; tie at v = 0 goes to -t
    np.testing.assert_allclose(tent.prox(v, 0.5), v + 0.5 * np.where(v > 0, 1.0, -1.0), atol=1e-15)


def test_convex_closed_form_plateaus_are_exact():
    """PARQ eq. (7): plateau [q_k + t s_k, q_k + t s_{k+1}] -> q_k exactly, shifts in between."""
    q = np.array([-1.0, 0.1, 0.3, 2.0])
    psi = PAR.from_slopes(q, [-2.0, -0.5, 0.25, 1.0, 3.0])
    t = 0.3
    s = psi.slopes
    for k in range(q.size):
        plateau = np.linspace(q[k] + t * s[k], q[k] + t * s[k + 1], 11)
        assert np.all(psi.prox(plateau[1:-1], t) == q[k])  # exact inside; the rounded ends are within an ulp
        np.testing.assert_allclose(psi.prox(plateau[[0, -1]], t), q[k], rtol=0, atol=1e-15)
        middle = 0.5 * (q[k] + t * s[k + 1] + (q[k + 1] if k + 1 < q.size else q[k] + 1) + t * s[k + 1])
        assert psi.prox(middle, t) == pytest.approx(middle - t * s[k + 1], abs=1e-14)


@pytest.mark.parametrize("bad_t", [-1.0, np.nan, INF, -INF])
def test_bad_scalar_t(bad_t):
    psi = PAR([0.0], [0.0], -1.0, 1.0)
    with pytest.raises(ValueError, match="t must be a finite nonnegative number"):
        psi.prox(np.ones(3), bad_t)


@pytest.mark.parametrize("bad_t", [[0.5, -0.1], [0.5, np.nan], [INF, 0.0]])
def test_bad_array_t(bad_t):
    psi = PAR([0.0], [0.0], -1.0, 1.0)
    with pytest.raises(ValueError, match="t must be finite and nonnegative everywhere"):
        psi.prox(np.ones(2), np.array(bad_t))


def test_t_shape_mismatch():
    psi = PAR([0.0], [0.0], -1.0, 1.0)
    with pytest.raises(ValueError, match=r"does not broadcast to v's shape \(3,\)"):
        psi.prox(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="does not broadcast"):
        psi.prox(np.ones(3), np.ones((2, 3)))


# ---------------------------------------------------------------------- kernel paths
@pytest.mark.parametrize("m", [1, 2, 5, 40, 300])
@pytest.mark.parametrize("kind", ["convex", "nonconvex"])
def test_large_arrays_parallel_kernel_and_bucket_widths(m, kind):
    """Parallel (>= PARALLEL_MIN_SIZE) and serial kernels, crowded and sparse buckets: same answer."""
    rng = np.random.default_rng(m)
    q = np.sort(np.concatenate((rng.uniform(-3, 3, m), 1e-9 * np.arange(min(m, 12)))))  # a crowded cluster
    q = np.unique(q)
    if kind == "convex":
        psi = PAR.from_slopes(q, np.sort(rng.uniform(-4, 4, q.size + 1)))
    else:
        psi = PAR.from_slopes(q, rng.uniform(-4, 4, q.size + 1))
    n = _prox_kernels.PARALLEL_MIN_SIZE + 17
    v = np.concatenate((rng.uniform(-8, 8, n - q.size), q))
    t = 0.4
    x = psi.prox(v, t)
    parts = np.concatenate([psi.prox(chunk, t) for chunk in np.array_split(v, 64)])  # serial kernel
    np.testing.assert_array_equal(x, parts)
    table = prox_table(psi, t)
    a = np.searchsorted(table.thresholds, v, side="left")  # plain binary search
    if table.exact:
        np.testing.assert_array_equal(x, np.clip(v - table.shift[a], table.lo[a], table.hi[a]))
    sample = rng.choice(n, 2000, replace=False)
    grid = np.concatenate((np.linspace(-12, 12, 20001), q))
    ref = np.min(prox_objective(psi, grid[None, :], v[sample, None], t), axis=1)
    assert np.all(prox_objective(psi, x[sample], v[sample], t) <= ref + 1e-9 * (1 + np.abs(ref)))
    x_t = psi.prox(v, np.full(n, t))
    got, ref = prox_objective(psi, x_t, v, t), prox_objective(psi, x, v, t)
    assert np.all(np.abs(got - ref) <= 1e-9 * (1 + np.abs(ref)))


def _compiled_prox(psi, v, t):
    """psi.prox(v, t) through the compiled kernels whatever the size of v."""
    with mock.patch.object(cvxpar.prox, "NUMPY_MAX_SIZE", -1):
        return psi.prox(v, t)


def _array_api_prox(psi, v, t):
    """psi.prox(v, t) through the array-API path, as in a process that has not loaded the kernels."""
    with mock.patch.object(cvxpar.prox, "_kernels_loaded", return_value=False):
        return psi.prox(v, t)


@settings(max_examples=80)
@given(
    pars(max_breakpoints=12),
    st.one_of(t_scalar, st.sampled_from([1e-300, 1e154, 1e308, 1.7e308])),
    st.lists(reals(-25, 25), min_size=1, max_size=20),
    st.sampled_from([np.float64, np.float32]),
)
def test_small_arrays_path_returns_the_compiled_kernels_bits(psi, t, extra, dtype):
    """Arrays of at most NUMPY_MAX_SIZE elements take the array-API path until numba is loaded: the same bits as
    the compiled kernels, for scalar and per-element t, every curvature, ties, NaN, +-inf and t over the float range."""
    with np.errstate(over="ignore"):  # t near the float range; 1e300 in float32
        v = np.concatenate((probe_points(psi, t, extra), [np.nan, INF, -INF, 0.0, -0.0, 1e300, -1e300])).astype(dtype)
    assert v.size <= cvxpar.prox.NUMPY_MAX_SIZE
    for tt in (t, np.full(v.shape, t), np.linspace(0.0, t, v.size)):
        small, compiled = _array_api_prox(psi, v, tt), _compiled_prox(psi, v, tt)
        assert small.dtype == compiled.dtype == dtype
        assert small.tobytes() == compiled.tobytes(), (v, tt, small, compiled)


@pytest.mark.parametrize("loaded", [False, True])
def test_the_array_size_and_loaded_kernels_pick_the_path(loaded):
    """Before numba is loaded, NUMPY_MAX_SIZE elements take the array-API path and one more the compiled kernels;
    once the kernels are imported, every NumPy array takes them. Same answers either way."""
    psi = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 2.0)
    rng = np.random.default_rng(5)
    for n in (cvxpar.prox.NUMPY_MAX_SIZE, cvxpar.prox.NUMPY_MAX_SIZE + 1):
        v = rng.normal(size=n) * 3
        with (mock.patch.object(cvxpar.prox, "_kernels_loaded", return_value=loaded),
              mock.patch.object(_prox_kernels, "prox_numpy", wraps=_prox_kernels.prox_numpy) as kernel):
            x = psi.prox(v, 0.7)
        assert kernel.called == (loaded or n > cvxpar.prox.NUMPY_MAX_SIZE)
        np.testing.assert_array_equal(x, np.concatenate([_array_api_prox(psi, c, 0.7) for c in np.array_split(v, 4)]))


def test_convex_slopes_an_ulp_out_of_order_give_one_answer_on_every_path():
    """psi = max(0, x - q2) with slopes recomputed from values (one falls an ulp below 1): at t = 1e154 the
    thresholds q_k + t s_k were out of order, and a binary search and the compiled locator chose different pieces.
    The prox of v = t is q2 (f(x) - f(q2) = (x^2 - q2^2) / 2 > 0 beyond q2, and f falls up to q2), on every path."""
    q2 = 1.715394916
    psi = PAR.from_slopes(np.array([0.0, 1.0, q2, 3.0, 4.0]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0]))
    assert psi.is_convex and np.any(np.diff(psi.slopes) < 0)  # the rounding this test is about
    t = 1e154
    v = np.concatenate((probe_points(psi, t, [0.0]), [t]))
    for tt in (t, np.full(v.shape, t), np.linspace(0.0, t, v.size)):
        small, compiled = _array_api_prox(psi, v, tt), _compiled_prox(psi, v, tt)
        assert small.tobytes() == compiled.tobytes()
    assert _array_api_prox(psi, np.array([t]), t)[0] == _compiled_prox(psi, np.array([t]), t)[0] == q2


def test_search_index_is_exact_on_awkward_thresholds():
    """The bucket locator returns #{thr < v} exactly, also next to thresholds and in crowded buckets."""
    rng = np.random.default_rng(3)
    cases = [
        np.array([]),
        np.array([1.0]),
        np.array([2.0, 2.0, 2.0]),
        np.cumsum(rng.exponential(size=50)),
        np.concatenate((np.zeros(1), 1e-12 * np.arange(1, 30), [1e6])),  # one crowded bucket: bisection
        np.geomspace(1e-8, 1e8, 100),
        np.array([-1e308, 1e308]),  # the span overflows: a single bucket
    ]
    for thr in cases:
        index = _prox_kernels.search_index(thr)
        v = np.concatenate((thr, np.nextafter(thr, -INF), np.nextafter(thr, INF), rng.normal(size=200) * 10, [-INF, INF]))
        args = (index.padded, index.start, index.cells, index.origin, index.inv_width, index.n_buckets, index.width)
        located = [_prox_kernels._locate(vi, *args) for vi in v]
        np.testing.assert_array_equal(located, np.searchsorted(thr, v, side="left"))
        assert _prox_kernels._locate(np.nan, *args) == 0


def test_table_cache_is_bounded():
    psi = PAR([0.0], [0.0], -1.0, 1.0)
    for k in range(200):
        psi.prox(1.0, 0.001 * k)
    assert len(psi._prox_cache) <= 64


# ---------------------------------------------------------------------- other array libraries
def _psis():
    grid = cvxpar.grids.uniform(0.5, 9)
    return [cvxpar.pars.ridge(grid), cvxpar.pars.parq(grid), cvxpar.pars.sawtooth(grid), cvxpar.pars.staircase(grid),
            cvxpar.pars.mcp(grid, 2.0), PAR([-1.0, 0.0, 1.0], [-1.0, 0.0, -1.0], -INF, INF)]  # fmt: skip


def _inputs():
    rng = np.random.default_rng(7)
    v = np.concatenate((rng.uniform(-4, 4, 200), cvxpar.grids.uniform(0.25, 33), [np.nan, 0.0]))
    t = rng.uniform(0, 3, v.size)
    return v, t


def test_array_api_strict_matches_numpy():
    xps = pytest.importorskip("array_api_strict")
    v, t = _inputs()
    for psi in _psis():
        for dtype in (xps.float32, xps.float64):
            v_x = xps.asarray(v, dtype=dtype)
            for tt in (0.6, t):
                t_x = tt if np.ndim(tt) == 0 else xps.asarray(tt)
                x = psi.prox(v_x, t_x)
                assert type(x) is type(v_x) and x.dtype == dtype and x.shape == v_x.shape
                expected = psi.prox(v.astype(np.float32 if dtype == xps.float32 else np.float64), tt)
                np.testing.assert_array_equal(np.asarray(x), expected)
            np.testing.assert_array_equal(np.asarray(psi(v_x)), psi(np.asarray(v_x)))


def test_torch_cpu_matches_numpy():
    torch = pytest.importorskip("torch")
    v, t = _inputs()
    for psi in _psis():
        for dtype in (torch.float32, torch.float64):
            v_x = torch.asarray(v, dtype=dtype)
            for tt in (0.6, t):
                t_x = tt if np.ndim(tt) == 0 else torch.asarray(tt)
                x = psi.prox(v_x, t_x)
                assert isinstance(x, torch.Tensor) and x.dtype == dtype
                expected = psi.prox(v_x.numpy(), tt)
                np.testing.assert_array_equal(x.numpy(), expected)
            np.testing.assert_array_equal(psi(v_x).numpy(), psi(v_x.numpy()))


@pytest.mark.gpu
def test_cupy_kernel_matches_numpy(cp_gpu):
    v, t = _inputs()
    rng = np.random.default_rng(11)
    big = rng.uniform(-5, 5, 1 << 20)
    for psi in _psis():
        for dtype in (np.float32, np.float64):
            for vv in (v, big):
                v_d = cp_gpu.asarray(vv.astype(dtype))
                x = psi.prox(v_d, 0.6)
                assert isinstance(x, cp_gpu.ndarray) and x.dtype == dtype
                np.testing.assert_array_equal(cp_gpu.asnumpy(x), psi.prox(vv.astype(dtype), 0.6))
            x_t = psi.prox(cp_gpu.asarray(v.astype(dtype)), cp_gpu.asarray(t))
            assert isinstance(x_t, cp_gpu.ndarray) and x_t.dtype == dtype
            np.testing.assert_array_equal(cp_gpu.asnumpy(x_t), psi.prox(v.astype(dtype), t))
            np.testing.assert_array_equal(cp_gpu.asnumpy(psi(v_d)), psi(vv.astype(dtype)))


@settings(max_examples=15)
@given(pars(), st.floats(0.0, 5.0))
def test_generic_path_matches_kernels_on_random_pars(psi, t):
    xps = pytest.importorskip("array_api_strict")
    v, tt = _inputs()
    v = np.concatenate((v, probe_points(psi, t, [])))
    tt = np.resize(tt, v.size)
    np.testing.assert_array_equal(np.asarray(psi.prox(xps.asarray(v), t)), psi.prox(v, t))
    np.testing.assert_array_equal(np.asarray(psi.prox(xps.asarray(v), xps.asarray(tt))), psi.prox(v, tt))


# ---------------------------------------------------------------------- regressions
# Found by the property tests above under random seeds: psi on a piece used to be evaluated from
# the piece's left anchor only, and when that anchor was far from the candidate, the rounding of
# psi's level (~64 ulps of |t psi|) hid a real objective difference (~1e-15), so the tie rule
# picked the kink instead of the exact minimizer.  Candidates now evaluate psi from the nearer end.
@pytest.mark.parametrize(
    "psi, t, v",
    [
        (PAR([-1.0, 0.0, 1.0, 1.5, 2.0, 3.0], [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], 0.0, 0.0), 1.0, 6e-8),
        (PAR([0.0, 3.0], [0.0, -9.0], 1e-5, 0.0), 0.00390625, 3.0000000390625),
    ],
)
def test_exact_minimizer_near_a_kink_on_a_flat_piece(psi, t, v):
    assert psi.prox(np.array([v]), t)[0] == v  # v lies on a flat piece next to the kink: the prox is the identity
    assert psi.prox(np.array([v]), np.array([t]))[0] == v  # per-element t (all pieces compared)


# ---------------------------------------------------------------------- extreme t and v
class ExactPsi:
    """psi in exact rational arithmetic from its defining data (breakpoints, values, outer slopes)."""

    def __init__(self, psi: PAR) -> None:
        self.q = [Fraction(float(a)) for a in psi.breakpoints]
        self.vals = [Fraction(float(a)) for a in psi.values]
        self.outer = [float(psi.slopes[0]), float(psi.slopes[-1])]
        inner = [(self.vals[k] - self.vals[k - 1]) / (self.q[k] - self.q[k - 1]) for k in range(1, len(self.q))]
        self.slopes = [self.outer[0], *inner, self.outer[1]]  # floats (+-inf: a wall) outside, rationals inside

    def __call__(self, x: Fraction) -> Fraction:
        q, vals = self.q, self.vals
        if x < q[0]:
            return vals[0] + Fraction(self.outer[0]) * (x - q[0])
        if x > q[-1]:
            return vals[-1] + Fraction(self.outer[1]) * (x - q[-1])
        j = max(i for i in range(len(q)) if q[i] <= x)
        return vals[j] if x == q[j] else vals[j] + self.slopes[j + 1] * (x - q[j])

    def objective(self, x: Fraction, v: Fraction, t: Fraction) -> tuple[Fraction, Fraction]:
        """t psi(x) + (x - v)^2 / 2 and the size of its terms (t times psi's level at the nearest
        breakpoint and the rest of psi, plus (x - v)^2): the scale of any float evaluation's rounding."""
        level = self.vals[min(range(len(self.q)), key=lambda i: abs(self.q[i] - x))]
        p = self(x)
        return t * p + (x - v) ** 2 / 2, t * (abs(level) + abs(p - level)) + (x - v) ** 2

    def minimum(self, v: Fraction, t: Fraction) -> tuple[Fraction, Fraction]:
        """The exact minimum over the breakpoints and each piece's clip(v - t s_k, I_k), with its scale."""
        points = list(self.q)
        for k, sk in enumerate(self.slopes):
            if isinstance(sk, float) and not math.isfinite(sk):
                continue  # a wall: that side lies outside the domain
            x = v - t * Fraction(sk)
            x = max(x, self.q[k - 1]) if k > 0 else x
            points.append(min(x, self.q[k]) if k < len(self.q) else x)
        return min((self.objective(x, v, t) for x in points), key=lambda c: c[0])


def assert_exact_global_min(psi: PAR, v: np.ndarray, t, x: np.ndarray) -> None:
    """f(x) - min f <= 1e-12 (scale of f(x) + scale of the minimum) + 2^-1020 max(1, t), in exact
    arithmetic.  The last term: the prox compares (f(c) - f(b)) / max(1, t) in float64, and a
    difference below the normal range (~1e-308; e.g. t = 1e-162 and v = 0, where the objectives
    differ by 5e-325) is a tie there."""
    ex = ExactPsi(psi)
    lo, hi = psi.domain
    for vi, ti, xi in zip(v, np.broadcast_to(t, v.shape), x, strict=True):
        assert lo <= xi <= hi and math.isfinite(xi), f"prox({vi}, t={ti}) = {xi} left the domain"
        fv, ft = Fraction(float(vi)), Fraction(float(ti))
        got, got_scale = ex.objective(Fraction(float(xi)), fv, ft)
        best, best_scale = ex.minimum(fv, ft)
        floor = Fraction(2) ** -1020 * max(1, ft)
        assert got - best <= Fraction(1, 10**12) * (got_scale + best_scale) + floor, (
            f"prox({vi!r}, t={ti!r}) = {xi!r} is not a global minimizer: excess {float(got - best):.3e}, "
            f"scale {float(got_scale + best_scale):.3e}"
        )


t_wide = st.one_of(
    st.floats(-300.0, 300.0).map(lambda e: 10.0**e), st.sampled_from([1e-300, 1e154, 1e155, 1e200, 1e300])
)
v_wide = st.one_of(
    reals(-10.0, 10.0),
    st.tuples(st.sampled_from([-1.0, 1.0]), st.floats(-300.0, 200.0)).map(lambda p: p[0] * 10.0 ** p[1]),
)


@settings(max_examples=150, deadline=None)
@given(pars(), t_wide, st.lists(v_wide, min_size=1, max_size=6))
def test_prox_is_exact_for_t_and_v_over_the_float_range(psi, t, extra):
    """t over 1e-300..1e300 and |v| up to 1e200, every curvature, scalar and per-element t, against
    exact rational enumeration.  For t |s| above ~1e154 the candidates' objectives used to overflow
    ((t s)^2 and t (x - v)^2), and a huge common level t psi hid the quadratic part that decides
    between equal psi values."""
    with np.errstate(over="ignore"):
        v = probe_points(psi, t, extra)
    v = v[np.isfinite(v)]
    assert_exact_global_min(psi, v, t, psi.prox(v, t))
    assert_exact_global_min(psi, v, t, psi.prox(v, np.full(v.shape, t)))


def test_huge_t_goes_to_the_grid_point_nearest_v():
    psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    v = np.array([0.3, 0.7, 5.0, -0.3, 0.26])
    for t in (1e150, 1e154, 1e155, 1e200, 1e300, 1e308):
        np.testing.assert_array_equal(psi.prox(v, t), [0.5, 0.5, 1.0, -0.5, 0.5])
        np.testing.assert_array_equal(psi.prox(v, np.full(v.shape, t)), [0.5, 0.5, 1.0, -0.5, 0.5])


def test_objective_differences_below_the_float_range_tie():
    """t = 1e-162, v = 0: x = -t beats 0 by t^2 / 2 = 5e-325, below float64's range: a tie, to 0."""
    psi = PAR([0.0, 1.0], [0.0, 0.0], 1.0, 0.0)
    assert psi.prox(np.array([0.0]), 1e-162)[0] == 0.0
    assert_exact_global_min(psi, np.array([0.0]), 1e-162, np.array([0.0]))


def test_tiny_t_and_huge_v():
    psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    v = np.array([1e200, -1e200, 0.3, 7.0])
    np.testing.assert_array_equal(psi.prox(v, 1e-300), v)  # t s is below v's last bit: the prox is v
    np.testing.assert_array_equal(psi.prox(v[:2], 1.0), v[:2] - np.sign(v[:2]))  # the outer pieces shift by t s
    boxed = PAR([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], -INF, INF)  # nonconvex with walls: nearest wall
    np.testing.assert_array_equal(boxed.prox(np.array([1e200, -1e200]), 1.0), [1.0, -1.0])


def test_generic_path_at_huge_t():
    """The array-API path shares the NumPy path's comparison rule at extreme steps."""
    xps = pytest.importorskip("array_api_strict")
    v, _ = _inputs()
    for psi in _psis():
        for t in (1e-300, 0.7, 1e155, 1e300):
            expected = psi.prox(v, t)
            np.testing.assert_array_equal(np.asarray(psi.prox(xps.asarray(v), t)), expected)


# ---------------------------------------------------------------------- input kinds
@pytest.mark.parametrize("per_element_t", [False, True])
def test_float16_longdouble_and_big_endian_inputs(per_element_t):
    """float16 in, float16 out (computed through float32, like NumPy's ufuncs); longdouble is
    rounded to float64 and returned as float64; big-endian data gives the native result."""
    v, tt = _inputs()
    for psi in _psis():
        t = tt if per_element_t else 0.6
        x16 = psi.prox(v.astype(np.float16), t)
        assert x16.dtype == np.float16
        np.testing.assert_array_equal(x16, psi.prox(v.astype(np.float16).astype(np.float32), t).astype(np.float16))
        x_ld = psi.prox(v.astype(np.longdouble), t)
        assert x_ld.dtype == np.float64
        np.testing.assert_array_equal(x_ld, psi.prox(v, t))
        for dt in (">f8", ">f4"):
            x_be = psi.prox(v.astype(dt), t)
            assert x_be.dtype == np.dtype(dt).newbyteorder("=")
            np.testing.assert_array_equal(x_be, psi.prox(v.astype(dt).astype(x_be.dtype), t))
    assert psi.prox(np.float16(0.3), 0.5).dtype == np.float16


@pytest.mark.parametrize("bad", [np.array([0.3 + 1j, 0.7]), 0.3 + 1j, [1j, 2.0], np.complex64(1.0)])
def test_complex_input_is_rejected(bad):
    psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    for call in (lambda: psi.prox(bad, 0.5), lambda: psi.prox(bad, np.full(np.shape(bad), 0.5)), lambda: psi(bad),
                 lambda: psi.subdifferential(bad)):  # fmt: skip
        with pytest.raises(TypeError, match="complex input.*defined on real numbers: pass x.real"):
            call()
    with pytest.raises(TypeError, match="t must be"):
        psi.prox(np.ones(2), np.array([0.5 + 1j, 0.5]))
    with pytest.raises(TypeError, match="t must be"):
        psi.prox(np.ones(2), 0.5 + 1j)


def test_concurrent_parallel_prox_under_the_workqueue_layer():
    """numba's workqueue layer aborts the process when two threads launch parallel kernels at once;
    the kernels' launcher serializes them there.  Run in a subprocess that selects that layer."""
    script = """
import threading, numpy as np, numba, cvxpar
psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
l1 = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))
v = np.random.default_rng(0).uniform(-3, 3, 1 << 17)
want = [psi.prox(v, 0.5), l1.prox(v, 0.5), psi.prox(v, np.full(v.shape, 0.5))]
assert numba.threading_layer() == "workqueue", numba.threading_layer()
errors = []
def work():
    for _ in range(10):
        got = [psi.prox(v, 0.5), l1.prox(v, 0.5), psi.prox(v, np.full(v.shape, 0.5))]
        if not all(np.array_equal(a, b) for a, b in zip(got, want)):
            errors.append("mismatch")
threads = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
assert not errors, errors
print("ok")
"""
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue", "NUMBA_NUM_THREADS": "2"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(cvxpar.__file__).parents[1]), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


@pytest.mark.filterwarnings("error")
def test_t_at_the_end_of_the_float_range():
    """t |s| overflowing float64 (the envelope cannot be built): every piece is compared, no warnings."""
    v = np.array([0.3, -2.0, 5.0, 1e300, -1e300, 0.0])
    for psi in _psis():
        for t in (1e308, 1.7e308):
            x = psi.prox(v, t)
            np.testing.assert_array_equal(x, psi.prox(v, np.full(v.shape, t)))
            lo, hi = psi.domain
            assert np.all((x >= lo) & (x <= hi))
    saw = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    np.testing.assert_array_equal(saw.prox(v, 1.7e308), [0.5, -1.0, 1.0, 1.0, -1.0, 0.0])


# ---------------------------------------------------------------------- tied global minimizers at extreme t
class Candidate(NamedTuple):
    """The exact minimizer x of f = t psi + (x - v)^2 / 2 over one piece of psi, f(x), psi(x) split as its value
    ``level`` at the nearest breakpoint plus the ``rest``, and ``delta``, a bound on |x_float - x| for the float
    computation x_float = clip(v - t s, piece) with the float slope s."""

    x: Fraction
    f: Fraction
    level: Fraction
    rest: Fraction
    delta: Fraction


def exact_candidates(psi: PAR, v: Fraction, t: Fraction) -> list[Candidate]:
    """One :class:`Candidate` per piece of psi (exact slopes s_k from psi's data) and per breakpoint.  delta is 0 when v - t s_k lies
    farther than the rounding of v - t s outside the piece: then the float clip is the piece's end exactly."""
    ex = ExactPsi(psi)
    eps = Fraction(2) ** -52
    out = []
    for k, sk in enumerate(ex.slopes):
        if isinstance(sk, float) and not math.isfinite(sk):
            continue  # a wall: that side lies outside the domain
        raw = v - t * Fraction(sk)
        lo = ex.q[k - 1] if k > 0 else None
        hi = ex.q[k] if k < len(ex.q) else None
        x = raw if lo is None else max(raw, lo)
        x = x if hi is None else min(x, hi)
        rounding = 8 * eps * (abs(v) + abs(t * Fraction(sk))) + Fraction(2) ** -1070
        outside = max(lo - raw if lo is not None else Fraction(-1), raw - hi if hi is not None else Fraction(-1))
        level = ex.vals[min(range(len(ex.q)), key=lambda i: abs(ex.q[i] - x))]
        p = ex(x)
        out.append(Candidate(x, t * p + (x - v) ** 2 / 2, level, p - level, Fraction(0) if outside > rounding else rounding))
    lo, hi = psi.domain
    out += [Candidate(q, t * y + (q - v) ** 2 / 2, y, Fraction(0), Fraction(0))
            for q, y in zip(ex.q, ex.vals, strict=True) if lo <= q <= hi]
    return out


def assert_tie_exact_prox(psi: PAR, v: np.ndarray, t: float, x: np.ndarray) -> None:
    """Each x_i is (the float computation of) an exact global minimizer, up to the tie rule of the prox only.

    Candidate c is accepted when |x_i - c.x| <= c.delta and f(c.x) - min f <= 1e-13 (t |level_c - level_b| +
    t |rest_c| + t |rest_b| + |quadratic difference|) + (delta_c^2 + delta_b^2) / 2 + 2^-1020 max(1, t), b a
    minimizer: 1e-13 is above the prox's 64 ulps; the delta terms are the float candidates' own excess (f is
    stationary at an inner x); the last term is a difference below the float range (a tie there).  Two
    minimizers at breakpoints with equal psi values differ by their quadratic parts only, so the one nearer v
    must win however large t is."""
    ft = Fraction(float(t))
    floor = Fraction(2) ** -1020 * max(1, ft)
    for vi, xi in zip(v.tolist(), x.tolist(), strict=True):
        fv = Fraction(vi)
        cands = exact_candidates(psi, fv, ft)
        b = min(cands, key=lambda c: c.f)

        assert math.isfinite(xi) and any(_acceptable(c, b, fv, ft, Fraction(xi), floor) for c in cands), (
            f"{psi!r}.prox({vi!r}, t={t!r}) = {xi!r} is not a global minimizer: the minimum {float(b.f):.17g} "
            f"is at {float(b.x)!r}"
        )


def _acceptable(c: Candidate, b: Candidate, v: Fraction, t: Fraction, x: Fraction, floor: Fraction) -> bool:
    """x is (the float computation of) candidate c, and c ties with the minimizer b (:func:`assert_tie_exact_prox`)."""
    quad = abs((c.x - v) ** 2 - (b.x - v) ** 2) / 2
    terms = t * (abs(c.level - b.level) + abs(c.rest) + abs(b.rest)) + quad
    tol = Fraction(1, 10**13) * terms + (c.delta**2 + b.delta**2) / 2 + floor
    return c.f - b.f <= tol and abs(x - c.x) <= c.delta


def _zigzag(step: float, height: float, slope: float):
    """psi = 0 at every other breakpoint of a grid of decimal (inexact) steps, ``height`` between: many tied
    global minimizers whose pieces' slopes are rounded (the long fuzz form's reproducer, generalized)."""
    q = np.round(np.arange(-8, 9) * step, 5)
    return PAR(q, np.where(np.arange(q.size) % 2 == 0, 0.0, height), -slope, slope)


@st.composite
def tied_pars(draw) -> PAR:
    """Every PAR family of cvxpar.pars, random curvatures and the zigzag, on grids with decimal steps."""
    step = draw(st.sampled_from([0.5, 0.1, 1.185685, 0.3, 3.7, 1e-3, 250.0]))
    n = draw(st.integers(2, 9))
    grid = cvxpar.grids.uniform(step, n, center=draw(st.sampled_from([0.0, 0.1, -step / 2])))
    kind = draw(st.sampled_from(["l1", "ridge", "parq", "sawtooth", "staircase", "mcp", "zigzag", "random"]))
    if kind == "l1":
        return cvxpar.pars.l1(grid, eps=draw(st.sampled_from([0.0, 0.1])))
    if kind == "ridge":
        return cvxpar.pars.ridge(grid, box=draw(st.booleans()))
    if kind == "parq":
        return cvxpar.pars.parq(grid)
    if kind == "sawtooth":
        return cvxpar.pars.sawtooth(grid, slope=draw(st.sampled_from([1.0, 0.3, 10.0])))
    if kind == "staircase":
        return cvxpar.pars.staircase(grid, rise=draw(st.sampled_from([0.1, 0.5])), slope=draw(st.sampled_from([1.0, 3.0])))
    if kind == "mcp":
        return cvxpar.pars.mcp(grid, gamma=draw(st.sampled_from([0.5, 2.0])) * step * n)
    if kind == "zigzag":
        return _zigzag(step, draw(st.sampled_from([1.0, 11.85685, 1e-3])), draw(st.sampled_from([10.0, 0.5])))
    return draw(pars(max_breakpoints=8))


t_extreme = st.one_of(
    st.floats(15.0, 300.0).map(lambda e: float(f"{10.0**e:.3g}")),
    st.floats(-300.0, -15.0).map(lambda e: float(f"{10.0**e:.3g}")),
    st.sampled_from([1e16, 1e17, 2.0**53, 1e150, 1e300, 1e-16, 1e-300, 5e-324]),
)


@settings(max_examples=150, deadline=None)
@given(tied_pars(), t_extreme, st.lists(reals(-30.0, 30.0), max_size=4))
def test_prox_picks_the_exact_global_minimizer_at_huge_and_tiny_t(psi, t, extra):
    """t in 1e15..1e300 and 1e-300..1e-15, every PAR family, scalar and per-element t, every path (compiled
    kernels, array-API path), against exact rational enumeration with tie-aware tolerances.  Fails without the
    envelope's split comparison: past t ~ 1 / eps the envelope summed psi's level t psi ~ 1 with the quadratic
    parts ~ 1 / t that decide between equal psi values, chose the wrong piece, and the neighbour check could
    not reach the right one (the prox went to the outermost zero of the zigzag)."""
    q = psi.breakpoints
    v = np.concatenate((q, 0.5 * (q[1:] + q[:-1]), np.nextafter(q, np.inf), 0.49 * q[1:] + 0.51 * q[:-1],
                        np.asarray(extra, dtype=np.float64)))
    answers = {(vi, xi) for tt in (t, np.full(v.shape, t)) for path in (_compiled_prox, _array_api_prox)
               for vi, xi in zip(v.tolist(), path(psi, v, tt).tolist(), strict=True)}
    pairs = np.array(sorted(answers))
    assert_tie_exact_prox(psi, pairs[:, 0], t, pairs[:, 1])


def test_huge_t_goes_to_the_zero_of_psi_nearest_v():
    """The long fuzz form's reproducer: psi = 0 at every other breakpoint of rounded decimals; the prox of such a
    zero is itself for every t (f = 0 there), it was the outermost zero q_0 from t = 1e17 on."""
    q = np.round(np.arange(-14, 15) * 1.185685, 5)
    psi = PAR(q, np.where(np.arange(q.size) % 2 == 0, 0.0, 11.85685), -10.0, 10.0)
    v = np.array([q[2], q[14] + 0.1, q[20] - 0.4])
    for t in (1e15, 1e16, 1e17, 1e150, 1e300):
        np.testing.assert_array_equal(psi.prox(v, t), [q[2], q[14], q[20]])
        np.testing.assert_array_equal(psi.prox(v, np.full(v.shape, t)), [q[2], q[14], q[20]])


def test_breakpoints_almost_symmetric_about_v_are_told_apart():
    """psi = 0 at -0.4 and 0.1, v = -0.15000000000000002 (the float grid's midpoint, 2.8e-17 below the true one):
    -0.4 is nearer by 1.4e-17 in f (2 ulps of f).  Formed as (x - v) / 2 + (y - v) / 2 the quadratic part rounded
    by as much as that and the tie rule took 0.1 (smaller |x|); the exact midpoint gap decides (every path)."""
    psi = PAR([-0.4, -0.15, 0.1], [0.0, 0.25, 0.0], -1.0, 1.0)
    v = np.array([-0.15000000000000002])
    assert Fraction(float(v[0])) - Fraction(-0.4) < Fraction(0.1) - Fraction(float(v[0]))
    for t in (1.0, 1e3, 1e15, 1e17):
        for tt in (t, np.full(v.shape, t)):
            assert _compiled_prox(psi, v, tt)[0] == -0.4
            assert _array_api_prox(psi, v, tt)[0] == -0.4


def _random_family(rng: np.random.Generator) -> PAR:
    step = float(10 ** rng.uniform(-2, 1))
    n = int(rng.integers(2, 16))
    grid = cvxpar.grids.uniform(step, n, center=float(rng.choice([0.0, step / 3, -1.0])))
    kind = int(rng.integers(0, 8))
    if kind == 0:
        return cvxpar.pars.l1(grid, eps=float(rng.choice([0.0, 0.1, 0.5])))
    if kind == 1:
        return cvxpar.pars.ridge(grid, box=bool(rng.integers(2)))
    if kind == 2:
        return cvxpar.pars.parq(grid)
    if kind == 3:
        return cvxpar.pars.mcp(grid, float(rng.uniform(0.1, 2.0)) * step * n)
    if kind == 4:
        return cvxpar.pars.sawtooth(grid, slope=float(10 ** rng.uniform(-1, 1)))
    if kind == 5:
        return cvxpar.pars.staircase(grid, rise=float(rng.choice([0.1, 0.5, 0.9])), slope=float(10 ** rng.uniform(-1, 1)))
    s = np.round(rng.uniform(-4, 4, grid.size + 1), int(rng.integers(0, 3)))
    if kind == 6:  # quasiconvex
        s = np.where(np.arange(s.size) < rng.integers(0, s.size + 1), -np.abs(s), np.abs(s))
    return PAR.from_slopes(grid, s)


def _candidate_minimum(psi: PAR, v: np.ndarray, t: float) -> np.ndarray:
    """min over the breakpoints in the domain and every piece's clip(v - t s_k, piece) of the prox objective."""
    q, s = psi.breakpoints, psi.slopes
    lo, hi = psi.domain
    inside = q[(q >= lo) & (q <= hi)]
    edges = np.concatenate(([-INF], q, [INF]))
    columns = [np.broadcast_to(inside, (v.size, inside.size))]
    columns += [np.clip(v - t * s[k], edges[k], edges[k + 1])[:, None] for k in range(s.size) if np.isfinite(s[k])]
    points = np.concatenate(columns, axis=1)
    return np.min(prox_objective(psi, points, v[:, None], t), axis=1)


@pytest.mark.parametrize("seed", range(4))
def test_prox_is_a_global_minimizer_on_dense_v_for_every_family(seed):
    """Every family of cvxpar.pars and random (quasi/non)convex slopes, t log-uniform on 1e-3..1e3, 3000 v across
    the grid and beyond: f(prox) is the candidates' minimum (float, 1e-10 relative).  Seeded, vectorized: many
    more (psi, t) pairs than the hypothesis tests draw; an envelope that drops or misplaces a piece misses it by
    far more (the staircase below was 7e-4 off)."""
    rng = np.random.default_rng(seed)
    for _ in range(25):
        psi = _random_family(rng)
        q = psi.breakpoints
        span = float(q[-1] - q[0]) + 1.0
        v = np.concatenate((np.linspace(q[0] - span, q[-1] + span, 3001), q, q + 1e-9))
        for t in 10 ** rng.uniform(-3, 3, 4):
            best = _candidate_minimum(psi, v, t)
            scale = 1.0 + np.abs(best) + t * np.max(np.abs(psi.values))
            for tt in (t, np.full(v.shape, t)):
                excess = prox_objective(psi, psi.prox(v, tt), v, t) - best
                i = int(np.argmax(excess / scale))
                assert excess[i] <= 1e-10 * scale[i], (psi, t, v[i], excess[i])


def test_envelope_crossing_at_a_double_root_on_a_regime_boundary():
    """staircase on {-1.5, ..., 1.5}, t = 0.4: M_3 - M_2 touches 0 at u = -1.4 with a double root, where piece 2's
    minimizer reaches its end; a refinement step landed a rounding past it, in the regime where both pieces give
    x = -1 (difference 0, no root), and fell back to the bracket's far end: the envelope gave piece 3 from
    u = -1.525 on, and prox(-1.4375) was -1 instead of -1.0375 (found by the gallery notebook's check)."""
    psi = cvxpar.pars.staircase(cvxpar.grids.uniform(0.5, 7))
    v = np.array([-1.4375, -1.41, -1.42])
    expected = v + 0.4
    for tt in (0.4, np.full(v.shape, 0.4)):
        np.testing.assert_allclose(_compiled_prox(psi, v, tt), expected, rtol=0, atol=1e-15)
        np.testing.assert_allclose(_array_api_prox(psi, v, tt), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("make", [lambda: cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)),
                                  lambda: cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.25, 9)),
                                  lambda: PAR([0.0], [0.0], -1.0, 1.0)])
def test_per_element_float64_t_fast_path_returns_the_validating_paths_bits(make):
    """NumPy float64 v and t of v's shape (ssnal's column metric, t = sigma w) skip the validation layer once the
    kernels are loaded; the answer is bit for bit the one through it (t as a list), and the second call reuses
    the pieces cached on psi."""
    psi = make()
    rng = np.random.default_rng(3)
    v = rng.normal(scale=3.0, size=500)
    t = 10.0 ** rng.uniform(-6, 6, 500)
    t[:5] = 0.0
    psi.prox(v, 1.0)  # loads the compiled kernels
    with mock.patch("cvxpar.prox._prox_array_t", side_effect=AssertionError("the validating path")):
        fast = psi.prox(v, t)
    assert np.array_equal(fast, psi.prox(v, t.tolist()), equal_nan=True)
    assert np.array_equal(psi.prox(v, t), fast)
    for bad in (np.nan, -1.0, INF):
        t_bad = t.copy()
        t_bad[7] = bad
        with pytest.raises(ValueError, match="t must be finite and nonnegative everywhere"):
            psi.prox(v, t_bad)
