"""Breadth: one problem per class users bring, cvxpar (``method="auto"``, tol 1e-8) against CVXPY + Clarabel.

Each class is built with its own generator (Gaussian or AR(1) designs, quantized ground truth, noise), and
the CVXPY model is the one a user writes by hand: the loss's CVXPY form (``loss.cvxpy(A @ x)``), psi as
the max of its affine pieces, the constraints' CVXPY forms.  Both run in the same process, one after the
other; cvxpar's time is the median of ``REPEATS`` runs after one warm-up (numba compilation excluded),
Clarabel's a single run (its compile time included, as a user sees it).  "rel. diff" is
(F_cvxpar - F_clarabel) / |F_clarabel| (negative: cvxpar found the lower objective).  Run with one BLAS
thread (``OPENBLAS_NUM_THREADS=1``) to compare like with like.
"""

from __future__ import annotations

import os
import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

import cvxpar
from cvxpar import grids, pars
from cvxpar.bench._table import Table, median_time
from cvxpar.constraints import Box, FeasibleSet, Linear, NonNeg, Simplex
from cvxpar.losses import Huber, LeastSquares, Logistic

REPEATS = 3


def _design(rng, n, d, rho=0.0):
    A = rng.standard_normal((n, d))
    if rho:
        for j in range(1, d):  # AR(1) columns: corr(a_i, a_j) = rho^|i-j|
            A[:, j] = rho * A[:, j - 1] + np.sqrt(1 - rho**2) * A[:, j]
    return A


def _classes(size: str):
    s = size == "full"
    rng = np.random.default_rng(0)

    def ls(n, d, levels, step, rho=0.0, cons=None, lam=None, psi_kind="ridge"):
        A = _design(rng, n, d, rho)
        grid = grids.uniform(step, levels)
        x = rng.choice(grid, d)
        b = A @ x + 0.1 * rng.standard_normal(n)
        psi = pars.ridge(grid) if psi_kind == "ridge" else pars.l1(grid)
        return LeastSquares(A, b), psi, lam if lam is not None else 0.05 * n, cons

    n1, d1 = (200, 2000) if s else (60, 600)
    yield "ridge, 7 levels", *ls(n1, d1, 7, 0.5)
    yield "correlated AR(1) 0.9, 7 levels", *ls(n1, d1, 7, 0.5, rho=0.9)
    yield "8-bit grid (255 levels)", *ls(n1, d1, 255, 2.0 / 254)
    nt, dt = (5000, 500) if s else (1000, 100)
    yield "tall, 9 levels, Box", *ls(nt, dt, 9, 0.25, cons=Box(-0.6, 0.6))
    yield "Simplex, 11 levels", *ls(n1, d1, 11, 0.1, cons=Simplex(1.0), lam=0.01 * n1)
    G = rng.standard_normal((5, d1))
    yield "5 inequality rows, 7 levels", *ls(n1, d1, 7, 0.5, cons=Linear(A_ub=G, b_ub=np.abs(G).sum(1) * 0.05))
    yield "4-bit grid, x >= 0, budget row", *ls(n1, d1, 16, 1.0 / 15, cons=[NonNeg(), Linear(A_ub=np.ones((1, d1)), b_ub=[0.2 * d1])])
    for label, loss_cls in (("logistic", Logistic), ("Huber", Huber)):
        n, d = (500, 2000) if s else (150, 600)
        A = _design(rng, n, d)
        grid = grids.uniform(0.5, 7)
        x = rng.choice(grid, d)
        z = A @ x / np.sqrt(d)
        target = np.where(z + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0) if loss_cls is Logistic else z + 0.1 * rng.standard_normal(n)
        yield f"{label}, 7 levels", loss_cls(A / np.sqrt(d), target), pars.ridge(grid), 0.01 * n, None
    n, d = (500, 2000) if s else (150, 600)
    A = _design(rng, n, d) / np.sqrt(d)
    y = np.where(A @ rng.choice(grids.uniform(0.5, 7), d) > 0, 1.0, -1.0)
    yield "logistic, 7 levels, Box", Logistic(A, y), pars.ridge(grids.uniform(0.5, 7)), 0.01 * n, Box(-1, 1)
    ns, ds = (2000, 20000) if s else (400, 4000)
    As = sp.random(ns, ds, density=0.01, random_state=1, format="csc")
    xs = rng.choice(grids.uniform(0.5, 7), ds)
    yield "sparse A (1%), 7 levels", LeastSquares(As, As @ xs + 0.1 * rng.standard_normal(ns)), pars.ridge(grids.uniform(0.5, 7)), 0.05 * ns, None
    ys = np.where(As @ xs + 0.3 * rng.standard_normal(ns) > 0, 1.0, -1.0)
    yield "sparse logistic (1%), 7 levels", Logistic(As, ys), pars.ridge(grids.uniform(0.5, 7)), 0.01 * ns, None
    A = _design(rng, *((2000, 200) if s else (500, 50)))
    b = A @ (rng.standard_normal(A.shape[1]) * (rng.random(A.shape[1]) < 0.2)) + 0.1 * rng.standard_normal(A.shape[0])
    lam_max = float(np.max(np.abs(A.T @ b)))
    yield "tall Lasso, lam_max/100", LeastSquares(A, b), pars.l1(np.array([0.0])), lam_max / 100, None
    yield "tiny, d = 10, Box", *ls(30, 10, 7, 0.5, cons=Box(-1, 1))
    # linear rows with the logistic loss (what PARClassifier runs with a Simplex or a budget); own generator, so
    # the classes above keep their instances
    rng = np.random.default_rng(1)
    n, d = (500, 2000) if s else (150, 600)
    A = _design(rng, n, d) / np.sqrt(d)
    grid = grids.uniform(0.5, 7)
    y = np.where(A @ rng.choice(grid, d) + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0)
    yield "logistic, 7 levels, Simplex", Logistic(A, y), pars.ridge(grid), 0.01 * n, Simplex(0.025 * d)
    budget = [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.05 * d])]
    yield "logistic, 7 levels, x >= 0, budget row", Logistic(A, y), pars.ridge(grid), 0.01 * n, budget


def _clarabel(loss, psi, lam, constraints):
    A = loss.op.A
    x = cp.Variable(loss.n_features)
    slopes, intercepts = psi.max_affine()
    pieces = cp.max(cp.vstack([a * x + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0)
    cons = FeasibleSet(constraints, loss.n_features).cvxpy(x)
    prob = cp.Problem(cp.Minimize(loss.cvxpy(A @ x) + lam * cp.sum(pieces)), cons)
    t0 = time.perf_counter()
    prob.solve(solver="CLARABEL")
    return time.perf_counter() - t0, prob, x


def run(size: str = "small", only: str | None = None) -> Table:
    """The table; ``only``: comma-separated parts of class labels (case-insensitive) to run, the others skipped
    (every instance is still generated, so the selected ones are the same as in a full run)."""
    load_start = os.getloadavg()[0]
    wanted = None if only is None else [w.strip().lower() for w in only.split(",") if w.strip()]
    table = Table(f"Problem classes: cvxpar auto vs CVXPY + Clarabel ({size})",
                  ["class", "n x d", "method", "status", "cvxpar s", "Clarabel s", "speed-up", "rel. diff"])
    for label, loss, psi, lam, cons in _classes(size):
        if wanted is not None and not any(w in label.lower() for w in wanted):
            continue
        result = {}

        def once(loss=loss, psi=psi, lam=lam, cons=cons, result=result):
            result["res"] = cvxpar.solve(loss, psi, lam, constraints=cons, tol=1e-8)

        t_ours = median_time(once, repeat=REPEATS, warmup=1)
        res = result["res"]
        t_cl, prob, x = _clarabel(loss, psi, lam, cons)
        F_cl = res.objective if x.value is None else cvxpar.certificate(loss, psi, lam, x.value, cons).objective
        n, d = loss.op.shape
        table.add(label, f"{n} x {d}", res.method, res.status, t_ours, t_cl, t_cl / t_ours,
                  f"{(res.objective - F_cl) / abs(F_cl):.1e}" if prob.status == "optimal" else f"Clarabel: {prob.status}")
    table.notes.append("speed-up = Clarabel time / cvxpar time; targets: every class >= 10x and certified optimal.")
    table.notes.append(f"load average (1 min): {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end (a shared "
                       "machine: times scale with it, ratios less so).")
    return table
