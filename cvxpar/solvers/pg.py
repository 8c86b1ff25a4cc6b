"""Proximal gradient ("pg"): x+ = prox_{t lam psi + box}(x - t grad f(x)) with backtracking.

Monotone for any psi (each step is a majorize-minimize step, Beck and Teboulle 2009), so it is
the safe method for nonconvex PARs; see :mod:`cvxpar.solvers._proxgrad` for the shared loop.
"""

from __future__ import annotations

from cvxpar.solvers import _proxgrad
from cvxpar.solvers._common import Monitor, Outcome


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, **options) -> Outcome:
    return _proxgrad.run(prob, accelerate=False, tol=tol, max_iter=max_iter, polish=polish, monitor=monitor, **options)
