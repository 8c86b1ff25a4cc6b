"""cvxpar.solvers.options: the per-method option table and the front-door checks of ``cvxpar.solve``."""

from __future__ import annotations

import importlib
import inspect
import warnings

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator
from solver_reference import reference_objective

import cvxpar
from cvxpar.constraints import Box, Simplex
from cvxpar.losses import LeastSquares, Logistic
from cvxpar.solvers import options
from cvxpar.solvers.aprox import _DEFAULTS as APROX_DEFAULTS

PSI = cvxpar.pars.l1(cvxpar.grids.uniform(0.1, 7))
FRAMEWORK = {"tol", "max_iter", "polish", "monitor", "accelerate", "handoff"}


def _data(n=20, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def _run_keywords(method: str) -> set[str]:
    """The keyword options a method's ``run`` takes (pg and fista forward theirs to _proxgrad.run)."""
    if method == "aprox":
        return set(APROX_DEFAULTS)
    name = "_proxgrad" if method in ("pg", "fista") else method
    params = inspect.signature(importlib.import_module(f"cvxpar.solvers.{name}").run).parameters.values()
    return {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY} - FRAMEWORK


@pytest.mark.parametrize("method", ["pg", "fista", "alm", "admm", "cd", "ssnal", "aprox"])
def test_table_matches_the_run_signatures(method):
    assert {o.name for o in options.OPTIONS[method]} == _run_keywords(method)


def test_the_fused_fista_route_takes_fista_options():
    assert {o.name for o in options.OPTIONS["fista"]} == _run_keywords("fused_fista")


def test_table_lists_every_option():
    text = options.table()
    for opts in options.OPTIONS.values():
        for o in opts:
            assert o.name in text


@pytest.mark.parametrize(
    "method, kwargs, error, match",
    [
        ("fista", {"maxiter": 5}, TypeError, "unknown option 'maxiter' for method 'fista'; did you mean 'max_iter'"),
        ("auto", {"check_evry": 5}, TypeError, "did you mean 'check_every'"),
        ("fista", {"check_every": 0}, ValueError, "check_every=0 .* integer >= 1"),
        ("pg", {"check_every": 2.5}, TypeError, "check_every=2.5 .* integer"),
        ("admm", {"rho": 0}, ValueError, "rho=0 .* > 0"),
        ("admm", {"rho": -1}, ValueError, "rho=-1 .* > 0"),
        ("admm", {"rho": np.nan}, ValueError, "rho=nan"),
        ("ssnal", {"sigma0": 0}, ValueError, "sigma0=0 .* > 0"),
        ("cd", {"p0": 0}, ValueError, "p0=0"),
        ("fista", {"rho": 1.0}, TypeError, "'rho' is not an option of method 'fista'; it belongs to 'admm'"),
        ("fista", {"max_iter": np.inf}, ValueError, "max_iter must be a positive integer"),
        ("fista", {"max_iter": 2.5}, ValueError, "max_iter must be a positive integer"),
        ("fista", {"n_starts": np.inf}, ValueError, "n_starts must be a positive integer"),
        ("fista", {"tol": "1e-6"}, ValueError, "tol must be"),
        ("aprox", {"epoch": 2}, TypeError, "did you mean 'epochs'"),
        ("aprox", {"power": 2.0}, ValueError, r"power=2.0 .* \[0, 1\]"),
        ("aprox", {"mapping": "round"}, ValueError, "mapping='round'"),
        ("auto", {"rho": 0}, ValueError, "rho=0"),  # checked even when auto picks another method
    ],
)
def test_bad_options_are_refused_at_the_front_door(method, kwargs, error, match):
    A, b = _data()
    with pytest.raises(error, match=match):
        cvxpar.solve(LeastSquares(A, b), PSI, 0.1, method=method, **kwargs)


@pytest.mark.parametrize("method", ["cd", "ssnal"])
def test_check_every_is_accepted_by_every_method(method):
    A, b = _data(12, 30)
    loss = LeastSquares(A, b)
    plain = cvxpar.solve(loss, PSI, 0.1, method=method)
    with pytest.warns(UserWarning, match=f"check_every=5 is ignored: method '{method}' tests convergence"):
        res = cvxpar.solve(loss, PSI, 0.1, method=method, check_every=5)
    np.testing.assert_array_equal(res.x, plain.x)
    assert res.status == "optimal"
    assert abs(res.objective - reference_objective(A, b, PSI, 0.1)) <= 1e-7 * max(1.0, abs(res.objective))


def test_auto_ignores_another_methods_option_with_a_warning():
    A, b = _data()
    with pytest.warns(UserWarning, match="method 'auto' picked 'ssn'; 'rho' is an option of 'admm'"):
        res = cvxpar.solve(LeastSquares(A, b), PSI, 0.1, rho=1.0)
    assert res.method == "ssn" and res.status == "optimal"


def test_valid_options_reach_the_method():
    A, b = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = cvxpar.solve(LeastSquares(A, b), PSI, 0.1, constraints=Simplex(1.0), method="admm", rho=np.float32(2.0),
                           check_every=np.int64(5))
    assert res.status == "optimal"


def test_numpy_scalars_for_tol_and_max_iter_and_a_list_for_lam():
    A, b = _data()
    loss = LeastSquares(A, b)
    lam = [0.1] * 4 + [0.3] * 4
    res = cvxpar.solve(loss, PSI, lam, tol=np.float32(1e-6), max_iter=np.int64(20_000), method="fista")
    assert res.status == "optimal"
    ref = reference_objective(A, b, PSI, np.array(lam))
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))
    np.testing.assert_allclose(res.x, cvxpar.solve(loss, PSI, np.array(lam), tol=1e-6, method="fista").x)


def test_operator_returning_nan_is_named():
    op = LinearOperator((20, 8), matvec=lambda x: np.full(20, np.nan), rmatvec=lambda y: np.full(8, np.nan))
    with pytest.raises(ValueError, match="LinearOperator A returned non-finite values"):
        cvxpar.solve(LeastSquares(op, np.ones(20)), PSI, 0.1)


def test_cd_refusals_name_the_reason():
    A, b = _data()
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.1, 7), 2.0)
    with pytest.raises(ValueError, match="nonconvex psi needs scalar Box bounds.*per-coordinate bounds use 'fista'"):
        cvxpar.solve(LeastSquares(A, b), mcp, 0.1, constraints=Box(-np.linspace(0.5, 1.0, 8), 1.0), method="cd")
    smooth = cvxpar.losses.Smooth(lambda x: float(x @ x), lambda x: 2 * x, lipschitz=2.0, n_features=8)
    with pytest.raises(ValueError, match="'cd' needs a linear-model loss .*got Smooth"):
        cvxpar.solve(smooth, PSI, 0.1, method="cd")


def test_simplex_with_a_logistic_loss_names_the_combination():
    A, b = _data()
    y = np.sign(b) + (b == 0)
    with pytest.raises(ValueError, match="^method 'admm'.*Simplex constraints with a Logistic loss are not supported"):
        cvxpar.solve(Logistic(A, y), PSI, 0.1, constraints=Simplex(1.0), method="admm")
    mcp = cvxpar.pars.mcp(cvxpar.grids.uniform(0.1, 7), 2.0)  # nonconvex: 'alm' does not apply, auto picks admm
    with pytest.raises(ValueError, match="^method 'admm'.*Simplex constraints with a Logistic loss are not supported"):
        cvxpar.solve(Logistic(A, y), mcp, 0.1, constraints=Simplex(1.0))


def test_lambda_path_needs_a_sequence():
    A, b = _data()
    with pytest.raises(TypeError, match="lams must be a sequence of lam values"):
        cvxpar.lambda_path(LeastSquares(A, b), PSI, 1.0)
    path = cvxpar.lambda_path(LeastSquares(A, b), PSI, [1.0])
    assert len(path) == 1 and path[0].status == "optimal"


def test_repr_shows_the_message():
    A, b = _data()
    res = cvxpar.solve(LeastSquares(A, b), PSI, 0.1)
    assert f"message={res.message!r}" in repr(res)
    assert cvxpar.lambda_for_rate is cvxpar.path.lambda_for_rate
