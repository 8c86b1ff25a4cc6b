"""cvxpar.bench.nonconvex_quality: the small form runs, and cvxpar.solve reaches the global optimum on it."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cvxpar.bench import nonconvex_quality as nq


def test_cases_cover_every_family_with_and_without_a_box():
    cases = list(nq.cases("small"))
    assert {c.family for c in cases} == set(nq.families())
    assert {c.box for c in cases} == {False, True}
    assert all(not c.psi.is_convex for c in cases)
    again = list(nq.cases("small"))
    assert all(np.array_equal(a.loss.op.A, b.loss.op.A) and a.lam == b.lam for a, b in zip(cases, again, strict=True))


@pytest.mark.slow
def test_solve_is_at_the_global_optimum():
    """Excess over the reference's certified global optimum: median 0, 90th percentile under 0.5 %.

    CI runs d = 6 (every family, with and without a Box); CVXPAR_FULL=1 runs d = 10 too."""
    dims = (6, 10) if os.environ.get("CVXPAR_FULL") else (6,)
    saved = nq.SIZES["small"]
    try:
        nq.SIZES["small"] = (dims, saved[1], saved[2])
        outcomes = [nq.measure(case) for case in nq.cases("small")]
    finally:
        nq.SIZES["small"] = saved
    assert all(o.stationary for o in outcomes)
    excess = [o.excess for o in outcomes]
    assert all(e is not None for e in excess)  # every reference closed its gap
    assert min(excess) >= -1e-6  # no stationary point below a certified global optimum
    assert np.median(excess) <= 1e-9
    assert np.percentile(excess, 90) < 5e-3
    # a solve whose own search closed its gap is at the reference's optimum
    assert all(o.excess <= 1e-6 for o in outcomes if o.closed) and any(o.closed for o in outcomes)
    tab = nq.table(outcomes, "small")
    assert "all families" in tab.markdown() and "solve certified global" in tab.markdown()


def test_side_by_side_records_each_variant_against_one_reference(tmp_path):
    import contextlib
    import json

    from cvxpar.solvers import lattice

    cases = [c for c in nq.cases("small", ["sawtooth"]) if c.n == 3][:1]
    path = tmp_path / "ab.jsonl"
    with open(path, "w") as out:
        nq.side_by_side(cases, {"before": lattice.suspended, "after": contextlib.nullcontext}, out)
    records = [json.loads(line) for line in open(path)]
    assert len(records) == 1 and records[0]["key"] == nq.case_key(cases[0])
    r = records[0]
    assert r["reference"] is not None
    for name in ("before", "after"):
        assert r[name]["status"] == "stationary" and r[name]["objective"] >= r["reference"] - 1e-9
    with open(path, "a") as out:  # a case already recorded is skipped; a known reference is reused
        nq.side_by_side(cases, {"after": contextlib.nullcontext}, out, done={r["key"]})
        nq.side_by_side(cases, {"after": contextlib.nullcontext}, out, references={r["key"]: (-1.0, 0.0)})
    records = [json.loads(line) for line in open(path)]
    assert len(records) == 2 and records[1]["reference"] == -1.0
    tab = nq.compare_table(records[:1], ["before", "after"], "ab", lambda r: r["family"]).markdown()
    assert "sawtooth" in tab and "**all**" in tab
