"""Sphinx configuration for the cvxpar documentation.

Build (from the repository root)::

    python -m sphinx -W -b html docs docs/_build/html

The six notebooks in ``notebooks/`` are copied into ``docs/notebooks/`` and executed at their
small size during the build (myst-nb); the gallery scripts in ``docs/examples/`` run during the
build (sphinx-gallery).  Figures the notebooks save go to a temporary folder, never into the
source tree.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import cvxpar  # noqa: E402

project = "cvxpar"
author = "the cvxpar developers"
copyright = "2026, the cvxpar developers"
release = version = cvxpar.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
    "sphinx_gallery.gen_gallery",
]

# --- notebooks: copied from notebooks/, executed at small size, figures to a temporary folder ---
NOTEBOOKS_OUT = DOCS / "notebooks"
NOTEBOOKS_OUT.mkdir(exist_ok=True)
for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
    if ".executed" in nb.name:
        continue
    target = NOTEBOOKS_OUT / nb.name
    if not target.exists() or target.read_bytes() != nb.read_bytes():
        shutil.copyfile(nb, target)
os.environ.setdefault("CVXPAR_NOTEBOOK_SIZE", "small")
os.environ["CVXPAR_FIGURES_DIR"] = tempfile.mkdtemp(prefix="cvxpar-docs-figures-")
os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend shows the figures in the page

nb_execution_mode = os.environ.get("CVXPAR_DOCS_EXECUTE", "cache")
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]

# --- gallery: every docs/examples/plot_*.py runs during the build ---
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

# --- API reference: autosummary pages from the numpydoc docstrings ---
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping = {}

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "examples", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
templates_path = ["_templates"]

html_theme = "pydata_sphinx_theme"
html_title = f"cvxpar {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
autosummary_ignore_module_all = False


# --- docstrings are plain text with math such as |x| and names such as coef_ --------------------
# In reStructuredText |x| is a substitution and coef_ a link target.  The docstrings keep the
# plain-text forms (they read well in help()); this hook escapes them outside literal and doctest
# blocks before numpydoc parses the docstring.
_PLAIN_MARKUP = re.compile(r"(?<!\\)\|")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=$|[\s,.;:)\]'])")


def _escape_plain_text(app, what, name, obj, options, lines):
    literal_indent = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                continue
            literal_indent = None
        if stripped.startswith(">>>") or stripped.startswith("..."):
            continue
        if "``" in line:
            parts = line.split("``")
            parts[::2] = [_TRAILING_UNDERSCORE.sub(r"\\_", _PLAIN_MARKUP.sub(r"\\|", p)) for p in parts[::2]]
            lines[i] = "``".join(parts)
        else:
            lines[i] = _TRAILING_UNDERSCORE.sub(r"\\_", _PLAIN_MARKUP.sub(r"\\|", line))
        if stripped.endswith("::"):
            literal_indent = indent


def _skip_foreign(app, what, name, obj, skip, options):
    """Leave out members that scikit-learn generates on the estimators (``set_fit_request`` ...)."""
    module = getattr(obj, "__module__", None) or ""
    return True if module.startswith("sklearn") else None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_plain_text, priority=400)
    app.connect("autodoc-skip-member", _skip_foreign)
