"""Fuzz ``cvxpar.reference`` for a nonconvex psi: its ``optimal`` is a global optimum and its bound a true
lower bound.

On small random problems (d <= 3, psi with at most 4 pieces) brute-force enumeration of the piece each
coordinate lies in (:func:`fuzz_oracles.brute_force_optimum`, each combination a convex problem solved
by Clarabel) gives the global minimum F*.  The reference's x must be feasible with the objective it
reports; ``bound`` (when given) must not exceed F*; ``"optimal"`` needs F(x) within the reference's
closed-gap rule of F* (MIP_GAP_TOL max(|F(x)|, the objective unit of :mod:`cvxpar.exact.scaling`));
``"infeasible"`` must be confirmed by an LP.  Least squares with bounds runs the envelope branch and
bound; Huber losses and linear rows run SCIP's mixed-integer model.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from fuzz_oracles import (
    CLARABEL_RTOL,
    Finding,
    _objective_scale,
    brute_force_optimum,
    check_rejection,
    feasibility_ratio,
    independently_infeasible,
    objective,
    objective_agrees,
    unbounded_witness_holds,
)
from fuzz_problems import cases
from hypothesis import event, note
from hypothesis import strategies as st

import cvxpar
from cvxpar.exact.finish import MIP_GAP_TOL
from cvxpar.exact.scaling import choose

TIME_LIMIT = 20.0
#: the reference's own feasibility and certificate tolerance is looser than cvxpar.solve's (SCIP, Clarabel)
FEAS_TOL = 1e-6


def check_reference(case) -> None:
    note(case.snippet())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = cvxpar.reference(case.loss(), case.psi, case.lam, case.constraints(), time_limit=TIME_LIMIT)
    except ImportError:
        event("no SCIP")
        return
    except Exception as exc:
        check_rejection(exc, "reference")
        event(f"rejected ({type(exc).__name__})")
        return
    event(f"reference: {ref.status}")
    if ref.status == "infeasible":
        if independently_infeasible(case) is False:
            raise Finding("false-infeasible", "reference says 'infeasible' but an LP finds a feasible point")
        return
    if ref.status == "unbounded":  # a conic solver's own verdict comes without a direction to check
        if "direction" in ref.info and not unbounded_witness_holds(case, ref.info["direction"]):
            raise Finding("false-unbounded", "reference says 'unbounded' but its direction does not make F decrease "
                                             "without bound from a feasible point")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glob = brute_force_optimum(case, 1.0)
    if glob is None:
        event("no brute force")
        return
    f_glob, x_glob = glob
    x = np.asarray(ref.x, dtype=np.float64)
    scale = max(_objective_scale(case, x), _objective_scale(case, x_glob), abs(f_glob), 1e-300)
    slack = CLARABEL_RTOL * scale
    if ref.bound is not None and ref.bound > f_glob + slack:
        raise Finding("bound-above-minimum",
                      f"reference status {ref.status!r} reports the lower bound {ref.bound!r} above the global minimum "
                      f"{f_glob!r} (x* = {x_glob.tolist()!r})")
    if ref.status != "optimal":
        return
    ratio, where = feasibility_ratio(case, x)
    if ratio > FEAS_TOL:
        raise Finding("reference-infeasible", f"reference 'optimal' but x is infeasible: {where}")
    own = objective(case, x)
    if not math.isfinite(own) or not objective_agrees(case, x, ref.objective, own, scale):
        raise Finding("reference-objective-mismatch", f"ref.objective = {ref.objective!r}, recomputed {own!r}")
    unit = choose(case.loss(), case.psi, np.broadcast_to(np.asarray(case.lam, dtype=np.float64), (case.d,))).s
    if own > f_glob + MIP_GAP_TOL * max(abs(own), unit) + slack:  # the reference's closed-gap rule
        raise Finding("reference-optimal-not-global",
                      f"reference 'optimal' at {own!r} but the global minimum is {f_glob!r} at {x_glob.tolist()!r}")


def test_reference_bnb(fuzz):
    """Least squares with bounds only: the envelope branch and bound."""
    family = st.sampled_from(["mcp", "sawtooth", "staircase", "from_slopes", "near_equal"])
    kind = st.sampled_from(["none", "box", "box_vec", "nonneg"])
    fuzz.run(check_reference, examples=8,
             case=st.tuples(family, kind).flatmap(lambda fk: cases(max_d=3, max_levels=3, loss="ls", family=fk[0],
                                                                   constraint=fk[1], degenerate=True)))


def test_reference_mip(fuzz):
    """Huber losses and linear rows: SCIP on the mixed-integer model."""
    family = st.sampled_from(["mcp", "sawtooth", "staircase", "from_slopes"])
    kind = st.sampled_from(["none", "simplex", "linear_eq", "linear_ineq"])
    fuzz.run(check_reference, examples=4,
             case=st.tuples(family, kind).flatmap(lambda fk: cases(max_d=2, max_levels=3, loss="huber", family=fk[0],
                                                                   constraint=fk[1], degenerate=True)))
