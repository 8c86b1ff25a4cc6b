"""Prox throughput (issue 2): elements per second of ``psi.prox(v, t)`` on NumPy float64.

Each row times the prox and, side by side in the same loop, one ``np.clip`` pass over the
same array (the memory-bound floor: one read, one freshly allocated output, as the prox);
the ratio is prox time / clip time.  Targets: within 3x of the floor for m = 3 breakpoints
and within 6x for m = 256 (convex psi, scalar t).

    python benchmarks/run.py --size full prox_throughput
"""

from __future__ import annotations

import os
import statistics
import time

import numba
import numpy as np

from cvxpar import grids, pars
from cvxpar.bench._table import Table

SIZES = {"small": 10**6, "full": 10**7}
TARGETS = {3: 3.0, 256: 6.0}


def _paired_times(prox, floor, repeat: int) -> tuple[float, float]:
    """Medians of the two timings, measured alternately (after one warm-up call each)."""
    prox()
    floor()
    tp, tf = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        prox()
        t1 = time.perf_counter()
        floor()
        t2 = time.perf_counter()
        tp.append(t1 - t0)
        tf.append(t2 - t1)
    return statistics.median(tp), statistics.median(tf)


def run(size: str = "small") -> Table:
    n = SIZES[size]
    rng = np.random.default_rng(0)
    v = 2.0 * rng.standard_normal(n)
    t = 0.3
    t_per_element = rng.uniform(0.1, 0.5, n)
    rows = [(f"ridge, m = {m}", pars.ridge(grids.uniform(4.0 / m, m)), t, TARGETS.get(m)) for m in (3, 16, 256)]
    rows += [
        ("sawtooth (nonconvex), m = 31", pars.sawtooth(grids.uniform(0.25, 16)), t, None),
        ("mcp (nonconvex), m = 511", pars.mcp(grids.uniform(4.0 / 256, 256), 1.0), t, None),
        ("ridge, m = 16, per-element t", pars.ridge(grids.uniform(0.25, 16)), t_per_element, None),
        ("ridge, m = 256, per-element t", pars.ridge(grids.uniform(4.0 / 256, 256)), t_per_element, None),
    ]
    table = Table(
        f"Prox throughput, NumPy float64, {n:.0e} elements",
        ["psi", "curvature", "prox (s)", "elements/s", "np.clip floor (s)", "ratio", "target"],
    )
    repeat = 7 if size == "full" else 11
    for name, psi, tt, target in rows:
        t_prox, t_floor = _paired_times(lambda psi=psi, tt=tt: psi.prox(v, tt), lambda: np.clip(v, -1.0, 1.0), repeat)
        ratio = t_prox / t_floor
        if target is None:
            verdict = "-"
        elif size == "full":
            verdict = f"<= {target:g}x: {'met' if ratio <= target else 'MISSED'}"
        else:
            verdict = f"<= {target:g}x at 1e7 (not graded here)"
        table.add(name, psi.curvature, t_prox, f"{n / t_prox:.3g}", t_floor, f"{ratio:.2f}x", verdict)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table.notes += [
        f"Wall-clock medians of {repeat} alternating runs; numba threads: {numba.get_num_threads()}; "
        f"1-minute load average at the end: {load:.1f} (a shared machine inflates both columns).",
        "The floor is np.clip(v, -1, 1) into a new array: one read and one write of the same data.",
        "Per-element t rows read a second array of n float64 (t); their floor is still one np.clip pass.",
    ]
    if size != "full":
        table.notes.append(
            f"size={size}: {n:.0e} elements, a quick check that the kernels run; the targets are stated for 1e7 "
            "elements and graded at full size only (python benchmarks/run.py --size full prox_throughput)."
        )
    return table
