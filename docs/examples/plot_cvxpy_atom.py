"""
A PAR in a CVXPY model
======================

``cvxpar.par(x, psi)`` is a CVXPY atom.  The same model solves with Clarabel and, routed with
``method="cvxpar"``, with cvxpar's certified solvers; the two optima agree.
"""

import cvxpy as cp
import matplotlib.pyplot as plt
import numpy as np

import cvxpar

rng = np.random.default_rng(2)
A, b = rng.standard_normal((25, 60)), rng.standard_normal(25)
grid = cvxpar.grids.uniform(step=0.25, n_levels=5)
psi = cvxpar.pars.parq(grid)

x = cp.Variable(60)
objective = 0.5 * cp.sum_squares(A @ x - b) + 0.5 * cp.sum(cvxpar.par(x, psi))
prob = cp.Problem(cp.Minimize(objective), [cp.sum(x) <= 1.0])
prob.solve(solver="CLARABEL")
x_clarabel, f_clarabel = x.value.copy(), prob.value
prob.solve(method="cvxpar")
print(f"Clarabel {f_clarabel:.8f}, cvxpar {prob.value:.8f}, relative difference "
      f"{abs(prob.value - f_clarabel) / abs(f_clarabel):.1e}")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(x_clarabel, "o", mfc="none", label="Clarabel")
ax.plot(x.value, ".", label="cvxpar")
for q in grid:
    ax.axhline(q, color="grey", lw=0.5)
ax.set_xlabel("coefficient index")
ax.set_ylabel("value (grid lines in grey)")
ax.legend()
fig.tight_layout()
plt.show()
