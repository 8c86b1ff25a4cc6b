"""Constraint sets C for ``cvxpar.solve``: :class:`Box`, :class:`NonNeg`, :class:`Simplex`, :class:`Linear`.

Every kind follows one contract (:mod:`cvxpar.constraints.base`): it declares its separable bounds and its
linear rows; violation (in x's own units), CVXPY form and normal cone follow from those, and
:class:`FeasibleSet` merges a list of constraints into the one view the solvers, the certificate and the
references consume.  ``constraints`` may be one set or a list; they intersect.

Examples
--------
>>> import numpy as np
>>> from cvxpar.constraints import Box, FeasibleSet, NonNeg, Simplex
>>> S = FeasibleSet([NonNeg(), Box(-1.0, 0.5), Simplex(1.0)], d=3)
>>> S.lower, S.upper
(array([0., 0., 0.]), array([0.5, 0.5, 0.5]))
>>> S.violation(np.array([0.5, 0.5, 0.0]))
0.0
"""

from cvxpar.constraints.base import Constraint
from cvxpar.constraints.box import Box, NonNeg
from cvxpar.constraints.feasible_set import FeasibleSet, as_list
from cvxpar.constraints.linear import Linear
from cvxpar.constraints.simplex import Simplex

__all__ = ["Box", "Constraint", "FeasibleSet", "Linear", "NonNeg", "Simplex", "as_list"]
