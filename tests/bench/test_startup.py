"""The startup benchmark's fresh-process scripts: each tool solves the same model (objectives agree), cvxpar's
answers are certified, and its small solves load no numba."""

from __future__ import annotations

import pytest

from cvxpar.bench import startup


@pytest.mark.parametrize("case", ["solve", "sweep"])
def test_both_tools_solve_the_same_model_in_a_fresh_process(case):
    env, pieces = startup._environment(), startup._pieces()
    ours = startup._fresh(startup._script("cvxpar", case, 10, pieces), env)
    ref = startup._fresh(startup._script("clarabel", case, 10, pieces), env)
    assert ours["status"] == "optimal" and ref["status"] == "optimal"
    assert abs(ours["value"] - ref["value"]) <= 1e-6 * max(1.0, abs(ref["value"]))
    assert ours["numba"] is False
    assert (ours["warm"] is None) == (case == "solve") == (ref["warm"] is None)


@pytest.mark.parametrize("label", list(startup.CLASSES))
def test_every_class_solves_the_same_model_in_both_tools(label):
    """The classes table's scripts: cvxpar's certified answer at Clarabel's objective (Clarabel's default
    tolerances), picked by auto's small-problem rule, without numba."""
    env, pieces = startup._environment(), startup._pieces(startup.CLASS_STEP)
    ours = startup._fresh(startup._class_script("cvxpar", label, 20, 6, pieces), env)
    ref = startup._fresh(startup._class_script("clarabel", label, 20, 6, pieces), env)
    assert ours["status"] == "optimal" and ref["status"] == "optimal"
    assert abs(ours["value"] - ref["value"]) <= 1e-6 * max(1.0, abs(ref["value"]))
    assert ours["method"] == "ssn" and ours["numba"] is False
