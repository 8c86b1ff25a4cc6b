"""The public functions of the contract carry type hints on every parameter (read by help(), IDEs and type checkers).

The names listed are those whose signatures are complete; the others of the contract (the estimators, solve_batch,
the torch layer, SolveResult.vjp / jvp) are still to annotate.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

NAMES = [
    "cvxpar.PAR", "cvxpar.PAR.from_slopes", "cvxpar.PAR.from_pieces", "cvxpar.PAR.interpolate", "cvxpar.PAR.__call__",
    "cvxpar.PAR.subdifferential", "cvxpar.pars.l1", "cvxpar.pars.ridge", "cvxpar.pars.mcp", "cvxpar.pars.parq",
    "cvxpar.pars.sawtooth", "cvxpar.pars.staircase", "cvxpar.grids.uniform", "cvxpar.grids.bits", "cvxpar.par",
    "cvxpar.losses.LeastSquares", "cvxpar.losses.Logistic", "cvxpar.losses.Huber", "cvxpar.losses.Smooth",
    "cvxpar.losses.LinearModelLoss", "cvxpar.constraints.Box", "cvxpar.constraints.NonNeg",
    "cvxpar.constraints.Simplex", "cvxpar.constraints.Linear", "cvxpar.certificate", "cvxpar.Certificate.certifies",
    "cvxpar.lambda_path", "cvxpar.lambda_for_rate", "cvxpar.quantization_rate", "cvxpar.snap", "cvxpar.solve",
    "cvxpar.reference", "cvxpar.recession.ray", "cvxpar.recession.decide",
]


def _resolve(name: str):
    parts = name.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        obj = getattr(obj, part) if hasattr(obj, part) else importlib.import_module(".".join(parts[: i + 1]))
    return obj


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_and_the_return_value_are_annotated(name):
    obj = _resolve(name)
    function = obj.__init__ if inspect.isclass(obj) else obj
    sig = inspect.signature(function)
    missing = [p for p, v in sig.parameters.items() if p not in ("self", "cls") and v.annotation is inspect.Parameter.empty]
    assert not missing, f"{name}: parameters without a type hint: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return annotation"
