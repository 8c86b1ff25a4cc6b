"""The PAR atom, in the style of CVXPY's own atom tests (test_constant_atoms, test_grad, test_dpp,
test_atoms::test_huber, test_dcp2cone_cse): value vs solved value on every installed solver,
gradient vs finite differences, the curvature / sign / monotonicity table, DPP, copy, CSE."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from cvxpy.error import DCPError, SolverError
from cvxpy.reductions.eval_params import EvalParams

import cvxpar
from cvxpar import PAR
from cvxpar.atoms import ParAtom
from cvxpar.atoms.canon import par_canon

GRID = cvxpar.grids.uniform(0.5, 7)
CONVEX = {
    "ridge": cvxpar.pars.ridge(GRID),
    "l1": cvxpar.pars.l1(GRID),
    "parq (walls)": cvxpar.pars.parq(GRID),
    "abs": PAR([0.0], [0.0], -1.0, 1.0),
    "one-sided": PAR([0.0, 1.0], [0.0, 0.0], 0.0, 2.0),  # pos-like: 0 left of 1, then slope 2
    "shifted up": PAR([-1.0, 1.0], [2.0, 2.5], -1.0, 3.0),
}
#: per-solver tolerances, as CVXPY's SOLVER_TO_TOL (DIFFCP solves with SCS and has SCS's accuracy)
TOL = {"CLARABEL": 1e-6, "SCS": 1e-3, "DIFFCP": 1e-3, "OSQP": 1e-3, "HIGHS": 1e-6, "SCIPY": 1e-6, "SCIP": 1e-5}
#: tolerances on x for the first-order solvers (the others: 1e-5)
X_TOL = {"SCS": 2e-3, "DIFFCP": 2e-3, "OSQP": 2e-3}
SOLVERS = cp.installed_solvers()


def _solve_or_skip(prob: cp.Problem, solver: str) -> None:
    try:
        prob.solve(solver=solver)
    except SolverError as exc:
        if "cannot solve" in str(exc):
            pytest.skip(f"{solver} does not take this problem class")
        raise


# ---------------------------------------------------------------------- value vs solved value
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("name", list(CONVEX))
def test_value_matches_solved_value_on_every_solver(name, solver):
    psi = CONVEX[name]
    lo, hi = psi.domain
    value = np.clip(np.array([-2.2, -0.6, 0.0, 0.3, 1.0, 1.9]), lo, hi)
    expected = float(psi(value).sum())
    tol = TOL.get(solver, 1e-4) * max(1.0, abs(expected))
    # (i) variable constrained to the value, (ii) a Parameter argument, (iii) a constant argument
    x = cp.Variable(value.size)
    _solve_or_skip(cp.Problem(cp.Minimize(cp.sum(cvxpar.par(x, psi))), [x == value]), solver)
    prob_var = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(x, psi))), [x == value])
    prob_var.solve(solver=solver)
    assert prob_var.value == pytest.approx(expected, abs=tol)
    if solver == "SCIP" and np.isfinite(psi.domain).any():
        return  # CVXPY 1.9.3's SCIP interface fails on variable-free constraints (the walls on p): not ours
    p = cp.Parameter(value.size, value=value)
    prob_par = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(p, psi)) + cp.sum(x)), [x == 0])
    _solve_or_skip(prob_par, solver)
    assert prob_par.value == pytest.approx(expected, abs=tol)
    assert cvxpar.par(value, psi).value == pytest.approx(psi(value))


@pytest.mark.parametrize("solver", SOLVERS)
def test_regularized_least_squares_matches_prox_on_every_solver(solver):
    """min 1/2||x - v||^2 + t*sum psi(x) has the closed form x = prox_{t psi}(v) (cvxpar.PAR.prox)."""
    rng = np.random.default_rng(0)
    v = rng.normal(scale=1.5, size=12)
    for psi in (CONVEX["ridge"], CONVEX["parq (walls)"], CONVEX["l1"]):
        x = cp.Variable(v.size)
        prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x - v) + 0.7 * cp.sum(cvxpar.par(x, psi))))
        _solve_or_skip(prob, solver)
        tol = X_TOL.get(solver, 1e-5)
        np.testing.assert_allclose(x.value, psi.prox(v, 0.7), atol=tol)


def test_unconstrained_problem_works_with_scs():
    """Without the NONPOS_ATOMS registration SCS refuses constraint-free problems."""
    x = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(x - 0.2, CONVEX["ridge"]))))
    prob.solve(solver="SCS")
    assert prob.status == "optimal"
    assert prob.value == pytest.approx(float(CONVEX["ridge"].values.min()) * 3, abs=1e-3)


def test_lp_goes_to_highs_and_is_pwl():
    rng = np.random.default_rng(1)
    A, b = rng.normal(size=(4, 6)), rng.normal(size=4)
    x = cp.Variable(6)
    prob = cp.Problem(cp.Minimize(cp.norm1(A @ x - b) + cp.sum(cvxpar.par(x, CONVEX["l1"]))))
    assert prob.is_lp() and cvxpar.par(x, CONVEX["l1"]).is_pwl()
    prob.solve(solver="HIGHS")
    ref = prob.value
    prob.solve(solver="CLARABEL")
    assert prob.value == pytest.approx(ref, rel=1e-6)


def test_walls_become_domain_constraints():
    psi = CONVEX["parq (walls)"]
    x = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x - np.array([5.0, -5.0, 0.2])) + cp.sum(cvxpar.par(x, psi))))
    prob.solve(solver="CLARABEL")
    assert x.value[0] == pytest.approx(psi.breakpoints[-1], abs=1e-6)
    assert x.value[1] == pytest.approx(psi.breakpoints[0], abs=1e-6)
    assert [str(c) for c in cvxpar.par(x, psi).domain] == [str(x >= -1.5), str(x <= 1.5)]
    point = PAR([0.3], [1.0], -np.inf, np.inf)  # psi finite only at 0.3
    y = cp.Variable(2)
    prob = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(y, point))))
    prob.solve(solver="CLARABEL")
    np.testing.assert_allclose(y.value, 0.3, atol=1e-7)
    assert prob.value == pytest.approx(2.0)


# ---------------------------------------------------------------------- gradient
@pytest.mark.parametrize("name", list(CONVEX) + ["mcp", "staircase"])
def test_gradient_matches_finite_differences(name):
    psi = {"mcp": cvxpar.pars.mcp(GRID, 1.0), "staircase": cvxpar.pars.staircase(GRID)}.get(name) or CONVEX[name]
    lo, hi = psi.domain
    rng = np.random.default_rng(2)
    value = np.clip(rng.uniform(-2.5, 2.5, size=(3, 4)), lo + 0.01, hi - 0.01)
    far = np.min(np.abs(value[..., None] - psi.breakpoints), axis=-1) > 1e-3
    value = np.where(far, value, value + 2e-3)  # away from the kinks
    x = cp.Variable(value.shape, value=value)
    expr = cvxpar.par(x, psi)
    grad = expr.grad[x].toarray()  # CVXPY's convention: var.size x expr.size
    eps = 1e-6
    numeric = np.zeros((x.size, expr.size))
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        plus = psi(value + step.reshape(value.shape, order="F")).ravel(order="F")
        minus = psi(value - step.reshape(value.shape, order="F")).ravel(order="F")
        numeric[i] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_gradient_at_kinks_and_outside_domain():
    x = cp.Variable(3, value=np.array([0.0, 1.0, -2.0]))
    assert np.allclose(cvxpar.par(x, CONVEX["abs"]).grad[x].diagonal(), [0.0, 1.0, -1.0])
    x.value = np.array([0.0, 1.5, 2.0])  # 2.0 is outside parq's box
    assert cvxpar.par(x, CONVEX["parq (walls)"]).grad[x] is None
    x.value = np.array([0.0, 1.5, -1.5])  # on the walls: the finite side's slope
    assert np.allclose(cvxpar.par(x, CONVEX["parq (walls)"]).grad[x].diagonal(), [0.0, 1.25, -1.25])


# ---------------------------------------------------------------------- curvature, sign, monotonicity
X = cp.Variable(2)
POS = cp.Variable(2, nonneg=True)
NEG = cp.Variable(2, nonpos=True)
INCR = PAR([0.0, 1.0], [0.0, 0.5], 0.0, 2.0)  # nondecreasing convex
DECR = PAR([0.0, 1.0], [1.0, 0.0], -2.0, 0.0)  # nonincreasing convex
ABS = CONVEX["abs"]
MONO_STAIRS = PAR.from_slopes([0.0, 1.0, 2.0], [1.0, 0.0, 1.0, 0.0])  # quasilinear
CURVATURE_TABLE = [
    # psi, argument, curvature, nonneg, nonpos, incr, decr
    (ABS, X, "CONVEX", True, False, False, False),
    (ABS, POS, "CONVEX", True, False, True, False),
    (ABS, NEG, "CONVEX", True, False, False, True),
    (ABS, cp.square(X), "CONVEX", True, False, True, False),  # convex nonneg argument, incr on [0, inf)
    (ABS, -cp.square(X), "CONVEX", True, False, False, True),
    (ABS, cp.sqrt(POS), "UNKNOWN", True, False, True, False),
    (INCR, cp.square(X), "CONVEX", True, False, True, False),
    (INCR, -cp.square(X), "CONVEX", True, True, True, True),  # nonpos arg: psi = 0 there
    (INCR, cp.sqrt(POS), "QUASICONCAVE", True, False, True, False),  # monotone: quasilinear atom
    (DECR, -cp.square(X), "CONVEX", True, False, False, True),
    (DECR, cp.sqrt(POS), "CONVEX", True, False, False, True),
    (CONVEX["shifted up"], X, "CONVEX", True, False, False, False),
    (PAR([0.0], [-1.0], -1.0, 0.0), X, "CONVEX", False, False, False, True),  # max(-x - 1, -1)
    (PAR([0.0], [-1.0], -1.0, 0.0), POS, "CONVEX", False, True, True, True),  # constant -1 on x >= 0
    (PAR([0.0], [0.0], 2.0, 2.0), X, "AFFINE", False, False, True, False),
    (CONVEX["parq (walls)"], POS, "CONVEX", True, False, True, False),
    (CONVEX["parq (walls)"], NEG, "CONVEX", True, False, False, True),
    (MONO_STAIRS, X, "QUASILINEAR", False, False, True, False),
    (cvxpar.pars.staircase(GRID), X, "QUASICONVEX", True, False, False, False),
    (cvxpar.pars.mcp(GRID, 1.0), X, "UNKNOWN", True, False, False, False),
    (cvxpar.pars.sawtooth(GRID), POS, "UNKNOWN", True, False, False, False),
]


@pytest.mark.parametrize(("psi", "arg", "curvature", "nonneg", "nonpos", "incr", "decr"), CURVATURE_TABLE)
def test_curvature_sign_monotonicity_table(psi, arg, curvature, nonneg, nonpos, incr, decr):
    expr = cvxpar.par(arg, psi)
    assert expr.curvature == curvature
    assert (expr.is_nonneg(), expr.is_nonpos()) == (nonneg, nonpos)
    assert (expr.is_incr(0), expr.is_decr(0)) == (incr, decr)


def test_sign_is_sound_on_samples():
    """The declared sign never contradicts sampled values (over the argument's sign range)."""
    for psi, arg, *_ in CURVATURE_TABLE:
        expr = cvxpar.par(arg, psi)
        lo, hi = psi.domain
        z = np.clip(np.linspace(-4, 4, 801), lo, hi)
        z = z[z >= 0] if arg.is_nonneg() else z[z <= 0] if arg.is_nonpos() else z
        vals = psi(z)
        assert not expr.is_nonneg() or (vals >= 0).all()
        assert not expr.is_nonpos() or (vals <= 0).all()


# ---------------------------------------------------------------------- DPP, copy, CSE, errors
def test_dpp_parameter_weight_resolves_like_a_fresh_problem():
    rng = np.random.default_rng(3)
    A, b = rng.normal(size=(8, 5)), rng.normal(size=8)
    psi = CONVEX["ridge"]
    lam = cp.Parameter(nonneg=True)
    x = cp.Variable(5)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b) + lam * cp.sum(cvxpar.par(x, psi))))
    assert prob.is_dcp(dpp=True)
    _, chain, _ = prob.get_problem_data(cp.CLARABEL)
    assert not any(isinstance(r, EvalParams) for r in chain.reductions)
    for value in (0.1, 2.0, 0.5):
        lam.value = value
        prob.solve(solver=cp.CLARABEL)
        y = cp.Variable(5)
        fresh = cp.Problem(cp.Minimize(cp.sum_squares(A @ y - b) + value * cp.sum(cvxpar.par(y, psi))))
        fresh.solve(solver=cp.CLARABEL)
        assert prob.value == pytest.approx(fresh.value, rel=1e-7)
        np.testing.assert_allclose(x.value, y.value, atol=1e-6)


def test_copy_round_trips_through_get_data():
    psi = CONVEX["parq (walls)"]
    x, y = cp.Variable(3), cp.Variable(3)
    atom = cvxpar.par(x, psi)
    dup = atom.copy()
    assert type(dup) is ParAtom and dup.psi == psi and dup.args[0] is x and dup.args is not atom.args
    other = atom.copy(args=[y])
    assert other.args[0] is y and other.psi == psi
    assert ParAtom(x, *atom.get_data()).psi == psi
    with pytest.raises(TypeError, match="cvxpar.PAR"):
        cvxpar.par(x, [0.0, 1.0])
    with pytest.raises(ValueError, match="real"):
        cvxpar.par(cp.Variable(2, complex=True), psi)


def test_cse_keeps_different_pars_apart_and_merges_equal_ones():
    """CVXPY 1.9.2+'s subexpression cache keys on get_data()."""
    x = cp.Variable(2)
    p1, p2 = PAR([0.0], [0.0], -1.0, 1.0), PAR([0.0], [1.0], -1.0, 1.0)  # same slopes, other intercept
    prob = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(x, p1)) + cp.sum(cvxpar.par(x, p2))), [x == 0.5])
    prob.solve(solver="CLARABEL")
    assert prob.value == pytest.approx(1.0 + 3.0, abs=1e-6)
    same = cp.Problem(cp.Minimize(cp.sum(cvxpar.par(x, p1)) + cp.sum(cvxpar.par(x, p1))), [x == 0.5])
    data_same, _, _ = same.get_problem_data(cp.CLARABEL)
    data_diff, _, _ = prob.get_problem_data(cp.CLARABEL)
    assert data_same["A"].shape[1] < data_diff["A"].shape[1]


def test_canonicalizer_keeps_sign_and_rejects_nonconvex():
    x = cp.Variable(2)
    expr = cvxpar.par(x, CONVEX["ridge"])
    t, _ = par_canon(expr, expr.args)
    assert t.is_nonneg()
    bad = cvxpar.par(x, cvxpar.pars.mcp(GRID, 1.0))
    with pytest.raises(DCPError, match="cvxpar.reference"):
        par_canon(bad, bad.args)


@pytest.mark.parametrize("psi", [cvxpar.pars.mcp(GRID, 1.0), cvxpar.pars.staircase(GRID)])
def test_nonconvex_psi_builds_but_solve_points_to_reference(psi):
    x = cp.Variable(4)
    expr = cvxpar.par(x, psi)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x - 1.0) + cp.sum(expr)))
    assert not prob.is_dcp() and not expr.is_convex()
    x.value = np.ones(4)
    assert expr.value == pytest.approx(psi(np.ones(4)))
    with pytest.raises(DCPError, match=r"cvxpar\.reference"):
        prob.solve()


def test_registration_is_idempotent_and_version_checked():
    from cvxpy.atoms import NONPOS_ATOMS
    from cvxpy.reductions.dcp2cone.canonicalizers import CANON_METHODS
    from cvxpy.reductions.dqcp2dcp.sets import SUBLEVEL_SETS

    from cvxpar import _cvxpy_registration as reg

    reg.register()
    reg.register()
    assert NONPOS_ATOMS.count(ParAtom) == 1
    assert CANON_METHODS[ParAtom] is par_canon and ParAtom in SUBLEVEL_SETS
    assert "cvxpar" in cp.Problem.REGISTERED_SOLVE_METHODS
    with pytest.raises(ImportError, match="CVXPY >= 1.8"):
        reg.check_cvxpy_version("1.7.5")
    with pytest.warns(RuntimeWarning, match="tested on CVXPY"):
        reg.check_cvxpy_version("1.10.0")
