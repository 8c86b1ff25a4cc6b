"""The GPU Lasso anchor benchmark runs everywhere: without a GPU its GPU columns say "no GPU: skipped" and the
small CPU form solves every problem to a certified optimum with a small duality gap (skglm stubbed out: its
first call compiles for about a minute)."""

from __future__ import annotations

from cvxpar._backend import cupy_with_gpu
from cvxpar.bench import gpu_lasso


def _tiny(monkeypatch):
    monkeypatch.setitem(gpu_lasso.SIZES, "small", [(40, 300, "dense", 1.0), (60, 400, "sparse", 0.05)])


def test_small_form_runs_and_names_the_missing_gpu(monkeypatch):
    _tiny(monkeypatch)
    monkeypatch.setattr(gpu_lasso, "_skglm", lambda A, y, lam: (float("nan"), "skglm not installed"))
    table = gpu_lasso.run("small")
    assert len(table.rows) == 4  # two designs x (Lasso, ridge PAR)
    for row in table.rows:
        assert "optimal" in row[6], row  # cvxpar on the CPU, certified
        assert float(row[7]) <= 1e-6, row  # and its answer has a small duality gap
    if cupy_with_gpu() is None:
        assert all(row[4] == gpu_lasso.SKIPPED for row in table.rows)
        assert "no GPU" in table.markdown()
    assert [row[8] for row in table.rows if row[0] == "Lasso"] == ["skglm not installed"] * 2


def test_design_is_reproducible_and_has_the_asked_shape_and_density():
    import numpy as np
    import scipy.sparse as sp

    A1, y1 = gpu_lasso.design(np, sp, 50, 400, "sparse", 0.02)
    A2, y2 = gpu_lasso.design(np, sp, 50, 400, "sparse", 0.02)
    assert A1.shape == (50, 400) and abs(A1.nnz / (50 * 400) - 0.02) < 0.005
    assert (A1 != A2).nnz == 0 and np.array_equal(y1, y2)
