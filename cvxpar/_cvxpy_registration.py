"""Every registration of cvxpar into CVXPY, in one place, checked against the CVXPY version.

CVXPY has no public hook for outside atoms; extensions mutate its module-level registries at
import time (``cvxgrp/dsp`` does the same).  :func:`register` makes these changes, once:

- ``ParAtom`` -> ``par_canon`` in ``dcp2cone.canonicalizers.CANON_METHODS`` (since CVXPY 1.8 the
  one table behind the conic, QP and DQCP paths; canonicalizers get ``solver_context=``);
- ``ParAtom`` in ``cvxpy.atoms.NONPOS_ATOMS``, so ``ProblemForm`` knows the atom emits
  inequalities (else SCS refuses an unconstrained ``min sum(par(x))``);
- ``ParAtom`` -> ``par_sublevel`` / ``par_superlevel`` in ``dqcp2dcp.sets.SUBLEVEL_SETS`` /
  ``SUPERLEVEL_SETS`` (``solve(qcp=True)``);
- ``Problem.register_solve("cvxpar", ...)``: ``problem.solve(method="cvxpar")`` calls
  :func:`cvxpar.bridge.solve_problem`, imported on first use.
"""

from __future__ import annotations

import re
import warnings

#: CVXPY versions this module was written against: the solver_context keyword and the single
#: canonicalizer table arrived in 1.8; 1.9.2 added the get_data()-keyed CSE cache (which our
#: complete get_data() is safe under).  Tested on 1.9.3.
MIN_CVXPY = (1, 8)
TESTED_BELOW = (1, 10)

_registered = False


def _version_tuple(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        return (0, 0)
    return int(match.group(1)), int(match.group(2))


def check_cvxpy_version(version: str) -> None:
    """Raise ImportError below :data:`MIN_CVXPY`; warn at or above :data:`TESTED_BELOW`."""
    found = _version_tuple(version)
    if found < MIN_CVXPY:
        raise ImportError(
            f"cvxpar needs CVXPY >= {MIN_CVXPY[0]}.{MIN_CVXPY[1]} (canonicalizers take solver_context=, one "
            f"registry serves conic and QP solvers); found {version}. Upgrade: pip install -U 'cvxpy>=1.9.2'."
        )
    if found >= TESTED_BELOW:
        warnings.warn(
            f"cvxpar registers its atoms into CVXPY internals tested on CVXPY < {TESTED_BELOW[0]}.{TESTED_BELOW[1]}; "
            f"found {version}. If solves fail, pin 'cvxpy<{TESTED_BELOW[0]}.{TESTED_BELOW[1]}'.",
            RuntimeWarning,
            stacklevel=3,
        )


def _solve_with_cvxpar(problem, **options):
    """``problem.solve(method="cvxpar", **options)``: cvxpar's structured solver (see cvxpar.bridge)."""
    from cvxpar.bridge import solve_problem

    return solve_problem(problem, **options)


def register() -> None:
    """Register cvxpar's atoms and solve method with CVXPY (idempotent)."""
    global _registered
    if _registered:
        return
    import cvxpy
    import cvxpy.atoms
    from cvxpy.reductions.dcp2cone.canonicalizers import CANON_METHODS
    from cvxpy.reductions.dqcp2dcp import sets

    check_cvxpy_version(cvxpy.__version__)
    for owner, name in ((cvxpy.atoms, "NONPOS_ATOMS"), (sets, "SUBLEVEL_SETS"), (sets, "SUPERLEVEL_SETS")):
        if not hasattr(owner, name):
            raise ImportError(
                f"CVXPY {cvxpy.__version__} has no {owner.__name__}.{name}, which cvxpar registers into; "
                f"install a tested CVXPY: pip install 'cvxpy>={MIN_CVXPY[0]}.{MIN_CVXPY[1]},<{TESTED_BELOW[0]}.{TESTED_BELOW[1]}'."
            )

    from cvxpar.atoms.canon import par_canon
    from cvxpar.atoms.dqcp import par_sublevel, par_superlevel
    from cvxpar.atoms.par_atom import ParAtom

    CANON_METHODS[ParAtom] = par_canon
    if ParAtom not in cvxpy.atoms.NONPOS_ATOMS:
        cvxpy.atoms.NONPOS_ATOMS.append(ParAtom)
    sets.SUBLEVEL_SETS[ParAtom] = par_sublevel
    sets.SUPERLEVEL_SETS[ParAtom] = par_superlevel
    cvxpy.Problem.register_solve("cvxpar", _solve_with_cvxpar)
    _registered = True
