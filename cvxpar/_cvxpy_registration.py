"""Every registration of cvxpar into CVXPY, in one place, checked against the CVXPY version.

(Filled in by the CVXPY-atoms work: canonicalizers, NONPOS_ATOMS, DQCP sublevel sets and
``Problem.register_solve("cvxpar", ...)``.)
"""

from __future__ import annotations


def register() -> None:
    """Register cvxpar's atoms and solve method with CVXPY (idempotent)."""
