"""
Checking a hand-written solver with the certificate
===================================================

A plain proximal-gradient loop, checked every few iterations by ``cvxpar.certificate``: the
residual (distance of -grad loss(x) from lam * dpsi(x)) and the duality gap decrease, but a
plain loop is slow to certify: compare ``cvxpar.solve``, which certifies to 1e-8.
Pass the certificate's arguments by keyword.
"""

import matplotlib.pyplot as plt
import numpy as np

import cvxpar

rng = np.random.default_rng(3)
A, b = rng.standard_normal((40, 100)), rng.standard_normal(40)
loss = cvxpar.losses.LeastSquares(A, b)
psi = cvxpar.pars.l1(cvxpar.grids.uniform(step=0.5, n_levels=5))
lam = 1.0

L = np.linalg.norm(A, 2) ** 2
x = np.zeros(100)
its, residuals, gaps = [], [], []
for it in range(1, 2001):
    x = psi.prox(x - A.T @ (A @ x - b) / L, t=lam / L)
    if it % 50 == 0:
        cert = cvxpar.certificate(loss=loss, psi=psi, lam=lam, x=x)
        its.append(it)
        residuals.append(cert.residual)
        gaps.append(cert.gap)
print(f"after {its[-1]} iterations: residual {residuals[-1]:.1e}, gap {gaps[-1]:.1e}, "
      f"on the grid {cert.quantization_rate:.0%}")
res = cvxpar.solve(loss, psi, lam)
print(f"cvxpar.solve: {res.status} ({res.method}), residual {res.residual:.1e}, "
      f"objective difference {loss.value(x) + lam * psi(x).sum() - res.objective:.1e}")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.semilogy(its, residuals, label="residual")
ax.semilogy(its, gaps, label="duality gap")
ax.set_xlabel("proximal-gradient iteration")
ax.legend()
fig.tight_layout()
plt.show()
