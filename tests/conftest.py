"""Shared test settings: hypothesis profiles, the slow/full switch and backend probes."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from cvxpar._backend import cupy_with_gpu

settings.register_profile(
    "ci", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
# "dev" (the default) is reproducible like "ci", with fewer examples; "explore" searches with fresh
# random seeds (HYPOTHESIS_PROFILE=explore) to find new counterexamples.
settings.register_profile(
    "dev", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("explore", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

#: CVXPAR_FULL=1 runs slow tests at the papers' / issues' sizes; CI runs them small.
FULL = os.environ.get("CVXPAR_FULL") == "1"




@pytest.fixture
def large_rules(monkeypatch):
    """``method="auto"`` with its small-problem rule (:func:`cvxpar.solvers.ssn.small`) switched off: the rules for
    larger problems, exercised at the sizes CI can afford."""
    from cvxpar.solvers import ssn

    monkeypatch.setattr(ssn, "AUTO_MAX_D", 0)
    monkeypatch.setattr(ssn, "TALL_MAX_D", 0)


@pytest.fixture
def cp_gpu():
    cupy = cupy_with_gpu()
    if cupy is None:
        pytest.skip("no CUDA device visible to CuPy")
    return cupy


@pytest.fixture(scope="session")
def client():
    """A dask.distributed LocalCluster of 2 worker processes (1 thread each), shared by the distributed tests of
    this test process and closed at its end."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=40)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()
