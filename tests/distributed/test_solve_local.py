"""cvxpar.solve on Dask data with Dask's local threads (no cluster): routes, constraints, user
losses and the errors for what does not run distributed.  The cluster runs are in
test_solve_on_cluster.py."""

from __future__ import annotations

import numpy as np
import pytest
from reference_cases import planted_data
from user_losses import Poisson, SquaredHinge

import cvxpar
from cvxpar.constraints import Box, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic

da = pytest.importorskip("dask.array")

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


@pytest.fixture(scope="module")
def data():
    return planted_data(600, 8, seed=11)


def _lazy(v, rows=100):
    return da.from_array(v, chunks=(rows,) + v.shape[1:])


def _same(res, ref, objective_rtol=1e-9, x_atol=1e-7):
    assert isinstance(res.x, np.ndarray) and res.status == ref.status
    assert abs(res.objective - ref.objective) <= objective_rtol * abs(ref.objective)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=x_atol)


def test_least_squares_with_a_simplex_goes_through_the_gram_and_alm(data, large_rules):
    A, b, _ = data
    lam, C = 5.0, Simplex(total=1.0)
    ref = cvxpar.solve(LeastSquares(A, b), PSI, lam, C)
    res = cvxpar.solve(LeastSquares(_lazy(A), _lazy(b)), PSI, lam, C)
    assert ref.status == "optimal" and res.method == ref.method == "alm" and res.info["route"] == "gram"
    _same(res, ref)
    assert res.gap is None  # no duality gap with linear rows, in memory or not


@pytest.mark.parametrize("method", ["auto", "fista"])
@pytest.mark.parametrize("make", [lambda A, b, y: Huber(A, b, M=0.7), lambda A, b, y: SquaredHinge(A, y)],
                         ids=["huber", "user-squared-hinge"])
def test_other_linear_model_losses_run_newton_or_fista_with_distributed_passes(data, make, method):
    A, b, y = data
    box = Box(-1.0, 1.0)
    ref = cvxpar.solve(make(A, b, y), PSI, 10.0, box, method="fista")
    res = cvxpar.solve(make(_lazy(A), _lazy(b), _lazy(y)), PSI, 10.0, box, method=method)
    assert ref.status == "optimal"
    if method == "auto":  # a convex psi: proximal Newton, a handful of passes
        assert res.method == "newton" and res.info["route"] == "distributed newton" and res.info["passes"] <= 12
    else:
        assert res.method == "fista" and res.info["route"] == "distributed products"
    _same(res, ref, x_atol=1e-6)
    cert = cvxpar.certificate(make(A, b, y), PSI, 10.0, res.x, box)  # the in-memory certificate agrees
    assert cert.certifies(1e-8) and cert.objective == pytest.approx(res.objective, rel=1e-12)


def test_newton_solves_a_loss_without_a_lipschitz_gradient(data):
    """Poisson (d2h = exp(z) unbounded): no step size for fista, Newton needs none."""
    A, _, _ = data
    A = 0.3 * A
    counts = np.random.default_rng(4).poisson(np.exp(A @ np.linspace(-1.0, 1.0, 8)))
    ref = cvxpar.solve(Poisson(A, counts), PSI, 5.0, method="ssnal")
    res = cvxpar.solve(Poisson(_lazy(A), _lazy(counts)), PSI, 5.0)
    assert ref.status == res.status == "optimal" and res.method == "newton"
    _same(res, ref)


def test_newton_takes_simplex_rows_for_a_logistic_loss(data):
    """Not available in memory for Logistic: checked against the CVXPY reference."""
    A, _, y = data
    res = cvxpar.solve(Logistic(_lazy(A), _lazy(y)), PSI, 2.0, Simplex(total=1.0))
    ref = cvxpar.reference(Logistic(A, y), PSI, 2.0, Simplex(total=1.0))
    assert res.status == "optimal" and res.method == "newton"
    assert abs(res.x.sum() - 1.0) <= 1e-9 and res.x.min() >= 0.0
    assert res.objective <= ref.objective + 1e-7 * abs(ref.objective)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)


def test_a_nonconvex_psi_runs_fista_and_newton_refuses_it(data):
    A, _, y = data
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.5, 7), gamma=3.0)
    lazy = Logistic(_lazy(A), _lazy(y))
    res = cvxpar.solve(lazy, mcp, 2.0, Box(-1.0, 1.0), max_iter=5, polish=False)
    assert res.method == "fista" and res.info["route"] == "distributed products"
    with pytest.raises(ValueError, match="'newton' needs a convex psi"):
        cvxpar.solve(lazy, mcp, 2.0, method="newton")


def test_a_start_point_and_an_iteration_limit_are_honoured(data):
    A, _, y = data
    lazy = Logistic(_lazy(A), _lazy(y))
    res = cvxpar.solve(lazy, PSI, 10.0, x0=np.full(8, 0.25), max_iter=2, polish=False)
    assert res.status in ("max_iter", "optimal_inaccurate") and res.iterations == 2
    assert not cvxpar.certificate(Logistic(A, y), PSI, 10.0, res.x).certifies(1e-8)


def test_methods_that_need_memory_are_refused_with_the_alternatives(data):
    A, b, y = data
    lazy = Logistic(_lazy(A), _lazy(y))
    for method in ("cd", "ssnal", "admm"):
        with pytest.raises(ValueError, match="needs the data in memory.*'auto', 'newton', 'fista' or 'pg'"):
            cvxpar.solve(lazy, PSI, 1.0, method=method)
    with pytest.raises(ValueError, match="'aprox'"):
        cvxpar.solve(LeastSquares(_lazy(A), _lazy(b)), PSI, 1.0, method="aprox")
    with pytest.raises(ValueError, match="Simplex and Linear constraints on Dask data need a LeastSquares"):
        cvxpar.solve(lazy, PSI, 1.0, Simplex(total=1.0), method="fista")


class _WidestResult:
    """The most columns of any 2-D array a task of Dask's local scheduler returned (a dask.callbacks.Callback)."""

    def __init__(self):
        from dask.callbacks import Callback

        self.columns = 0
        self.callback = Callback(posttask=self._record)

    def _record(self, key, result, *_):
        if getattr(result, "ndim", 0) == 2:
            self.columns = max(self.columns, result.shape[1])


def test_wide_column_chunked_data_run_fista_block_by_block():
    import dask

    from cvxpar.losses.dask_operator import GRAM_MAX_FEATURES

    rng = np.random.default_rng(12)
    n, d = 120, GRAM_MAX_FEATURES + 100
    A = rng.standard_normal((n, d)) / np.sqrt(n)
    b = A[:, :20] @ rng.choice(np.linspace(-1.5, 1.5, 7), 20) + 0.1 * rng.standard_normal(n)
    y = np.where(b > 0, 1.0, -1.0)
    psi, box = cvxpar.pars.l1(), Box(-1.0, 1.0)
    for make, lam in ((LeastSquares, 0.05), (Logistic, 0.5)):
        ref = cvxpar.solve(make(A, b if make is LeastSquares else y), psi, lam, box)
        blocks = da.from_array(A, chunks=(40, 700))  # 3 x 3 blocks of 40 x 700
        loss = make(blocks, da.from_array(b if make is LeastSquares else y, chunks=40))
        assert loss.op.blocks is blocks
        seen = _WidestResult()
        # Dask's local threads (the callback's scheduler) even when another test's distributed Client is the default
        with dask.config.set(scheduler="threads"), seen.callback:
            res = cvxpar.solve(loss, psi, lam, box, method="fista")
        assert res.method == "fista" and res.info["route"] == "distributed products"
        assert res.status == ref.status == "optimal"
        _same(res, ref)
        assert 0 < seen.columns <= 700  # no task formed a full-width row chunk (d columns): one block at most


@pytest.mark.parametrize("loss_name", ["ls", "logistic", "huber"])
@pytest.mark.parametrize("method", ["auto", "fista"])
def test_unbounded_problems_on_dask_data_say_so_on_every_route(loss_name, method):
    """psi descending to the right (a grid below 0) with d > n: Clarabel's verdict on the in-memory data is
    unbounded, and every Dask route says 'unbounded' with a direction of the raw data's null space.  Before:
    the Gram route recomputed its certificate at the in-memory NaN answer ('diverged'), proximal Newton ran its
    whole budget (142 s at max_iter=50 for logistic), the product route ended 'max_iter'."""
    import cvxpy as cp

    rng = np.random.default_rng(7)
    A, b = rng.standard_normal((12, 30)), rng.standard_normal(12)
    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.25, 4, -2.0))
    target = np.sign(b) if loss_name == "logistic" else b
    kind = {"ls": LeastSquares, "logistic": Logistic, "huber": Huber}[loss_name]
    x = cp.Variable(30)
    clarabel = cp.Problem(cp.Minimize(kind(A, target).cvxpy(A @ x) + cp.sum(cvxpar.par(x, psi))))
    clarabel.solve(solver=cp.CLARABEL)
    assert clarabel.status == cp.UNBOUNDED
    res = cvxpar.solve(kind(_lazy(A, 6), _lazy(target, 6)), psi, 1.0, method=method, max_iter=50)
    assert res.status == "unbounded" and res.objective == -np.inf, res.message
    v = res.info["direction"]
    if loss_name == "ls":
        assert np.abs(A @ v).max() <= 1e-12 * np.abs(A).sum(axis=1).max()
    F = lambda y: float(kind(A, target).value(y) + np.sum(psi(y)))  # noqa: E731
    assert F(2e4 * v) - F(1e4 * v) == pytest.approx(1e4 * res.info["rate"], rel=1e-6)
