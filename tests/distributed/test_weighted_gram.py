"""The weighted Gram a^T diag(w) a of a row chunk in bounded row blocks: exact, and no chunk-sized temporary."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from cvxpar.distributed._weighted_gram import weighted_gram
from cvxpar.losses import Logistic
from cvxpar.losses._operator import ROW_BLOCK_BYTES, block_rows

da = pytest.importorskip("dask.array")


@pytest.mark.parametrize("order, dtype", [("C", np.float64), ("F", np.float64), ("C", np.float32)])
@pytest.mark.parametrize("signs", ["nonnegative", "mixed"])
@pytest.mark.parametrize("columns", [None, [5, 0, 3]], ids=["all", "subset"])
def test_the_weighted_gram_equals_the_dense_product(order, dtype, signs, columns):
    d = 7
    rows = 2 * block_rows(d) + 13  # three row blocks, the last one short
    rng = np.random.default_rng(1)
    a = np.asarray(rng.standard_normal((rows, d)), dtype=dtype, order=order)
    w = rng.random(rows)
    w[::5] = 0.0
    if signs == "mixed":  # a generalized h'' of a nonconvex h
        w -= 0.4
    af = a.astype(np.float64)[:, slice(None) if columns is None else columns]
    want = af.T @ (w[:, None] * af)
    got = weighted_gram(a, w, None if columns is None else np.asarray(columns))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-9 * np.abs(want).max())
    np.testing.assert_array_equal(got, got.T)


def test_a_strict_array_api_chunk_gives_the_numpy_result():
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(2)
    a, w = rng.standard_normal((block_rows(4) + 3, 4)), rng.random(block_rows(4) + 3)
    strict = weighted_gram(xps.asarray(a), xps.asarray(w), np.array([3, 1]))
    assert type(strict).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(strict), weighted_gram(a, w, np.array([3, 1])), rtol=1e-12)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_newton_pass_forms_a_chunks_hessian_without_a_chunk_sized_copy():
    from cvxpar.distributed.loss import DistributedLoss, _chunk_hessian_block, _chunk_values

    rows, d = 50_000, 60  # a 24 MB chunk
    rng = np.random.default_rng(3)
    a = rng.standard_normal((rows, d))
    y = np.where(rng.standard_normal((rows, 1)) > 0, 1.0, -1.0)
    x = 0.1 * rng.standard_normal(d)
    template = DistributedLoss(Logistic(da.from_array(a[:10], chunks=(5, d)), da.from_array(y[:10, 0], chunks=5)))._template
    kw = dict(template=template, x=x)
    z = a @ x
    w = np.exp(-np.logaddexp(0.0, y[:, 0] * z) - np.logaddexp(0.0, -y[:, 0] * z))  # logistic h''
    out = _chunk_values(a, y, hessian=True, **kw)
    np.testing.assert_allclose(out[0, d + 3:].reshape(d, d), a.T @ (w[:, None] * a), rtol=1e-10, atol=1e-8)
    # the pass without the Hessian holds n-vectors only (z, h, h', ...): the Hessian may add row blocks, not a chunk
    base = _peak_bytes(lambda: _chunk_values(a, y, **kw))
    with_hessian = _peak_bytes(lambda: _chunk_values(a, y, hessian=True, **kw))
    block = _peak_bytes(lambda: _chunk_hessian_block(a, y, idx=np.arange(0, d, 2), **kw))
    assert with_hessian < base + 3 * ROW_BLOCK_BYTES < base + a.nbytes / 2, (base, with_hessian)
    assert block < base + 3 * ROW_BLOCK_BYTES, (base, block)
