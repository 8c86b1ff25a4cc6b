"""Build the tutorial notebooks (notebooks/*.ipynb) from their reviewable sources (notebooks/src/*.py).

Each source is a Python file in the "percent" format: ``# %%`` starts a code cell and
``# %% [markdown]`` a markdown cell whose lines carry a leading ``# ``.  The builder inserts the
shared setup cell (the size switch, the figure folder, and the ``verdict`` helper) after the
first markdown cell, and writes the notebooks without outputs.

    python notebooks/build.py            # rebuild every notebook
    python notebooks/build.py --check    # exit 1 if a committed notebook is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"

#: The first code cell of every notebook.  ``{prefix}`` names the notebook's figures.
SETUP = '''\
# Setup shared by every cvxpar notebook.
# CVXPAR_NOTEBOOK_SIZE=full runs the paper-sized experiment; the default "small" is what CI runs.
# CVXPAR_FIGURES_DIR says where figures go (default: figures/ beside the notebook).
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import cvxpar

SIZE = os.environ.get("CVXPAR_NOTEBOOK_SIZE", "small")
if SIZE not in ("small", "full"):
    raise ValueError(f"CVXPAR_NOTEBOOK_SIZE must be 'small' or 'full'; got {{SIZE!r}}.")
FULL = SIZE == "full"
FIGURES = Path(os.environ.get("CVXPAR_FIGURES_DIR", "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)
VERDICTS = []


def savefig(fig, name):
    """Save a figure as FIGURES/{prefix}_<name>.png."""
    path = FIGURES / f"{prefix}_{{name}}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print("figure saved:", path)


def verdict(claim, holds, criterion, measured="", theorem=False):
    """Print HOLDS / DOES NOT HOLD for a claim, decided by ``holds`` (computed from measured numbers).

    ``theorem=True`` marks a mathematical fact (the tests require it to hold); otherwise the claim
    is an empirical one from a paper, which a small run may or may not reproduce.
    """
    word = "HOLDS" if holds else "DOES NOT HOLD"
    claim = claim + (" [theorem]" if theorem else "")
    VERDICTS.append((claim, measured, word))
    print(f"{{word}}: {{claim}}\\n    criterion: {{criterion}}" + (f"\\n    measured: {{measured}}" if measured else ""))
    return bool(holds)


def summary():
    """The claims of this notebook, what was measured, and whether each held."""
    width = max(len(c) for c, _, _ in VERDICTS)
    for claim, measured, word in VERDICTS:
        print(f"{{word:>13}} | {{claim:<{{width}}}} | {{measured}}")


print(f"size={{SIZE}}, cvxpar {{cvxpar.__version__}}, figures in {{FIGURES}}")'''


def parse(text: str) -> list[tuple[str, str]]:
    """Split a percent-format source into (kind, source) cells."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"text before the first '# %%' marker: {line!r}")
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        out.append((kind, "\n".join(lines).strip("\n")))
    return out


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook for one source file, with the setup cell after its title."""
    cells = parse(source.read_text())
    if not cells or cells[0][0] != "markdown":
        raise ValueError(f"{source.name} must start with a markdown title cell.")
    prefix = source.stem.split("_", 1)[0]
    cells.insert(1, ("code", SETUP.format(prefix=prefix)))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](src) for kind, src in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{prefix}-{i:02d}"
    return nb


def _content(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    """What --check compares: each cell's type, id and source (not the JSON layout, which depends
    on the nbformat version)."""
    return [(cell.cell_type, cell.get("id", ""), cell.source) for cell in nb.cells]


def sources() -> list[Path]:
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def target(source: Path) -> Path:
    return HERE / f"{source.stem}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for source in sources():
        nb = build(source)
        path = target(source)
        if args.check:
            if not path.exists() or _content(nbformat.read(path, as_version=4)) != _content(nb):
                stale.append(path.name)
        else:
            path.write_text(nbformat.writes(nb) + "\n")
            print("wrote", path.relative_to(HERE.parent))
    if stale:
        print("out of date (run python notebooks/build.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
