"""The command line: ``cvxpar demo`` (the main job), ``cvxpar bench`` and their help."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

from cvxpar import cli, demo
from cvxpar.bench._table import Table


def _run_cli(*args: str, prelude: str = "") -> subprocess.CompletedProcess:
    code = f"{prelude}\nimport sys\nfrom cvxpar.cli import main\nsys.exit(main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["demo", "bench"]),
        (["demo"], ["CVXPY", "--out", "--no-plot", "--alpha", "diabetes"]),
        (["bench"], ["--size", "small", "RESULTS.md"]),
    ],
)
def test_help(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for text in expected:
        assert text in out


def test_help_lists_the_benchmarks_and_examples(capsys):
    """`cvxpar bench --help` names every benchmark a user may pass, and `cvxpar --help` shows how to call it."""
    from cvxpar.bench import available

    with pytest.raises(SystemExit):
        cli.main(["bench", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the list
    assert available() and all(name in out for name in available())
    assert "--size full" in out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "examples:" in capsys.readouterr().out


def test_demo_from_the_command_line(tmp_path):
    """What a user sees: progress, the comparison table, the coefficients and the saved plot."""
    png = tmp_path / "plots" / "demo.png"
    proc = _run_cli("demo", "--out", str(png))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "data: diabetes" in out and "SYNTHETIC" not in out
    assert "| alpha | solver | method | objective / n |" in out
    assert out.count("| CVXPY reference |") == len(demo.ALPHAS) and out.count("| cvxpar |") == len(demo.ALPHAS)
    assert f"saved to {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_results_agree_with_the_reference():
    lines: list[str] = []
    outcome = demo.run(None, say=lines.append)
    assert outcome.plot is None
    by_alpha: dict[float, dict[str, demo.Row]] = {}
    for row in outcome.rows:
        by_alpha.setdefault(row.alpha, {})[row.solver] = row
    assert sorted(by_alpha) == sorted(demo.ALPHAS)
    for rows in by_alpha.values():
        ref, ours = rows["CVXPY reference"], rows["cvxpar"]
        assert ours.status == "optimal"
        assert ours.objective <= ref.objective * (1 + 1e-7)
        np.testing.assert_allclose(ours.x, ref.x, atol=1e-4)
        lower = np.where(np.isin(outcome.data.features, demo.NONNEGATIVE), 0.0, -demo.BOUND)
        assert np.all(ours.x >= lower - 1e-12) and np.all(ours.x <= demo.BOUND + 1e-12)
    # the strongest regularization puts most coefficients exactly on the grid
    assert by_alpha[max(demo.ALPHAS)]["cvxpar"].quantization_rate >= 0.5


def test_demo_needs_neither_sklearn_nor_matplotlib(tmp_path):
    png = tmp_path / "demo.png"
    proc = _run_cli(
        "demo",
        "--out",
        str(png),
        "--alpha",
        "0.3",
        prelude="import sys; sys.modules['sklearn'] = sys.modules['matplotlib'] = None",
    )
    assert proc.returncode == 0, proc.stderr
    assert "matplotlib is not installed" in proc.stdout
    assert "| 0.3 | cvxpar |" in proc.stdout
    assert not png.exists()


def test_demo_falls_back_to_labelled_synthetic_data(monkeypatch):
    def missing(scaled=True):
        raise FileNotFoundError("diabetes.csv.gz")

    monkeypatch.setattr("cvxpar.data.load_diabetes", missing)
    lines: list[str] = []
    outcome = demo.run(None, alphas=[0.3], say=lines.append)
    assert "SYNTHETIC" in outcome.data.name
    assert any("SYNTHETIC" in line for line in lines)


def test_bench_runs_the_named_modules_and_rejects_unknown_ones(monkeypatch, capsys):
    table = Table("tiny", ["n", "seconds"])
    table.add(3, 0.5)
    fake = types.ModuleType("cvxpar.bench.tiny")
    fake.run = lambda size: [table] if size == "small" else []
    monkeypatch.setitem(sys.modules, "cvxpar.bench.tiny", fake)
    monkeypatch.setattr(
        "pkgutil.iter_modules", lambda path: [types.SimpleNamespace(name="tiny"), types.SimpleNamespace(name="_table")]
    )
    assert cli.main(["bench", "tiny"]) == 0
    assert "### tiny" in capsys.readouterr().out
    assert cli.main(["bench", "nope"]) == 2
    assert "unknown benchmark nope; available: tiny" in capsys.readouterr().err


def test_bench_small_runs_a_real_benchmark():
    """The cheapest shipped benchmark end to end, as a user runs it (skipped until it is shipped)."""
    import importlib.util

    if importlib.util.find_spec("cvxpar.bench.bridge_sweep") is None:
        pytest.skip("cvxpar.bench.bridge_sweep is not there")
    proc = _run_cli("bench", "bridge_sweep", "--size", "small")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("machine: ")
    assert "### " in proc.stdout and "|---|" in proc.stdout


@pytest.mark.parametrize("value, match", [("-1", "must be a finite number >= 0"), ("nan", "must be a finite number"),
                                          ("inf", "must be a finite number"), ("abc", "is not a number")])
def test_bad_alpha_is_a_usage_error(value, match, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--no-plot", f"--alpha={value}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --alpha" in err and match in err and "Traceback" not in err
