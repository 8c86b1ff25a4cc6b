"""Pattern matching: a CVXPY problem -> the terms of  loss(x) + sum_i lam_i psi(x_i),  x in C.

The objective is walked from the root with a weight vector attached to each node: ``Minimize(f)``
starts with weight 1 (``Maximize(g)`` with weight -1: it is ``Minimize(-g)``), and ``+``, ``-``, ``c * e``, ``e / c``, ``C @ e``, ``e @ C`` and
``sum(e)`` (c, C variable-free, possibly Parameters) push the weight down to the children, so
that each leaf term contributes ``sum_i w_i * leaf_i``.  The leaves recognised are:

========================================  ==============================================
leaf                                      term
========================================  ==============================================
affine in x                               linear:      sum_i w_i r_i
``quad_over_lin(r, c)`` (sum_squares)     quadratic:   (w / c) ||r||^2
``power(r, 2)`` (square)                  quadratic:   sum_i w_i r_i^2
``power(norm(r, 2), 2)``                  quadratic:   w ||r||^2
``quad_form(r, P)``, P constant           quadratic:   w r^T P r
``logistic(z)``                           logistic:    sum_i w_i log(1 + exp(z_i))
``huber(r, M)``                           huber:       sum_i w_i huber_M(r_i) (CVXPY's scaling)
``cvxpar.par(u, psi)``                    PAR:         sum_j w_j psi(u_j)
``abs(u)``, ``norm1(u)``                  PAR:         sum_j w_j |u_j|  (the l1 PAR)
========================================  ==============================================

with r, z, u affine in the single variable x (each entry u_j = a_j x_i + c_j of a PAR argument
must read one coordinate; :func:`cvxpar.bridge.assemble.coordinate_terms` checks that at solve
time).  Weights are callables, so Parameter values are read
at solve time; whether they are nonnegative where convexity needs it is checked then too
(:mod:`cvxpar.bridge.assemble`).  Constraints become bounds, linear equalities ``E x + e == 0``
and linear inequalities ``G x + g <= 0``; ``abs(u) <= c``, ``norm_inf(u) <= c`` and
``max(abs(u)) <= c`` are the two-sided rows -c <= u <= c (bounds when u is x).
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
from cvxpy.atoms.max import max as cp_max
from cvxpy.atoms.norm1 import norm1
from cvxpy.atoms.norm_inf import norm_inf
from cvxpy.atoms.pnorm import Pnorm
from cvxpy.atoms.quad_form import QuadForm
from cvxpy.atoms.quad_over_lin import quad_over_lin
from cvxpy.constraints import Equality, Inequality, NonNeg, NonPos, Zero
from cvxpy.expressions.expression import Expression
from cvxpy.expressions.variable import Variable

from cvxpar.bridge.affine import Affine, affine, is_affine, memo, value_of
from cvxpar.bridge.errors import UnsupportedProblemError, describe
from cvxpar.par import PAR

Weight = Callable[[], np.ndarray]

#: psi(x) = |x|: what ``abs(x)`` and ``norm1(x)`` are, as a PAR.
L1 = PAR([0.0], [0.0], -1.0, 1.0)

#: Variable attributes the bridge understands (everything else, e.g. integer, is refused).
_BOUND_ATTRIBUTES = ("nonneg", "nonpos", "bounds")

_SHAPES = (
    "sum_squares / square / quad_form of an affine expression, a sum of logistic or huber terms of an affine "
    "expression, norm(affine, 2) ** 2, a linear term, or a nonnegatively weighted sum of cvxpar.par(u, psi), abs(u) "
    "or norm1(u) with u a selection, scaling or offset of x"
)


@dataclass
class PARTerm:
    """sum_j w_j psi(r_j(x)): r is None for x itself, else an affine map whose rows each read one
    coordinate (r_j = a_j x_{i_j} + c_j, checked at solve time by :mod:`cvxpar.bridge.assemble`)."""

    psi: PAR
    weight: Weight
    source: str
    arg: Affine | None = None


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
    maximize: bool = False  # Maximize(g): the terms are those of -g, and problem.value is g
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
            f"it has {len(variables)} variables ({names}); cvxpar solves for exactly one variable, so "
            "write the model in one cp.Variable and use slices of it (x[:k], x[k:]) where it had several.",
            names,
        )
    x = variables[0]
    s = Structure(x, maximize=isinstance(problem.objective, cp.Maximize))
    _read_attributes(problem, s)
    root = problem.objective.expr
    if root.variables():  # Maximize(g) is read as Minimize(-g)
        sense = -1.0 if s.maximize else 1.0
        _walk(problem, s, root, lambda: np.full(1, sense), False)
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
    if is_affine(node):
        _smooth(s, SmoothTerm("linear", _affine(problem, node, x), w, describe(node)), wp or bool(node.parameters()))
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
    x, src = s.x, describe(node)
    if isinstance(node, _par_atom_types() + (cp_abs, norm1)):
        arg = node.args[0]
        psi = node.psi if isinstance(node, _par_atom_types()) else L1
        weight = (lambda: np.full(arg.size, w()[0])) if isinstance(node, norm1) else w
        s.pars.append(PARTerm(psi, weight, src, None if arg is x else _affine(problem, arg, x, "PAR terms")))
        s.par_params = s.par_params or wp or bool(arg.parameters())
        return
    wp = wp or bool(node.parameters())
    if isinstance(node, quad_over_lin) and not node.args[1].variables():
        r, y = node.args
        yv = value_of(y)
        _smooth(s, SmoothTerm("square", _affine(problem, r, x), lambda: np.full(r.size, w()[0] / yv()), src), wp)
        return
    if isinstance(node, Power) and float(getattr(node.p, "value", node.p)) == 2.0:
        inner = node.args[0]
        if isinstance(inner, Pnorm) and inner.axis is None and float(inner.p) == 2.0:  # norm(r, 2) ** 2
            r = inner.args[0]
            _smooth(s, SmoothTerm("square", _affine(problem, r, x), lambda: np.full(r.size, w()[0]), src), wp)
        else:
            _smooth(s, SmoothTerm("square", _affine(problem, inner, x), w, src), wp)
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


def _affine(problem: cp.Problem, expr: Expression, x: Variable, what: str = "smooth losses") -> Affine:
    if not is_affine(expr):
        shown = describe(expr)
        _refuse(problem, f"{shown} is not affine in {x.name()}; cvxpar needs {what} of affine expressions.", shown)
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
            target.append(_broadcast(expr, x))


def _read_constraint(problem: cp.Problem, s: Structure, c) -> None:
    x, src = s.x, describe(c)
    if isinstance(c, Inequality) and _is_abs_bound(c.args[0]) and not c.args[1].variables():
        _abs_bound(s, c.args[0], c.args[1])
        return
    if isinstance(c, Inequality | NonPos | NonNeg | Equality | Zero):
        if not all(is_affine(a) for a in c.args):
            _refuse(problem, f"the constraint {src} is not linear in {x.name()}.", src)
    else:
        _refuse(
            problem, f"the constraint {src} ({type(c).__name__}) is not a bound, simplex or linear constraint.", src
        )
    if isinstance(c, Inequality):
        lhs, rhs = c.args
        if lhs is x and not rhs.variables():
            s.upper.append(_broadcast(rhs, x))
        elif rhs is x and not lhs.variables():
            s.lower.append(_broadcast(lhs, x))
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


def _is_abs_bound(expr: Expression) -> bool:
    """``abs(r)``, ``norm_inf(r)`` or ``max(abs(r))`` with r affine: ``expr <= c`` is a box on r."""
    if isinstance(expr, cp_max) and expr.axis is None:
        expr = expr.args[0]
    return isinstance(expr, cp_abs | norm_inf) and is_affine(expr.args[0])


def _abs_bound(s: Structure, expr: Expression, c: Expression) -> None:
    """-c <= r <= c for ``abs(r) <= c`` (elementwise c) and ``norm_inf(r) <= c`` (scalar c)."""
    r = expr.args[0] if isinstance(expr, cp_max) else expr
    r = r.args[0]
    x = s.x
    if r is x:
        s.upper.append(_broadcast(c, x))
        s.lower.append(_broadcast(-c, x))
    else:
        s.ineq.append(affine(r - c, x))
        s.ineq.append(affine(-r - c, x))


def _broadcast(bound: Expression, x: Variable) -> Weight:
    """The bound expression's current value, one entry per coordinate of x (re-read if it holds a Parameter)."""
    v = value_of(bound)
    return memo(lambda: np.broadcast_to(v(), x.shape).ravel(order="F").astype(np.float64), bound)


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
