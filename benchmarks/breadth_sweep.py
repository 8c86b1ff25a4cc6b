"""Robustness sweep: unseen instances of the breadth benchmark's problem classes, cvxpar against CVXPY + Clarabel.

    OPENBLAS_NUM_THREADS=1 nice -n 10 python benchmarks/breadth_sweep.py [--only PARTS] [--big] [--set fresh]

Each row is one instance (its own seed, size, lam, grid, scaling or constraint), solved by
``cvxpar.solve(loss, psi, lam, constraints, tol=1e-8)`` (method auto) and by CVXPY + Clarabel on the model of
``cvxpar.bench.breadth``.  cvxpar's time is the CPU time (``time.process_time``) of the faster of two solves
(the first one compiles what numba has not cached), Clarabel's the CPU time of one solve.  A row is flagged when
cvxpar's status is not ``optimal``, when it raised, when its objective is more than 1e-6 (relative) above
Clarabel's, or when it is less than 10x faster than Clarabel.  ``--big`` adds 300 x 3000 instances (Clarabel
takes tens of seconds on each).

``--set fresh`` runs the second, independent instance set of ``breadth_fresh.py`` instead (other classes, its own
seed, never tuned against; about 5 minutes).  There cvxpar's objective and feasibility are those of
``cvxpar.certificate`` at its x, a row is flagged at 1e-8 (relative) above Clarabel's objective (OBJ), at an
infeasible point (INFEAS), at a status other than ``optimal`` (``stationary`` for a nonconvex psi, compared with
``cvxpar.reference``'s MIQP, whose time fills the Clarabel column) or than Clarabel's infeasible, and when it is
less than 10x faster than Clarabel (d > 200) or slower than it (d <= 200).  The CVXPY-bridge rows time all
re-solves of one problem together, and compare the objectives CVXPY evaluates at each solver's point.
"""

from __future__ import annotations

import argparse
import datetime
import os
import time

import numpy as np
import scipy.sparse as sp

import cvxpar
from cvxpar import grids, pars
from cvxpar.bench.breadth import _clarabel
from cvxpar.constraints import Box, Linear, NonNeg, Simplex
from cvxpar.losses import Huber, LeastSquares, LinearTerm, Logistic, Stacked


def _design(rng, n, d, rho=0.0, col_scale=False):
    A = rng.standard_normal((n, d))
    if rho:
        for j in range(1, d):
            A[:, j] = rho * A[:, j - 1] + np.sqrt(1 - rho**2) * A[:, j]
    if col_scale:  # column norms spread over 1e-3 .. 1e3
        A *= 10.0 ** rng.uniform(-3, 3, d)
    return A


def _instances(big: bool):
    """Yield (class, params, loss, psi, lam, constraints)."""
    sizes = [(100, 1000), (3000, 300)] + ([(300, 3000)] if big else [])
    for seed, (n, d) in enumerate(sizes):
        rng = np.random.default_rng(100 + seed)
        for levels in (3, 7, 15, 255):
            grid = grids.uniform(2.0 / (levels - 1), levels)
            A = _design(rng, n, d)
            x = rng.choice(grid, d)
            b = A @ x + 0.1 * rng.standard_normal(n)
            for lam_f in (0.001, 0.05, 1.0):
                if levels in (3, 255) and lam_f == 0.05:
                    continue
                yield "ridge LS", f"{n}x{d} L={levels} lam={lam_f}n", LeastSquares(A, b), pars.ridge(grid), lam_f * n, None
    rng = np.random.default_rng(7)
    n, d = 100, 1000
    for center, levels in ((0.75, 7), (-2.0, 4)):  # grids without 0
        grid = grids.uniform(0.25, levels, center)
        A = _design(rng, n, d)
        b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
        for lam_f in (0.001, 0.05):
            yield "ridge LS, grid w/o 0", f"c={center} L={levels} lam={lam_f}n", LeastSquares(A, b), pars.ridge(grid), lam_f * n, None
    for lam_f in (0.001, 0.05, 1.0):
        A = _design(rng, n, d, col_scale=True)
        grid = grids.uniform(0.5, 7)
        b = A @ rng.choice(grid, d) / np.sqrt(d) + 0.1 * rng.standard_normal(n)
        yield "scaled columns", f"norms 1e-3..1e3 lam={lam_f}n", LeastSquares(A, b), pars.ridge(grid), lam_f * n, None
    for label, make in (("Huber", lambda A, t: Huber(A, t, M=0.1)), ("logistic", lambda A, t: Logistic(A, np.sign(t)))):
        A = _design(rng, 300, d, col_scale=True)
        t = A @ rng.choice(grids.uniform(0.5, 7), d) / np.sqrt(d) + 0.1 * rng.standard_normal(300)
        for lam_f in (0.001, 0.1):
            yield f"scaled columns {label}", f"300x{d} lam={lam_f}n", make(A, t), pars.ridge(grids.uniform(0.5, 7)), lam_f * 300, None
    A = _design(rng, n, d, col_scale=True)
    b = A @ rng.dirichlet(np.ones(d)) + 0.1 * rng.standard_normal(n)
    yield "scaled columns Simplex", "r=1 lam=0.01n", LeastSquares(A, b), pars.ridge(grids.uniform(0.1, 11)), 0.01 * n, Simplex(1.0)
    for rho in (0.9, 0.99):
        A = _design(rng, n, d, rho=rho)
        grid = grids.uniform(0.5, 7)
        b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
        yield "AR(1)", f"rho={rho} lam=0.01n", LeastSquares(A, b), pars.ridge(grid), 0.01 * n, None
    for radius in (0.1, 5.0, 50.0):
        A = _design(rng, n, d)
        grid = grids.uniform(0.1, 11)
        b = A @ rng.dirichlet(np.ones(d)) * radius + 0.1 * rng.standard_normal(n)
        for lam_f in (0.001, 0.1):
            yield "Simplex", f"r={radius} lam={lam_f}n", LeastSquares(A, b), pars.ridge(grid), lam_f * n, Simplex(radius)
    for active in (True, False):
        A = _design(rng, n, d)
        grid = grids.uniform(0.5, 7)
        x = rng.choice(grid, d)
        b = A @ x + 0.1 * rng.standard_normal(n)
        G = rng.standard_normal((5, d))
        h = G @ x - (1.0 if active else -1e3)  # active: the planted x violates every row
        yield "inequality rows", f"5 rows {'active' if active else 'inactive'}", LeastSquares(A, b), pars.ridge(grid), 0.05 * n, Linear(A_ub=G, b_ub=h)
    for lo, hi in ((-0.3, 0.3), (0.1, 0.6), (-1.0, -0.2)):
        A = _design(rng, n, d)
        grid = grids.uniform(0.25, 9)
        b = A @ rng.choice(grid, d) + 0.1 * rng.standard_normal(n)
        yield "Box cuts grid", f"[{lo}, {hi}]", LeastSquares(A, b), pars.ridge(grid), 0.05 * n, Box(lo, hi)
    A = _design(rng, n, d)
    b = A @ rng.choice(grids.uniform(1 / 15, 16), d) + 0.1 * rng.standard_normal(n)
    yield "x>=0 + budget", "16 levels", LeastSquares(A, b), pars.ridge(grids.uniform(1 / 15, 16)), 0.05 * n, [NonNeg(), Linear(A_ub=np.ones((1, d)), b_ub=[0.1 * d])]
    n, d = 300, 1000
    for M in (1e-3, 0.1, 1e3):
        A = _design(rng, n, d) / np.sqrt(d)
        grid = grids.uniform(0.5, 7)
        z = A @ rng.choice(grid, d)
        t = z + 0.1 * rng.standard_normal(n)
        outliers = rng.random(n) < 0.1
        t[outliers] += 10 * rng.standard_normal(int(outliers.sum()))
        for lam_f in (0.001, 0.1):
            yield "Huber", f"M={M} lam={lam_f}n", Huber(A, t, M=M), pars.ridge(grid), lam_f * n, None
    for kind in ("imbalanced 5%", "separable"):
        A = _design(rng, n, d) / np.sqrt(d)
        grid = grids.uniform(0.5, 7)
        z = A @ rng.choice(grid, d)
        y = np.where(z > np.quantile(z, 0.95), 1.0, -1.0) if kind.startswith("imb") else np.where(z > 0, 1.0, -1.0)
        for lam_f in (0.0001, 0.01, 0.3):
            yield "logistic", f"{kind} lam={lam_f}n", Logistic(A, y), pars.ridge(grid), lam_f * n, None
        yield "logistic Box", f"{kind} lam=0.001n", Logistic(A, y), pars.ridge(grid), 0.001 * n, Box(-0.5, 0.5)
    ns, ds = 1000, 5000
    for dens in (0.001, 0.01, 0.05):
        As = sp.random(ns, ds, density=dens, random_state=int(dens * 1e4), format="csc")
        xs = rng.choice(grids.uniform(0.5, 7), ds)
        for lam_f in (0.001, 0.05):
            yield "sparse LS", f"{ns}x{ds} dens={dens} lam={lam_f}n", LeastSquares(As, As @ xs + 0.1 * rng.standard_normal(ns)), pars.ridge(grids.uniform(0.5, 7)), lam_f * ns, None
        ys = np.where(As @ xs + 0.3 * rng.standard_normal(ns) > 0, 1.0, -1.0)
        yield "sparse logistic", f"{ns}x{ds} dens={dens} lam=0.001n", Logistic(As, ys), pars.ridge(grids.uniform(0.5, 7)), 0.001 * ns, None
    for n, d in ((100, 1000), (1000, 100)):
        A = _design(rng, n, d, rho=0.6)
        b = A @ (rng.standard_normal(d) * (rng.random(d) < 0.1)) + 0.1 * rng.standard_normal(n)
        lam_max = float(np.max(np.abs(A.T @ b)))
        for div in (10, 100, 1000):
            yield "Lasso", f"{n}x{d} lam_max/{div}", LeastSquares(A, b), pars.l1(np.array([0.0])), lam_max / div, None
    for n, d in ((100, 1000), (300, 1000)):  # sums of losses (what the CVXPY bridge builds for mixed objectives)
        A, G = _design(rng, n, d), _design(rng, n, d) / np.sqrt(d)
        grid = grids.uniform(0.5, 7)
        x = rng.choice(grid, d)
        b, y = A @ x + 0.1 * rng.standard_normal(n), np.where(G @ x + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0)
        q = 0.1 * np.sqrt(n) * rng.standard_normal(d)  # outside the range of A^T when d > n
        for lam_f in (0.001, 0.1):
            yield "LS + logistic", f"{n}x{d} lam={lam_f}n", Stacked([LeastSquares(A, b), Logistic(G, y)]), pars.ridge(grid), lam_f * n, None
            yield "LS + q^T x, Box", f"{n}x{d} lam={lam_f}n", Stacked([LeastSquares(A, b), LinearTerm(q[None, :])]), pars.ridge(grid), lam_f * n, Box(-1.0, 1.0)
        yield "LS + Huber", f"{n}x{d} lam=0.05n", Stacked([LeastSquares(A[: n // 2], b[: n // 2]), Huber(A[n // 2:], b[n // 2:], M=0.5)]), pars.ridge(grid), 0.05 * n, None


def _cpu(f):
    t0 = time.process_time()
    out = f()
    return time.process_time() - t0, out


def _fresh_row(inst):
    """(method, status, cvxpar s, Clarabel s, rel. obj diff text, flags) of one instance of the fresh set."""
    from breadth_fresh import clarabel_model

    loss, psi, lam, cons = inst.loss, inst.psi, inst.lam, inst.cons
    try:
        t1, res = _cpu(lambda: cvxpar.solve(loss, psi, lam, constraints=cons, tol=1e-8))
        t2, res = _cpu(lambda: cvxpar.solve(loss, psi, lam, constraints=cons, tol=1e-8))
        t_ours, method, status = min(t1, t2), res.method, res.status
        cert = cvxpar.certificate(loss, psi, lam, res.x, cons) if res.x is not None else None
    except Exception as exc:  # noqa: BLE001 -- a sweep reports errors as rows
        t_ours, method, status, cert = float("nan"), "-", f"error: {type(exc).__name__}: {exc}"[:80], None
    if inst.exact:  # nonconvex psi: the exact MIQP
        t_ref, ref = _cpu(lambda: cvxpar.reference(loss, psi, lam, cons))
        ref_status, x_ref = ref.status, ref.x
    else:
        prob, x = clarabel_model(loss, psi, lam, cons)
        t_ref, _ = _cpu(lambda: prob.solve(solver="CLARABEL"))
        ref_status, x_ref = prob.status, x.value
    flags = []
    if ref_status in ("optimal", "optimal_inaccurate") and x_ref is not None:
        F_ref = cvxpar.certificate(loss, psi, lam, x_ref, cons).objective
        diff = (cert.objective - F_ref) / max(abs(F_ref), 1e-300) if cert is not None else np.nan
        diff_s = f"{diff:.1e}"
        if not diff <= 1e-8:
            flags.append("OBJ")
    else:
        diff_s = f"ref: {ref_status}"
        if status not in (ref_status, "error"):
            flags.append("STATUS")
    expected = "stationary" if psi.curvature != "convex" else "optimal"
    if ref_status in ("optimal", "optimal_inaccurate") and status != expected:
        flags.append("STATUS")
    if cert is not None and status != "infeasible" and cert.infeasibility > 1e-6 * max(1.0, cert.x_scale):
        flags.append("INFEAS")
    ratio = t_ref / t_ours if t_ours > 0 else float("inf")
    if ratio < (1.0 if loss.n_features <= 200 else 10.0):
        flags.append("SLOW")
    return method, status, t_ours, t_ref, ratio, diff_s, flags


def _bridge_row(case):
    """The same for a CVXPY-bridge case: all of its re-solves timed together."""
    from breadth_fresh import solve_bridge

    def objective_and_violation():
        viol = max([float(np.max(c.violation())) for c in case.problem.constraints], default=0.0)
        return case.problem.objective.value, viol

    try:
        t1, _, _ = solve_bridge(case, method="cvxpar")
        t_ours, statuses, _ = solve_bridge(case, method="cvxpar")
        t_ours = min(t1, t_ours)
        ours = []
        for vals in case.values:  # the objective at cvxpar's point, evaluated by CVXPY
            for p, v in vals.items():
                p.value = v
            case.problem.solve(method="cvxpar")
            ours.append(objective_and_violation())
        status = ",".join(sorted(set(statuses)))
    except Exception as exc:  # noqa: BLE001
        t_ours, status, ours = float("nan"), f"error: {type(exc).__name__}: {exc}"[:80], None
    t_ref, ref_statuses, _ = solve_bridge(case, solver="CLARABEL")
    theirs = []
    for vals in case.values:
        for p, v in vals.items():
            p.value = v
        case.problem.solve(solver="CLARABEL")
        theirs.append(objective_and_violation()[0])
    flags = []
    if ours is None:
        diff_s = "-"
    else:
        diff = max((f - g) / max(abs(g), 1e-300) for (f, _), g in zip(ours, theirs, strict=True))
        diff_s = f"{diff:.1e} (max of {len(theirs)})"
        if not diff <= 1e-8:
            flags.append("OBJ")
        if max(v for _, v in ours) > 1e-6:
            flags.append("INFEAS")
    if status != "optimal":
        flags.append("STATUS")
    ratio = t_ref / t_ours if t_ours > 0 else float("inf")
    if ratio < (1.0 if case.x.size <= 200 else 10.0):
        flags.append("SLOW")
    return "bridge", status, t_ours, t_ref, ratio, diff_s, flags


def _fresh(wanted):
    from breadth_fresh import bridge_cases, instances

    for inst in instances():
        if wanted is None or any(w in inst.cls.lower() for w in wanted):
            yield inst.cls, inst.params, _fresh_row(inst)
    for case in bridge_cases():
        if wanted is None or any(w in case.cls.lower() for w in wanted):
            yield case.cls, case.params, _bridge_row(case)


def _first(wanted, big):
    for cls, params, loss, psi, lam, cons in _instances(big):
        if wanted is None or any(w in cls.lower() for w in wanted):
            yield cls, params, _first_row(loss, psi, lam, cons)


def _first_row(loss, psi, lam, cons):
    try:
        t1, res = _cpu(lambda: cvxpar.solve(loss, psi, lam, constraints=cons, tol=1e-8))
        t2, res = _cpu(lambda: cvxpar.solve(loss, psi, lam, constraints=cons, tol=1e-8))
        t_ours, method, status, F = min(t1, t2), res.method, res.status, res.objective
    except Exception as exc:  # noqa: BLE001 -- a sweep reports errors as rows
        t_ours, method, status, F = float("nan"), "-", f"error: {type(exc).__name__}: {exc}"[:80], np.nan
    t_cl, (_, prob, x) = _cpu(lambda: _clarabel(loss, psi, lam, cons))
    if x.value is not None and prob.status in ("optimal", "optimal_inaccurate"):
        F_cl = cvxpar.certificate(loss, psi, lam, x.value, cons).objective
        diff = (F - F_cl) / max(abs(F_cl), 1e-300)
        diff_s = f"{diff:.1e}"
    else:
        diff, diff_s = 0.0, f"Clarabel: {prob.status}"
    ratio = t_cl / t_ours if t_ours > 0 else float("inf")
    flags = []
    if status != "optimal" and not (status == "unbounded" and diff_s == "Clarabel: unbounded"):
        flags.append("STATUS")
    if not diff <= 1e-6:
        flags.append("OBJ")
    if ratio < 10:
        flags.append("SLOW")
    return method, status, t_ours, t_cl, ratio, diff_s, flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=None, help="comma-separated parts of class labels to run")
    parser.add_argument("--big", action="store_true", help="add 300 x 3000 instances (first set)")
    parser.add_argument("--set", default="first", choices=("first", "fresh"),
                        help="first: the tuned-against 85 instances; fresh: the second set (breadth_fresh.py)")
    args = parser.parse_args()
    wanted = None if args.only is None else [w.strip().lower() for w in args.only.split(",")]
    print(f"breadth sweep ({args.set} set), {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"load {os.getloadavg()[0]:.1f}")
    print("| class | instance | method | status | cvxpar s | Clarabel s | ratio | rel. obj diff | flag |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = _fresh(wanted) if args.set == "fresh" else _first(wanted, args.big)
    n_flag = n_rows = 0
    for cls, params, (method, status, t_ours, t_cl, ratio, diff_s, flags) in rows:
        n_rows += 1
        n_flag += bool(flags)
        print(f"| {cls} | {params} | {method} | {status} | {t_ours:.3g} | {t_cl:.3g} | {ratio:.3g} | {diff_s} | "
              f"{' '.join(flags)} |", flush=True)
    print(f"\n{n_flag} of {n_rows} rows flagged; load {os.getloadavg()[0]:.1f} at the end.")


if __name__ == "__main__":
    main()
