"""Derivatives of a PAR-regularized solution with respect to its data: the reduced KKT system on the active set.

For  minimize  f(x) + sum_i lam_i psi(x_i)  subject to  l <= x <= u,  G_eq x = h_eq,  G_ub x <= h_ub,
with f(x) = sum_j h(a_j^T x; t_j) a linear-model loss (target t), a solution x* splits its coordinates into

- *fixed* ones K: on a breakpoint q_k of psi (x_i = q_k), or on a bound (x_i = l_i or u_i);
- *free* ones F: strictly inside a piece p(i) of psi, where psi has the slope s_{p(i)},

and its active rows E (every equality, the inequalities that hold with equality).  On that split x* is
the solution of the reduced KKT system (Ma & Xiao 2025, section 1.4, for the optimality conditions of a
PAR; the system is that of an equality-constrained smooth problem, Nocedal & Wright 2006, eq. 16.4):

    grad_F f(x) + lam_F * s_F + G_EF^T nu = 0,      G_E x = h_E,      x_K = q_K (or the bound).

Where the split is stable under small perturbations of the data (nondegenerate: every breakpoint-fixed
coordinate has -grad_i f - (G_E^T nu)_i strictly inside lam_i [s_left, s_right], every bound-fixed one is
strictly pushed against its bound, every active inequality has nu > 0, and the KKT matrix is
nonsingular), the solution map is differentiable there and the implicit function theorem gives its
derivative by one solve with the KKT matrix

    M = [[H_FF, G_EF^T], [G_EF, 0]],   H = A^T diag(h''(z)) A,  z = A x,

as in OptNet (Amos & Kolter 2017, section 3) and the implicit differentiation of Blondel et al. (2022,
section 2).  For a tangent (dA, dt, dlam, dq, dv) the fixed block moves with its breakpoint (dx_i = dq_k)
or bound, the slopes of the interior pieces s_j = (v_j - v_{j-1}) / (q_j - q_{j-1}) move with (dq, dv)
(the outer slopes are held fixed), and

    M [dx_F; dnu] = -[r_F + (dG_E^T nu)_F; G_EK dx_K + dG_E x - dh_E],
    r = dA^T w + A^T (h''(z) * (dA x + A dx_K)) + A^T (dh/dt * dt) + dlam * s + lam * ds,   w = h'(z),

where (dG, dh) perturbs the rows (``A_eq``, ``b_eq``, ``A_ub``, ``b_ub``; only the active ones enter, an
inactive inequality stays inactive nearby).  :func:`vjp` applies the transpose of that map (one solve
with M, which is symmetric): with [y_F; y_nu] = -M^{-1} [dx_F; 0], the gradient of <dx, x*> with respect
to an active row's coefficients is nu_r y + y_nu,r x and with respect to its right-hand side -y_nu,r.

Degenerate points.  A coordinate within ``ACTIVE_RTOL`` (relative to max(1, ||x||_inf)) of a breakpoint or
bound is treated as fixed; a fixed coordinate on the edge of its subdifferential interval, an active
inequality with a zero multiplier or a singular M makes the point degenerate.  There the solution map is
only piecewise differentiable: the derivative returned is the one of the split above (every borderline
coordinate fixed), which is the derivative of one of the affine pieces meeting at x* (an element of
Clarke's generalized Jacobian), and the coordinates concerned are listed in ``res.info["degenerate"]``.

Everything is computed in float64 NumPy on the host; A must be dense or ``scipy.sparse`` (a
``LinearOperator`` has no entries to differentiate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cvxpar._backend import to_host as _to_numpy
from cvxpar.constraints.feasible_set import ACTIVE_RTOL
from cvxpar.losses import LinearModelLoss

#: The inputs a derivative is taken with respect to (the keys of :func:`vjp`'s dict and of :func:`jvp`'s tangents).
KEYS = ("A", "b", "lam", "breakpoints", "values")
#: The merged per-coordinate bounds (:class:`~cvxpar.constraints.FeasibleSet` ``lower`` / ``upper``): also
#: differentiated when the problem has finite bounds.
BOUND_KEYS = ("lower", "upper")
#: The stacked rows of the constraints (:class:`~cvxpar.constraints.FeasibleSet` ``A_eq, b_eq, A_ub, b_ub``, in
#: the order the constraints were given): differentiated when the problem has rows of that kind.
ROW_KEYS = ("A_eq", "b_eq", "A_ub", "b_ub")
#: A fixed coordinate is degenerate when its subgradient is within this distance (relative to
#: max(1, ||grad f||_inf, lam * max |s|)) of the edge of its interval; an active inequality when its
#: multiplier is below it.
DEGENERATE_RTOL = 1e-7


@dataclass
class ActiveSet:
    """The split of a solution and the reduced KKT matrix (see the module docstring).

    ``free`` (indices), ``piece`` (the piece of psi each free coordinate lies in, 0..m), ``at_break`` /
    ``brk`` (breakpoint-fixed coordinates and their breakpoint index), ``at_lower`` / ``at_upper``
    (bound-fixed coordinates), ``G`` (the active rows), ``rows`` (their indices in the stacked rows
    [A_eq; A_ub]), ``nu`` (their multipliers), ``degenerate`` (sorted coordinate indices, and ``-1 - r`` for
    an active inequality row r with a zero multiplier; -1 - n_rows flags a singular KKT matrix), ``M`` (the
    reduced KKT matrix).

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> res = cvxpar.solve(cvxpar.losses.LeastSquares(A, [1.0, 0.1, 1.1]), cvxpar.pars.l1([0.0]), 0.5, tol=1e-12)
    >>> act = cvxpar.derivatives.derivative(res).act
    >>> act.free, act.at_break                 # x_0 inside a piece, x_1 on the breakpoint 0
    (array([0]), array([1]))
    """

    free: np.ndarray
    piece: np.ndarray
    at_break: np.ndarray
    brk: np.ndarray
    at_lower: np.ndarray
    at_upper: np.ndarray
    G: np.ndarray
    rows: np.ndarray
    nu: np.ndarray
    degenerate: list
    M: np.ndarray


class Derivative:
    """The linearization of the solution map at a solved problem (built once per SolveResult)."""

    def __init__(self, prob, x) -> None:
        loss = prob.loss
        if not isinstance(loss, LinearModelLoss):
            raise TypeError(
                f"derivatives need a linear-model loss f(x) = sum h(Ax) (LeastSquares, Logistic, Huber or a "
                f"LinearModelLoss subclass); got {type(loss).__name__}."
            )
        if loss.op.kind == "operator":
            raise ValueError("derivatives need A's entries: pass A as a dense or scipy.sparse matrix, not a LinearOperator.")
        self.prob, self.loss, self.psi = prob, loss, prob.psi
        A = loss.op.A
        self.A = np.asarray(A.toarray() if loss.op.kind == "sparse" else _to_numpy(A), dtype=np.float64)
        self.x = np.asarray(_to_numpy(x), dtype=np.float64)
        z = loss.linear(x)
        self._z = z
        self.w = _np(loss.dh(z))
        self.D = _np(loss.d2h(z))
        self.scalar_lam = isinstance(prob.lam, float)
        d = self.x.shape[0]
        self.lam = np.full(d, prob.lam) if self.scalar_lam else _np(prob.lam)
        self.q = np.asarray(self.psi.breakpoints, dtype=np.float64)
        self.v = np.asarray(self.psi.values, dtype=np.float64)
        self.s = np.asarray(self.psi.slopes, dtype=np.float64)
        self.act = self._split()

    # ------------------------------------------------------------------ the split
    def _split(self) -> ActiveSet:
        x, q, s, lam = self.x, self.q, self.s, self.lam
        d, m = x.shape[0], q.shape[0]
        atol = ACTIVE_RTOL * max(1.0, float(np.max(np.abs(x), initial=0.0)))
        j = np.clip(np.searchsorted(q, x), 1, m - 1) if m > 1 else np.zeros(d, dtype=int)
        near = np.where(np.abs(x - q[j - 1]) <= np.abs(x - q[j]), j - 1, j) if m > 1 else j
        on_break = np.abs(x - q[near]) <= atol
        feas = self.prob.feasible
        lower, upper = feas.lower, feas.upper
        at_lo = x - lower <= atol
        at_hi = (upper - x <= atol) & ~at_lo
        piece = np.searchsorted(q, x, side="right")
        g = self.A.T @ self.w
        G_all, _, n_eq = feas.stacked()
        rows = feas.active_rows(x) if feas.has_rows else np.zeros(0, dtype=bool)
        G = G_all[rows]
        # A coordinate on a breakpoint that is also a bound is held by the bound when its subgradient pushes
        # it out past the breakpoint's outer slope (then it moves with the bound), else by the breakpoint.
        free = ~(on_break | at_lo | at_hi)
        F = np.flatnonzero(free)
        sF = s[piece[F]]
        GF = G[:, F]
        nu = np.zeros(G.shape[0])
        degenerate: set[int] = set()
        if G.shape[0]:
            nu, _, rank, _ = np.linalg.lstsq(GF.T, -(g[F] + lam[F] * sF), rcond=None)
            if rank < G.shape[0]:
                degenerate.add(-1 - G_all.shape[0])
        c = -g - G.T @ nu
        finite_s = np.abs(s[np.isfinite(s)])
        scale = max(1.0, float(np.max(np.abs(g), initial=0.0)),
                    float(np.max(lam, initial=0.0)) * float(np.max(finite_s, initial=0.0)))
        margin = DEGENERATE_RTOL * scale
        left, right = lam * s[near], lam * s[near + 1]
        with np.errstate(invalid="ignore"):
            held_lo = at_lo & on_break & (c < left - margin)
            held_hi = at_hi & on_break & (c > right + margin)
            brk_fixed = on_break & ~held_lo & ~held_hi
            bound_lo = at_lo & ~brk_fixed
            bound_hi = at_hi & ~brk_fixed
            bad = brk_fixed & ~((c > left + margin) & (c < right - margin))
            bad |= brk_fixed & (at_lo | at_hi)  # held by the breakpoint and a bound at once: kinked in q
            bad |= bound_lo & ~on_break & ~(c - lam * s[piece] < -margin)
            bad |= bound_hi & ~on_break & ~(c - lam * s[piece] > margin)
        degenerate.update(int(i) for i in np.flatnonzero(bad))
        for pos, r in enumerate(np.flatnonzero(rows)):
            if r >= n_eq and not nu[pos] > margin:
                degenerate.add(-1 - int(r))
        H = (self.A[:, F] * self.D[:, None]).T @ self.A[:, F]
        M = np.block([[H, GF.T], [GF, np.zeros((G.shape[0], G.shape[0]))]])
        if M.size and np.linalg.matrix_rank(M) < M.shape[0]:
            degenerate.add(-1 - G_all.shape[0])
        return ActiveSet(F, piece[F], np.flatnonzero(brk_fixed), near[brk_fixed], np.flatnonzero(bound_lo),
                         np.flatnonzero(bound_hi), G, np.flatnonzero(rows), nu, sorted(degenerate), M)

    def _solve(self, rhs):
        M = self.act.M
        if not M.size:
            return rhs
        try:
            sol = np.linalg.solve(M, rhs)
            if np.isfinite(sol).all():
                return sol
        except np.linalg.LinAlgError:
            pass
        return np.linalg.lstsq(M, rhs, rcond=None)[0]

    def _constraint_keys(self) -> tuple:
        feas = self.prob.feasible
        keys = BOUND_KEYS if feas.has_bounds else ()
        if feas.A_eq is not None:
            keys += ("A_eq", "b_eq")
        if feas.A_ub is not None:
            keys += ("A_ub", "b_ub")
        return keys

    def _row_gradients(self, keys, y, y_nu) -> dict:
        """Gradients with respect to the stacked rows: nu_r y + y_nu,r x (coefficients), -y_nu,r (right-hand
        sides) on the active rows, zero on the inactive ones."""
        feas, act = self.prob.feasible, self.act
        G, _, n_eq = feas.stacked()
        gG = np.zeros_like(G)
        gh = np.zeros(G.shape[0])
        gG[act.rows] = np.outer(act.nu, y) + np.outer(y_nu, self.x)
        gh[act.rows] = -y_nu
        out = {}
        for key, part in (("A_eq", gG[:n_eq]), ("b_eq", gh[:n_eq]), ("A_ub", gG[n_eq:]), ("b_ub", gh[n_eq:])):
            if key in keys:
                out[key] = part
        return out

    # ------------------------------------------------------------------ target derivative
    def _dh_dtarget(self):
        try:
            return _np(self.loss.dh_dtarget(self._z))
        except NotImplementedError as err:
            raise NotImplementedError(
                f"{type(self.loss).__name__} defines no dh_dtarget(z) (the derivative of dh(z) with respect to the "
                "target), so there is no derivative with respect to 'b'; define it, or leave 'b' out "
                "(vjp(dx, wrt=(...)), jvp without db)."
            ) from err

    # ------------------------------------------------------------------ slopes of the interior pieces
    def _slope_tangent(self, dq, dv):
        """ds (length m+1) of s_j = (v_j - v_{j-1}) / (q_j - q_{j-1}), j = 1..m-1; outer slopes fixed."""
        q, s = self.q, self.s
        ds = np.zeros_like(s)
        if q.shape[0] > 1:
            gap = np.diff(q)
            inner = s[1:-1]
            ds[1:-1] = (np.diff(dv) - inner * np.diff(dq)) / gap
        return ds

    # ------------------------------------------------------------------ forward mode
    def jvp(self, dA=None, db=None, dlam=None, dbreakpoints=None, dvalues=None, dlower=None, dupper=None,
            dA_eq=None, db_eq=None, dA_ub=None, db_ub=None):
        """dx* along the tangents (each None for zero); see the module docstring and :func:`jvp`."""
        act, A, x = self.act, self.A, self.x
        n, d = A.shape
        dA = _tangent(dA, (n, d), "dA")
        db = _tangent(db, (n,), "db")
        dlam = _lam_tangent(dlam, d, self.scalar_lam)
        dq = _tangent(dbreakpoints, self.q.shape, "dbreakpoints")
        dv = _tangent(dvalues, self.v.shape, "dvalues")
        dx = np.zeros(d)
        dx[act.at_break] = dq[act.brk]
        dx[act.at_lower] = _tangent(dlower, (d,), "dlower")[act.at_lower]
        dx[act.at_upper] = _tangent(dupper, (d,), "dupper")[act.at_upper]
        ds = self._slope_tangent(dq, dv)
        F = act.free
        u = self.D * (dA @ x + A @ dx)
        r = dA.T @ self.w + A.T @ u
        if db.any():
            r = r + A.T @ (self._dh_dtarget() * db)
        rF = r[F] + dlam[F] * self.s[act.piece] + self.lam[F] * ds[act.piece]
        dG, dh = self._row_tangents(dA_eq, db_eq, dA_ub, db_ub)
        if dG is not None:
            rF = rF + (dG.T @ act.nu)[F]
            row_rhs = act.G @ dx + dG @ x - dh
        else:
            row_rhs = act.G @ dx
        sol = self._solve(-np.concatenate([rF, row_rhs]))
        dx[F] = sol[: F.shape[0]]
        return dx

    def _row_tangents(self, dA_eq, db_eq, dA_ub, db_ub):
        """(dG, dh) restricted to the active rows, or (None, None) when no row is perturbed."""
        given = {"A_eq": dA_eq, "b_eq": db_eq, "A_ub": dA_ub, "b_ub": db_ub}
        if all(t is None for t in given.values()):
            return None, None
        feas, d = self.prob.feasible, self.x.shape[0]
        n_eq = 0 if feas.A_eq is None else feas.A_eq.shape[0]
        n_ub = 0 if feas.A_ub is None else feas.A_ub.shape[0]
        for key, t in given.items():
            if t is not None and (n_eq if key.endswith("eq") else n_ub) == 0:
                raise ValueError(f"d{key} was given but the problem has no {'equality' if key.endswith('eq') else 'inequality'} "
                                 "rows to perturb.")
        dG = np.vstack([_tangent(dA_eq, (n_eq, d), "dA_eq"), _tangent(dA_ub, (n_ub, d), "dA_ub")])
        dh = np.concatenate([_tangent(db_eq, (n_eq,), "db_eq"), _tangent(db_ub, (n_ub,), "db_ub")])
        return dG[self.act.rows], dh[self.act.rows]

    # ------------------------------------------------------------------ reverse mode
    def vjp(self, dx, wrt=None) -> dict:
        """The gradients of <dx, x*> (see :func:`vjp`)."""
        available = KEYS + self._constraint_keys()
        keys = available if wrt is None else tuple(wrt)
        unknown = [k for k in keys if k not in available]
        if unknown:
            raise ValueError(f"unknown derivative keys {unknown}; choose among {available}.")
        act, A, x = self.act, self.A, self.x
        d = x.shape[0]
        dx = np.asarray(_to_numpy(dx), dtype=np.float64)
        if dx.shape != (d,):
            raise ValueError(f"dx must be a vector of length d = {d} (the shape of x); got shape {dx.shape}.")
        F = act.free
        k = F.shape[0]
        sol = self._solve(np.concatenate([dx[F], np.zeros(act.G.shape[0])]))
        y = np.zeros(d)
        y[F] = -sol[:k]
        y_nu = -sol[k:]
        Ay = A @ y
        DAy = self.D * Ay
        out: dict = {}
        if "A" in keys:
            out["A"] = np.outer(self.w, y) + np.outer(DAy, x)
        if "b" in keys:
            out["b"] = self._dh_dtarget() * Ay
        if "lam" in keys:
            glam = np.zeros(d)
            glam[F] = y[F] * self.s[act.piece]
            out["lam"] = float(glam.sum()) if self.scalar_lam else glam
        gx = dx + A.T @ DAy + act.G.T @ y_nu  # the gradient with respect to the fixed coordinates' positions
        for key, idx in (("lower", act.at_lower), ("upper", act.at_upper)):
            if key in keys:
                out[key] = np.zeros(d)
                out[key][idx] = gx[idx]
        if any(k in keys for k in ROW_KEYS):
            out.update(self._row_gradients(keys, y, y_nu))
        if "breakpoints" in keys or "values" in keys:
            gq = np.bincount(act.brk, weights=gx[act.at_break], minlength=self.q.shape[0]).astype(np.float64)
            gs = np.bincount(act.piece, weights=y[F] * self.lam[F], minlength=self.s.shape[0]).astype(np.float64)
            gv = np.zeros_like(self.v)
            if self.q.shape[0] > 1:
                inner = gs[1:-1] / np.diff(self.q)
                gv[1:] += inner
                gv[:-1] -= inner
                gq[1:] -= inner * self.s[1:-1]
                gq[:-1] += inner * self.s[1:-1]
            if "breakpoints" in keys:
                out["breakpoints"] = gq
            if "values" in keys:
                out["values"] = gv
        return out


def _np(a):
    return np.asarray(_to_numpy(a), dtype=np.float64)


def _tangent(t, shape, name: str):
    if t is None:
        return np.zeros(shape)
    t = np.asarray(_to_numpy(t), dtype=np.float64)
    if t.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} (that of the input it perturbs); got {t.shape}.")
    return t


def _lam_tangent(dlam, d: int, scalar: bool):
    if dlam is None:
        return np.zeros(d)
    if scalar:
        if np.ndim(dlam) != 0:
            raise ValueError("lam was a scalar, so dlam must be a scalar too.")
        return np.full(d, float(dlam))
    return _tangent(dlam, (d,), "dlam")


def derivative(res) -> Derivative:
    """The :class:`Derivative` of a SolveResult (cached in ``res.info``), after checking it applies."""
    from cvxpar.result import OPTIMAL, STATIONARY

    if res.status not in (OPTIMAL, STATIONARY):
        raise ValueError(
            f"derivatives are defined at a certified solution (status 'optimal' or 'stationary'); this result is "
            f"{res.status!r}: solve to a tighter tol or with more iterations first."
        )
    cached = res.info.get("derivative")
    if cached is not None:
        return cached
    prob = res.info.get("problem")
    if prob is None:
        raise ValueError("this result does not record the problem it solved: derivatives are available for results "
                         "of cvxpar.solve with a deterministic method (not 'aprox', not cvxpar.reference).")
    der = Derivative(prob, res.x)
    res.info["derivative"] = der
    res.info["degenerate"] = der.act.degenerate
    return der


def vjp(res, dx, wrt=None) -> dict:
    """Gradients of <dx, x*> with respect to the data of the solved problem (see :meth:`SolveResult.vjp
    <cvxpar.result.SolveResult.vjp>`)."""
    return derivative(res).vjp(dx, wrt)


def jvp(res, dA=None, db=None, dlam=None, dbreakpoints=None, dvalues=None, dlower=None, dupper=None,
        dA_eq=None, db_eq=None, dA_ub=None, db_ub=None):
    """dx*: the derivative of the solution along the given tangents (see :meth:`SolveResult.jvp
    <cvxpar.result.SolveResult.jvp>`)."""
    return derivative(res).jvp(dA, db, dlam, dbreakpoints, dvalues, dlower, dupper, dA_eq, db_eq, dA_ub, db_ub)
