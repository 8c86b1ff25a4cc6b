"""The breadth sweep's second instance set (``breadth_sweep.py --set fresh``): classes and parameters the first
set does not have, generated once from their own seed and not tuned against.

What is new against the first set: equality rows with a Box, Simplex with logistic and Huber losses, logistic
with inequality rows, Huber with an asymmetric Box, row-scaled (weighted) least squares, non-uniform grids
(``grids.bits`` without 0, log-spaced levels, an asymmetric grid, an unsigned integer grid), the l1-approximating
and PARQ (hard-walled) families, a quasiconvex staircase (against the exact MIQP of ``cvxpar.reference``),
square and nearly square designs at d = 150..500, duplicated and collinear columns, an unpenalized intercept
column (per-coordinate lam with a zero), tall designs with constraints, an infeasible constraint set, and
CVXPY-bridge rows (``problem.solve(method="cvxpar")`` with a ``cp.Parameter`` lam re-solved 10 times, and
``cp.Parameter`` bounds re-solved 5 times).

Clarabel solves the model a user writes by hand (:func:`clarabel_model`): the loss's CVXPY form, psi as the max
of its affine pieces times per-coordinate weights, psi's domain (hard walls) and the constraints as CVXPY
constraints.  The bridge rows solve one CVXPY problem (with ``cvxpar.par``) both ways.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

import cvxpar
from cvxpar import grids, pars
from cvxpar.constraints import Box, FeasibleSet, Linear, NonNeg, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic

SEED = 20261205  # drawn once for this set; never changed to make a row pass


@dataclass
class Instance:
    """One row: minimize loss(x) + sum_i lam_i psi(x_i) over x in cons; ``exact``: compare with the MIQP."""

    cls: str
    params: str
    loss: object
    psi: object
    lam: float | np.ndarray
    cons: object = None
    exact: bool = False


@dataclass
class BridgeCase:
    """One CVXPY problem re-solved for each value set: ``values`` is a list of {Parameter: value}."""

    cls: str
    params: str
    problem: cp.Problem
    x: cp.Variable
    values: list = field(default_factory=list)


def clarabel_model(loss, psi, lam, cons) -> tuple[cp.Problem, cp.Variable]:
    """The CVXPY model a user writes: loss.cvxpy(A x) + sum_i lam_i max_k(a_k x_i + b_k), psi's domain, C."""
    x = cp.Variable(loss.n_features)
    slopes, intercepts = psi.max_affine()
    pieces = cp.max(cp.vstack([a * x + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0)
    lam = np.broadcast_to(np.asarray(lam, dtype=float), (loss.n_features,))
    constraints = FeasibleSet(cons, loss.n_features).cvxpy(x)
    lo, hi = psi.domain
    if np.isfinite(lo):
        constraints.append(x >= lo)
    if np.isfinite(hi):
        constraints.append(x <= hi)
    return cp.Problem(cp.Minimize(loss.cvxpy(loss.op.A @ x) + lam @ pieces), constraints), x


def _gauss(rng, n, d):
    return rng.standard_normal((n, d))


def _ls(rng, A, grid, noise=0.1):
    x = rng.choice(grid, A.shape[1])
    return LeastSquares(A, A @ x + noise * rng.standard_normal(A.shape[0])), x


def _labels(rng, z, noise=0.3):
    return np.where(z + noise * rng.standard_normal(z.size) > 0, 1.0, -1.0)


def _huber_target(rng, z, frac=0.1):
    t = z + 0.1 * rng.standard_normal(z.size)
    out = rng.random(z.size) < frac
    t[out] += 5 * rng.standard_normal(int(out.sum()))
    return t


def instances() -> Iterator[Instance]:
    """The fresh set, in a fixed order (every instance is drawn from one generator)."""
    rng = np.random.default_rng(SEED)
    g9 = grids.uniform(0.25, 9)
    g7 = grids.uniform(0.5, 7)

    # equality rows with a Box (the planted x satisfies both)
    for n, d, m in ((150, 400, 3), (4000, 120, 2)):
        A = _gauss(rng, n, d)
        loss, x = _ls(rng, A, g9[2:-2])
        E = rng.standard_normal((m, d))
        for lam_f in (0.01, 0.2):
            yield Instance("Box + equality rows", f"{n}x{d} {m} eq lam={lam_f}n", loss, pars.ridge(g9), lam_f * n,
                           [Box(-0.6, 0.6), Linear(A_eq=E, b_eq=E @ x)])

    # Simplex with logistic and Huber losses (grid on [0, 1])
    g01 = grids.uniform(0.1, 11, center=0.5)
    for n, d in ((200, 300),):
        A = _gauss(rng, n, d)
        w = rng.dirichlet(0.3 * np.ones(d))
        z = A @ w * np.sqrt(d)
        for lam_f in (0.01, 0.1):
            yield Instance("Simplex logistic", f"{n}x{d} lam={lam_f}n", Logistic(A, _labels(rng, z)), pars.ridge(g01),
                           lam_f * n, Simplex(1.0))
            yield Instance("Simplex Huber", f"{n}x{d} M=0.5 lam={lam_f}n", Huber(A, _huber_target(rng, A @ w), M=0.5),
                           pars.ridge(g01), lam_f * n, Simplex(1.0))

    # logistic with inequality rows (active at the planted point)
    n, d = 300, 400
    A = _gauss(rng, n, d) / np.sqrt(d)
    x = rng.choice(g7, d)
    G = rng.standard_normal((4, d))
    for lam_f in (0.003, 0.05):
        yield Instance("logistic + ineq rows", f"{n}x{d} 4 rows lam={lam_f}n", Logistic(A, _labels(rng, A @ x)),
                       pars.ridge(g7), lam_f * n, Linear(A_ub=G, b_ub=G @ x - 2.0))

    # Huber with an asymmetric Box
    n, d = 250, 400
    A = _gauss(rng, n, d) / np.sqrt(d)
    x = rng.choice(g9, d)
    for M, lam_f in ((1.0, 0.005), (1.0, 0.1), (0.05, 0.02)):
        yield Instance("Huber Box", f"{n}x{d} M={M} [-0.4, 0.7] lam={lam_f}n", Huber(A, _huber_target(rng, A @ x), M=M),
                       pars.ridge(g9), lam_f * n, Box(-0.4, 0.7))

    # weighted least squares: rows scaled by 10^U(-2, 2)
    n, d = 500, 300
    A = _gauss(rng, n, d)
    x = rng.choice(g7, d)
    b = A @ x + 0.1 * rng.standard_normal(n)
    w = 10.0 ** rng.uniform(-2, 2, n)
    for lam_f in (0.001, 0.05):
        yield Instance("row-scaled LS", f"{n}x{d} weights 1e-2..1e2 lam={lam_f}n", LeastSquares(w[:, None] * A, w * b),
                       pars.ridge(g7), lam_f * n, None)

    # non-uniform grids
    n, d = 120, 400
    logq = np.array([0.01, 0.03, 0.1, 0.3, 1.0])
    for name, grid in (("bits(3) no 0", grids.bits(3, 0.25)),
                       ("log-spaced +-0.01..1", np.concatenate((-logq[::-1], [0.0], logq))),
                       ("asymmetric", np.array([-0.3, 0.0, 0.2, 0.9, 2.5])),
                       ("integer(3) unsigned", grids.integer(3, 0.2, signed=False))):
        A = _gauss(rng, n, d)
        loss, _ = _ls(rng, A, grid)
        for lam_f in (0.005, 0.1):
            yield Instance("non-uniform grid", f"{name} lam={lam_f}n", loss, pars.ridge(grid), lam_f * n, None)

    # the l1-approximating and PARQ families
    n, d = 150, 500
    A = _gauss(rng, n, d)
    loss, _ = _ls(rng, A, g7)
    for eps, grid in ((0.1, g7), (0.5, grids.bits(2, 0.4))):
        for lam_f in (0.01, 0.2):
            yield Instance("l1 family", f"eps={eps} {grid.size} pts lam={lam_f}n", loss, pars.l1(grid, eps), lam_f * n, None)
    gq = grids.bits(2, 0.5)
    for lam_f in (0.002, 0.05):
        yield Instance("PARQ (walls)", f"LS bits(2) lam={lam_f}n", loss, pars.parq(gq), lam_f * n, None)
    Al = _gauss(rng, 300, d) / np.sqrt(d)
    yield Instance("PARQ (walls)", "logistic 300x500 lam=0.01n", Logistic(Al, _labels(rng, Al @ rng.choice(gq, d))),
                   pars.parq(gq), 3.0, None)

    # square and nearly square, d in 150..500
    for n, d in ((150, 150), (200, 200), (190, 200), (300, 300), (480, 500)):
        A = _gauss(rng, n, d)
        loss, _ = _ls(rng, A, g7)
        for lam_f in (0.001, 0.05):
            yield Instance("square / n < d", f"{n}x{d} lam={lam_f}n", loss, pars.ridge(g7), lam_f * n, None)

    # duplicated and collinear columns
    n, d = 150, 300
    A = _gauss(rng, n, d)
    A[:, 1:40:2] = A[:, 0:40:2]                      # 20 exact duplicates
    A[:, 40:50] = A[:, 50:60] + A[:, 60:70]         # 10 exact sums of two others
    loss, x = _ls(rng, A, g7)
    for lam_f in (0.001, 0.05):
        yield Instance("duplicated columns", f"LS {n}x{d} lam={lam_f}n", loss, pars.ridge(g7), lam_f * n, None)
    As = A / np.sqrt(d)
    yield Instance("duplicated columns", f"Huber {n}x{d} lam=0.01n", Huber(As, _huber_target(rng, As @ x), M=0.2),
                   pars.ridge(g7), 0.01 * n, None)

    # an unpenalized intercept column (lam_0 = 0)
    for n, d in ((200, 300), (2000, 200)):
        A = _gauss(rng, n, d)
        A[:, 0] = 1.0
        x = rng.choice(g7, d)
        x[0] = 3.7
        lam = np.full(d, 0.02 * n)
        lam[0] = 0.0
        yield Instance("intercept column", f"LS {n}x{d} lam=0.02n, 0 on it", LeastSquares(A, A @ x + 0.1 * rng.standard_normal(n)),
                       pars.ridge(g7), lam, None)
        As = A / np.sqrt(d)
        As[:, 0] = 1.0
        yield Instance("intercept column", f"logistic {n}x{d} lam=0.02n, 0 on it", Logistic(As, _labels(rng, As @ x - 3.5)),
                       pars.ridge(g7), lam, None)

    # tall with constraints
    A = _gauss(rng, 20000, 60)
    loss, _ = _ls(rng, A, g01)
    yield Instance("tall + constraints", "LS 20000x60 Simplex lam=0.001n", loss, pars.ridge(g01), 20.0, Simplex(1.0))
    A = _gauss(rng, 10000, 100)
    loss, x = _ls(rng, A, g7)
    G = rng.standard_normal((3, 100))
    yield Instance("tall + constraints", "LS 10000x100 3 ineq rows lam=0.01n", loss, pars.ridge(g7), 100.0,
                   Linear(A_ub=G, b_ub=G @ x - 1.0))
    A = _gauss(rng, 8000, 80) / np.sqrt(80)
    x = rng.choice(g9, 80)
    yield Instance("tall + constraints", "Huber 8000x80 Box lam=0.01n", Huber(A, _huber_target(rng, A @ x), M=0.3),
                   pars.ridge(g9), 80.0, Box(-0.5, 0.5))
    yield Instance("tall + constraints", "logistic 8000x80 x>=0 lam=0.001n", Logistic(A, _labels(rng, A @ x)),
                   pars.ridge(g9), 8.0, NonNeg())

    # an infeasible constraint set: x >= 0.2 and sum(x) = 0.1 d
    n, d = 100, 200
    A = _gauss(rng, n, d)
    loss, _ = _ls(rng, A, g7)
    yield Instance("infeasible", f"LS {n}x{d} Box[0.2,1] + sum=0.1d", loss, pars.ridge(g7), 1.0,
                   [Box(0.2, 1.0), Linear(A_eq=np.ones((1, d)), b_eq=[0.1 * d])])

    yield from _random_combinations(rng, 30)

    # quasiconvex staircase against the exact MIQP
    A = _gauss(rng, 40, 20)
    loss, _ = _ls(rng, A, grids.uniform(0.5, 5))
    yield Instance("quasiconvex staircase", "LS 40x20 lam=0.5 (vs MIQP)", loss, pars.staircase(grids.uniform(0.5, 5)),
                   0.5, None, exact=True)


def _random_combinations(rng, count: int) -> Iterator[Instance]:
    """``count`` small problems, each a random loss x PAR family x grid x constraint set x shape x lam (per-coordinate
    for some); the constraints hold at a planted point, except where psi's walls miss them (then both solvers
    should say infeasible)."""
    logq = np.array([0.02, 0.1, 0.5])
    grid_makers = {
        "uniform 5": lambda: grids.uniform(0.4, 5),
        "bits(2) no 0": lambda: grids.bits(2, 0.3),
        "log-spaced": lambda: np.concatenate((-logq[::-1], [0.0], logq)),
        "asymmetric": lambda: np.array([-0.7, -0.1, 0.0, 0.4, 1.3]),
        "integer(2) unsigned": lambda: grids.integer(2, 0.3, signed=False),
    }
    for k in range(count):
        n, d = int(rng.integers(5, 300)), int(rng.integers(5, 120))
        gname = list(grid_makers)[rng.integers(len(grid_makers))]
        grid = grid_makers[gname]()
        family = ("ridge", "l1", "parq")[rng.integers(3)]
        psi = {"ridge": pars.ridge, "l1": pars.l1, "parq": pars.parq}[family](grid)
        A = rng.standard_normal((n, d))
        x = rng.choice(grid, d) * (rng.random(d) < 0.7)
        lname = ("LS", "row-scaled LS", "logistic", "Huber")[rng.integers(4)]
        if lname == "LS":
            loss = LeastSquares(A, A @ x + 0.1 * rng.standard_normal(n))
        elif lname == "row-scaled LS":
            w = 10.0 ** rng.uniform(-1.5, 1.5, n)
            loss = LeastSquares(w[:, None] * A, w * (A @ x + 0.1 * rng.standard_normal(n)))
        elif lname == "logistic":
            A /= np.sqrt(d)
            loss = Logistic(A, _labels(rng, A @ x * 3))
        else:
            A /= np.sqrt(d)
            loss = Huber(A, _huber_target(rng, A @ x), M=float(10.0 ** rng.uniform(-2, 0.5)))
        cname = ("none", "Box", "NonNeg", "Simplex", "eq rows + Box", "ineq rows", "budget")[rng.integers(7)]
        lo, hi = float(rng.uniform(-1.0, 0.0)), float(rng.uniform(0.2, 1.5))
        m = int(rng.integers(1, 4))
        E = rng.standard_normal((m, d))
        xc = np.clip(x, lo, hi)
        cons = {"none": None, "Box": Box(lo, hi), "NonNeg": NonNeg(), "Simplex": Simplex(float(rng.uniform(0.5, 3.0))),
                "eq rows + Box": [Box(lo, hi), Linear(A_eq=E, b_eq=E @ xc)],
                "ineq rows": Linear(A_ub=E, b_ub=E @ x - rng.uniform(-1.0, 1.0, m)),
                "budget": [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[float(rng.uniform(0.05, 0.5)) * d])]}[cname]
        lam = float(10.0 ** rng.uniform(-3, 0)) * n
        if rng.random() < 0.3:
            lam = lam * rng.uniform(0.0, 2.0, d) * (rng.random(d) < 0.9)
        tag = "lam_i" if np.ndim(lam) else f"lam={lam / n:.2g}n"
        yield Instance("random combination", f"#{k} {lname} {n}x{d} {family} {gname} {cname} {tag}", loss, psi, lam, cons)


def bridge_cases() -> Iterator[BridgeCase]:
    """CVXPY problems with Parameters, each re-solved for a list of parameter values."""
    rng = np.random.default_rng(SEED + 1)
    g7 = grids.uniform(0.5, 7)
    for n, d in ((150, 300), (600, 200)):
        A = rng.standard_normal((n, d))
        b = A @ rng.choice(g7, d) + 0.1 * rng.standard_normal(n)
        x = cp.Variable(d)
        lam = cp.Parameter(nonneg=True)
        prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + lam * cp.sum(cvxpar.par(x, pars.ridge(g7)))))
        yield BridgeCase("bridge lam sweep", f"LS {n}x{d} 10 lam 1e-3n..1n", prob, x,
                         [{lam: v} for v in np.geomspace(1e-3, 1.0, 10) * n])
    n, d = 300, 300
    A = rng.standard_normal((n, d)) / np.sqrt(d)
    y = _labels(rng, A @ rng.choice(g7, d))
    x = cp.Variable(d)
    lam = cp.Parameter(nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(y, A @ x))) + lam * cp.sum(cvxpar.par(x, pars.ridge(g7)))),
                      [x >= -1.0, x <= 1.0])
    yield BridgeCase("bridge lam sweep", f"logistic {n}x{d} Box 10 lam 1e-3n..0.3n", prob, x,
                     [{lam: v} for v in np.geomspace(1e-3, 0.3, 10) * n])
    n, d = 200, 250
    A = rng.standard_normal((n, d))
    b = A @ rng.choice(g7, d) + 0.1 * rng.standard_normal(n)
    x = cp.Variable(d)
    lo, hi = cp.Parameter(d), cp.Parameter(d)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b) + 0.02 * n * cp.sum(cvxpar.par(x, pars.ridge(g7)))),
                      [x >= lo, x <= hi])
    values = []
    for _ in range(5):
        c = rng.uniform(-1.0, 1.0, d)
        r = rng.uniform(0.1, 1.0, d)
        values.append({lo: c - r, hi: c + r})
    yield BridgeCase("bridge Parameter bounds", f"LS {n}x{d} 5 random boxes", prob, x, values)


def solve_bridge(case: BridgeCase, **solve_kw) -> tuple[float, list, list]:
    """CPU time of re-solving ``case.problem`` for every value set, and the statuses and objectives."""
    statuses, values = [], []
    t0 = time.process_time()
    for vals in case.values:
        for p, v in vals.items():
            p.value = v
        case.problem.solve(**solve_kw)
        statuses.append(case.problem.status)
        values.append(case.problem.value)
    return time.process_time() - t0, statuses, values
