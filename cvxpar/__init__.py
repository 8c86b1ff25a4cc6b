"""cvxpar: piecewise-affine regularization (PAR) for quantized solutions, exact and fast.

- :class:`PAR` (any continuous piecewise-affine psi) and its exact prox; families in
  :mod:`cvxpar.pars`, grids in :mod:`cvxpar.grids`.
- :func:`par`: the CVXPY atom; :func:`reference`: exact reference solutions through CVXPY.
- :func:`solve`: the first-order proximal solver family; :func:`certificate`: optimality
  certificates computed independently of any solver; :func:`lambda_path`: warm-started paths;
  :func:`lambda_for_rate`: the smallest lam reaching a target quantization rate.
- ``problem.solve(method="cvxpar")``: registered with CVXPY on import when CVXPY is imported, else
  as soon as it is (in either import order).

Optional parts load on first use: ``cvxpar.sklearn`` (scikit-learn estimators),
``cvxpar.experiments.qsgd`` (quantized-SGD simulator, paper reproduction), ``cvxpar.batch`` (batched solves),
and the parts that need CVXPY (``par``, ``reference``, ``cvxpar.atoms``, ``cvxpar.bridge``): ``import cvxpar``
and :func:`solve` never import CVXPY.
"""

from __future__ import annotations

import importlib
import sys
import types

from cvxpar import _cvxpy_registration

#: Public functions that share their name with a submodule of the package, and the module each comes from.
_FUNCTIONS = {"par": "cvxpar.atoms", "reference": "cvxpar.reference", "solve": "cvxpar.solve",
              "certificate": "cvxpar.certificate"}


class _Package(types.ModuleType):
    """The package's module type: loading a submodule never rebinds a public function of the same name.

    Python binds a submodule on its package when it is first loaded (``cvxpar.solve`` would become the
    module ``solve.py``); here that binding is skipped for the names in ``_FUNCTIONS``, so they stay
    the functions whatever a user imports, and in which order.
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

from cvxpar import constraints, grids, losses, pars  # noqa: E402
from cvxpar.certificate import Certificate, certificate  # noqa: E402
from cvxpar.metrics import quantization_rate, snap  # noqa: E402
from cvxpar.par import PAR  # noqa: E402
from cvxpar.path import lambda_for_rate, lambda_path  # noqa: E402
from cvxpar.result import SolveResult  # noqa: E402
from cvxpar.solve import solve  # noqa: E402

__version__ = "0.1.0"

_LAZY_MODULES = ("experiments", "sklearn", "batch", "quantizers")
#: Parts that import CVXPY, loaded on first use (``import cvxpar`` alone does not import CVXPY).
_CVXPY_MODULES = ("atoms", "bridge", "exact")

__all__ = [
    "PAR", "Certificate", "SolveResult", "certificate", "constraints", "grids", "lambda_for_rate", "lambda_path", "losses", "par",
    "pars", "quantization_rate", "reference", "snap", "solve", *_LAZY_MODULES,
]


def __getattr__(name: str):
    if name in _FUNCTIONS:  # par and reference: their modules import CVXPY
        function = getattr(importlib.import_module(_FUNCTIONS[name]), name)
        globals()[name] = function
        return function
    if name in _LAZY_MODULES or name in _CVXPY_MODULES:
        return importlib.import_module(f"cvxpar.{name}")
    raise AttributeError(f"module 'cvxpar' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_CVXPY_MODULES) | set(_FUNCTIONS))


_cvxpy_registration.install()
