"""Benchmarks: each module has ``run(size) -> Table``; ``python benchmarks/run.py`` and
``cvxpar bench`` print the tables, and ``benchmarks/run.py`` writes them to
``benchmarks/RESULTS.md`` with the machine they ran on.

Sizes: ``"small"`` (seconds, used by ``cvxpar bench`` and CI) and ``"full"`` (the sizes named
in the issues).  Timings are medians of repeated runs measured side by side in one process.
"""

from __future__ import annotations

import importlib
import pkgutil


def available() -> list[str]:
    """Names of the benchmark modules in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def run_tables(name: str, size: str, only: str | None = None) -> list:
    """Run ``cvxpar.bench.<name>`` at ``size`` (``only``: the subset of its cases to run, for the benchmarks
    that take it) and return its tables as a list."""
    module = importlib.import_module(f"{__name__}.{name}")
    tables = module.run(size) if only is None else module.run(size, only=only)
    return tables if isinstance(tables, list) else [tables]
