"""The fused FISTA tail on CuPy data: how ``method="fista"`` runs least squares on a GPU.

For f(x) = 1/2 ||Ax - b||^2 the gradient is affine, so FISTA's extrapolated gradient is the same
extrapolation of the last two gradients, and one CUDA kernel does the extrapolation, the exact prox
step, the restart test (O'Donoghue and Candes 2015, sec. 3.2) and the stationarity residual per
element (:mod:`cvxpar._cupy_kernels`); the products with A are cuBLAS GEMV calls.  That loop is
:func:`cvxpar.batch.solve_batch` with one column, and it applies when

- A is a dense CuPy array and the loss is ``LeastSquares``,
- psi is convex and lam a scalar (the kernel's tables are per column, not per coordinate),
- the constraints are at most bounds equal for every coordinate (a Box folded into psi).

The batched loop stops on its own residual test; its point then goes to the shared certificate,
and (``polish``) to the active-set polish; a point neither certifies finishes in the generic
FISTA loop (:mod:`cvxpar.solvers._proxgrad`) with the iterations left, so the status means what
it means for every other method.
"""

from __future__ import annotations

from cvxpar import _backend
from cvxpar.losses import LeastSquares
from cvxpar.solvers import _proxgrad
from cvxpar.solvers._common import Monitor, Outcome, check
from cvxpar.solvers.polish import newton_polish


def _on_cupy(A) -> bool:
    return _backend.is_cupy_array(A)


def applies(prob) -> bool:
    """True when ``method="fista"`` runs the fused tail on ``prob`` (module docstring)."""
    loss = prob.loss
    return (isinstance(loss, LeastSquares) and loss.op.kind == "dense" and _on_cupy(loss.op.A) and prob.convex
            and isinstance(prob.lam, float) and not prob.feasible.has_rows and prob.lb is None)


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, check_every: int = 10,
        polish_steps: int = 30, polish_scale: float = 1.0) -> Outcome:
    """The one-column batched loop with the fused tail, then the shared certificate (module docstring)."""
    from cvxpar.batch import solve_batch

    batch = solve_batch(prob.loss, prob.psi, [prob.lam], constraints=prob.box, x0=prob.start(), tol=tol,
                        max_iter=max_iter, check_every=check_every, certify=False)
    x, it = batch.x[:, 0], int(batch.iterations[0])
    info = {"fused_kernels": bool(batch.info["fused_kernels"]), "fused_iterations": it,
            "lipschitz": batch.info["lipschitz"]}
    cert = check(prob, x)
    monitor.row(it, cert, "fused tail")
    if not cert.certifies(tol) and polish:
        t = polish_scale / max(float(batch.info["lipschitz"]), 1e-300)
        px, pcert, _ = newton_polish(prob, x, t, steps=polish_steps, tol=tol, check=lambda v: check(prob, v))
        monitor.row(it, pcert, "polish")
        if pcert.certifies(tol) or pcert.objective < cert.objective:
            x, cert = px, pcert
    if cert.certifies(tol) or it >= max_iter:
        return Outcome(x, it, info=info)
    out = _proxgrad.run(prob.started_at(x), accelerate=True, tol=tol, max_iter=max_iter - it, polish=polish,
                        monitor=monitor, check_every=check_every, polish_steps=polish_steps, polish_scale=polish_scale)
    out.iterations += it
    out.info.update(info)
    return out
