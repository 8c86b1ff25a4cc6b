"""The Lasso against skglm and scikit-learn on benchopt's simulated settings, at a duality gap of 1e-9.

Problems (benchopt's Lasso benchmark, simulated data): n = 100 samples, p = 5000 and 10000 features
(``full``; ``small``: 50 x 500), AR(1) columns with corr(a_i, a_j) = rho^|i-j| for rho = 0 and 0.6,
20% of w* nonzero (standard normal), noise at a signal-to-noise ratio of 3; lam = lam_max / 10, / 100
and / 1000 with lam_max = ||A^T y||_inf; objective P(w) = 1/2 ||y - A w||^2 + lam ||w||_1 (scikit-learn and
skglm minimize P / n with alpha = lam / n).

Accuracy is measured the same way for every solver, on its answer: the relative duality gap
(P(w) - D(theta)) / P(w) with the dual point theta = r / max(1, ||A^T r||_inf / lam), r = y - A w
(Massias, Gramfort and Salmon 2018, "Celer", eq. 2).  cvxpar runs ``cvxpar.solve(..., tol=1e-9)``
(method auto).  skglm and scikit-learn take the loosest tolerance of TOL_LADDER whose answer reaches a gap
of GAP_TARGET (found with one run per rung, the successful run counted among the timings); when none
does, the rung tried whose answer came closest (the ladder stops at a rung that takes over SLOW_S seconds),
and the table shows the gap reached.  Times are medians of REPEATS runs (a
solver whose single run takes over SLOW_S seconds runs once), in CPU seconds of the process, BLAS on one
thread, numba kernels compiled beforehand.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings

import numpy as np

import cvxpar
from cvxpar.bench._table import Table
from cvxpar.losses import LeastSquares

SIZES = {"small": (50, (500,)), "full": (100, (5000, 10000))}
RHOS = (0.0, 0.6)
DIVISORS = (10, 100, 1000)
GAP_TARGET = 1e-9
TOL_LADDER = (1e-6, 1e-8, 1e-10, 1e-12)
REPEATS = 3
SLOW_S = 5.0


def design(n: int, p: int, rho: float, seed: int = 0):
    """(A, y, lam_max) of benchopt's simulated Lasso: AR(1) columns, 20% of w* nonzero, SNR 3."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    A = np.empty((n, p), order="F")
    A[:, 0] = Z[:, 0]
    for j in range(1, p):
        A[:, j] = rho * A[:, j - 1] + np.sqrt(1.0 - rho * rho) * Z[:, j]
    w = np.zeros(p)
    support = rng.choice(p, p // 5, replace=False)
    w[support] = rng.standard_normal(support.size)
    y = A @ w
    noise = rng.standard_normal(n)
    y = y + noise / np.linalg.norm(noise) * np.linalg.norm(y) / 3.0
    return A, y, float(np.max(np.abs(A.T @ y)))


def relative_gap(A, y, w, lam: float) -> float:
    """(P(w) - D(theta)) / P(w) for the Lasso with the rescaled residual as dual point (see the module)."""
    r = y - A @ w
    primal = 0.5 * float(r @ r) + lam * float(np.abs(w).sum())
    theta = r / max(1.0, float(np.max(np.abs(A.T @ r))) / lam)
    dual = 0.5 * float(y @ y) - 0.5 * float((y - theta) @ (y - theta))
    return (primal - dual) / primal


def _competitors():
    """name -> fit(A, y, lam, tol) for the installed reference solvers."""
    fits = {}
    try:
        from skglm import Lasso as SkglmLasso

        def skglm_fit(A, y, lam, tol):
            return SkglmLasso(alpha=lam / A.shape[0], fit_intercept=False, tol=tol).fit(A, y).coef_

        fits["skglm"] = skglm_fit
    except ImportError:
        pass
    try:
        from sklearn.linear_model import Lasso

        def sklearn_fit(A, y, lam, tol):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = Lasso(alpha=lam / A.shape[0], fit_intercept=False, tol=tol, max_iter=20_000)
                return est.fit(A, y).coef_

        fits["scikit-learn"] = sklearn_fit
    except ImportError:
        pass
    return fits


def _timed(fit):
    """(CPU seconds of the process, result): every solver runs on one thread, and CPU time is the fair
    measure of one solve on a shared machine."""
    t0 = time.process_time()
    out = fit()
    return time.process_time() - t0, out


def _calibrate(fit, A, y, lam):
    """(tol, [time], gap): the loosest rung of TOL_LADDER reaching GAP_TARGET, else the rung tried whose answer
    came closest to it (the smallest gap; the faster on a tie; the ladder stops at a rung that took over SLOW_S
    seconds): a tighter tol can end with a worse answer when the solver stops at its own iteration limit."""
    tried = []
    for tol in TOL_LADDER:
        t, w = _timed(lambda tol=tol: fit(A, y, lam, tol))
        gap = relative_gap(A, y, w, lam)
        if gap <= GAP_TARGET:
            return tol, [t], gap
        tried.append((gap, t, tol))
        if t > SLOW_S:  # a tighter tol would take longer still
            break
    gap, t, tol = min(tried)
    return tol, [t], gap


def run(size: str = "small") -> Table:
    """The table; BLAS runs on one thread (oversubscribed BLAS threads on a shared box cost 10-20x)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _run(size)


def _run(size: str) -> Table:
    n, widths = SIZES[size]
    psi = cvxpar.pars.l1()
    fits = _competitors()
    A0, y0, l0 = design(20, 60, 0.5)
    cvxpar.solve(LeastSquares(A0, y0), psi, l0 / 1000)  # compile (cd, ssnal, polish) outside the timings
    for fit in fits.values():
        fit(A0, y0, l0 / 10, 1e-6)
    load = os.getloadavg()[0]
    names = list(fits)
    table = Table(
        f"Lasso, benchopt's simulated settings, n = {n}, relative duality gap target {GAP_TARGET:g} (size={size})",
        ["p", "rho", "lam", "cvxpar method", "cvxpar s", "cvxpar gap"]
        + [c for name in names for c in (f"{name} s", f"{name} gap (tol)")]
        + [f"cvxpar / {name}" for name in names],
    )
    for p in widths:
        for rho in RHOS:
            A, y, lam_max = design(n, p, rho)
            loss = LeastSquares(A, y)
            for div in DIVISORS:
                lam = lam_max / div
                last = {}

                def ours(loss=loss, lam=lam, last=last):
                    last["res"] = cvxpar.solve(loss, psi, lam, tol=GAP_TARGET)
                    return last["res"].x

                times = {"cvxpar": []}
                tols, gaps = {}, {}
                for name, fit in fits.items():
                    tols[name], times[name], gaps[name] = _calibrate(fit, A, y, lam)
                runs = {"cvxpar": ours}
                runs.update({name: (lambda fit=fit, tol=tols[name], A=A, y=y, lam=lam: fit(A, y, lam, tol))
                             for name, fit in fits.items()})
                for _ in range(REPEATS):  # interleaved, so that load changes hit every solver alike
                    for name, fit in runs.items():
                        if len(times[name]) >= REPEATS or (times[name] and times[name][0] > SLOW_S):
                            continue
                        t, w = _timed(fit)
                        times[name].append(t)
                        if name == "cvxpar":
                            gaps[name] = relative_gap(A, y, np.asarray(w), lam)
                med = {name: statistics.median(ts) for name, ts in times.items()}
                res = last["res"]
                handoff = " (cd -> ssnal)" if "handoff" in res.info else ""
                row = [p, rho, f"lam_max/{div}", f"{res.method}{handoff}, {res.status}", med["cvxpar"],
                       f"{gaps['cvxpar']:.1e}"]
                for name in names:
                    row += [med[name], f"{gaps[name]:.1e} ({tols[name]:g})"]
                row += [med["cvxpar"] / med[name] for name in names]
                table.add(*row)
    table.notes += [
        f"Load average of the machine (1 min): {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"(other jobs share its {os.cpu_count()} cores).",
        f"Times: CPU seconds (time.process_time, one thread each), median of {REPEATS} interleaved runs (one run when it took over {SLOW_S:g} s); the reference "
        f"solvers at the loosest tol of {', '.join(f'{t:g}' for t in TOL_LADDER)} whose answer reaches a "
        f"relative gap of {GAP_TARGET:g} (else the rung with the smallest gap; the gap column says what it reached). Ratio < 1: "
        "cvxpar is faster. Target: cvxpar no slower than skglm, certified to the gap target.",
    ]
    return table


if __name__ == "__main__":
    import sys

    print(run(sys.argv[1] if len(sys.argv) > 1 else "small").markdown())
