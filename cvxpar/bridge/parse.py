"""Pattern matching: a CVXPY problem -> the terms of  loss(x) + sum_i lam_i psi(x_i),  x in C.

The objective is walked from the root with a weight vector attached to each node: ``Minimize(f)``
starts with weight 1, and ``+``, ``-``, ``c * e``, ``e / c``, ``C @ e``, ``e @ C`` and
``sum(e)`` (c, C variable-free, possibly Parameters) push the weight down to the children, so
that each leaf term contributes ``sum_i w_i * leaf_i``.  The leaves recognised are:

========================================  ==============================================
leaf                                      term
========================================  ==============================================
affine in x                               linear:      sum_i w_i r_i
``quad_over_lin(r, c)`` (sum_squares)     quadratic:   (w / c) ||r||^2
``power(r, 2)`` (square)                  quadratic:   sum_i w_i r_i^2
``quad_form(r, P)``, P constant           quadratic:   w r^T P r
``logistic(z)``                           logistic:    sum_i w_i log(1 + exp(z_i))
``huber(r, M)``                           huber:       sum_i w_i huber_M(r_i) (CVXPY's scaling)
``cvxpar.par(x, psi)``                    PAR:         sum_i w_i psi(x_i)
``abs(x)``, ``norm1(x)``                  PAR:         sum_i w_i |x_i|  (the l1 PAR)
========================================  ==============================================

with r, z affine in the single variable x.  Weights are callables, so Parameter values are read
at solve time; whether they are nonnegative where convexity needs it is checked then too
(:mod:`cvxpar.bridge.assemble`).  Constraints become bounds, linear equalities ``E x + e == 0``
and linear inequalities ``G x + g <= 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
from cvxpy.atoms.affine.add_expr import AddExpression
from cvxpy.atoms.affine.binary_operators import DivExpression, MulExpression, multiply
from cvxpy.atoms.affine.sum import Sum
from cvxpy.atoms.affine.unary_operators import NegExpression
from cvxpy.atoms.elementwise.abs import abs as cp_abs
from cvxpy.atoms.elementwise.huber import huber
from cvxpy.atoms.elementwise.logistic import logistic
from cvxpy.atoms.elementwise.power import Power
from cvxpy.atoms.norm1 import norm1
from cvxpy.atoms.quad_form import QuadForm
from cvxpy.atoms.quad_over_lin import quad_over_lin
from cvxpy.constraints import Equality, Inequality, NonNeg, NonPos, Zero
from cvxpy.expressions.expression import Expression
from cvxpy.expressions.variable import Variable

from cvxpar.bridge.affine import Affine, affine, memo, value_of
from cvxpar.bridge.errors import UnsupportedProblemError
from cvxpar.par import PAR

Weight = Callable[[], np.ndarray]

#: psi(x) = |x|: what ``abs(x)`` and ``norm1(x)`` are, as a PAR.
L1 = PAR([0.0], [0.0], -1.0, 1.0)

#: Variable attributes the bridge understands (everything else, e.g. integer, is refused).
_BOUND_ATTRIBUTES = ("nonneg", "nonpos", "bounds")

_SHAPES = (
    "sum_squares / square / quad_form of an affine expression, a sum of logistic or huber terms of an affine "
    "expression, a linear term, or a nonnegatively weighted sum of cvxpar.par(x, psi), abs(x) or norm1(x)"
)


@dataclass
class PARTerm:
    """sum_i w_i psi(x_i)."""

    psi: PAR
    weight: Weight
    source: str


@dataclass
class SmoothTerm:
    """sum_i w_i phi(r_i(x)) for a smooth convex phi (``kind``), or w r^T P r for ``"quad_form"``."""

    kind: str  # "square", "logistic", "huber", "quad_form", "linear"
    r: Affine
    weight: Weight
    source: str
    data: Weight | None = None  # huber's M, quad_form's P


@dataclass
class Structure:
    """Everything ``problem.solve(method="cvxpar")`` needs, read once per problem."""

    x: Variable
    smooth: list[SmoothTerm] = field(default_factory=list)
    pars: list[PARTerm] = field(default_factory=list)
    lower: list[Weight] = field(default_factory=list)
    upper: list[Weight] = field(default_factory=list)
    eq: list[Affine] = field(default_factory=list)
    ineq: list[Affine] = field(default_factory=list)
    smooth_params: bool = False  # does the loss depend on a Parameter?
    par_params: bool = False  # do the PAR weights?
    constraint_params: bool = False


def parse(problem: cp.Problem) -> Structure:
    """Read ``problem`` into a :class:`Structure`, or raise :class:`UnsupportedProblemError`."""
    variables = problem.variables()
    if len(variables) != 1:
        names = ", ".join(v.name() for v in variables) or "none"
        _refuse(
            problem,
            f"it has {len(variables)} variables ({names}); cvxpar solves for exactly one vector variable. "
            "Stack them into one cp.Variable, or",
            names,
        )
    x = variables[0]
    if x.ndim > 1 and not (x.ndim == 2 and 1 in x.shape):
        _refuse(
            problem,
            f"the variable {x.name()} has shape {x.shape}; cvxpar needs a vector (or scalar) variable.",
            x.name(),
        )
    if not isinstance(problem.objective, cp.Minimize):
        _refuse(
            problem, "the objective is a Maximize; cvxpar minimizes, so write Maximize(g) as Minimize(-g).", "Maximize"
        )
    s = Structure(x)
    _read_attributes(problem, s)
    root = problem.objective.expr
    if root.variables():
        _walk(problem, s, root, lambda: np.ones(1), False)
    for c in problem.constraints:
        _read_constraint(problem, s, c)
    s.constraint_params = s.constraint_params or any(c.parameters() for c in problem.constraints)
    return s


# ---------------------------------------------------------------------------- objective
def _walk(problem: cp.Problem, s: Structure, node: Expression, w: Weight, wp: bool) -> None:
    """Record the leaves of ``node``, weighted by ``w`` (``wp``: w depends on a Parameter)."""
    x = s.x
    if not node.variables():
        return
    if node.is_affine():
        _smooth(s, SmoothTerm("linear", _affine(problem, node, x), w, str(node)), wp or bool(node.parameters()))
        return
    if isinstance(node, AddExpression):
        for arg in node.args:
            _walk(problem, s, arg, w if arg.size == node.size else _total(w), wp)
        return
    if isinstance(node, NegExpression):
        _walk(problem, s, node.args[0], lambda: -w(), wp)
        return
    if isinstance(node, multiply | DivExpression):
        left, right = node.args
        if isinstance(node, DivExpression):
            coef, other, divide = (right, left, True) if not right.variables() else (None, None, False)
        else:
            coef, other, divide = (left, right, False) if not left.variables() else (right, left, False)
            if coef is not None and coef.variables():
                coef = None
        if coef is not None:
            c = value_of(coef)

            def scaled(c=c, divide=divide, shape=node.shape) -> np.ndarray:
                cv = np.broadcast_to(c(), shape).ravel(order="F")
                return w() / cv if divide else w() * cv

            _walk(
                problem, s, other, scaled if other.size == node.size else _total(scaled), wp or bool(coef.parameters())
            )
            return
    if isinstance(node, MulExpression):
        left, right = node.args
        if not left.variables() and right.ndim <= 1:
            c = value_of(left)
            _walk(problem, s, right, lambda: _as_matrix(c(), rows=True).T @ w(), wp or bool(left.parameters()))
            return
        if not right.variables() and left.ndim <= 1:
            c = value_of(right)
            _walk(problem, s, left, lambda: _as_matrix(c(), rows=False) @ w(), wp or bool(right.parameters()))
            return
    if isinstance(node, Sum) and node.axis is None:
        arg = node.args[0]
        _walk(problem, s, arg, lambda: np.full(arg.size, w()[0]), wp)
        return
    _leaf(problem, s, node, w, wp)


def _smooth(s: Structure, term: SmoothTerm, params: bool) -> None:
    s.smooth.append(term)
    s.smooth_params = s.smooth_params or params


def _leaf(problem: cp.Problem, s: Structure, node: Expression, w: Weight, wp: bool) -> None:
    x, src = s.x, str(node)
    atoms = _par_atom_types()
    if isinstance(node, atoms):
        if node.args[0] is not x:
            _refuse(
                problem,
                f"the PAR term {src} is applied to {node.args[0]}, not to the variable {x.name()} itself.",
                src,
            )
        s.pars.append(PARTerm(node.psi, w, src))
        s.par_params = s.par_params or wp
        return
    if isinstance(node, cp_abs | norm1):
        if node.args[0] is not x:
            _refuse(
                problem, f"the term {src} is applied to {node.args[0]}, not to the variable {x.name()} itself.", src
            )
        weight = w if isinstance(node, cp_abs) else (lambda: np.full(x.size, w()[0]))
        s.pars.append(PARTerm(L1, weight, src))
        s.par_params = s.par_params or wp
        return
    wp = wp or bool(node.parameters())
    if isinstance(node, quad_over_lin) and not node.args[1].variables():
        r, y = node.args
        yv = value_of(y)
        _smooth(s, SmoothTerm("square", _affine(problem, r, x), lambda: np.full(r.size, w()[0] / yv()), src), wp)
        return
    if isinstance(node, Power) and float(getattr(node.p, "value", node.p)) == 2.0:
        _smooth(s, SmoothTerm("square", _affine(problem, node.args[0], x), w, src), wp)
        return
    if isinstance(node, logistic):
        _smooth(s, SmoothTerm("logistic", _affine(problem, node.args[0], x), w, src), wp)
        return
    if isinstance(node, huber):
        m = node.M if isinstance(node.M, Expression) else cp.Constant(node.M)
        _smooth(s, SmoothTerm("huber", _affine(problem, node.args[0], x), w, src, value_of(m)), wp)
        return
    if isinstance(node, QuadForm) and not node.args[1].variables():
        _smooth(s, SmoothTerm("quad_form", _affine(problem, node.args[0], x), w, src, value_of(node.args[1])), wp)
        return
    _refuse(problem, f"the objective term {src} is not one of: {_SHAPES}.", src)


def _affine(problem: cp.Problem, expr: Expression, x: Variable) -> Affine:
    if not expr.is_affine():
        _refuse(
            problem, f"{expr} is not affine in {x.name()}; cvxpar needs smooth losses of affine expressions.", str(expr)
        )
    return affine(expr, x)


def _total(w: Weight) -> Weight:
    return lambda: np.atleast_1d(w().sum())


def _as_matrix(c: np.ndarray, rows: bool) -> np.ndarray:
    """The constant of ``C @ e`` (rows) or ``e @ C`` as a 2-D array acting on e's entries."""
    if c.ndim == 2:
        return c
    return c.reshape(1, -1) if rows else c.reshape(-1, 1)


def _par_atom_types() -> tuple[type, ...]:
    """cvxpar's PAR atom class(es), once the atoms module exists."""
    try:
        from cvxpar.atoms import ParAtom
    except ImportError:
        return ()
    return (ParAtom,)


# ---------------------------------------------------------------------------- constraints
def _read_attributes(problem: cp.Problem, s: Structure) -> None:
    x = s.x
    for name, val in x.attributes.items():
        if not val or name in _BOUND_ATTRIBUTES:
            continue
        hint = "problem.solve(solver='SCIP')" if name in ("integer", "boolean") else None
        _refuse(
            problem, f"the variable {x.name()} has the attribute {name}=True, which cvxpar does not handle.", name, hint
        )
    if x.attributes.get("nonneg"):
        s.lower.append(lambda: np.zeros(x.size))
    if x.attributes.get("nonpos"):
        s.upper.append(lambda: np.zeros(x.size))
    bounds = x.attributes.get("bounds")
    if bounds is not None:
        lo, hi = bounds
        for side, target in ((lo, s.lower), (hi, s.upper)):
            if side is None:
                continue
            expr = side if isinstance(side, Expression) else cp.Constant(side)
            s.constraint_params = s.constraint_params or bool(expr.parameters())
            v = value_of(expr)
            target.append(lambda v=v: np.broadcast_to(v(), x.shape).ravel(order="F").astype(np.float64))


def _read_constraint(problem: cp.Problem, s: Structure, c) -> None:
    x, src = s.x, str(c)
    if isinstance(c, Inequality | NonPos | NonNeg | Equality | Zero):
        if not all(a.is_affine() for a in c.args):
            _refuse(problem, f"the constraint {src} is not linear in {x.name()}.", src)
    else:
        _refuse(
            problem, f"the constraint {src} ({type(c).__name__}) is not a bound, simplex or linear constraint.", src
        )
    if isinstance(c, Inequality):
        lhs, rhs = c.args
        if lhs is x and not rhs.variables():
            s.upper.append(_broadcast(value_of(rhs), x))
        elif rhs is x and not lhs.variables():
            s.lower.append(_broadcast(value_of(lhs), x))
        else:
            s.ineq.append(affine(lhs - rhs, x))
    elif isinstance(c, NonNeg):  # expr >= 0
        s.ineq.append(affine(-c.args[0], x))
    elif isinstance(c, NonPos):
        s.ineq.append(affine(c.args[0], x))
    elif isinstance(c, Equality):
        s.eq.append(affine(c.args[0] - c.args[1], x))
    else:
        s.eq.append(affine(c.args[0], x))


def _broadcast(v: Weight, x: Variable) -> Weight:
    return memo(lambda: np.broadcast_to(v(), x.shape).ravel(order="F").astype(np.float64), [])


# ---------------------------------------------------------------------------- errors
def _refuse(problem: cp.Problem, what: str, culprit: str, hint: str | None = None) -> None:
    raise UnsupportedProblemError(
        f"problem.solve(method='cvxpar') cannot take this problem: {what} {hint or alternative(problem)}", culprit
    )


def alternative(problem: cp.Problem) -> str:
    """Which solver can take ``problem`` instead, as a sentence."""
    nonconvex_par = any(
        getattr(getattr(a, "psi", None), "curvature", "convex") != "convex"
        for a in _atoms_of(problem)
        if isinstance(a, _par_atom_types())
    )
    if nonconvex_par:
        return (
            "For a nonconvex PAR use cvxpar.reference(loss, psi, lam, constraints) (an exact mixed-integer "
            "reference), or problem.solve(qcp=True) for a quasiconvex one."
        )
    try:
        dcp = problem.is_dcp()
    except Exception:
        dcp = False
    if dcp:
        return "The problem is DCP: use problem.solve(solver='CLARABEL') instead."
    return "The problem is not DCP either, so no CVXPY solver takes it as written."


def _atoms_of(problem: cp.Problem) -> list:
    out: list = []
    stack = [problem.objective.expr, *problem.constraints]
    while stack:
        e = stack.pop()
        out.append(e)
        stack.extend(getattr(e, "args", []))
    return out
