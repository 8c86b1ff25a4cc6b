"""cvxpar._backend.array_namespace answers as array_api_compat.array_namespace does, NumPy fast path included."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

from cvxpar import _backend


@pytest.mark.parametrize("arrays", [
    (np.zeros(3),),
    (np.zeros(3, dtype=np.float32), np.arange(4)),
    (np.zeros((2, 2)), np.ones(1, dtype=bool)),
])
def test_numpy_arrays_get_array_api_compats_numpy_namespace(arrays):
    assert _backend.array_namespace(*arrays) is array_api_compat.array_namespace(*arrays)


def test_other_namespaces_and_mixtures_go_through_array_api_compat():
    strict = pytest.importorskip("array_api_strict")
    a = strict.asarray([1.0, 2.0])
    assert _backend.array_namespace(a) is array_api_compat.array_namespace(a)
    with pytest.raises(TypeError):
        array_api_compat.array_namespace(a, np.zeros(2))
    with pytest.raises(TypeError):
        _backend.array_namespace(a, np.zeros(2))
    assert _backend.array_namespace(np.float64(1.0)) is array_api_compat.array_namespace(np.float64(1.0))
