"""cvxpar.lambda_path on Dask data: least squares in two passes for the whole path (the Gram, then every
answer's certificate together), equal to the in-memory path; other losses as warm-started solves."""

from __future__ import annotations

import numpy as np
import pytest
from reference_cases import planted_data

import cvxpar
from cvxpar.constraints import Box
from cvxpar.losses import LeastSquares, Logistic

da = pytest.importorskip("dask.array")

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))
LAMS = [400.0, 100.0, 30.0, 5.0, 0.5]


@pytest.fixture(scope="module")
def data():
    return planted_data(900, 10, seed=21)


def _lazy(v):
    return da.from_array(v, chunks=(150,) + v.shape[1:])


def _count_chunk_reads(monkeypatch):
    """Count the reads of A's row chunks by the passes (the per-chunk functions of cvxpar.distributed)."""
    from cvxpar.distributed import _reduce

    calls = []
    original = _reduce.row_chunk_sum

    def counting(A, *args, **kwargs):
        calls.append(len(A.chunks[0]))
        return original(A, *args, **kwargs)

    monkeypatch.setattr(_reduce, "row_chunk_sum", counting)
    for module in ("gram", "loss"):
        monkeypatch.setattr(f"cvxpar.distributed.{module}.row_chunk_sum", counting)
    return calls


def test_a_least_squares_path_is_two_passes_and_equals_the_numpy_path(data, monkeypatch):
    A, b, _ = data
    box = Box(-1.0, 1.0)
    ref = cvxpar.lambda_path(LeastSquares(A, b), PSI, LAMS, box)
    calls = _count_chunk_reads(monkeypatch)
    path = cvxpar.lambda_path(LeastSquares(_lazy(A), _lazy(b)), PSI, LAMS, box)
    assert calls == [6, 6]  # two passes over the 6 row chunks, whatever the number of lams
    assert [r.info["path_passes"] for r in path] == [2] * len(LAMS)
    for res, r in zip(path, ref, strict=True):
        assert res.status == r.status == "optimal" and isinstance(res.x, np.ndarray)
        assert abs(res.objective - r.objective) <= 1e-9 * abs(r.objective)
        np.testing.assert_allclose(res.x, r.x, rtol=0, atol=1e-7)
        assert res.message.endswith("(certified on the distributed data)")
    # the certificate on the distributed data agrees with the in-memory one
    cert = cvxpar.certificate(LeastSquares(A, b), PSI, LAMS[2], path[2].x, box)
    assert cert.residual == pytest.approx(path[2].residual, rel=1e-6, abs=1e-9)


def test_a_logistic_path_is_a_sequence_of_warm_started_distributed_solves(data):
    A, _, y = data
    lams = LAMS[1:4]
    ref = cvxpar.lambda_path(Logistic(A, y), PSI, lams)
    path = cvxpar.lambda_path(Logistic(_lazy(A), _lazy(y)), PSI, lams)
    for res, r in zip(path, ref, strict=True):
        assert res.status == r.status == "optimal" and res.method == "newton"
        assert abs(res.objective - r.objective) <= 1e-9 * abs(r.objective)
        np.testing.assert_allclose(res.x, r.x, rtol=0, atol=1e-7)
