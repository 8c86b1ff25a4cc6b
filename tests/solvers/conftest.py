"""Fixtures of the solver tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def large_rules(monkeypatch):
    """``method="auto"`` with its small-problem rule (:func:`cvxpar.solvers.ssn.small`) switched off: the rules for
    larger problems, exercised at the sizes CI can afford."""
    from cvxpar.solvers import ssn

    monkeypatch.setattr(ssn, "AUTO_MAX_D", 0)
