"""From a parsed :class:`~cvxpar.bridge.parse.Structure` and the current Parameter values to the
arguments of :func:`cvxpar.solve`: ``loss``, ``psi``, ``lam`` and ``constraints``.

Smooth terms (objective = sum of them, each weighted by w >= 0):

- ``w ||A x + b||^2`` (sum_squares, square, and quad_form through P = L^T L) are stacked into one
  :class:`~cvxpar.losses.LeastSquares` ``1/2 ||A~ x - b~||^2`` with A~ = sqrt(2 w) A,
  b~ = -sqrt(2 w) b;
- ``c * sum(logistic(G x))`` is c times :class:`~cvxpar.losses.Logistic` (G, y = -1): the whole
  objective is divided by c (same minimizers), so the loss is exactly Logistic; with a constant offset,
  ``sum(logistic(G x + o))``, it is :class:`~cvxpar.bridge.offset_logistic.OffsetLogistic` (G, o);
- CVXPY's ``huber(r, M) = 2 H_M(r)`` with H_M the Huber function of :class:`~cvxpar.losses.Huber`,
  and c H_M(r) = H_{sqrt(c) M}(sqrt(c) r), so ``c * sum(huber(A x + b, M))`` is
  Huber(s A, -s b, s M) with s = sqrt(2 c);
- a linear term q^T x is folded into the least-squares target when q lies in the range of
  A~^T (1/2 ||A~x - b~||^2 + (A~^T u)^T x = 1/2 ||A~x - (b~ - u)||^2 + const), else kept;
- a linear term left over is :class:`~cvxpar.losses.LinearTerm` (h(z) = z on the row q^T), and several
  different kinds are one :class:`~cvxpar.losses.Stacked` loss (their rows stacked, each with its own h),
  so every method, the certificate and the recession test take the sum as one linear-model loss.

PAR terms sum_i w_ki psi_k(x_i): identical psi's add their weights; one psi gives
``(psi, lam = w)``; several psi's with scalar (or proportional) weights are one PAR
psi = sum_k c_k psi_k with lam = 1 (or the common weight vector).

Constraints: bounds become :class:`~cvxpar.constraints.Box` / ``NonNeg``; ``x >= 0`` with a single
equality ``c * sum(x) == t`` and nothing else is ``Simplex(t / c)``; other rows are ``Linear``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cvxpar import constraints as C
from cvxpar import losses
from cvxpar.bridge.errors import UnsupportedProblemError
from cvxpar.bridge.offset_logistic import OffsetLogistic
from cvxpar.bridge.parse import PARTerm, SmoothTerm, Structure
from cvxpar.par import PAR

#: Relative tolerance for "these weights are all equal" and for a PSD check.
_RTOL = 1e-10
#: Largest dense least-squares matrix (entries) for which a linear term is folded by lstsq.
_FOLD_LIMIT = 4_000_000
#: Largest sparse least-squares matrix (entries) stored densely for a method that needs it dense.
_DENSE_LIMIT = 10_000_000

ZERO_PAR = PAR([0.0], [0.0], 0.0, 0.0)


@dataclass
class Loss:
    """The loss and the factor the objective was divided by to make it (PAR weights share it)."""

    loss: object
    scale: float


def needs_dense(constraints) -> bool:
    """Do these constraints go to a method that needs a dense least-squares matrix (ADMM: Simplex, Linear)?"""
    return isinstance(constraints, list) and any(isinstance(c, C.Simplex | C.Linear) for c in constraints)


def build_loss(s: Structure, alternative: str, dense: bool = False) -> Loss:
    """The cvxpar loss of the smooth part of the objective, divided by ``scale``.

    ``dense``: store a sparse least-squares matrix densely (up to :data:`_DENSE_LIMIT` entries).
    """
    n = s.x.size
    ls_A, ls_b, logistic, huber = [], [], [], []
    q = np.zeros(n)
    for t in s.smooth:
        A, b, w = t.r.A(), t.r.b(), np.broadcast_to(t.weight(), (t.r.m,))
        _check_finite(t, A, b, w, 0.0 if t.data is None else t.data())
        if t.kind == "linear":
            q += _rmatvec(A, w)
            continue
        _check_nonneg(w, t, alternative)
        if t.kind in ("square", "quad_form"):
            if t.kind == "quad_form":
                L = _psd_factor(t.data(), t, alternative)
                A, b = _matmul(L, A), L @ b
                w = np.full(L.shape[0], w[0])
            root = np.sqrt(2.0 * w)
            ls_A.append(_scale_rows(A, root))
            ls_b.append(-root * b)
        elif t.kind == "logistic":
            c = _uniform(w, t, alternative)
            if c > 0:
                logistic.append((c, A, np.broadcast_to(np.asarray(b, dtype=np.float64), (t.r.m,))))
        else:  # huber
            c = _uniform(w, t, alternative)
            M = np.asarray(t.data(), dtype=np.float64)
            if M.size != 1 or float(M.reshape(-1)[0]) <= 0:
                raise UnsupportedProblemError(
                    f"problem.solve(method='cvxpar') cannot take this problem: the huber term {t.source} needs one "
                    f"positive scalar M. {alternative}",
                    t.source,
                )
            if c > 0:
                huber.append((np.sqrt(2.0 * c), A, b, float(M.reshape(-1)[0])))
    scale = 1.0
    if logistic:
        weights = {c for c, _, _ in logistic}
        if max(weights) - min(weights) > _RTOL * max(weights):
            raise UnsupportedProblemError(
                "problem.solve(method='cvxpar') cannot take this problem: its logistic terms have different weights "
                f"{sorted(weights)}; write them as one weighted sum. {alternative}",
                "logistic",
            )
        scale = logistic[0][0]
    q = q / scale
    parts = []
    if ls_A:
        A = _vstack(ls_A)
        A = A if scale == 1.0 else A * (1.0 / np.sqrt(scale))
        if dense and sp.issparse(A) and A.shape[0] * A.shape[1] <= _DENSE_LIMIT:
            A = A.toarray()
        b = np.concatenate(ls_b) / np.sqrt(scale)
        u = _fold_linear(A, q)
        if u is not None:
            b, q = b - u, np.zeros(n)
        parts.append(losses.LeastSquares(A, b))
    if logistic:
        G, offset = _vstack([A for _, A, _ in logistic]), np.concatenate([b for _, _, b in logistic])
        parts.append(OffsetLogistic(G, offset) if np.any(offset != 0) else losses.Logistic(G, -np.ones(offset.size)))
    for r, A, b, M in huber:
        r = r / np.sqrt(scale)
        parts.append(losses.Huber(_scale_rows(A, np.full(A.shape[0], r)), -r * b, M * r))
    if np.any(q) or not parts:  # a PAR-only objective: the zero linear term
        parts.append(losses.LinearTerm(q[None, :]))
    if len(parts) == 1:
        return Loss(parts[0], scale)
    return Loss(losses.Stacked(parts), scale)


def build_par(s: Structure, scale: float, alternative: str) -> tuple[PAR, float | np.ndarray]:
    """(psi, lam) with lam * sum psi(x_i) = (sum of the PAR terms) / scale.

    Each term becomes (psi_k, w_k) pairs over x's coordinates (:func:`coordinate_terms`);
    identical psi's add their weights; one psi gives ``(psi, lam = w)``; several psi's with
    proportional weight vectors are the one PAR sum_k c_k psi_k (:meth:`PAR.weighted_sum`).  Anything
    else would need a different psi per coordinate, which :func:`cvxpar.solve` does not take.
    """
    groups: list[tuple[PAR, np.ndarray, PARTerm]] = []
    for t in s.pars:
        for psi_k, w in coordinate_terms(t, s.x.size, alternative):
            for i, (psi, acc, _) in enumerate(groups):
                if psi == psi_k:
                    groups[i] = (psi, acc + w, t)
                    break
            else:
                groups.append((psi_k, w, t))
    if not groups:
        return ZERO_PAR, 0.0
    if len(groups) == 1:
        psi, w, _ = groups[0]
        return psi, _compact(w / scale)
    base = next((w for _, w, _ in groups if np.ptp(w) > _RTOL * max(np.abs(w).max(), 1e-300)), None)
    if base is None:
        return _weighted_sum([psi for psi, _, _ in groups], [float(w[0]) for _, w, _ in groups]), 1.0 / scale
    nz = base > 0
    coefs = []
    for _, w, t in groups:
        c = float(w[nz][0] / base[nz][0]) if nz.any() else 0.0
        if not np.allclose(w, c * base, rtol=_RTOL, atol=0.0):
            raise UnsupportedProblemError(
                "problem.solve(method='cvxpar') cannot take this problem: its PAR terms put a different PAR on "
                f"different coordinates or slices of x (e.g. {t.source}: {len(groups)} distinct PARs psi_k(x_i) whose "
                "weight vectors are not multiples of one another), which is not supported. cvxpar.solve minimizes "
                "loss + sum_i lam_i psi(x_i) with one psi for every coordinate: per coordinate only the weight lam_i, "
                "and inside the PAR a shift or scaling (w @ cvxpar.par(multiply(a, x) - c, psi) with vectors w >= 0, "
                "a != 0 and c), may vary. To use it, write one PAR term over all of x in that form (a sum of PARs "
                "with proportional weights also counts as one); otherwise solve the problem another way. "
                f"{alternative}",
                t.source,
            )
        coefs.append(c)
    return _weighted_sum([psi for psi, _, _ in groups], coefs), base / scale


def coordinate_terms(t: PARTerm, n: int, alternative: str) -> list[tuple[PAR, np.ndarray]]:
    """The term sum_j w_j psi(a_j x_{i_j} + c_j) as pairs (psi_k, w_k): sum_k sum_i w_k,i psi_k(x_i).

    Each entry j of the PAR's argument must read one coordinate i_j of x (a selection, a nonzero
    scaling, an offset; :func:`coordinate_entries`); entries sharing (a, c) share the PAR
    psi_k(u) = psi(a u + c) (:func:`compose`), and their weights w_j go to the coordinates they read.
    Entries of weight 0 are left out (a PAR on part of x leaves lam_i = 0 elsewhere).
    """
    coord, a, c, w = coordinate_entries(t, n, alternative)
    if t.arg is None:
        return [(t.psi, np.broadcast_to(np.asarray(t.weight(), dtype=np.float64), (n,)).copy())]
    keys = np.column_stack([a, c])
    unique, which = np.unique(keys, axis=0, return_inverse=True)
    which = which.reshape(-1)
    out = []
    for k, (ak, ck) in enumerate(unique):
        wk = np.zeros(n)
        np.add.at(wk, coord[which == k], w[which == k])
        out.append((compose(t.psi, float(ak), float(ck)), wk))
    return out or [(t.psi, np.zeros(n))]


def coordinate_entries(t: PARTerm, n: int, alternative: str) -> tuple[np.ndarray, ...]:
    """The entries of positive weight of the PAR term sum_j w_j psi(a_j x_{i_j} + c_j), as arrays
    ``(i, a, c, w)``; raises :class:`UnsupportedProblemError` for a negative weight, an entry that reads
    other than one coordinate, or a walled psi that reads only some coordinates."""
    w = np.broadcast_to(np.asarray(t.weight(), dtype=np.float64), (n if t.arg is None else t.arg.m,))
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise UnsupportedProblemError(
            f"problem.solve(method='cvxpar') cannot take this problem: the PAR term {t.source} has a negative or "
            f"non-finite weight (min {w.min():.3g}); PAR weights lam must be >= 0. {alternative}",
            t.source,
        )
    if t.arg is None:
        rows = np.flatnonzero(w > 0)
        return rows, np.ones(rows.size), np.zeros(rows.size), w[rows]
    A = sp.csr_matrix(t.arg.A(), dtype=np.float64)
    A.eliminate_zeros()
    offset = np.broadcast_to(t.arg.b(), (t.arg.m,))
    rows = np.flatnonzero(w > 0)
    counts = np.diff(A.indptr)[rows]
    if np.any(counts != 1):
        j = int(rows[np.flatnonzero(counts != 1)[0]])
        raise UnsupportedProblemError(
            f"problem.solve(method='cvxpar') cannot take this problem: entry {j} of the argument of the PAR term "
            f"{t.source} involves {int(np.diff(A.indptr)[j])} coordinates of x; cvxpar needs each entry to be "
            f"a * x_i + c (one coordinate, a != 0): a selection, scaling or offset of x. {alternative}",
            t.source,
        )
    walled = np.isfinite(t.psi.domain[0]) or np.isfinite(t.psi.domain[1])
    if walled and (rows.size < t.arg.m or np.unique(A.indices[A.indptr[rows]]).size < n):
        raise UnsupportedProblemError(
            f"problem.solve(method='cvxpar') cannot take this problem: the PAR in {t.source} is +inf outside "
            f"[{t.psi.domain[0]:.6g}, {t.psi.domain[1]:.6g}] and reads only some coordinates of x (or some with weight "
            "0); cvxpar.solve would apply that domain to every coordinate. Write the domain as bounds on those "
            f"coordinates and use a PAR with finite outer slopes. {alternative}",
            t.source,
        )
    first = A.indptr[rows]
    return A.indices[first], A.data[first], np.asarray(offset[rows], dtype=np.float64), w[rows]


def compose(psi: PAR, a: float, c: float) -> PAR:
    """The PAR u -> psi(a u + c) (a != 0): breakpoints (q_j - c) / a, the same values, slopes times a
    (in reverse order when a < 0, so a hard wall stays a hard wall)."""
    if a == 1.0 and c == 0.0:
        return psi
    q = (psi.breakpoints - c) / a
    values = np.asarray(psi.values, dtype=np.float64)
    if a > 0:
        return PAR(q, values, a * psi.left_slope, a * psi.right_slope)
    return PAR(q[::-1], values[::-1], a * psi.right_slope, a * psi.left_slope)


def _weighted_sum(psis: list[PAR], coefs: list[float]) -> PAR:
    """:meth:`PAR.weighted_sum`, with disjoint domains reported as an unsupported problem."""
    try:
        return PAR.weighted_sum(psis, coefs)
    except ValueError as exc:
        raise UnsupportedProblemError(
            f"problem.solve(method='cvxpar') cannot take this problem: its PAR terms have disjoint domains, so "
            f"the objective is +inf everywhere ({exc})", "par") from exc


def build_constraints(s: Structure) -> list | str | None:
    """The cvxpar constraint list, ``None`` for none, or ``"infeasible"`` when that is evident.

    Inequality rows that read one coordinate (``x[:k] >= 0``, ``2 * x <= u``, ``abs(x) <= c``)
    are bounds; a row that reads none is checked and dropped.
    """
    n = s.x.size
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    for f in s.lower:
        lower = np.maximum(lower, _no_nan(f(), "a lower bound"))
    for f in s.upper:
        upper = np.minimum(upper, _no_nan(f(), "an upper bound"))
    ineq = []
    for g in s.ineq:
        G = _no_nan(_dense(g.A()), "an inequality constraint's coefficients")
        h = _no_nan(np.broadcast_to(g.b(), (g.m,)), "an inequality constraint's constant")
        keep = _rows_to_bounds(G, h, lower, upper)
        if keep is None:
            return "infeasible"
        if keep.any():
            ineq.append((G[keep], h[keep]))
    if np.any(lower > upper):
        return "infeasible"
    out: list = []
    eq = [(_no_nan(_dense(e.A()), "an equality constraint's coefficients"),
           _no_nan(e.b(), "an equality constraint's constant")) for e in s.eq]
    if len(eq) == 1 and not ineq and eq[0][1].size == 1 and np.all(lower == 0) and np.all(upper == np.inf):
        row = _dense(eq[0][0]).reshape(-1)
        if row[0] != 0 and np.all(row == row[0]):
            total = -float(eq[0][1][0]) / float(row[0])
            return [C.Simplex(total)] if total >= 0 else "infeasible"
    if np.any(np.isfinite(lower)) or np.any(np.isfinite(upper)):
        if np.all(lower == 0) and np.all(upper == np.inf):
            out.append(C.NonNeg())
        else:
            lo = float(lower[0]) if np.all(lower == lower[0]) else lower
            hi = float(upper[0]) if np.all(upper == upper[0]) else upper
            out.append(C.Box(lo, hi))
    if eq or ineq:
        A_eq = np.vstack([_dense(A) for A, _ in eq]) if eq else None
        b_eq = -np.concatenate([b for _, b in eq]) if eq else None
        A_ub = np.vstack([G for G, _ in ineq]) if ineq else None
        b_ub = -np.concatenate([h for _, h in ineq]) if ineq else None
        out.append(C.Linear(A_eq, b_eq, A_ub, b_ub))
    return out or None


def _rows_to_bounds(G: np.ndarray, h: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """Fold the rows g_i x_j + h <= 0 of one nonzero into ``lower`` / ``upper`` (in place); the mask of
    the rows left for Linear, or None if a row with no nonzero (0 <= -h) is violated."""
    nnz = np.count_nonzero(G, axis=1)
    if np.any((nnz == 0) & (h > 0)):
        return None
    for i in np.flatnonzero(nnz == 1):
        j = int(np.flatnonzero(G[i])[0])
        bound = -h[i] / G[i, j]
        if G[i, j] > 0:
            upper[j] = min(upper[j], bound)
        else:
            lower[j] = max(lower[j], bound)
    return nnz > 1


# ---------------------------------------------------------------------------- helpers
def _check_finite(t: SmoothTerm, *data) -> None:
    """Refuse a smooth term whose constants hold NaN or inf (they would surface later as a misleading error
    about divergence or an empty factor, not as bad data)."""
    for values in data:
        arr = values.data if sp.issparse(values) else np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"problem.solve(method='cvxpar'): the objective term {t.source} has NaN or inf in its constants; "
                "clean the data (or the Parameter values) it is built from."
            )


def _check_nonneg(w: np.ndarray, t: SmoothTerm, alternative: str) -> None:
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise UnsupportedProblemError(
            f"problem.solve(method='cvxpar') cannot take this problem: the term {t.source} has a negative or "
            f"non-finite weight (min {np.min(w):.3g}), so the loss is not convex. {alternative}",
            t.source,
        )


def _uniform(w: np.ndarray, t: SmoothTerm, alternative: str) -> float:
    if np.ptp(w) > _RTOL * max(np.abs(w).max(), 1e-300):
        raise UnsupportedProblemError(
            f"problem.solve(method='cvxpar') cannot take this problem: the {t.kind} term {t.source} weights its "
            f"entries differently; cvxpar supports a common (scalar) weight there. {alternative}",
            t.source,
        )
    return float(w[0])


def _psd_factor(P, t: SmoothTerm, alternative: str) -> np.ndarray:
    """L with L^T L = P (P symmetric PSD), rows for the positive eigenvalues only."""
    P = np.asarray(P, dtype=np.float64)
    P = 0.5 * (P + P.T)
    lam, V = np.linalg.eigh(P)
    top = max(float(np.abs(lam).max()), 1.0)
    if lam[0] < -1e-9 * top:
        raise UnsupportedProblemError(
            f"problem.solve(method='cvxpar') cannot take this problem: the matrix of {t.source} is not positive "
            f"semidefinite (smallest eigenvalue {lam[0]:.3g}). {alternative}",
            t.source,
        )
    keep = lam > 1e-12 * top
    return np.sqrt(lam[keep])[:, None] * V[:, keep].T


def _fold_linear(A, q: np.ndarray) -> np.ndarray | None:
    """u with A^T u = q (so q^T x folds into the least-squares target), or None."""
    if not np.any(q):
        return np.zeros(A.shape[0])
    if sp.issparse(A) or A.size > _FOLD_LIMIT:
        return None
    u, *_ = np.linalg.lstsq(A.T, q, rcond=None)
    if np.linalg.norm(A.T @ u - q) <= 1e-12 * (1.0 + np.linalg.norm(q)) * max(1.0, np.linalg.norm(A)):
        return u
    return None


def _compact(w: np.ndarray) -> float | np.ndarray:
    return float(w[0]) if np.ptp(w) == 0 else w


def _rmatvec(A, w: np.ndarray) -> np.ndarray:
    return np.asarray(A.T @ w).reshape(-1)


def _matmul(L: np.ndarray, A):
    return np.asarray((A.T @ L.T).T) if sp.issparse(A) else L @ A


def _scale_rows(A, s: np.ndarray):
    return sp.csr_matrix(sp.diags(s) @ A) if sp.issparse(A) else s[:, None] * A


def _no_nan(values, what: str) -> np.ndarray:
    """``values`` as an array; a NaN (which the bound and row arithmetic would silently drop) is refused."""
    arr = np.asarray(values)
    if np.isnan(arr).any():
        raise ValueError(
            f"problem.solve(method='cvxpar'): {what} has a NaN entry, so the constraint has no meaning. Check the "
            "constants and Parameter values in the constraints (an absent bound is -inf / +inf, or no constraint)."
        )
    return arr


def _dense(A) -> np.ndarray:
    return A.toarray() if sp.issparse(A) else np.asarray(A)


def _vstack(blocks: list):
    if len(blocks) == 1:
        return blocks[0]
    if all(sp.issparse(B) for B in blocks):
        return sp.csr_matrix(sp.vstack(blocks))
    return np.vstack([_dense(B) for B in blocks])
