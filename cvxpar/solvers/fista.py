"""FISTA ("fista"): accelerated proximal gradient with adaptive restart and backtracking.

Beck and Teboulle (2009) momentum, O'Donoghue and Candes (2015) gradient restart; monotone
safeguard for nonconvex psi.  See :mod:`cvxpar.solvers._proxgrad` for the shared loop; least
squares on CuPy data runs the fused CUDA tail instead (:mod:`cvxpar.solvers.fused_fista`).
"""

from __future__ import annotations

from cvxpar.solvers import _proxgrad, fused_fista
from cvxpar.solvers._common import Monitor, Outcome


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, **options) -> Outcome:
    if fused_fista.applies(prob):
        return fused_fista.run(prob, tol=tol, max_iter=max_iter, polish=polish, monitor=monitor, **options)
    return _proxgrad.run(prob, accelerate=True, tol=tol, max_iter=max_iter, polish=polish, monitor=monitor, **options)
