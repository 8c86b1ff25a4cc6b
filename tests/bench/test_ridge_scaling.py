"""The ridge-scaling benchmark's small form: every instance certified, the counts reported."""

from __future__ import annotations

from cvxpar.bench import ridge_scaling


def test_small_form_certifies_every_instance_and_reports_ssnal_counts(monkeypatch):
    monkeypatch.setattr(ridge_scaling, "LEVELS", (7,))
    table = ridge_scaling.run("small")
    assert len(table.rows) == len(ridge_scaling.SIZES["small"])
    for row in table.rows:
        assert row[4] == "optimal"
        assert row[5] > 0 and row[6] + row[7] + row[8] > 0  # Newton steps, and systems solved
