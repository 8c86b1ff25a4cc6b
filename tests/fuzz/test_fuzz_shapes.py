"""Fuzz ``cvxpar.solve`` on the shapes and degenerate data the main property test rarely draws.

The same oracle as :mod:`test_fuzz_solve` (:func:`fuzz_oracles.check_result`: a certified status
agrees with the recomputed certificate and with the stationarity residual recomputed from the raw data,
x is feasible in its own units, the objective is no worse than Clarabel's on our own epigraph model or,
for a nonconvex psi with few pieces, never below the brute-force global minimum), on

- tiny d (1 to 3 coordinates), tall (n = 20..60) and wide (d = 10..40) data, dense or scipy.sparse A;
- psi with near-equal breakpoints (an ulp, 1e-12 or 1e-9 apart);
- lam = 0 and lam huge (1e3 .. 1e6, where every coordinate sits on a kink or a wall).
"""

from __future__ import annotations

from fuzz_problems import shaped_cases
from hypothesis import strategies as st
from test_fuzz_solve import solve_and_check


def test_tiny_d(fuzz):
    fuzz.run(solve_and_check, examples=8, case=shaped_cases("tiny"))


def test_tall_and_wide(fuzz):
    shape = st.sampled_from(["tall", "wide"])
    fuzz.run(solve_and_check, examples=6, case=shape.flatmap(lambda s: shaped_cases(s, max_levels=31)))


def test_near_equal_breakpoints(fuzz):
    shape = st.sampled_from(["tiny", "tall", "wide"])
    fuzz.run(solve_and_check, examples=6, case=shape.flatmap(lambda s: shaped_cases(s, family="near_equal", max_levels=15)))


def test_lam_zero_and_huge(fuzz):
    def body(case, lam):
        case.lam = lam
        solve_and_check(case)

    fuzz.run(body, examples=6, case=shaped_cases("tiny", max_levels=15),
             lam=st.sampled_from([0.0, 1e3, 1e6]))
