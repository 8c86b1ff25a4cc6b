"""The plain ``python`` code blocks of the README and the user guide run and print what they claim.

The user guide's ``{code-cell}`` blocks run in the documentation build (``.ci/run``); the plain
``python`` blocks do not, so this file runs them: every block must at least compile, and the
self-contained ones run in a fresh process (in a temporary folder) and their output is checked
against what the text around them says.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs" / "user_guide").glob("*.md"))]
FENCE = re.compile(r"^( *)```python\n(.*?)^\1```", re.M | re.S)


def blocks(path: Path) -> list[str]:
    return [textwrap.dedent(m.group(2)) for m in FENCE.finditer(path.read_text())]


def run(code: str, tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _needs(*modules: str) -> None:
    for name in modules:
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_python_block_compiles(path):
    for code in blocks(path):
        ast.parse(code)


def test_readme_quick_example(tmp_path):
    (code,) = blocks(ROOT / "README.md")
    code += "\nprint(prob.status, abs(prob.value - ref.objective) / abs(ref.objective))\n"
    lines = run(code, tmp_path).splitlines()
    assert lines[0] == "convex [0.0375 0.4125 0.8625]"  # the prox of 0.5 * (the x^2/2 interpolant), by hand
    status, _, rate = lines[1].split()
    assert status == "optimal" and 0 < float(rate) <= 1  # '"optimal" means certified to tol'
    assert float(lines[2]) < 1e-7  # cvxpar.solve agrees with the exact reference
    status, rel = lines[3].split()
    assert status == "optimal" and float(rel) < 1e-7  # 'prob.solve(method="cvxpar")  # same optimum'


def test_derivatives_example(tmp_path):
    _needs("torch")
    (code,) = blocks(ROOT / "docs" / "user_guide" / "derivatives.md")
    first, second = (line.split() for line in run(code, tmp_path).splitlines())
    assert float(first[0]) == pytest.approx(float(first[1]), rel=1e-9)  # vjp and jvp: the same number twice
    assert float(second[0]) == pytest.approx(float(second[1]), rel=1e-6)  # the torch layer's gradient = vjp's


@pytest.mark.slow
def test_larger_than_memory_example(tmp_path):
    _needs("dask", "distributed", "zarr")
    code = blocks(ROOT / "docs" / "user_guide" / "larger_than_memory.md")[0]
    assert run(code, tmp_path).splitlines()[-1] == "optimal 2 <class 'numpy.ndarray'>"  # as its comment says


def test_backends_example(tmp_path):
    from cvxpar._backend import cupy_with_gpu

    if cupy_with_gpu() is None:
        pytest.skip("needs CuPy and a CUDA device")
    (code,) = blocks(ROOT / "docs" / "user_guide" / "backends.md")
    out = run(code, tmp_path)
    assert out.startswith("optimal <class 'cupy") and "ndarray" in out


@pytest.mark.slow
def test_larger_than_memory_worker_settings(tmp_path):
    """The snippet that starts workers without MALLOC_TRIM_THRESHOLD_ runs as printed (the setting exists only
    once dask.distributed is imported)."""
    _needs("dask", "distributed")
    code = blocks(ROOT / "docs" / "user_guide" / "larger_than_memory.md")[1]
    code += "\nprint(sorted(env), len(cluster.workers))\ncluster.close()\n"
    out = run(code, tmp_path)
    assert "MALLOC_TRIM_THRESHOLD_" not in out and out.split()[-1] == "2"
