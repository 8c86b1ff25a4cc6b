"""The runnable example of docs/user_guide/larger_than_memory.md runs as printed and certifies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")
pytest.importorskip("zarr")

PAGE = Path(__file__).parents[2] / "docs" / "user_guide" / "larger_than_memory.md"


@pytest.mark.slow
def test_the_larger_than_memory_example_runs(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", PAGE.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)  # the example writes its zarr stores to the working directory
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})
    assert capsys.readouterr().out.split()[:2] == ["optimal", "2"]
    assert (tmp_path / "A.zarr").exists()
