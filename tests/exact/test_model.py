"""cvxpar.exact.model: the formulation choice follows the cost model; both formulations are the same problem."""

from __future__ import annotations

import numpy as np
import pytest

import cvxpar
from cvxpar import losses
from cvxpar.constraints import FeasibleSet
from cvxpar.exact import model, scaling

RIDGE = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def test_formulation_choice_follows_the_cost_model():
    assert not model.prefer_residual(20, 12)  # tall: P = A^T A is small
    assert model.prefer_residual(200, 2000) and model.prefer_residual(100, 10000)
    assert not model.prefer_residual(1000, 10000)  # the n x n block leaves the cache: dense P wins
    rng = np.random.default_rng(0)
    A, b = rng.normal(size=(50, 500)), rng.normal(size=50)
    assert cvxpar.reference(losses.LeastSquares(A, b), RIDGE, 1.0).info["formulation"] == "residual"


@pytest.mark.parametrize("kind", ["ls", "huber", "logistic"])
def test_residual_and_plain_models_have_the_same_value(kind):
    rng = np.random.default_rng(1)
    A, b = rng.normal(size=(12, 8)), rng.normal(size=12)
    loss = {"ls": losses.LeastSquares(A, b), "huber": losses.Huber(A, b, M=0.5),
            "logistic": losses.Logistic(A, np.sign(b))}[kind]
    fs = FeasibleSet(None, 8)
    sc = scaling.choose(loss, RIDGE, 0.3)
    values = []
    for formulation in ("plain", "residual"):
        m = model.build(loss, RIDGE, 0.3, fs, sc, formulation=formulation)
        m.problem.solve(solver="CLARABEL")
        values.append(m.objective())
        x = m.x()
        assert m.objective() == pytest.approx(loss.value(x) + 0.3 * float(np.sum(RIDGE(x))), rel=1e-7)
    assert values[0] == pytest.approx(values[1], rel=1e-7)


def test_operators_and_bad_formulations_are_refused():
    from scipy.sparse.linalg import aslinearoperator

    rng = np.random.default_rng(2)
    A, b = rng.normal(size=(6, 4)), rng.normal(size=6)
    with pytest.raises(TypeError, match="LinearOperator"):
        model.data_matrix(losses.LeastSquares(aslinearoperator(A), b))
    loss = losses.LeastSquares(A, b)
    with pytest.raises(ValueError, match="formulation"):
        model.build(loss, RIDGE, 1.0, FeasibleSet(None, 4), scaling.choose(loss, RIDGE, 1.0), formulation="dense")
