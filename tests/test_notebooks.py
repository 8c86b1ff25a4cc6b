"""The tutorial notebooks (notebooks/*.ipynb) are up to date with their sources and run end to end.

Each notebook is executed at its small size (CVXPAR_NOTEBOOK_SIZE=small), with matplotlib's Agg
backend, figures written to a temporary folder (so CI leaves the git tree clean), and a kernel
started from this interpreter.  Every notebook must state at least one claim with a computed
HOLDS / DOES NOT HOLD verdict, and the claims that are mathematical facts (``verdict(...,
theorem=True)``, printed with "[theorem]") must hold; the papers' empirical claims may go either way.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import warnings
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Seconds one cell may take at the small size (the whole notebook is well under a minute).
CELL_TIMEOUT = 240


class ThisPythonKernelManager(KernelManager):
    """A kernel manager whose kernel is ipykernel on the running interpreter (no kernelspec lookup)."""

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (this interpreter)",
            language="python",
        )



@pytest.fixture(autouse=True)
def _collect_kernel_sockets():
    """Collect the zmq sockets jupyter_client leaves open here, not in whichever test the GC happens to run next.

    jupyter_client 8's blocking kernel client cannot destroy its zmq context at shutdown ("Could not destroy
    zmq context"), so its sockets wait for the garbage collector; their ResourceWarning then fired inside
    unrelated tests that turn warnings into errors.
    """
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()

def execute(nb, km: ThisPythonKernelManager | None = None) -> ThisPythonKernelManager:
    """Run every cell of ``nb`` in a fresh kernel of this interpreter (started by ``km``, a new manager by default),
    then shut the kernel down, also when a cell fails (nbclient leaves running a kernel whose manager it was
    handed); returns the manager."""
    km = km or ThisPythonKernelManager()
    client = nbclient.NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        if client.kc is not None:
            client.kc.stop_channels()
    return km


def test_execute_shuts_its_kernel_down():
    """The kernel of a run notebook is gone afterwards (they used to stay up for the rest of the suite)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    km = execute(nb)
    assert not km.has_kernel and not km.is_alive()
    failing = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise RuntimeError('a failing cell')")])
    km = ThisPythonKernelManager()
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        execute(failing, km)
    assert not km.has_kernel and not km.is_alive()


def _load_builder():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _load_builder()
SOURCES = BUILD.sources()


def test_notebooks_match_their_sources():
    assert SOURCES, "no notebook sources found in notebooks/src"
    assert BUILD.main(["--check"]) == 0, "run `python notebooks/build.py` and commit the notebooks"


def test_committed_notebooks_have_no_outputs():
    for source in SOURCES:
        nb = nbformat.read(BUILD.target(source), as_version=4)
        for cell in nb.cells:
            assert cell.cell_type != "code" or (not cell.outputs and cell.execution_count is None), source.stem


def _source_tree_snapshot() -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under notebooks/: running a notebook in the tests must not change any."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in NOTEBOOKS.rglob("*") if p.is_file()}


def _stdout(nb) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.get("name") == "stdout"
    )


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_notebook_runs_and_states_its_verdicts(source, tmp_path, monkeypatch):
    monkeypatch.setenv("CVXPAR_NOTEBOOK_SIZE", "small")
    monkeypatch.setenv("CVXPAR_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(BUILD.target(source), as_version=4)
    before = _source_tree_snapshot()
    execute(nb)
    text = _stdout(nb)
    lines = [ln for ln in text.splitlines() if ln.startswith(("HOLDS: ", "DOES NOT HOLD: "))]
    assert lines, f"{source.stem} printed no verdict"
    failed_theorems = [ln for ln in lines if ln.startswith("DOES NOT HOLD") and "[theorem]" in ln]
    assert not failed_theorems, "\n".join(failed_theorems)
    assert any((tmp_path / "figures").glob("*.png")), f"{source.stem} saved no figure"
    assert _source_tree_snapshot() == before, f"{source.stem} wrote into notebooks/ (figures must go to a temporary folder)"
