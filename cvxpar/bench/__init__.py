"""Benchmarks: each module has ``run(size) -> Table``; ``python benchmarks/run.py`` and
``cvxpar bench`` print the tables, and ``benchmarks/run.py`` writes them to
``benchmarks/RESULTS.md`` with the machine they ran on.

Sizes: ``"small"`` (seconds, used by ``cvxpar bench`` and CI) and ``"full"`` (the sizes named
in the issues).  Timings are medians of repeated runs measured side by side in one process.
"""
