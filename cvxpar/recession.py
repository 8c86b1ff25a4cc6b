"""Unbounded below: an exact recession test, run before any iteration.

The problem  minimize F(x) = sum_i h_i(a_i^T x) + sum_j lam_j psi(x_j)  over
C = {x : l <= x <= u, A_eq x = b_eq, A_ub x <= b_ub}  (psi's hard walls, infinite outer slopes, folded
into l and u) is unbounded below exactly when a direction v of the recession cone

    K = {v : v_j >= 0 where l_j > -inf,  v_j <= 0 where u_j < inf,  A_eq v = 0,  A_ub v <= 0}

has a negative value of F's recession function::

    F_inf(v) = sum_i h_inf,i(a_i^T v) + sum_j lam_j psi_inf(v_j),
    psi_inf(t) = s_+ t (t >= 0),  s_- t (t < 0),      h_inf,i(w) = h_i'(+inf) w (w >= 0),  h_i'(-inf) w (w < 0),

with ``s_-`` and ``s_+`` psi's outer slopes and h_i'(+-inf) from :meth:`~cvxpar.losses.LinearModelLoss.recession_slopes`
(least squares: +-inf, i.e. A v = 0; Huber: +-M; logistic: min/max(0, -y_i)).

*If*: from a feasible x, each h_i's difference quotients increase to h_inf,i, and psi is affine beyond
its outer breakpoints, so F(x + t v) <= const + t F_inf(v) -> -inf.  *Only if*: psi is affine on each of
finitely many polyhedral cells (products of its pieces, intersected with C), whose recession cones lie
in K with the same psi_inf; on a cell F is convex and either quadratic, then bounded below when
F_inf >= 0 on the cell's recession cone (Frank & Wolfe 1956, "An algorithm for quadratic
programming", the theorem of section 7), or within a constant of its recession function (logistic:
log(1 + e^m) >= max(0, m); Huber: H_M(r) >= M|r| - M^2/2), then F >= F_inf(x) - c >= -c' on the cell
(Rockafellar 1970, Convex Analysis, Thm. 8.5 and Cor. 19.1.1, C = bounded part + recession cone).

The test first projects psi's steepest descent direction onto the rows it must keep at zero (least
squares: the null space of A), then solves a linear program over K with the normalization ``|v_j| <= 1`` (HiGHS through
:func:`scipy.optimize.milp`; a psi whose recession function is concave, ``s_+ < s_-``, takes one binary
per two-sided coordinate to pick v_j's sign); a loss whose recession function is >= 0 is first held at its
zero set (:func:`_held`), so a psi part many orders of magnitude below the loss's still decides, and the
program's costs and rows are divided by their largest entries (HiGHS reads a cost above 1e20 as infinite).  It runs only when some coordinate can move in a direction
where lam_j psi_inf < 0 or some h_i decreases at infinity, so an ordinary problem pays one pass over
its bounds.  The constraints are asked before the loss: when every coordinate is bounded both ways (a
Box, psi's walls) the recession cone is {0} and F, continuous on a compact set, is bounded below whatever
the loss (no recession slopes needed); where the loss-based test can give no verdict (a loss without
slopes, data that cannot come to the host), rows that close the cone (a Simplex, a bounded polyhedron;
:func:`_cone_is_zero`) still prove F bounded below.  The LP's direction is then made exact: its support is projected onto the null space of the
rows it must annihilate (least squares), and the result is accepted only when those rows vanish to
:data:`ZERO_RTOL` of their terms, its signs stay in K and F_inf(v) < 0 beyond rounding; otherwise
no verdict is given (the solver runs as usual, and :func:`decide` says why).  A LinearOperator A is
tested through its columns A e_j, and a Dask array brought to memory, when small enough
(:data:`OPERATOR_ENTRIES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.sparse as sp

from cvxpar import _backend

if TYPE_CHECKING:
    from cvxpar.constraints import FeasibleSet
    from cvxpar.losses.base import Loss
    from cvxpar.par import PAR

#: A LinearOperator A with at most this many entries is formed column by column (d products A e_j) for the
#: test, and a Dask A brought to memory (32 MiB of float64); a larger one gets no verdict.
OPERATOR_ENTRIES = 2**22
#: Columns A e_j formed per product with the operator.
OPERATOR_BLOCK = 256
#: A row the direction must annihilate counts as zero when |row . v| <= ZERO_RTOL * (|row| . |v|).
ZERO_RTOL = 1e-12
#: F_inf(v) counts as negative when below -RATE_RTOL times the sum of its terms' magnitudes.
RATE_RTOL = 1e-9
#: An LP entry below this (|v_j| <= 1) is taken as zero before the exact projection.
SUPPORT_TOL = 1e-9
#: Seconds HiGHS may spend on each of the test's two linear programs; past it no verdict is given.
TIME_LIMIT = 10.0
#: The first linear program keeps the SUBSET_FACTOR * n_samples + SUBSET_EXTRA most descending coordinates
#: (a direction found there proves unboundedness; only its absence needs the whole problem).
SUBSET_FACTOR = 4
SUBSET_EXTRA = 16


@dataclass
class Ray:
    """A direction along which F decreases without bound.

    Attributes
    ----------
    v : numpy.ndarray of shape (d,)
        The direction, max |v_j| = 1, in the recession cone of the constraints and psi's domain.
    rate : float
        F_inf(v) < 0: F(x + t v) <= F(x) + t * rate + const for every feasible x and large t.
    psi_rate, loss_rate : float
        The two parts of ``rate``: sum_j lam_j psi_inf(v_j) and sum_i h_inf,i(a_i^T v).
    """

    v: np.ndarray
    rate: float
    psi_rate: float
    loss_rate: float

    def describe(self, shown: int = 4) -> str:
        """A sentence naming the direction (its largest entries) and why F decreases along it."""
        nz = np.flatnonzero(self.v)
        top = nz[np.argsort(-np.abs(self.v[nz]), kind="stable")][:shown]
        entries = ", ".join(f"v[{j}] = {self.v[j]:+.3g}" for j in top)
        more = f" and {nz.size - top.size} more" if nz.size > top.size else ""
        loss = (f"the loss's recession function adds {self.loss_rate:+.3g}" if self.loss_rate != 0.0
                else "the loss stays bounded along it")
        return (f"F(x + t v) -> -inf as t -> inf along the direction v with {nz.size} nonzero entries ({entries}{more}; "
                "info['direction'] holds it), which stays in the constraints' recession cone: sum_j lam_j psi_inf(v_j) = "
                f"{self.psi_rate:+.3g} and {loss}, so F decreases at rate "
                f"{self.rate:.3g} per unit of t")


@dataclass
class Verdict:
    """What the recession test decided.

    Attributes
    ----------
    ray : Ray or None
        A direction proving F unbounded below, or None.
    skipped : str or None
        When ``ray`` is None: why no verdict could be given (a clause such as "the loss Smooth gives no
        recession_slopes"), or None when F is proven bounded below.
    """

    ray: Ray | None
    skipped: str | None = None

    def note(self) -> str:
        """A sentence for a result whose status leaves boundedness open ("" when the test decided)."""
        if self.skipped is None:
            return ""
        return (f" The recession test was skipped ({self.skipped}), so the objective may be unbounded below: "
                "a falling objective and a growing |x| at the iteration limit point that way.")


def ray(loss: Loss, psi: PAR, lam: float | npt.ArrayLike, feasible: FeasibleSet) -> Ray | None:
    """A direction proving ``inf F = -inf`` (module docstring), or None when F is bounded below or no
    verdict is possible (:func:`decide` says which).

    Parameters
    ----------
    loss : cvxpar.losses.Loss
    psi : cvxpar.PAR
    lam : float or array of shape (d,)
        Validated, nonnegative.
    feasible : cvxpar.constraints.FeasibleSet
        The constraints, nonempty.

    Returns
    -------
    Ray or None

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> from cvxpar.constraints import FeasibleSet
    >>> loss = cvxpar.losses.LeastSquares(np.array([[1.0, 1.0]]), np.array([1.0]))
    >>> psi = cvxpar.PAR([0.0], [0.0], 0.5, -0.5)        # decreasing both ways: psi_inf(t) = -|t| / 2
    >>> r = ray(loss, psi, 1.0, FeasibleSet(None, 2))
    >>> np.abs(r.v), r.rate                               # one coordinate up, the other down: A v = 0
    (array([1., 1.]), -1.0)
    >>> ray(loss, psi, 1.0, FeasibleSet(cvxpar.constraints.NonNeg(), 2)) is None
    True
    """
    return decide(loss, psi, lam, feasible).ray


def decide(loss: Loss, psi: PAR, lam: float | npt.ArrayLike, feasible: FeasibleSet) -> Verdict:
    """The recession test (module docstring): a :class:`Verdict` holding a direction proving
    ``inf F = -inf``, or none with the reason no verdict was possible (a loss without
    :meth:`~cvxpar.losses.LinearModelLoss.recession_slopes`, a LinearOperator or Dask A with more than
    :data:`OPERATOR_ENTRIES` entries, data that cannot come to the host, HiGHS's time limit, a direction
    that does not verify exactly), or neither when F is bounded below.  A feasible set whose recession
    cone is {0} (every coordinate bounded both ways, or rows that close the cone) is bounded below
    whatever the loss, so it never gets the loss's reasons.

    A LinearOperator A with at most :data:`OPERATOR_ENTRIES` entries is tested as the matrix of its
    columns A e_j (d products); a direction found on it is accepted only when the operator's own product
    A v also vanishes on the rows held at zero, to :data:`ZERO_RTOL` of the matrix's terms.

    Parameters and examples as for :func:`ray`.

    Returns
    -------
    Verdict

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> from cvxpar.constraints import FeasibleSet
    >>> f = cvxpar.losses.Smooth(lambda x: 0.0, lambda x: 0.0 * x, 1.0, n_features=2)
    >>> decide(f, cvxpar.pars.l1(), 1.0, FeasibleSet(None, 2)).skipped
    "the Smooth loss defines no recession_slopes, the limits of h_i' at +-inf"
    """
    dom_lo, dom_hi = psi.domain
    up = (feasible.upper == np.inf) & (dom_hi == np.inf)
    down = (feasible.lower == -np.inf) & (dom_lo == -np.inf)
    if not (up.any() or down.any()):
        return Verdict(None)  # every coordinate bounded both ways: the recession cone is {0}, whatever the loss
    verdict = _decide_with_loss(loss, psi, lam, feasible, up, down)
    if verdict.skipped is not None and _cone_is_zero(feasible, up, down):
        return Verdict(None)  # the rows bound the feasible set: F is continuous on a compact set
    return verdict


def _cone_is_zero(feasible: FeasibleSet, up: npt.NDArray[np.bool_], down: npt.NDArray[np.bool_]) -> bool:
    """True when the recession cone K of the module docstring is {0} (the feasible set, psi's domain
    included, is bounded), decided from the constraints alone.

    With the coordinates that can move (``up``: v_j > 0 allowed, ``down``: v_j < 0 allowed; the others held
    at 0), K = {v : G v <= 0, E v = 0} where G stacks the sign rows (-e_j where only up, e_j where only down)
    and A_ub, and E is A_eq.  By Farkas' lemma the polar of K is cone(rows of G) + span(rows of E), and
    K = {0} exactly when that polar is the whole space, i.e. when (a) [G; E] has full column rank and
    (b) some y > 0 has G^T y in the span of E^T: a finitely generated cone is a subspace exactly when a
    strictly positive combination of its generators vanishes (Schrijver 1986, *Theory of Linear and Integer
    Programming*, sec. 7.8, Gordan's theorem).  The sign rows are unit vectors, so (a) is the rank of the
    rows on the coordinates free both ways; (b) is a feasibility linear program (HiGHS) with y >= 1.
    Returns False, i.e. no claim, without rows, when (a) would need a dense matrix above
    :data:`OPERATOR_ENTRIES` entries, or when HiGHS finds no point.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> from cvxpar.constraints import FeasibleSet
    >>> free = np.ones(3, dtype=bool)
    >>> simplex = FeasibleSet(cvxpar.constraints.Simplex(), 3)      # x >= 0, sum x = 1: bounded
    >>> _cone_is_zero(simplex, free, ~np.isfinite(simplex.lower))
    True
    >>> halfspace = FeasibleSet(cvxpar.constraints.Linear(A_ub=np.ones((1, 3)), b_ub=[1.0]), 3)
    >>> _cone_is_zero(halfspace, free, free)
    False
    """
    if not feasible.has_rows:
        return False
    moving = up | down
    both, one_way = up & down, moving & ~(up & down)
    rows = [M[:, moving] for M in (feasible.A_ub, feasible.A_eq) if M is not None]
    n_ub = 0 if feasible.A_ub is None else feasible.A_ub.shape[0]
    n_eq = 0 if feasible.A_eq is None else feasible.A_eq.shape[0]
    free = both[moving]
    R = np.vstack(rows)[:, free]
    if R.shape[1] > R.shape[0] or R.size > OPERATOR_ENTRIES:
        return False  # fewer rows than free coordinates: rank deficient (or too large to decide here)
    if R.shape[1] and np.linalg.matrix_rank(R) < R.shape[1]:
        return False
    # (b): y >= 1 on the inequality rows (the sign rows of one_way coordinates, then A_ub), z free on A_eq
    m = int(moving.sum())
    k = int(one_way.sum())
    sign = np.where(up, -1.0, 1.0)[one_way]  # -e_j for v_j >= 0, +e_j for v_j <= 0
    S = sp.csr_matrix((sign, (np.flatnonzero(one_way[moving]), np.arange(k))), shape=(m, k))
    blocks = [S]
    if n_ub:
        blocks.append(sp.csr_matrix(feasible.A_ub[:, moving].T))
    if n_eq:
        blocks.append(sp.csr_matrix(feasible.A_eq[:, moving].T))
    from scipy.optimize import Bounds, LinearConstraint  # on first use (see milp)

    width = k + n_ub + n_eq
    out = milp(np.zeros(width), bounds=Bounds(np.r_[np.ones(k + n_ub), np.full(n_eq, -np.inf)], np.full(width, np.inf)),
               constraints=LinearConstraint(sp.hstack(blocks, format="csr"), np.zeros(m), np.zeros(m)),
               options={"time_limit": TIME_LIMIT})
    return out.x is not None and out.status == 0


def _decide_with_loss(loss: Loss, psi: PAR, lam, feasible: FeasibleSet, up, down) -> Verdict:
    """:func:`decide` once some coordinate can move (``up``, ``down``): the loss's part of the test."""
    slopes = loss.recession_slopes() if hasattr(loss, "recession_slopes") else None
    if slopes is None:
        return Verdict(None, f"the {type(loss).__name__} loss defines no recession_slopes, the limits of h_i' at +-inf")
    lo_h, hi_h = (np.asarray(s, dtype=np.float64) for s in slopes)
    d = feasible.d
    lam = np.broadcast_to(np.asarray(_backend.to_host(lam), dtype=np.float64), (d,))
    s_minus, s_plus = float(psi.slopes[0]), float(psi.slopes[-1])
    unit = 1.0  # F_inf is decided in units of `unit` (its sign does not depend on them)
    with np.errstate(over="ignore"):
        c_up = np.where(up, lam * np.where(up, s_plus, 0.0), 0.0)  # cost of v_j = +1 (0 * inf guarded)
        c_down = np.where(down, -lam * np.where(down, s_minus, 0.0), 0.0)  # cost of v_j = -1
    if not (np.isfinite(c_up).all() and np.isfinite(c_down).all()):  # lam * slope past the float range (1e300 * 1e12)
        unit = float(lam.max())
        c_up = np.where(up, (lam / unit) * np.where(up, s_plus, 0.0), 0.0)
        c_down = np.where(down, -(lam / unit) * np.where(down, s_minus, 0.0), 0.0)
        lo_h, hi_h = lo_h / unit, hi_h / unit
    if not ((up & (c_up < 0)).any() or (down & (c_down < 0)).any() or (lo_h > 0).any() or (hi_h < 0).any()):
        return Verdict(None)  # every allowed move raises psi, and no h_i decreases at infinity: bounded below
    if np.any(lo_h > hi_h):
        return Verdict(None, "recession_slopes gives h_i'(-inf) > h_i'(+inf) for some i, which no convex h has")
    A, why = _matrix(loss)
    if A is None:
        return Verdict(None, why)
    args = (lo_h, hi_h, up, down, c_up, c_down)
    operator = loss.op if getattr(getattr(loss, "op", None), "kind", None) == "operator" else None
    # first psi's steepest descent, projected onto the rows it must keep at 0 (often enough for least squares)
    steepest = np.where(up & (c_up < 0) & (c_up <= c_down), 1.0, np.where(down & (c_down < 0), -1.0, 0.0))
    found = _exact(steepest, A, feasible, *args, operator=operator) if steepest.any() else None
    if found is not None:
        return Verdict(_in_units(found, unit))
    # then a few of the most descending coordinates (a direction on them is a direction of F), then all
    strength = np.minimum(np.where(up, c_up, np.inf), np.where(down, c_down, np.inf))
    first = np.sort(np.argsort(strength, kind="stable")[:SUBSET_FACTOR * A.shape[0] + SUBSET_EXTRA])
    held = _held(lo_h, hi_h)
    for slopes in ([held] if held is not None else []) + [(lo_h, hi_h)]:
        program = (*slopes, up, down, c_up, c_down)
        for cols in ((first, None) if first.size < d else (None,)):
            v, why = _solve_lp(A, feasible, cols, *program)
            found = None if v is None else _exact(v, A, feasible, *program, operator=operator)
            if found is not None:
                return Verdict(_in_units(found, unit))
            if cols is None and slopes[0] is lo_h:
                return Verdict(None, why if v is None else "the linear program's direction did not verify exactly")
    return Verdict(None)


def _in_units(ray: Ray, unit: float) -> Ray:
    """``ray`` with its rates multiplied by ``unit`` (-inf past the float range)."""
    if unit == 1.0:
        return ray
    with np.errstate(over="ignore"):
        return Ray(ray.v, ray.rate * unit, ray.psi_rate * unit, ray.loss_rate * unit)


def _held(lo_h, hi_h):
    """The recession slopes of the loss held at the zero set of its recession function, or None when that
    changes nothing.

    A row with h_i'(-inf) <= 0 <= h_i'(+inf) has h_inf,i >= 0, and h_inf,i(w) = 0 exactly on w >= 0 (when
    h_i'(+inf) = 0), w <= 0 (when h_i'(-inf) = 0) or w = 0: an infinite slope on the other side keeps w there.
    A direction with F_inf < 0 under these slopes has the same F_inf under the loss's own (the held rows add 0
    to it), so it is a ray; its program has no loss cost on those rows, only sign rows, which a psi part many
    orders of magnitude below the loss's (lam = 1e-300 beside Huber rows, or Huber rows of 1e20) needs: the
    program with both costs cannot resolve the smaller one.  Such a direction is found before the full program
    is solved; the full program still decides when none is found (F_inf may be negative only where the loss
    grows)."""
    finite = np.isfinite(lo_h) & np.isfinite(hi_h) & (lo_h <= 0.0) & (hi_h >= 0.0) & ((lo_h < 0.0) | (hi_h > 0.0))
    if not finite.any():
        return None
    return np.where(finite & (lo_h < 0.0), -np.inf, lo_h), np.where(finite & (hi_h > 0.0), np.inf, hi_h)


def _matrix(loss):
    """(A as a host float64 CSR matrix or dense array, None), or (None, why not).  A loss that wraps its data
    (the Dask front end's) names it with ``recession_operator()``."""
    op = loss.recession_operator() if hasattr(loss, "recession_operator") else getattr(loss, "op", None)
    if op is None:
        return None, f"the loss {type(loss).__name__} has no data matrix A"
    if op.kind == "sparse":
        return sp.csr_matrix(op.A, dtype=np.float64), None
    if op.kind == "operator":
        return _operator_columns(op)
    if op.kind == "dask":
        n, d = op.shape
        if n * d > OPERATOR_ENTRIES:
            return None, (f"A is a Dask array of {n} x {d} = {n * d} entries, more than the {OPERATOR_ENTRIES} the "
                          "test would bring into memory")
        return np.asarray(op.A.compute(), dtype=np.float64), None
    if op.kind != "dense":
        return None, f"A is {op.kind} data, which the test does not bring into memory"
    try:
        return np.asarray(_backend.to_host(op.A), dtype=np.float64), None
    except (TypeError, ValueError, RuntimeError, BufferError):  # data that cannot come to the host: no verdict
        return None, "A cannot be copied to the host"


def _operator_columns(op):
    """(the dense matrix [A e_1, ..., A e_d] of a LinearOperator, None), or (None, why not) when it has more
    than :data:`OPERATOR_ENTRIES` entries; the columns come in blocks of at most :data:`OPERATOR_BLOCK`."""
    n, d = op.shape
    if n * d > OPERATOR_ENTRIES:
        return None, (f"A is a LinearOperator of {n} x {d} = {n * d} entries, more than the {OPERATOR_ENTRIES} the "
                      "test would form column by column; pass A as a dense or scipy.sparse matrix for a verdict")
    M = np.empty((n, d))
    for j in range(0, d, OPERATOR_BLOCK):
        k = min(OPERATOR_BLOCK, d - j)
        E = np.zeros((d, k))
        E[np.arange(j, j + k), np.arange(k)] = 1.0
        M[:, j:j + k] = np.asarray(op.A.matmat(E), dtype=np.float64).reshape(n, k)
    if not np.isfinite(M).all():
        return None, "the LinearOperator's columns A e_j have NaN or inf entries"
    return M, None


def _row_kinds(lo_h, hi_h):
    """Masks of the loss rows: w = 0 (both slopes infinite), w >= 0 (lo = -inf), w <= 0 (hi = +inf), the
    finite rows with one slope (linear cost) and with two (an epigraph variable)."""
    lo_inf, hi_inf = np.isinf(lo_h), np.isinf(hi_h)
    zero = lo_inf & hi_inf
    return zero, lo_inf & ~hi_inf, hi_inf & ~lo_inf, ~lo_inf & ~hi_inf & (lo_h == hi_h), ~lo_inf & ~hi_inf & (lo_h < hi_h)


def milp(*args, **kwargs):
    """:func:`scipy.optimize.milp`, imported on the first call: importing scipy.optimize costs about 0.1 s, which
    a solve that never needs the program (every problem whose psi grows in both directions) should not pay."""
    from scipy.optimize import milp as scipy_milp

    return scipy_milp(*args, **kwargs)


def _solve_lp(A, feasible, cols, lo_h, hi_h, up, down, c_up, c_down):
    """min F_inf(v) over K with |v_j| <= 1 (module docstring), v_j = 0 off the columns ``cols`` (None: all):
    (v of length d, None), (None, None) when F_inf >= 0 there, or (None, why) when HiGHS stops without a point
    (a point found before its time limit is a candidate like any other).

    Variables: v (d), then for the two-sided coordinates J either u_J (u_j >= lam_j psi_inf(v_j), a convex
    psi_inf) or p_J, m_J, z_J (v_j = p_j - m_j, p_j <= z_j, m_j <= 1 - z_j, z binary: a concave one), then
    t (t_i >= h_inf,i(a_i^T v) on the rows with two finite slopes).
    """
    from scipy.optimize import Bounds, LinearConstraint  # on first use (see milp)

    full = feasible.d
    A_eq, A_ub = feasible.A_eq, feasible.A_ub
    if cols is not None:
        A, up, down, c_up, c_down = A[:, cols], up[cols], down[cols], c_up[cols], c_down[cols]
        A_eq = None if A_eq is None else A_eq[:, cols]
        A_ub = None if A_ub is None else A_ub[:, cols]
    d = up.size
    zero, nonneg, nonpos, flat, kink = _row_kinds(lo_h, hi_h)
    hi_f, lo_f = np.where(np.isfinite(hi_h), hi_h, 0.0), np.where(np.isfinite(lo_h), lo_h, 0.0)
    weights = np.where(nonneg, hi_f, 0.0) + np.where(nonpos | flat, lo_f, 0.0)  # the loss's linear cost on A v
    cost_v = np.asarray(A.T @ weights, dtype=np.float64).reshape(-1)
    both = up & down
    cost_v += np.where(~both & up, c_up, 0.0) - np.where(~both & down, c_down, 0.0)
    J = np.flatnonzero(both)
    nb, k = J.size, int(kink.sum())
    concave = nb > 0 and float((c_up + c_down)[J].min()) < 0  # s_+ < s_-: v_j's sign needs a binary
    ne = 3 * nb if concave else nb
    width = d + ne + k
    pick = sp.csr_matrix((np.ones(nb), (np.arange(nb), J)), shape=(nb, d))  # rows selecting v_J
    eye_b, eye_k = sp.identity(nb, format="csr"), sp.identity(k, format="csr")
    groups = []  # (rows over all variables, lower, upper)

    def rows(Mv=None, extra=None, t=None, count=None, low=-np.inf, high=0.0):
        count = count if count is not None else (Mv if Mv is not None else extra).shape[0]
        cols = [sp.csr_matrix(Mv) if Mv is not None else sp.csr_matrix((count, d)),
                extra if extra is not None else sp.csr_matrix((count, ne)),
                t if t is not None else sp.csr_matrix((count, k))]
        groups.append((sp.hstack(cols, format="csr"), np.full(count, low), np.full(count, high)))

    for mask, sign, low in ((zero, 1.0, 0.0), (nonneg, -1.0, -np.inf), (nonpos, 1.0, -np.inf)):
        if mask.any():
            rows(sign * A[mask], low=low)
    if k:
        rows(sp.diags(lo_h[kink]) @ sp.csr_matrix(A[kink]), t=-eye_k)
        rows(sp.diags(hi_h[kink]) @ sp.csr_matrix(A[kink]), t=-eye_k)
    if A_eq is not None:
        rows(A_eq, low=0.0)
    if A_ub is not None:
        rows(A_ub)
    if concave:
        zeros = sp.csr_matrix((nb, nb))
        rows(pick, sp.hstack([-eye_b, eye_b, zeros]), low=0.0)  # v_J - p + m = 0
        rows(extra=sp.hstack([eye_b, zeros, -eye_b]))  # p - z <= 0
        rows(extra=sp.hstack([zeros, eye_b, eye_b]), high=1.0)  # m + z <= 1
        extra_cost = np.concatenate([c_up[J], c_down[J], np.zeros(nb)])
        extra_lo, extra_hi = np.zeros(3 * nb), np.ones(3 * nb)
    elif nb:
        rows(sp.diags(c_up[J]) @ pick, -eye_b)  # c_up v_j - u_j <= 0
        rows(sp.diags(-c_down[J]) @ pick, -eye_b)  # -c_down v_j - u_j <= 0
        extra_cost, extra_lo, extra_hi = np.ones(nb), np.full(nb, -np.inf), np.full(nb, np.inf)
    else:
        extra_cost = extra_lo = extra_hi = np.zeros(0)
    cost = np.concatenate([cost_v, extra_cost, np.ones(k)])
    lower = np.concatenate([np.where(down, -1.0, 0.0), extra_lo, np.full(k, -np.inf)])
    upper = np.concatenate([np.where(up, 1.0, 0.0), extra_hi, np.full(k, np.inf)])
    integrality = np.zeros(width)
    if concave:
        integrality[d + 2 * nb:d + 3 * nb] = 1
    constraints = ()
    if groups:
        M = sp.vstack([g[0] for g in groups], format="csr")
        low, high = np.concatenate([g[1] for g in groups]), np.concatenate([g[2] for g in groups])
        constraints = LinearConstraint(*_normalized_rows(M, low, high))
    out = milp(_normalized(cost), integrality=integrality, bounds=Bounds(lower, upper), constraints=constraints,
               options={"time_limit": TIME_LIMIT})
    if out.x is None or not math.isfinite(out.fun):
        return None, f"HiGHS stopped on the test's linear program without a solution ({out.message})"
    if out.fun >= 0:
        return None, None
    v = np.zeros(full)
    v[slice(None) if cols is None else cols] = out.x[:d]
    return v, None


def _normalized(cost: np.ndarray) -> np.ndarray:
    """``cost / max |cost|``: the program's minimizers and the sign of its value do not change, and HiGHS
    takes a cost above 1e20 for infinite (lam = 1e300 with a descending tail gave no solution, not a ray)."""
    top = float(np.abs(cost).max()) if cost.size else 0.0
    return cost / top if 0.0 < top < np.inf else cost


def _normalized_rows(M: sp.csr_matrix, low: np.ndarray, high: np.ndarray):
    """(M, low, high) with each row whose sides are 0 or infinite divided by its largest |entry| (the same
    half-space or hyperplane; HiGHS refuses matrix entries above 1e15 and drops those below 1e-9, so data of
    1e-200 or 1e200 would otherwise change the program)."""
    homogeneous = np.isin(low, (0.0, -np.inf)) & np.isin(high, (0.0, np.inf))
    top = np.zeros(M.shape[0])
    np.maximum.at(top, np.repeat(np.arange(M.shape[0]), np.diff(M.indptr)), np.abs(M.data))
    factor = np.where(homogeneous & (top > 0) & np.isfinite(top), top, 1.0)
    return sp.diags(1.0 / factor) @ M, low, high


def _exact(v, A, feasible, lo_h, hi_h, up, down, c_up, c_down, operator=None) -> Ray | None:
    """A candidate direction made exact (module docstring), as a Ray, or None when it does not verify
    (with a LinearOperator ``operator``, its own product A v must pass the same zero-row test)."""
    v = np.where(np.abs(v) > SUPPORT_TOL, v, 0.0)
    v = np.where(v > 0, np.where(up, v, 0.0), np.where(down, v, 0.0))
    S = np.flatnonzero(v)
    if S.size == 0:
        return None
    zero, nonneg, nonpos, _, _ = _row_kinds(lo_h, hi_h)
    rows, signs = _rows(A, feasible, zero, nonneg, nonpos)
    absrows = abs(rows)
    w, scale = rows @ v, absrows @ np.abs(v)
    tight = (signs == 0) | (np.abs(w) <= 1e3 * SUPPORT_TOL * np.maximum(scale, 1e-300))
    M = rows[tight][:, S]
    M = M.toarray() if sp.issparse(M) else M
    if M.shape[0]:
        v[S] -= _null_projection(M, v[S])
    top = float(np.abs(v).max())
    if top == 0.0 or not (np.all(np.where(v > 0, up, True)) and np.all(np.where(v < 0, down, True))):
        return None
    v = v / top
    w, scale = rows @ v, absrows @ np.abs(v)
    slack = ZERO_RTOL * scale
    ok = np.where(signs == 0, np.abs(w) <= slack, np.where(signs > 0, w >= -slack, w <= slack))
    if not ok.all() or (operator is not None and not _operator_agrees(operator, v, A, zero, nonneg, nonpos)):
        return None
    psi_terms = np.where(v > 0, c_up * v, np.where(v < 0, -c_down * v, 0.0))
    z = np.asarray(A @ v, dtype=np.float64).reshape(-1)
    hi_f, lo_f = np.where(np.isfinite(hi_h), hi_h, 0.0), np.where(np.isfinite(lo_h), lo_h, 0.0)
    loss_terms = hi_f * np.maximum(z, 0.0) + lo_f * np.minimum(z, 0.0)  # rows held at 0 contribute nothing
    psi_rate, loss_rate = float(psi_terms.sum()), float(loss_terms.sum())
    rate = psi_rate + loss_rate
    magnitude = float(np.abs(psi_terms).sum() + np.abs(loss_terms).sum())
    if not (rate < -RATE_RTOL * magnitude):
        return None
    return Ray(v=v, rate=rate, psi_rate=psi_rate, loss_rate=loss_rate)


def _operator_agrees(op, v, A, zero, nonneg, nonpos) -> bool:
    """The operator's own A v on the loss rows meets their senses to ZERO_RTOL of the terms |A| |v|."""
    z, slack = op.mv(v), ZERO_RTOL * (np.abs(A) @ np.abs(v))
    return bool(np.all(np.abs(z[zero]) <= slack[zero]) and np.all(z[nonneg] >= -slack[nonneg])
                and np.all(z[nonpos] <= slack[nonpos]))


def _null_projection(M, x):
    """The least-norm correction delta with M delta = M x (so x - delta is in M's null space): through the
    Cholesky factor of M M^T with one step of iterative refinement, or QR with pivoting when M M^T is
    singular to working precision.  Each row is first divided by its largest |entry| (the same null space; rows
    of 1e200 would overflow M M^T)."""
    top = np.abs(M).max(axis=1, keepdims=True)
    M = M / np.where((top > 0) & np.isfinite(top), top, 1.0)
    try:
        factor = scipy.linalg.cho_factor(M @ M.T, check_finite=False)
        delta = M.T @ scipy.linalg.cho_solve(factor, M @ x, check_finite=False)
        delta += M.T @ scipy.linalg.cho_solve(factor, M @ (x - delta), check_finite=False)
        if np.all(np.abs(M @ (x - delta)) <= ZERO_RTOL * (np.abs(M) @ np.abs(x - delta))):
            return delta
    except scipy.linalg.LinAlgError:
        pass
    return scipy.linalg.lstsq(M, M @ x, lapack_driver="gelsy", check_finite=False)[0]


def _rows(A, feasible, zero, nonneg, nonpos):
    """The rows a direction of K must satisfy and their sense: 0 (= 0), +1 (>= 0), -1 (<= 0)."""
    parts, signs = [], []
    for mask, sense in ((zero, 0), (nonneg, 1), (nonpos, -1)):
        if mask.any():
            parts.append(A[mask])
            signs.append(np.full(int(mask.sum()), sense))
    for M, sense in ((feasible.A_eq, 0), (feasible.A_ub, -1)):
        if M is not None:
            parts.append(M)
            signs.append(np.full(M.shape[0], sense))
    if not parts:
        return np.zeros((0, feasible.d)), np.zeros(0, dtype=int)
    if any(sp.issparse(P) for P in parts):
        return sp.vstack([sp.csr_matrix(P) for P in parts]).tocsr(), np.concatenate(signs)
    return np.vstack([np.asarray(P, dtype=np.float64) for P in parts]), np.concatenate(signs)
