"""The Lasso (psi = |x|, the l1 special case) against scikit-learn and skglm.

n = 500, d = 5000 (``full``; ``small``: 100 x 1000), Gaussian A, sparse x_true,
lam = lam_max / 20 with the scikit-learn scaling 1/(2n) ||y - Xw||^2 + alpha ||w||_1
(cvxpar solves 1/2 ||y - Xw||^2 + n alpha ||w||_1: the same minimizer, objective times n).
scikit-learn and skglm run at tol 1e-10; cvxpar runs to its certificate (tol 1e-8) and the
table reports each solver's time and its objective relative to the best of the three.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

import cvxpar
from cvxpar.bench._table import Table
from cvxpar.losses import LeastSquares

SIZES = {"small": (100, 1000), "full": (500, 5000)}


def _objective(X, y, w, alpha) -> float:
    r = y - X @ w
    return float(r @ r) / (2 * X.shape[0]) + alpha * float(np.abs(w).sum())


def run(size: str = "small") -> Table:
    """The table; BLAS runs on one thread (oversubscribed BLAS threads on a shared box cost 10-20x)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _run(size)

REPEATS = 5


def _run(size: str) -> Table:
    n, d = SIZES[size]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    w_true = np.zeros(d)
    w_true[rng.choice(d, d // 50, replace=False)] = rng.standard_normal(d // 50)
    y = X @ w_true + 0.1 * rng.standard_normal(n)
    alpha = float(np.max(np.abs(X.T @ y))) / n / 20
    psi = cvxpar.pars.l1()
    loss = LeastSquares(X, y)
    cvxpar.solve(LeastSquares(X[:10, :30], y[:10]), psi, 1.0)  # compile outside the timings

    last = {}

    def fit_cvxpar():
        last["res"] = cvxpar.solve(loss, psi, n * alpha)
        return np.asarray(last["res"].x)

    fits = {"cvxpar": fit_cvxpar}
    try:
        from sklearn.linear_model import Lasso

        def fit_sklearn():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return Lasso(alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=100_000).fit(X, y).coef_

        fits["scikit-learn Lasso"] = fit_sklearn
    except ImportError:
        pass
    try:
        from skglm import Lasso as SkglmLasso

        SkglmLasso(alpha=alpha, fit_intercept=False, tol=1e-10).fit(X[:20, :50], y[:20])  # compile outside timings
        fits["skglm Lasso"] = lambda: SkglmLasso(alpha=alpha, fit_intercept=False, tol=1e-10).fit(X, y).coef_
    except ImportError:
        pass
    times: dict[str, list[float]] = {name: [] for name in fits}
    coefs = {}
    for _ in range(REPEATS):  # interleaved, so that load changes hit every solver alike
        for name, fit in fits.items():
            t0 = time.perf_counter()
            coefs[name] = fit()
            times[name].append(time.perf_counter() - t0)
    res = last["res"]
    label = {"cvxpar": f"cvxpar ({res.method})"}
    rows = [(label.get(name, name), statistics.median(times[name]), _objective(X, y, coefs[name], alpha)) for name in fits]
    best = min(obj for _, _, obj in rows)
    ours = rows[0][1]
    table = Table(
        f"Lasso n x d = {n} x {d}, alpha = alpha_max / 20 (size={size})",
        ["solver", "time (s)", "objective (1/(2n) scaling)", "rel. to best", "cvxpar time / this time"],
    )
    for name, t, obj in rows:
        table.add(name, t, f"{obj:.12g}", (obj - best) / abs(best), ours / t)
    table.notes += [
        f"cvxpar status {res.status}, residual {res.residual:.1e}, iterations {res.iterations}",
        f"median of {REPEATS} interleaved runs each (numba kernels compiled beforehand), BLAS on one thread; "
        "target: cvxpar within 2x of skglm",
    ]
    return table


if __name__ == "__main__":
    import sys

    print(run(sys.argv[1] if len(sys.argv) > 1 else "small").markdown())
