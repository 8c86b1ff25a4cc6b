"""cvxpar._validation: the input checks shared by the front doors (here lam, the one validation of the weights)."""

from __future__ import annotations

import warnings

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


def _raised_here(exc: BaseException) -> bool:
    """The innermost frame that raised is cvxpar's own code (a deliberate message, not a NumPy internal)."""
    import os
    import traceback

    import cvxpar

    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(os.path.dirname(cvxpar.__file__))


def _front_doors():
    import cvxpar
    from cvxpar.constraints import Box, Linear
    from cvxpar.losses import LeastSquares, Smooth

    A, b = np.arange(12.0).reshape(4, 3), np.ones(4)
    psi = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 3))
    ls = LeastSquares(A, b)
    return [
        # strings (or other non-arrays) where an array of numbers belongs
        ("psi-string", lambda: psi("0.5"), TypeError, r"expected real numbers.*got str"),
        ("prox-string", lambda: psi.prox("abc", 0.1), TypeError, r"expected real numbers.*got str"),
        ("subdifferential-dict", lambda: psi.subdifferential({"x": 1}), TypeError, r"expected real numbers.*got dict"),
        ("A-string", lambda: LeastSquares("A", b), TypeError, r"expected real numbers.*got str"),
        ("certificate-x-string", lambda: cvxpar.certificate(ls, psi, 0.1, "x"), TypeError, r"got str"),
        ("snap-string", lambda: cvxpar.snap("abc", psi), TypeError, r"got str"),
        # complex data: refused, never cast with only a warning (that drops the imaginary part: a wrong answer)
        ("target-complex", lambda: LeastSquares(A, b + 1j), TypeError, r"b must hold real numbers.*complex"),
        ("box-complex", lambda: Box(-1j, 1.0), TypeError, r"Box lower must be real"),
        ("box-string", lambda: Box("a", 1.0), TypeError, r"Box lower must hold real numbers"),
        ("linear-complex-rows", lambda: Linear(A_ub=np.ones((1, 3)) * (1 + 1j), b_ub=[1.0]), TypeError,
         r"A_ub must be real"),
        ("linear-complex-rhs", lambda: Linear(A_eq=np.ones((1, 3)), b_eq=[1 + 2j]), TypeError, r"b_eq must be real"),
        # a design with no columns: there is nothing to solve for
        ("A-no-columns", lambda: cvxpar.solve(LeastSquares(np.zeros((3, 0)), np.ones(3)), psi, 0.1), ValueError,
         r"A has 0 columns"),
        # Smooth's callables and sizes at construction, not deep in a solve
        ("smooth-not-callable", lambda: Smooth(1.0, lambda x: x, 1.0, n_features=3), TypeError,
         r"fun must be a function"),
        ("smooth-lipschitz-string", lambda: Smooth(lambda x: 0.0, lambda x: x, "1"), ValueError, r"lipschitz"),
        ("smooth-n_features-0", lambda: Smooth(lambda x: 0.0, lambda x: x, 1.0, n_features=0), ValueError,
         r"n_features must be a positive integer"),
        # PAR.interpolate's fn
        ("interpolate-not-callable", lambda: cvxpar.PAR.interpolate(3.0, [0.0, 1.0]), TypeError, r"fn must be a function"),
        ("interpolate-strings", lambda: cvxpar.PAR.interpolate(lambda q: ["a"] * len(q), [0.0, 1.0]), ValueError,
         r"fn\(breakpoints\) must return real numbers"),
        # a tolerance that no point can meet is a mistake, not a 'no'
        ("certifies-tol-0", lambda: cvxpar.certificate(ls, psi, 0.1, np.zeros(3)).certifies(0.0), ValueError,
         r"tol must be a finite positive number"),
        ("certifies-tol-negative", lambda: cvxpar.certificate(ls, psi, 0.1, np.zeros(3)).certifies(-1e-8), ValueError,
         r"tol must be a finite positive number"),
        ("certifies-tol-nan", lambda: cvxpar.certificate(ls, psi, 0.1, np.zeros(3)).certifies(float("nan")), ValueError,
         r"tol must be a finite positive number"),
    ]


@pytest.mark.parametrize(("name", "call", "error", "match"), _front_doors(), ids=[row[0] for row in _front_doors()])
def test_bad_input_at_a_front_door_gets_cvxpars_own_message(name, call, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning (a silent cast) fails the test too
        with pytest.raises(error, match=match) as info:
            call()
    assert _raised_here(info.value), f"{name}: raised outside cvxpar: {info.value}"


def test_linear_rows_and_box_bounds_still_take_real_sequences():
    from cvxpar.constraints import Box, Linear

    rows = Linear(A_ub=[[1, 2, 3]], b_ub=[4])
    assert rows.A_ub.dtype == np.float64 and rows.b_ub.tolist() == [4.0]
    assert Box(np.int64(-1), [1, 2, 3]).upper.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(("option", "match"), [({"tol": 0.0}, "tol must be a finite positive"),
                                               ({"tol": -1e-8}, "tol must be a finite positive"),
                                               ({"tol": float("nan")}, "tol must be a finite positive"),
                                               ({"max_iter": 0}, "max_iter must be a positive integer")])
def test_solve_batch_refuses_what_solve_refuses(option, match):
    """solve_batch raised a tol <= 0 silently to its dtype floor (and reported 'optimal'); it now follows solve."""
    import cvxpar
    from cvxpar.batch import solve_batch

    loss, psi = cvxpar.losses.LeastSquares(np.eye(3), np.ones(3)), cvxpar.pars.l1()
    with pytest.raises(ValueError, match=match):
        cvxpar.solve(loss, psi, 0.1, **option)
    with pytest.raises(ValueError, match=match):
        solve_batch(loss, psi, [0.1], **option)


@pytest.mark.parametrize("polish", ["no", "yes", 0, None])
def test_solve_refuses_a_polish_switch_that_is_not_a_bool(polish):
    """polish="no" is truthy: it used to switch the polish on silently."""
    import cvxpar

    loss, psi = cvxpar.losses.LeastSquares(np.eye(3), np.ones(3)), cvxpar.pars.l1()
    with pytest.raises(ValueError, match="polish must be True or False"):
        cvxpar.solve(loss, psi, 0.1, polish=polish)
    assert cvxpar.solve(loss, psi, 0.1, polish=np.bool_(False)).status == "optimal"
