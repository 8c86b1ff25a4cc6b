"""
Learning the quantization levels through the solution's derivative
===================================================================

A PAR-regularized fit pulls the coefficients toward a grid of levels q_1 < ... < q_K.  Which levels?
Two classical choices look only at the unregularized coefficients: a **uniform** grid over their range,
and the **Lloyd-Max** grid (1-D k-means of the coefficients, Lloyd 1982).  A third choice looks at the
data: pick the levels that minimize the validation error of the regularized solution x*(q), by gradient
descent on q with the exact hypergradient

    d/dq  1/2 ||A_val x*(q) - b_val||^2  =  res.vjp(A_val^T (A_val x* - b_val))   (chained through psi's values),

the bilevel approach of implicit differentiation (Blondel et al. 2022; :mod:`cvxpar.derivatives`).
psi is the interpolant of x^2/2 on the levels (:func:`cvxpar.pars.ridge`, values q^2/2), with the
outer slopes held fixed.  At this lambda the fits are only partly on the grid (the fraction is printed):
the comparison is between regularized fits, not fully quantized models.  The test error is measured on held-out data; the verdict printed at the end is
computed from those measurements, and learning does not always help: with few samples per level the
validation set is small and the learned levels can overfit it (a lower validation error and a higher
test error is the sign).  ``CVXPAR_NOTEBOOK_SIZE=small`` (the documentation build, CI) runs fewer grid sizes
and descent steps.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import cvxpar
from cvxpar.data import load_diabetes
from cvxpar.losses import LeastSquares

X, y = load_diabetes()
y = y - y.mean()
rng = np.random.default_rng(0)
perm = rng.permutation(len(y))
tr, va, te = perm[:220], perm[220:330], perm[330:]
ols = np.linalg.lstsq(X[tr], y[tr], rcond=None)[0]
SMALL = os.environ.get("CVXPAR_NOTEBOOK_SIZE", "full") == "small"
LEVELS, STEPS = ((2, 3), 10) if SMALL else ((2, 3, 4, 5), 40)
LAM = 0.02  # weight of psi (whose values are ~coefficient^2 / 2)
SLOPE = 4.0 * float(np.max(np.abs(ols)))  # outer slopes: steep, fixed, so psi stays convex as q moves


def fit(q):
    psi = cvxpar.PAR(q, 0.5 * q * q, -SLOPE, SLOPE)
    return cvxpar.solve(LeastSquares(X[tr], y[tr]), psi, LAM, tol=1e-10)


def mse(x, rows):
    return float(np.mean((X[rows] @ x - y[rows]) ** 2))


def lloyd_max(values, k, iters=100):
    q = np.quantile(values, (np.arange(k) + 0.5) / k)
    for _ in range(iters):
        labels = np.argmin(np.abs(values[:, None] - q[None, :]), axis=1)
        q = np.array([values[labels == j].mean() if np.any(labels == j) else q[j] for j in range(k)])
    return np.sort(q + 1e-6 * np.arange(k))  # keep strictly increasing if two levels merge


def learn(q, steps=STEPS, lr=0.2):
    """Gradient descent on the validation error, the step scaled by the grid's spread and backtracked."""
    best_q, best = q, mse(fit(q).x, va)
    scale = np.ptp(q) + 1.0
    for _ in range(steps):
        res = fit(best_q)
        if res.status != "optimal":
            break
        r = X[va] @ res.x - y[va]
        g = res.vjp(X[va].T @ r / len(va), wrt=("breakpoints", "values"))
        grad = g["breakpoints"] + g["values"] * best_q  # values = q^2 / 2
        step = lr * scale * grad / (np.linalg.norm(grad) + 1e-300)
        while np.linalg.norm(step) > 1e-6 * scale:
            cand = np.sort(best_q - step)
            if np.all(np.diff(cand) > 1e-6 * scale):
                val = mse(fit(cand).x, va)
                if val < best:
                    best_q, best = cand, val
                    break
            step = step / 2
        else:
            break
    return best_q


rows = []
for k in LEVELS:
    grids = {"uniform": np.linspace(ols.min(), ols.max(), k), "Lloyd-Max": lloyd_max(ols, k)}
    grids["learned"] = learn(grids["Lloyd-Max"])
    for name, q in grids.items():
        res = fit(q)
        rows.append((k, name, mse(res.x, va), mse(res.x, te), res.quantization_rate))
        print(f"K={k} {name:9s} val MSE {rows[-1][2]:8.1f}  test MSE {rows[-1][3]:8.1f}  "
              f"on the grid {100 * rows[-1][4]:5.1f}%  ({res.status})")

val = {(k, name): v for k, name, v, _, _ in rows}
test = {(k, name): t for k, name, _, t, _ in rows}
ks = sorted({k for k, *_ in rows})
wins = [k for k in ks if test[(k, "learned")] < min(test[(k, "uniform")], test[(k, "Lloyd-Max")])]
# learning starts from Lloyd-Max: where it lowered the validation error but raised the test error, it overfit
overfit = [k for k in ks if val[(k, "learned")] < val[(k, "Lloyd-Max")] and test[(k, "learned")] > test[(k, "Lloyd-Max")]]
print(f"verdict: the learned levels have the lowest test error for K in {wins} of {ks}"
      if wins else f"verdict: learning the levels never gave the lowest test error here (K in {ks})")
print(f"overfitting: the learned levels lowered the validation error but raised the test error for K in {overfit}"
      if overfit else "overfitting: none (wherever learning lowered the validation error, the test error did not rise)")

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, marker in (("uniform", "s"), ("Lloyd-Max", "o"), ("learned", "^")):
    ax.plot(ks, [test[(k, name)] for k in ks], marker=marker, label=name)
ax.set_xlabel("number of levels K")
ax.set_ylabel("test MSE")
ax.legend()
fig.tight_layout()
plt.show()
