"""Code every method shares: the stopping test, the verbose table, the status rule, the result.

The stopping test is the certificate (cvxpar.certificate), computed every ``check_every``
iterations on the current iterate; no method has its own notion of "converged".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from cvxpar import _backend
from cvxpar import result as R
from cvxpar.certificate import Certificate, with_duality_gap
from cvxpar.losses import LinearModelLoss
from cvxpar.solvers.polish import OBJECTIVE_NOISE

#: A convex problem certified to INACCURATE_FACTOR * tol (but not tol) is "optimal_inaccurate".
INACCURATE_FACTOR = 1e3
#: A method stops once FLOOR_CHECKS checks in a row found its iterate at the data's precision floor without
#: progress (:class:`PrecisionFloor`).
FLOOR_CHECKS = 5
#: :class:`PrecisionFloor` counts a check whose residual is within FLOOR_SLACK x the gradient's estimated rounding
#: error: iterates computed at the data's precision land within a few dozen times it (ssnal's proximal steps at
#: sigma ~ 1e12 / ||A||^2 on near-basis-pursuit data of magnitude 1e6: 15-20x), not always below it.
FLOOR_SLACK = 100.0



#: Verbose rows are printed at most this often (seconds), plus every row with an event (a polish, the final
#: check) and the rows at iterations 1, 2, 4, 8, ... so short solves still show their progress.
PRINT_INTERVAL = 1.0


class Monitor:
    """Aligned progress lines, OSQP/SCS style: iteration, objective, residual, infeasibility, gap, % quantized,
    time.  Rows are printed by elapsed time (PRINT_INTERVAL), at powers of two and at events; the trace keeps
    every check."""

    def __init__(self, verbose: bool, method: str, prob, tol: float, note: str = "") -> None:
        self.verbose = bool(verbose)
        self.t0 = time.perf_counter()
        #: (time.perf_counter() stamp, objective, residual) of every check, verbose or not: what a
        #: benchmark reads to time "first reached objective f" (SolveResult.info["trace"]).
        self.trace: list[tuple[float, float, float]] = []
        if self.verbose:
            loss = type(prob.loss).__name__
            cons = "none" if prob.constraints is None else repr(prob.constraints)
            print(f"cvxpar {method}: {loss} loss, d = {prob.d}, psi {prob.psi.curvature} with "
                  f"{prob.psi.n_breakpoints} breakpoints, constraints {cons}, tol = {tol:.1e}")
            if note:
                print(note)
            print(f"{'iter':>7} {'objective':>16} {'residual':>10} {'infeas':>9} {'gap':>10} {'quant%':>7} "
                  f"{'time':>9}  event")
        self.last_print = -math.inf

    def row(self, it: int, cert: Certificate, event: str = "") -> None:
        self.trace.append((time.perf_counter(), cert.objective, cert.residual))
        if not self.verbose:
            return
        now = self.elapsed()
        if not (event or it & (it - 1) == 0 or now - self.last_print >= PRINT_INTERVAL):
            return
        self.last_print = now
        gap = "-" if cert.gap is None else f"{cert.gap:.2e}"
        print(f"{it:7d} {cert.objective:16.9e} {cert.residual:10.2e} {cert.infeasibility:9.2e} {gap:>10} "
              f"{100 * cert.quantization_rate:6.2f}% {now:8.3f}s  {event}")

    def announce(self, what: str) -> None:
        """One line before a long step (e.g. the polish), so a verbose solve never goes silent."""
        if self.verbose:
            print(f"{'':7} {what} ...")

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def footer(self, res: R.SolveResult) -> None:
        if self.verbose:
            print(f"status: {res.status} ({res.message}); objective {res.objective:.12g}, "
                  f"{res.iterations} iterations, {res.solve_time:.3f}s")


def check(prob, x, gap: bool = False, grad=None) -> Certificate:
    """The shared stopping test: the certificate at x (no duality gap unless asked), from the validated
    problem's data and, when the method holds it, its gradient at x."""
    return prob.certify(x, grad=grad, gap=gap)


def rank(certifies, tol: float, convex: bool) -> str:
    """The status rule on a certification test ``certifies(tol) -> bool``: ``"optimal"`` (``"stationary"``
    for a nonconvex psi) when it holds to tol, ``"optimal_inaccurate"`` when a convex problem holds to
    INACCURATE_FACTOR * tol, else ``"max_iter"``."""
    if certifies(tol):
        return R.OPTIMAL if convex else R.STATIONARY
    if convex and certifies(INACCURATE_FACTOR * tol):
        return R.OPTIMAL_INACCURATE
    return R.MAX_ITER


def status_of(cert: Certificate, tol: float, convex: bool) -> tuple[str, str]:
    """The honest status for a final certificate (:func:`rank`), with its message: never "optimal" unless
    the certificate holds to tol; "diverged" when the point or its objective is not finite."""
    if not math.isfinite(cert.objective):
        return R.DIVERGED, "the final point or its objective is not finite"
    status = rank(cert.certifies, tol, convex)
    bound = cert.residual_bound(tol * cert.scale) if status in (R.OPTIMAL, R.STATIONARY) else cert.residual
    stationarity = (f"residual {cert.residual:.2e}" if bound == cert.residual else
                    f"residual of the exact gradient at most {bound:.2e} (computed {cert.residual:.2e})")
    measured = (f"{stationarity} <= tol * {cert.scale:.3g} and infeasibility {cert.infeasibility:.2e} "
                f"<= tol * {cert.x_scale:.3g}")
    if status == R.OPTIMAL:
        return status, f"certified: {measured}"
    if status == R.STATIONARY:
        return status, f"certified critical point (Clarke): {measured}"
    if cert.limited_by_rounding(tol):
        return status, (f"residual {cert.residual:.2e} is within tol * scale = {tol * cert.scale:.2e}, but the gradient's "
                        f"estimated rounding error adds {cert.rounding:.2e}: the data's scaling and precision limit the "
                        "accuracy that can be certified (rescale A's rows/columns, pass float64 data rather than float32, "
                        "or ask for a larger tol)")
    if status == R.OPTIMAL_INACCURATE:
        return status, (f"residual {cert.residual:.2e} / infeasibility {cert.infeasibility:.2e} above tol but within "
                        f"{INACCURATE_FACTOR:g}x") + _precision_note(cert, tol)
    message = (f"iteration limit reached with residual {cert.residual:.2e} (tol * scale = {tol * cert.scale:.2e}) "
               f"and infeasibility {cert.infeasibility:.2e} (tol * x scale = {tol * cert.x_scale:.2e})")
    return status, message + _precision_note(cert, tol)


def _precision_note(cert: Certificate, tol: float) -> str:
    """What to tell a user whose point did not certify because the data's floating-point precision cannot
    resolve the gradient to tol: the computed gradient's estimated rounding error exceeds tol * scale and the
    residual is within it (:meth:`Certificate.within_precision_floor`), with the accuracy the point provably
    has (:attr:`Certificate.proven_accuracy`), else ""."""
    if cert.infeasibility > tol * cert.x_scale or not cert.within_precision_floor(tol):
        return ""
    return (f"; the gradient's estimated rounding error in this data's precision is {cert.precision_floor:.2e}, above "
            f"tol * scale = {tol * cert.scale:.2e}, and the residual is within it: iterates computed at this precision "
            f"cannot resolve stationarity to tol = {tol:g}; the point is certified to a relative accuracy of "
            f"{cert.proven_accuracy:.1e} (its gradient evaluated in doubled precision, with a rigorous error bound, "
            "where the data allow it): ask for a tol of that order, or pose the problem with data of smaller "
            "magnitude (the error grows with |A| |x| + |target|)")


class PrecisionFloor:
    """The stopping rule at the data's precision floor, shared by the iterative methods.

    A check is at the floor when the computed gradient's estimated rounding error exceeds tol * scale and the
    residual is within FLOOR_SLACK times it (:meth:`Certificate.within_precision_floor`): the method's own
    gradients, in the data's precision, cannot show it the way further down.  After FLOOR_CHECKS such checks in a row that lower
    neither the objective (beyond OBJECTIVE_NOISE relative) nor the best residual by half, :meth:`reached` is
    True; ``best`` is then the point of lowest objective among them (of smallest proven accuracy among those
    within OBJECTIVE_NOISE of it), with its certificate, which the method returns.
    """

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.count = 0
        self.best = None  # (x, cert) of the lowest objective since the run reached the floor
        self.reference = None  # the certificate progress is measured against

    def reached(self, cert: Certificate, x) -> bool:
        """Record the check ``cert`` at ``x``; True once the run has stayed at the floor without progress."""
        if not cert.within_precision_floor(self.tol, FLOOR_SLACK):
            self.count, self.best, self.reference = 0, None, None
            return False
        ref = self.reference
        if ref is None or (cert.objective < ref.objective - OBJECTIVE_NOISE * max(1.0, abs(ref.objective))
                           or cert.residual < 0.5 * ref.residual):
            self.count, self.reference = 0, cert
        else:
            self.count += 1
        self.offer(cert, x)
        return self.count >= FLOOR_CHECKS

    def offer(self, cert: Certificate, x) -> None:
        """A point the method found besides its checks (a polished one): kept as ``best`` where it is at the floor
        and lower (:func:`_lower`); no check is counted."""
        if self.reference is None or not cert.within_precision_floor(self.tol, FLOOR_SLACK):
            return
        if self.best is None or _lower(cert, self.best[1]):
            self.best = (_backend.array_namespace(x).asarray(x, copy=True), cert)

    @property
    def reason(self) -> str:
        return (f"{FLOOR_CHECKS} checks in a row at the data's precision floor (the residual within {FLOOR_SLACK:g}x the "
                "gradient's estimated rounding error) lowered neither the objective nor the residual")


def _lower(cert: Certificate, other: Certificate) -> bool:
    """cert's objective is below other's beyond OBJECTIVE_NOISE (relative), or within it with a smaller proven
    accuracy (:attr:`Certificate.proven_accuracy`, the exact gradient's residual bound): at the floor the computed
    residual cannot rank the points, the objective and the exact residual can."""
    noise = OBJECTIVE_NOISE * max(1.0, abs(other.objective))
    return cert.objective < other.objective - noise or (
        cert.objective <= other.objective + noise and cert.proven_accuracy < other.proven_accuracy)


@dataclass
class Outcome:
    """What a method hands back to :func:`finish`."""

    x: object
    iterations: int
    diverged: bool = False
    info: dict = field(default_factory=dict)
    #: Why the method stopped before the certificate held and before max_iter (None otherwise).
    stopped: str | None = None
    #: The certificate :func:`check` computed at exactly ``x`` (None: :func:`finish` computes it).
    cert: Certificate | None = None


def finish(prob, out: Outcome, tol: float, method: str, monitor: Monitor) -> R.SolveResult:
    """Certify the final x (with the gap) and build the SolveResult; a method that hands back the certificate
    it computed at x (``Outcome.cert``) saves its recomputation: only the gap is added."""
    if out.cert is None:
        cert = check(prob, out.x, gap=True)
    else:
        cert = with_duality_gap(out.cert, prob.loss, prob.psi, prob.lam_exact, out.x, prob.feasible)
    status, message = status_of(cert, tol, prob.convex)
    if out.diverged and status not in (R.OPTIMAL, R.STATIONARY):
        status, message = R.DIVERGED, "the iterates diverged (non-finite values)"
    elif out.stopped is not None and status == R.MAX_ITER:
        message = f"stopped before the certificate held: {out.stopped}; {message.split(' with ', 1)[-1]}"
    res = R.SolveResult(
        x=out.x,
        status=status,
        objective=cert.objective,
        iterations=out.iterations,
        solve_time=monitor.elapsed(),
        residual=cert.residual,
        gap=cert.gap,
        quantization_rate=cert.quantization_rate,
        method=method,
        message=message,
        info=out.info,
    )
    monitor.row(out.iterations, cert, "final")
    res.info["trace"] = monitor.trace
    res.info["problem"] = prob  # what res.vjp / res.jvp differentiate
    monitor.footer(res)
    return res


def infeasible_result(prob, method: str) -> R.SolveResult:
    x = prob.zeros
    return R.SolveResult(
        x=x, status=R.INFEASIBLE, objective=math.inf, iterations=0, solve_time=0.0, residual=math.inf, gap=None,
        quantization_rate=float("nan"), method=method, message=f"infeasible: {prob.infeasible}",
    )


def unbounded_result(prob, method: str, direction, seconds: float) -> R.SolveResult:
    """The result for a problem proven unbounded below before any iteration by ``direction``, a
    :class:`cvxpar.recession.Ray` (x NaN, objective -inf)."""
    return R.SolveResult(
        x=prob.zeros + math.nan, status=R.UNBOUNDED, objective=-math.inf, iterations=0, solve_time=seconds,
        residual=math.nan, gap=None, quantization_rate=math.nan, method=method,
        message=f"unbounded below: {direction.describe()}.", info={"direction": direction.v, "rate": direction.rate},
    )


def with_verdict(res: R.SolveResult, verdict) -> R.SolveResult:
    """``res`` with the reason the recession test gave no verdict (``verdict``, a
    :class:`cvxpar.recession.Verdict`), if it gave none, in ``info["recession"]``, and in the message of a
    status that leaves boundedness open (not optimal, stationary or infeasible)."""
    if verdict.skipped is not None:
        res.info["recession"] = f"skipped: {verdict.skipped}"
        if res.status not in (R.OPTIMAL, R.STATIONARY, R.INFEASIBLE):
            res.message += verdict.note()
    return res


class Evaluator:
    """Loss values and gradients that reuse z = Ax for the linear-model losses (None otherwise)."""

    def __init__(self, loss) -> None:
        self.loss = loss
        self.linear_model = isinstance(loss, LinearModelLoss)

    def z(self, x):
        return self.loss.linear(x) if self.linear_model else None

    def value(self, x, z) -> float:
        return self.loss.value_z(z) if self.linear_model else self.loss.value(x)

    def grad(self, x, z):
        return self.loss.grad_z(z) if self.linear_model else self.loss.grad(x)
