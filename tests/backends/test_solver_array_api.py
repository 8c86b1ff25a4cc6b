"""A subset of the cvxpar.solve suite on array_api_strict (it rejects NumPy-only calls; two devices)
and on PyTorch CPU tensors: same answer as NumPy, result in the input's namespace and device."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from array_backends import backends

import cvxpar
from cvxpar import _backend

solve = pytest.importorskip("cvxpar.solve", reason="cvxpar.solve has not landed yet").solve

from cvxpar.constraints import Box  # noqa: E402
from cvxpar.losses import Huber, LeastSquares, Logistic  # noqa: E402

GRID = cvxpar.grids.uniform(0.25, 9)
L1 = cvxpar.pars.l1(GRID)
MCP = cvxpar.pars.mcp(GRID, 2.0)

rng = np.random.default_rng(11)
A = rng.standard_normal((30, 20))
b = rng.standard_normal(30)
y = np.where(rng.standard_normal(30) > 0, 1.0, -1.0)
LAM_VEC = np.linspace(0.2, 0.8, 20)
A_WIDE = rng.standard_normal((20, 60))
A_TALL = rng.standard_normal((80, 20))
b_tall = A_TALL @ rng.choice(GRID, 20) + 0.1 * rng.standard_normal(80)
RIDGE = cvxpar.pars.ridge(GRID)

CASES = {
    "ls-fista": (lambda mk: LeastSquares(mk(A), mk(b)), L1, 0.5, {"method": "fista"}),
    "ls-pg": (lambda mk: LeastSquares(mk(A), mk(b)), L1, 0.5, {"method": "pg"}),
    "ls-auto-box": (lambda mk: LeastSquares(mk(A), mk(b)), L1, 0.5, {"constraints": Box(-0.5, 0.5)}),
    "ls-lam-vector": (lambda mk: LeastSquares(mk(A), mk(b)), L1, "vec", {}),
    "ls-mcp": (lambda mk: LeastSquares(mk(A), mk(b)), MCP, 0.5, {}),
    "logistic": (lambda mk: Logistic(mk(A), mk(y)), L1, 0.5, {}),
    "huber": (lambda mk: Huber(mk(A), mk(b)), L1, 0.5, {}),
    # ssnal and its polish in the array's namespace: the wide n x n path, the tall normal equations, the
    # proximal Newton path of the other losses
    "ssnal-wide": (lambda mk: LeastSquares(mk(A_WIDE), mk(b[:20])), RIDGE, 0.3, {"method": "ssnal"}),
    "ssnal-tall-box": (lambda mk: LeastSquares(mk(A_TALL), mk(b_tall)), RIDGE, 2.0,
                       {"method": "ssnal", "constraints": Box(-0.6, 0.6)}),
    "ssnal-logistic": (lambda mk: Logistic(mk(A), mk(y)), RIDGE, 0.5, {"method": "ssnal"}),
    "ssnal-huber": (lambda mk: Huber(mk(A_WIDE), mk(b[:20])), RIDGE, 0.3, {"method": "ssnal"}),
}


@pytest.mark.parametrize("mk", backends())
@pytest.mark.parametrize("case", list(CASES))
def test_solve_matches_numpy_on_backend(mk, case, large_rules):
    """Every backend takes NumPy's route to NumPy's answer.  Auto's small-problem method (``ssn``) runs on NumPy
    data only, so both solves here use the rules for larger problems (``large_rules``), which every backend shares."""
    from array_api_compat import array_namespace, device

    make_loss, psi, lam, kwargs = CASES[case]
    want = solve(make_loss(lambda a: a), psi, LAM_VEC if lam == "vec" else lam, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loss = make_loss(mk)
        lam_ = mk(LAM_VEC) if lam == "vec" else lam
        like = mk(np.zeros(1))
        got = solve(loss, psi, lam_, **kwargs)
    assert array_namespace(got.x) is array_namespace(like)
    assert device(got.x) == device(like)
    assert got.status == want.status
    assert got.objective == pytest.approx(want.objective, rel=1e-9, abs=1e-12)
    assert got.info.get("route") == want.info.get("route")
    if kwargs.get("method") == "ssnal":  # and NumPy's answer is Clarabel's
        assert want.status == "optimal"
        assert cvxpar.certificate(make_loss(lambda a: a), psi, lam, _backend.to_host(got.x),
                                  kwargs.get("constraints")).certifies(1e-8)
        ref = cvxpar.reference(make_loss(lambda a: a), psi, lam, kwargs.get("constraints"))
        assert want.objective <= ref.objective + 1e-7 * abs(ref.objective)


def test_public_solve_and_certificate_stay_callable_after_submodule_imports():
    """Importing the submodules cvxpar.solve / cvxpar.certificate must not rebind the public functions."""
    import importlib

    importlib.import_module("cvxpar.solve")
    importlib.import_module("cvxpar.certificate")
    assert callable(cvxpar.solve)
    assert callable(cvxpar.certificate)
