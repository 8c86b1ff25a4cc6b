"""The recession test (cvxpar.recession) against CVXPY + Clarabel's unboundedness verdict, and its use in
cvxpar.solve, the bridge and cvxpar.reference."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import milp

import cvxpar
from cvxpar import PAR, grids, losses, pars, recession
from cvxpar import constraints as C
from cvxpar.constraints import FeasibleSet

BELOW_ZERO = pars.ridge(grids.uniform(0.25, 4, -2.0))  # slopes -2.5 .. -1.5: decreasing to the right


def _loss(kind, A, rng):
    n = A.shape[0]
    if kind == "ls":
        return losses.LeastSquares(A, rng.standard_normal(n))
    if kind == "huber":
        return losses.Huber(A, rng.standard_normal(n), M=0.5)
    return losses.Logistic(A, np.where(rng.standard_normal(n) > 0, 1.0, -1.0))


def _clarabel_status(loss, psi, lam, constraints):
    """Clarabel's status on the CVXPY model (convex psi)."""
    x = cp.Variable(loss.n_features)
    z = loss.op.A @ x
    objective = loss.cvxpy(z) + cp.sum(cp.multiply(lam, cvxpar.par(x, psi)))
    cons = [c for item in C.as_list(constraints) for c in item.cvxpy(x)]
    problem = cp.Problem(cp.Minimize(objective), cons)
    problem.solve(solver=cp.CLARABEL)
    return problem.status


def _cases():
    """Convex psi with descending tails (or not), losses, and constraints that do or do not block the ray."""
    rng = np.random.default_rng(3)
    tails = {
        "right -1.5": BELOW_ZERO,
        "left +0.5": PAR([0.0, 1.0], [0.0, 1.0], 0.5, 1.5),
        "flat": PAR([0.0, 1.0], [0.0, 0.0], 0.0, 0.0),
        "l1": pars.l1(grids.uniform(0.5, 3)),
    }
    for seed, (kind, (n, d), tail, cons) in enumerate(itertools.product(
            ("ls", "huber", "logistic"), ((4, 9), (12, 6)), tails, ("none", "nonneg", "upper", "rows"))):
        r = np.random.default_rng(seed)
        A = r.standard_normal((n, d))
        if kind == "logistic" and seed % 2:
            A[:, 0] = np.abs(A[:, 0]) * 0.0 + 1.0  # a column the labels can separate with
        constraint = {"none": None, "nonneg": C.NonNeg(), "upper": C.Box(-np.inf, 2.0),
                      "rows": C.Linear(A_eq=r.standard_normal((1, d)), b_eq=[0.3],
                                       A_ub=r.standard_normal((2, d)), b_ub=[1.0, 1.0])}[cons]
        lam = r.uniform(0.2, 2.0, d) if seed % 3 == 0 else 0.7
        yield pytest.param(_loss(kind, A, rng), tails[tail], lam, constraint, id=f"{kind}-{n}x{d}-{tail}-{cons}")


@pytest.mark.parametrize(("loss", "psi", "lam", "constraints"), list(_cases()))
def test_recession_verdict_agrees_with_clarabel(loss, psi, lam, constraints):
    status = _clarabel_status(loss, psi, lam, constraints)
    found = recession.ray(loss, psi, lam, FeasibleSet(constraints, loss.n_features))
    assert status in (cp.OPTIMAL, cp.UNBOUNDED, cp.OPTIMAL_INACCURATE, cp.UNBOUNDED_INACCURATE)
    assert (found is not None) == (status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE)), (status, found)
    if found is not None:  # F(x + t v) decreases at the stated rate from a feasible point
        x = FeasibleSet(constraints, loss.n_features).find_point()
        F = lambda y: loss.value(y) + float(np.sum(lam * psi(y)))  # noqa: E731
        t = 1e4  # past every breakpoint: F is affine in t there, with slope F_inf(v)
        assert F(x + 2 * t * found.v) - F(x + t * found.v) == pytest.approx(t * found.rate, rel=1e-6)


def _orthant_reference(A, b, psi, lam):
    """Brute force for a least-squares loss and a psi whose tails decrease both ways (no constraints): F is
    unbounded iff on some orthant pattern sigma the convex problem with psi replaced by its tails there,
    sigma_j x_j >= 0, is unbounded (Clarabel on each of the 3^d patterns)."""
    d = A.shape[1]
    s_minus, s_plus = float(psi.slopes[0]), float(psi.slopes[-1])
    for sigma in itertools.product((-1, 0, 1), repeat=d):
        x = cp.Variable(d)
        slope = np.array([s_plus if s > 0 else s_minus for s in sigma])
        cons = [cp.multiply(np.array(sigma, dtype=float), x) >= 0] + [x[j] == 0 for j in range(d) if sigma[j] == 0]
        problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam * slope @ x), cons)
        problem.solve(solver=cp.CLARABEL)
        if problem.status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE):
            return True
    return False


@pytest.mark.parametrize("seed", range(6))
def test_concave_tails_take_the_sign_search_and_agree_with_brute_force(seed):
    """psi decreasing both ways (s_+ < s_-: a concave recession function) needs v_j's sign chosen per
    coordinate; checked against Clarabel on every orthant."""
    rng = np.random.default_rng(seed)
    n, d = (3, 4) if seed % 2 else (4, 4)
    A = rng.standard_normal((n, d))
    if seed in (1, 4):
        A = np.vstack([A, np.eye(d)])  # full column rank: bounded
    b = rng.standard_normal(A.shape[0])
    psi = PAR([0.0, 1.0], [0.0, 1.0], 0.3, -0.2)  # nonconvex, decreasing both ways
    found = recession.ray(losses.LeastSquares(A, b), psi, 1.0, FeasibleSet(None, d))
    assert (found is not None) == _orthant_reference(A, b, psi, 1.0)
    if found is not None:
        assert np.abs(A @ found.v).max() <= 1e-12 * np.abs(A).max()


def test_the_linear_program_finds_a_ray_the_steepest_projection_misses(monkeypatch):
    """psi descends upward; x_0 >= 0.  The steepest direction (1, 1, 1) projected onto A's null space has
    v_0 < 0, outside the cone; the LP finds v = (0, 0, 1) (A's last column is 0)."""
    A = np.array([[5.0, 1.0, 0.0]])
    psi = PAR([0.0], [0.0], -1.0, -0.5)  # up: -0.5 per unit; down: +1 per unit
    loss, box = losses.LeastSquares(A, np.ones(1)), C.Box([0.0, -np.inf, -np.inf], np.inf)
    calls = []
    monkeypatch.setattr(recession, "milp", lambda *a, **k: calls.append(1) or milp(*a, **k))
    found = recession.ray(loss, psi, 1.0, FeasibleSet(box, 3))
    assert calls and found is not None and _clarabel_status(loss, psi, 1.0, box) == cp.UNBOUNDED
    np.testing.assert_array_equal(found.v, [0.0, 0.0, 1.0])
    # block x_2 above: only the cone's other rays remain, none descending
    blocked = C.Box([0.0, -np.inf, -np.inf], [np.inf, np.inf, 1.0])
    assert recession.ray(loss, psi, 1.0, FeasibleSet(blocked, 3)) is None
    assert _clarabel_status(loss, psi, 1.0, blocked) == cp.OPTIMAL


def test_ordinary_problems_pay_no_linear_program(monkeypatch):
    """psi growing at both ends (the families on a grid through 0), or a descending side that the bounds
    block: no LP runs."""
    def fail(*args, **kwargs):
        raise AssertionError("the recession LP ran on a problem that cannot be unbounded")

    monkeypatch.setattr(recession, "milp", fail)
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((20, 60)), rng.standard_normal(20)
    cases = [(pars.l1(grids.uniform(0.5, 5)), None), (pars.ridge(grids.uniform(0.25, 7)), None),
             (pars.mcp(grids.uniform(0.5, 5), 3.0), None), (pars.sawtooth(grids.uniform(0.5, 5)), None),
             (pars.parq(grids.uniform(0.5, 5)), None), (BELOW_ZERO, C.Box(-np.inf, 1.0))]
    for psi, cons in cases:
        for loss in (losses.LeastSquares(A, b), losses.Logistic(A, np.sign(b)), losses.Huber(A, b)):
            assert recession.ray(loss, psi, 0.3, FeasibleSet(cons, 60)) is None


def test_solve_bridge_and_reference_say_unbounded():
    """The breadth sweep's class (a grid entirely below 0, d > n): Clarabel says unbounded; cvxpar.solve ran
    to max_iter, the bridge to USER_LIMIT, cvxpar.reference said 'diverged'."""
    rng = np.random.default_rng(7)
    n, d = 30, 80
    A, b = rng.standard_normal((n, d)), rng.standard_normal(n)
    loss = losses.LeastSquares(A, b)
    assert _clarabel_status(loss, BELOW_ZERO, 0.05 * n, None) == cp.UNBOUNDED
    res = cvxpar.solve(loss, BELOW_ZERO, 0.05 * n)
    assert res.status == "unbounded" and res.iterations == 0 and res.objective == -np.inf
    v = res.info["direction"]
    assert np.abs(A @ v).max() <= 1e-12 * np.abs(A).sum(axis=1).max()
    assert "direction v" in res.message and "v[" in res.message
    x = cp.Variable(d)
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + 0.05 * n * cp.sum(cvxpar.par(x, BELOW_ZERO))))
    problem.solve(method="cvxpar")
    assert problem.status == cp.UNBOUNDED and problem.value == -np.inf and x.value is None
    ref = cvxpar.reference(loss, BELOW_ZERO, 0.05 * n)
    assert ref.status == "unbounded" and np.isnan(ref.x).all()
    assert cvxpar.reference(problem).status == "unbounded" and problem.status == cp.UNBOUNDED
    concave = PAR([0.0, 1.0], [0.0, 1.0], 0.5, -0.5)  # nonconvex: the mixed-integer reference needs bounds
    assert cvxpar.reference(loss, concave, 1.0).status == "unbounded"
    assert cvxpar.solve(loss, concave, 1.0).status == "unbounded"


def test_bounded_problem_with_descending_psi_is_solved_as_before():
    """Tall A of full column rank: A v = 0 forces v = 0, so the LP proves boundedness and the solve certifies
    Clarabel's optimum."""
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((40, 8)), rng.standard_normal(40)
    loss = losses.LeastSquares(A, b)
    res = cvxpar.solve(loss, BELOW_ZERO, 2.0)
    ref = cvxpar.reference(loss, BELOW_ZERO, 2.0)
    assert res.status == "optimal" and ref.status == "optimal"
    assert res.objective == pytest.approx(ref.objective, rel=1e-8)


def test_infeasible_rows_are_not_called_unbounded():
    """A ray exists, but the rows have no common point: infeasible wins (the ray needs a feasible start)."""
    rng = np.random.default_rng(2)
    A, b = rng.standard_normal((5, 20)), rng.standard_normal(5)
    rows = C.Linear(A_eq=np.vstack([np.eye(20)[0], np.eye(20)[0]]), b_eq=[0.0, 1.0])
    loss = losses.LeastSquares(A, b)
    assert cvxpar.solve(loss, BELOW_ZERO, 1.0, constraints=rows).status == "infeasible"
    assert cvxpar.reference(loss, BELOW_ZERO, 1.0, constraints=rows).status == "infeasible"


# ---------------------------------------------------------------------- LinearOperator data, losses without a verdict
def _as_operator(loss):
    """The same loss with A given as a scipy LinearOperator (products only)."""
    from scipy.sparse.linalg import aslinearoperator

    kind = type(loss)
    extra = {"M": loss.M} if isinstance(loss, losses.Huber) else {}
    return kind(aslinearoperator(loss.op.A), loss.target, **extra)


@pytest.mark.parametrize(("loss", "psi", "lam", "constraints"), list(_cases())[::3])
def test_operator_data_gets_the_verdict_of_its_matrix_and_of_clarabel(loss, psi, lam, constraints):
    """A LinearOperator A is tested through its columns: the verdict is Clarabel's on the matrix, and a
    direction found makes the operator's own A v vanish.  Before, no verdict was given (no test ran)."""
    status = _clarabel_status(loss, psi, lam, constraints)
    op_loss = _as_operator(loss)
    verdict = recession.decide(op_loss, psi, lam, FeasibleSet(constraints, loss.n_features))
    assert (verdict.ray is not None) == (status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE)), (status, verdict)
    assert verdict.skipped is None
    if verdict.ray is not None and isinstance(loss, losses.LeastSquares):
        A = loss.op.A
        assert np.abs(op_loss.op.mv(verdict.ray.v)).max() <= 1e-12 * np.abs(A).sum(axis=1).max()


def test_solve_on_operator_data_says_unbounded_like_on_the_matrix():
    """The breadth class (a grid below 0, d > n) with A as a LinearOperator: cvxpar.solve said max_iter after
    the whole iteration budget (ssnal, about 100 s at max_iter=2000); now 'unbounded' before iterating."""
    rng = np.random.default_rng(7)
    A, b = rng.standard_normal((12, 30)), rng.standard_normal(12)
    dense = losses.LeastSquares(A, b)
    assert _clarabel_status(dense, BELOW_ZERO, 1.0, None) == cp.UNBOUNDED
    for loss in (_as_operator(dense), _as_operator(losses.Logistic(A, np.sign(b)))):
        res = cvxpar.solve(loss, BELOW_ZERO, 1.0, max_iter=50)
        assert res.status == "unbounded" and res.iterations == 0, res.message


def test_too_large_operator_is_skipped_and_said_so(monkeypatch):
    """Past OPERATOR_ENTRIES no verdict: the solve runs, never ends 'optimal' on the unbounded problem, and its
    message and info say the recession test was skipped and why."""
    monkeypatch.setattr(recession, "OPERATOR_ENTRIES", 10)
    rng = np.random.default_rng(7)
    A, b = rng.standard_normal((6, 15)), rng.standard_normal(6)
    loss = _as_operator(losses.LeastSquares(A, b))
    assert _clarabel_status(losses.LeastSquares(A, b), BELOW_ZERO, 1.0, None) == cp.UNBOUNDED
    verdict = recession.decide(loss, BELOW_ZERO, 1.0, FeasibleSet(None, 15))
    assert verdict.ray is None and "LinearOperator of 6 x 15 = 90 entries" in verdict.skipped
    res = cvxpar.solve(loss, BELOW_ZERO, 1.0, method="fista", max_iter=300)
    assert res.status == "max_iter" and res.objective < -10.0
    assert "recession test was skipped" in res.message and "LinearOperator" in res.message
    assert res.info["recession"].startswith("skipped: A is a LinearOperator")


def test_losses_without_recession_slopes_are_skipped_and_said_so():
    """A Smooth loss and a user loss without recession_slopes on problems Clarabel calls unbounded: no verdict is
    possible; the status is not 'optimal' and the message says the test was skipped and why."""
    from user_losses import SquaredHinge, hinge_data

    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((5, 12)), rng.standard_normal(5)
    c = A.T @ b
    linear = losses.Smooth(lambda x: float(c @ x), lambda x: c + 0.0 * x, 1.0, n_features=12)
    x = cp.Variable(12)
    ref = cp.Problem(cp.Minimize(c @ x + 0.5 * cp.sum(cvxpar.par(x, pars.l1(grids.uniform(0.5, 3))))))
    ref.solve(solver=cp.CLARABEL)
    assert ref.status == cp.UNBOUNDED and np.abs(c).max() > 0.5
    res = cvxpar.solve(linear, pars.l1(grids.uniform(0.5, 3)), 0.5, max_iter=300)
    assert res.status == "max_iter" and "recession test was skipped (the Smooth loss defines no" in res.message
    A, y = hinge_data(5, 12)
    hinge = SquaredHinge(A, y)
    assert _clarabel_status(hinge, BELOW_ZERO, 1.0, None) == cp.UNBOUNDED
    res = cvxpar.solve(hinge, BELOW_ZERO, 1.0, max_iter=300)
    assert res.status == "max_iter" and "SquaredHinge loss defines no recession_slopes" in res.message
    # the same losses on bounded problems are solved and certified as before, with the reason kept in info
    bounded = cvxpar.solve(hinge, pars.l1(grids.uniform(0.5, 3)), 1.0)
    assert bounded.status == "optimal" and "recession test" not in bounded.message
    assert bounded.info["recession"].startswith("skipped: the SquaredHinge loss")


class _NoSlopesAsked(losses.Smooth):
    """A Smooth loss whose recession_slopes must not be asked (asking it fails the test)."""

    def recession_slopes(self):
        raise AssertionError("the loss was asked for recession slopes on a bounded feasible set")


def _cone_by_brute_force(feasible, psi) -> bool:
    """K = {0} by 2d linear programs: max and min of each v_j over K with |v| <= 1 (HiGHS)."""
    from scipy.optimize import linprog

    d = feasible.d
    lo_dom, hi_dom = psi.domain
    lower = np.where(np.isfinite(feasible.lower) | np.isfinite(lo_dom), 0.0, -1.0)
    upper = np.where(np.isfinite(feasible.upper) | np.isfinite(hi_dom), 0.0, 1.0)
    for j in range(d):
        for sign in (1.0, -1.0):
            c = np.zeros(d)
            c[j] = -sign
            out = linprog(c, A_ub=feasible.A_ub, b_ub=None if feasible.A_ub is None else np.zeros(feasible.A_ub.shape[0]),
                          A_eq=feasible.A_eq, b_eq=None if feasible.A_eq is None else np.zeros(feasible.A_eq.shape[0]),
                          bounds=list(zip(lower, upper, strict=True)), method="highs")
            assert out.status == 0
            if -out.fun > 1e-9:
                return False
    return True


def test_a_bounded_box_is_decided_before_the_loss_is_asked():
    """A Smooth loss on a Box (or inside psi's walls) used to get "skipped: the Smooth loss defines no
    recession_slopes" although the feasible set is bounded: now the bounds decide first, without the loss."""
    c = np.array([1.0, -2.0, 0.5])
    smooth = _NoSlopesAsked(lambda x: float(c @ x), lambda x: c + 0.0 * x, 1.0, n_features=3)
    walls = PAR([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0], -np.inf, np.inf)  # psi = +inf outside [-1, 1]
    for psi, cons in ((pars.l1(grids.uniform(0.5, 3)), C.Box(-1.0, 2.0)), (walls, None), (walls, C.NonNeg())):
        verdict = recession.decide(smooth, psi, 0.7, FeasibleSet(cons, 3))
        assert verdict.ray is None and verdict.skipped is None
    res = cvxpar.solve(losses.Smooth(lambda x: float(c @ x), lambda x: c + 0.0 * x, 1.0, n_features=3),
                       pars.l1(grids.uniform(0.5, 3)), 0.7, constraints=C.Box(-1.0, 2.0))
    assert "recession" not in res.info and "recession test" not in res.message
    x = cp.Variable(3)
    ref = cp.Problem(cp.Minimize(c @ x + 0.7 * cp.sum(cvxpar.par(x, pars.l1(grids.uniform(0.5, 3))))), [x >= -1, x <= 2])
    ref.solve(solver=cp.CLARABEL)
    assert res.status == "optimal" and res.objective == pytest.approx(ref.value, rel=1e-7, abs=1e-9)


def test_rows_that_close_the_cone_decide_where_the_loss_cannot():
    """A Smooth loss on a Simplex or a bounded polyhedron: bounded below, not skipped; on an unbounded
    polyhedron the loss's reason stays."""
    d = 4
    smooth = losses.Smooth(lambda x: float(x.sum()), lambda x: np.ones_like(x), 1.0, n_features=d)
    psi = pars.l1(grids.uniform(0.5, 3))
    G = np.random.default_rng(0).standard_normal((d, d))
    polytope = C.Linear(A_ub=np.vstack([G, -G.sum(axis=0)]), b_ub=np.ones(d + 1))  # G's rows and minus their sum
    half = C.Linear(A_ub=np.ones((1, d)), b_ub=[1.0])
    for cons, bounded in ((C.Simplex(), True), (polytope, True), (half, False), ([C.NonNeg(), half], True)):
        feasible = FeasibleSet(cons, d)
        assert _cone_by_brute_force(feasible, psi) == bounded
        verdict = recession.decide(smooth, psi, 0.5, feasible)
        assert verdict.ray is None and (verdict.skipped is None) == bounded, (cons, verdict)


@pytest.mark.parametrize("seed", range(40))
def test_cone_test_agrees_with_brute_force(seed):
    """recession._cone_is_zero against 2d linear programs, on random bounds, psi walls and rows."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 6))
    lower = np.where(rng.random(d) < 0.4, 0.0, -np.inf)
    upper = np.where(rng.random(d) < 0.3, 1.0, np.inf)
    items = [C.Box(lower, upper)]
    n_ub, n_eq = int(rng.integers(0, d + 3)), int(rng.integers(0, 3))
    A_ub = rng.integers(-2, 3, (n_ub, d)).astype(float) if n_ub else None
    A_eq = rng.integers(-2, 3, (n_eq, d)).astype(float) if n_eq else None
    if n_ub or n_eq:
        items.append(C.Linear(A_eq=A_eq, b_eq=None if A_eq is None else A_eq @ np.full(d, 0.5),
                              A_ub=A_ub, b_ub=None if A_ub is None else np.ones(n_ub) + A_ub @ np.full(d, 0.5)))
    psi = PAR([0.0, 1.0], [0.0, 1.0], -np.inf, 1.0) if seed % 5 == 0 else pars.l1(grids.uniform(0.5, 3))
    feasible = FeasibleSet(items, d)
    lo_dom, hi_dom = psi.domain
    up = (feasible.upper == np.inf) & (hi_dom == np.inf)
    down = (feasible.lower == -np.inf) & (lo_dom == -np.inf)
    want = _cone_by_brute_force(feasible, psi)
    got = (not (up.any() or down.any())) or recession._cone_is_zero(feasible, up, down)
    assert got == want


#: A has the null space span{(1, -1, 1)}; psi descends both ways (psi_inf(t) = -|t| / 2), so F falls along it
NULL_A = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
HALFSPACE = C.Linear(A_ub=np.array([[1.0, 2.0, 3.0]]), b_ub=[1.0])  # (1, -1, 1) . (1, 2, 3) = 2 > 0: -v stays in


@pytest.mark.parametrize("lam", [1e100, 1e300, np.array([1e300, 1.0, 1e-300])])
@pytest.mark.parametrize("make", [lambda A: losses.LeastSquares(A, np.ones(2)), lambda A: losses.Logistic(A, np.ones(2))])
def test_huge_lam_gets_a_ray_not_a_solver_failure(make, lam):
    """lam = 1e100 .. 1e300 put costs above HiGHS's infinity (1e20) into the test's linear program, which stopped
    without a solution: the status was max_iter / diverged on a problem that is unbounded below (the direction
    -(1, -1, 1), checked by hand: A v = 0, v . (1, 2, 3) < 0, psi_inf(v_j) < 0)."""
    loss, psi = make(NULL_A), PAR([0.0], [0.0], 0.5, -0.5)
    found = recession.ray(loss, psi, lam, FeasibleSet(HALFSPACE, 3))
    assert found is not None and found.rate < 0
    np.testing.assert_allclose(found.v, [-1.0, 1.0, -1.0], atol=1e-12)
    assert cvxpar.solve(loss, psi, lam, constraints=HALFSPACE, max_iter=50).status == "unbounded"


@pytest.mark.parametrize("scale, lam", [(1e20, 1.0), (1e200, 1.0), (1.0, 1e-300), (1e-20, 1e-300)])
@pytest.mark.parametrize("kind", ["huber", "logistic"])
def test_a_loss_many_orders_above_psi_still_gets_its_ray(kind, scale, lam):
    """Huber / logistic rows of 1e20 beside psi slopes of 1/2, or lam = 1e-300 beside rows of 1: the program with
    both costs could not resolve psi's (HiGHS: "infeasible or unbounded", or a direction that did not verify, or
    F_inf >= 0 read as bounded).  The direction holding the loss at its zero set, (1, -1, 1) up to sign, is a ray
    (hand-checked as above); with lam = 1e-300 the loss is 0 along it and psi still falls."""
    A = scale * NULL_A
    loss = losses.Huber(A, np.ones(2)) if kind == "huber" else losses.Logistic(A, np.ones(2))
    found = recession.ray(loss, PAR([0.0], [0.0], 0.5, -0.5), lam, FeasibleSet(HALFSPACE, 3))
    assert found is not None and found.rate < 0
    np.testing.assert_allclose(found.v, [-1.0, 1.0, -1.0], atol=1e-12)


def test_lam_times_slope_past_the_float_range_gets_a_ray_not_a_highs_error():
    """lam = 1e300 with a tail slope of -1e12: lam * slope overflows to -inf and HiGHS refused the cost vector
    ("`c` must be ... finite"), an exception out of cvxpar.solve (found by the edge fuzzer, session 13).  The test
    now runs in units of max lam; the ray v = +1 is hand-checked (x >= 0 by the wall, A's only column is nonzero
    so A v != 0 for least squares: no ray there; with the logistic loss the label y = +1 keeps h bounded along
    v = +1 when a > 0)."""
    psi = PAR([0.0], [0.0], -np.inf, -1e12)
    A = np.array([[0.12573022]])
    assert recession.ray(losses.LeastSquares(A, np.array([0.06])), psi, 1e300, FeasibleSet(None, 1)) is None
    found = recession.ray(losses.Logistic(A, np.array([1.0])), psi, 1e300, FeasibleSet(None, 1))
    assert found is not None and found.rate == -np.inf and found.v[0] == 1.0
    res = cvxpar.solve(losses.LeastSquares(A, np.array([0.06])), psi, 1e300, max_iter=20)
    assert res.status in cvxpar.result.STATUSES and res.status != "unbounded"
