"""The ridge-scaling benchmark's small form: every instance certified, the counts reported."""

from __future__ import annotations

from cvxpar.bench import ridge_scaling


def test_small_form_certifies_every_instance_and_reports_ssnal_counts(monkeypatch):
    monkeypatch.setattr(ridge_scaling, "LEVELS", (7,))
    table = ridge_scaling.run("small")
    assert len(table.rows) == len(ridge_scaling.SIZES["small"])
    for row in table.rows:
        assert row[6] == "optimal"
        assert 0 <= row[4] <= row[3]  # the system share of the CPU time
        assert 0 < row[3] and row[7] > 0 and row[8] + row[9] + row[10] > 0  # CPU time, Newton steps, systems solved
