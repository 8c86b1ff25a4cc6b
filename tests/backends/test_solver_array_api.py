"""A subset of the cvxpar.solve suite on array_api_strict (it rejects NumPy-only calls; two devices)
and on PyTorch CPU tensors: same answer as NumPy, result in the input's namespace and device."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from array_backends import backends

import cvxpar

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

CASES = {
    "ls-fista": (lambda mk: LeastSquares(mk(A), mk(b)), L1, 0.5, {"method": "fista"}),
    "ls-pg": (lambda mk: LeastSquares(mk(A), mk(b)), L1, 0.5, {"method": "pg"}),
    "ls-auto-box": (lambda mk: LeastSquares(mk(A), mk(b)), L1, 0.5, {"constraints": Box(-0.5, 0.5)}),
    "ls-lam-vector": (lambda mk: LeastSquares(mk(A), mk(b)), L1, "vec", {}),
    "ls-mcp": (lambda mk: LeastSquares(mk(A), mk(b)), MCP, 0.5, {}),
    "logistic": (lambda mk: Logistic(mk(A), mk(y)), L1, 0.5, {}),
    "huber": (lambda mk: Huber(mk(A), mk(b)), L1, 0.5, {}),
}


@pytest.mark.parametrize("mk", backends())
@pytest.mark.parametrize("case", list(CASES))
def test_solve_matches_numpy_on_backend(mk, case):
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


def test_public_solve_and_certificate_stay_callable_after_submodule_imports():
    """Importing the submodules cvxpar.solve / cvxpar.certificate must not rebind the public functions."""
    import importlib

    importlib.import_module("cvxpar.solve")
    importlib.import_module("cvxpar.certificate")
    assert callable(cvxpar.solve)
    assert callable(cvxpar.certificate)
