"""
The exact proximal map of a PAR
===============================

The prox of t*psi, argmin_x t psi(x) + (x - v)^2 / 2, has plateaus at the grid points: a whole
interval of inputs maps exactly onto each q_k (Jin et al. 2025, eq. 7).
"""

import matplotlib.pyplot as plt
import numpy as np

import cvxpar

grid = cvxpar.grids.uniform(step=0.5, n_levels=5)
v = np.linspace(-1.6, 1.6, 801)
fig, ax = plt.subplots(figsize=(5, 4))
for name, psi in [("ridge", cvxpar.pars.ridge(grid)), ("sawtooth", cvxpar.pars.sawtooth(grid))]:
    ax.plot(v, psi.prox(v, t=0.4), label=f"{name} ({psi.curvature})")
ax.plot(v, v, ":", color="grey", label="identity")
ax.set_xlabel("v")
ax.set_ylabel("prox_{0.4 psi}(v)")
ax.legend()
fig.tight_layout()
plt.show()
