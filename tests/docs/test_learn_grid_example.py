"""The learned-grid gallery example (docs/examples/plot_learn_grid.py) at its small size: it runs, the descent
never raises the validation error of the grid it starts from, and the verdict it prints is the one its own
table implies (recomputed here from the printed numbers, so neither can be hard-coded text)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "docs" / "examples" / "plot_learn_grid.py"
ROW = re.compile(r"K=(\d+) (uniform|Lloyd-Max|learned)\s+val MSE\s+([\d.]+)\s+test MSE\s+([\d.]+)\s+on the grid\s+([\d.]+)% "
                 r"\s*\((\w+)\)")


@pytest.mark.slow
def test_learned_grid_example_verdict_follows_from_its_measurements(tmp_path):
    env = {**os.environ, "CVXPAR_NOTEBOOK_SIZE": "small", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600, check=True).stdout
    rows = [m.groups() for m in ROW.finditer(out)]
    ks = sorted({int(k) for k, *_ in rows})
    assert ks == [2, 3] and len(rows) == 3 * len(ks)
    assert all(status == "optimal" for *_, status in rows)
    val = {(int(k), name): float(v) for k, name, v, *_ in rows}
    test = {(int(k), name): float(t) for k, name, _, t, *_ in rows}
    for k in ks:  # the descent starts at Lloyd-Max and accepts only steps that lower the validation error
        assert val[(k, "learned")] <= val[(k, "Lloyd-Max")]
    wins = [k for k in ks if test[(k, "learned")] < min(test[(k, "uniform")], test[(k, "Lloyd-Max")])]
    overfit = [k for k in ks if val[(k, "learned")] < val[(k, "Lloyd-Max")]
               and test[(k, "learned")] > test[(k, "Lloyd-Max")]]
    verdict = next(line for line in out.splitlines() if line.startswith("verdict:"))
    assert verdict == (f"verdict: the learned levels have the lowest test error for K in {wins} of {ks}" if wins
                       else f"verdict: learning the levels never gave the lowest test error here (K in {ks})")
    overfit_line = next(line for line in out.splitlines() if line.startswith("overfitting:"))
    assert overfit_line.startswith("overfitting: none") == (not overfit)
    if overfit:
        assert overfit_line.endswith(f"for K in {overfit}")
    assert not list(tmp_path.iterdir())  # the example writes nothing (its figure is shown, not saved)
