"""cvxpar._cvxpy_registration: ``problem.solve(method="cvxpar")`` and the PAR atom work whichever of cvxpar and
CVXPY a fresh process imports first, and ``import cvxpar`` alone imports neither CVXPY nor numba.

Each case runs in a fresh interpreter (the import order is a property of a process).  The answers are checked
against CVXPY + Clarabel on the same model in the same process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: A Lasso without any cvxpar atom (only the registered solve method can take it) and a ridge PAR
#: model (the atom), each solved by cvxpar and by Clarabel.
_MODELS = """
import numpy as np
rng = np.random.default_rng(0)
A = rng.standard_normal((15, 6)); b = A @ rng.uniform(-1, 1, 6)
def models():
    x = cp.Variable(6)
    lasso = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + 0.7 * cp.norm1(x)))
    y = cp.Variable(6)
    psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
    ridge = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ y - b) + 2.0 * cp.sum(cvxpar.par(y, psi))), [y >= -1, y <= 1])
    return {"lasso": lasso, "ridge": ridge}
out = {}
for name in ("lasso", "ridge"):
    ours = models()[name].solve(method="cvxpar")
    ref = models()[name].solve(solver="CLARABEL")
    out[name] = [ours, ref]
"""


def _run(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (this checkout first on the path); it prints one JSON line."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("order", ["cvxpar first", "cvxpy first"])
def test_the_solve_method_and_the_atom_work_in_either_import_order(order):
    first, second = ("cvxpar", "cvxpy") if order == "cvxpar first" else ("cvxpy", "cvxpar")
    code = f"""
        import json, sys
        import {first}
        import {second}
        import cvxpy as cp, cvxpar
        {textwrap.indent(_MODELS, " " * 8).strip()}
        out["finders"] = sum(type(f).__name__ == "_AfterImport" for f in sys.meta_path)
        print(json.dumps(out))
    """
    out = _run(code)
    for name in ("lasso", "ridge"):
        ours, ref = out[name]
        assert abs(ours - ref) <= 1e-6 * max(1.0, abs(ref)), (name, ours, ref)
    assert out["finders"] == 0  # the import hook leaves once it has registered


def test_import_cvxpar_alone_imports_neither_cvxpy_nor_numba_and_installs_the_hook_once():
    out = _run("""
        import json, sys
        import cvxpar, importlib
        importlib.reload(cvxpar)
        print(json.dumps({"cvxpy": "cvxpy" in sys.modules, "numba": "numba" in sys.modules,
                          "finders": sum(type(f).__name__ == "_AfterImport" for f in sys.meta_path)}))
    """)
    assert out == {"cvxpy": False, "numba": False, "finders": 1}


def test_the_cvxpy_parts_load_on_first_use():
    """cvxpar.par, cvxpar.reference, cvxpar.atoms, cvxpar.bridge after ``import cvxpar`` alone; the public
    functions stay functions when their same-named submodules are imported explicitly, in any order."""
    out = _run("""
        import json, sys, types
        import cvxpar
        import cvxpar.reference as ref_import
        from cvxpar.solve import solve as solve_function
        from cvxpar import certificate
        checks = {
            "reference": callable(cvxpar.reference) and not isinstance(cvxpar.reference, types.ModuleType),
            "reference_import": ref_import is cvxpar.reference,
            "same_reference": cvxpar.reference is sys.modules["cvxpar.reference"].reference,
            "solve": cvxpar.solve is solve_function,
            "certificate": not isinstance(certificate, types.ModuleType),
            "par": cvxpar.par is cvxpar.atoms.par and cvxpar.atoms.ParAtom.__name__ == "ParAtom",
            "bridge": callable(cvxpar.bridge.solve_problem),
            "dir": {"par", "reference", "atoms", "bridge"} <= set(dir(cvxpar)),
        }
        import cvxpy as cp
        import numpy as np
        x = cp.Variable(3)
        psi = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5))
        res = cvxpar.reference(cvxpar.losses.LeastSquares(np.eye(3), np.array([0.3, -0.8, 1.4])), psi, 0.5)
        checks["reference_solves"] = res.status == "optimal"
        checks["atom_registered"] = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(x, psi)))).is_dcp()
        print(json.dumps(checks))
    """)
    assert all(out.values()), out


def test_small_solve_never_loads_numba_and_certifies_at_clarabels_objective():
    """A d = 50 least squares with a ridge PAR and a Box in a fresh process: cvxpar.solve certifies it without
    importing numba or CVXPY; CVXPY + Clarabel (imported afterwards) reaches the same objective."""
    out = _run("""
        import json, sys
        import numpy as np, cvxpar
        d, n = 50, 150
        rng = np.random.default_rng(1)
        A = rng.standard_normal((n, d)); b = A @ rng.uniform(-1, 1, d) + 0.1 * rng.standard_normal(n)
        psi = cvxpar.pars.ridge(cvxpar.grids.uniform(1 / 3, 7))
        res = cvxpar.solve(cvxpar.losses.LeastSquares(A, b), psi, 0.05 * n, cvxpar.constraints.Box(-1, 1))
        loaded = {"numba": "numba" in sys.modules, "cvxpy": "cvxpy" in sys.modules}
        import cvxpy as cp
        x = cp.Variable(d)
        prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + 0.05 * n * cp.sum(cvxpar.par(x, psi))),
                          [x >= -1, x <= 1])
        ref = prob.solve(solver="CLARABEL")
        print(json.dumps({**loaded, "status": res.status, "ours": res.objective, "ref": ref}))
    """)
    assert out["numba"] is False and out["cvxpy"] is False
    assert out["status"] == "optimal"
    assert out["ours"] <= out["ref"] + 1e-7 * max(1.0, abs(out["ref"]))
    assert abs(out["ours"] - out["ref"]) <= 1e-6 * max(1.0, abs(out["ref"]))


def test_an_unusable_cvxpy_warns_instead_of_breaking_its_import():
    """CVXPY below the supported version, imported after cvxpar: ``import cvxpy`` still works and warns that
    method='cvxpar' is unavailable; cvxpar.atoms raises the version error."""
    out = _run("""
        import json, sys, warnings
        import cvxpar
        from cvxpar import _cvxpy_registration as reg
        reg.MIN_CVXPY = (99, 0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import cvxpy
        try:
            import cvxpar.atoms
            atoms = "imported"
        except ImportError as exc:
            atoms = str(exc)
        print(json.dumps({"cvxpy": "cvxpy" in sys.modules, "warned": [str(w.message) for w in caught],
                          "method": "cvxpar" in cvxpy.Problem.REGISTERED_SOLVE_METHODS, "atoms": atoms}))
    """)
    assert out["cvxpy"] and not out["method"]
    assert any("method='cvxpar') is not available" in w and "CVXPY >= 99.0" in w for w in out["warned"])
    assert "CVXPY >= 99.0" in out["atoms"]
