"""The per-chunk functions of the passes (row chunks, and the blocks of wide column-chunked data) use only
the chunk's Array API: run on array_api_strict chunks (a namespace with nothing beyond the standard) they
give the NumPy results; CuPy chunks (a GPU) run the whole solve on the device."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import LeastSquares, Logistic

da = pytest.importorskip("dask.array")
xps = pytest.importorskip("array_api_strict")

from cvxpar.distributed.gram import _chunk_gram  # noqa: E402
from cvxpar.distributed.loss import DistributedLoss, _chunk_hessian_block, _chunk_hvp, _chunk_values  # noqa: E402
from cvxpar.losses.dask_blocks import _block_matmul, _block_rmatmul, _block_take  # noqa: E402
from cvxpar.losses.dask_chunks import _summary  # noqa: E402


@pytest.fixture
def chunk():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((40, 5))
    y = np.where(rng.standard_normal(40) > 0, 1.0, -1.0)[:, None]
    return a, y, rng.standard_normal(5), rng.standard_normal(5)


def _strict(v):
    return xps.asarray(v)


def _host(v):
    return np.asarray(v)


def test_the_chunk_functions_run_on_a_strict_array_api_namespace(chunk):
    a, y, x, d = chunk
    template = DistributedLoss(Logistic(da.from_array(a, chunks=(20, 5)), da.from_array(y[:, 0], chunks=20)))._template
    pairs = [
        (_chunk_gram, {}),
        (_chunk_values, dict(template=template, x=x, scale=0.5, hessian=True)),
        (_chunk_hessian_block, dict(template=template, x=x, idx=np.array([0, 3]))),
        (_chunk_hvp, dict(template=template, x=x, d=d)),
    ]
    for fn, kw in pairs:
        strict = fn(_strict(a), _strict(y), **kw)
        assert type(strict).__module__.startswith("array_api_strict")  # computed in the chunk's namespace
        got, want = _host(strict), fn(a, y, **kw)
        if fn is _chunk_gram:  # only the upper triangle of a partial Gram is used (and filled on NumPy chunks)
            got, want = (np.triu(v.reshape(7, 7)) for v in (got, want))
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(_summary(_strict(a)), [40, 1.0])


def test_the_block_functions_of_wide_data_run_on_a_strict_array_api_namespace(chunk):
    a, y, x, _ = chunk
    a32 = a.astype(np.float32)
    X, R = np.column_stack([x, -x]), np.column_stack([y[:, 0], 2.0 * y[:, 0]])
    for fn, block, arg in ((_block_matmul, a, X), (_block_rmatmul, a, R), (_block_matmul, a32, X),
                           (_block_take, a, np.array([4, 1]))):
        strict = fn(_strict(block), arg) if fn is not _block_take else fn(_strict(block), cols=arg)
        assert type(strict).__module__.startswith("array_api_strict")  # the point was moved to the block's namespace
        want = fn(block, arg) if fn is not _block_take else fn(block, cols=arg)
        np.testing.assert_allclose(_host(strict), want, rtol=1e-6 if block is a32 else 1e-13)
    np.testing.assert_allclose(_block_matmul(a, X)[:, 0, :], a @ X, rtol=1e-13)
    np.testing.assert_allclose(_block_rmatmul(a, R)[:, 0, :], a.T @ R, rtol=1e-13)


@pytest.mark.gpu
def test_cupy_chunks_solve_on_the_gpu_like_numpy(cp_gpu):
    rng = np.random.default_rng(9)
    A = rng.standard_normal((2000, 10))
    b = A @ rng.choice(np.linspace(-1.5, 1.5, 7), 10) + 0.5 * rng.standard_normal(2000)
    y = np.where(b > 0, 1.0, -1.0)
    psi, box = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)), Box(-1.0, 1.0)
    on_gpu = da.from_array(A, chunks=(500, 10)).map_blocks(cp_gpu.asarray)
    for loss, lazy, lam in ((LeastSquares(A, b), LeastSquares(on_gpu, b), 100.0),
                            (Logistic(A, y), Logistic(on_gpu, y), 10.0)):
        ref = cvxpar.solve(loss, psi, lam, box)
        res = cvxpar.solve(lazy, psi, lam, box)
        assert isinstance(res.x, np.ndarray) and res.status == ref.status == "optimal"
        assert abs(res.objective - ref.objective) <= 1e-9 * abs(ref.objective)
        np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-7)


@pytest.mark.gpu
def test_wide_cupy_blocks_solve_block_by_block_on_the_gpu_like_numpy(cp_gpu):
    from cvxpar.losses.dask_operator import GRAM_MAX_FEATURES

    rng = np.random.default_rng(12)
    n, d = 60, GRAM_MAX_FEATURES + 100
    A = rng.standard_normal((n, d)) / np.sqrt(n)
    b = A[:, :20] @ rng.choice(np.linspace(-1.5, 1.5, 7), 20) + 0.1 * rng.standard_normal(n)
    psi, box = cvxpar.pars.l1(), Box(-1.0, 1.0)
    on_gpu = da.from_array(A, chunks=(20, 700)).map_blocks(cp_gpu.asarray)
    ref = cvxpar.solve(LeastSquares(A, b), psi, 1.0, box, method="fista")
    res = cvxpar.solve(LeastSquares(on_gpu, b), psi, 1.0, box, method="fista")
    assert res.info["route"] == "distributed products" and isinstance(res.x, np.ndarray)
    assert res.status == ref.status == "optimal"
    assert abs(res.objective - ref.objective) <= 1e-9 * abs(ref.objective)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-7)
