"""The one-pass Gram of [A | b] and the in-memory least squares it defines (local scheduler)."""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar.losses import LeastSquares

da = pytest.importorskip("dask.array")

from cvxpar.distributed.gram import equivalent_least_squares, gram_pass  # noqa: E402


def _lazy(A, b, rows=40):
    return LeastSquares(da.from_array(A, chunks=(rows, A.shape[1])), da.from_array(b, chunks=rows))


@pytest.mark.parametrize("collinear", [False, True])
def test_equivalent_least_squares_has_the_same_value_and_gradient(collinear):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((301, 9))
    if collinear:  # a singular Gram: the eigendecomposition branch
        A[:, 4] = 2.0 * A[:, 1] - A[:, 7]
    b = rng.standard_normal(301)
    loss = _lazy(A, b)
    gram = gram_pass(loss.op, loss.target)
    np.testing.assert_allclose(gram.G, A.T @ A, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(gram.c, A.T @ b, rtol=1e-12, atol=1e-10)
    assert gram.beta == pytest.approx(b @ b, rel=1e-13) and gram.rows_seen == 301
    R, t, kappa = equivalent_least_squares(gram)
    small, full = LeastSquares(R, t), LeastSquares(A, b)
    for x in rng.standard_normal((5, 9)):
        assert small.value(x) + kappa == pytest.approx(full.value(x), rel=1e-10)
        np.testing.assert_allclose(small.grad(x), full.grad(x), rtol=1e-9, atol=1e-9)


def _drop_last_row_of_block_0(block, block_info=None):
    return block[:-1] if block_info[0]["chunk-location"][0] == 0 else block


def test_a_pass_that_sees_fewer_rows_than_n_is_an_error():
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((120, 3)), rng.standard_normal(120)
    loss = _lazy(A, b)
    # a data source that silently loses a row of its first chunk (A and the target alike)
    loss.op.A = loss.op.A.map_blocks(_drop_last_row_of_block_0, dtype=float)
    lossy_target = loss.target.map_blocks(_drop_last_row_of_block_0, dtype=float)
    with pytest.raises(RuntimeError, match=r"saw 119 rows, but A has n_samples = 120: A row chunk 0 of 3 "
                                            r"\(rows 0:40\) delivered 39 rows; b row chunk 0 of 3 \(rows 0:40\) "
                                            "delivered 39 rows"):
        gram_pass(loss.op, lossy_target)
    loss.target = lossy_target
    from cvxpar.distributed import DistributedLoss

    with pytest.raises(RuntimeError, match="saw 119 rows.*A row chunk 0 of 3"):
        DistributedLoss(loss).value(np.ones(3))


def test_non_finite_data_are_reported_by_the_pass():
    rng = np.random.default_rng(2)
    A, b = rng.standard_normal((90, 4)), rng.standard_normal(90)
    A[37, 2] = np.inf
    loss = _lazy(A, b)  # nothing is read at construction: the pass finds it
    with pytest.raises(ValueError, match=r"NaN or inf entries in A row chunk 0 of 3 \(rows 0:40\)"):
        gram_pass(loss.op, loss.target)
    from cvxpar.distributed import DistributedLoss

    with pytest.raises(ValueError, match="NaN or inf"):
        DistributedLoss(loss).value(np.zeros(4))
