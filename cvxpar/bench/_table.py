"""A tiny table type shared by the benchmarks, and the machine description they report."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cvxpar._backend import cupy_with_gpu


@dataclass
class Table:
    """A titled table of rows (lists of cells) with notes, printable as Markdown."""

    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append(list(cells))

    def markdown(self) -> str:
        def fmt(c: object) -> str:
            if isinstance(c, float):
                return f"{c:.4g}"
            return str(c)

        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in self.rows]
        lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def machine() -> str:
    """One line naming the CPU machine (and the GPU, when CuPy sees one)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    desc = f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    gpu = gpu_name()
    return desc + (f"; GPU: {gpu}" if gpu else "; no GPU")


def gpu_name() -> str | None:
    """The name of CUDA device 0 when CuPy sees one, else None."""
    cupy = cupy_with_gpu()
    if cupy is None:
        return None
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
