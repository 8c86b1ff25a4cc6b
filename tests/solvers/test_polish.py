"""The shared polish schedule, and the row polish on free blocks larger than n against Clarabel.

The schedule: tried once the fixed set has settled, backed off after a polish without
progress, and (``exact_only``) for a wide least-squares problem only once at most n coordinates are free."""

from __future__ import annotations

import numpy as np
import pytest
from solver_reference import reference_objective

import cvxpar
from cvxpar.losses import LeastSquares
from cvxpar.solvers._problem import Problem
from cvxpar.solvers.polish import PolishSchedule, _normal_step

PSI = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 7))


def _point(d, n_free, rng):
    """A point with exactly ``n_free`` coordinates strictly inside a piece of PSI, the rest on breakpoints."""
    x = rng.choice(np.arange(-3, 4) * 0.5, d)
    x[:n_free] = rng.choice([-0.2, 0.3, 0.7, 1.2], n_free)
    return x


def test_schedule_waits_for_a_settled_split_and_backs_off():
    rng = np.random.default_rng(0)
    prob = Problem(LeastSquares(rng.standard_normal((30, 10)), rng.standard_normal(30)), PSI, 1.0)
    sched = PolishSchedule(prob, 1)
    x = _point(10, 3, rng)
    assert not sched.due(1, x)  # nothing to compare with yet
    y = x.copy()
    y[3:6] = [0.1, 0.2, 0.4]  # three more coordinates left their breakpoints: not settled
    assert not sched.due(2, y)
    assert sched.due(3, y)  # unchanged split
    sched.record(3, improved=False)  # back off: wait 2, then 4
    assert not sched.due(4, y) and sched.due(5, y)
    sched.record(5, improved=False)
    assert not sched.due(8, y) and sched.due(9, y)
    sched.record(9, improved=True)
    assert sched.due(10, y)


def test_a_split_that_never_settles_still_gets_a_polish_with_a_doubling_wait():
    """Iterates cycling between splits (nonconvex ADMM can, forever): the split never settles, yet a polish is
    tried after FORCED_CHECKS checks, then after twice as many each time a forced one fails (before: never,
    so such a run went to max_iter and polished only at its end)."""
    rng = np.random.default_rng(3)
    prob = Problem(LeastSquares(rng.standard_normal((30, 10)), rng.standard_normal(30)), PSI, 1.0)
    period = 25
    sched = PolishSchedule(prob, period)
    a = _point(10, 2, rng)
    b = a.copy()
    b[2:6] = [0.1, 0.2, 0.4, 0.6]  # four coordinates move between the two points: never settled
    forced = []
    for k in range(1, 400):
        it = k * period
        if sched.due(it, a if k % 2 else b):
            forced.append(it)
            sched.record(it, improved=False)
    first = PolishSchedule.FORCED_CHECKS * period
    assert forced[:4] == [first, 3 * first, 7 * first, 15 * first]


def test_exact_only_waits_until_at_most_n_coordinates_are_free_on_a_wide_problem():
    rng = np.random.default_rng(1)
    n, d = 5, 40
    prob = Problem(LeastSquares(rng.standard_normal((n, d)), rng.standard_normal(n)), PSI, 1.0)
    wide = _point(d, n + 3, rng)
    plain, exact = PolishSchedule(prob, 1), PolishSchedule(prob, 1, exact_only=True)
    for sched in (plain, exact):
        sched.due(1, wide)
    assert int((~prob.fixed(wide)).sum()) == n + 3
    assert plain.due(2, wide) and not exact.due(2, wide)
    few = wide.copy()
    few[n:n + 3] = 0.5  # three free coordinates land on a breakpoint: n free
    assert int((~prob.fixed(few)).sum()) == n
    assert not exact.due(3, few)  # the split just changed
    assert exact.due(4, few)


def test_a_split_whose_free_set_grows_by_more_than_five_percent_has_not_settled():
    rng = np.random.default_rng(2)
    d = 20_000
    prob = Problem(LeastSquares(rng.standard_normal((5, d)), rng.standard_normal(5)), PSI, 1.0)
    sched = PolishSchedule(prob, 1)
    x = _point(d, 10, rng)
    sched.due(1, x)
    y = x.copy()
    y[10:20] = 0.3  # 10 more free coordinates: within 1e-3 d = 20, but the free set doubled
    assert not sched.due(2, y)
    z = y.copy()
    z[20] = 0.3  # one more: the smallest change always counts as settled
    assert sched.due(3, z)



def test_newton_polish_certifies_the_start_only_when_the_first_step_does_not():
    """A first step that certifies costs one certificate (the start's is not needed); a certified start whose
    step does not certify comes back as it is; both answers are the optimum Clarabel finds."""
    from cvxpar.constraints import Box
    from cvxpar.solvers._common import check
    from cvxpar.solvers.polish import newton_polish

    rng = np.random.default_rng(3)
    A = rng.standard_normal((30, 10))
    b = A @ rng.uniform(-1, 1, 10) + 0.1 * rng.standard_normal(30)
    prob = Problem(LeastSquares(A, b), PSI, 0.3, [Box(-1, 1)])
    seen = []

    def counted(v):
        seen.append(np.array(v))
        return check(prob, v)

    ref = reference_objective(A, b, PSI, 0.3, [Box(-1, 1)])
    t = 1.0 / prob.loss.lipschitz()
    solved = cvxpar.solve(prob.loss, PSI, 0.3, [Box(-1, 1)], tol=1e-10).x
    start = np.clip(solved + 1e-3 * rng.standard_normal(10), -1, 1)  # not optimal, the split already right
    x, cert, steps = newton_polish(prob, start, t, tol=1e-10, check=counted)
    assert cert.certifies(1e-10) and steps == 1
    assert len(seen) == 1 and not np.array_equal(seen[0], start)  # the start was never certified
    assert cert.objective == pytest.approx(ref, rel=1e-7, abs=1e-9)

    seen.clear()
    x2, cert2, steps2 = newton_polish(prob, x, t, steps=0, tol=1e-10, check=counted)
    assert x2 is x and steps2 == 0 and cert2.certifies(1e-10) and len(seen) == 1


def test_newton_polish_takes_the_starts_certificate_from_the_caller():
    """A start far from the solution (the first step does not certify, so the start's certificate is compared):
    with ``x_cert`` = the caller's check(x) the start is never certified again, and every step, point and certificate
    is the one computed without it."""
    from cvxpar.solvers._common import check
    from cvxpar.solvers.polish import newton_polish

    rng = np.random.default_rng(7)
    A = rng.standard_normal((40, 120))
    b = A @ (0.5 * rng.standard_normal(120)) + 0.1 * rng.standard_normal(40)
    prob = Problem(LeastSquares(A, b), PSI, 2.0)
    t = 1.0 / prob.loss.lipschitz()
    start = np.full(120, 0.1)
    seen = []

    def counted(v):
        seen.append(np.array(v))
        return check(prob, v)
    x1, cert1, steps1 = newton_polish(prob, start, t, steps=4, tol=1e-10, check=counted)
    assert any(np.array_equal(v, start) for v in seen)  # the first step did not certify: the start was checked
    seen.clear()
    x2, cert2, steps2 = newton_polish(prob, start, t, steps=4, tol=1e-10, check=counted, x_cert=check(prob, start))
    assert not any(np.array_equal(v, start) for v in seen)
    np.testing.assert_array_equal(x1, x2)
    assert (cert1.objective, cert1.residual, steps1) == (cert2.objective, cert2.residual, steps2)
    seen.clear()
    x3, cert3, steps3 = newton_polish(prob, start, t, steps=0, tol=1e-10, check=counted, x_cert=check(prob, start))
    assert x3 is start and steps3 == 0 and seen == [] and cert3.objective == check(prob, start).objective


def test_a_step_whose_fixed_coordinates_are_in_place_takes_one_gradient(monkeypatch):
    """Polishing a point whose fixed coordinates already sit on the breakpoints the prox puts them on (ssnal's
    x, the prox's own output): the step's point base equals x, so the gradient at x serves it too (one gradient
    a step, not two), and the answer is the one with both gradients."""
    from cvxpar.solvers._common import check
    from cvxpar.solvers.polish import newton_polish

    rng = np.random.default_rng(8)
    A = rng.standard_normal((40, 120))
    b = A @ (0.5 * rng.standard_normal(120)) + 0.1 * rng.standard_normal(40)
    prob = Problem(LeastSquares(A, b), PSI, 2.0)
    t = 1.0 / prob.loss.lipschitz()
    x = cvxpar.solve(prob.loss, PSI, 2.0, tol=1e-6, polish=False).x
    x = prob.prox(x - t * prob.loss.grad(x), t)  # a prox output: fixed coordinates on their breakpoints
    u = prob.prox(x - t * prob.loss.grad(x), t)
    assert np.array_equal(np.where(prob.fixed(u), u, x), x)
    grads = []
    real = LeastSquares.grad
    monkeypatch.setattr(LeastSquares, "grad", lambda self, v: grads.append(1) or real(self, v))
    in_checks = []

    def counted(v):
        before = len(grads)
        c = check(prob, v)
        in_checks.append(len(grads) - before)
        return c
    px, cert, steps = newton_polish(prob, x, t, steps=1, tol=1e-10, check=counted)
    assert steps == 1 and len(grads) - sum(in_checks) == 1
    B = A[:, ~prob.fixed(u)]
    s, _, _ = prob.piece(u)
    free = ~prob.fixed(u)
    exact = x.copy()
    exact[free] += np.linalg.solve(B.T @ B, -(real(prob.loss, x)[free] + 2.0 * s[free]))
    lo, hi = prob.piece(u)[1:]
    np.testing.assert_allclose(px, np.clip(exact, lo, hi), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(40, 25), (700, 600)])  # the second: B^T B on a populated map (>= 4 MB)
def test_the_exact_step_solves_the_normal_equations_in_place_and_matches_a_direct_solve(shape):
    rng = np.random.default_rng(11)
    B = np.asfortranarray(rng.standard_normal(shape))  # as ssnal hands it over: rows of A^T, transposed
    rhs = rng.standard_normal(shape[1])
    step = _normal_step(B, rhs)
    np.testing.assert_allclose(step, np.linalg.solve(B.T @ B, rhs), rtol=1e-9, atol=1e-12)


def _no_svd(monkeypatch):
    """Least-squares solves by the SVD fail the test (the exact step must not fall back to one)."""
    import scipy.linalg

    def refused(*args, **kwargs):
        raise AssertionError("the exact step fell back to an SVD least-squares solve")

    monkeypatch.setattr(scipy.linalg, "lstsq", refused)
    monkeypatch.setattr(np.linalg, "lstsq", refused)


@pytest.mark.parametrize("sparse", [False, True])
def test_the_exact_step_on_a_singular_block_takes_the_basic_solution_without_an_svd(sparse, monkeypatch):
    """A repeated column makes B^T B singular: the step (pivoted Cholesky) solves the consistent system exactly,
    moves at most rank(B) coordinates, and agrees with the minimum-norm solution on B's range (B step equal)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(12)
    B = rng.standard_normal((10, 4))
    B = np.column_stack([B, B[:, 0]])  # a repeated column: B^T B singular
    rhs = B.T @ rng.standard_normal(10)  # consistent: in the range of B^T B
    _no_svd(monkeypatch)
    step = _normal_step(sp.csc_array(B) if sparse else B, rhs)
    np.testing.assert_allclose(B.T @ (B @ step), rhs, atol=1e-9)
    assert np.count_nonzero(step) <= 4
    monkeypatch.undo()
    np.testing.assert_allclose(B @ step, B @ np.linalg.lstsq(B.T @ B, rhs, rcond=None)[0], atol=1e-8)


def test_the_exact_step_on_structurally_dependent_sparse_columns_skips_the_cholesky_factorization(monkeypatch):
    """Two columns with their only nonzero in the same row: the structural rank (4 of 5) says B^T B is singular,
    so no Cholesky factorization is tried, and the basic solution solves the consistent system."""
    import scipy.sparse as sp

    from cvxpar.solvers import _gram

    B = sp.csc_array(np.array([[1.0, 0, 0, 2.0, 0], [0, 1.0, 0, 0, 0], [0, 0.5, 1.0, 0, 0], [0, 0, 0, 0, 3.0],
                               [0, 0, 0, 0, 1.0]]))
    rhs = B.T @ np.array([1.0, -2.0, 0.5, 1.5, -1.0])
    tried = []
    monkeypatch.setattr(_gram, "cholesky_solve", lambda *a, **k: tried.append(1))
    _no_svd(monkeypatch)
    step = _normal_step(B, rhs)
    assert not tried
    np.testing.assert_allclose(B.T @ (B @ step), rhs, atol=1e-12)


@pytest.mark.parametrize("seed, density", [(0, 0.02), (2, 0.02), (3, 0.004), (4, 0.004)])
def test_cd_on_sparse_logistic_with_parallel_columns_certifies_at_clarabels_optimum_without_an_svd(seed, density,
                                                                                                     monkeypatch):
    """Sparse logistic data with many columns of one or two nonzeros (parallel columns share rows, so free blocks
    are rank-deficient during the polish): cd with its Newton polish (on the sparse free block at 0.4 %, a dense one
    at 2 %) certifies at Clarabel's objective and no exact step falls back to an SVD least-squares solve."""
    import scipy.sparse as sp
    from user_losses import clarabel_objective

    from cvxpar.losses import Logistic

    rng = np.random.default_rng(seed)
    n, d = 60, 300
    A = sp.random(n, d, density=density, random_state=seed, format="csc")
    x = rng.choice(np.arange(-3, 4) * 0.5, d)
    loss = Logistic(A, np.where(A @ x + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0))
    lam = 0.01 * n
    ref = clarabel_objective(loss, PSI, lam)
    _no_svd(monkeypatch)
    res = cvxpar.solve(loss, PSI, lam, method="cd", tol=1e-9)
    assert res.status == "optimal" and res.objective <= ref + 1e-7 * abs(ref), res.message


def _rows_case(kind: str, d: int, rng):
    from cvxpar.constraints import Box, Linear, NonNeg, Simplex

    if kind.startswith("simplex"):
        return [Simplex(float(kind.split("=")[1]))]
    if kind == "budget active":  # the unconstrained solution sums to about 1
        return [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.5])]
    if kind == "budget inactive":
        return [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[50.0])]
    return [Box(-0.05, 0.05), Linear(A_eq=np.vstack([np.ones(d), rng.standard_normal(d)]), b_eq=[1.0, 0.1])]


@pytest.mark.parametrize("kind", ["simplex r=0.1", "simplex r=1", "simplex r=5", "simplex r=50", "budget active",
                                  "budget inactive", "two equalities + box"])
@pytest.mark.parametrize("loss_name", ["ls", "huber"])
def test_row_polish_on_free_blocks_larger_than_n_takes_the_factored_step(kind, loss_name, monkeypatch, large_rules):
    """At 20 x 200 most coordinates sit strictly inside the first piece of psi at the solution (a free block of
    up to 200 > n = 20 coordinates: the Newton system B^T B on it is singular).  The row polish solves it on the
    row space of [B; G] where the block has more than DENSE_RATIO n coordinates or B^T B + mu I is singular (no
    least-squares solve of the 200 x 200 KKT matrix), and the answer certifies at Clarabel's objective."""
    import cvxpar.solvers.polish as polish
    from cvxpar.losses import Huber

    rng = np.random.default_rng(1)
    n, d = 20, 200
    A = rng.standard_normal((n, d))
    t = A @ rng.dirichlet(np.ones(d)) + 0.1 * rng.standard_normal(n)
    cons = _rows_case(kind, d, rng)
    m = sum(0 if c.rows(d)[0] is None else c.rows(d)[0].shape[0] for c in cons) + sum(
        0 if c.rows(d)[2] is None else c.rows(d)[2].shape[0] for c in cons)
    loss = LeastSquares(A, t) if loss_name == "ls" else Huber(A, t)
    psi, lam = cvxpar.pars.ridge(cvxpar.grids.uniform(0.1, 11)), 0.02
    solved, factored = [], []
    lstsq = np.linalg.lstsq
    monkeypatch.setattr(np.linalg, "lstsq", lambda M, *a, **k: solved.append(M.shape[0]) or lstsq(M, *a, **k))
    step = polish.factored_kkt_step
    monkeypatch.setattr(polish, "factored_kkt_step", lambda B, *a: factored.append(B.shape) or step(B, *a))
    res = cvxpar.solve(loss, psi, lam, constraints=cons, tol=1e-8)
    monkeypatch.undo()
    assert res.method == "alm" and res.status == "optimal", res.message
    assert cvxpar.certificate(loss, psi, lam, res.x, cons).certifies(1e-8)
    assert max(solved, default=0) <= n + 2 * m  # only the reduced systems, never the k x k one
    if kind not in ("simplex r=0.1", "budget active", "budget inactive"):  # these free at most 27 < 2 n
        assert any(k > polish.DENSE_RATIO * n for _, k in factored)
    ref = reference_objective(A, t, psi, lam, cons, loss=loss_name)
    assert res.objective <= ref + 1e-7 * max(1.0, abs(ref))
    assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref))


@pytest.mark.parametrize("density", [0.01, 0.2])
def test_the_regularized_steps_of_a_wide_sparse_block_match_the_dense_block(density):
    """More free columns than rows (k > n) and mu > 0: the Woodbury solve through mu I + B B^T gives the same
    candidate points for a scipy.sparse B (SparseGram: a sparse factorization at 1 %, a dense one at 20 %) as for
    the same B dense, and each is the regularized Newton step (B^T B + mu I)^-1 rhs, clipped."""
    import scipy.sparse as sp

    from cvxpar.solvers.polish import _steps

    rng = np.random.default_rng(int(100 * density))
    n, k = 60, 150
    B = sp.random(n, k, density=density, random_state=1, format="csc")
    rhs = rng.standard_normal(k)
    mus = [1e-3, 0.1, 10.0]
    base = rng.uniform(-1, 1, 200)
    free = np.sort(rng.choice(200, k, replace=False))
    lo, hi = np.full(k, -5.0), np.full(k, 5.0)
    got = list(_steps(np, B, None, rhs, mus, base, base[free], lo, hi, free))
    want = list(_steps(np, B.toarray(), None, rhs, mus, base, base[free], lo, hi, free))
    assert len(got) == len(want) == len(mus)
    Bd = B.toarray()
    for mu, g, w in zip(mus, got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-10)
        exact = base.copy()
        exact[free] = np.clip(base[free] + np.linalg.solve(Bd.T @ Bd + mu * np.eye(k), rhs), lo, hi)
        np.testing.assert_allclose(g, exact, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("density", [0.001, 0.003, 0.02])
def test_sparse_exact_step_solves_each_connected_component_of_the_free_block(density, monkeypatch):
    """The exact step on a scipy.sparse free block B (1000 x k) solves H d = rhs (H = B^T B, dense reference) where
    the system is consistent, also when B is rank-deficient (columns with one nonzero sharing a row), and is
    H^-1 rhs where H is nonsingular; it factors the connected components of H's graph, never the whole k x k
    block when that splits."""
    import scipy.sparse as sp

    from cvxpar.solvers import polish

    rng = np.random.default_rng(12)
    k = 400 if density < 0.01 else 60
    B = sp.random(1000, k, density=density, random_state=13, format="csc")
    H = (B.T @ B).toarray()
    orders = []

    def recorded(M, rhs, overwrite=False):
        orders.append(M.shape[0])
        return cholesky(M, rhs, overwrite)

    from cvxpar.solvers import _gram

    def recorded_basic(M, rhs):
        orders.append(M.shape[0])
        return basic_step(M, rhs)

    cholesky, basic_step = _gram.cholesky_solve, polish._basic_step
    monkeypatch.setattr(_gram, "cholesky_solve", recorded)
    monkeypatch.setattr(polish, "_basic_step", recorded_basic)
    consistent = H @ rng.standard_normal(k)  # in the range of H
    d = _normal_step(B, consistent)
    np.testing.assert_allclose(H @ d, consistent, rtol=1e-9, atol=1e-9 * np.abs(consistent).max())
    if np.linalg.matrix_rank(H) == k:
        np.testing.assert_allclose(d, np.linalg.solve(H, consistent), rtol=1e-7, atol=1e-9)
    if density == 0.001:  # the block splits into many small components (at 0.3 % most columns form one)
        from scipy.sparse.csgraph import connected_components, maximum_bipartite_matching

        assert np.linalg.matrix_rank(H) < k
        assert max(orders, default=0) < k / 4
        # one factorization call per structurally singular component; the nonsingular ones go in batches
        _, label = connected_components(sp.csr_array(H != 0), directed=False)
        sizes = np.bincount(label)
        singular = np.unique(label[maximum_bipartite_matching(sp.csr_array(B), perm_type="row") < 0])
        multi = np.flatnonzero(sizes > 1)
        assert len(orders) <= np.intersect1d(singular, multi).size < multi.size
    # the dense block's basic step, for comparison, has the same residual (both exact)
    basic = basic_step(H, consistent)
    assert np.linalg.norm(H @ d - consistent) <= 10 * np.linalg.norm(H @ basic - consistent) + 1e-9 * np.linalg.norm(consistent)


def test_sparse_exact_step_with_a_numerically_singular_component_in_a_batch():
    """Two-column components of the same size go in one batch; one of them is structurally nonsingular but
    numerically singular (proportional columns on the same two rows), so the batch's Cholesky test fails and each
    block takes the pivoted factorization: the step still solves the consistent system H d = rhs exactly."""
    import scipy.sparse as sp

    dense = np.zeros((6, 5))
    dense[0:2, 0], dense[0:2, 1] = [1.0, 1.0], [2.0, 2.0]  # proportional: rank 1, structural rank 2
    dense[2:4, 2], dense[3:5, 3] = [1.0, 2.0], [3.0, 1.0]  # share row 3: a nonsingular 2 x 2 block
    dense[5, 4] = 2.0
    B = sp.csc_array(dense)
    H = dense.T @ dense
    rhs = H @ np.array([1.0, -1.0, 0.5, 2.0, -3.0])
    d = _normal_step(B, rhs)
    np.testing.assert_allclose(H @ d, rhs, atol=1e-12)
    np.testing.assert_allclose(d[2:], np.array([0.5, 2.0, -3.0]), atol=1e-12)
