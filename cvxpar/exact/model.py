"""The reference's CVXPY model of  minimize loss(x) + sum_i lam_i psi(x_i)  subject to x in C.

Written in the rescaled variable y = x / sigma with the objective divided by s (:mod:`.scaling`):

- the loss through the loss contract, ``loss.cvxpy(z)`` at z = A x = rho z' (for least squares and
  Huber the same loss on rescaled data, :func:`cvxpar.exact.scaling.scaled_loss`), either with z' an
  expression (``"plain"``: z' = (sigma / rho) A y, for least squares a dense P = A^T A) or with z' a
  variable tied to y by the rows (sigma / rho) A y - z' = 0 (``"residual"``: a diagonal quadratic in
  z' and sparse rows, cheaper when :func:`prefer_residual` predicts it);
- psi through the :func:`cvxpar.par` atom (convex psi) or the exact mixed-integer epigraph of
  :mod:`.mip` on finite bounds (nonconvex psi);
- the constraints through their own CVXPY forms, on x = sigma y.

**Formulation costs** (measured in ``cvxpar/bench/reference_time.py``, benchmarks/RESULTS.md): the
plain form factors the dense d x d P at dense-kernel speed (~C_PLAIN d^3 per Clarabel iteration);
the residual form eliminates each y_i into the n x n block of the rows, a rank-one update at scalar
speed that slows once that block leaves the cache (~C_RESIDUAL (1 + n / N_CACHE) n^2 d with QDLDL).
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from cvxpar import _backend
from cvxpar.atoms import par
from cvxpar.exact import mip
from cvxpar.exact import scaling as rescale
from cvxpar.exact.scaling import Scaling
from cvxpar.par import PAR

#: Seconds per Clarabel iteration of the two formulations (module docstring; fitted on the 7-level
#: ridge benchmark).
C_PLAIN = 3.5e-11
C_RESIDUAL = 1.4e-9
N_CACHE = 250

FORMULATIONS = ("auto", "residual", "plain")


def prefer_residual(n: int, d: int) -> bool:
    """Whether the residual variable z' is predicted to make Clarabel faster than the plain form."""
    return n < d and C_RESIDUAL * (1 + n / N_CACHE) * n * n * d < C_PLAIN * d**3


@dataclass
class Model:
    """The CVXPY problem, its variable y (x = scaling.sigma * y) and what it was built with."""

    problem: cp.Problem
    y: cp.Variable
    scaling: Scaling
    formulation: str
    n_binaries: int

    def x(self) -> np.ndarray | None:
        """x = sigma y from the solved model, or None when the solver returned no point."""
        if self.y.value is None:
            return None
        return self.scaling.sigma * np.asarray(self.y.value, dtype=np.float64)

    def objective(self) -> float:
        """The model's optimal value in the units of F (times s)."""
        return self.scaling.s * float(self.problem.value)


def data_matrix(loss):
    """A as NumPy / SciPy (CuPy and Array-API data copied to the host); a clear error for operators."""
    op = getattr(loss, "op", None)
    if op is None:
        raise TypeError(
            f"{type(loss).__name__} is not of the form sum_i h(a_i^T x), so it has no CVXPY form and cvxpar.reference "
            "cannot solve it; use cvxpar.solve, or write the loss as a cvxpar.losses.LinearModelLoss."
        )
    if op.kind == "operator":
        raise TypeError(
            "A is a LinearOperator, which CVXPY cannot take; pass it as a dense array or a scipy.sparse matrix "
            "(e.g. A @ np.eye(d)) for the reference."
        )
    A = op.A
    if sp.issparse(A):
        return A.tocsc().astype(np.float64)
    return np.asarray(_host(A), dtype=np.float64)


def _host(a):
    if isinstance(a, np.ndarray):
        return a
    if _backend.is_cupy_array(a):
        return a.get()
    try:
        return np.asarray(a)
    except (TypeError, ValueError):
        return np.from_dlpack(a)


def loss_expression(loss, z):
    """``loss.cvxpy(z)``: the loss contract's CVXPY form of sum_i h(z_i)."""
    if not getattr(loss, "has_cvxpy", False):
        raise TypeError(
            f"{type(loss).__name__} defines no cvxpy(z), so it has no CVXPY form and cvxpar.reference cannot solve "
            "it; give the loss a cvxpy(z) method (a CVXPY expression of sum_i h(z_i)) or use cvxpar.solve."
        )
    return loss.cvxpy(z)


def build(
    loss,
    psi: PAR,
    lam,
    feasible,
    scaling: Scaling,
    *,
    formulation: str = "auto",
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    chunks: list[mip.Chunk] | None = None,
) -> Model:
    """The rescaled model (module docstring).

    ``bounds`` (x's units, finite): the mixed-integer epigraph of a nonconvex psi on them.
    ``chunks`` (x's units, one per coordinate): psi restricted to each coordinate's convex chunk
    instead (the convex re-solve after branch and bound); otherwise the :func:`cvxpar.par` atom.
    """
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be 'auto', 'residual' or 'plain'; got {formulation!r}.")
    A = data_matrix(loss)
    n, d = A.shape
    residual = formulation == "residual" or (formulation == "auto" and prefer_residual(n, d))
    sigma, rho = scaling.sigma, scaling.rho
    y = cp.Variable(d, name="y")
    A_y = A * (sigma / rho)  # exact: powers of two
    cons: list = []
    if residual:
        z = cp.Variable(n, name="z")
        cons.append(A_y @ y - z == 0)
    else:
        z = A_y @ y
    scaled = rescale.scaled_loss(loss, A_y, scaling)
    objective = loss_expression(scaled, z) if scaled is not None else loss_expression(loss, rho * z) / scaling.s
    weights = np.asarray(lam, dtype=np.float64) / scaling.s
    n_binaries = 0
    if chunks is not None:
        t, chunk_cons = mip.fixed_chunk_epigraph(y, [c.scaled(1.0 / sigma) for c in chunks])
        penalty, cons = t, cons + chunk_cons
    elif bounds is not None:
        penalty, mip_cons, n_binaries = _mip_penalty(y, scaling.par(psi), bounds[0] / sigma, bounds[1] / sigma)
        cons += mip_cons
    else:
        penalty = par(y, scaling.par(psi))
    objective = objective + (weights * cp.sum(penalty) if weights.ndim == 0 else weights @ penalty)
    cons += feasible.cvxpy(sigma * y)
    name = "residual" if residual else "plain"
    return Model(cp.Problem(cp.Minimize(objective), cons), y, scaling, name, n_binaries)


def _mip_penalty(y, psi: PAR, lower: np.ndarray, upper: np.ndarray):
    lo, hi = float(lower.min()), float(upper.max())
    w, cons = mip.par_epigraph(y, psi, lo, hi)
    if (lower > lo).any():
        cons.append(y >= lower)
    if (upper < hi).any():
        cons.append(y <= upper)
    n_chunks = len(mip.convex_chunks(psi, lo, hi))
    return w, cons, (y.shape[0] * n_chunks if n_chunks > 1 else 0)
