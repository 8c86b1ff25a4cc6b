"""res.vjp / res.jvp against central finite differences of re-solved problems (cvxpar.derivatives).

Each example draws a random convex PAR problem, solves it to tol 1e-12, and checks the derivative of
<dx, x*> along a random direction of every input (A, the target, lam, breakpoints, values) against
(<dx, x*(theta + h t)> - <dx, x*(theta - h t)>) / 2h, for least squares, logistic and Huber losses,
without constraints, with a Box and with a Simplex.  Problems whose split is degenerate, or changes
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
    ("least_squares", "simplex"), ("least_squares", "linear")]


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
        constraints = Simplex(1.0)
    else:
        q = np.sort(rng.uniform(-1.2, 0.8, 3)) + np.array([0.0, 0.2, 0.4])
        constraints = {"none": None, "box": None,
                       "linear": Linear(A_ub=rng.uniform(0.5, 1.5, (1, d)), b_ub=[0.0])}[cons_name]
    slopes = np.sort(rng.uniform(-2.0, 2.0, 4))
    values = cvxpar.PAR.from_slopes(q, slopes).values
    lam = lam_scale * rng.uniform(0.5, 2.0, d) if per_coordinate else lam_scale * float(rng.uniform(0.5, 2.0))
    data = {"A": A, "b": target, "lam": lam, "breakpoints": q, "values": values}
    if cons_name == "box":  # per-coordinate bounds, part of the data (the derivative has "lower" and "upper")
        data["lower"], data["upper"] = np.full(d, -0.8), np.full(d, 0.9)
    return data, (slopes[0], slopes[-1]), constraints


def _solve(loss_cls, data, outer, constraints):
    psi = cvxpar.PAR(data["breakpoints"], data["values"], *outer)
    if "lower" in data:
        constraints = Box(data["lower"], data["upper"])
    return cvxpar.solve(loss_cls(data["A"], data["b"]), psi, data["lam"], constraints=constraints, tol=SOLVE_TOL)


def _split(x, data):
    """Which coordinate sits on which breakpoint or bound (-1: free): must not change within the FD step."""
    d = x.shape[0]
    bounds = [data.get("lower", np.zeros(d)), data.get("upper", np.zeros(d))]  # 0: the simplex's lower bound
    kinks = np.column_stack([np.broadcast_to(data["breakpoints"], (d, data["breakpoints"].shape[0]))] + bounds)
    dist = np.abs(x[:, None] - kinks)
    on = dist.min(axis=1) <= 1e-9 * max(1.0, np.abs(x).max())
    return np.where(on, dist.argmin(axis=1), -1)


@settings(max_examples=3, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                 HealthCheck.filter_too_much])
@given(seed=st.integers(0, 2**32 - 1), per_coordinate=st.booleans())
@pytest.mark.parametrize("loss_name, cons_name", CASES)
def test_vjp_and_jvp_match_central_differences(loss_name, cons_name, seed, per_coordinate):
    loss_cls = LOSSES[loss_name]
    data, outer, constraints = _problem(seed, loss_name, cons_name, per_coordinate)
    res = _solve(loss_cls, data, outer, constraints)
    # the theorem needs a certified solution; a problem the solver leaves uncertified is not a derivative case
    assume(res.status == "optimal")
    rng = np.random.default_rng(seed + 1)
    dx = rng.standard_normal(res.x.shape[0])
    grads = res.vjp(dx)
    assume(not res.info["degenerate"])
    act = res.info["derivative"].act
    assume(act.free.size > 0)
    base_pattern = _split(res.x, data)
    for key in KEYS + (("lower", "upper") if cons_name == "box" else ()):
        t = rng.standard_normal(np.shape(data[key]))
        t = t / np.linalg.norm(t) if np.ndim(t) else 1.0
        values = []
        for sign in (1.0, -1.0):
            moved = dict(data)
            moved[key] = data[key] + sign * STEP * t
            r = _solve(loss_cls, moved, outer, constraints)
            assert r.status == "optimal", r
            assume(np.array_equal(_split(r.x, moved), base_pattern))
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
    data, outer, _ = _problem(3, "least_squares", "none", False)
    data["lam"] = 30.0  # strong enough that some coordinates sit on breakpoints
    res = _solve(LeastSquares, data, outer, None)
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
