"""cvxpar.par: the PAR object (construction, validation, curvature, evaluation, subdifferential, conjugate)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from par_strategies import breakpoints, pars, reference_psi

import cvxpar
from cvxpar import PAR

INF = np.inf


# ---------------------------------------------------------------------- construction and data
def test_data_roundtrip_and_slopes():
    psi = PAR([-1.0, 0.0, 2.0], [3.0, 1.0, 2.0], -4.0, 0.5)
    np.testing.assert_array_equal(psi.breakpoints, [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(psi.values, [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(psi.slopes, [-4.0, -2.0, 0.5, 0.5])
    assert psi.left_slope == -4.0 and psi.right_slope == 0.5
    assert psi.n_breakpoints == 3
    assert psi.domain == (-INF, INF)
    assert PAR([0.0, 1.0], [0.0, 0.0], -INF, INF).domain == (0.0, 1.0)
    with pytest.raises(ValueError):
        psi.breakpoints[0] = 5.0  # read-only


def test_input_is_copied():
    q = np.array([0.0, 1.0])
    vals = np.array([0.0, 1.0])
    psi = PAR(q, vals, -1.0, 1.0)
    q[0], vals[0] = -5.0, 7.0
    np.testing.assert_array_equal(psi.breakpoints, [0.0, 1.0])
    np.testing.assert_array_equal(psi.values, [0.0, 1.0])


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (([1.0, 0.0], [0, 0], -1, 1), ["strictly increasing", "unsorted", "np.sort"]),
        (([0.0, 0.0], [0, 0], -1, 1), ["strictly increasing", "repeated", "np.unique"]),
        (([0.0, 1.0], [0.0], -1, 1), ["values has 1 entries", "breakpoints has 2"]),
        (([0.0, np.nan], [0, 0], -1, 1), ["breakpoints[1]", "not finite"]),
        (([0.0, INF], [0, 0], -1, 1), ["breakpoints[1]", "not finite"]),
        (([0.0, 1.0], [0, np.nan], -1, 1), ["values[1]", "not finite"]),
        (([0.0, 1.0], [0, -INF], -1, 1), ["values[1]", "not finite"]),
        (([0.0], [0.0], INF, 1), ["left_slope", "-inf"]),
        (([0.0], [0.0], -1, -INF), ["right_slope", "+inf"]),
        (([0.0], [0.0], np.nan, 1), ["left_slope is NaN"]),
        (([0.0], [0.0], -1, "steep"), ["right_slope must be a real number"]),
        (([[0.0, 1.0]], [0, 1], -1, 1), ["breakpoints must be 1-D", "(1, 2)"]),
        (([], [], -1, 1), ["breakpoints needs at least 1 entry"]),
        ((["a", "b"], [0, 1], -1, 1), ["breakpoints must be a sequence of real numbers"]),
    ],
)
def test_bad_input_messages(args, fragments):
    with pytest.raises(ValueError) as info:
        PAR(*args)
    for fragment in fragments:
        assert fragment in str(info.value)


# ---------------------------------------------------------------------- curvature
@pytest.mark.parametrize(
    ("q", "vals", "left", "right", "expected"),
    [
        ([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0], -2.0, 2.0, "convex"),  # convex max of pieces
        ([0.0], [0.0], -1.0, 1.0, "convex"),  # |x|
        ([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], 1.0, 1.0, "convex"),  # affine with redundant breakpoints
        ([0.0, 1.0], [0.0, 0.0], -INF, INF, "convex"),  # indicator of a box
        ([0.0, 1.0], [0.0, 1.0], -INF, INF, "convex"),  # walls around an affine piece
        ([0.0], [0.0], -INF, -3.0, "convex"),  # a wall and a decreasing ray
        ([0.0, 0.5, 1.0, 1.5, 2.0], [0.0, 0.5, 0.5, 1.0, 1.0], -1.0, 1.0, "quasiconvex"),  # staircase
        ([0.0, 1.0, 2.0], [0.0, 2.0, 2.5], -0.5, 3.0, "quasiconvex"),  # monotone but not convex
        ([0.0, 1.0, 2.0], [0.0, -1.0, -3.0], -INF, INF, "quasiconvex"),  # decreasing concave in a box
        ([0.0, 1.0], [0.0, 0.0], 0.0, 0.0, "convex"),  # constant
        ([0.0, 1.0], [0.0, 1.0], -1.0, 0.0, "quasiconvex"),  # V then a flat tail
        ([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], -1.0, 1.0, "nonconvex"),  # W shape
        ([0.0], [0.0], 1.0, -1.0, "nonconvex"),  # tent
        ([-1.0, 0.0, 1.0], [-1.0, 0.0, -1.0], -INF, INF, "nonconvex"),  # -|x| in a box
        ([0.0, 1.0], [0.0, 1.0], 0.0, 0.0, "quasiconvex"),  # flat, up, flat: nondecreasing
    ],
)
def test_curvature_hand_made(q, vals, left, right, expected):
    psi = PAR(q, vals, left, right)
    assert psi.curvature == expected
    assert psi.is_convex == (expected == "convex")


def test_curvature_tolerates_rounding_in_secants():
    q = np.linspace(-1.0, 1.0, 7) / 3.0  # secants of an affine function differ in the last bits
    psi = PAR(q, 0.1 * q + 0.3, 0.1, 0.1)
    assert psi.curvature == "convex"


@given(pars())
def test_curvature_matches_definition(psi):
    s = psi.slopes
    x = np.linspace(psi.breakpoints[0] - 2, psi.breakpoints[-1] + 2, 401)
    x = x[np.isfinite(psi(x))]
    if x.size < 2:  # the domain is a single point
        x = psi.breakpoints[:1].repeat(2)
    mids = 0.5 * (x[1:] + x[:-1])
    f, fm = reference_psi(psi, x), reference_psi(psi, mids)
    scale = 1e-9 * (1 + np.abs(f).max())
    midpoint_convex = bool(np.all(fm <= 0.5 * (f[1:] + f[:-1]) + scale))
    if psi.curvature == "convex":
        assert np.all(np.diff(s) >= -1e-9)
        assert midpoint_convex
    else:
        assert np.any(np.diff(s) < 0)
        # quasiconvex <=> every sublevel set is an interval <=> no interior strict local max of the slope sign
        signs = np.sign(np.where(np.abs(s) < 1e-9, 0.0, s))
        has_rise_then_fall = any(signs[i] > 0 and (signs[i + 1 :] < 0).any() for i in range(signs.size))
        assert (psi.curvature == "nonconvex") == has_rise_then_fall


# ---------------------------------------------------------------------- constructors
def test_from_slopes_offset_at_breakpoint_nearest_zero():
    psi = PAR.from_slopes([-3.0, -1.0, 2.0], [-2.0, 1.0, -0.5, 4.0], offset=7.0)
    assert psi(-1.0) == 7.0
    np.testing.assert_allclose(psi.values, [5.0, 7.0, 5.5])
    np.testing.assert_array_equal(psi.slopes, [-2.0, 1.0, -0.5, 4.0])
    assert PAR.from_slopes([5.0], [-1.0, 1.0])(5.0) == 0.0


def test_from_slopes_walls_and_errors():
    psi = PAR.from_slopes([0.0, 1.0], [-INF, 2.0, INF], offset=1.0)
    assert psi.domain == (0.0, 1.0)
    assert psi(1.0) == 3.0
    with pytest.raises(ValueError, match="slopes must have len"):
        PAR.from_slopes([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="inner slopes.*not finite"):
        PAR.from_slopes([0.0, 1.0], [0.0, INF, 1.0])
    with pytest.raises(ValueError, match="offset must be finite"):
        PAR.from_slopes([0.0], [-1.0, 1.0], offset=np.nan)
    with pytest.raises(ValueError, match="left_slope"):
        PAR.from_slopes([0.0], [INF, 1.0])


def test_from_pieces_drops_redundant_pieces():
    psi = PAR.from_pieces([-1.0, 0.0, 0.5, 1.0], [0.0, -5.0, 0.0, 0.0])
    assert psi == PAR([0.0], [0.0], -1.0, 1.0)
    equal_slopes = PAR.from_pieces([-1.0, -1.0, 2.0], [0.0, 3.0, 0.0])  # keeps the larger intercept
    np.testing.assert_allclose(equal_slopes.breakpoints, [1.0])
    np.testing.assert_allclose(equal_slopes.values, [2.0])
    single = PAR.from_pieces([2.0], [1.0])
    assert single(3.0) == 7.0 and single.curvature == "convex"


def test_from_pieces_rejects_decreasing_slopes():
    with pytest.raises(ValueError) as info:
        PAR.from_pieces([1.0, -1.0], [0.0, 0.0])
    assert "nondecreasing" in str(info.value) and "from_slopes" in str(info.value)
    with pytest.raises(ValueError, match="intercepts has 1;"):
        PAR.from_pieces([1.0, 2.0], [0.0])


@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=1, max_size=7))
def test_from_pieces_is_the_max(pieces):
    pieces = sorted(pieces)
    a = np.array([p[0] for p in pieces])
    b = np.array([p[1] for p in pieces])
    psi = PAR.from_pieces(a, b)
    assert psi.curvature == "convex"
    x = np.linspace(-30, 30, 2001)
    expected = np.max(a[:, None] * x + b[:, None], axis=0)
    np.testing.assert_allclose(psi(x), expected, rtol=1e-9, atol=1e-9)


def test_interpolate():
    psi = PAR.interpolate(np.square, [0.0, 1.0, 3.0])
    np.testing.assert_array_equal(psi.values, [0.0, 1.0, 9.0])
    np.testing.assert_array_equal(psi.slopes, [1.0, 1.0, 4.0, 4.0])  # end secants continued
    boxed = PAR.interpolate(np.square, [0.0, 1.0], left_slope=-INF, right_slope=5.0)
    assert boxed.domain == (0.0, INF) and boxed.right_slope == 5.0
    with pytest.raises(ValueError, match="single breakpoint.*left_slope and right_slope"):
        PAR.interpolate(np.abs, [0.0])
    assert PAR.interpolate(np.abs, [0.0], -1.0, 1.0) == PAR([0.0], [0.0], -1.0, 1.0)
    with pytest.raises(ValueError, match="elementwise"):
        PAR.interpolate(lambda x: np.sum(x), [0.0, 1.0])


# ---------------------------------------------------------------------- evaluation
@given(pars(), st.lists(st.floats(-20, 20), min_size=1, max_size=30))
def test_call_matches_reference(psi, xs):
    x = np.concatenate((np.asarray(xs), psi.breakpoints))
    np.testing.assert_allclose(psi(x), reference_psi(psi, x), rtol=1e-12, atol=1e-12)


def test_call_shapes_types_nan_and_walls():
    psi = PAR([0.0, 1.0], [0.0, 2.0], -INF, 1.0)
    assert psi(0.5) == 1.0 and np.ndim(psi(0.5)) == 0
    x = np.array([[-0.1, 0.0, 0.5], [1.0, 3.0, np.nan]])
    out = psi(x)
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out, [[INF, 0.0, 1.0], [2.0, 4.0, np.nan]])
    assert psi(np.float32(0.5)).dtype in (np.float32, np.float64)
    assert psi(np.array([0.5], dtype=np.float32)).dtype == np.float32
    np.testing.assert_array_equal(psi([0, 1]), [0.0, 2.0])  # lists and ints


@given(pars(), st.floats(-12, 12))
def test_subdifferential_vs_finite_differences(psi, x):
    q = psi.breakpoints
    lo_dom, hi_dom = psi.domain
    lo, hi = psi.subdifferential(x)
    if not lo_dom <= x <= hi_dom:
        assert lo == INF and hi == -INF
        return
    if np.min(np.abs(q - x)) > 1e-4:
        h = 1e-6
        fd = (reference_psi(psi, x + h) - reference_psi(psi, x - h)) / (2 * h)
        assert lo == hi
        np.testing.assert_allclose(lo, fd, rtol=1e-5, atol=1e-5)
    j = int(np.argmin(np.abs(q - x)))
    at = psi.subdifferential(q[j])
    pair = psi.slopes[j], psi.slopes[j + 1]
    assert at == (min(pair), max(pair))


def test_subdifferential_shapes_and_nan():
    psi = PAR([0.0], [0.0], -1.0, 1.0)
    lo, hi = psi.subdifferential(np.array([-2.0, 0.0, 3.0, np.nan]))
    np.testing.assert_array_equal(lo, [-1.0, -1.0, 1.0, np.nan])
    np.testing.assert_array_equal(hi, [-1.0, 1.0, 1.0, np.nan])


@given(pars(), st.floats(-8, 8))
def test_conjugate_vs_brute_force(psi, u):
    q = psi.breakpoints
    value = psi.conjugate(u)
    s0, sm = psi.slopes[0], psi.slopes[-1]
    if not s0 <= u <= sm:
        assert value == INF
        return
    lo, hi = psi.domain
    x = np.linspace(max(lo, q[0] - 50.0), min(hi, q[-1] + 50.0), 200001)
    brute = np.max(u * x - reference_psi(psi, x))
    h = x[1] - x[0]
    lipschitz = np.max(np.abs(psi.slopes[np.isfinite(psi.slopes)] - u), initial=0.0) + abs(u)
    assert brute <= value + 1e-9 * (1 + abs(value))
    assert value <= brute + lipschitz * h + 1e-9 * (1 + abs(value))


# ---------------------------------------------------------------------- dunder
def test_repr_eq_hash_pickle():
    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    text = repr(psi)
    assert "PAR(" in text and "convex" in text and "breakpoints" in text
    assert psi == pickle.loads(pickle.dumps(psi))
    assert hash(psi) == hash(pickle.loads(pickle.dumps(psi)))
    assert psi != cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
    assert psi != "psi"


@given(breakpoints(min_size=2))
def test_max_affine_reproduces_convex_psi(q):
    psi = PAR.interpolate(np.abs, q)
    a, b = psi.max_affine()
    x = np.linspace(q[0] - 3, q[-1] + 3, 301)
    np.testing.assert_allclose(np.max(a[:, None] * x + b[:, None], axis=0), psi(x), atol=1e-9)
    with pytest.raises(ValueError, match="convex"):
        cvxpar.pars.sawtooth([0.0, 1.0]).max_affine()


@pytest.mark.parametrize("dtype, out", [(np.float16, np.float16), (np.longdouble, np.float64), (">f8", np.float64), (">f4", np.float32)])
def test_evaluation_and_subdifferential_dtypes(dtype, out):
    """float16 stays float16, longdouble is rounded to float64, big-endian reads as native;
    the values match the reference evaluation of the same (rounded) inputs."""
    psi = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 7), 2.0)
    x = np.linspace(-3, 3, 41).astype(dtype)
    x_native = x.astype(out)
    got = psi(x)
    assert got.dtype == out
    np.testing.assert_allclose(got, reference_psi(psi, x_native), rtol=2e-3 if out == np.float16 else 1e-6)
    lo, hi = psi.subdifferential(x)
    lo_ref, hi_ref = psi.subdifferential(x_native.astype(np.float64))
    assert lo.dtype == hi.dtype == out
    np.testing.assert_array_equal(lo, lo_ref.astype(out))
    np.testing.assert_array_equal(hi, hi_ref.astype(out))


def test_signed_zeros_hash_equal():
    """-0.0 == 0.0, so PARs that differ only in the sign of a zero are equal and must hash equal."""
    a = PAR([-0.0, 1.0], [-0.0, 1.0], -1.0, 2.0)
    b = PAR([0.0, 1.0], [0.0, 1.0], -1.0, 2.0)
    assert a == b and hash(a) == hash(b)
    assert len({a, b, cvxpar.pars.l1([-0.0]), cvxpar.pars.l1([0.0])}) == 2


# ---------------------------------------------------------------------- what consumers ask the PAR
def _one_sided_slopes(psi, x, h=1e-6):
    """Left and right difference quotients of the independent reference psi (exact up to rounding
    away from breakpoints closer than h, which the strategies keep 1e-2 apart)."""
    fx = reference_psi(psi, x)
    with np.errstate(invalid="ignore"):
        left = (fx - reference_psi(psi, x - h)) / h
        right = (reference_psi(psi, x + h) - fx) / h
    return left, right


def _points(psi, rng, n=40):
    """Points on breakpoints, inside pieces and beyond the outer breakpoints, within the domain."""
    q = psi.breakpoints
    x = np.concatenate([q, rng.uniform(q[0] - 2.0, q[-1] + 2.0, n)])
    lo, hi = psi.domain
    return x[(x >= lo) & (x <= hi)]


@given(pars(), st.integers(0, 2**32 - 1))
def test_subdifferential_distance_against_difference_quotients(psi, seed):
    """dist(c, lam dpsi(x) + N_[l,u](x)) with dpsi the hull of the one-sided slopes and the normal cone's
    half-lines at the bounds, from difference quotients of an independent psi."""
    rng = np.random.default_rng(seed)
    x = _points(psi, rng)
    c = rng.uniform(-10.0, 10.0, x.size)
    lam = rng.uniform(0.0, 3.0, x.size)
    lam[: x.size // 4] = 0.0
    left, right = _one_sided_slopes(psi, x)
    lo_ref, hi_ref = np.fmin(left, right), np.fmax(left, right)  # an infinite quotient at a wall
    lo_ref = np.where(np.isfinite(lo_ref), lo_ref, -np.inf)
    hi_ref = np.where(np.isfinite(hi_ref), hi_ref, np.inf)
    lo_ref = np.where(lam > 0, lam * np.where(np.isfinite(lo_ref), lo_ref, 0.0) + np.where(np.isfinite(lo_ref), 0.0, lo_ref), 0.0)
    hi_ref = np.where(lam > 0, lam * np.where(np.isfinite(hi_ref), hi_ref, 0.0) + np.where(np.isfinite(hi_ref), 0.0, hi_ref), 0.0)
    lower = float(np.median(x))
    lo_ref = np.where(x <= lower, -np.inf, lo_ref)
    # lam = 0 at a wall: 0 * dpsi is the whole half-line of the wall's side
    at_wall = (x == psi.domain[0]) | (x == psi.domain[1])
    dist_ref = np.maximum(np.maximum(lo_ref - c, c - hi_ref), 0.0)
    got = psi.subdifferential_distance(x, c, lam, lower=lower)
    ok = ~at_wall | (lam > 0)
    np.testing.assert_allclose(got[ok], dist_ref[ok], atol=1e-5)
    lo, hi = psi.scaled_subdifferential(x, lam, lower=lower)
    assert np.all(lo[x <= lower] == -np.inf)
    np.testing.assert_array_equal(got, np.maximum(np.maximum(lo - c, c - hi), 0.0))


def test_subdifferential_distance_outside_the_domain_and_on_columns():
    psi = PAR([-1.0, 1.0], [0.0, 0.0], -INF, INF)
    assert psi.subdifferential_distance(np.array([2.0]), np.array([0.0]), 1.0)[0] == INF
    # dpsi(x) is empty outside the domain, and so is dpsi(x) + N_[l, u](x) for any bounds, even when
    # both bounds sit at x (the normal cone is then the whole line): the distance stays +inf
    x = np.array([2.0, 2.0, 2.0, -3.0])
    lower, upper = np.array([2.0, -INF, 2.0, -3.0]), np.array([2.0, 2.0, INF, -3.0])
    for lam in (1.0, 0.0, np.array([1.0, 0.0, 2.0, 0.0])):
        dist = psi.subdifferential_distance(x, np.zeros(4), lam, lower, upper)
        np.testing.assert_array_equal(dist, INF)
        lo, hi = psi.scaled_subdifferential(x, lam, lower, upper)
        assert np.all(lo > hi)
    # a (k,) row of weights against (n, k) columns, as the batched solver uses it
    l1 = cvxpar.pars.l1()
    x = np.array([[0.0, 0.0], [1.0, -1.0]])
    c = np.array([[0.5, 0.5], [0.0, 0.0]])
    np.testing.assert_allclose(l1.subdifferential_distance(x, c, np.array([0.2, 2.0])), [[0.3, 0.0], [0.2, 2.0]])


def _dpsi_at_zero(psi):
    """[lo, hi] = dpsi(0) read off the defining data by a scan (the slopes on both sides of 0)."""
    q, s = list(psi.breakpoints), list(psi.slopes)
    k = sum(1 for v in q if v < 0.0)  # pieces: s[k] is the slope just right of q[k-1]
    if k < len(q) and q[k] == 0.0:
        return min(s[k], s[k + 1]), max(s[k], s[k + 1])
    return s[k], s[k]


@given(pars(walls=False), st.integers(0, 2**32 - 1))
def test_lam_max_is_the_smallest_lam_making_zero_critical(psi, seed):
    """Against Fermat's rule at 0, c_i in lam [lo, hi], checked on c_i / lam with dpsi(0) from a scan of the data."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-3.0, 3.0, 5) * rng.integers(0, 2, 5)
    lo, hi = _dpsi_at_zero(psi)

    def critical(lam, rtol=0.0):
        if lam == 0:
            return bool(np.all(c == 0))
        u = c / lam
        slack = rtol * np.maximum(np.abs(u), 1.0)
        return bool(np.all((lo - slack <= u) & (u <= hi + slack)))

    top = psi.lam_max(c)
    if np.isfinite(top):
        assert critical(top, rtol=1e-12)
        if top > 0:
            assert not critical(top * (1 - 1e-6))
    else:
        assert not any(critical(lam) for lam in np.concatenate(([0.0], np.geomspace(1e-9, 1e12, 400))))


def test_lam_max_of_the_lasso_and_outside_the_domain():
    assert cvxpar.pars.l1().lam_max(np.array([1.0, -3.0, 0.0])) == 3.0
    assert cvxpar.pars.l1().lam_max(np.zeros(3)) == 0.0
    assert PAR([1.0, 2.0], [0.0, 0.0], -INF, INF).lam_max(np.ones(2)) == INF


@given(pars(), st.integers(0, 2**32 - 1))
def test_piece_queries_against_a_scan_of_the_breakpoints(psi, seed):
    rng = np.random.default_rng(seed)
    x = _points(psi, rng)
    q = psi.breakpoints
    k_ref = np.array([int(np.sum(q <= v)) for v in x])
    np.testing.assert_array_equal(psi.piece_index(x), k_ref)
    np.testing.assert_array_equal(psi.on_breakpoint(x), np.isin(x, q))
    upper = float(np.max(x))
    np.testing.assert_array_equal(psi.on_breakpoint(x, upper=upper), np.isin(x, q) | (x == upper))
    s, lo, hi = psi.piece(x, upper=upper)
    qpad = np.concatenate(([-INF], q, [INF]))
    slopes = np.where(np.isfinite(psi.slopes), psi.slopes, 0.0)
    np.testing.assert_array_equal(s, slopes[k_ref])
    np.testing.assert_array_equal(lo, qpad[k_ref])
    np.testing.assert_array_equal(hi, np.minimum(qpad[k_ref + 1], upper))
    inside = (lo < x) & (x < hi) & np.isfinite(lo) & np.isfinite(hi)
    mid = 0.5 * (lo + hi)
    np.testing.assert_allclose(reference_psi(psi, mid[inside]) - reference_psi(psi, x[inside]),
                               s[inside] * (mid[inside] - x[inside]), atol=1e-9)


@given(pars(), st.floats(-12, 12), st.floats(0, 10))
def test_value_range_against_dense_sampling(psi, lower, width):
    upper = lower + width
    low, high = psi.value_range(lower, upper)
    dom = psi.domain
    lo_, hi_ = max(lower, dom[0]), min(upper, dom[1])
    if lo_ > hi_:
        assert (low, high) == (INF, -INF)
        return
    q = psi.breakpoints
    grid = np.concatenate([np.linspace(lo_, hi_, 2001), q[(q >= lo_) & (q <= hi_)]])
    vals = reference_psi(psi, grid)
    assert low == pytest.approx(vals.min(), abs=1e-9) and high == pytest.approx(vals.max(), abs=1e-9)
    unbounded_low, _ = psi.value_range(-INF, upper)
    if np.isfinite(psi.left_slope) and psi.left_slope > 0:
        assert unbounded_low == -INF


@given(pars(), st.floats(-10, 10), st.floats(0, 6))
def test_restrict_is_psi_plus_the_indicator(psi, lower, width):
    upper = lower + width
    boxed = psi.restrict(lower, upper)
    dom = psi.domain
    if max(lower, dom[0]) > min(upper, dom[1]):
        assert boxed is None
        return
    x = np.concatenate([np.linspace(lower - 1.0, upper + 1.0, 301), psi.breakpoints, [lower, upper]])
    want = np.where((x >= lower) & (x <= upper), reference_psi(psi, x), INF)
    np.testing.assert_allclose(boxed(x), want, atol=1e-9)
    assert boxed.domain == (max(lower, dom[0]), min(upper, dom[1]))


def test_restrict_gives_the_exact_boxed_prox_of_a_nonconvex_psi():
    """Brute force: argmin over a fine grid of the box of t psi(x) + (x - v)^2 / 2."""
    saw = cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5))
    boxed = saw.restrict(-0.6, 0.9)
    assert boxed.breakpoints.tolist() == [-0.6, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 0.9]
    grid = np.linspace(-0.6, 0.9, 150001)
    for v in np.linspace(-2.0, 2.0, 41):
        obj = 0.8 * reference_psi(saw, grid) + 0.5 * (grid - v) ** 2
        best = grid[np.argmin(obj)]
        got = boxed.prox(np.array([v]), 0.8)[0]
        assert 0.8 * reference_psi(saw, got) + 0.5 * (got - v) ** 2 <= obj.min() + 1e-9
        assert abs(got - best) < 1e-4 or np.sum(np.isclose(obj, obj.min(), atol=1e-9)) > 1  # ties


def test_weighted_sum_is_the_pointwise_sum():
    ridge = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 7), 2.0)
    psi = PAR.weighted_sum([ridge, mcp, PAR([0.0], [0.0], -1.0, 1.0)], [1.0, 0.5, 2.0])
    v = np.linspace(-3, 3, 301)
    np.testing.assert_allclose(psi(v), reference_psi(ridge, v) + 0.5 * reference_psi(mcp, v) + 2 * np.abs(v), atol=1e-12)


def test_weighted_sum_intersects_hard_domains_and_refuses_disjoint_ones():
    ridge = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
    boxed = PAR([-1.0, 1.0], [0.0, 0.0], -INF, INF)
    psi = PAR.weighted_sum([ridge, boxed], [1.0, 1.0])
    assert psi.domain == (-1.0, 1.0)
    assert psi(np.array([0.5]))[0] == pytest.approx(ridge(np.array([0.5]))[0])
    assert psi(np.array([1.5]))[0] == INF
    with pytest.raises(ValueError, match="do not intersect"):
        PAR.weighted_sum([boxed, PAR([2.0, 3.0], [0.0, 0.0], -INF, INF)], [1.0, 1.0])
    with pytest.raises(ValueError, match="nonnegative"):
        PAR.weighted_sum([ridge], [-1.0])


@pytest.mark.parametrize(("lower", "upper"), [(np.nan, 1.0), (0.0, np.nan)])
def test_restrict_refuses_nan_bounds(lower, upper):
    with pytest.raises(ValueError, match="numeric bounds"):
        cvxpar.pars.l1([0.0]).restrict(lower, upper)


def test_restrict_of_mcp_matches_brute_force_prox():
    base = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 5), 2.0)
    psi = base.restrict(-0.6, 0.9)
    v = np.linspace(-2.0, 2.0, 41)
    grid = np.linspace(-0.6, 0.9, 150_001)  # the prox of psi + indicator([-0.6, 0.9]) by brute force
    brute = grid[np.argmin(reference_psi(base, grid)[None, :] + 0.5 * (grid[None, :] - v[:, None]) ** 2, axis=1)]
    np.testing.assert_allclose(psi.prox(v), brute, atol=2e-5)
