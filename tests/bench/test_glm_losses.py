"""cvxpar.bench.glm_losses: a speed-up is quoted only for a certified answer (its table says "to a certified tol")."""

from __future__ import annotations

import pytest

import cvxpar
from cvxpar.bench import glm_losses


@pytest.mark.parametrize("max_iter", [1, None])
def test_speed_up_only_for_certified_rows(monkeypatch, max_iter):
    solve = cvxpar.solve

    def limited(*args, **kwargs):
        return solve(*args, **kwargs, max_iter=max_iter)

    monkeypatch.setitem(glm_losses.SIZES, "small", (30, 60))
    monkeypatch.setattr(glm_losses, "REPEAT", 1)
    monkeypatch.setattr(glm_losses, "METHODS", ("fista",))
    monkeypatch.setattr(cvxpar, "solve", limited)
    table = glm_losses.run("small")
    rows = [row for row in table.rows if row[1] == "cvxpar fista"]
    assert len(rows) == 2
    for _, _, _, status, _, speedup in rows:
        assert (status == "optimal") == speedup.endswith("x"), (status, speedup)
        if max_iter == 1:
            assert status == "max_iter" and speedup == "- (not certified)"
