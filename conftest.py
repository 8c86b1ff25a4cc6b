"""pytest configuration for the docstring examples (``python -m pytest --doctest-modules cvxpar``): a module
whose examples need an optional dependency that is not installed is left out of the collection."""

from __future__ import annotations

import importlib.util

collect_ignore = [] if importlib.util.find_spec("torch") is not None else ["cvxpar/torch.py"]
