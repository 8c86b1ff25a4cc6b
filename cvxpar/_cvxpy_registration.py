"""Every registration of cvxpar into CVXPY, in one place, checked against the CVXPY version.

CVXPY has no public hook for outside atoms; extensions mutate its module-level registries at
import time (``cvxgrp/dsp`` does the same).  Two registrations, each made once:

- :func:`register_method`: ``Problem.register_solve("cvxpar", ...)``, so that
  ``problem.solve(method="cvxpar")`` calls :func:`cvxpar.bridge.solve_problem` (imported on first use);
- :func:`register_atom`: ``ParAtom`` -> ``par_canon`` in ``dcp2cone.canonicalizers.CANON_METHODS``
  (since CVXPY 1.8 the one table behind the conic, QP and DQCP paths; canonicalizers get
  ``solver_context=``); ``ParAtom`` in ``cvxpy.atoms.NONPOS_ATOMS``, so ``ProblemForm`` knows the
  atom emits inequalities (else SCS refuses an unconstrained ``min sum(par(x))``); ``ParAtom`` ->
  ``par_sublevel`` / ``par_superlevel`` in ``dqcp2dcp.sets.SUBLEVEL_SETS`` / ``SUPERLEVEL_SETS``
  (``solve(qcp=True)``); and ``Problem._solve`` wrapped so that CVXPY's bare "The problem is not DQCP."
  says why when a PAR atom is the cause (a sum of quasiconvex psi terms, a nonconvex psi) and what to use.

When.  ``import cvxpar`` does not import CVXPY (:func:`cvxpar.solve` never needs it, and CVXPY's
import costs more than a small solve).  :func:`install` registers the method at once when CVXPY is
already imported, else when it is: a finder on ``sys.meta_path`` (:class:`_AfterImport`, the
post-import hook pattern of PEP 369) runs :func:`register_method` right after ``cvxpy`` finishes
loading, in either import order.  The atom is registered by :mod:`cvxpar.atoms` on its import (a
``ParAtom`` exists only after it), which imports CVXPY and so registers the method too.
"""

from __future__ import annotations

import importlib.abc
import re
import sys
import warnings

#: CVXPY versions this module was written against: the solver_context keyword and the single
#: canonicalizer table arrived in 1.8; 1.9.2 added the get_data()-keyed CSE cache (which our
#: complete get_data() is safe under).  Tested on 1.9.3.
MIN_CVXPY = (1, 8)
TESTED_BELOW = (1, 10)

_method_registered = False
_atom_registered = False


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


def register_method() -> None:
    """Register ``problem.solve(method="cvxpar")`` with CVXPY (idempotent; imports CVXPY)."""
    global _method_registered
    if _method_registered:
        return
    import cvxpy

    check_cvxpy_version(cvxpy.__version__)
    cvxpy.Problem.register_solve("cvxpar", _solve_with_cvxpar)
    _method_registered = True


def register_atom() -> None:
    """Register ``ParAtom``'s canonicalizer, sign information and DQCP sets with CVXPY (idempotent)."""
    global _atom_registered
    if _atom_registered:
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

    _explain_dqcp_errors(cvxpy)
    CANON_METHODS[ParAtom] = par_canon
    if ParAtom not in cvxpy.atoms.NONPOS_ATOMS:
        cvxpy.atoms.NONPOS_ATOMS.append(ParAtom)
    sets.SUBLEVEL_SETS[ParAtom] = par_sublevel
    sets.SUPERLEVEL_SETS[ParAtom] = par_superlevel
    _atom_registered = True


def _explain_dqcp_errors(cvxpy) -> None:
    """``Problem._solve`` re-raises CVXPY's bare ``DQCPError("The problem is not DQCP.")`` with the reason when a
    PAR atom causes it (:func:`cvxpar.atoms.dqcp.not_dqcp_reason`); other errors pass through unchanged."""
    from cvxpar.atoms.dqcp import not_dqcp_reason

    original = cvxpy.Problem._solve
    if getattr(original, "_cvxpar_explains_dqcp", False):
        return

    def _solve(problem, *args, **kwargs):
        try:
            return original(problem, *args, **kwargs)
        except cvxpy.error.DQCPError as err:
            reason = not_dqcp_reason(problem)
            if reason is None:
                raise
            raise cvxpy.error.DQCPError(f"{err} {reason}") from err

    _solve._cvxpar_explains_dqcp = True
    _solve.__doc__ = original.__doc__
    cvxpy.Problem._solve = _solve


def register() -> None:
    """Register cvxpar's solve method and atom with CVXPY (idempotent; imports CVXPY)."""
    register_method()
    register_atom()


def install() -> None:
    """Register the solve method now if CVXPY is imported, else right after CVXPY's import (see the module docstring)."""
    if "cvxpy" in sys.modules:
        register_method()
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


def _register_quietly() -> None:
    """The hook's registration: a CVXPY cvxpar cannot use must not break ``import cvxpy`` itself; it warns here
    and raises where cvxpar's CVXPY features are used (:mod:`cvxpar.atoms` registers on import)."""
    try:
        register_method()
    except ImportError as exc:
        warnings.warn(f"problem.solve(method='cvxpar') is not available: {exc}", RuntimeWarning, stacklevel=2)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds ``cvxpy`` through the other finders and wraps its loader so that :func:`register_method`
    runs once the module has executed; then leaves ``sys.meta_path``."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "cvxpy":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """``loader`` with :func:`register_method` after its ``exec_module``; afterwards the module records
    ``loader`` itself as its loader."""

    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__spec__.loader = module.__loader__ = self.loader
        self.loader.exec_module(module)
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AfterImport)]
        _register_quietly()

    def __getattr__(self, name):
        return getattr(self.loader, name)
