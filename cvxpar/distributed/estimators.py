"""The data side of the scikit-learn estimators when X is a Dask array (as dask-ml's estimators take it).

The estimators' models are those of :mod:`cvxpar.sklearn`; here their data are built lazily so
that ``cvxpar.solve`` runs distributed (:mod:`cvxpar.distributed.solve`):

- least squares: the weighted means xbar, ybar (one pass, the only thing computed here), then
  A = sqrt(sw) (X - xbar) and b = sqrt(sw) (y - ybar) as lazy Dask expressions, row-chunked like X;
- logistic: the class labels (np.unique of y: n numbers), the +-1 signs, the column means and
  A = [X - xbar | 1], all lazy but the means;
- prediction: X @ w + c stays a lazy Dask array (computed by the caller).

Nothing here reads X into the client's memory.
"""

from __future__ import annotations

import numpy as np


def _da():
    from cvxpar.losses.dask_operator import _dask

    return _dask()


def check_design(X, name: str = "X"):
    """X as a 2-D float Dask array with known chunks, one chunk across the columns."""
    from cvxpar.losses.dask_operator import DaskOperator

    return DaskOperator(X).A  # raises the clear errors (dimension, unknown chunks, dtype)


def row_vector(v, X, name: str):
    """``v`` (a Dask or NumPy vector, length n) as a float Dask vector chunked like X's rows."""
    from cvxpar.losses.dask_operator import DaskOperator

    return DaskOperator(X).target(v, name)


def centered_least_squares(X, y, sample_weight, fit_intercept: bool):
    """(LeastSquares(A, b), x_offset, y_offset, sum of weights) of the weighted, centered least squares
    (the model of :func:`cvxpar.sklearn._centered_least_squares`), with A and b lazy."""
    from cvxpar.losses import LeastSquares

    da = _da()
    X = check_design(X)
    y = row_vector(y, X, "y")
    sw = da.ones(X.shape[0], chunks=(X.chunks[0],)) if sample_weight is None else row_vector(sample_weight, X,
                                                                                               "sample_weight")
    total = sw.sum()
    if fit_intercept:
        x_sum, y_sum, total = da.compute((X * sw[:, None]).sum(axis=0), (y * sw).sum(), total)
        x_offset, y_offset = np.asarray(x_sum) / float(total), float(y_sum) / float(total)
    else:
        x_offset, y_offset, total = np.zeros(X.shape[1]), 0.0, total.compute()
    if not np.isfinite(total) or float(total) <= 0:
        raise ValueError("sample_weight must be finite and nonnegative, and not all zero.")
    root = da.sqrt(sw) if sample_weight is not None else None
    A = X - x_offset if root is None else root[:, None] * (X - x_offset)
    b = y - y_offset if root is None else root * (y - y_offset)
    return LeastSquares(A, b), x_offset, y_offset, float(total)


def binary_labels(y, X):
    """(classes, signs): the two sorted classes of y (read: n labels) and the lazy +-1 vector."""
    da = _da()
    from cvxpar.losses.dask_operator import is_dask_array

    y = y if is_dask_array(y) else da.from_array(np.asarray(y), chunks=(X.chunks[0],))
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must be a vector of length n_samples = {X.shape[0]}; got shape {tuple(y.shape)}.")
    classes = np.asarray(da.unique(y).compute())
    if classes.size != 2:
        raise ValueError(f"PARClassifier needs exactly 2 classes in y; got {classes.size} ({classes[:5]!r}). For more "
                         "classes wrap it in sklearn.multiclass.OneVsRestClassifier.")
    return classes, da.where(y == classes[1], 1.0, -1.0).rechunk((X.chunks[0],))


def logistic_design(X, fit_intercept: bool):
    """(A, x_offset): A = [X - xbar | 1] (lazy; one pass for xbar) or X itself."""
    da = _da()
    X = check_design(X)
    if not fit_intercept:
        return X, np.zeros(X.shape[1])
    x_offset = np.asarray(X.mean(axis=0).compute())
    ones = da.ones((X.shape[0], 1), chunks=(X.chunks[0], (1,)))
    return da.concatenate([X - x_offset, ones], axis=1), x_offset


def linear_predictor(est, X, coef, intercept: float):
    """The lazy X @ coef + intercept, after checking X's number of features against the fitted one."""
    X = check_design(X)
    if X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is expecting "
                         f"{est.n_features_in_} features as input.")
    return X @ np.asarray(coef, dtype=np.float64) + intercept
