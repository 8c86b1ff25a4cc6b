"""Input checks shared by every front door.

Each helper raises a ``ValueError`` whose message says what is wrong and how to fix it
(the scikit-learn convention of validating at the door).
"""

from __future__ import annotations

import math

import numpy as np


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
