"""cvxpar._validation: the input checks shared by the front doors (here lam, the one validation of the weights)."""

from __future__ import annotations

import numpy as np
import pytest

from cvxpar._validation import as_lam


def test_scalars_become_floats_and_sequences_arrays():
    like = np.zeros(3)
    assert as_lam(2, like, 3) == 2.0 and isinstance(as_lam(np.float32(0.5), like, 3), float)
    assert as_lam(np.array(1.5), like, 3) == 1.5
    got = as_lam([0.0, 1.0, 2.0], like, 3)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    np.testing.assert_array_equal(got, [0.0, 1.0, 2.0])
    assert as_lam([1.0, 2.0], np.zeros(1, dtype=np.float32)).dtype == np.float32  # like's dtype; any length


@pytest.mark.parametrize(
    ("lam", "error", "match"),
    [
        (None, TypeError, "lam is required"),
        ("big", TypeError, "nonnegative number"),
        (-1.0, ValueError, "finite nonnegative"),
        (float("nan"), ValueError, "finite nonnegative"),
        ([1.0, -1.0, 0.0], ValueError, "finite and nonnegative"),
        ([1.0, np.inf, 0.0], ValueError, "finite and nonnegative"),
        ([1.0, 2.0], ValueError, r"one entry per coordinate \(3\)"),
        (np.ones((3, 1)), ValueError, "shape"),
    ],
)
def test_bad_lam_is_refused_with_what_to_do(lam, error, match):
    with pytest.raises(error, match=match):
        as_lam(lam, np.zeros(3), 3)


def test_an_array_of_another_namespace_moves_to_the_data():
    xps = pytest.importorskip("array_api_strict")
    got = as_lam(xps.asarray([0.5, 1.0]), np.zeros(2), 2)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, [0.5, 1.0])
    back = as_lam(np.array([0.5, 1.0]), xps.zeros(2, dtype=xps.float64), 2)
    assert type(back) is type(xps.zeros(1))


def test_every_front_door_uses_it():
    """solve, certificate, reference and the batch refuse a negative lam with the same message."""
    import cvxpar
    from cvxpar.batch import solve_batch

    loss = cvxpar.losses.LeastSquares(np.eye(2), np.ones(2))
    psi = cvxpar.pars.l1()
    for call in (lambda: cvxpar.solve(loss, psi, [1.0, -1.0]),
                 lambda: cvxpar.certificate(loss, psi, [1.0, -1.0], np.zeros(2)),
                 lambda: cvxpar.reference(loss, psi, [1.0, -1.0]),
                 lambda: solve_batch(loss, psi, [1.0, -1.0])):
        with pytest.raises(ValueError, match="finite and nonnegative everywhere"):
            call()
