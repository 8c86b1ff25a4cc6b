"""cvxpar: piecewise-affine regularization (PAR) for quantized solutions, exact and fast.

- :class:`PAR` (any continuous piecewise-affine psi) and its exact prox; families in
  :mod:`cvxpar.pars`, grids in :mod:`cvxpar.grids`.
- :func:`par`: the CVXPY atom; :func:`reference`: exact reference solutions through CVXPY.
- :func:`solve`: the first-order proximal solver family; :func:`certificate`: optimality
  certificates computed independently of any solver; :func:`lambda_path`: warm-started paths;
  :func:`lambda_for_rate`: the smallest lam reaching a target quantization rate.
- ``problem.solve(method="cvxpar")``: registered with CVXPY on import.

Optional parts load on first use: ``cvxpar.sklearn`` (scikit-learn estimators),
``cvxpar.experiments.qsgd`` (quantized-SGD simulator, paper reproduction), ``cvxpar.batch`` (batched solves).
"""

from __future__ import annotations

import importlib

# The submodules solve.py, certificate.py, reference.py and par.py share their names with public
# functions.  A submodule binds itself on the package only when it is first loaded, and all of
# them are loaded by the imports below (cvxpar.par through cvxpar.pars, before the atom factory
# ``par`` is bound), so ``cvxpar.solve`` etc. stay the functions whatever a user imports later.
from cvxpar import constraints, grids, losses, pars
from cvxpar._cvxpy_registration import register as _register_with_cvxpy
from cvxpar.atoms import par
from cvxpar.certificate import Certificate, certificate
from cvxpar.metrics import quantization_rate, snap
from cvxpar.par import PAR
from cvxpar.path import lambda_for_rate, lambda_path
from cvxpar.reference import reference
from cvxpar.result import SolveResult
from cvxpar.solve import solve

__version__ = "0.1.0"

_LAZY_MODULES = ("experiments", "sklearn", "batch", "quantizers")

__all__ = [
    "PAR", "Certificate", "SolveResult", "certificate", "constraints", "grids", "lambda_for_rate", "lambda_path", "losses", "par",
    "pars", "quantization_rate", "reference", "snap", "solve", *_LAZY_MODULES,
]


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"cvxpar.{name}")
    raise AttributeError(f"module 'cvxpar' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES))


_register_with_cvxpy()
