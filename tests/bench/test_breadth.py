"""The breadth benchmark's classes (cvxpar.bench.breadth, small size): auto certifies each one and lands on the
objective of CVXPY + Clarabel on the same model (the benchmark's own CVXPY form)."""

from __future__ import annotations

import pytest

import cvxpar
from cvxpar.bench import breadth

CLASSES = list(breadth._classes("small"))


@pytest.mark.parametrize("case", CLASSES, ids=[c[0] for c in CLASSES])
def test_auto_certifies_every_breadth_class_at_clarabels_objective(case):
    label, loss, psi, lam, cons = case
    res = cvxpar.solve(loss, psi, lam, constraints=cons, tol=1e-8)
    assert res.status == "optimal", (label, res.message)
    assert cvxpar.certificate(loss, psi, lam, res.x, cons).certifies(1e-8)
    _, prob, x = breadth._clarabel(loss, psi, lam, cons)
    assert prob.status == "optimal"
    clarabel = cvxpar.certificate(loss, psi, lam, x.value, cons)
    # Clarabel's point may be infeasible by ~1e-9; cvxpar's, certified feasible, is never above it by more than that
    assert res.objective <= clarabel.objective + 1e-7 * abs(clarabel.objective), label
    assert res.objective == pytest.approx(clarabel.objective, rel=1e-6), label
