"""The local search of a nonconvex psi (cvxpar.solvers.local_search): its quadratic upper models, its
descent on a non-quadratic loss (converged inside the grid cells it ends in, with bounded work) and its
grid cells."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cvxpar
from cvxpar import grids, pars
from cvxpar.losses import Huber, LeastSquares, Logistic
from cvxpar.solvers import local_search
from cvxpar.solvers._problem import Problem
from cvxpar.solvers.local_search import LocalModel, sharp_curvatures


def _losses():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 3))
    b = 3.0 * rng.standard_normal(40)
    return [Huber(A, b, M=0.7), Huber(A, b, M=50.0), Logistic(A, np.sign(b))]


@pytest.mark.parametrize("loss", _losses(), ids=["huber", "huber-wide", "logistic"])
def test_sharp_curvatures_give_an_upper_bound_touching_at_the_point(loss):
    # h_i(z) <= h_i(z0) + h_i'(z0) (z - z0) + c_i/2 (z - z0)^2 on a fine grid of z, with c_i <= smoothness
    z0 = loss.op.A @ np.array([1.0, -2.0, 0.5]) * 2.0
    c = sharp_curvatures(loss, z0)
    assert c.shape == z0.shape and np.all(c > 0) and np.all(c <= loss.smoothness)
    h0, g0 = loss.h(z0), loss.dh(z0)
    for t in np.linspace(-30.0, 30.0, 1201):
        z = z0 + t
        bound = h0 + g0 * t + 0.5 * c * t * t
        assert np.all(loss.h(z) <= bound + 1e-12 * (1.0 + np.abs(bound)))
    # below the constant model exactly where h is not at its largest curvature (a Huber residual beyond M, a
    # logistic margin away from 0)
    far = np.abs(z0 - loss.target) > loss.M if isinstance(loss, Huber) else np.abs(z0) > 1e-3
    assert np.all(c[far] < loss.smoothness) and np.all(c[~far] > (1 - 1e-6) * loss.smoothness)


def test_sharp_curvatures_are_none_for_other_losses():
    assert sharp_curvatures(LeastSquares(np.eye(2), np.ones(2)), np.zeros(2)) is None


def _ill_conditioned_huber(seed: int, n: int = 8, d: int = 20, spread: float = 2.0, M: float = 0.01):
    rng = np.random.default_rng([seed, 18])
    A = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-spread, spread, d)
    b = A @ rng.uniform(-1.5, 1.5, d) + 0.1 * rng.standard_normal(n) * np.abs(A).max()
    return A, b, M, rng


def _cell_minimum(A, b, M, psi, lam, x) -> float:
    """min F over the closure of x's cells (each x_i's open interval between consecutive breakpoints of psi,
    where psi is affine, or the breakpoint x_i sits on), by CVXPY + Clarabel."""
    q = psi.breakpoints
    d = x.size
    lo, hi, slope, offset = np.empty(d), np.empty(d), np.empty(d), np.empty(d)
    for i, xi in enumerate(x):
        k = int(np.searchsorted(q, xi))
        if k < q.size and q[k] == xi:
            lo[i] = hi[i] = xi
            slope[i], offset[i] = 0.0, float(psi(np.array([xi]))[0])
            continue
        lo[i] = q[k - 1] if k > 0 else -np.inf
        hi[i] = q[k] if k < q.size else np.inf
        slope[i] = psi.left_slope if k == 0 else psi.right_slope if k == q.size else (
            (psi.values[k] - psi.values[k - 1]) / (q[k] - q[k - 1]))
        anchor = q[k] if k < q.size else q[-1]
        offset[i] = float(psi(np.array([anchor]))[0]) - slope[i] * anchor
    z = cp.Variable(d)
    cons = [z[i] >= lo[i] for i in range(d) if np.isfinite(lo[i])]
    cons += [z[i] <= hi[i] for i in range(d) if np.isfinite(hi[i])]
    objective = 0.5 * cp.sum(cp.huber(A @ z - b, M)) + lam * (slope @ z + offset.sum())
    prob = cp.Problem(cp.Minimize(objective), cons)
    prob.solve(solver=cp.CLARABEL)
    assert prob.status == "optimal"
    return float(prob.value)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("family", ["mcp", "sawtooth"])
def test_descent_on_huber_converges_inside_its_cells(seed, family):
    # the majorize-minimize rounds end at (close to) the minimum of F over the cells of psi they end in
    # (psi is affine there, so that is a convex problem: CVXPY + Clarabel)
    A, b, M, rng = _ill_conditioned_huber(seed)
    psi = pars.mcp(grids.uniform(0.5, 9), gamma=1.0) if family == "mcp" else pars.sawtooth(grids.uniform(0.25, 9))
    lam = 0.05 * float(np.abs(A).max())
    prob = Problem(Huber(A, b, M=M), psi, lam, None)
    x0 = rng.uniform(-1.0, 1.0, A.shape[1])
    x = LocalModel.of(prob).descend(x0)
    F = prob.objective(x)
    assert F < prob.objective(x0)
    assert F <= _cell_minimum(A, b, M, psi, lam, x) + 1e-6 * abs(F)


def test_step_doubling_is_clipped_to_the_bounds():
    # F falls along the step well past the box: the doubled steps stop on its wall
    prob = Problem(Huber(np.eye(3), np.full(3, 5.0)), pars.sawtooth(grids.uniform(0.25, 9)), 1e-3,
                   cvxpar.constraints.Box(-1.0, 1.0))
    model = LocalModel.of(prob)
    x, y = np.zeros(3), np.full(3, 0.01)
    z, F = model._extrapolate(x, y, prob.objective(y))
    assert np.all(np.abs(z) <= 1.0) and np.allclose(z, 1.0)
    assert F == prob.objective(z) < prob.objective(y)


class _Work:
    """Counts the local search's rounds (calls of its numba kernel), those with kick-and-repair moves, and its
    kick-and-repair scans (each about 2 NEIGHBOURS REPAIR_SWEEPS d^3 flops)."""

    def __init__(self, monkeypatch) -> None:
        self.rounds = self.searches = self.scans = 0
        kernel = local_search._descend

        def counted(*args):
            self.rounds += 1
            self.searches += bool(args[10])
            out = kernel(*args)
            self.scans += out[1]
            return out

        monkeypatch.setattr(local_search, "_descend", counted)


@pytest.mark.parametrize("family", ["mcp", "sawtooth"])
def test_solve_on_ill_conditioned_huber_bounds_the_search_work(family, monkeypatch):
    # columns over 1e-4 .. 1e4 and residuals beyond M, as in the fuzz suite's wide Huber cases: with the
    # constant-curvature model every round of moves lowered F a little, and rounds of kick-and-repair scans
    # (each accepting hundreds of tiny kicks that only continued the unfinished sweeps) ran until 100 rounds
    # per descent, minutes per solve.  The search work of the whole solve must stay a small multiple of d.
    A, b, M, _ = _ill_conditioned_huber(1, n=8, d=30, spread=4.0)
    psi = pars.mcp(grids.uniform(0.5, 9), gamma=1.0) if family == "mcp" else pars.sawtooth(grids.uniform(0.25, 9))
    work = _Work(monkeypatch)
    descents = []
    descend = LocalModel.descend
    monkeypatch.setattr(LocalModel, "descend", lambda self, *a, **k: descents.append(1) or descend(self, *a, **k))
    res = cvxpar.solve(Huber(A, b, M=M), psi, 0.1)
    assert res.status in ("stationary", "max_iter")  # the local solver's verdict on this data, not the search's
    assert work.searches <= local_search.KICK_ROUNDS * len(descents), (work.searches, len(descents))
    assert work.scans <= 40 * A.shape[1], work.scans
    assert work.rounds <= local_search.ROUNDS_MAX * len(descents), work.rounds


def test_cells_by_binary_search_match_a_direct_count():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 7))
    prob = Problem(Huber(A, rng.standard_normal(5)), pars.sawtooth(grids.uniform(0.25, 9)), 0.1,
                   cvxpar.constraints.Box(np.full(7, -0.6), np.linspace(0.3, 2.0, 7)))
    model = LocalModel.of(prob)
    for x in (rng.uniform(-1.5, 1.5, 7), model.grid[np.arange(7), rng.integers(0, model.gcnt)]):
        want = [2 * int(np.sum(model.grid[i, : model.gcnt[i]] < x[i]))
                + int(np.any(model.grid[i, : model.gcnt[i]] == x[i])) for i in range(7)]
        assert model.cells(x).tolist() == want


def _rows_instance(seed: int, kind: str, d: int = 6):
    from cvxpar.constraints import Linear, NonNeg, Simplex

    rng = np.random.default_rng([seed, 5])
    A = rng.standard_normal((4, d))
    b = A @ rng.uniform(-1, 1, d) + 0.3 * rng.standard_normal(4)
    if kind == "inequalities":
        G = rng.standard_normal((2, d))
        cons = Linear(A_ub=G, b_ub=np.abs(G).sum(1) * 0.05)
    elif kind == "equality":
        cons = Linear(A_eq=rng.standard_normal((1, d)), b_eq=[0.3])
    elif kind == "budget":
        cons = [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.2 * d])]
    else:
        cons = Simplex()
    return Problem(LeastSquares(A, b), pars.sawtooth(grids.uniform(0.25, 9)), 1.5, cons)


def _merit_on_axis(prob, model, x, j, ts):
    """F + the rows' penalty at x with x_j = t, for every t in ts (by definition, not by the kernel)."""
    Z = np.repeat(x[None, :], len(ts), axis=0)
    Z[:, j] = ts
    A, b = prob.loss.op.A, prob.loss.target
    F = 0.5 * np.sum((Z @ A.T - b) ** 2, axis=1) + prob.lam * np.sum(prob.psi(Z), axis=1)
    V = Z @ model.R.T - model.h
    pen = np.abs(V[:, : model.neq]) @ model.mu[: model.neq] + np.maximum(V[:, model.neq:], 0.0) @ model.mu[model.neq:]
    return F + pen


@pytest.mark.parametrize("kind", ["inequalities", "equality", "budget", "simplex"])
def test_a_coordinate_move_with_rows_is_the_exact_axis_minimum_of_the_merit(kind):
    # the kernel's move along each axis against a brute-force minimum of F + penalty on a fine grid plus psi's
    # breakpoints and the rows' kinks, from a point off every row
    prob = _rows_instance(1, kind)
    model = LocalModel.of(prob)
    rng = np.random.default_rng(2)
    lo, hi = prob.bounds_np()
    x = np.clip(rng.uniform(-0.8, 0.8, prob.d), lo, hi)
    model.weigh_rows(x)
    R, v, mu, neq = model._rows(x)
    g = model.gradient(x)
    assert np.all(mu > 0) and R.shape[0] >= 1
    for j in range(prob.d):
        xn, change = local_search._coordinate_move(j, x.copy(), g.copy(), model.G, model.lam, model.P, model.cnt,
                                                   model.grp, R, v.copy(), mu, neq)
        kinks = [x[j] - v[r] / R[r, j] for r in range(R.shape[0]) if R[r, j] != 0]
        span = np.array([max(lo[j], -3.0), min(hi[j], 3.0)])
        ts = np.concatenate([np.linspace(*span, 6001), prob.psi.breakpoints, kinks])
        ts = ts[(ts >= span[0]) & (ts <= span[1])]
        brute = _merit_on_axis(prob, model, x, j, ts)
        here = _merit_on_axis(prob, model, x, j, [x[j]])[0]
        got = _merit_on_axis(prob, model, x, j, [xn])[0]
        assert got == pytest.approx(here + change, rel=1e-9, abs=1e-9)  # the reported change is the true one
        assert got <= brute.min() + 1e-9 * (1 + abs(here)), (kind, j)


@pytest.mark.parametrize("kind", ["inequalities", "equality", "budget", "simplex"])
def test_the_local_search_with_rows_stays_on_the_rows_and_descends(kind):
    # from a point on the rows, the search's point is on them too (to rounding) and its objective is lower
    from cvxpar.solvers.local_search import refine

    prob = _rows_instance(3, kind)
    start = prob.feasible.find_point(*prob.bounds_np())
    assert prob.feasible.violation(start) <= 1e-12
    x, improved = refine(prob, start, rounds=5, seed=0)
    assert improved and prob.objective(x) < prob.objective(start)
    assert prob.feasible.violation(x) <= 1e-12 * max(1.0, float(np.abs(x).max()))
