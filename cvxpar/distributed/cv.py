"""Cross-validated least squares on Dask data: every fold's problem from one pass over the data.

K-fold cross-validation of 1/(2 n_F) sum_{i in F} (y_i - x_i^T w - c)^2 + alpha Psi(w) needs, for
each fold, the least squares on its training rows F (centered by their own means) and the squared
error on its test rows.  Both are quadratic forms of Gram matrices: with z_i = [x_i - s | y_i - s_y | 1]
(s, s_y the means of all the data, so that no sum below cancels catastrophically) and

    P_S = sum_{i in S} z_i z_i^T   ((d + 2) x (d + 2)),

a set of rows S of size n_S = (P_S)_{d+1,d+1} with column means m = (P_S)_{:d,d+1} / n_S and
mu = (P_S)_{d,d+1} / n_S has the centered Gram, cross products and sum of squares

    G = (P_S)_{:d,:d} - n_S m m^T,   c = (P_S)_{:d,d} - n_S m mu,   beta = (P_S)_{d,d} - n_S mu^2,

which define the fold's least squares exactly (:func:`cvxpar.distributed.gram.equivalent_least_squares`),
and the residuals r_i = y_i - x_i^T w - c of a model (w, c) have
sum_{i in S} r_i^2 = v^T P_S v with v = [-w | 1 | s_y - s^T w - c].

The training and test sets of all folds are unions of the groups of rows that share one
membership (in which folds' training and test sets a row lies): K-fold has K groups, any splitter
at most 2^(2K).  One pass computes P_g of every group g (each chunk's rows split by group: the
flops of one Gram pass), and every P_S is a sum of them.  The selected model is certified on the
distributed data with one more pass; the means cost one pass before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

#: The most distinct row memberships the one-pass cross-validation keeps per chunk ((d + 2)^2 numbers each).
MAX_GROUPS = 256


@dataclass
class FoldProblem:
    """The centered least squares of a set of rows, in memory: ``loss`` (d-dimensional, equal to the data's up
    to the constant ``kappa``), its number of rows ``n``, the offsets that give the intercept, and A^T b / n."""

    loss: object
    n: int
    x_offset: np.ndarray
    y_offset: float
    correlation: np.ndarray
    kappa: float

    def intercept(self, w) -> float:
        return float(self.y_offset - self.x_offset @ np.asarray(w))

    def coef(self, w) -> np.ndarray:
        """The coefficients of a solution (the solver's variable is w itself)."""
        return np.asarray(w, dtype=np.float64)

    def model(self, psi, lam, constraints):
        """(psi, lam, constraints) of the solver's variable: those of w (as :meth:`cvxpar.sklearn._Centered.model`)."""
        return psi, lam, constraints


def membership_groups(n: int, splits: list) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """(labels, train, test): each row's group (rows in the same training and test sets share one), and for
    each fold the groups its training and its test set are made of."""
    k = len(splits)
    if 2 * k > 63:
        raise ValueError(f"cross-validation on Dask data takes at most 31 folds; got {k}.")
    codes = np.zeros(n, dtype=np.uint64)
    for j, (train, test) in enumerate(splits):
        for bit, idx in ((2 * j, train), (2 * j + 1, test)):
            codes[np.asarray(idx)] |= np.uint64(1 << bit)
    uniq, labels = np.unique(codes, return_inverse=True)
    if uniq.size > MAX_GROUPS:
        raise ValueError(f"the folds split the rows into {uniq.size} groups of distinct membership (at most "
                         f"{MAX_GROUPS} on Dask data); use K-fold-like splitters such as sklearn.model_selection.KFold.")
    member = [(uniq >> np.uint64(bit)) & np.uint64(1) == 1 for bit in range(2 * k)]
    return (labels.astype(np.int32), [np.flatnonzero(member[2 * j]) for j in range(k)],
            [np.flatnonzero(member[2 * j + 1]) for j in range(k)])


def _chunk_group_grams(a, b, labels, n_groups: int):
    """The partial Grams of [a | b | 1] (upper triangles) of the rows of each group, side by side."""
    from cvxpar.distributed._reduce import on_chunk
    from cvxpar.distributed.gram import _chunk_gram

    xp, (lab,) = on_chunk(a, labels)
    k = (a.shape[1] + 2) ** 2
    present = {int(g) for g in np.unique(np.asarray(labels))}
    parts = []
    for g in range(n_groups):
        if g not in present:
            parts.append(xp.zeros((1, k), dtype=xp.float64))
        elif len(present) == 1:
            parts.append(_chunk_gram(a, b))
        else:
            mask = lab == g
            parts.append(_chunk_gram(a[mask], b[mask]))
    return xp.concat(parts, axis=1)


def group_grams(loss, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups, d + 2, d + 2): P_g of each group of rows of the Dask ``loss`` (one pass)."""
    from cvxpar.distributed._reduce import row_chunk_sum
    from cvxpar.distributed.gram import _symmetric
    from cvxpar.losses.dask_chunks import raise_bad_chunks
    from cvxpar.losses.dask_operator import _dask

    n, d = loss.op.shape
    k = d + 2
    lab = _dask().from_array(labels, chunks=(loss.op.A.chunks[0],))
    out = row_chunk_sum(loss.op.A, loss.target, _chunk_group_grams, n_groups * k * k, target_name=loss.target_name,
                        rows=(lab,), n_groups=n_groups).reshape(n_groups, k, k)
    P = np.stack([_symmetric(p) for p in out])
    rows_seen = float(P[:, -1, -1].sum())
    if rows_seen != n or not np.isfinite(P).all():
        raise_bad_chunks({"A": loss.op.A, loss.target_name: loss.target}, n, rows_seen)
    return P


def fold_problem(P: np.ndarray, x_shift: np.ndarray, y_shift: float, center: bool) -> FoldProblem:
    """The centered least squares of the rows summed in P (see the module docstring)."""
    from cvxpar.distributed.gram import Gram, equivalent_least_squares
    from cvxpar.losses import LeastSquares

    d = P.shape[0] - 2
    n = float(P[-1, -1])
    m, mu = (P[:d, -1] / n, float(P[d, -1]) / n) if center else (np.zeros(d), 0.0)
    G = P[:d, :d] - n * np.outer(m, m)
    c = P[:d, d] - n * mu * m
    R, t, kappa = equivalent_least_squares(Gram(G=G, c=c, beta=float(P[d, d]) - n * mu * mu, rows_seen=int(n)))
    return FoldProblem(LeastSquares(R, t), int(n), x_shift + m, y_shift + mu, c / n, kappa)


def squared_error(P: np.ndarray, w, intercept: float, x_shift: np.ndarray, y_shift: float) -> float:
    """Mean of (y_i - x_i^T w - intercept)^2 over the rows summed in P (see the module docstring)."""
    w = np.asarray(w, dtype=np.float64)
    v = np.concatenate([-w, [1.0, y_shift - float(x_shift @ w) - intercept]])
    return max(float(v @ P @ v), 0.0) / float(P[-1, -1])


class DaskCrossValidation:
    """The data of a cross-validated least-squares fit on Dask X, y: the centered problem on all rows, and
    each fold's training problem and test error (one pass for the means, one for every group's Gram)."""

    def __init__(self, X, y, fit_intercept: bool, cv=None) -> None:
        """``cv``: a scikit-learn splitter (its ``split(X, y)`` gives the folds' row indices), or None for no folds."""
        from cvxpar.distributed.estimators import centered_least_squares
        from cvxpar.distributed.solve import MAX_GRAM_FEATURES

        if X.ndim == 2 and X.shape[1] > MAX_GRAM_FEATURES:
            raise ValueError(f"cross-validation on Dask data forms one d x d Gram per group of rows: at most "
                             f"{MAX_GRAM_FEATURES} features (got {X.shape[1]}); select features first, or fit "
                             "PARRegressor at chosen alphas.")
        self.loss, self.x_shift, self.y_shift, _ = centered_least_squares(X, y, None, fit_intercept)
        self.center = fit_intercept
        splits = [] if cv is None else list(cv.split(X, y))
        labels, self._train, self._test = membership_groups(X.shape[0], splits)
        self._P = group_grams(self.loss, labels, int(labels.max()) + 1)

    def problem(self, groups=None) -> FoldProblem:
        """The centered problem of all rows (``groups`` None) or of the rows of ``groups``."""
        P = self._P.sum(axis=0) if groups is None else self._P[groups].sum(axis=0)
        return fold_problem(P, self.x_shift, self.y_shift, self.center)

    def folds(self) -> list[tuple]:
        """(training problem, mean squared test error) of each fold, as functions: of nothing, and of the model's
        (w, intercept)."""
        return [(partial(self.problem, train), partial(squared_error, self._P[test].sum(axis=0),
                                                       x_shift=self.x_shift, y_shift=self.y_shift))
                for train, test in zip(self._train, self._test, strict=True)]

    def certify(self, res, full: FoldProblem, psi, lam: float, constraints, tol: float):
        """``res`` (solved on ``full``, the in-memory equivalent of all rows) with its status and certificate
        recomputed on the distributed data (one pass)."""
        import time

        from cvxpar.distributed.loss import DistributedLoss
        from cvxpar.distributed.solve import certified
        from cvxpar.solvers._problem import Problem

        dloss = DistributedLoss(self.loss)
        prob = Problem(dloss, psi, lam, constraints)
        return certified(res, prob, dloss, full.kappa, 0.0, tol, time.perf_counter())
