"""CVXPY atoms for PARs: :func:`par` and :class:`ParAtom`.

- :mod:`cvxpar.atoms.par_atom`: the atom class (declared sign, curvature, monotonicity, value,
  gradient) and the ``par`` factory;
- :mod:`cvxpar.atoms.canon`: its epigraph canonicalizer;
- :mod:`cvxpar.atoms.dqcp`: its DQCP sublevel / superlevel sets (and :class:`QCPBracketError`, raised when
  ``solve(qcp=True)`` meets an infeasible or unbounded problem).

Importing this package registers the atom with CVXPY (:func:`cvxpar._cvxpy_registration.register`,
the one module that touches CVXPY's registries).
"""

from cvxpar._cvxpy_registration import register
from cvxpar.atoms.dqcp import QCPBracketError
from cvxpar.atoms.par_atom import ParAtom, par

register()

__all__ = ["ParAtom", "QCPBracketError", "par"]
