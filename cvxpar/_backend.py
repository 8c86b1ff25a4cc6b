"""Array-namespace helpers: one code path for NumPy, CuPy and any Array-API library.

Everything follows the input array (scikit-learn's rule): constants are moved to the input's
namespace, dtype and device, and results come back in that namespace.
"""

from __future__ import annotations

import sys

import numpy as np
from array_api_compat import array_namespace as _compat_namespace
from array_api_compat import device as _device
from array_api_compat import is_cupy_array, is_numpy_array, is_numpy_namespace

__all__ = ["array_namespace", "asarray_like", "cupy_with_gpu", "device", "finish", "is_cupy_array", "is_numpy_namespace", "prepare"]


def array_namespace(*arrays):
    """``array_api_compat.array_namespace(*arrays)``, except that float64 NumPy arrays get NumPy itself.

    NumPy >= 2.1 implements the Array API standard in its main namespace; for float64 arrays its
    functions return what array_api_compat's wrappers return (those differ only in dtype promotion,
    e.g. ``clip`` of a float32 array with float64 bounds), without a wrapper per call and without
    importing the wrappers at all (a small problem calls thousands of them per solve).
    """
    if _NUMPY_IS_ARRAY_API and arrays and all(type(a) is np.ndarray and a.dtype == np.float64 for a in arrays):
        return np
    return _compat_namespace(*arrays)


_NUMPY_IS_ARRAY_API = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def compiled_kernels():
    """The compiled kernels' module (:mod:`cvxpar._prox_kernels`) once something has imported it, else None: a
    caller with a NumPy fallback takes the kernels only when they cost no numba import."""
    return sys.modules.get("cvxpar._prox_kernels")


def is_flat_float64(v) -> bool:
    """v is a contiguous 1-D float64 NumPy array (what the compiled kernels take as is)."""
    return type(v) is np.ndarray and v.dtype == np.float64 and v.ndim == 1 and v.flags.c_contiguous


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
    """Return ``(xp, array, was_scalar)`` for a real input.

    Python scalars, lists, booleans and integer arrays become float64 NumPy (NumPy floating
    scalars keep their dtype); a non-native byte order (big-endian data) becomes native with the
    same values; ``np.longdouble`` is rounded to float64 (psi's data is float64, so the result
    has float64 precision whatever the input); float16 stays float16.  Complex and non-numeric
    input raise ``TypeError``: psi is a function of real numbers, and silently dropping an
    imaginary part would give a wrong answer.
    """
    if isinstance(x, np.floating):  # a NumPy scalar keeps its precision (np.float32 stays float32)
        arr = _real_numpy(np.asarray(x))
        return array_namespace(arr), arr, True
    if isinstance(x, (int, float, complex, np.number, list, tuple)):
        try:
            arr = _real_numpy(np.asarray(x)).astype(np.float64)
        except ValueError as exc:
            raise TypeError(f"expected real numbers; got {x!r}, which does not convert to float64.") from exc
        return array_namespace(arr), arr, arr.ndim == 0
    if is_numpy_array(x):
        return array_namespace(x), _real_numpy(x), False
    try:
        xp = array_namespace(x)
    except TypeError:
        raise TypeError(
            f"expected real numbers (a number, a list of numbers, or a NumPy, CuPy or Array-API array); got "
            f"{type(x).__name__}. Convert it first, e.g. np.asarray(x, dtype=float) (a pandas object: .to_numpy(float))."
        ) from None
    if xp.isdtype(x.dtype, "complex floating"):
        raise TypeError(_complex_message(x))
    if not xp.isdtype(x.dtype, "real floating"):
        x = xp.astype(x, xp.float64)
    return xp, x, False


def _complex_message(x) -> str:
    return (
        f"expected real numbers; got complex input ({getattr(x, 'dtype', type(x).__name__)}). cvxpar's functions "
        "(psi, its prox, the losses) are defined on real numbers: pass x.real (or np.real(x)) if the imaginary part "
        "is meant to be dropped."
    )


def _real_numpy(arr: np.ndarray) -> np.ndarray:
    """A NumPy array of a native real floating dtype (see :func:`prepare`)."""
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(_complex_message(arr))
    if kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("expected real numbers; got an object array that does not convert to float64.") from exc
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"expected real numbers; got an array of dtype {arr.dtype}. Convert it with x.astype(np.float64).")
    if kind != "f" or arr.dtype.itemsize > 8:  # integers, booleans, longdouble: float64
        return arr.astype(np.float64)
    if not arr.dtype.isnative:
        return arr.astype(arr.dtype.newbyteorder("="))
    return arr


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


def to_host(a) -> np.ndarray:
    """A host NumPy array from any array (NumPy as is, CuPy through ``.get()``, others through DLPack)."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get"):
        return a.get()
    try:
        return np.asarray(a)
    except (TypeError, ValueError, RuntimeError):
        return np.from_dlpack(a)
