"""The proximal-gradient loop shared by ``pg`` and ``fista``.

    x+ = prox_{t lam psi + box}(y - t grad f(y))

- step t = 1/L from a power-iteration estimate of L, halved by backtracking on the
  sufficient-decrease test f(x+) <= f(y) + <grad f(y), x+ - y> + ||x+ - y||^2 / (2t)
  (Beck and Teboulle 2009);
- ``accelerate=True``: FISTA momentum with the adaptive gradient restart of O'Donoghue and
  Candes (2015): restart when <y - x+, x+ - x> > 0 (their gradient scheme,
  sec. 3.2).  For a nonconvex psi the step is also monotone: an x+ that
  raises the objective is discarded and the momentum reset, so the objective never increases;
- every ``check_every`` iterations the shared certificate decides convergence, and (``polish``)
  the active-set Newton polish is tried when the set of fixed coordinates has settled.

Linear-model losses keep z = Ax, so an iteration costs one product with A and one with A^T.
The loop is written against the Array API (no NumPy calls on the iterates).
"""

from __future__ import annotations

import math

from cvxpar.solvers._common import Evaluator, Monitor, Outcome, check
from cvxpar.solvers.polish import PolishSchedule, newton_polish

#: Slack in the sufficient-decrease test, relative to |f(y)| (rounding, not a real violation).
DECREASE_RTOL = 1e-12
#: Backtracking below this step: no step makes progress (the gradient is not Lipschitz here, or
#: the objective's rounding hides every decrease); the method stops and the certificate decides.
MIN_STEP = 1e-30
#: Objective changes below this (relative) are within the rounding of f: the step is then judged by
#: the gradient-difference form of the descent test instead of by function values.
ROUNDING_RTOL = 1e-12


def run(prob, *, accelerate: bool, tol: float, max_iter: int, polish: bool, monitor: Monitor,
        check_every: int = 10, polish_steps: int = 30, polish_scale: float = 1.0) -> Outcome:
    xp = prob.xp
    ev = Evaluator(prob.loss)
    L = prob.loss.lipschitz()
    t = 1.0 / L if L > 0 else 1.0
    x = prob.start()
    z = ev.z(x)
    f_x = ev.value(x, z)
    F_x = f_x + prob.penalty(x)
    y, zy, f_y = x, z, f_x
    g_y = ev.grad(y, zy)
    theta = 1.0
    monotone = not prob.convex
    schedule = PolishSchedule(prob, check_every)
    polishes = restarts = backtracks = 0
    it = 0
    for it in range(1, max_iter + 1):
        while True:
            xn = prob.prox(y - t * g_y, t)
            zn = ev.z(xn)
            f_n = ev.value(xn, zn)
            dx = xn - y
            bound = f_y + float(xp.sum(g_y * dx)) + float(xp.sum(dx * dx)) / (2.0 * t)
            if f_n <= bound + DECREASE_RTOL * abs(f_y):
                break
            if _descent_by_gradient(xp, ev, xn, zn, g_y, dx, f_n, f_y, t):
                break
            if not math.isfinite(f_y):
                return Outcome(x, it, diverged=True, info=_info(L, t, restarts, backtracks, polishes))
            if t < MIN_STEP:
                return Outcome(x, it, info=_info(L, t, restarts, backtracks, polishes),
                               stopped=f"the backtracking step fell below {MIN_STEP:g} after {it} iterations: "
                                       "no step decreases the objective measurably")
            t *= 0.5
            backtracks += 1
        if monotone:
            F_n = f_n + prob.penalty(xn)
            if F_n > F_x and theta > 1.0:  # discard, reset momentum, take a plain step from x next
                y, zy, f_y, theta = x, z, f_x, 1.0
                g_y = ev.grad(y, zy)
                restarts += 1
                continue
            F_x = F_n
        if accelerate:
            restart = float(xp.sum((y - xn) * (xn - x))) > 0.0
            if restart:
                theta = 1.0
                restarts += 1
            theta_n = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * theta * theta))
            beta = (theta - 1.0) / theta_n
            theta = theta_n
            y = xn + beta * (xn - x)
            zy = None if zn is None else zn + beta * (zn - z)
            f_y = ev.value(y, zy)
        else:
            y, zy, f_y = xn, zn, f_n
        x, z, f_x = xn, zn, f_n
        g_y = ev.grad(y, zy)
        if not math.isfinite(f_x):
            return Outcome(x, it, diverged=True, info=_info(L, t, restarts, backtracks, polishes))
        if it % check_every:
            continue
        cert = check(prob, x)
        monitor.row(it, cert)
        if cert.certifies(tol):
            break
        if cert.limited_by_rounding(tol):  # no later point certifies either; the status says why (status_of)
            return Outcome(x, it, info=_info(L, t, restarts, backtracks, polishes), cert=cert)
        if not polish or not schedule.due(it, x):
            continue
        monitor.announce("polish: Newton steps on the active set")
        px, pcert, _ = newton_polish(prob, x, t * polish_scale, steps=polish_steps, tol=tol, check=lambda v: check(prob, v))
        polishes += 1
        monitor.row(it, pcert, "polish")
        if pcert.certifies(tol):
            x = px
            break
        improved = pcert.objective < cert.objective
        schedule.record(it, improved)
        if improved:  # jump to the better point, reset momentum
            x = px
            z = ev.z(x)
            f_x = ev.value(x, z)
            F_x = pcert.objective
            y, zy, f_y, theta = x, z, f_x, 1.0
            g_y = ev.grad(y, zy)
    return Outcome(x, it, info=_info(L, t, restarts, backtracks, polishes))


def _descent_by_gradient(xp, ev, xn, zn, g_y, dx, f_n: float, f_y: float, t: float) -> bool:
    """The descent test in gradient form, used when f(x+) - f(y) is below f's rounding:
    <grad f(x+) - grad f(y), x+ - y> <= ||x+ - y||^2 / (2t)  (the local Lipschitz estimate of
    Becker, Candes and Grant 2011, TFOCS section 5.5), which stays accurate where function
    values have lost their digits."""
    if not (math.isfinite(f_n) and abs(f_n - f_y) <= ROUNDING_RTOL * max(abs(f_y), abs(f_n), 1e-300)):
        return False
    g_n = ev.grad(xn, zn)
    return float(xp.sum((g_n - g_y) * dx)) <= float(xp.sum(dx * dx)) / (2.0 * t)


def _info(L, t, restarts, backtracks, polishes) -> dict:
    return {"lipschitz": L, "step": t, "restarts": restarts, "backtracks": backtracks, "polishes": polishes}
