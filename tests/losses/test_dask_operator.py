"""Losses on Dask arrays (local threaded scheduler): same values and gradients as in memory, and
clear errors for data the operator cannot take."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar
from cvxpar.losses import Huber, LeastSquares, Logistic

da = pytest.importorskip("dask.array")


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((203, 7))
    b = A @ rng.standard_normal(7) + 0.3 * rng.standard_normal(203)
    return A, b, np.where(b > 0, 1.0, -1.0), rng.standard_normal(7)


@pytest.mark.parametrize("cls", [LeastSquares, Logistic, Huber])
def test_dask_loss_matches_the_numpy_loss(cls, data):
    A, b, y, x = data
    t = y if cls is Logistic else b
    mem = cls(A, t)
    lazy = cls(da.from_array(A, chunks=(50, 4)), da.from_array(t, chunks=31))  # columns rechunked, target aligned
    assert lazy.op.kind == "dask" and len(lazy.op.A.chunks[1]) == 1
    assert lazy.target.chunks[0] == lazy.op.A.chunks[0]
    assert lazy.value(x) == pytest.approx(mem.value(x), rel=1e-13)
    g = lazy.grad(x)
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, mem.grad(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lazy.coordinate_lipschitz(), mem.coordinate_lipschitz(), rtol=1e-12)
    # exact top eigenvalue of A^T A (Gram) vs the padded power iteration in memory: within the pad
    exact = np.linalg.norm(A, 2) ** 2
    assert lazy.norm2_squared() == pytest.approx(exact, rel=1e-12)
    assert exact <= mem.norm2_squared() <= 1.06 * exact


def test_numpy_target_and_integer_data_are_accepted(data):
    A, b, _, x = data
    lazy = LeastSquares(da.from_array(np.rint(A).astype(np.int64), chunks=(64, 7)), b)  # NumPy target, int A
    np.testing.assert_allclose(lazy.grad(x), LeastSquares(np.rint(A), b).grad(x), rtol=1e-12)


def test_public_certificate_on_dask_data_equals_the_in_memory_one(data):
    A, b, _, x = data
    psi, lam = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7)), 3.0
    mem = cvxpar.certificate(LeastSquares(A, b), psi, lam, x)
    lazy = cvxpar.certificate(LeastSquares(da.from_array(A, chunks=(50, 7)), b), psi, lam, x)
    assert lazy.objective == pytest.approx(mem.objective, rel=1e-13)
    assert lazy.residual == pytest.approx(mem.residual, rel=1e-10)
    assert lazy.gap == pytest.approx(mem.gap, rel=1e-10)


def test_target_of_another_length_is_refused(data):
    A, b, _, _ = data
    Ad = da.from_array(A, chunks=(50, 7))
    with pytest.raises(ValueError, match="length n_samples = 203"):
        LeastSquares(Ad, b[:-1])
    with pytest.raises(ValueError, match="length n_samples = 203"):
        LeastSquares(Ad, da.from_array(np.ones(204), chunks=50))


def test_unknown_chunk_sizes_are_refused_with_the_fix(data):
    A, b, _, _ = data
    Ad = da.from_array(A, chunks=(50, 7))
    masked = Ad[Ad[:, 0] > -np.inf]  # boolean indexing: the row chunks become NaN
    assert any(np.isnan(c) for c in masked.chunks[0])
    with pytest.raises(ValueError, match="unknown chunk sizes.*compute_chunk_sizes"):
        LeastSquares(masked, b)
    bd = da.from_array(b, chunks=50)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        LeastSquares(Ad, bd[bd > -np.inf])
    LeastSquares(masked.compute_chunk_sizes(), b)  # the fix the message names works


def test_non_numeric_data_are_refused(data):
    A, b, _, _ = data
    with pytest.raises(TypeError, match="must hold real numbers.*dtype"):
        LeastSquares(da.from_array(A.astype(str), chunks=(50, 7)), b)
    with pytest.raises(TypeError, match="must hold real numbers"):
        LeastSquares(da.from_array(A, chunks=(50, 7)), da.from_array(b.astype(str), chunks=50))
    with pytest.raises(TypeError, match=r"A must hold real numbers; got dtype complex128.*A\.real"):
        LeastSquares(da.from_array(A + 1j, chunks=(50, 7)), b)
    with pytest.raises(TypeError, match="must hold real numbers; got dtype object"):
        LeastSquares(da.from_array(A, chunks=(50, 7)), da.from_array(b.astype(object), chunks=50))


def test_a_dask_target_with_a_numpy_a_names_both_fixes(data):
    A, b, _, _ = data
    with pytest.raises(TypeError, match=r"the target is a Dask array but A is a ndarray: pass A as a Dask array too "
                                        r"\(dask\.array\.from_array.*or pass the target in memory"):
        LeastSquares(A, da.from_array(b, chunks=50))


def test_non_finite_target_and_wrong_shapes_are_refused(data):
    A, b, y, _ = data
    bad = b.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        LeastSquares(da.from_array(A, chunks=(50, 7)), da.from_array(bad, chunks=50))
    with pytest.raises(ValueError, match="2-D"):
        LeastSquares(da.from_array(b, chunks=50), b)
    with pytest.raises(ValueError, match="-1 or \\+1"):
        Logistic(da.from_array(A, chunks=(50, 7)), da.from_array((y + 1) / 2, chunks=50))
