"""Reference solve time: ``cvxpar.reference`` against the plain CVXPY formulation.

Problem (issue 3): a 7-level ridge-like PAR least squares,

    minimize 1/(2n) ||Ax - b||^2 + lam * sum_i psi(x_i),   psi = pars.ridge(grids.uniform(0.5, 7)),

with Gaussian A (n x d), a quantized x_true and b = A x_true + 0.1 noise.  "plain" is what a
CVXPY user writes: ``sum_squares(A @ x - b) / (2n) + lam * sum(max of the affine pieces)``
(``cp.max`` over ``cp.vstack`` of a_k x + b_k), solved by Clarabel with its defaults.
``reference`` is ``cvxpar.reference(LeastSquares(A, b), psi, n * lam)`` (the same problem
times n), with the formulation and solver it picks.  One run each (these are long solves),
wall time including CVXPY's compilation.
"""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np

import cvxpar
from cvxpar.bench._table import Table

SIZES = {"small": [(50, 500)], "full": [(200, 2000), (1000, 10000)]}
LAM = 0.01


def problem_data(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    grid = cvxpar.grids.uniform(0.5, 7)
    A = rng.normal(size=(n, d))
    x_true = rng.choice(grid, size=d)
    b = A @ x_true + 0.1 * rng.normal(size=n)
    return A, b, cvxpar.pars.ridge(grid)


def plain_problem(A, b, psi, lam: float, loss_weight: float) -> tuple[cp.Problem, cp.Variable]:
    """The formulation a CVXPY user writes by hand: loss_weight * sum_squares(A @ x - b)
    + lam * sum(max of psi's affine pieces), as (problem, x)."""
    slopes, intercepts = psi.max_affine()
    x = cp.Variable(A.shape[1])
    pieces = cp.max(cp.vstack([a * x + c for a, c in zip(slopes, intercepts, strict=True)]), axis=0)
    return cp.Problem(cp.Minimize(loss_weight * cp.sum_squares(A @ x - b) + lam * cp.sum(pieces))), x


def plain_solve(A, b, psi, lam: float) -> tuple[float, float, np.ndarray]:
    """(seconds, objective, x) for the hand-written formulation with the 1/(2n) loss, solved by Clarabel."""
    n = A.shape[0]
    prob, x = plain_problem(A, b, psi, lam, 1.0 / (2 * n))
    start = time.perf_counter()
    prob.solve(solver=cp.CLARABEL)
    seconds = time.perf_counter() - start
    return seconds, _objective(A, b, psi, lam, x.value), x.value


def _objective(A, b, psi, lam, x) -> float:
    n = A.shape[0]
    return float(0.5 * np.sum((A @ x - b) ** 2) / n + lam * np.sum(psi(x)))


def run(size: str = "small", plain: bool = True) -> Table:
    table = Table(
        title="cvxpar.reference vs the plain CVXPY formulation (7-level ridge PAR least squares)",
        columns=[
            "n",
            "d",
            "plain Clarabel (s)",
            "reference (s)",
            "speed-up",
            "rel. objective diff",
            "reference formulation",
        ],
    )
    for n, d in SIZES[size]:
        A, b, psi = problem_data(n, d)
        res = cvxpar.reference(cvxpar.losses.LeastSquares(A, b), psi, n * LAM)
        ref_obj = _objective(A, b, psi, LAM, res.x)
        if plain:
            plain_time, plain_obj, _ = plain_solve(A, b, psi, LAM)
            diff = abs(plain_obj - ref_obj) / max(1.0, abs(plain_obj))
            table.add(n, d, plain_time, res.solve_time, plain_time / res.solve_time, diff, _describe(res))
        else:
            table.add(n, d, "not run", res.solve_time, "", "", _describe(res))
    table.notes.append(
        "plain: sum_squares(A @ x - b)/(2n) + lam*sum(cp.max(cp.vstack(pieces), axis=0)), Clarabel defaults "
        f"(lam = {LAM}); reference: cvxpar.reference(LeastSquares(A, b), psi, n*lam). One run each, wall time "
        "with compilation; the shared 2-core machine may be loaded by other jobs, so compare within a row."
    )
    return table


def _describe(res) -> str:
    return f"{res.info['formulation']}, {res.info['solver']}, status {res.status}"


if __name__ == "__main__":
    import sys

    print(run(sys.argv[1] if len(sys.argv) > 1 else "small").markdown())
