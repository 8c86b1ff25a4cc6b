"""res.vjp / res.jvp against central finite differences of re-solved problems (cvxpar.derivatives).

Each example draws a random convex PAR problem, solves it to tol 1e-12, and checks the derivative of
<dx, x*> along a random direction of every input (A, the target, lam, breakpoints, values) against
(<dx, x*(theta + h t)> - <dx, x*(theta - h t)>) / 2h, for least squares, logistic and Huber losses,
without constraints, with a Box (and its bounds), with a Simplex (and its total) and with Linear rows
(their coefficients and right-hand sides).  Problems whose split is degenerate, or changes
within the finite-difference step, are outside the theorem and are rejected (hypothesis.assume).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from user_losses import SquaredHinge

import cvxpar
from cvxpar.constraints import Box, Linear, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic, Smooth

#: The acceptance level: relative error of the analytic directional derivative against central differences.
RTOL = 1e-6
#: Finite-difference step (the perturbations are unit-norm directions).
STEP = 1e-5
SOLVE_TOL = 1e-12
KEYS = ("A", "b", "lam", "breakpoints", "values")


class RealLabelLogistic(Logistic):
    """Logistic regression with h(z) = log(1 + exp(-y z)) extended to real y, so the target can be perturbed."""

    def validate_target(self, target) -> None:
        return None


LOSSES = {"least_squares": LeastSquares, "logistic": RealLabelLogistic, "huber": Huber}
#: Every loss without constraints and with a Box; the rows (a Simplex, an inequality) with least squares, the
#: loss cvxpar.solve handles them for (method "admm").
CASES = [(loss, cons) for loss in sorted(LOSSES) for cons in ("none", "box")] + [
    ("least_squares", "simplex"), ("least_squares", "linear"), ("least_squares", "equality")]
#: The constraint data differentiated in each case besides KEYS (rows: those of a Linear constraint).
CONSTRAINT_KEYS = {"box": ("lower", "upper"), "simplex": ("b_eq",), "linear": ("A_ub", "b_ub"),
                   "equality": ("A_eq", "b_eq", "A_ub", "b_ub")}
#: The keys vjp returns besides KEYS where they differ from CONSTRAINT_KEYS (a Simplex is x >= 0 and one row
#: of ones = total: its total is checked as "b_eq"; the row of ones is not data it takes).
RETURNED_KEYS = {"simplex": ("lower", "upper", "A_eq", "b_eq")}


def _problem(seed: int, loss_name: str, cons_name: str, per_coordinate: bool):
    rng = np.random.default_rng(seed)
    n, d = 24, 6
    A = rng.standard_normal((n, d))
    x_true = rng.uniform(-1.0, 1.0, d)
    if loss_name == "logistic":
        target = np.sign(A @ x_true + 0.5 * rng.standard_normal(n))
        target[target == 0] = 1.0
        lam_scale = 0.5
    else:
        target = A @ x_true + 0.3 * rng.standard_normal(n)
        lam_scale = 3.0
    if cons_name == "simplex":
        q = np.sort(rng.uniform(0.05, 0.4, 3)) + np.array([0.0, 0.1, 0.2])
    else:
        q = np.sort(rng.uniform(-1.2, 0.8, 3)) + np.array([0.0, 0.2, 0.4])
    slopes = np.sort(rng.uniform(-2.0, 2.0, 4))
    values = cvxpar.PAR.from_slopes(q, slopes).values
    lam = lam_scale * rng.uniform(0.5, 2.0, d) if per_coordinate else lam_scale * float(rng.uniform(0.5, 2.0))
    data = {"A": A, "b": target, "lam": lam, "breakpoints": q, "values": values}
    if cons_name == "box":  # per-coordinate bounds, part of the data (the derivative has "lower" and "upper")
        data["lower"], data["upper"] = np.full(d, -0.8), np.full(d, 0.9)
    if cons_name == "simplex":  # the total, as the right-hand side of the row of ones
        data["b_eq"] = np.array([1.0])
    if cons_name in ("linear", "equality"):  # the rows are data too ("A_ub", "b_ub", "A_eq", "b_eq")
        data["A_ub"], data["b_ub"] = rng.uniform(0.5, 1.5, (1, d)), np.array([0.0])
    if cons_name == "equality":  # one equality row and a second inequality (active or not: both are differentiated)
        data["A_eq"], data["b_eq"] = rng.standard_normal((1, d)), rng.uniform(-0.5, 0.5, 1)
        data["A_ub"] = np.vstack([data["A_ub"], rng.standard_normal((1, d))])
        data["b_ub"] = np.append(data["b_ub"], rng.uniform(0.0, 0.5))
    return data, (slopes[0], slopes[-1])


def _solve(loss_cls, data, outer):
    """Solve with the constraints the data describe (bounds: a Box; rows: a Linear; a total: a Simplex)."""
    psi = cvxpar.PAR(data["breakpoints"], data["values"], *outer)
    constraints = None
    if "lower" in data:
        constraints = Box(data["lower"], data["upper"])
    if "A_ub" in data:
        constraints = Linear(A_eq=data.get("A_eq"), b_eq=data.get("b_eq"), A_ub=data["A_ub"], b_ub=data["b_ub"])
    elif "b_eq" in data:
        constraints = Simplex(float(data["b_eq"][0]))
    return cvxpar.solve(loss_cls(data["A"], data["b"]), psi, data["lam"], constraints=constraints, tol=SOLVE_TOL)


def _split(x, data):
    """Which coordinate sits on which breakpoint or bound (-1: free): must not change within the FD step."""
    d = x.shape[0]
    bounds = [data.get("lower", np.zeros(d)), data.get("upper", np.zeros(d))]  # 0: the simplex's lower bound
    kinks = np.column_stack([np.broadcast_to(data["breakpoints"], (d, data["breakpoints"].shape[0]))] + bounds)
    dist = np.abs(x[:, None] - kinks)
    on = dist.min(axis=1) <= 1e-9 * max(1.0, np.abs(x).max())
    pattern = np.where(on, dist.argmin(axis=1), -1)
    if "A_ub" in data:  # and which inequality rows are active
        pattern = np.append(pattern, data["b_ub"] - data["A_ub"] @ x <= 1e-9 * max(1.0, np.abs(x).max()))
    return pattern


def _direction(rng, g):
    """A unit direction, half random and half along the analytic gradient g (1 for a one-entry input).

    A purely random direction in many dimensions can be nearly orthogonal to the gradient, and then the
    derivative along it is no larger than the finite-difference noise; this one keeps the derivative at the
    gradient's size while its random half still exposes an error in any component of g.
    """
    if np.size(g) == 1:
        return 1.0 if np.ndim(g) == 0 else np.ones(np.shape(g))
    r = rng.standard_normal(np.shape(g))
    r /= np.linalg.norm(r)
    norm = np.linalg.norm(g)
    t = r + (g / norm if norm > 0 else 0.0)
    return t / np.linalg.norm(t)


@settings(max_examples=3, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                 HealthCheck.filter_too_much])
@given(seed=st.integers(0, 2**32 - 1), per_coordinate=st.booleans())
@pytest.mark.parametrize("loss_name, cons_name", CASES)
def test_vjp_and_jvp_match_central_differences(loss_name, cons_name, seed, per_coordinate):
    loss_cls = LOSSES[loss_name]
    data, outer = _problem(seed, loss_name, cons_name, per_coordinate)
    res = _solve(loss_cls, data, outer)
    rng, dx, grads = _gradients_at_a_nondegenerate_point(res, "optimal", seed)
    assert set(grads) == set(KEYS + RETURNED_KEYS.get(cons_name, CONSTRAINT_KEYS.get(cons_name, ())))
    _check_central_differences(res, data, dx, grads, KEYS + CONSTRAINT_KEYS.get(cons_name, ()), rng,
                               lambda moved: _solve(loss_cls, moved, outer), "optimal")


def _gradients_at_a_nondegenerate_point(res, status: str, seed: int):
    """(rng, dx, vjp(dx)) for a random dx; the theorem needs a certified, nondegenerate point with a free
    coordinate, so any other problem is rejected (hypothesis.assume) rather than checked."""
    assume(res.status == status)
    rng = np.random.default_rng(seed + 1)
    dx = rng.standard_normal(res.x.shape[0])
    grads = res.vjp(dx)
    assume(not res.info["degenerate"])
    assume(res.info["derivative"].act.free.size > 0)
    return rng, dx, grads


def _check_central_differences(res, data, dx, grads, keys, rng, resolve, status, near=np.inf):
    """For each key: <grads[key], t> and <dx, jvp(t)> against the central difference of <dx, x*> along a
    direction t (:func:`_direction`), re-solving with ``resolve(data)``.  Perturbed problems whose split
    changes (or whose solution is farther than ``near`` from res.x: another local solution) are outside
    the theorem and rejected."""
    base_pattern = _split(res.x, data)
    for key in keys:
        t = _direction(rng, grads[key])
        values = []
        for sign in (1.0, -1.0):
            moved = dict(data)
            moved[key] = data[key] + sign * STEP * t
            r = resolve(moved)
            assert r.status == status, r
            assume(np.array_equal(_split(r.x, moved), base_pattern) and np.max(np.abs(r.x - res.x)) < near)
            values.append(dx @ r.x)
        fd = (values[0] - values[1]) / (2 * STEP)
        reverse = float(np.sum(grads[key] * t))
        forward = float(dx @ res.jvp(**{f"d{key}": t}))
        assert np.shape(grads[key]) == np.shape(data[key])
        scale = max(abs(fd), abs(reverse))
        if scale < 1e-9:  # no free coordinate depends on this input: both must vanish
            assert abs(reverse) < 1e-12 and abs(fd) < 1e-9
            continue
        assert abs(fd - reverse) <= RTOL * scale, (key, fd, reverse)
        assert abs(forward - reverse) <= 1e-10 * scale, (key, forward, reverse)


def test_fixed_coordinate_moves_with_its_breakpoint():
    data, outer = _problem(3, "least_squares", "none", False)
    data["lam"] = 30.0  # strong enough that some coordinates sit on breakpoints
    res = _solve(LeastSquares, data, outer)
    res.vjp(np.zeros(6))
    act = res.info["derivative"].act
    assert act.at_break.size > 0
    i, k = int(act.at_break[0]), int(act.brk[0])
    dq = np.zeros_like(data["breakpoints"])
    dq[k] = 1.0
    assert res.jvp(dbreakpoints=dq)[i] == 1.0
    e = np.zeros(6)
    e[i] = 1.0
    g = res.vjp(e)
    assert g["breakpoints"][k] == pytest.approx(1.0)
    assert np.all(g["A"] == 0.0) and np.all(g["b"] == 0.0) and g["lam"] == 0.0


def test_degenerate_point_is_reported():
    # one coordinate, A = 1, b = 1, psi = |x| kink at 0 with slopes -1, 1: x* = 0 exactly when lam >= 1,
    # and lam = 1 puts -grad f(0) = 1 on the edge of lam [-1, 1].
    psi = cvxpar.PAR([0.0], [0.0], -1.0, 1.0)
    res = cvxpar.solve(LeastSquares(np.ones((1, 1)), np.ones(1)), psi, 1.0, tol=1e-12)
    g = res.vjp(np.ones(1))
    assert res.info["degenerate"] == [0]
    assert g["breakpoints"][0] == 1.0  # the borderline coordinate is treated as fixed
    res2 = cvxpar.solve(LeastSquares(np.ones((1, 1)), np.ones(1)), psi, 2.0, tol=1e-12)
    res2.vjp(np.ones(1))
    assert res2.info["degenerate"] == []


def test_user_loss_without_target_derivative():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 4))
    y = np.sign(rng.standard_normal(20))
    res = cvxpar.solve(SquaredHinge(A, y), cvxpar.pars.l1([0.0]), 0.5, tol=1e-12)
    with pytest.raises(NotImplementedError, match="dh_dtarget"):
        res.vjp(np.ones(4))
    g = res.vjp(np.ones(4), wrt=("A", "lam"))
    assert set(g) == {"A", "lam"}
    with pytest.raises(NotImplementedError, match="dh_dtarget"):
        res.jvp(db=np.ones(20))


def test_bad_inputs():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((10, 3))
    b = rng.standard_normal(10)
    psi = cvxpar.pars.l1([0.0])
    res = cvxpar.solve(LeastSquares(A, b), psi, 0.1, tol=1e-10)
    with pytest.raises(ValueError, match="length d = 3"):
        res.vjp(np.ones(4))
    with pytest.raises(ValueError, match="unknown derivative keys"):
        res.vjp(np.ones(3), wrt=("C",))
    with pytest.raises(ValueError, match="shape"):
        res.jvp(dA=np.ones((3, 3)))
    with pytest.raises(ValueError, match="scalar"):
        res.jvp(dlam=np.ones(3))
    capped = cvxpar.solve(LeastSquares(A, b), psi, 0.1, method="pg", max_iter=1, polish=False)
    assert capped.status == "max_iter"
    with pytest.raises(ValueError, match="certified solution"):
        capped.vjp(np.ones(3))
    smooth = Smooth(lambda x: 0.5 * x @ x, lambda x: x, 1.0, n_features=3)
    with pytest.raises(TypeError, match="linear-model loss"):
        cvxpar.solve(smooth, psi, 0.1).vjp(np.ones(3))


def _nonconvex_problem(seed: int, per_coordinate: bool):
    """Least squares with a W-shaped (nonconvex) psi: slopes -s0 < s1 > s2 < s3 over three breakpoints."""
    rng = np.random.default_rng(seed)
    n, d = 24, 6
    A = rng.standard_normal((n, d))
    target = A @ rng.uniform(-1.0, 1.0, d) + 0.3 * rng.standard_normal(n)
    q = np.sort(rng.uniform(-1.2, 0.8, 3)) + np.array([0.0, 0.2, 0.4])
    slopes = np.array([-rng.uniform(1.0, 2.0), rng.uniform(0.2, 1.0), -rng.uniform(0.2, 1.0), rng.uniform(1.0, 2.0)])
    values = cvxpar.PAR.from_slopes(q, slopes).values
    lam = 2.0 * (rng.uniform(0.5, 2.0, d) if per_coordinate else float(rng.uniform(0.5, 2.0)))
    return {"A": A, "b": target, "lam": lam, "breakpoints": q, "values": values}, (slopes[0], slopes[-1])


@settings(max_examples=4, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                 HealthCheck.filter_too_much])
@given(seed=st.integers(0, 2**32 - 1), per_coordinate=st.booleans())
def test_vjp_at_a_nonconvex_stationary_point_matches_central_differences(seed, per_coordinate):
    """At a nondegenerate stationary point of a nonconvex problem the same reduced KKT system holds, so the
    derivative is that of the local solution branch: re-solved from x* itself, the perturbed problems stay on
    it (same split, nearby point), and their central differences must match vjp and jvp."""
    data, outer = _nonconvex_problem(seed, per_coordinate)
    assert cvxpar.PAR(data["breakpoints"], data["values"], *outer).curvature == "nonconvex"
    res = _solve(LeastSquares, data, outer)
    rng, dx, grads = _gradients_at_a_nondegenerate_point(res, "stationary", seed)

    def resolve(moved):  # from x* itself, so that the perturbed solve stays on x*'s branch
        psi = cvxpar.PAR(moved["breakpoints"], moved["values"], *outer)
        return cvxpar.solve(LeastSquares(moved["A"], moved["b"]), psi, moved["lam"], x0=res.x, tol=SOLVE_TOL)

    _check_central_differences(res, data, dx, grads, KEYS, rng, resolve, "stationary", near=1e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_vjp_matches_cvxpylayers_on_a_convex_par(seed):
    """An independent implementation: cvxpylayers differentiates the conic form of the same problem (psi as
    the max of its affine pieces, Agrawal et al. 2019) through diffcp; its gradients with respect to A, b and
    lam must agree with res.vjp to the accuracy of its conic solve."""
    cp = pytest.importorskip("cvxpy")
    torch = pytest.importorskip("torch")
    layers = pytest.importorskip("cvxpylayers.torch")
    rng = np.random.default_rng(seed)
    n, d = 20, 5
    A0 = rng.standard_normal((n, d))
    b0 = A0 @ rng.uniform(-1.0, 1.0, d) + 0.2 * rng.standard_normal(n)
    psi, lam0 = cvxpar.pars.ridge(cvxpar.grids.uniform(0.5, 5)), 2.0
    res = cvxpar.solve(LeastSquares(A0, b0), psi, lam0, tol=1e-12)
    dx = rng.standard_normal(d)
    ours = res.vjp(dx, wrt=("A", "b", "lam"))
    assert res.status == "optimal" and not res.info["degenerate"]
    A, b, lam, x = cp.Parameter((n, d)), cp.Parameter(n), cp.Parameter(nonneg=True), cp.Variable(d)
    slopes, intercepts = psi.max_affine()
    penalty = cp.sum(cp.maximum(*[a * x + c for a, c in zip(slopes, intercepts, strict=True)]))
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam * penalty))
    layer = layers.CvxpyLayer(problem, parameters=[A, b, lam], variables=[x])
    inputs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (A0, b0, lam0)]
    sol, = layer(*inputs, solver_args={"eps": 1e-12, "max_iters": 100_000})
    np.testing.assert_allclose(sol.detach().numpy(), res.x, atol=1e-9)
    sol.backward(torch.tensor(dx))
    for key, t in zip(("A", "b", "lam"), inputs, strict=True):
        theirs = t.grad.numpy()
        assert np.max(np.abs(theirs - ours[key])) <= 1e-5 * max(1.0, np.max(np.abs(ours[key]))), key
