"""Products of a Dask matrix stored in blocks with in-memory points: equal to NumPy's, one task per block."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from cvxpar.losses.dask_blocks import block_adjoint, block_columns, block_products  # noqa: E402


@pytest.fixture
def blocked():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((50, 23))
    return A, da.from_array(A, chunks=(20, 9))  # 3 x 3 blocks, the last row and column chunks short


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_block_products_and_adjoints_equal_numpys(blocked, dtype):
    A, blocks = blocked
    A, blocks = A.astype(dtype), blocks.astype(dtype)
    rng = np.random.default_rng(5)
    X, R = rng.standard_normal((23, 3)), rng.standard_normal((50, 2))
    np.testing.assert_allclose(block_products(blocks, X).compute(), A.astype(np.float64) @ X, rtol=1e-12)
    np.testing.assert_allclose(block_adjoint(blocks, R).compute(), A.astype(np.float64).T @ R, rtol=1e-12)
    lazy_r = da.from_array(R, chunks=(25, 2))  # a Dask R chunked otherwise is aligned with the row chunks
    np.testing.assert_allclose(block_adjoint(blocks, lazy_r).compute(), A.astype(np.float64).T @ R, rtol=1e-12)


def test_one_task_per_block_then_a_tree_sum(blocked):
    _, blocks = blocked
    graph = dict(block_products(blocks, np.ones((23, 1))).__dask_graph__())
    products = [k for k in graph if isinstance(k, tuple) and str(k[0]).startswith("block_matmul-")]
    assert len(products) == 9  # one per stored block


@pytest.mark.parametrize("idx", [[0, 8, 9, 22], [22, 3, 10, 4]], ids=["sorted", "unsorted"])
def test_block_columns_gathers_the_columns_in_the_order_asked(blocked, idx):
    A, blocks = blocked
    np.testing.assert_array_equal(block_columns(blocks, np.array(idx)).compute(), A[:, idx])
