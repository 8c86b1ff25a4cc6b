"""Findings of the outside-in audit at public doors (a crash, a misleading error): regression tests of the fixed
ones, and a strict xfail for any still open (when its fix lands it XPASSes, which fails the suite: delete the mark
then, so the test stays as the regression test).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cvxpar

RNG = np.random.default_rng(0)
A, B = RNG.standard_normal((15, 10)), RNG.standard_normal(15)
L1 = cvxpar.pars.l1(cvxpar.grids.uniform(0.5, 5))


@pytest.mark.parametrize("max_iter", [1, 5, 24])
def test_admm_with_a_small_iteration_limit_returns_an_honest_max_iter(max_iter):
    """A max_iter below admm's first check (25 iterations) used to end in an AttributeError in the final polish."""
    res = cvxpar.solve(cvxpar.losses.LeastSquares(A, B), L1, 0.1, method="admm", max_iter=max_iter)
    assert res.iterations == max_iter
    cert = cvxpar.certificate(loss=cvxpar.losses.LeastSquares(A, B), psi=L1, lam=0.1, x=res.x)
    assert res.status == ("optimal" if cert.certifies(1e-8) else "max_iter")


def test_reference_with_an_unknown_solver_names_the_installed_ones():
    with pytest.raises(ValueError, match=r"(?i)solver.*NOPE.*(CLARABEL|installed solvers)"):
        cvxpar.reference(cvxpar.losses.LeastSquares(A, B), L1, 0.1, solver="NOPE")


def test_reference_asking_for_a_missing_scip_says_it_is_not_installed():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pyscipopt"] = None  # as on a machine without the [mip] extra
        import numpy as np, cvxpar
        rng = np.random.default_rng(0)
        loss = cvxpar.losses.LeastSquares(rng.standard_normal((20, 8)), np.ones(20))
        try:
            cvxpar.reference(loss, cvxpar.pars.sawtooth(cvxpar.grids.uniform(0.5, 5)), 0.1, solver="SCIP")
        except Exception as exc:
            print(type(exc).__name__, exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout
    assert "not installed" in out and "cvxpar[mip]" in out, out
