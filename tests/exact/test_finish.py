"""cvxpar.exact.finish: the polish lands interior-point points on the kinks (checked against the exact
active-set solution and the certificate), and the gap rule."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxpar
from cvxpar import constraints as C
from cvxpar import losses
from cvxpar.constraints import FeasibleSet
from cvxpar.exact import finish

RIDGE = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _clarabel_point(A, b, lam, cons_fn, d):
    """A plain interior-point solution (stops short of the kinks)."""
    x = cp.Variable(d)
    a, c = RIDGE.max_affine()
    pen = cp.max(cp.vstack([ak * x + ck for ak, ck in zip(a, c, strict=True)]), axis=0)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam * cp.sum(pen)), cons_fn(x))
    prob.solve(solver=cp.CLARABEL)
    return x.value


@pytest.mark.parametrize("name", ["box", "simplex", "linear"])
def test_polish_certifies_an_interior_point_solution(name):
    rng = np.random.default_rng(0)
    n, d = 8, 12
    A, b = rng.normal(size=(n, d)), rng.normal(size=n)
    cons, fn = {
        "box": (C.Box(-0.6, 0.8), lambda x: [x >= -0.6, x <= 0.8]),
        "simplex": (C.Simplex(2.0), lambda x: [x >= 0, cp.sum(x) == 2.0]),
        "linear": (C.Linear(A_eq=np.ones((1, d)), b_eq=[1.0], A_ub=np.eye(d)[:3], b_ub=[0.1] * 3),
                   lambda x: [cp.sum(x) == 1.0, x[:3] <= 0.1]),
    }[name]
    loss = losses.LeastSquares(A, b)
    x0 = _clarabel_point(A, b, 0.5, fn, d)
    before = finish.check(loss, RIDGE, 0.5, cons, x0)
    x, cert = finish.polish(x0, loss, RIDGE, 0.5, cons, FeasibleSet(cons, d))
    assert not before.certifies(1e-9) and cert.certifies(1e-9)
    assert cert.objective <= before.objective + 1e-9 and cert.infeasibility <= 1e-12
    assert cvxpar.quantization_rate(x, RIDGE) >= cvxpar.quantization_rate(x0, RIDGE)
    np.testing.assert_allclose(x, x0, atol=1e-5)


def test_gap_rules():
    assert finish.mip_gap(2.0, 1.0) == 0.5 and finish.mip_gap(2.0, None) is None
    assert finish.gap_closed(1e-12, 0.0, 1.0) and not finish.gap_closed(1.0, 0.5, 1.0)
    assert not finish.gap_closed(1.0, None, 1.0)
    r = finish.ReferenceResult(np.zeros(1), "optimal", 1.0, 1, 0.1, 0.0, 0.0, 1.0, "reference", "why", {}, bound=0.5)
    assert "bound=0.5" in repr(r) and "why" in repr(r)
