"""CVXPY atoms for PARs: :func:`par` and :class:`ParAtom`.

- :mod:`cvxpar.atoms.par_atom`: the atom class (declared sign, curvature, monotonicity, value,
  gradient) and the ``par`` factory;
- :mod:`cvxpar.atoms.canon`: its epigraph canonicalizer;
- :mod:`cvxpar.atoms.dqcp`: its DQCP sublevel / superlevel sets.

Nothing here touches CVXPY's registries; :mod:`cvxpar._cvxpy_registration` does, on import of
:mod:`cvxpar`.
"""

from cvxpar.atoms.par_atom import ParAtom, par

__all__ = ["ParAtom", "par"]
