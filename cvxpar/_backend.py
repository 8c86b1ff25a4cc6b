"""Array-namespace helpers: one code path for NumPy, CuPy and any Array-API library.

Everything follows the input array (scikit-learn's rule): constants are moved to the input's
namespace, dtype and device, and results come back in that namespace.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, is_cupy_array, is_numpy_array, is_numpy_namespace
from array_api_compat import device as _device

__all__ = ["array_namespace", "asarray_like", "cupy_with_gpu", "device", "finish", "is_cupy_array", "is_numpy_namespace", "prepare"]


def cupy_with_gpu():
    """The ``cupy`` module when it imports and sees a CUDA device, else None (never raises)."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:
        return None
    return None


def device(x):
    """The device of ``x`` (``"cpu"`` for NumPy)."""
    return _device(x)


def prepare(x):
    """Return ``(xp, array, was_scalar)``; Python scalars, lists and integer arrays become float64 NumPy
    (NumPy floating scalars keep their dtype)."""
    if isinstance(x, np.floating):  # a NumPy scalar keeps its precision (np.float32 stays float32)
        arr = np.asarray(x)
        return array_namespace(arr), arr, True
    if isinstance(x, (int, float, np.number, list, tuple)):
        arr = np.asarray(x, dtype=np.float64)
        return array_namespace(arr), arr, arr.ndim == 0
    if is_numpy_array(x):
        arr = x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
        return array_namespace(arr), arr, False
    xp = array_namespace(x)
    if not xp.isdtype(x.dtype, "real floating"):
        x = xp.astype(x, xp.float64)
    return xp, x, False


def finish(out, was_scalar: bool):
    """Undo :func:`prepare` for scalars: a Python-scalar input gives a NumPy scalar back."""
    if was_scalar:
        return out[()]
    return out


def asarray_like(xp, values, like):
    """``values`` (a NumPy array) in ``like``'s namespace, dtype and device."""
    if is_numpy_namespace(xp):
        return np.asarray(values, dtype=like.dtype)
    return xp.asarray(np.array(values), dtype=like.dtype, device=device(like))  # a writable copy (torch warns otherwise)
