"""The options of each ``cvxpar.solve`` method: one table, checked at the front door.

``cvxpar.solve(..., **options)`` passes keyword options to the method it runs.  Each method's
options are declared here (name, type, valid range, meaning), next to the defaults in the
method modules' ``run`` signatures (a test keeps the two in step), so that

- a misspelled or foreign option is refused before any work, with the closest valid name
  (``unknown option 'maxiter' for method 'fista'; did you mean 'max_iter'?``);
- a value outside its range (``check_every=0``, ``rho=0``, ``sigma0=-1``) is refused with the
  range, instead of failing deep inside a method (division by zero, a singular factorization);
- ``check_every``, the period of the stopping test, is accepted by every method: ``cd``, ``ssnal``
  and ``aprox`` test after every outer step or epoch and ignore it, with a warning;
- under ``method="auto"`` an option of another method than the one picked is ignored with a
  warning that names the pick, so a valid option never fails or passes by the luck of the pick.
"""

from __future__ import annotations

import difflib
import math
import numbers
import warnings
from dataclasses import dataclass

#: ``cvxpar.solve``'s own keywords (for suggestions: ``maxiter`` -> ``max_iter``).
SOLVE_KEYWORDS = ("constraints", "method", "x0", "tol", "max_iter", "polish", "verbose", "n_starts")


@dataclass(frozen=True)
class Option:
    """One keyword option: ``kind`` is ``"int"``, ``"real"``, ``"choice"`` or ``"any"``; numbers lie in
    [low, high] (``open_low``: strictly above low); ``none_ok``: None selects the method's default."""

    name: str
    kind: str
    meaning: str
    low: float = -math.inf
    high: float = math.inf
    open_low: bool = False
    none_ok: bool = False
    choices: tuple = ()

    def describe(self) -> str:
        """The valid values in words, e.g. ``an integer >= 1`` or ``a real number > 0, or None``."""
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "any":
            text = "anything numpy.random.default_rng accepts"
        else:
            noun = "an integer" if self.kind == "int" else "a finite real number"
            if math.isfinite(self.low) and math.isfinite(self.high):
                text = f"{noun} in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}]"
            elif math.isfinite(self.low):
                text = f"{noun} {'>' if self.open_low else '>='} {self.low:g}"
            else:
                text = noun
        return text + (", or None" if self.none_ok else "")

    def check(self, value, method: str):
        """``value`` if valid (integers as ``int``, reals as ``float``), else a ValueError/TypeError."""
        if value is None and self.none_ok:
            return None
        if self.kind == "any":
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"option {self.name}={value!r} of method {method!r} must be {self.describe()}.")
            return value
        integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if (self.kind == "int" and not integral) or not real:
            raise TypeError(
                f"option {self.name}={value!r} of method {method!r} must be {self.describe()}; "
                f"got {type(value).__name__} ({self.meaning})."
            )
        number = int(value) if self.kind == "int" else float(value)
        below = number <= self.low if self.open_low else number < self.low
        if not math.isfinite(number) or below or number > self.high:
            raise ValueError(f"option {self.name}={value!r} of method {method!r} must be {self.describe()} ({self.meaning}).")
        return number


CHECK_EVERY = Option("check_every", "int", "iterations between two stopping tests", low=1)
POLISH_STEPS = Option("polish_steps", "int", "Newton steps of each active-set polish", low=1)

OPTIONS: dict[str, tuple[Option, ...]] = {
    "pg": (
        CHECK_EVERY,
        POLISH_STEPS,
        Option("polish_scale", "real", "step of the polish's prox, in units of 1/L", low=0.0, open_low=True),
    ),
    "admm": (
        CHECK_EVERY,
        Option("rho", "real", "ADMM penalty parameter (default L/10)", low=0.0, open_low=True, none_ok=True),
    ),
    "alm": (
        Option("sigma0", "real", "first penalty on the unit-norm rows (default 100 L / ||rows||^2)", low=0.0,
               open_low=True, none_ok=True),
    ),
    "cd": (
        Option("p0", "int", "smallest working-set size", low=1),
        POLISH_STEPS,
    ),
    "ssnal": (
        Option("sigma0", "real", "first proximal-point step (default 1/L times a constant)", low=0.0, open_low=True,
               none_ok=True),
        POLISH_STEPS,
    ),
    "aprox": (
        Option("batch_size", "int", "rows per minibatch", low=1),
        Option("epochs", "int", "passes over the data (when max_iter is None)", low=1),
        Option("eta0", "real", "first step size (default 1/L)", low=0.0, open_low=True, none_ok=True),
        Option("power", "real", "step decay eta_t = eta0 t^-power", low=0.0, high=1.0),
        Option("seed", "any", "seed of the minibatch order"),
        Option("mapping", "choice", "the step map", choices=("aprox", "parq", "ste", "binaryrelax")),
        Option("anneal_start", "real", "start of PARQ's annealing, as a fraction of the run", low=0.0, high=1.0),
        Option("anneal_end", "real", "end of PARQ's annealing, as a fraction of the run", low=0.0, high=1.0),
        Option("steepness", "real", "steepness of PARQ's sigmoid schedule", low=0.0, open_low=True),
        Option("anneal_center", "real", "center of PARQ's sigmoid schedule", low=0.0, high=1.0),
    ),
}
OPTIONS["fista"] = OPTIONS["pg"]

#: Options every method accepts; the methods not listed in OPTIONS with them ignore them.
COMMON = (CHECK_EVERY,)


def table() -> str:
    """The option table as text: method, name, valid values, meaning (one row per option)."""
    rows = [(m, o.name, o.describe(), o.meaning) for m, opts in OPTIONS.items() for o in opts]
    rows += [("every", o.name, o.describe(), o.meaning + " (ignored where the method has no such period)") for o in COMMON]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows)


def _owners(name: str) -> list[str]:
    return [m for m, opts in OPTIONS.items() if any(o.name == name for o in opts)]


def _declaration(name: str, method: str) -> Option | None:
    return next((o for o in OPTIONS.get(method, ()) + COMMON if o.name == name), None)


def for_method(method: str, options: dict, *, requested: str) -> dict:
    """The options ``method``'s ``run`` takes, validated against the table.

    ``requested`` is the ``method=`` the user gave (``"auto"`` or ``method`` itself).  Unknown
    names raise ``TypeError`` with the closest valid name; another method's option raises unless
    ``requested`` is ``"auto"``; values outside their range raise ``ValueError``.  Options valid
    elsewhere but not for ``method`` (common options it has no use for, and under ``"auto"`` the
    other methods' options) are dropped with a warning.
    """
    kept = {}
    for name, value in options.items():
        owners = _owners(name)
        common = any(o.name == name for o in COMMON)
        if not owners and not common:
            raise TypeError(_unknown(name, requested))
        if requested != "auto" and method not in owners and not common:
            raise TypeError(
                f"option {name!r} is not an option of method {method!r}; it belongs to {_names(owners)}. "
                f"Pass method={owners[0]!r}, or drop it."
            )
        owner = method if method in owners else (owners[0] if owners else method)
        value = _declaration(name, owner).check(value, owner)
        if method in owners:
            kept[name] = value
            continue
        reason = (
            f"method {method!r} tests convergence after every outer step or epoch"
            if common
            else f"method 'auto' picked {method!r}; {name!r} is an option of {_names(owners)} (pass method={owners[0]!r})"
        )
        warnings.warn(f"option {name}={value!r} is ignored: {reason}.", UserWarning, stacklevel=3)
    return kept


def _names(methods: list[str]) -> str:
    return " and ".join(repr(m) for m in methods)


def _unknown(name: str, requested: str) -> str:
    methods = list(OPTIONS) if requested == "auto" else [requested]
    valid = sorted({o.name for m in methods for o in OPTIONS.get(m, ()) + COMMON})
    close = difflib.get_close_matches(name, valid + list(SOLVE_KEYWORDS), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return f"unknown option {name!r} for method {requested!r}{hint} Its options are: {', '.join(valid)}."
