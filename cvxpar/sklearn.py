"""scikit-learn estimators for PAR-regularized linear models.

:class:`PARRegressor` minimizes, scaled like :class:`sklearn.linear_model.Lasso`,

    1/(2 n) ||y - X w - c||^2 + alpha * sum_i psi(w_i)    subject to  w in C,

and :class:`PARClassifier` (binary; labels mapped to y in {-1, +1}) minimizes

    1/n sum_i log(1 + exp(-y_i (x_i^T w + c))) + alpha * sum_i psi(w_i)   subject to  w in C.

The intercept c is never regularized nor constrained.  For least squares it is eliminated
exactly by centering X and y (the optimal c is ybar - xbar^T w for every w, whatever C is),
except on scipy.sparse X with linear rows in C, where it is a free extra coordinate of the
sparse design [X, 1]; for the logistic loss it is a free extra coordinate with lam = 0 (on
centered columns, for conditioning, except on scipy.sparse X, whose design [X, 1] stays sparse).  A free coordinate takes no part in C: the linear rows get
a zero column for it.  Both call :func:`cvxpar.solve` with ``lam = n * alpha`` on the losses of
:mod:`cvxpar.losses` (lam_i = 0 for the intercept), so C may be any constraint ``cvxpar.solve``
takes for the loss: Box, NonNeg, Simplex and Linear rows (equalities, inequalities, budgets)
with a convex psi; with a nonconvex psi, the linear rows only for least squares on dense X.

:class:`PARRegressorCV` picks alpha along a warm-started path, by cross-validated mean squared
error or, with ``target_quantization_rate``, as the least regularization whose fit puts that
fraction of the coefficients on the grid.

scikit-learn is an optional extra (``pip install "cvxpar[sklearn]"``); ``import cvxpar`` does not
import it.
"""

from __future__ import annotations

import math
import numbers
import warnings
from functools import partial
from typing import NamedTuple

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import check_cv
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError(
        'cvxpar.sklearn needs scikit-learn, an optional extra of cvxpar: pip install "cvxpar[sklearn]"'
    ) from exc

from scipy.sparse import issparse
from scipy.sparse.linalg import LinearOperator
from scipy.special import expit, log_expit

from cvxpar import _progress, pars
from cvxpar.losses.dask_operator import is_dask_array
from cvxpar.metrics import quantization_rate
from cvxpar.par import PAR

__all__ = ["PARClassifier", "PARRegressor", "PARRegressorCV", "make_psi"]

#: psi family names accepted by the estimators -> builder of a PAR from a grid.
FAMILIES = {
    "l1": pars.l1,
    "ridge": pars.ridge,
    "mcp": lambda grid: pars.mcp(grid, gamma=MCP_GAMMA),
    "parq": pars.parq,
    "sawtooth": pars.sawtooth,
    "staircase": pars.staircase,
}

#: gamma of the ``psi="mcp"`` family (as skglm's MCPRegression); build ``cvxpar.pars.mcp(grid, gamma)``
#: yourself and pass the PAR for another value.
MCP_GAMMA = 3.0

#: solver statuses that are a successful fit; anything else but "infeasible" warns.
_CONVERGED = ("optimal", "stationary")


def make_psi(psi: PAR | str = "l1", grid=None) -> PAR:
    """The PAR an estimator uses: ``psi`` itself, or the family ``psi`` of :mod:`cvxpar.pars` on ``grid``.

    ``grid`` defaults to {0} for ``"l1"`` (then psi(x) = |x|: the Lasso); every other family
    needs a grid.

    Parameters
    ----------
    psi : cvxpar.PAR or {"l1", "ridge", "mcp", "parq", "sawtooth", "staircase"}, default "l1"
        A PAR (returned as it is) or a family name.
    grid : array-like or None, default None
        The breakpoints of the family; None only with ``"l1"`` or a PAR.

    Returns
    -------
    cvxpar.PAR

    Raises
    ------
    ValueError
        An unknown family name, a family other than ``"l1"`` without a grid, or a grid with a PAR.

    Examples
    --------
    >>> from cvxpar.sklearn import make_psi
    >>> make_psi("ridge", [-1.0, 0.0, 1.0]).breakpoints
    array([-1.,  0.,  1.])
    >>> make_psi().is_convex
    True
    """
    if isinstance(psi, PAR):
        if grid is not None:
            raise ValueError(
                "grid is only used with a psi family name; psi is already a PAR with its own breakpoints. "
                "Pass grid=None, or a family name such as psi='ridge' with the grid."
            )
        return psi
    if not isinstance(psi, str) or psi not in FAMILIES:
        raise ValueError(f"psi must be a cvxpar.PAR or one of the family names {sorted(FAMILIES)}; got {psi!r}.")
    if grid is None:
        if psi != "l1":
            raise ValueError(
                f"psi={psi!r} needs a quantization grid: pass grid=..., for example grid=cvxpar.grids.uniform(0.5, 7) "
                "or grid=[-1, -0.5, 0, 0.5, 1]."
            )
        return pars.l1()
    return FAMILIES[psi](grid)


class _PARLinearModel(BaseEstimator):
    """Parameters, validation and the solver call shared by the PAR estimators."""

    def _solve(self, loss, psi: PAR, lam, constraints, x0):
        """One call of :func:`cvxpar.solve` (which checks tol, max_iter and method); warns when it did not converge."""
        from cvxpar.solve import solve

        res = solve(
            loss, psi, lam, constraints=constraints, method=self.method, x0=x0, tol=self.tol, max_iter=self.max_iter
        )
        if res.status == "infeasible":
            raise ValueError(f"the constraints {constraints!r} are infeasible: {res.message}")
        if res.status == "unbounded":
            raise ValueError(f"the objective is unbounded below (psi decreases without bound where the data and "
                             f"constraints let x go; bound x with constraints or use a psi that grows): {res.message}")
        if res.status not in _CONVERGED:
            warnings.warn(
                f"{type(self).__name__}: the solver stopped with status {res.status!r} after {res.iterations} "
                f"iterations ({res.message}). Increase max_iter or loosen tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return res

    def _set_result(self, res, w: np.ndarray, psi: PAR) -> None:
        self.n_iter_ = max(int(res.iterations), 1)
        self.status_ = res.status
        self.quantization_rate_ = quantization_rate(w, psi)


def _check_alpha(alpha, name: str = "alpha") -> float:
    if not isinstance(alpha, numbers.Real) or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name} must be a finite nonnegative number; got {alpha!r}.")
    return float(alpha)


def _sample_weight(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim == 0:
        sw = np.full(n, float(sw))
    if sw.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), one weight per sample; got shape {sw.shape}.")
    if not np.isfinite(sw).all() or (sw < 0).any() or sw.sum() <= 0:
        raise ValueError(
            "sample_weight must be finite and nonnegative, and not all zero: some sample needs a positive weight."
        )
    return sw


class _Centered(NamedTuple):
    """A least-squares fit's loss and how its variable maps back to (coef, intercept).

    Centered (``lifted`` False): the variable is w and the intercept is ``y_offset - x_offset^T w``.
    Lifted (``lifted`` True): the variable is z = (w, c') on an uncentered design [X, 1] and the intercept
    is ``y_offset + c'``; :meth:`model` frees c' from psi and the constraints (:func:`_free_last_coordinate`).
    """

    loss: object
    A: np.ndarray
    b: np.ndarray
    x_offset: np.ndarray
    y_offset: float
    lifted: bool = False
    correlation_: np.ndarray | None = None

    def coef(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        return z[:-1] if self.lifted else z

    def intercept(self, z) -> float:
        z = np.asarray(z, dtype=np.float64)
        return float(self.y_offset + z[-1]) if self.lifted else float(self.y_offset - self.x_offset @ z)

    def model(self, psi: PAR, lam: float, constraints):
        """(psi, lam, constraints) of the solver's variable for ``lam * sum_i psi(w_i)`` subject to w in C."""
        if not self.lifted:
            return psi, lam, constraints
        d = self.A.shape[1] - 1
        psi_z, constraints_z = _free_last_coordinate(psi, constraints, d)
        return psi_z, np.append(np.full(d, lam), 0.0), constraints_z

    def start(self, coef, intercept: float):
        """The solver's starting point for a previous fit (coef, intercept)."""
        return np.append(coef, intercept - self.y_offset) if self.lifted else coef

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def correlation(self) -> np.ndarray:
        """(X - xbar)^T W (y - ybar) / n, the loss's negative gradient in w at w = 0 with the best intercept
        (see :func:`alpha_max`)."""
        if self.correlation_ is not None:
            return self.correlation_
        return self.A.T @ self.b / self.n


def _centered_least_squares(X, y: np.ndarray, sw: np.ndarray, fit_intercept: bool, constraints=None) -> _Centered:
    """The least-squares loss on weighted, centered data, and the offsets that give the intercept.

    1/(2 sum sw) sum_i sw_i (y_i - x_i^T w - c)^2 minimized over c is attained at
    c = ybar - xbar^T w (weighted means), leaving 1/(2 sum sw) ||A w - b||^2 with
    A = sqrt(sw) (X - xbar), b = sqrt(sw) (y - ybar).  A sparse X stays sparse: A is then a
    LinearOperator (centering would fill it in), or, with linear rows in ``constraints`` (whose
    solver takes matrices only), the scipy.sparse matrix sqrt(sw) [X, 1] of the lifted variable
    (w, c - ybar), the intercept a free coordinate (:meth:`_Centered.model`).
    """
    from cvxpar.constraints import FeasibleSet
    from cvxpar.losses import LeastSquares

    sparse = issparse(X)
    if fit_intercept:
        x_offset = np.asarray(X.T @ sw).reshape(-1) / sw.sum() if sparse else np.average(X, axis=0, weights=sw)
        y_offset = float(np.average(y, weights=sw))
    else:
        x_offset = np.zeros(X.shape[1])
        y_offset = 0.0
    root = np.sqrt(sw)
    b = root * (y - y_offset)
    if sparse and FeasibleSet(constraints, X.shape[1]).has_rows:
        import scipy.sparse as sps

        design = sps.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
        A = sps.diags(root) @ sps.csr_matrix(design)
        correlation = np.asarray(X.T @ (root * b)).reshape(-1) / X.shape[0]
        return _Centered(LeastSquares(A, b), A, b, x_offset, y_offset, fit_intercept, correlation)
    A = _centered_operator(X, x_offset, root) if sparse else root[:, None] * (X - x_offset)
    return _Centered(LeastSquares(A, b), A, b, x_offset, y_offset)


def _centered_operator(X, x_offset: np.ndarray, root: np.ndarray) -> LinearOperator:
    """diag(root) (X - 1 x_offset^T) for a sparse X, without forming it."""

    def matvec(w):
        w = np.ravel(w)
        return root * (X @ w - x_offset @ w)

    def rmatvec(r):
        r = root * np.ravel(r)
        return X.T @ r - x_offset * r.sum()

    return LinearOperator(X.shape, matvec=matvec, rmatvec=rmatvec, dtype=np.float64)


def alpha_max(A: np.ndarray, b: np.ndarray, n: float, psi: PAR) -> float:
    """The smallest alpha with w = 0 optimal for 1/(2n)||A w - b||^2 + alpha Psi(w), no constraints.

    The gradient of the loss at 0 is -A^T b / n, so this is ``psi.lam_max(A^T b / n)``
    (:meth:`cvxpar.PAR.lam_max`: Fermat's rule at 0).  When no alpha makes 0 optimal (0 is not a kink
    of psi with dpsi(0) containing the needed signs) the scale max|A^T b / n| / (smallest nonzero
    |slope| of psi) is returned instead, where the penalty starts to dominate the loss.

    Examples
    --------
    >>> import numpy as np
    >>> import cvxpar
    >>> from cvxpar.sklearn import alpha_max
    >>> A, b = np.eye(2), np.array([1.0, -3.0])
    >>> alpha_max(A, b, 2, cvxpar.pars.l1())   # max |A^T b| / n for the Lasso
    1.5
    """
    return _alpha_max_of_correlation(A.T @ b / n, psi)


def _alpha_max_of_correlation(g: np.ndarray, psi: PAR) -> float:
    """:func:`alpha_max` from g = A^T b / n."""
    top = psi.lam_max(g)
    if not math.isfinite(top):
        slopes = np.abs(psi.slopes[np.isfinite(psi.slopes)])
        slopes = slopes[slopes > 0]
        top = float(np.max(np.abs(g), initial=0.0)) / (float(slopes.min()) if slopes.size else 1.0)
    return float(max(top, np.finfo(float).tiny))


class _PARRegressorBase(RegressorMixin, _PARLinearModel):
    """What both regressors share: prediction, and sparse X (kept sparse, see _centered_least_squares)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def predict(self, X):
        """X @ coef_ + intercept_.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        if is_dask_array(X):  # a lazy Dask vector, row-chunked like X
            from cvxpar.distributed.estimators import linear_predictor

            return linear_predictor(self, X, self.coef_, self.intercept_)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_


class PARRegressor(_PARRegressorBase):
    """Least squares with a piecewise-affine regularizer (PAR), scaled like scikit-learn's Lasso.

    Minimizes ``1/(2 n) ||y - X w - c||^2 + alpha * sum_i psi(w_i)`` subject to ``w in constraints``
    (the intercept ``c`` is free).  With the defaults (``psi="l1"``, ``grid=None``) psi(x) = |x| and
    this is :class:`sklearn.linear_model.Lasso`; with a grid Q the coefficients are driven onto Q
    (Ma & Xiao 2025).  X may be dense or scipy.sparse (CSR/CSC; it is centered implicitly).

    Parameters
    ----------
    psi : cvxpar.PAR or {"l1", "ridge", "mcp", "parq", "sawtooth", "staircase"}, default="l1"
        The regularizer, or a family of :mod:`cvxpar.pars` built on ``grid``.
    grid : array-like or None
        Quantization grid for a family name (default {0} for ``"l1"``; required for the others).
    alpha : float, default=1.0
        Regularization strength (>= 0).
    constraints : cvxpar.constraints object, list of them, or None
        A convex set C for the coefficients w (Box, NonNeg, Simplex, Linear: C is their
        intersection); the intercept stays free.  Simplex and Linear rows with a nonconvex psi need
        a dense X (they are solved by ADMM); with a convex psi any X.
    fit_intercept : bool, default=True
    method, tol, max_iter
        Passed to :func:`cvxpar.solve`.
    warm_start : bool, default=False
        Start from the previous ``coef_`` when refitting.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Solver iterations.
    status_ : str
        The solver's status (``"optimal"``, ``"stationary"``, ``"max_iter"``, ...).
    quantization_rate_ : float
        Fraction of the coefficients on a breakpoint of psi.
    n_features_in_ : int

    Raises
    ------
    ValueError
        From :meth:`fit`: a negative or non-finite ``alpha``, an unknown ``psi`` name, a family
        that needs a ``grid`` without one, Simplex or Linear constraints with a nonconvex psi on
        scipy.sparse X, infeasible constraints, or invalid X, y (scikit-learn's checks).

    See Also
    --------
    PARRegressorCV : alpha chosen by cross-validation or by a target quantization rate.
    cvxpar.solve : the solver behind ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.sklearn import PARRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4))
    >>> y = X @ np.array([1.0, -0.5, 0.0, 0.0]) + 0.3
    >>> model = PARRegressor(alpha=0.01).fit(X, y)       # the Lasso
    >>> model.status_, model.coef_.round(2), round(model.intercept_, 2)
    ('optimal', array([ 0.99, -0.49,  0.  ,  0.  ]), 0.3)
    >>> bool(model.score(X, y) > 0.99)
    True
    """

    def __init__(
        self,
        psi="l1",
        grid=None,
        alpha=1.0,
        constraints=None,
        fit_intercept=True,
        method="auto",
        tol=1e-8,
        max_iter=None,
        warm_start=False,
    ):
        self.psi = psi
        self.grid = grid
        self.alpha = alpha
        self.constraints = constraints
        self.fit_intercept = fit_intercept
        self.method = method
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``sample_weight`` weighs each squared residual (normalized to sum n).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,) or None
            Nonnegative weights.

        Returns
        -------
        self
            The fitted estimator; a ``ConvergenceWarning`` is issued when the solver stopped
            without a certificate (``status_`` says which).
        """
        if is_dask_array(X):
            from cvxpar.distributed.estimators import centered_least_squares

            loss, x_offset, y_offset, total = centered_least_squares(X, y, sample_weight, self.fit_intercept)
            self.n_features_in_ = X.shape[1]
            data = _Centered(loss, loss.op.A, loss.target, x_offset, y_offset)
        else:
            X, y = validate_data(self, X, _numeric_target(self, y), accept_sparse=("csr", "csc"), dtype=np.float64,
                                 y_numeric=True)
            sw = _sample_weight(sample_weight, X.shape[0])
            data, total = _centered_least_squares(X, y, sw, self.fit_intercept, self.constraints), sw.sum()
        psi = make_psi(self.psi, self.grid)
        alpha = _check_alpha(self.alpha)
        _check_rows_with_psi(self, psi, X)
        previous = getattr(self, "coef_", None) if self.warm_start else None
        x0 = None
        if previous is not None and previous.shape == (X.shape[1],):
            x0 = data.start(previous, self.intercept_)
        res = self._solve(data.loss, *data.model(psi, total * alpha, self.constraints), x0)
        self.coef_ = data.coef(res.x).copy()
        self.intercept_ = data.intercept(res.x)
        self._set_result(res, self.coef_, psi)
        return self


class PARRegressorCV(_PARRegressorBase):
    """:class:`PARRegressor` with alpha chosen along a warm-started regularization path.

    The path runs from ``alpha_max`` (where w = 0 becomes optimal, see :func:`alpha_max`) down to
    ``eps * alpha_max`` on a log grid, each solve starting from the previous solution.  alpha is
    chosen

    - by K-fold cross-validation (``cv``): the alpha with the smallest mean squared error over the
      folds (as :class:`sklearn.linear_model.LassoCV`); or
    - with ``target_quantization_rate=r``: the smallest alpha whose fit on all the data puts at
      least a fraction r of the coefficients on the grid (no cross-validation is run).  If no
      alpha reaches r, the one with the highest rate is taken, with a warning.

    The final model is the path's solution on all the data at ``alpha_``.

    Parameters
    ----------
    psi, grid, constraints, fit_intercept, method, tol, max_iter
        As in :class:`PARRegressor`.
    alphas : int or array-like, default=30
        The number of alphas on the path, or the alphas themselves.
    eps : float, default=1e-3
        Length of the path: alpha_min / alpha_max.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (None means 5-fold).
    target_quantization_rate : float in [0, 1] or None, default=None
        Select alpha by quantization rate instead of cross-validation.
    verbose : bool, default=False
        Show progress on stderr, one unit per solve of the path on all the data and on each fold: a
        tqdm bar when tqdm is installed (``pip install "cvxpar[progress]"``), else one line per solve.

    Attributes
    ----------
    alpha_ : float
    alphas_ : ndarray of shape (n_alphas,)
        The path, decreasing.
    mse_path_ : ndarray of shape (n_alphas, n_folds) or None
        Held-out mean squared error per alpha and fold (None when selecting by quantization rate).
    coef_path_ : ndarray of shape (n_features, n_alphas)
        The solutions on all the data along the path.
    quantization_rate_path_ : ndarray of shape (n_alphas,)
    coef_, intercept_, n_iter_, status_, quantization_rate_, n_features_in_
        Of the selected model, as in :class:`PARRegressor`.

    Raises
    ------
    ValueError
        From :meth:`fit`: ``eps`` outside (0, 1), an invalid ``alphas`` or
        ``target_quantization_rate``, or the errors of :class:`PARRegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.sklearn import PARRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4))
    >>> y = X @ np.array([1.0, -0.5, 0.0, 0.0]) + 0.3
    >>> model = PARRegressorCV(alphas=10, cv=3).fit(X, y)
    >>> model.alphas_.shape, model.mse_path_.shape, model.status_
    ((10,), (10, 3), 'optimal')
    >>> model.coef_.round(1)
    array([ 1. , -0.5,  0. ,  0. ])
    """

    def __init__(
        self,
        psi="l1",
        grid=None,
        alphas=30,
        eps=1e-3,
        cv=None,
        target_quantization_rate=None,
        constraints=None,
        fit_intercept=True,
        method="auto",
        tol=1e-8,
        max_iter=None,
        verbose=False,
    ):
        self.psi = psi
        self.grid = grid
        self.alphas = alphas
        self.eps = eps
        self.cv = cv
        self.target_quantization_rate = target_quantization_rate
        self.constraints = constraints
        self.fit_intercept = fit_intercept
        self.method = method
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def _center(self, X, y) -> _Centered:
        return _centered_least_squares(X, y, np.ones(X.shape[0]), self.fit_intercept, self.constraints)

    def _path(self, data: _Centered, psi: PAR, alphas: np.ndarray, bar) -> list:
        """Warm-started solves for each alpha, in the given (decreasing) order: (result, coef, intercept)."""
        n = data.n
        results = []
        x0 = None
        for a in alphas:
            res = self._solve(data.loss, *data.model(psi, n * a, self.constraints), x0)
            x0 = res.x
            results.append((res, data.coef(res.x), data.intercept(res.x)))
            bar.update()
        return results

    def _alpha_grid(self, data: _Centered, psi: PAR) -> np.ndarray:
        if not isinstance(self.alphas, numbers.Integral):
            alphas = np.asarray(self.alphas, dtype=np.float64).reshape(-1)
            if alphas.size == 0:
                raise ValueError("alphas must be a positive integer or a nonempty sequence of alphas.")
            for a in alphas:
                _check_alpha(a, "every alpha in alphas")
            return np.sort(alphas)[::-1]
        if self.alphas < 1:
            raise ValueError(f"alphas must be a positive integer or a sequence; got {self.alphas!r}.")
        if not isinstance(self.eps, numbers.Real) or not 0 < self.eps < 1:
            raise ValueError(f"eps must lie strictly between 0 and 1; got {self.eps!r}.")
        top = _alpha_max_of_correlation(data.correlation, psi)
        return np.geomspace(top, top * self.eps, int(self.alphas))

    def fit(self, X, y):
        """Run the path (and the cross-validation), then keep the selected model.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        psi = make_psi(self.psi, self.grid)
        target = self.target_quantization_rate
        if target is not None and (not isinstance(target, numbers.Real) or not 0 <= target <= 1):
            raise ValueError(f"target_quantization_rate must be a number in [0, 1] or None; got {target!r}.")
        distributed = None
        if is_dask_array(X):  # every fold's problem from one pass (cvxpar.distributed.cv)
            from cvxpar.distributed.cv import DaskCrossValidation

            distributed = DaskCrossValidation(X, y, self.fit_intercept, check_cv(self.cv) if target is None else None)
            self.n_features_in_ = X.shape[1]
            data, folds = distributed.problem(), distributed.folds()
        else:
            X, y = validate_data(self, X, _numeric_target(self, y), accept_sparse=("csr", "csc"), dtype=np.float64,
                                 y_numeric=True)
            data = self._center(X, y)
            folds = [(partial(self._center, X[train], y[train]), partial(_mean_squared_error, X[test], y[test]))
                     for train, test in (check_cv(self.cv).split(X, y) if target is None else [])]
        _check_rows_with_psi(self, psi, X)
        alphas = self._alpha_grid(data, psi)
        with _progress.counter(alphas.size * (1 + len(folds)), "PARRegressorCV", "solve",
                               enabled=bool(self.verbose)) as bar:
            full = self._path(data, psi, alphas, bar)
            mse = np.empty((alphas.size, len(folds)))
            for k, (train, error) in enumerate(folds):
                for i, (_, w, c) in enumerate(self._path(train(), psi, alphas, bar)):
                    mse[i, k] = error(w, c)
        rates = np.array([quantization_rate(w, psi) for _, w, _ in full], dtype=np.float64)
        self.mse_path_ = None
        if target is None:
            self.mse_path_ = mse
            best = int(np.argmin(mse.mean(axis=1)))
        else:
            reached = np.flatnonzero(rates >= target)
            if reached.size:
                best = int(reached[-1])
            else:
                best = int(np.argmax(rates))
                warnings.warn(
                    f"no alpha on the path reaches quantization rate {target}; the highest is {rates[best]:.3f} "
                    f"at alpha={alphas[best]:.4g}. Pass larger alphas or a coarser grid.",
                    UserWarning,
                    stacklevel=2,
                )
        self.alphas_ = alphas
        self.alpha_ = float(alphas[best])
        self.coef_path_ = np.column_stack([w for _, w, _ in full])
        self.quantization_rate_path_ = rates
        res, _, intercept = full[best]
        if distributed is not None:  # status and certificate on the distributed data
            res = distributed.certify(res, data, psi, data.n * self.alpha_, self.constraints, self.tol)
        self.coef_ = self.coef_path_[:, best].copy()
        self.intercept_ = float(intercept)
        self._set_result(res, self.coef_, psi)
        return self


def _mean_squared_error(X, y, w, c) -> float:
    return float(np.mean((y - X @ w - c) ** 2))


class PARClassifier(ClassifierMixin, _PARLinearModel):
    """Binary logistic regression with a piecewise-affine regularizer (PAR).

    Minimizes ``1/n sum_i log(1 + exp(-y_i (x_i^T w + c))) + alpha * sum_i psi(w_i)`` subject to
    ``w in constraints``, with ``classes_[0]`` -> y = -1 and ``classes_[1]`` -> y = +1.  The
    intercept ``c`` is free: an extra coordinate with lam = 0 (so psi's hard walls, if any, are
    passed to the solver as a Box on w only, and linear rows get a zero column for it).  ``alpha``
    plays the role of 1/(C n) in :class:`sklearn.linear_model.LogisticRegression`.  X may be dense,
    scipy.sparse (CSR/CSC, kept sparse) or a Dask array.

    Parameters
    ----------
    psi, grid, fit_intercept, method, tol, max_iter, warm_start
        As in :class:`PARRegressor`.
    constraints : cvxpar.constraints object, list of them, or None
        A convex set C for w: Box and NonNeg with any psi; Simplex and Linear rows (equalities,
        inequalities, a budget) with a convex psi (``"l1"``, ``"ridge"``, ``"parq"`` or a convex
        PAR), solved by the augmented Lagrangian method ``"alm"`` of :func:`cvxpar.solve`.
    alpha : float, default=0.01
        The weight of the regularizer (1.0, PARRegressor's default, would zero out every coefficient
        on standardized data).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_, status_, quantization_rate_, n_features_in_
        As in :class:`PARRegressor` (the quantization rate is over coef_ only).

    Raises
    ------
    ValueError
        From :meth:`fit`: a target that is not binary (use
        :class:`sklearn.multiclass.OneVsRestClassifier` for more classes), one class only, Simplex
        or Linear constraints with a nonconvex psi (ADMM, their method for a nonconvex psi, takes
        least squares only), or the errors of :class:`PARRegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from cvxpar.sklearn import PARClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 4))
    >>> y = (X[:, 0] - X[:, 1] > 0).astype(int)
    >>> clf = PARClassifier(alpha=0.01).fit(X, y)
    >>> clf.status_, clf.classes_, clf.score(X, y)
    ('optimal', array([0, 1]), 1.0)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(
        self,
        psi="l1",
        grid=None,
        alpha=0.01,
        constraints=None,
        fit_intercept=True,
        method="auto",
        tol=1e-8,
        max_iter=None,
        warm_start=False,
    ):
        self.psi = psi
        self.grid = grid
        self.alpha = alpha
        self.constraints = constraints
        self.fit_intercept = fit_intercept
        self.method = method
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y):
        """Fit the model on binary labels.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            A scipy.sparse X stays sparse: its columns are not centered (that would fill them in), the
            intercept is the extra column of ones of the sparse design [X, 1].
        y : array-like of shape (n_samples,)
            Two classes (any labels; ``classes_`` holds them sorted).

        Returns
        -------
        self
        """
        from cvxpar.losses import Logistic

        if is_dask_array(X):
            from cvxpar.distributed.estimators import binary_labels, check_design, logistic_design

            X = check_design(X)
            self.n_features_in_ = X.shape[1]
            self.classes_, signs = binary_labels(y, X)
        else:
            X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"), dtype=np.float64)
            self.classes_, signs = _binary_labels(y)
        psi = make_psi(self.psi, self.grid)
        alpha = _check_alpha(self.alpha)
        n, d = X.shape
        lam = n * alpha
        psi_z, constraints, A = psi, self.constraints, X
        _check_rows_with_psi(self, psi, X)
        x_offset = np.zeros(d)
        if self.fit_intercept:
            # z = (w, c') on centered columns, c = c' - xbar^T w: the same model, far better conditioned
            if is_dask_array(X):
                A, x_offset = logistic_design(X, True)
            elif issparse(X):  # uncentered: centering would fill in X (x_offset stays 0)
                import scipy.sparse as sps

                A = sps.hstack([X, np.ones((n, 1))], format="csr")
            else:
                x_offset = X.mean(axis=0)
                A = np.column_stack([X - x_offset, np.ones(n)])
            lam = np.concatenate([np.full(d, lam), [0.0]])
            psi_z, constraints = _free_last_coordinate(psi, constraints, d)
        x0 = None
        if self.warm_start and getattr(self, "coef_", None) is not None and self.coef_.shape == (1, d):
            w = self.coef_[0]
            x0 = np.append(w, self.intercept_[0] + x_offset @ w) if self.fit_intercept else w
        res = self._solve(Logistic(A, signs), psi_z, lam, constraints, x0)
        z = np.asarray(res.x, dtype=np.float64)
        self.coef_ = z[None, :d].copy()
        self.intercept_ = np.array([z[d] - x_offset @ z[:d]]) if self.fit_intercept else np.zeros(1)
        self._set_result(res, self.coef_[0], psi)
        return self

    def decision_function(self, X):
        """x^T coef + intercept: positive means ``classes_[1]``.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        if is_dask_array(X):  # lazy, row-chunked like X
            from cvxpar.distributed.estimators import linear_predictor

            return linear_predictor(self, X, self.coef_[0], self.intercept_[0])
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, reset=False)
        return np.asarray(X @ self.coef_[0]).reshape(-1) + self.intercept_[0]

    def predict(self, X):
        """The class of each row: ``classes_[1]`` where the decision function is positive, else ``classes_[0]``.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if is_dask_array(scores):
            import dask.array as da

            return da.where(scores > 0, self.classes_[1], self.classes_[0])
        return self.classes_[(scores > 0).astype(int)]

    def predict_proba(self, X):
        """Columns P(classes_[0] | x) = sigmoid(-s), P(classes_[1] | x) = sigmoid(s), s = decision_function.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
            A lazy Dask array for Dask X.
        """
        return _two_columns(expit, self.decision_function(X))

    def predict_log_proba(self, X):
        """The log of :meth:`predict_proba`, computed without cancellation.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
            A lazy Dask array for Dask X.
        """
        return _two_columns(log_expit, self.decision_function(X))


def _two_columns(fn, s):
    """[fn(-s), fn(s)] side by side (a lazy Dask array for Dask scores)."""
    if is_dask_array(s):
        import dask.array as da

        return da.stack([s.map_blocks(lambda v: fn(-v)), s.map_blocks(fn)], axis=1)
    return np.column_stack([fn(-s), fn(s)])


def _binary_labels(y):
    """(classes, signs in {-1, +1}) of in-memory binary labels y, with scikit-learn's checks."""
    check_classification_targets(y)
    y_type = type_of_target(y, input_name="y", raise_unknown=True)
    if y_type != "binary":
        raise ValueError(
            f"Only binary classification is supported. The type of the target is {y_type}; "
            "for more classes wrap the estimator in sklearn.multiclass.OneVsRestClassifier."
        )
    classes, labels = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"PARClassifier needs samples of 2 classes to fit; got only one class, {classes[0]!r}.")
    return classes, 2.0 * labels - 1.0


def _check_rows_with_psi(est, psi: PAR, X) -> None:
    """Linear rows (Simplex, Linear) with a nonconvex psi: :func:`cvxpar.solve` solves them by ADMM, which takes a
    least-squares loss on a dense design only (a convex psi takes the augmented Lagrangian, any loss and format)."""
    from cvxpar.constraints import FeasibleSet

    if psi.is_convex:
        return
    d = X.shape[1]
    coupled = [c for c in FeasibleSet(est.constraints, d).items if any(r is not None for r in c.rows(d))]
    if not coupled:
        return
    kinds = "/".join(sorted({type(c).__name__ for c in coupled}))
    name = type(est).__name__
    if isinstance(est, ClassifierMixin):
        raise ValueError(
            f"{name} with {kinds} constraints needs a convex psi (l1, ridge or parq, or a convex PAR): with a "
            f"nonconvex psi their linear rows are solved by ADMM, for a least-squares loss only. Use a convex psi "
            f"with these constraints, only Box or NonNeg constraints with this psi, or PARRegressor (least squares on "
            f"+/-1 targets)."
        )
    if issparse(X):
        raise ValueError(
            f"{name} with {kinds} constraints and a nonconvex psi needs a dense X: with a nonconvex psi the linear "
            "rows are solved by ADMM, which factors the dense design. Pass X.toarray(), or use a convex psi (l1, "
            "ridge or parq), which takes scipy.sparse X with these constraints."
        )


def _numeric_target(est, y):
    """y for a regressor: numbers (an object array of numbers is converted), else a clear ValueError
    (complex y goes on to scikit-learn's own "Complex data not supported")."""
    arr = np.asarray(y)
    if arr.dtype.kind in "biufc":
        return y
    if arr.dtype.kind == "O":
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    first = arr.flat[0] if arr.size else None
    raise ValueError(
        f"{type(est).__name__} is a regressor: y must be numeric; got an array of dtype {arr.dtype} (first entry "
        f"{first!r}). Convert it with np.asarray(y, dtype=float), or use PARClassifier for class labels."
    )


def _free_last_coordinate(psi: PAR, constraints, d: int):
    """psi and constraints for z = (w, c) that leave the intercept c free.

    lam_c = 0 removes psi from c, except psi's hard walls (the prox of 0 * psi still projects
    onto psi's domain).  So walls become finite outer slopes plus a Box on w, and every
    constraint on w is extended to z exactly: a Box by (-inf, inf) for c, a Linear by a zero
    column, and Simplex(total) by {w >= 0} and the equality row (1, ..., 1, 0) z = total.
    """
    from cvxpar import constraints as cons

    dom_lo, dom_hi = psi.domain
    if np.isfinite(dom_lo) or np.isfinite(dom_hi):
        inner = psi.slopes[1:-1]
        left = psi.left_slope if np.isfinite(psi.left_slope) else (inner[0] if inner.size else 0.0)
        right = psi.right_slope if np.isfinite(psi.right_slope) else (inner[-1] if inner.size else 0.0)
        psi = PAR(psi.breakpoints, psi.values, left, right)
    feasible = cons.FeasibleSet(constraints, d)
    lower, upper = np.maximum(np.full(d, dom_lo), feasible.lower), np.minimum(np.full(d, dom_hi), feasible.upper)
    eq_rows = [] if feasible.A_eq is None else [feasible.A_eq]
    eq_rhs = [] if feasible.b_eq is None else [feasible.b_eq]
    ub_rows = [] if feasible.A_ub is None else [feasible.A_ub]
    ub_rhs = [] if feasible.b_ub is None else [feasible.b_ub]
    lifted = []
    if np.isfinite(lower).any() or np.isfinite(upper).any():
        lifted.append(cons.Box(np.append(lower, -np.inf), np.append(upper, np.inf)))
    if eq_rows or ub_rows:

        def pad(rows):
            return np.column_stack([np.vstack(rows), np.zeros(sum(len(r) for r in rows))]) if rows else None

        lifted.append(
            cons.Linear(
                A_eq=pad(eq_rows),
                b_eq=np.concatenate(eq_rhs) if eq_rhs else None,
                A_ub=pad(ub_rows),
                b_ub=np.concatenate(ub_rhs) if ub_rhs else None,
            )
        )
    return psi, lifted or None
