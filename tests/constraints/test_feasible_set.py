"""The constraint contract: merged bounds, stacked rows, violation in x's units, CVXPY forms, phase-1 emptiness."""

import cvxpy as cp
import numpy as np
import pytest

from cvxpar.constraints import Box, FeasibleSet, Linear, NonNeg, Simplex


def test_bounds_intersect_and_rows_stack():
    S = FeasibleSet([NonNeg(), Box(-1.0, [0.5, 0.7, 2.0]), Simplex(1.0), Linear(A_ub=np.ones((1, 3)), b_ub=[3.0])], 3)
    np.testing.assert_array_equal(S.lower, [0, 0, 0])
    np.testing.assert_array_equal(S.upper, [0.5, 0.7, 2.0])
    G, h, n_eq = S.stacked()
    assert n_eq == 1 and G.shape == (2, 3) and list(h) == [1.0, 3.0]
    assert S.scalar_bounds is None


def test_empty_bounds_say_which_constraints():
    S = FeasibleSet([NonNeg(), Box(-1, -0.5)], 2)
    assert S.empty is not None and "do not intersect" in S.empty and "NonNeg()" in S.empty


@pytest.mark.parametrize("c", [Box(-0.2, 0.4), NonNeg(), Simplex(2.0), Linear(A_eq=[[1.0, -2.0, 0.5]], b_eq=[0.3]),
                               Linear(A_ub=[[1.0, 1.0, 1.0], [-1.0, 0.0, 2.0]], b_ub=[0.5, 0.1])])
def test_cvxpy_form_and_violation_agree_with_a_projection(c):
    # the CVXPY form's projection of a point is feasible for `violation`, and the point's violation is at
    # most its distance to that projection (the violation is a max over single constraints)
    rng = np.random.default_rng(0)
    v = rng.standard_normal(3)
    x = cp.Variable(3)
    cp.Problem(cp.Minimize(cp.sum_squares(x - v)), c.cvxpy(x)).solve(solver="CLARABEL")
    assert c.violation(x.value) <= 1e-7
    assert c.violation(v) <= np.linalg.norm(v - x.value) + 1e-9
    if c.project is not None:
        np.testing.assert_allclose(c.project(v), x.value, atol=1e-6)


def test_find_point_proves_emptiness():
    S = FeasibleSet([NonNeg(), Linear(A_eq=np.ones((1, 4)), b_eq=[-1.0])], 4)
    assert S.find_point() is None
    T = FeasibleSet([NonNeg(), Linear(A_eq=np.ones((1, 4)), b_eq=[1.0])], 4)
    p = T.find_point()
    assert p is not None and T.violation(p) <= 1e-9


def test_box_messages():
    with pytest.raises(ValueError, match="leaves no finite x"):
        Box(np.inf, np.inf)


def _one_row_sets(rng):
    """Random sets with one row (equality or inequality) over bounds with finite and infinite ends."""
    for _ in range(60):
        d = int(rng.integers(1, 8))
        lo = np.where(rng.random(d) < 0.3, -np.inf, rng.uniform(-2, 0, d))
        hi = np.where(rng.random(d) < 0.3, np.inf, rng.uniform(0, 2, d))
        a = np.where(rng.random(d) < 0.2, 0.0, rng.standard_normal(d))
        b = float(rng.uniform(-6, 6))
        row = Linear(A_eq=a[None, :], b_eq=[b]) if rng.random() < 0.6 else Linear(A_ub=a[None, :], b_ub=[b])
        yield FeasibleSet([Box(lo, hi), row], d)


def test_find_point_without_an_lp_agrees_with_the_phase_one_lp(monkeypatch):
    """One row over a box: the direct point exists exactly when HiGHS finds the set non-empty, and it is
    feasible (within the box, on the row to rounding)."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(0)
    direct = 0
    for S in _one_row_sets(rng):
        lp = linprog(np.zeros(S.d), A_ub=S.A_ub, b_ub=S.b_ub, A_eq=S.A_eq, b_eq=S.b_eq,
                     bounds=np.column_stack([S.lower, S.upper]), method="highs")
        x = S._direct_point(S.lower, S.upper)
        if x is not None:
            direct += 1
            assert lp.status == 0
            assert np.all(x >= S.lower) and np.all(x <= S.upper) and S.violation(x) <= 1e-12 * max(1, np.abs(x).max())
        p = S.find_point()
        assert (p is None) == (lp.status == 2)
    assert direct >= 30


def test_simplex_and_budget_rows_need_no_phase_one_lp(monkeypatch):
    import scipy.optimize

    monkeypatch.setattr(scipy.optimize, "linprog", lambda *a, **k: pytest.fail("the phase-1 LP ran"))
    S = FeasibleSet([Simplex(5.0)], 1000)
    x = S.find_point(np.full(1000, -1.0), np.full(1000, 1.0))  # psi's domain [-1, 1] intersected: x_i <= 1
    assert np.all((x >= 0) & (x <= 1)) and x.sum() == 5.0
    T = FeasibleSet([NonNeg(), Linear(A_ub=np.ones((1, 50)), b_ub=[5.0])], 50)
    assert T.violation(T.find_point()) == 0.0


@pytest.mark.parametrize("c", [Box(-0.2, 0.4), Box(np.array([-1.0, 0.0, -np.inf, 0.5]), np.array([1.0, np.inf, 0.0, 0.5])),
                               NonNeg(), Simplex(2.0), Simplex(0.0)])
def test_violation_shortcuts_match_the_contracts_formula(c):
    """Box and Simplex compute the violation without forming their bounds and rows; the contract's formula from
    bounds(d) and rows(d) (Constraint.violation) is the reference."""
    from cvxpar.constraints import Constraint

    rng = np.random.default_rng(1)
    for scale in (1e-3, 1.0, 1e3):
        x = scale * rng.standard_normal(4)
        assert c.violation(x) == pytest.approx(Constraint._violation(c, x), rel=1e-12, abs=1e-15)
    assert c.violation(np.array([0.0, np.nan, 1.0, 1.0])) == np.inf


def test_multiplier_lp_by_constraint_generation_reaches_the_whole_lps_optimum():
    """_lp_multipliers grows the LP from a few coordinates (constraint generation); its multipliers leave the same
    largest distance as the LP over every coordinate (solved here directly, as HiGHS solves it), with y >= 0 on the
    inequality rows exactly (HiGHS meets its bounds only to its tolerance: a negative entry is no normal-cone
    element), for free and half-infinite intervals and equality rows."""
    from scipy.optimize import linprog

    from cvxpar.constraints.feasible_set import _lp_multipliers

    rng = np.random.default_rng(12)
    for trial in range(24):
        d, k = int(rng.integers(200, 1500)), int(rng.integers(1, 7))
        n_eq = int(rng.integers(0, k + 1))
        G, c = rng.standard_normal((k, d)), rng.standard_normal(d)
        lo = c + rng.uniform(-1.0, 0.1, d) * 10.0 ** -(trial % 6)  # down to near-stationary points
        hi = lo + rng.uniform(0.0, 1.0, d)
        lo[rng.random(d) < 0.3 * (trial % 2)] = -np.inf
        hi[rng.random(d) < 0.3 * (trial % 3 == 0)] = np.inf
        fin_lo, fin_hi = np.isfinite(lo), np.isfinite(hi)
        A_ub = np.vstack([np.hstack([G.T[fin_lo], -np.ones((int(fin_lo.sum()), 1))]),
                          np.hstack([-G.T[fin_hi], -np.ones((int(fin_hi.sum()), 1))])])
        b_ub = np.concatenate([c[fin_lo] - lo[fin_lo], hi[fin_hi] - c[fin_hi]])
        bounds = [(None, None)] * n_eq + [(0, None)] * (k - n_eq) + [(0, None)]
        whole = linprog(np.r_[np.zeros(k), 1.0], A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")

        def largest(y, c=c, G=G, lo=lo, hi=hi):
            shifted = c - G.T @ y
            return float(np.max(np.maximum(np.maximum(lo - shifted, shifted - hi), 0.0)))

        y = _lp_multipliers(c, lo, hi, G, n_eq)
        assert np.all(y[n_eq:] >= 0.0)
        reference = largest(np.r_[whole.x[:n_eq], np.maximum(whole.x[n_eq:k], 0.0)])
        assert largest(y) <= reference + 1e-6 * (1.0 + reference)  # HiGHS: 1e-7 feasibility tolerance, |G| <= ~4


def _whole_lp_distance(c, lo, hi, G, n_eq):
    """The largest distance at the multipliers of the LP over every coordinate (HiGHS, as in the test above)."""
    from scipy.optimize import linprog

    k = G.shape[0]
    fin_lo, fin_hi = np.isfinite(lo), np.isfinite(hi)
    A_ub = np.vstack([np.hstack([G.T[fin_lo], -np.ones((int(fin_lo.sum()), 1))]),
                      np.hstack([-G.T[fin_hi], -np.ones((int(fin_hi.sum()), 1))])])
    b_ub = np.concatenate([c[fin_lo] - lo[fin_lo], hi[fin_hi] - c[fin_hi]])
    whole = linprog(np.r_[np.zeros(k), 1.0], A_ub=A_ub, b_ub=b_ub,
                    bounds=[(None, None)] * n_eq + [(0, None)] * (k - n_eq) + [(0, None)], method="highs")
    y = np.r_[whole.x[:n_eq], np.maximum(whole.x[n_eq:k], 0.0)]
    return _largest(y, c, G, lo, hi), y


def _largest(y, c, G, lo, hi):
    shifted = c - G.T @ y
    return float(np.max(np.maximum(np.maximum(lo - shifted, shifted - hi), 0.0)))


def test_multiplier_lp_started_near_its_solution_takes_one_lp_and_reaches_the_same_optimum(monkeypatch):
    """_lp_multipliers started from y0 (the last call's multipliers, or _estimate's least-squares fit of the one-point
    intervals) picks its first subset at y0: started at the whole LP's solution it solves fewer LPs than from y = 0
    (over these trials: at most 60 % as many), and from any start (the solution, a perturbed one, the estimate, a far
    point) the multipliers leave the whole LP's largest distance (constraint generation's stopping test does not
    depend on the start)."""
    import cvxpar.constraints.feasible_set as fs

    calls = []
    lp_on = fs._lp_on
    monkeypatch.setattr(fs, "_lp_on", lambda *a, **k: calls.append(a[0].shape[0]) or lp_on(*a, **k))
    rng = np.random.default_rng(13)
    warm = cold = 0
    for trial in range(18):
        d, k = int(rng.integers(300, 1500)), int(rng.integers(2, 9))
        n_eq = int(rng.integers(0, k + 1))
        G, c = rng.standard_normal((k, d)), rng.standard_normal(d)
        y_true = rng.standard_normal(k)
        y_true[n_eq:] = np.abs(y_true[n_eq:])
        point = rng.random(d) < 0.3  # free coordinates: lo = hi = c - G^T y_true (+ noise down to 1e-9)
        base = c - G.T @ y_true + 10.0 ** -(trial % 9) * rng.standard_normal(d)
        width = np.where(point, 0.0, rng.uniform(0.01, 1.0, d))
        lo = np.minimum(base, base - rng.uniform(0.0, 1.0, d) * width)
        hi = lo + width
        lo[~point & (rng.random(d) < 0.2 * (trial % 2))] = -np.inf
        reference, y_whole = _whole_lp_distance(c, lo, hi, G, n_eq)
        calls.clear()
        assert _largest(fs._lp_multipliers(c, lo, hi, G, n_eq, y_whole), c, G, lo, hi) <= reference + 1e-6 * (1 + reference)
        warm += len(calls)
        calls.clear()
        assert _largest(fs._lp_multipliers(c, lo, hi, G, n_eq), c, G, lo, hi) <= reference + 1e-6 * (1 + reference)
        cold += len(calls)
        estimate = fs._estimate(c, lo, hi, G, n_eq)
        assert estimate is not None and np.all(estimate[n_eq:] >= 0.0)
        for y0 in (y_whole + 1e-3 * rng.standard_normal(k), estimate, 100.0 * rng.standard_normal(k)):
            y = fs._lp_multipliers(c, lo, hi, G, n_eq, y0)
            assert np.all(y[n_eq:] >= 0.0)
            assert _largest(y, c, G, lo, hi) <= reference + 1e-6 * (1.0 + reference)
    assert warm <= 0.6 * cold


def test_multipliers_answer_a_repeated_query_without_an_lp(monkeypatch):
    """FeasibleSet.multipliers remembers its last LP queries: the same (x, c, lo, hi) again returns the same y with no
    LP (a polish step's row force asks what its point's certificate asked), a new query still solves its own LP (its
    largest distance is the whole LP's), and a changed array of the same query is a new query."""
    import cvxpar.constraints.feasible_set as fs

    calls = []
    lp_on = fs._lp_on
    monkeypatch.setattr(fs, "_lp_on", lambda *a, **k: calls.append(1) or lp_on(*a, **k))
    rng = np.random.default_rng(14)
    d, k = 600, 4
    G = rng.standard_normal((k, d))
    S = FeasibleSet([Linear(A_eq=G[:2], b_eq=np.zeros(2), A_ub=G[2:], b_ub=np.zeros(2))], d=d)
    x = np.zeros(d)  # every row active
    queries = []
    for _ in range(fs.LP_MEMO):
        c = rng.standard_normal(d)
        lo = c + rng.uniform(-1.0, 0.0, d)
        queries.append((c, lo, lo + rng.uniform(0.0, 1.0, d)))
    answers = []
    for c, lo, hi in queries:
        calls.clear()
        Ga, y = S.multipliers(x, c, lo, hi)
        assert calls and np.array_equal(Ga, G)
        assert _largest(y, c, G, lo, hi) <= _whole_lp_distance(c, lo, hi, G, 2)[0] * (1 + 1e-6) + 1e-6
        answers.append(y)
    for (c, lo, hi), y in zip(queries, answers, strict=True):
        calls.clear()
        assert np.array_equal(S.multipliers(x, c.copy(), lo.copy(), hi.copy())[1], y) and not calls
    c, lo, hi = queries[-1]
    hi2 = hi.copy()
    hi2[7] += 0.5
    calls.clear()
    S.multipliers(x, c, lo, hi2)
    assert calls
