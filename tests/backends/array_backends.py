"""The Array-API backends the CPU tests run on: array_api_strict (two devices) and torch CPU."""

from __future__ import annotations

import numpy as np
import pytest


def backends() -> list:
    """pytest params, each a function turning a NumPy array into that backend's array."""
    import array_api_strict as xs

    out = [
        pytest.param(lambda a: xs.asarray(a), id="array_api_strict"),
        pytest.param(lambda a: xs.asarray(a, device=xs.Device("device1")), id="array_api_strict-device1"),
    ]
    try:
        import torch

        out.append(pytest.param(lambda a: torch.asarray(np.array(a)), id="torch-cpu"))
    except ImportError:
        out.append(pytest.param(None, id="torch-cpu", marks=pytest.mark.skip(reason="torch is not importable")))
    return out
