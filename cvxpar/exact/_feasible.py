"""TEMPORARY: the merged constraint view until cvxpar.constraints.FeasibleSet lands (then deleted)."""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np

from cvxpar.constraints import split


def feasible_set(constraints, d: int):
    try:
        from cvxpar.constraints import FeasibleSet
    except ImportError:
        return _Shim(constraints, d)
    return FeasibleSet(constraints, d)


class _Shim:
    def __init__(self, constraints, d):
        box, simplex, linear = split(constraints, d)
        self.d = d
        lo, hi = np.full(d, -np.inf), np.full(d, np.inf)
        if box is not None:
            lo, hi = np.maximum(lo, box.lower), np.minimum(hi, box.upper)
        eq, ub = [], []
        if simplex is not None:
            lo, hi = np.maximum(lo, 0.0), np.minimum(hi, simplex.total)
            eq.append((np.ones((1, d)), np.array([simplex.total])))
        if linear is not None:
            if linear.A_eq is not None:
                eq.append((linear.A_eq, linear.b_eq))
            if linear.A_ub is not None:
                ub.append((linear.A_ub, linear.b_ub))
        self.lower, self.upper = lo, hi
        self.empty = "empty bounds" if (lo > hi).any() else None
        self.A_eq, self.b_eq = (np.vstack([m for m, _ in eq]), np.concatenate([v for _, v in eq])) if eq else (None, None)
        self.A_ub, self.b_ub = (np.vstack([m for m, _ in ub]), np.concatenate([v for _, v in ub])) if ub else (None, None)

    @property
    def has_rows(self):
        return self.A_eq is not None or self.A_ub is not None

    def stacked(self):
        blocks = [(M, v) for M, v in ((self.A_eq, self.b_eq), (self.A_ub, self.b_ub)) if M is not None]
        if not blocks:
            return np.zeros((0, self.d)), np.zeros(0), 0
        return (np.vstack([M for M, _ in blocks]), np.concatenate([v for _, v in blocks]),
                0 if self.A_eq is None else self.A_eq.shape[0])

    def violation(self, x):
        x = np.asarray(x, dtype=np.float64)
        if not np.isfinite(x).all():
            return math.inf
        w = max(float(np.max(self.lower - x, initial=0.0)), float(np.max(x - self.upper, initial=0.0)))
        if self.A_eq is not None:
            w = max(w, float(np.max(np.abs(self.A_eq @ x - self.b_eq) / np.linalg.norm(self.A_eq, axis=1))))
        if self.A_ub is not None:
            w = max(w, float(np.max(np.maximum(self.A_ub @ x - self.b_ub, 0) / np.linalg.norm(self.A_ub, axis=1))))
        return w

    def cvxpy(self, x):
        out = []
        fin = np.isfinite(self.lower)
        if fin.any():
            out.append(x[np.flatnonzero(fin)] >= self.lower[fin])
        fin = np.isfinite(self.upper)
        if fin.any():
            out.append(x[np.flatnonzero(fin)] <= self.upper[fin])
        if self.A_eq is not None:
            out.append(self.A_eq @ x == self.b_eq)
        if self.A_ub is not None:
            out.append(self.A_ub @ x <= self.b_ub)
        return out

    def find_point(self, lower=None, upper=None):
        from scipy.optimize import linprog

        lo = self.lower if lower is None else np.maximum(self.lower, lower)
        hi = self.upper if upper is None else np.minimum(self.upper, upper)
        if np.any(lo > hi):
            return None
        if not self.has_rows:
            return np.clip(np.zeros(self.d), lo, hi)
        bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in zip(lo, hi, strict=True)]
        res = linprog(np.zeros(self.d), A_ub=self.A_ub, b_ub=self.b_ub, A_eq=self.A_eq, b_eq=self.b_eq,
                      bounds=bounds, method="highs")
        return None if res.status == 2 or res.x is None else np.asarray(res.x)


_ = cp
