"""Every public name has a numpydoc docstring, so that ``help()`` and the API reference answer a user.

Public names: ``cvxpar.__all__`` and the public names of the subpackages and modules it lists (with
:mod:`cvxpar.experiments.qsgd` for ``experiments``), plus :mod:`cvxpar.torch`, :mod:`cvxpar.metrics` and
:mod:`cvxpar.path` (``__all__`` where a module defines one, else the functions and classes it defines).

- A public function or class has a summary and the sections Parameters (when it takes any; Attributes
  for a result class), Returns (functions, unless annotated ``-> None``), Raises and Examples.  The
  examples run as doctests in CI (``python -m pytest --doctest-modules cvxpar``, see ``.ci/run``).
  Raises is left out only where there is no parameter to refuse, and by the names in ``NO_RAISES``,
  each with the reason.
- A public method or property of a public class (defined in cvxpar, not starting with ``_``) has a
  docstring; a method with parameters has Parameters, one returning a value has Returns.  A method that
  overrides a documented cvxpar method may leave the sections to it (it implements that contract).
"""

from __future__ import annotations

import importlib
import inspect
import types

import pytest
from numpydoc.docscrape import NumpyDocString

import cvxpar

EXTRA_MODULES = ("cvxpar.torch", "cvxpar.metrics", "cvxpar.path", "cvxpar.experiments.qsgd")

#: Public names whose docstring has no Raises section, and why.
NO_RAISES = {
    "cvxpar.SolveResult": "a result built by the solvers (its methods document their own errors)",
    "cvxpar.Certificate": "a result built by cvxpar.certificate",
    "cvxpar.batch.BatchResult": "a result built by solve_batch",
    "cvxpar.experiments.qsgd.SGDRun": "a result built by simulate",
    "cvxpar.losses.padded_top_eigenvalue": "raises nothing of its own (a zero start gives 0.0)",
    "cvxpar.batch.array_tail": "one iteration on validated arrays: raises nothing of its own",
}


def _modules():
    mods = [cvxpar] + [importlib.import_module(m) for m in EXTRA_MODULES]
    for name in cvxpar.__all__:
        obj = getattr(cvxpar, name)
        if isinstance(obj, types.ModuleType):
            mods.append(obj)
            mods += [importlib.import_module(f"{obj.__name__}.{sub}") for sub in getattr(obj, "PUBLIC_MODULES", ())]
    return mods


def _public_names(mod):
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, o in vars(mod).items() if not n.startswith("_") and (inspect.isfunction(o) or inspect.isclass(o))
                 and o.__module__ == mod.__name__]
    return [(f"{mod.__name__}.{n}", getattr(mod, n)) for n in names
            if not isinstance(getattr(mod, n), types.ModuleType)]


def _api():
    seen, functions, members = set(), [], []
    for mod in _modules():
        for name, obj in _public_names(mod):
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            functions.append((name, obj))
            if inspect.isclass(obj):
                members += [(f"{name}.{m}", obj, m) for m, v in vars(obj).items() if not m.startswith("_")
                            and (isinstance(v, (property, staticmethod, classmethod)) or inspect.isfunction(v))]
    return functions, members


FUNCTIONS, MEMBERS = _api()


def _parameters(obj) -> list[str]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p for p in sig.parameters if p not in ("self", "cls")]


def _returns_value(func) -> bool:
    try:
        return inspect.signature(func).return_annotation not in (None, "None")
    except (TypeError, ValueError):
        return True


def _missing(doc: NumpyDocString, obj, *, full: bool, returns: bool, raises: bool = True) -> list[str]:
    missing = [] if doc["Summary"] else ["a summary"]
    documented = doc["Parameters"] or (inspect.isclass(obj) and doc["Attributes"])
    if _parameters(obj) and not documented:
        missing.append("Parameters")
    if returns and not (doc["Returns"] or doc["Yields"]):
        missing.append("Returns")
    if full:
        missing += [section for section in (("Raises",) if raises else ()) + ("Examples",) if not doc[section]]
    return missing


def test_the_walk_finds_the_public_api():
    names = {name for name, _ in FUNCTIONS}
    for expected in ("cvxpar.solve", "cvxpar.PAR", "cvxpar.lambda_for_rate", "cvxpar.losses.LeastSquares",
                     "cvxpar.constraints.FeasibleSet", "cvxpar.batch.solve_batch", "cvxpar.batch.array_tail",
                     "cvxpar.sklearn.PARRegressorCV", "cvxpar.torch.solve", "cvxpar.grids.uniform"):
        assert expected in names
    assert "cvxpar.constraints.FeasibleSet.stacked" in {name for name, *_ in MEMBERS}
    assert set(NO_RAISES) <= names  # no stale exemption


@pytest.mark.parametrize("name, obj", FUNCTIONS, ids=[name for name, _ in FUNCTIONS])
def test_public_function_or_class_has_numpydoc_sections(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    returns = not inspect.isclass(obj) and _returns_value(obj)
    raises = bool(_parameters(obj)) and name not in NO_RAISES
    missing = _missing(NumpyDocString(doc), obj, full=True, returns=returns, raises=raises)
    assert not missing, f"{name}: its docstring lacks {', '.join(missing)}"


def _documenting_definition(cls, attr):
    """The raw attribute and the class whose definition documents it: the first cvxpar class in the MRO
    whose definition has a docstring with sections, else the class's own."""
    own = vars(cls)[attr]
    for base in cls.__mro__:
        value = vars(base).get(attr)
        if value is None or not base.__module__.startswith("cvxpar"):
            continue
        func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        doc = NumpyDocString(inspect.getdoc(func) or "")
        if doc["Parameters"] or doc["Returns"]:
            return value
    return own


@pytest.mark.parametrize("name, cls, attr", MEMBERS, ids=[name for name, *_ in MEMBERS])
def test_public_method_or_property_is_documented(name, cls, attr):
    value = _documenting_definition(cls, attr)
    if isinstance(value, property):
        assert inspect.getdoc(value.fget), f"{name} (a property) has no docstring"
        return
    func = getattr(value, "__func__", value)
    doc = inspect.getdoc(func)
    assert doc, f"{name} has no docstring"
    missing = _missing(NumpyDocString(doc), func, full=False, returns=_returns_value(func))
    assert not missing, f"{name}: its docstring lacks {', '.join(missing)}"
