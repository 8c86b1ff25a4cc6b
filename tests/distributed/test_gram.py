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


@pytest.mark.parametrize("order, dtype", [("C", np.float64), ("F", np.float64), ("C", np.float32)])
def test_the_partial_gram_of_a_numpy_chunk_is_exact_and_copies_no_chunk(order, dtype):
    import tracemalloc

    from cvxpar.distributed.gram import _chunk_gram, _symmetric

    rows, d = 50000, 30
    rng = np.random.default_rng(5)
    a = np.asarray(rng.standard_normal((rows, d)), dtype=dtype, order=order)
    b = rng.standard_normal((rows, 1))
    m = np.column_stack([a.astype(np.float64), b, np.ones(rows)])
    tracemalloc.start()
    part = _chunk_gram(a, b)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(_symmetric(part.reshape(d + 2, d + 2)), m.T @ m, rtol=1e-12, atol=1e-8)
    # [a | b | 1] (m.nbytes = 12.8 MB) is never formed: beyond a float64 copy of a float32 chunk, a (rows, 2)
    # buffer (0.8 MB) and (d + 2)^2 matrices; 2 MB of room for what other threads of the process allocate meanwhile
    copy = a.size * 8 if dtype == np.float32 else 0
    assert peak < copy + 2 * b.nbytes + 2 * 1024**2 < copy + m.nbytes, peak


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


def test_every_pass_of_the_distributed_loss_checks_the_rows_it_saw():
    from cvxpar.distributed import DistributedLoss
    from cvxpar.distributed.loss import _DualPoint

    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((120, 3)), rng.standard_normal(120)
    x = rng.standard_normal(3)
    for call in (lambda dl: dl.hvp(x, np.ones(3)), lambda dl: dl.hessian_block(x, [0, 2]),
                 lambda dl: dl.conjugate(_DualPoint(x, 0.5))):
        loss = _lazy(A, b)
        dl = DistributedLoss(loss)
        np.testing.assert_allclose(dl.hvp(x, np.ones(3)), A.T @ (A @ np.ones(3)), rtol=1e-12)
        # the data source now loses a row of its first chunk (A and the target alike)
        loss.op.A = loss.op.A.map_blocks(_drop_last_row_of_block_0, dtype=float)
        loss.target = loss.target.map_blocks(_drop_last_row_of_block_0, dtype=float)
        with pytest.raises(RuntimeError, match="saw 119 rows, but A has n_samples = 120: A row chunk 0 of 3"):
            call(dl)


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
