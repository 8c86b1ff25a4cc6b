"""Every bad-input class of issue 13 gets a clear error that says what to do, or works.

One table: each row is an input (a thunk), the outcome it must have (an exception type and a
regex its message must match, optionally a regex it must not match because the message would
mislead; or ``WORKS``: the thunk returns normally and checks its own result), and, while the class
is still open on main, the strict-xfail reason (remove it when the fix lands: the row then XPASSes
and fails loudly).  An error must be raised by cvxpar's own code (not a NumPy, numba or SciPy
internal error that happens to be a ValueError).
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import pickle
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest
from fuzz_oracles import PYTHON_INTERNAL, raised_by_cvxpar
from scipy.sparse.linalg import LinearOperator

import cvxpar
from cvxpar import grids, pars
from cvxpar.constraints import Box, Linear, NonNeg, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic, Smooth

WORKS = None
RNG = np.random.default_rng(0)
A = RNG.standard_normal((15, 10))
B = RNG.standard_normal(15)
CONVEX = pars.l1(grids.uniform(0.5, 5))
SAWTOOTH = pars.sawtooth(grids.uniform(0.5, 5))


def _ls():
    return LeastSquares(A, B)


def _quadratic(x):
    return 0.5 * float(np.sum((A @ x - B) ** 2))


def _quadratic_grad(x):
    return A.T @ (A @ x - B)


def _solve(**kw):
    args = {"loss": _ls(), "psi": CONVEX, "lam": 0.1}
    args.update(kw)
    return cvxpar.solve(args.pop("loss"), args.pop("psi"), args.pop("lam"), **args)


def _prox_dtype(dtype):
    def thunk():
        v = np.linspace(-2, 2, 9).astype(dtype)
        out = CONVEX.prox(v, 0.3)
        expected = CONVEX.prox(v.astype(np.float64), 0.3)
        np.testing.assert_allclose(np.asarray(out, dtype=np.float64), expected, rtol=1e-3, atol=1e-3)

    return thunk


def _roundtrip(make, how):
    def thunk():
        loss = make()
        other = pickle.loads(pickle.dumps(loss)) if how == "pickle" else copy.deepcopy(loss)
        x = np.linspace(-1, 1, 10)
        assert other.value(x) == loss.value(x)
        np.testing.assert_array_equal(other.grad(x), loss.grad(x))

    return thunk


def _same_as_array_lam():
    res = _solve(lam=[0.1] * 10)
    ref = _solve(lam=np.full(10, 0.1))
    assert res.status == ref.status == "optimal"
    np.testing.assert_allclose(res.x, ref.x, atol=1e-10)


def _path_scalar():
    out = cvxpar.lambda_path(_ls(), CONVEX, 1.0)
    assert len(out) == 1 and out[0].status == "optimal"


def _float32_tol():
    assert _solve(tol=np.float32(1e-6)).status == "optimal"


def _hash_signed_zero():
    p, q = cvxpar.PAR([-0.0, 1.0], [0.0, 1.0], -1.0, 1.0), cvxpar.PAR([0.0, 1.0], [0.0, 1.0], -1.0, 1.0)
    assert p == q and hash(p) == hash(q)


def _infeasible_linear():
    res = _solve(constraints=Linear(A_eq=np.ones((2, 10)), b_eq=[0.0, 1.0]), max_iter=2000)
    assert res.status == "infeasible", res.status


def _nan_certificate(constraints):
    def thunk():
        cert = cvxpar.certificate(loss=_ls(), psi=CONVEX, lam=0.1, x=np.full(10, np.nan), constraints=constraints)
        assert not cert.certifies(1e-8), cert

    return thunk


def _nan_operator():
    op = LinearOperator((15, 10), matvec=lambda x: np.full(15, np.nan), rmatvec=lambda r: np.full(10, np.nan))
    return _solve(loss=LeastSquares(op, B))


def _cli(alpha):
    def thunk():
        from cvxpar import cli

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                cli.main(["demo", "--no-plot", "--alpha", alpha])
            except SystemExit as exc:
                raise ValueError(f"exit {exc.code}: {err.getvalue()}") from None

    return thunk


def _workqueue_concurrent_prox():
    code = textwrap.dedent(
        """
        import threading, numpy as np, cvxpar
        psi = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))
        v = np.linspace(-3, 3, 70000)
        def work():
            for _ in range(3):
                psi.prox(v, 0.3)
        ts = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        """
    )
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _classifier_simplex():
    from cvxpar.sklearn import PARClassifier

    PARClassifier(constraints=Simplex()).fit(A, (B > 0).astype(int))


def _regressor_string_y():
    from cvxpar.sklearn import PARRegressor

    PARRegressor().fit(A, np.array(["a"] * 15))


@dataclass
class Row:
    name: str
    thunk: object
    exc: type | tuple | None  # WORKS, or the exception type(s)
    match: str = ""  # the message must match this regex
    forbid: str = ""  # ... and must not match this one (a misleading message)
    or_works: bool = False  # "a clear error, or it works" (the thunk checks the result)
    open: str = ""  # strict-xfail reason while the class is open on main


CLEAR = (ValueError, TypeError)
TABLE = [
    # prox dtypes
    Row("prox-float16", _prox_dtype(np.float16), CLEAR, r"(?i)float16|dtype", or_works=True),
    Row("prox-longdouble", _prox_dtype(np.longdouble), CLEAR, r"(?i)longdouble|float128|dtype", or_works=True),
    Row("prox-big-endian", _prox_dtype(">f8"), CLEAR, r"(?i)endian|byte order|dtype", or_works=True),
    Row("prox-complex", lambda: CONVEX.prox(np.ones(3) * (1 + 1j), 0.3), CLEAR, r"(?i)complex"),
    # everything a user holds must pickle
    Row("pickle-leastsquares", _roundtrip(_ls, "pickle"), WORKS),
    Row("pickle-logistic", _roundtrip(lambda: Logistic(A, np.sign(B)), "pickle"), WORKS),
    Row("pickle-huber", _roundtrip(lambda: Huber(A, B, M=0.5), "pickle"), WORKS),
    Row("pickle-smooth", _roundtrip(lambda: Smooth(_quadratic, _quadratic_grad, 10.0, n_features=10), "pickle"), WORKS),
    Row("deepcopy-logistic", _roundtrip(lambda: Logistic(A, np.sign(B)), "deepcopy"), WORKS),
    Row("workqueue-concurrent-prox", _workqueue_concurrent_prox, WORKS),
    # options validated at the front door, per method
    Row("option-check_every-0", lambda: _solve(method="fista", check_every=0), ValueError, r"check_every"),
    Row("option-rho-0", lambda: _solve(method="admm", rho=0), ValueError, r"rho"),
    Row("option-rho-negative", lambda: _solve(method="admm", rho=-1), ValueError, r"rho"),
    Row("option-sigma0-0", lambda: _solve(method="ssnal", sigma0=0), ValueError, r"sigma0"),
    Row("option-max_iter-inf", lambda: _solve(method="fista", max_iter=np.inf), ValueError, r"max_iter"),
    Row("option-misspelled", lambda: _solve(method="fista", maxiter=5), CLEAR, r"maxiter.*max_iter",
        forbid=PYTHON_INTERNAL),
    Row("option-check_every-cd", lambda: _solve(method="cd", check_every=5), CLEAR, r"check_every", forbid=PYTHON_INTERNAL,
        or_works=True),
    Row("option-check_every-ssnal", lambda: _solve(method="ssnal", check_every=5), CLEAR, r"check_every", forbid=PYTHON_INTERNAL,
        or_works=True),
    # data and arguments
    Row("A-zero-rows", lambda: _solve(loss=LeastSquares(np.zeros((0, 3)), np.zeros(0))), ValueError,
        r"(?i)rows|samples|empty"),
    Row("lam-list", _same_as_array_lam, CLEAR, r"lam", or_works=True),
    Row("lambda_path-scalar", _path_scalar, CLEAR, r"lams", or_works=True),
    Row("tol-float32", _float32_tol, WORKS),
    Row("sklearn-string-y", _regressor_string_y, ValueError, r"\by\b"),
    Row("cli-alpha-negative", _cli("-1"), ValueError, r"exit 2: .*alpha"),
    Row("cli-alpha-nan", _cli("nan"), ValueError, r"exit 2: .*alpha"),
    Row("cli-alpha-inf", _cli("inf"), ValueError, r"exit 2: .*alpha"),
    # misleading messages
    Row("box-inf-inf", lambda: _solve(constraints=Box(np.inf, np.inf)), ValueError, r"(?i)box|bound", forbid=r"breakpoints"),
    # bounds that differ per coordinate (equal ones merge into scalar bounds, which cd takes)
    Row("cd-nonconvex-vector-box", lambda: _solve(psi=SAWTOOTH, method="cd", constraints=Box(-np.linspace(1, 2, 10), np.ones(10))),
        ValueError, r"(?i)box|bound", forbid=r"dense", or_works=True),
    Row("operator-returns-nan", _nan_operator, ValueError, r"(?i)(\bA\b|operator|matvec).*(nan|finite)",
        forbid=r"t must be"),
    Row("nonneg-and-negative-box", lambda: _solve(constraints=[NonNeg(), Box(-1, -0.5)]), ValueError,
        r"(?i)infeasible|empty", forbid=r"order of the bounds", or_works=True),
    Row("classifier-simplex", _classifier_simplex, ValueError, r"(?i)simplex", forbid=r"needs a LeastSquares",
        or_works=True),
    Row("par-hash-signed-zero", _hash_signed_zero, WORKS),
    Row("infeasible-linear", _infeasible_linear, WORKS),
    # NaN never certifies (issue 13, class 5)
    Row("certificate-nan-simplex", _nan_certificate(Simplex()), CLEAR, r"(?i)nan|finite", or_works=True),
    Row("certificate-nan-linear", _nan_certificate(Linear(A_eq=np.ones((1, 10)), b_eq=[1.0])), CLEAR,
        r"(?i)nan|finite", or_works=True),
    Row("certificate-nan-none", _nan_certificate(None), CLEAR, r"(?i)nan|finite", or_works=True),
    Row("certificate-nan-box", _nan_certificate(Box(-1, 1)), CLEAR, r"(?i)nan|finite", or_works=True),
]


def _params():
    for row in TABLE:
        marks = [pytest.mark.xfail(strict=True, reason=row.open)] if row.open else []
        yield pytest.param(row, id=row.name, marks=marks)


@pytest.mark.parametrize("row", list(_params()))
def test_bad_input(row: Row):
    try:
        row.thunk()
    except Exception as exc:
        if row.exc is WORKS:
            raise
        assert isinstance(exc, row.exc), f"{row.name}: {type(exc).__name__}: {exc}"
        msg = str(exc)
        if not row.name.startswith("cli-"):
            assert raised_by_cvxpar(exc), f"{row.name}: raised outside cvxpar: {type(exc).__name__}: {msg}"
        assert re.search(row.match, msg), f"{row.name}: message {msg!r} does not match {row.match!r}"
        assert not (row.forbid and re.search(row.forbid, msg)), f"{row.name}: misleading message {msg!r}"
        return
    assert row.exc is WORKS or row.or_works, f"{row.name}: no error raised"
