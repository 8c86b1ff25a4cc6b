"""The validated problem every method works on: data, lam, constraints and the exact combined prox.

Validation happens here, at the door (shapes, finiteness, lam >= 0, constraint sizes, an empty
feasible set), so no method ever starts on bad data.
"""

from __future__ import annotations

import copy

import numpy as np

from cvxpar import _backend
from cvxpar._validation import as_lam
from cvxpar.certificate import Certificate, evaluate, penalty
from cvxpar.constraints import FeasibleSet
from cvxpar.losses import LinearModelLoss, Loss
from cvxpar.par import PAR


class Problem:
    """minimize loss(x) + sum_i lam_i psi(x_i) subject to constraints, validated.

    Attributes: ``loss``, ``psi``, ``lam`` (float or array), ``constraints`` (as given),
    ``feasible`` (the merged :class:`~cvxpar.constraints.FeasibleSet`: bounds folded into the prox,
    linear rows), ``box`` (the merged bounds as a Box, or None), ``xp``, ``d``, ``kpsi`` (psi
    restricted to uniform bounds: the PAR the prox and the active-set identification use),
    ``lb``/``ub`` (per-coordinate bounds or None), ``infeasible`` (a reason, or None), ``x0``.
    """

    def __init__(self, loss, psi, lam, constraints=None, x0=None) -> None:
        if not isinstance(psi, PAR):
            raise TypeError(f"psi must be a cvxpar.PAR (see cvxpar.pars for families); got {type(psi).__name__}.")
        if not isinstance(loss, Loss):
            raise TypeError(
                "loss must be a cvxpar.losses loss (LeastSquares, Logistic, Huber, a LinearModelLoss subclass, or "
                f"Smooth); got {type(loss).__name__}."
            )
        self.loss, self.psi, self.constraints = loss, psi, constraints
        linear_model = isinstance(loss, LinearModelLoss)
        xp = loss.xp if linear_model else None
        if x0 is not None:
            xp0, x0, _ = _backend.prepare(x0)
            xp = xp if xp is not None else xp0
            if x0.ndim != 1:
                raise ValueError(f"x0 must be a 1-D vector; got shape {tuple(x0.shape)}.")
            if not bool(xp0.all(xp0.isfinite(x0))):
                raise ValueError("x0 contains NaN or inf; give a finite starting point (or None).")
        d = loss.n_features if loss.n_features is not None else (None if x0 is None else x0.shape[0])
        if d is None:
            raise ValueError("Smooth loss: pass n_features=... (or a starting point x0) so the size of x is known.")
        if x0 is not None and x0.shape[0] != d:
            raise ValueError(f"x0 has {x0.shape[0]} entries but the loss has {d} features.")
        self.xp = xp if xp is not None else _backend.array_namespace(np.zeros(1))
        self.d = d
        like = loss.op.like() if linear_model else np.zeros(1)
        self.zeros = self.xp.zeros((d,), dtype=like.dtype, device=_backend.device(like))
        self.lam = as_lam(lam, self.zeros, d)
        #: lam as the user gave it for the certificate (float64 where the data's lower precision rounds self.lam)
        self.lam_exact = as_lam(lam, self.zeros, d, exact=True)
        self.feasible = FeasibleSet(constraints, d)
        self.box = self.feasible.box()
        self.infeasible: str | None = self.feasible.empty
        self.lb = self.ub = None
        self._groups = None
        self.kpsi = psi
        uniform = self.feasible.scalar_bounds
        if self.infeasible is None and uniform is not None:
            self.kpsi = psi.restrict(*uniform)
            if self.kpsi is None:
                self.infeasible = f"the bounds [{uniform[0]:g}, {uniform[1]:g}] miss the domain {psi.domain} of psi"
                self.kpsi = psi
        elif self.infeasible is None:
            # float64 on NumPy whatever the data's dtype: the bounds as given (a float32 copy rounds to nearest, an
            # ulp outside them; the losses' gradients are float64 there anyway)
            self.lb, self.ub = self.box.bounds_like(np.zeros(d) if _backend.is_numpy_namespace(self.xp) else self.zeros)
            dlo, dhi = psi.domain
            if bool(self.xp.any(self.xp.maximum(self.lb, dlo) > self.xp.minimum(self.ub, dhi))):
                self.infeasible = f"the bounds of some coordinate miss the domain {psi.domain} of psi"
        if self.infeasible is None and self.feasible.has_rows:
            lo, hi = self.bounds_np()
            if self.feasible.find_point(lo, hi) is None:
                self.infeasible = ("no point satisfies the linear rows together with the bounds and the domain of psi "
                                   "(a phase-1 linear program proved it)")
        self.x0 = None if x0 is None else _backend.asarray_like(self.xp, np.asarray(x0), self.zeros) if (
            _backend.is_numpy_namespace(_backend.array_namespace(x0))
        ) else x0

    def started_at(self, x0) -> Problem:
        """The same validated problem with another starting point (None: zero)."""
        other = copy.copy(self)
        other.x0 = x0
        return other

    # ------------------------------------------------------------------ feasibility
    def bounds_np(self):
        """Per-coordinate [lo, hi] of box and psi's domain, as NumPy arrays."""
        dlo, dhi = self.psi.domain
        return np.maximum(self.feasible.lower, dlo), np.minimum(self.feasible.upper, dhi)

    # ------------------------------------------------------------------ prox and values
    @property
    def convex(self) -> bool:
        return self.psi.is_convex

    def prox(self, v, t: float):
        """Exact prox of t * (sum_i lam_i psi(x_i) + indicator of the box), elementwise."""
        tt = t * self.lam
        if self.lb is None:
            return self.kpsi.prox(v, tt)
        if self.kpsi.is_convex:  # 1-D convex: prox of psi + box = clip of the prox (exact)
            return self.xp.clip(self.kpsi.prox(v, tt), self.lb, self.ub)
        return self._prox_grouped(v, tt)

    def _prox_grouped(self, v, tt):
        """Nonconvex psi with per-coordinate bounds: the exact prox per distinct (lower, upper) pair."""
        if not _backend.is_numpy_namespace(self.xp):
            raise NotImplementedError(
                "a nonconvex psi with per-coordinate Box bounds runs on NumPy only; use scalar bounds or NumPy arrays."
            )
        if self._groups is None:  # once per problem: the distinct bound pairs and psi restricted to each
            pairs, inverse = np.unique(np.stack([np.asarray(self.lb), np.asarray(self.ub)]), axis=1, return_inverse=True)
            inverse = inverse.reshape(-1)
            self._groups = [(inverse == k, self.psi.restrict(float(pairs[0, k]), float(pairs[1, k])))
                            for k in range(pairs.shape[1])]
        out = np.empty_like(v)
        t_arr = np.broadcast_to(np.asarray(tt, dtype=np.float64), v.shape)
        for sel, kpsi in self._groups:
            out[sel] = kpsi.prox(v[sel], t_arr[sel])
        return out

    def penalty(self, x) -> float:
        return penalty(x, self.psi, self.lam, self.xp)

    def certify(self, x, grad=None, gap: bool = False) -> Certificate:
        """The certificate at x (:func:`cvxpar.certificate.certificate`), reusing the validated data and,
        when given, the gradient the method already holds."""
        return evaluate(self.loss, self.psi, self.lam_exact, x, self.feasible, grad=grad, with_gap=gap)

    def objective(self, x) -> float:
        return self.loss.value(x) + self.penalty(x)

    def start(self):
        """x0 (or 0) moved into the feasible set of the prox (box and domain of psi)."""
        x = self.zeros if self.x0 is None else self.x0
        return self.prox(x, 0.0)

    # ------------------------------------------------------------------ active-set structure
    def kkt_distance(self, x, g):
        """Per coordinate: dist(-g_i, lam_i dpsi(x_i) + N_box(x_i)) (:meth:`PAR.subdifferential_distance`):
        the certificate's residual terms without the linear rows, a working set's scores."""
        return self.psi.subdifferential_distance(x, -g, self.lam, *self.feasible.bounds_like(x))

    def fixed(self, x):
        """True where x_i sits on a breakpoint of psi restricted to the box, or on a bound (:meth:`PAR.on_breakpoint`;
        a float64 NumPy x of length d, once the compiled kernels are loaded, in one compiled pass with the same
        result: :func:`cvxpar._prox_kernels.split_of`)."""
        kernels = _backend.compiled_kernels()
        flat = _backend.is_flat_float64
        if kernels is not None and self.kpsi.n_breakpoints and flat(x) and x.shape[0] == self.d and (
                self.lb is None or (flat(self.lb) and flat(self.ub))):
            fixed = np.empty(self.d, dtype=np.bool_)
            bounded = self.lb is not None
            kernels.split_of(x, self.kpsi.breakpoints, self.lb if bounded else x, self.ub if bounded else x, bounded,
                             fixed, np.empty(self.d, dtype=np.int64))
            return fixed
        return self.kpsi.on_breakpoint(x, self.lb, self.ub)

    def piece_index(self, x):
        """The piece of psi restricted to the box that each x_i lies in (:meth:`PAR.piece_index`)."""
        return self.kpsi.piece_index(x)

    def piece(self, x):
        """Slope and interval [lo, hi] of x_i's piece of psi restricted to the box (:meth:`PAR.piece`)."""
        return self.kpsi.piece(x, self.lb, self.ub)

