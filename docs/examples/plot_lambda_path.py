"""
Quantization rate along a lambda path
=====================================

A larger weight lambda puts more coefficients exactly on the grid.  With n = 30 samples and
d = 90 coefficients, every critical point has at least 1 - n/d = 2/3 of them on the grid
(Ma & Xiao 2025); the path shows where the solutions sit above that floor.
"""

import matplotlib.pyplot as plt
import numpy as np

import cvxpar

rng = np.random.default_rng(0)
n, d = 30, 90
A = rng.standard_normal((n, d))
b = A @ rng.choice([-0.5, 0.0, 0.5], size=d) + 0.1 * rng.standard_normal(n)
loss = cvxpar.losses.LeastSquares(A, b)
psi = cvxpar.pars.ridge(cvxpar.grids.uniform(step=0.5, n_levels=5))

lams = np.geomspace(20.0, 0.01, 15)
path = cvxpar.lambda_path(loss, psi, lams)
rates = [r.quantization_rate for r in path]
print("statuses:", sorted({r.status for r in path}))

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.semilogx(lams, rates, "o-", label="solutions")
ax.axhline(1 - n / d, ls="--", color="grey", label="1 - n/d")
ax.set_xlabel("lambda")
ax.set_ylabel("fraction on the grid")
ax.set_ylim(0, 1.05)
ax.legend()
fig.tight_layout()
plt.show()
