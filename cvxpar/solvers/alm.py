"""Augmented Lagrangian on the linear rows ("alm"), each subproblem solved by ssnal: the second-order
method for Simplex and Linear constraints with a convex psi.

    minimize  f(x) + p(x)   subject to  E x = e,  G x <= h,

with f(x) = sum_i h_i(a_i^T x) a linear-model loss and p = sum_i lam_i psi + indicator(bounds) (the
bounds, a Simplex's x >= 0 included, stay in the exact prox).  The method of multipliers (Hestenes
1969, Powell 1969; Rockafellar 1976, "Augmented Lagrangians and applications of the proximal point
algorithm in convex programming", Math. Oper. Res. 1(2), eq. (1.5) for the inequality rows) minimizes

    f(x) + p(x) + sigma/2 ||E x - e + mu / sigma||^2 + sigma/2 ||max(0, G x - h + nu / sigma)||^2

over x, then updates  mu += sigma (E x - e),  nu = max(0, nu + sigma (G x - h)).  The augmented terms
are themselves a linear-model loss on the stacked rows [A; sqrt(sigma) E; sqrt(sigma) G] (a least
squares term per equality row, a one-sided one per inequality row: piecewise quadratic, with
generalized second derivative 0 or 1), so each subproblem is an unconstrained-row PAR problem that
ssnal (:mod:`cvxpar.solvers.ssnal`) solves by semismooth Newton, warm-started at the previous x;
least squares with equality rows only stays least squares (ssnal's closed-form path); ssnal runs
without its own polish (that one would land on the subproblem's kinks, not the constrained problem's).  The rows are
scaled to unit norm, and sigma starts at SIGMA0_RATIO x L / ||R||_2^2 (R the scaled rows; L the
loss's Lipschitz constant: the rows then weigh SIGMA0_RATIO times the data) and grows x SIGMA_GROWTH
whenever an outer step does not cut the row violation by ROW_PROGRESS.

After each outer step the shared certificate judges the point for the original problem, and the
active-set polish with the working rows (:func:`cvxpar.solvers.polish.newton_polish`: the KKT system
of the free coordinates and the rows, a primal active set on the pieces) lands exactly on the kinks
and the rows once the split has settled: usually after the first outer step.
"""

from __future__ import annotations

import math

import numpy as np

from cvxpar.constraints import Box
from cvxpar.losses import LeastSquares, LinearModelLoss
from cvxpar.solvers import ssnal
from cvxpar.solvers._common import Monitor, Outcome, check
from cvxpar.solvers.polish import newton_polish

#: sigma starts at SIGMA0_RATIO * L / ||R||_2^2 (R the unit-norm rows).
SIGMA0_RATIO = 100.0
#: sigma grows x SIGMA_GROWTH after an outer step that cut the largest row violation by less than ROW_PROGRESS.
SIGMA_GROWTH = 10.0
ROW_PROGRESS = 0.25
#: The subproblems' certificate tolerance starts at INNER_TOL0 and shrinks x INNER_TOL_DECAY per outer step,
#: down to INNER_TOL_FLOOR x tol.  1e-5 rather than 1e-4: the polish with the rows identifies the split from the
#: first subproblem's point far more often (66 instances, session 13: 3 rather than 10 needed a second outer step).
INNER_TOL0 = 1e-5
INNER_TOL_DECAY = 0.1
INNER_TOL_FLOOR = 0.1
#: ssnal's outer-step limit per subproblem.
INNER_MAX_ITER = 200
#: The outer loop stops (``Outcome.stopped``) once STALL_STEPS outer steps in a row left the best relative error
#: above STALL_FACTOR times what it was before them and left the rows' violation there too: subproblems that make
#: no progress (data too ill-conditioned for ssnal to solve them) would otherwise repeat, each at full cost, up to
#: max_iter.  The violation counts because the method of multipliers converges through it: the certificate's
#: residual at a point just off the rows is no guide (the rows are not yet active there, so their multipliers
#: cannot enter it) and stays flat until the point is on them.
STALL_STEPS = 5
STALL_FACTOR = 0.99
#: ... and the violation to fall below STALL_VIOLATION_FACTOR times its value then, while it is above VIOLATION_FLOOR x
#: tol x x_scale: feasibility alone does not certify, since a row counts as active only within ACTIVE_RTOL = 1e-9
#: (relative) of its hyperplane (:mod:`cvxpar.constraints.feasible_set`), and the iterates approach an active row
#: from either side (measured: certified at violation 1.9e-10, not at 5.4e-9 with tol = 1e-8).
STALL_VIOLATION_FACTOR = 0.5
VIOLATION_FLOOR = 1e-3


def applies(prob) -> bool:
    """True when "alm" can solve the problem: a convex psi and a linear-model loss on a dense NumPy or a
    scipy.sparse A (what ssnal takes)."""
    loss = prob.loss
    return (prob.convex and isinstance(loss, LinearModelLoss) and loss.op.kind in ("dense", "sparse")
            and prob.xp.__name__.endswith("numpy"))


def run(prob, *, tol: float, max_iter: int, polish: bool, monitor: Monitor, sigma0: float | None = None) -> Outcome:
    """Outer multiplier steps (``max_iter`` bounds them), each an ssnal solve of the augmented subproblem."""
    if not applies(prob):
        raise ValueError("method 'alm' needs a convex psi and a linear-model loss on a dense NumPy or scipy.sparse A.")
    S = prob.feasible
    R, r, n_eq = S.stacked()
    norms = np.linalg.norm(R, axis=1)
    keep = norms > 0  # an all-zero row is 0 = r or 0 <= r: the phase-1 check in Problem already judged it
    R, r, n_eq = R[keep] / norms[keep, None], r[keep] / norms[keep], int(keep[:n_eq].sum())
    box = None if not S.has_bounds else Box(S.lower, S.upper)
    L = max(prob.loss.lipschitz(), 1e-300)
    sigma = float(sigma0) if sigma0 is not None else SIGMA0_RATIO * L / max(np.linalg.norm(R, 2) ** 2, 1e-300)
    y = np.zeros(R.shape[0])
    x = prob.start()
    inner_tol = max(INNER_TOL0, tol)
    violation = math.inf
    best, best_cert = x, None  # the start's certificate is needed only once an outer step and its polish do not certify
    errors = []  # the best relative error before each outer step
    violations = [math.inf]  # the rows' violation at each outer step's point (0 below VIOLATION_FLOOR)
    newton = polishes = it = 0
    stopped = None
    for it in range(1, max_iter + 1):
        inner = _subproblem(prob, R, r, n_eq, y, sigma, box, x)
        # ssnal's own polish would land on the augmented subproblem's kinks; the polish below, with the rows, is the
        # one that lands the constrained problem, so the subproblem is left to ssnal's Newton steps alone
        out = ssnal.run(inner, tol=inner_tol, max_iter=INNER_MAX_ITER, polish=False,
                        monitor=Monitor(False, "ssnal", inner, inner_tol))
        newton += int(out.info.get("newton_steps", 0))
        x = out.x
        res = R @ x - r
        y = y + sigma * res
        y[n_eq:] = np.maximum(y[n_eq:], 0.0)
        cert = check(prob, x)
        monitor.row(it, cert, f"sigma {sigma:.1e}, {out.iterations} ssnal steps")
        if cert.certifies(tol):
            best, best_cert = x, cert
            break
        pcert = None
        if polish:
            monitor.announce("polish: Newton steps on the active set with the working rows")
            # x's certificate is in hand: the polish compares its steps with it instead of certifying x again
            px, pcert, _ = newton_polish(prob, x, 1.0 / L, tol=tol, check=lambda v: check(prob, v), x_cert=cert)
            polishes += 1
            monitor.row(it, pcert, "polish")
            if pcert.certifies(tol):  # the first certified point (the loop stops there; the start is not judged)
                best, best_cert = px, pcert
                break
        if best_cert is None:  # the start's certificate: needed only now, once the first step did not certify
            best_cert = check(prob, best)
            errors.append(best_cert.relative_error)
        if _ranks_above(cert, best_cert, tol):
            best, best_cert = x, cert
        if pcert is not None and _ranks_above(pcert, best_cert, tol):
            best, best_cert = px, pcert
        errors.append(best_cert.relative_error)
        violations.append(cert.infeasibility if cert.infeasibility > VIOLATION_FLOOR * tol * cert.x_scale else 0.0)
        if _stalled(errors, violations):
            stopped = (f"{STALL_STEPS} outer steps left the relative error at {errors[-1]:.2e} (a subproblem solver "
                       "making no progress: the data or rows may be too ill-conditioned)")
            break
        worst = float(np.max(np.abs(np.concatenate([res[:n_eq], np.maximum(res[n_eq:], 0.0)])), initial=0.0))
        if worst > ROW_PROGRESS * violation:
            sigma *= SIGMA_GROWTH
        violation = worst
        inner_tol = max(inner_tol * INNER_TOL_DECAY, INNER_TOL_FLOOR * tol)
    return Outcome(best, it, info={"sigma_rows": sigma, "newton_steps": newton, "polishes": polishes}, stopped=stopped,
                   cert=best_cert)


def _stalled(errors: list[float], violations: list[float]) -> bool:
    """STALL_STEPS outer steps made no progress: the best relative error did not fall below STALL_FACTOR times its
    value before them, and the rows' violation (0 below VIOLATION_FLOOR x tol x x_scale) did not fall below
    STALL_VIOLATION_FACTOR times its value then.  The two lists run in step (one entry per outer step, after the
    start's)."""
    if len(errors) <= STALL_STEPS:
        return False
    no_error_progress = not errors[-1] < STALL_FACTOR * errors[-1 - STALL_STEPS]
    v_now, v_then = violations[-1], violations[-1 - STALL_STEPS]
    return no_error_progress and not (0.0 < v_now < STALL_VIOLATION_FACTOR * v_then)


def _ranks_above(new, old, tol: float) -> bool:
    """new certifies where old does not, else the smaller relative error."""
    if new.certifies(tol) != old.certifies(tol):
        return new.certifies(tol)
    return new.relative_error < old.relative_error


def _subproblem(prob, R, r, n_eq: int, y, sigma: float, box, x):
    """The augmented subproblem as a validated Problem: the loss plus the rows' augmented terms, the bounds,
    started at x."""
    from cvxpar.solvers._problem import Problem

    s = math.sqrt(sigma)
    loss = prob.loss
    rows = s * R
    shift = s * (r - y / sigma)
    if isinstance(loss, LeastSquares) and n_eq == R.shape[0]:
        inner = LeastSquares(_vstack(loss.op, rows), np.concatenate([loss.target, shift]))
    else:
        inner = _Augmented(loss, _vstack(loss.op, rows), shift, n_eq)
    return Problem(inner, prob.psi, prob.lam, box, x)


def _vstack(op, rows):
    """[A; rows] in A's format (dense NumPy or scipy.sparse)."""
    if op.kind == "sparse":
        import scipy.sparse as sp

        return sp.vstack([op.A, sp.csr_matrix(rows)], format=op.A.format)
    return np.vstack([op.A, rows])


class _Augmented(LinearModelLoss):
    """sum_i h_i(a_i^T x) of the base loss on its n samples, plus 1/2 (z_j - t_j)^2 on n_eq equality rows and
    1/2 max(0, z_j - t_j)^2 on the inequality rows (z = [A; rows] x, t the rows' shifted right-hand sides)."""

    def __init__(self, base: LinearModelLoss, stacked, shift, n_eq: int) -> None:
        self.base, self.n_base, self.n_eq = base, base.n_samples, n_eq
        self.shift = shift
        self.smoothness = None if base.smoothness is None else max(float(base.smoothness), 1.0)
        self.piecewise_quadratic = base.piecewise_quadratic
        super().__init__(stacked, np.concatenate([np.zeros(base.n_samples), shift]))

    def _rows(self, z):
        t = z[self.n_base:] - self.shift
        t[self.n_eq:] = np.maximum(t[self.n_eq:], 0.0)
        return t

    def h(self, z):
        t = self._rows(z)
        return np.concatenate([self.base.h(z[:self.n_base]), 0.5 * t * t])

    def dh(self, z):
        return np.concatenate([self.base.dh(z[:self.n_base]), self._rows(z)])

    def d2h(self, z):
        on = np.ones(z.shape[0] - self.n_base)
        on[self.n_eq:] = z[self.n_base + self.n_eq:] > self.shift[self.n_eq:]
        return np.concatenate([self.base.d2h(z[:self.n_base]), on])
