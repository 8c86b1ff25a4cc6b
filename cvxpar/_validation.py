"""Input checks shared by every front door.

Each helper raises a ``ValueError`` whose message says what is wrong and how to fix it
(the scikit-learn convention of validating at the door).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from cvxpar import _backend


def as_finite_vector(values, name: str, *, min_length: int = 1) -> np.ndarray:
    """Return ``values`` as a read-only 1-D float64 array with only finite entries."""
    try:
        arr = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of real numbers; got {values!r}.") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array of shape {arr.shape}. Pass a flat sequence.")
    if arr.size < min_length:
        raise ValueError(f"{name} needs at least {min_length} entr{'y' if min_length == 1 else 'ies'}; got {arr.size}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}[{i}] = {arr[i]} is not finite. Breakpoints and values must be finite numbers; "
            "use +/-inf outer slopes for a hard box instead."
        )
    arr.setflags(write=False)
    return arr


def as_real_array(values, name: str) -> np.ndarray:
    """Return ``values`` as a float64 NumPy array, refusing complex, string and other non-real input.

    NumPy's own cast would drop an imaginary part with only a warning (a wrong answer) and name no
    argument when a string does not convert; here the message names ``name``.
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real; got complex values ({arr.dtype}). Pass np.real(...) of it if the "
                        "imaginary part is meant to be dropped.")
    try:
        return arr.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must hold real numbers; got {arr.dtype} values such as '{arr.flat[0]}'.") from None


def check_strictly_increasing(arr: np.ndarray, name: str) -> None:
    """Raise unless ``arr`` is strictly increasing (no repeats, no unsorted entries)."""
    steps = np.diff(arr)
    if (steps > 0).all():
        return
    i = int(np.flatnonzero(steps <= 0)[0])
    kind = "repeated" if steps[i] == 0 else "unsorted"
    raise ValueError(
        f"{name} must be strictly increasing, but {name}[{i}] = {arr[i]} and {name}[{i + 1}] = {arr[i + 1]} are "
        f"{kind}. Sort them (np.sort) and drop duplicates (np.unique), keeping each value paired with its breakpoint."
    )


def as_slope(value, name: str, *, forbidden_inf: float) -> float:
    """Return an outer slope as a float; NaN and the infinity of the wrong sign are rejected."""
    try:
        slope = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number or +/-inf; got {value!r}.") from exc
    if math.isnan(slope):
        raise ValueError(f"{name} is NaN. Give a finite slope, or -inf (left) / +inf (right) for a hard box.")
    if slope == forbidden_inf:
        wall = "-inf" if forbidden_inf > 0 else "+inf"
        raise ValueError(
            f"{name} = {slope} would send psi to -inf outside the breakpoints. "
            f"A hard box needs {name} = {wall}."
        )
    return slope


def check_tol(tol) -> None:
    """A stopping / certification tolerance: a finite real number > 0 (no point certifies to a zero or negative
    one, and a NaN would compare False everywhere)."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite positive number (e.g. 1e-8); got {tol!r}.")


def as_step(t, name: str = "t"):
    """Validate a prox parameter: a finite nonnegative scalar or array."""
    if np.ndim(t) == 0:
        if np.iscomplexobj(t):
            raise TypeError(f"{name} must be a real number; got {t!r}. The prox of t*psi needs a real t >= 0.")
        value = float(t)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite nonnegative number; got {value}. The prox of t*psi needs t >= 0.")
        return value
    return t


def as_lam(lam, like, d: int | None = None, name: str = "lam", exact: bool = False):
    """The weights lam >= 0: a Python float (a scalar) or a 1-D array in ``like``'s namespace and device.

    Accepts Python numbers, NumPy scalars, sequences and arrays of any namespace; an array from another
    namespace than ``like``'s (a CuPy lam with NumPy data) is copied over, and a NumPy one takes
    ``like``'s dtype, or with ``exact`` float64 (the certificate's lam: float32 data must not round the
    weights the user gave, or the point is certified for another problem).  ``d`` is the required length (one weight per coordinate); None accepts any
    length (one weight per column of a batch).

    Raises
    ------
    TypeError
        ``lam`` is None or not numbers.
    ValueError
        A negative or non-finite entry, or an array that is not 1-D of length ``d``.
    """
    if lam is None:
        raise TypeError(f"{name} is required: a nonnegative number or one weight per coordinate.")
    if isinstance(lam, (list, tuple)):
        lam = np.asarray(lam, dtype=np.float64)
    if np.ndim(lam) == 0 and not hasattr(lam, "__array_namespace__"):
        try:
            value = float(lam)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a nonnegative number or an array of them; got {type(lam).__name__}.") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite nonnegative number (or array); got {value}.")
        return value
    xp = _backend.array_namespace(like)
    if exact and _backend.is_numpy_namespace(xp):
        lam = np.asarray(_backend.to_host(lam), dtype=np.float64)
    elif _backend.array_namespace(lam) is not xp:
        lam = _backend.asarray_like(xp, np.asarray(_backend.to_host(lam), dtype=np.float64), like)
    elif _backend.is_numpy_namespace(xp):
        lam = np.asarray(lam, dtype=like.dtype)
    if lam.ndim == 0:
        return as_lam(float(lam), like, d, name)
    if lam.ndim != 1 or (d is not None and lam.shape[0] != d):
        want = "a 1-D array" if d is None else f"one entry per coordinate ({d})"
        raise ValueError(f"{name} must be a scalar or {want}; got shape {tuple(lam.shape)}.")
    if not bool(xp.all(xp.isfinite(lam))) or bool(xp.any(lam < 0)):
        raise ValueError(f"{name} must be finite and nonnegative everywhere.")
    return lam
