"""Optimality certificates for  minimize loss(x) + sum_i lam_i psi(x_i)  subject to x in C.

Computed from x alone, independently of any solver; every solver's stopping test runs this same code.
The public entry point is :func:`certificate`; its docstring states what is measured and the
tolerance rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cvxpar import _backend
from cvxpar._validation import as_lam, check_tol
from cvxpar.constraints import FeasibleSet
from cvxpar.metrics import quantization_rate
from cvxpar.par import PAR

if TYPE_CHECKING:
    from cvxpar.losses.base import Loss


class RoundingTiers:
    """Upper estimates of the stationarity residual of the exact gradient at x, computed lazily, cheapest first.

    Parameters
    ----------
    residual : float
        The residual of the computed gradient.
    bound : float
        An upper bound on max_i e_i, e the gradient's estimated rounding error (no pass over the data).
    coordinate : callable or None
        () -> (max_i e_i, the residual with each coordinate's e_i counted): passes over the data.
    accurate : callable or None
        () -> an upper bound on the exact gradient's residual from a doubled-precision gradient with a rigorous
        error bound (:meth:`cvxpar.losses.Loss.accurate_gradient`): the costliest.
    """

    def __init__(self, residual: float, bound: float, coordinate=None, accurate=None) -> None:
        self.residual = residual
        self.bound = bound
        self.value = residual + bound
        self._coordinate = coordinate
        self._accurate = accurate

    def _refine(self) -> None:
        spread, value = self._coordinate()
        self._coordinate = None
        self.bound = min(self.bound, float(spread))
        self.value = min(self.value, float(value))

    def upper(self, limit: float) -> float:
        """The best upper estimate so far, refined by the next tier while it exceeds ``limit``."""
        if self.value > limit and self._coordinate is not None:
            self._refine()
        if self.value > limit and self._accurate is not None:
            self.value = min(self.value, float(self._accurate()))
            self._accurate = None
        return self.value

    def floor(self) -> float:
        """max_i e_i, the computed gradient's estimated rounding error (refined from the cheap bound by a pass
        over the data)."""
        if self._coordinate is not None:
            self._refine()
        return self.bound

    def accurate_within(self, limit: float) -> bool:
        """For a residual above ``limit``: True when the exact gradient's residual is provably within it.  The
        doubled-precision tier runs only when the excess is within the gradient's estimated rounding error."""
        if self._accurate is None:  # already evaluated (value is then its bound), or not available
            return self.value <= limit
        if self.residual - self.bound > limit:
            return False
        if self._coordinate is not None:
            self._refine()
            if self.residual - self.bound > limit:
                return False
        return self.upper(-math.inf) <= limit


@dataclass
class Certificate:
    """What :func:`certificate` measured at x.

    Attributes
    ----------
    objective : float
        F(x) = loss(x) + sum_i lam_i psi(x_i) (psi evaluated at the nearest point of its domain when x
        leaves it; the violation is reported in ``infeasibility``). NaN for a non-finite x.
    residual : float
        Stationarity: max_i dist(-grad_i loss(x), lam_i dpsi(x_i) + N_C(x)_i), with the normal cone's
        multipliers chosen to minimize it.
    gap : float or None
        A duality gap P(x) - D(w) >= F(x) - F* (convex psi, a loss with a conjugate, bounds only), else None.
    quantization_rate : float
        Fraction of the entries of x on a breakpoint of psi.
    infeasibility : float
        The largest constraint violation in x's own units (bound violations, distances to violated rows), and at
        least x_scale times the largest row violation relative to the row's own terms
        (:func:`row_backward_error`), so that the feasibility test holds each row in both units.
    scale : float
        max(1, ||grad loss(x)||_inf): the unit of the stationarity test.
    x_scale : float
        max(1, ||x||_inf): the unit of the feasibility test.
    coordinate_residuals : array
        The per-coordinate terms of ``residual`` (NumPy).

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> loss = cvxpar.losses.LeastSquares(np.eye(2), np.array([1.0, 0.1]))
    >>> cert = cvxpar.certificate(loss, cvxpar.pars.l1([0.0]), 0.5, np.array([0.5, 0.0]))
    >>> cert.residual, cert.gap, cert.quantization_rate
    (0.0, 0.0, 0.5)
    >>> cert.certifies(1e-8)
    True
    """

    objective: float
    residual: float
    gap: float | None
    quantization_rate: float
    infeasibility: float
    scale: float
    x_scale: float = 1.0
    coordinate_residuals: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    #: () -> :class:`RoundingTiers` (or a tuple of its arguments after ``residual``): the bounds on the exact
    #: gradient's residual (see :func:`evaluate`), built only when a test needs them, then cached
    rounding_model: object = field(default=None, repr=False, compare=False)

    def _tiers(self) -> RoundingTiers | None:
        model = self.rounding_model
        if callable(model):
            model = model()
            if isinstance(model, tuple):
                model = RoundingTiers(self.residual, *model)
            self.rounding_model = model
        return model

    def residual_bound(self, limit: float = -math.inf) -> float:
        """An upper estimate of the residual of the exact gradient (the ``residual`` plus the gradient's rounding,
        see :func:`certificate`), computed only as far as a comparison with ``limit`` needs (the default: as
        tight as the data allow).

        Parameters
        ----------
        limit : float, default -inf

        Returns
        -------
        float
        """
        tiers = self._tiers()
        return self.residual if tiers is None else tiers.upper(limit)

    @property
    def rounding(self) -> float:
        """What the gradient's floating-point error adds to ``residual`` (0 for a loss that gives no estimate,
        and where the doubled-precision gradient's residual is below ``residual``): the stationarity test counts
        it against the tolerance."""
        return max(0.0, self.residual_bound(-math.inf) - self.residual)

    @property
    def precision_floor(self) -> float:
        """The estimated rounding error of the computed gradient, max over coordinates (0 for a loss that gives no
        estimate): a method working in the data's precision cannot resolve the residual below it."""
        tiers = self._tiers()
        return 0.0 if tiers is None else tiers.floor()

    def within_precision_floor(self, tol: float, slack: float = 1.0) -> bool:
        """True when ``precision_floor`` exceeds ``tol * scale`` and the residual is within ``slack`` times it: the
        iterate is as close to stationary as the computed gradient can tell, and no longer below tol.

        Parameters
        ----------
        tol : float
        slack : float, default 1
            How many times the floor the residual may be (a method's iterates land within a few dozen times it).

        Returns
        -------
        bool
        """
        tiers = self._tiers()
        if (tiers is None or not math.isfinite(self.residual) or self.residual > slack * tiers.bound
                or tiers.bound <= tol * self.scale):  # the cheap bound is above the floor: no pass over the data
            return False
        floor = tiers.floor()
        return floor > tol * self.scale and self.residual <= slack * floor

    @property
    def proven_accuracy(self) -> float:
        """max(r / scale, infeasibility / x_scale), r the tightest upper bound on the exact gradient's residual
        (the doubled-precision tier where the data allow it): the smallest tol this point provably certifies to."""
        values = (self.objective, self.residual, self.infeasibility, self.scale, self.x_scale)
        if not all(math.isfinite(v) for v in values):
            return math.inf
        return max(self.residual_bound(-math.inf) / self.scale, self.infeasibility / self.x_scale)

    @property
    def stationarity(self) -> float:
        """Alias of ``residual``."""
        return self.residual

    @property
    def worst_coordinate(self) -> int | None:
        """The coordinate with the largest stationarity residual (None when x is empty or non-finite)."""
        r = self.coordinate_residuals
        if r.size == 0 or not np.isfinite(r).any():
            return None
        return int(np.nanargmax(r))

    @property
    def relative_error(self) -> float:
        """max(residual / scale, infeasibility / x_scale): the smallest tol this point certifies to."""
        values = (self.objective, self.residual, self.infeasibility, self.scale, self.x_scale)
        if not all(math.isfinite(v) for v in values):
            return math.inf
        return max(self.residual_bound(math.inf) / self.scale, self.infeasibility / self.x_scale)

    def certifies(self, tol: float) -> bool:
        """True when an upper bound on the exact gradient's residual is ``<= tol * scale`` and ``infeasibility <=
        tol * x_scale``, all finite (the tolerance rule of :func:`certificate`).

        The bound is computed only as far as the comparison needs, cheapest first; with ``residual`` above
        ``tol * scale``, only the doubled-precision gradient can pass, and it is tried only when the excess is
        within the gradient's estimated rounding error.

        Parameters
        ----------
        tol : float
            The tolerance (as ``cvxpar.solve``'s ``tol``).

        Returns
        -------
        bool

        Raises
        ------
        ValueError
            ``tol`` is not a finite positive number (no point certifies to a zero or negative tolerance).
        """
        check_tol(tol)
        values = (self.objective, self.residual, self.infeasibility, self.scale, self.x_scale)
        if not all(math.isfinite(v) for v in values):
            return False
        limit = tol * self.scale
        if not self.infeasibility <= tol * self.x_scale:
            return False
        if self.residual > limit:
            tiers = self._tiers()
            return tiers is not None and tiers.accurate_within(limit)
        return bool(self.residual_bound(limit) <= limit)

    def limited_by_rounding(self, tol: float) -> bool:
        """True when the residual and the infeasibility pass ``tol`` but the gradient's rounding error does
        not let the test certify: the data's scaling, not the solver, limits the attainable accuracy.

        Parameters
        ----------
        tol : float

        Returns
        -------
        bool
        """
        limit = tol * self.scale
        return (math.isfinite(self.objective) and self.residual <= limit and self.infeasibility <= tol * self.x_scale
                and not self.certifies(tol))

    def __str__(self) -> str:
        worst = self.worst_coordinate
        where = "" if worst is None else f" (worst coordinate i={worst})"
        gap = ("no duality gap for this problem" if self.gap is None
               else f"duality gap {self.gap:.3e} (so F(x) - F* <= {max(self.gap, 0.0):.3e})")
        return (f"objective {self.objective:.12g}; stationarity residual {self.residual:.3e}{where}, "
                f"relative {self.residual / self.scale:.3e} of max(1, ||grad||_inf) = {self.scale:.3g}; "
                f"infeasibility {self.infeasibility:.3e}, relative {self.infeasibility / self.x_scale:.3e} of "
                f"max(1, ||x||_inf) = {self.x_scale:.3g}; {gap}; {100 * self.quantization_rate:.1f}% on the grid")


def certificate(loss: Loss | None = None, psi: PAR | None = None, lam: float | npt.ArrayLike | None = None,
                x: npt.ArrayLike | None = None, constraints: Any = None, *, with_gap: bool = True) -> Certificate:
    """Certify x for  minimize loss(x) + sum_i lam_i psi(x_i)  subject to x in C, independently of any solver.

    Parameters
    ----------
    loss : a loss of :mod:`cvxpar.losses`
    psi : cvxpar.PAR
    lam : float or array of shape (d,)
        Nonnegative weights.
    x : array of shape (d,)
        The point to certify (NumPy, CuPy or any Array-API namespace).
    constraints : constraint, list of constraints or None
        Box, NonNeg, Simplex, Linear (:mod:`cvxpar.constraints`).
    with_gap : bool, default True
        Compute the duality gap where one is defined (one more product with A and A^T).

    Returns
    -------
    Certificate
        ``objective``, ``residual``, ``gap``, ``quantization_rate``, ``infeasibility``, ``scale``,
        ``x_scale``, ``coordinate_residuals``; ``cert.certifies(tol)``; ``print(cert)`` explains it.

    Notes
    -----
    **Stationarity** (``residual``), generalizing the subdifferential distance of skglm
    (Bertrand et al. 2022):

        residual = min over the normal cone's multipliers of  max_i dist(-grad_i, lam_i [lo_i, hi_i] + N_C(x)_i)

    where [lo_i, hi_i] is the Clarke subdifferential of psi at x_i (the convex hull of the two adjacent
    slopes at a breakpoint; for a convex psi the convex subdifferential, and a point with residual 0 is
    optimal; for a nonconvex psi it is Clarke stationary).  N_C is exact for bounds ((-inf, 0] at a lower
    bound, [0, inf) at an upper one) and for linear rows it is G_act^T y (y free on equalities, >= 0 on the
    active inequalities) with y chosen to minimize the largest distance: a closed form for one row with equal
    coefficients (a simplex or budget row), a small LP otherwise.

    **Feasibility** (``infeasibility``) is measured in x's own units, separately from stationarity: the
    largest violation of a bound (or of psi's domain, where psi = +inf), and the largest Euclidean distance
    |a_j^T x - b_j| / ||a_j||_2 from x to a violated row's hyperplane; and in each row's own units: a row's
    violation relative to its terms, |a_j^T x - b_j| / (1 + |b_j| + |a_j|^T |x|) (:func:`row_backward_error`),
    enters as max(1, ||x||_inf) times itself, so the rule below holds it to ``tol`` too.

    **Tolerance rule.**  x is certified to ``tol`` when an upper bound R on the stationarity residual of the
    *exact* gradient of the data as given (A, the target and x as their floating-point values) satisfies

        R <= tol * max(1, ||grad loss(x)||_inf)   and   infeasibility <= tol * max(1, ||x||_inf),

    every quantity finite (a NaN anywhere never certifies).  Solvers report ``"optimal"`` (convex psi) or
    ``"stationary"`` (nonconvex psi) only under this rule.  R is the first of these that passes, cheapest
    first: ``residual`` plus a Cauchy-Schwarz bound on the computed gradient's rounding error; the residual with
    each coordinate's estimated rounding error e_i counted (about eps |A|^T (|A||x| + |b|),
    :meth:`cvxpar.losses.LinearModelLoss.gradient_rounding`); and, where those exceed the limit and the excess
    of ``residual`` is within e, the residual of the gradient evaluated in doubled precision (Dot2 of Ogita, Rump
    and Oishi 2005) with its rigorous error bound of a few units in the last place of g
    (:meth:`cvxpar.losses.LinearModelLoss.accurate_gradient`; NumPy and scipy.sparse data), measured against the
    smallest max(1, ||grad||_inf) the exact gradient can have.  All three are in the gradient's own units, the
    unit of the test.  Badly scaled data (column norms over many decades, entries of large magnitude) thus
    certify whenever the point itself is within tol; ``rounding`` is what R adds to ``residual``.  Where even
    the doubled-precision residual of the best point a float64 method finds stays above tol (the spacing of
    float64 x times the curvature), the status says so and gives the accuracy the point does prove
    (``precision_floor``, ``proven_accuracy``).

    **Gap.**  For a convex psi, a linear-model loss f(x) = sum_i h(a_i^T x) with a conjugate, and
    constraints that are bounds only, the Fenchel dual D(w) = -sum_i h*(w_i) - sum_i phi_i*(-(A^T w)_i)
    (phi_i = lam_i psi + indicator of [l_i, u_i], whose conjugate is a max over the breakpoints and the
    finite bounds) at the dual point w = alpha h'(Ax), alpha in (0, 1] the largest scaling keeping D finite
    (the rescaling of Massias, Gramfort and Salmon 2018).  Weak duality makes ``gap`` an upper bound on
    F(x) - F*.  Otherwise ``gap`` is None.

    Raises
    ------
    TypeError
        psi is not a PAR (the arguments in the old order ``(x, loss, psi, lam)`` say so), or one of loss,
        psi, lam, x is missing.
    ValueError
        x not a vector of the loss's length; lam negative, not finite or of the wrong length.

    Examples
    --------
    >>> import numpy as np, cvxpar
    >>> A, b = np.eye(2), np.array([1.0, 0.1])
    >>> psi = cvxpar.pars.l1(cvxpar.grids.uniform(1.0, 1))   # |x|
    >>> cert = cvxpar.certificate(cvxpar.losses.LeastSquares(A, b), psi, 0.5, np.array([0.5, 0.0]))
    >>> cert.certifies(1e-12), cert.residual, cert.gap
    (True, 0.0, 0.0)
    """
    if isinstance(lam, PAR) and not isinstance(psi, PAR):
        raise TypeError("certificate's arguments are (loss, psi, lam, x, constraints), like cvxpar.solve; "
                        "it looks like x came first: call certificate(loss, psi, lam, x) or use keywords.")
    if not isinstance(psi, PAR):
        raise TypeError(f"psi must be a cvxpar.PAR; got {type(psi).__name__}.")
    if x is None or loss is None or lam is None:
        raise TypeError("certificate needs loss, psi, lam and x.")
    xp, x, _ = _backend.prepare(x)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D vector; got shape {tuple(x.shape)}.")
    d = x.shape[0]
    n_features = getattr(loss, "n_features", None)
    if n_features is not None and n_features != d:
        raise ValueError(f"x has {d} entries but the loss has {n_features} features.")
    lam = as_lam(lam, x, d, exact=True)
    return evaluate(loss, psi, lam, x, FeasibleSet(constraints, d), with_gap=with_gap)


def row_backward_error(feasible: FeasibleSet, x) -> float:
    """The largest violation of a row relative to the row's own terms: max_j viol_j / (1 + |h_j| + |g_j|^T |x|).

    viol_j = |g_j^T x - h_j| on an equality, (g_j^T x - h_j)_+ on an inequality.  Without the 1 this is the
    componentwise backward error of x for the row (Oettli & Prager 1964; Higham 2002, *Accuracy and Stability of
    Numerical Algorithms*, Thm. 7.3): the smallest eps such that x satisfies the row exactly after relative changes
    of at most eps in each g_jk and h_j.  Where x's large coordinates nearly cancel in a row, the distance to the
    row's hyperplane relative to ||x||_inf can pass a tolerance this does not.
    """
    if not feasible.has_rows:
        return 0.0
    xn = np.asarray(_backend.to_host(x), dtype=np.float64).reshape(-1)
    G, h, n_eq = feasible.stacked()
    r = G @ xn - h
    viol = np.concatenate([np.abs(r[:n_eq]), np.maximum(r[n_eq:], 0.0)])
    return float(np.max(viol / (1.0 + np.abs(h) + np.abs(G) @ np.abs(xn)), initial=0.0))


#: A coordinate within QUANTIZED_ATOL of a grid point counts as quantized (:attr:`Certificate.quantization_rate`).
QUANTIZED_ATOL = 1e-8


def evaluate(loss, psi: PAR, lam, x, feasible: FeasibleSet, grad=None, with_gap: bool = False) -> Certificate:
    """The certificate at x for validated data (lam from :func:`cvxpar._validation.as_lam`, a :class:`FeasibleSet`).

    ``grad`` may pass grad loss(x) when the caller already holds it.
    """
    xp = _backend.array_namespace(x)
    d = x.shape[0]
    if d and not bool(xp.all(xp.isfinite(x))):
        return _non_finite(d)
    z = None
    if grad is None and _linear_model(loss):  # A x once for the gradient and the value (the same bits)
        z = loss.linear(x)
        g = loss.grad_z(z)
    else:
        g = loss.grad(x) if grad is None else grad
    if d and not bool(xp.all(xp.isfinite(g))):
        return _non_finite(d)
    grad_inf = float(xp.max(xp.abs(g))) if d else 0.0
    x_inf = float(xp.max(xp.abs(x))) if d else 0.0
    lower, upper = feasible.bounds_like(x)
    xc, domain_violation = project(xp, x, psi, lower, upper)
    objective = (loss.value(x) if z is None else loss.value_z(z)) + penalty(xc, psi, lam, xp)
    infeasibility = max(domain_violation, feasible.violation(x), max(1.0, x_inf) * row_backward_error(feasible, x))
    c = -g
    kernels = _compiled_terms(x, g, psi, lam)  # the distances and the grid hits in one compiled pass each (same bits)
    rate = None if kernels is None else kernels.grid_hits(x, *_grid_cells(psi), QUANTIZED_ATOL) / d
    if feasible.has_rows:
        lo, hi = psi.scaled_subdifferential(xc, lam, lower, upper)
        stat, dist = feasible.normal_cone_distance(x, c, lo, hi)
    elif kernels is not None:
        dist = np.empty(d)
        kernels.stationarity(xc, c, psi.breakpoints, psi.slopes, *(float(v) for v in psi.domain), lam,
                             *_per_coordinate(lower, upper, d), dist)
        stat = float(np.max(dist))
    else:
        dist = psi.subdifferential_distance(xc, c, lam, lower, upper)
        stat = float(xp.max(dist)) if d else 0.0
        dist = np.asarray(_backend.to_host(dist), dtype=np.float64)
    cert = Certificate(
        objective=objective,
        residual=stat,
        gap=None,
        quantization_rate=quantization_rate(x, psi, QUANTIZED_ATOL) if rate is None else rate,
        infeasibility=infeasibility,
        scale=max(1.0, grad_inf),
        x_scale=max(1.0, x_inf),
        coordinate_residuals=dist,
        rounding_model=_rounding_model(xp, loss, psi, lam, x, c, stat, max(1.0, grad_inf), feasible, lower, upper),
    )
    return with_duality_gap(cert, loss, psi, lam, x, feasible) if with_gap else cert


def _linear_model(loss) -> bool:
    """Whether grad and value of ``loss`` are :class:`~cvxpar.losses.LinearModelLoss`'s own, through z = A x."""
    from cvxpar.losses import LinearModelLoss

    kind = type(loss)
    return isinstance(loss, LinearModelLoss) and kind.grad is LinearModelLoss.grad and kind.value is LinearModelLoss.value


def _grid_cells(psi: PAR):
    """(grid, midpoints) of psi's quantization grid, as :func:`cvxpar.metrics.snap` forms them."""
    grid = psi.grid
    return grid, (grid[1:] + grid[:-1]) / 2


def _per_coordinate(lower, upper, d: int):
    """The bounds as two contiguous float64 arrays of length d."""
    return tuple(np.full(d, float(b)) if np.ndim(b) == 0 else np.ascontiguousarray(b, dtype=np.float64)
                 for b in (lower, upper))


def _compiled_terms(x, g, psi: PAR, lam):
    """The compiled kernels' module where :func:`evaluate` may take its stationarity and quantization terms from
    them (a scalar lam > 0, contiguous float64 NumPy x and gradient, the kernels already loaded), else None."""
    kernels = _backend.compiled_kernels()
    ok = (kernels is not None and isinstance(lam, float) and lam > 0.0 and psi.n_breakpoints > 0
          and all(_backend.is_flat_float64(v) and v.shape[0] for v in (x, g)))
    return kernels if ok else None


def _rounding_model(xp, loss, psi: PAR, lam, x, c, residual: float, scale: float, feasible: FeasibleSet, lower,
                    upper):
    """() -> :class:`RoundingTiers` for :attr:`Certificate.rounding_model`, on copies of x and c = -grad (a
    solver may reuse its buffers).

    With e the loss's per-coordinate rounding estimate (:meth:`cvxpar.losses.Loss.gradient_rounding`), the
    exact gradient's c_i lies within e_i of the computed one, and dist(c_i, [lo_i, hi_i]) is 1-Lipschitz in c_i:
    for bounds only, the exact residual is at most  max_i max(0, max(lo_i - c_i, c_i - hi_i) + e_i)  (a
    coordinate whose c_i lies inside its interval by more than e_i stays exact); with linear rows,
    residual + max_i e_i.  The last tier puts the doubled-precision gradient and its rigorous error bound
    (:meth:`cvxpar.losses.Loss.accurate_gradient`) in the same formula, with 4 u |c_i| more for the rounding of
    the distance itself, and measures it against the smallest scale the exact gradient can have."""
    if not hasattr(loss, "gradient_rounding"):
        return None
    x, c = xp.asarray(x, copy=True), xp.asarray(c, copy=True)

    def upper_with(xp_, x_, c_, e, lam_, lower_, upper_, stat=None) -> float:
        """The residual's upper estimate for a gradient -c_ within e of the exact one (see above)."""
        if feasible.has_rows or not x_.shape[0]:
            xc, _ = project(xp_, x_, psi, lower_, upper_)
            if stat is None:
                stat = feasible.normal_cone_distance(x_, c_, *psi.scaled_subdifferential(xc, lam_, lower_, upper_))[0]
            return stat + (float(xp_.max(e)) if x_.shape[0] else 0.0)
        xc, _ = project(xp_, x_, psi, lower_, upper_)
        lo, hi = psi.scaled_subdifferential(xc, lam_, lower_, upper_)
        with np.errstate(invalid="ignore"):
            signed = xp_.maximum(lo - c_, c_ - hi)
        return float(xp_.max(xp_.maximum(signed + e, 0.0)))

    def accurate() -> float:
        parts = loss.accurate_gradient(x)
        if parts is None:
            return math.inf
        g, err = parts
        as64 = lambda v: v if isinstance(v, float) else np.asarray(_backend.to_host(v), dtype=np.float64)  # noqa: E731
        u = 2.0**-53
        exact_scale = max(1.0, float(np.max(np.abs(g) - err, initial=0.0)))
        value = upper_with(np, as64(x), -g, err + 4.0 * u * np.abs(g), as64(lam), as64(lower), as64(upper))
        return value * (1.0 + 8.0 * u) * max(1.0, scale / exact_scale)

    def model() -> RoundingTiers:
        bound, estimate = loss.gradient_rounding(x)
        if bound == 0.0:
            return RoundingTiers(residual, bound)

        def coordinate():
            e = estimate()
            return (float(xp.max(e)) if x.shape[0] else 0.0), upper_with(xp, x, c, e, lam, lower, upper, residual)

        return RoundingTiers(residual, bound, None if estimate is None else coordinate, accurate)

    return model


def with_duality_gap(cert: Certificate, loss, psi: PAR, lam, x, feasible: FeasibleSet) -> Certificate:
    """``cert``, computed by :func:`evaluate` at x, with its duality gap filled in where one exists (convex
    psi, bounds only, a finite objective, a loss with ``dual_gap_parts``): the gap's share of
    ``evaluate(..., with_gap=True)``, for a caller that already holds the rest."""
    if cert.gap is not None or not (psi.is_convex and not feasible.has_rows and math.isfinite(cert.objective)):
        return cert
    lower, upper = feasible.bounds_like(x)
    return replace(cert, gap=_gap(_backend.array_namespace(x), x, loss, psi, lam, lower, upper, cert.objective))


def _non_finite(d: int) -> Certificate:
    """x (or the gradient at x) has NaN/inf entries: nothing is certified."""
    return Certificate(objective=math.nan, residual=math.inf, gap=None, quantization_rate=math.nan,
                       infeasibility=math.inf, scale=math.inf, x_scale=math.inf,
                       coordinate_residuals=np.full(d, math.inf))


def penalty(x, psi: PAR, lam, xp) -> float:
    """sum_i lam_i psi(x_i), with 0 * psi = 0 for lam_i = 0 inside the domain (x must be in it).

    A scalar lam and a contiguous float64 NumPy x, once the compiled kernels are loaded, take one compiled pass
    (:func:`cvxpar._prox_kernels.psi_sum`: the same values summed in NumPy's order, so the same bits)."""
    kernels = _backend.compiled_kernels()
    if (kernels is not None and isinstance(lam, float) and lam != 0.0 and _backend.is_flat_float64(x) and x.shape[0]
            and psi.n_breakpoints):
        return lam * kernels.psi_sum(x, psi.breakpoints, psi.values, psi.slopes, np.empty(x.shape[0]))
    vals = psi(x)
    if isinstance(lam, float):
        return 0.0 if lam == 0.0 else lam * float(xp.sum(vals))
    return float(xp.sum(xp.where(lam > 0, lam * vals, xp.zeros_like(vals))))


def project(xp, x, psi: PAR, lower=-math.inf, upper=math.inf):
    """(xc, violation): x projected on [lower, upper] and psi's domain, and the largest distance from x to them.

    The certificate measures stationarity at xc (where psi is finite) and reports the distance as
    infeasibility.
    """
    dom_lo, dom_hi = psi.domain
    lo_b = xp.maximum(_full(xp, lower, x), _full(xp, dom_lo, x))
    hi_b = xp.minimum(_full(xp, upper, x), _full(xp, dom_hi, x))
    xc = xp.minimum(xp.maximum(x, lo_b), hi_b)
    violation = float(xp.max(xp.abs(x - xc))) if x.shape[0] else 0.0
    return xc, violation


def _full(xp, value, like):
    if isinstance(value, (float, int)):
        return xp.full_like(like, float(value))
    return value


def _gap(xp, x, loss, psi: PAR, lam, lower, upper, objective: float):
    parts = getattr(loss, "dual_gap_parts", None)
    parts = parts(x) if parts is not None else None
    if parts is None:
        return None
    w, alpha, ATw = parts
    v = -ATw
    L = xp.maximum(_full(xp, lower, x), _full(xp, psi.domain[0], x))
    U = xp.minimum(_full(xp, upper, x), _full(xp, psi.domain[1], x))
    lam_arr = _full(xp, lam, x) if isinstance(lam, float) else lam
    pos = lam_arr > 0
    safe_lam = xp.where(pos, lam_arr, xp.ones_like(lam_arr))
    u = v / safe_lam
    # dom phi* = [smin, smax]: unbounded on a side with a finite bound, else psi's outer slope
    finite_L, finite_U = xp.isfinite(L), xp.isfinite(U)
    smin = xp.where(finite_L, -math.inf, _full(xp, psi.left_slope, x))
    smax = xp.where(finite_U, math.inf, _full(xp, psi.right_slope, x))
    one = xp.ones_like(u)
    zero = xp.zeros_like(u)
    a_hi = xp.where(u > smax, xp.where(smax > 0, smax / xp.where(u != 0, u, one), zero), one)
    a_lo = xp.where(u < smin, xp.where(smin < 0, smin / xp.where(u != 0, u, one), zero), one)
    a_i = xp.where(pos, xp.minimum(a_hi, a_lo), one)
    alpha = min(alpha, float(xp.min(a_i))) if x.shape[0] else alpha
    if alpha <= 0:
        return None
    conj = _conjugate_boxed(xp, psi, alpha * u, L, U)
    # support of [L, U] at alpha v: +inf toward an infinite bound (0 * inf never formed)
    inf = xp.full_like(u, math.inf)
    up = xp.where(finite_U, alpha * v * xp.where(finite_U, U, zero), inf)
    down = xp.where(finite_L, alpha * v * xp.where(finite_L, L, zero), inf)
    support = xp.where(v > 0, up, xp.where(v < 0, down, zero))
    term = xp.where(pos, lam_arr * conj, support)
    dual = -loss.conjugate(alpha * w) - float(xp.sum(term))
    return objective - dual


def _conjugate_boxed(xp, psi: PAR, u, L, U):
    """(psi + indicator [L, U])*(u) elementwise: the max of u q - psi(q) over breakpoints in [L, U] and finite bounds."""
    q = _backend.asarray_like(xp, psi.breakpoints, u)
    vals = _backend.asarray_like(xp, psi.values, u)
    cand = u[:, None] * q[None, :] - vals[None, :]
    inside = (q[None, :] >= L[:, None]) & (q[None, :] <= U[:, None])
    best = xp.max(xp.where(inside, cand, xp.full_like(cand, -math.inf)), axis=1)
    for bound in (L, U):
        fin = xp.isfinite(bound)
        safe = xp.where(fin, bound, xp.zeros_like(bound))
        best = xp.where(fin, xp.maximum(best, u * safe - psi(safe)), best)
    # unbounded sides: outside psi's outer slopes the conjugate is +inf (alpha keeps u inside)
    return best
