"""The exact prox of the PAR term, the bounds and a few linear rows (equalities G_E u = h_E, inequalities
G_I u <= h_I):

    T(w) = argmin_u  p(u) + ||u - w||^2 / (2 g)   subject to  G_E u = h_E,  G_I u <= h_I,

with p(u) = sum_i lam_i psi(u_i) + the indicator of the bounds, psi convex.  Dualizing the rows with multipliers
nu (nu_I >= 0) leaves a separable problem: u(nu) = prox_{g p}(w - g G^T nu), and the dual function

    q(nu) = p(u(nu)) + ||u(nu) - w||^2 / (2 g) + nu^T (G u(nu) - h)

is concave and continuously differentiable with gradient G u(nu) - h (Rockafellar 1970, Thm 28.3 and Cor. 26.3.2:
the prox is the gradient of a Moreau envelope).  Each coordinate's prox is piecewise affine and nondecreasing, so q
is piecewise quadratic, with the generalized Hessian -g G_F G_F^T on a piece (F: the coordinates of u strictly inside
a piece of psi and the bounds).  q is maximized over nu_I >= 0 by the projected Newton method (Bertsekas 1982,
"Projected Newton methods for optimization problems with simple constraints", SIAM J. Control Optim. 20): the
inequality multipliers at 0 whose gradient points into the bound stay there, the others (the working rows W) take the
Newton step nu_W += (g G_WF G_WF^T)^-1 (G_W u - h_W), projected onto nu_I >= 0 and halved until q increases
(on a plateau of q, where G_WF G_WF^T is singular, and after a step that overshot, the plateau coordinates enter
it with a small weight, a Levenberg-Marquardt-like damping that falls back to 0).  On
the solution's piece the step lands on the root, so the search ends exactly (to the rounding of G u - h), usually in
one or two prox evaluations from the previous call's multipliers.  T(w) = u(nu*) (KKT of the convex problem).
"""

from __future__ import annotations

import numpy as np

#: G_i u = h_i is accepted to this many ulps of max(1, |h_i|, sum_j |G_ij u_j|).
ROW_ULPS = 16.0
#: At most this many Newton steps, and halvings of one step.
MAX_STEPS = 60
MAX_HALVINGS = 40
#: Where the free coordinates leave g G_WF G_WF^T singular (condition number above MAX_CONDITION: on a plateau of q),
#: or after a step that had to be cut (few free coordinates: the step overshoots into the next pieces), the plateau
#: coordinates enter it with weight eps, from PLATEAU_WEIGHT up to 1 (a scaled gradient step), x 10 per cut step;
#: eps falls back / 10 (below PLATEAU_WEIGHT: to 0, the exact Newton step) after a full one.
MAX_CONDITION = 1e12
PLATEAU_WEIGHT = 1e-2


class RowsProx:
    """The prox above for a validated problem with linear rows (``prob.feasible.stacked()``).

    Calling it with (w, g) returns (T(w), nu*); the last multipliers start the next search.  Where the search does
    not meet its tolerance (a degenerate piece) it returns its best point: the caller's certificate decides.
    """

    def __init__(self, prob) -> None:
        G, h, n_eq = prob.feasible.stacked()
        self.prob = prob
        self.G = np.asarray(G, dtype=np.float64)
        self.absG = np.abs(self.G)
        self.h = np.asarray(h, dtype=np.float64)
        self.ineq = np.arange(self.h.size) >= n_eq
        self.nu = np.zeros(self.h.size)

    def _at(self, w, gamma: float, nu):
        """u(nu), q(nu) and q's gradient G u(nu) - h."""
        u = self.prob.prox(w - gamma * (self.G.T @ nu), gamma)
        r = self.G @ u - self.h
        q = self.prob.penalty(u) + float((u - w) @ (u - w)) / (2.0 * gamma) + float(nu @ r)
        return u, q, r

    def _done(self, u, nu, r) -> bool:
        tol = ROW_ULPS * np.finfo(np.float64).eps * np.maximum(np.maximum(1.0, np.abs(self.h)), self.absG @ np.abs(u))
        slack = self.ineq & (nu == 0.0)
        return bool(np.all(np.where(slack, r <= tol, np.abs(r) <= tol)))

    def __call__(self, w, gamma: float):
        nu = np.where(self.ineq, np.maximum(self.nu, 0.0), self.nu)
        u, q, r = self._at(w, gamma, nu)
        eps = 0.0
        for _ in range(MAX_STEPS):
            if self._done(u, nu, r):
                break
            work = ~self.ineq | (nu > 0.0) | (r > 0.0)
            free = ~np.asarray(self.prob.fixed(u))
            GW = self.G[work]
            while True:  # the plateau coordinates weigh eps where the free ones leave G_W D G_W^T singular
                M = gamma * ((GW * np.where(free, 1.0, eps)) @ GW.T)
                if np.linalg.cond(M) <= MAX_CONDITION or eps >= 1.0:
                    break
                eps = min(1.0, max(PLATEAU_WEIGHT, 10.0 * eps))
            step = np.linalg.lstsq(M, r[work], rcond=None)[0]
            tau, moved = 1.0, False
            for _ in range(MAX_HALVINGS):
                trial = nu.copy()
                trial[work] += tau * step
                trial = np.where(self.ineq, np.maximum(trial, 0.0), trial)
                ut, qt, rt = self._at(w, gamma, trial)
                if qt > q or self._done(ut, trial, rt):
                    nu, u, q, r, moved = trial, ut, qt, rt, True
                    break
                tau *= 0.5
            if not moved:
                break
            if tau < 1.0:  # the step overshot: the plateau coordinates weigh more in the next one
                eps = min(1.0, max(PLATEAU_WEIGHT, 10.0 * eps))
            else:
                eps = 0.0 if eps <= PLATEAU_WEIGHT else eps / 10.0
        self.nu = nu
        return u, nu
