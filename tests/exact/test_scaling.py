"""cvxpar.exact.scaling: the rescaled model is the same problem (identities checked numerically), and
it is the same model whatever the units of the data."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from reference_cases import scaled_data

import cvxpar
from cvxpar import losses
from cvxpar.constraints import FeasibleSet
from cvxpar.exact import model, scaling

PSI = cvxpar.pars.parq(cvxpar.grids.uniform(0.1, 7))


def _data(c):
    return scaled_data(c, n=15, d=6)


def test_scaling_factors_are_powers_of_two_and_map_breakpoints_back_exactly():
    A, b = _data(1e6)
    psi = cvxpar.pars.sawtooth(cvxpar.grids.uniform(3e-3, 9))
    sc = scaling.choose(losses.LeastSquares(A, b), psi, 0.5)
    for v in (sc.sigma, sc.rho):
        assert np.frexp(v)[0] == 0.5  # a power of two
    scaled = sc.par(psi)
    assert np.array_equal(scaled.breakpoints * sc.sigma, psi.breakpoints)
    y = np.random.default_rng(1).uniform(-0.1, 0.1, 50) / sc.sigma
    np.testing.assert_allclose(scaled(y), psi(sc.sigma * y), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("kind", ["ls", "huber"])
def test_scaled_loss_is_the_loss_divided_by_s(kind):
    A, b = _data(1e4)
    loss = losses.LeastSquares(A, b) if kind == "ls" else losses.Huber(A, b, M=2e3)
    sc = scaling.choose(loss, PSI, 1.0)
    scaled = scaling.scaled_loss(loss, A * (sc.sigma / sc.rho), sc)
    y = np.random.default_rng(2).uniform(-1, 1, A.shape[1])
    assert scaled.value(y) == pytest.approx(loss.value(sc.sigma * y) / sc.s, rel=1e-12)


def _model_data(A, b, lam):
    loss = losses.LeastSquares(A, b)
    m = model.build(loss, PSI, lam, FeasibleSet(cvxpar.constraints.NonNeg(), A.shape[1]),
                    scaling.choose(loss, PSI, lam))
    data = m.problem.get_problem_data(cp.CLARABEL)[0]
    return {k: (data[k].toarray() if hasattr(data[k], "toarray") else data[k]) for k in ("P", "c", "A", "b")}


@pytest.mark.parametrize("c", [2.0**20, 2.0**-20, 2.0**40])
def test_the_model_does_not_depend_on_the_units_of_the_data(c):
    """(c A, c b, c^2 lam) has the same minimizer as (A, b, lam); for c a power of two the rescaled
    models are the same numbers, bit for bit."""
    A, b = _data(1.0)
    one, other = _model_data(A, b, 0.5), _model_data(c * A, c * b, 0.5 * c * c)
    for key in one:
        np.testing.assert_allclose(other[key], one[key], rtol=1e-13, atol=0)


@pytest.mark.parametrize("c", [1e6, 1e-6])
def test_the_model_stays_order_one_for_any_units(c):
    """Other factors change the model only by the power-of-two rounding: within a factor 4 per block."""
    A, b = _data(1.0)
    one, other = _model_data(A, b, 0.5), _model_data(c * A, c * b, 0.5 * c * c)
    for key in one:
        ratio = np.max(np.abs(other[key])) / np.max(np.abs(one[key]))
        assert 0.25 <= ratio <= 4, key
