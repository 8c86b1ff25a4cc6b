"""cvxpar._backend.array_namespace: NumPy itself for float64 NumPy arrays (NumPy >= 2.1), else array_api_compat's answer."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

from cvxpar import _backend


def test_float64_numpy_arrays_get_numpy_itself():
    if np.lib.NumpyVersion(np.__version__) < "2.1.0":
        pytest.skip("NumPy < 2.1 goes through array_api_compat")
    assert _backend.array_namespace(np.zeros(3), np.ones((2, 2))) is np
    assert _backend.is_numpy_namespace(np)


@pytest.mark.parametrize("arrays", [
    (np.zeros(3, dtype=np.float32),),
    (np.zeros(3), np.arange(4)),
    (np.zeros((2, 2)), np.ones(1, dtype=bool)),
])
def test_other_numpy_arrays_get_array_api_compats_numpy_namespace(arrays):
    assert _backend.array_namespace(*arrays) is array_api_compat.array_namespace(*arrays)


def test_numpy_and_the_compat_namespace_agree_on_float64():
    """The functions cvxpar calls return the same values and dtypes in both namespaces for float64 input."""
    compat = array_api_compat.array_namespace(np.zeros(1))
    rng = np.random.default_rng(0)
    x, lo, hi = rng.standard_normal(7), -0.5 * np.ones(7), 0.5 * np.ones(7)
    M = rng.standard_normal((4, 4))
    M = M @ M.T + 4 * np.eye(4)
    for name, args, kw in [
        ("clip", (x, lo, hi), {}), ("clip", (x, -0.5, None), {}), ("where", (x > 0, x, 0.0), {}),
        ("sum", (x,), {}), ("max", (np.abs(x),), {}), ("cumulative_sum", (x,), {}),
        ("astype", (x, np.int32), {}), ("full_like", (x, 2.0), {}), ("take", (x, np.array([2, 0])), {}),
        ("concat", ([x, x],), {}), ("searchsorted", (np.sort(x), x), {"side": "right"}),
        ("reshape", (x, (7, 1)), {}), ("nonzero", (x > 0,), {}),
    ]:
        want, got = getattr(compat, name)(*args, **kw), getattr(np, name)(*args, **kw)
        for w, g in zip(want if isinstance(want, tuple) else [want], got if isinstance(got, tuple) else [got],
                        strict=True):
            assert np.asarray(g).dtype == np.asarray(w).dtype and np.array_equal(g, w), name
    b = rng.standard_normal(4)
    np.testing.assert_array_equal(np.linalg.solve(M, b), compat.linalg.solve(M, b))
    np.testing.assert_array_equal(np.linalg.cholesky(M), compat.linalg.cholesky(M))


def test_other_namespaces_and_mixtures_go_through_array_api_compat():
    strict = pytest.importorskip("array_api_strict")
    a = strict.asarray([1.0, 2.0])
    assert _backend.array_namespace(a) is array_api_compat.array_namespace(a)
    with pytest.raises(TypeError):
        array_api_compat.array_namespace(a, np.zeros(2))
    with pytest.raises(TypeError):
        _backend.array_namespace(a, np.zeros(2))
    assert _backend.array_namespace(np.float64(1.0)) is array_api_compat.array_namespace(np.float64(1.0))
