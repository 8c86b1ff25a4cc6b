"""cvxpar.grids and cvxpar.metrics: grid constructors, snap and quantization_rate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from par_strategies import breakpoints

import cvxpar
from cvxpar import grids, quantization_rate, snap


# ---------------------------------------------------------------------- grids
def test_uniform():
    np.testing.assert_allclose(grids.uniform(0.5, 5), [-1.0, -0.5, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(grids.uniform(1.0, 4), [-1.5, -0.5, 0.5, 1.5])  # even: straddles the centre
    np.testing.assert_allclose(grids.uniform(2.0, 3, center=1.0), [-1.0, 1.0, 3.0])
    np.testing.assert_array_equal(grids.uniform(1.0, 1, center=4.0), [4.0])
    g = grids.uniform(0.1, 9)
    assert g.dtype == np.float64 and np.all(np.diff(g) > 0) and 0.0 in g


@pytest.mark.parametrize(
    ("args", "fragment"),
    [((0.0, 3), "step"), ((-1.0, 3), "step"), ((np.nan, 3), "step"), ((1.0, 0), "n_levels"), ((1.0, 2.5), "n_levels"),
     ((1.0, 3, np.inf), "center")],
)  # fmt: skip
def test_uniform_errors(args, fragment):
    with pytest.raises(ValueError, match=fragment):
        grids.uniform(*args)


def test_bits():
    np.testing.assert_allclose(grids.bits(1, 2.0), [-1.0, 1.0])
    np.testing.assert_allclose(grids.bits(2, 1.0), [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_allclose(grids.bits(2, 1.0, include_zero=True), [-1.0, 0.0, 1.0])
    for b in range(1, 9):
        g = grids.bits(b, 0.1)
        assert g.size == 2**b and np.all(np.diff(g) > 0)
        np.testing.assert_allclose(g, -g[::-1])
        assert grids.bits(b + 1, 0.1, include_zero=True).size == 2 ** (b + 1) - 1
    with pytest.raises(ValueError, match="positive integer"):
        grids.bits(0, 1.0)
    with pytest.raises(ValueError, match="scale"):
        grids.bits(2, -1.0)
    with pytest.raises(ValueError, match="b >= 2"):
        grids.bits(1, 1.0, include_zero=True)


# ---------------------------------------------------------------------- snap
@given(breakpoints(max_size=10), st.lists(st.floats(-20, 20), min_size=1, max_size=50))
def test_snap_is_nearest_grid_point(q, xs):
    x = np.asarray(xs)
    got = snap(x, q)
    dist = np.abs(x[:, None] - q[None, :])
    assert np.all(np.isin(got, q))
    np.testing.assert_array_equal(np.abs(got - x), dist.min(axis=1))


def test_snap_ties_nan_shapes_and_inputs():
    q = [0.0, 1.0, 3.0]
    x = np.array([[0.5, 2.0], [np.nan, -7.0]])
    out = snap(x, q)
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(out, [[0.0, 1.0], [np.nan, 0.0]])  # ties go to the smaller point
    np.testing.assert_array_equal(snap(x, [3.0, 0.0, 1.0, 1.0]), out)  # unsorted, repeated grids are fine
    psi = cvxpar.pars.ridge(q)
    np.testing.assert_array_equal(snap(x, psi), out)  # a PAR stands for its breakpoints
    assert snap(2.4, q) == 3.0 and np.ndim(snap(2.4, q)) == 0
    np.testing.assert_array_equal(snap(np.array([5.0, np.nan]), [2.0]), [2.0, np.nan])
    assert snap(np.array([0.4], dtype=np.float32), q).dtype == np.float32
    with pytest.raises(ValueError, match="nonempty sequence of finite numbers"):
        snap(1.0, [])
    with pytest.raises(ValueError, match="finite"):
        snap(1.0, [0.0, np.inf])


# ---------------------------------------------------------------------- quantization_rate
def test_quantization_rate():
    q = [-1.0, 0.0, 1.0]
    x = np.array([0.0, 1.0 + 1e-10, 0.5, -1.0, np.nan])
    assert quantization_rate(x, q) == pytest.approx(3 / 5)
    assert quantization_rate(x, q, atol=0.0) == pytest.approx(2 / 5)
    assert quantization_rate(x, q, atol=0.5) == pytest.approx(4 / 5)  # NaN never counts
    assert quantization_rate(x, cvxpar.pars.parq(q)) == pytest.approx(3 / 5)
    assert quantization_rate(x.reshape(1, 5), q) == pytest.approx(3 / 5)
    assert quantization_rate(0.0, q) == 1.0
    assert np.isnan(quantization_rate(np.zeros(0), q))
    with pytest.raises(ValueError, match="atol must be a nonnegative number"):
        quantization_rate(x, q, atol=-1.0)
    with pytest.raises(ValueError, match="atol"):
        quantization_rate(x, q, atol=np.nan)


@given(breakpoints(max_size=8), st.lists(st.floats(-10, 10), min_size=1, max_size=40), st.floats(0.0, 1.0))
def test_quantization_rate_vs_direct_count(q, xs, atol):
    x = np.asarray(xs)
    direct = np.mean(np.min(np.abs(x[:, None] - q[None, :]), axis=1) <= atol)
    assert quantization_rate(x, q, atol) == pytest.approx(direct)


def test_metrics_on_array_api_strict():
    xps = pytest.importorskip("array_api_strict")
    q = [-1.0, 0.0, 1.0]
    x = np.array([0.2, 0.9, -0.51, 2.0, np.nan])
    out = snap(xps.asarray(x), q)
    assert type(out) is type(xps.asarray(x))
    np.testing.assert_array_equal(np.asarray(out), snap(x, q))
    assert quantization_rate(xps.asarray(x), q, atol=0.15) == quantization_rate(x, q, atol=0.15)


def test_par_grid_is_the_convex_kinks():
    q = cvxpar.grids.uniform(1.0, 5)
    saw = cvxpar.pars.sawtooth(q)
    assert saw.breakpoints.size == 9  # grid points and midpoints
    np.testing.assert_array_equal(saw.grid, q)  # midpoints are concave kinks: not in Q
    assert cvxpar.quantization_rate([0.5, 1.0, -1.5, 2.0], saw) == 0.5
    np.testing.assert_array_equal(cvxpar.snap([0.4, 0.6], saw), [0.0, 1.0])
    walled = cvxpar.PAR([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], -np.inf, np.inf)  # affine inside walls
    np.testing.assert_array_equal(walled.grid, [0.0, 2.0])
    concave = cvxpar.PAR([0.0], [0.0], 1.0, -1.0)  # no convex kink: falls back to the breakpoints
    np.testing.assert_array_equal(concave.grid, [0.0])


@pytest.mark.parametrize("b", [1, 2, 4, 8])
@pytest.mark.parametrize("scale", [1.0, 0.05])
def test_integer_grid(b, scale):
    """signed: two's-complement range {-2^(b-1), ..., 2^(b-1)-1}; unsigned {0, ..., 2^b-1}; times scale."""
    signed = grids.integer(b, scale)
    assert signed.size == 2**b and np.all(np.diff(signed) > 0)
    np.testing.assert_array_equal(signed, scale * np.arange(-(2 ** (b - 1)), 2 ** (b - 1)))
    assert 0.0 in signed
    unsigned = grids.integer(b, scale, signed=False)
    np.testing.assert_array_equal(unsigned, scale * np.arange(2**b))
    if b == 4 and scale == 1.0:
        assert signed.tolist() == [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7]  # INT4


@pytest.mark.parametrize("bad", [{"bits": 0}, {"bits": 2.5}, {"bits": True}, {"bits": 60}, {"bits": 4, "scale": 0.0}])
def test_integer_grid_bad_inputs(bad):
    with pytest.raises(ValueError):
        grids.integer(**bad)
