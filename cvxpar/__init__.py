"""cvxpar: piecewise-affine regularization (PAR) for quantized solutions, exact and fast.

- :class:`PAR` (any continuous piecewise-affine psi) and its exact prox; families in
  :mod:`cvxpar.pars`, grids in :mod:`cvxpar.grids`.
- :func:`par`: the CVXPY atom; :func:`reference`: exact reference solutions through CVXPY.
- :func:`solve`: the first-order proximal solver family; :func:`certificate`: optimality
  certificates computed independently of any solver.
- ``problem.solve(method="cvxpar")``: registered on import.

Heavy submodules load on first use (``cvxpar.solve``, ``cvxpar.sklearn``, ...).
"""

from __future__ import annotations

import importlib
import sys
import types

from cvxpar import grids, pars
from cvxpar._cvxpy_registration import register as _register_with_cvxpy
from cvxpar.metrics import quantization_rate, snap
from cvxpar.par import PAR

__version__ = "0.1.0"

#: public name -> (module, attribute or None for the module itself)
_LAZY = {
    "solve": ("cvxpar.solve", "solve"),
    "certificate": ("cvxpar.certificate", "certificate"),
    "SolveResult": ("cvxpar.result", "SolveResult"),
    "Certificate": ("cvxpar.certificate", "Certificate"),
    "lambda_path": ("cvxpar.path", "lambda_path"),
    "losses": ("cvxpar.losses", None),
    "constraints": ("cvxpar.constraints", None),
    "qsgd": ("cvxpar.qsgd", None),
    "sklearn": ("cvxpar.sklearn", None),
}

__all__ = ["PAR", "grids", "par", "pars", "quantization_rate", "reference", "snap", *_LAZY]


def __getattr__(name: str):
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'cvxpar' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


#: Public functions and classes that share their name with a submodule (cvxpar/solve.py defines
#: solve, cvxpar/certificate.py certificate, ...).
_SHADOWED = {name for name, (_, attr) in _LAZY.items() if attr is not None} | {"par", "reference"}


class _Package(types.ModuleType):
    """cvxpar itself: importing a submodule (``import cvxpar.certificate``, done by any module
    that needs it) must not replace the public function of the same name with the module."""

    def __setattr__(self, name: str, value) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


_register_with_cvxpy()

# Bound eagerly, after the registration (which imports CVXPY and cvxpar.atoms anyway); the
# submodule cvxpar/par.py (the PAR class) was bound under this name before _Package applied.
from cvxpar.atoms import par  # noqa: E402
from cvxpar.reference import reference  # noqa: E402
