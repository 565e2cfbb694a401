"""Sphinx configuration of the muse_gnn documentation.

Build (from the repository root)::

    pip install -e ".[doc]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The build needs no network: ``intersphinx_mapping`` is left empty on purpose (set
``MUSE_GNN_INTERSPHINX=1`` to link to the Python, NumPy, SciPy, pandas, AnnData, scanpy, PyTorch and PyG docs
when the inventories can be fetched). Notebooks in ``../tutorials`` (reached through the ``docs/tutorials``
symlink) are rendered with their committed outputs, never executed. The API page is checked against every
subpackage's ``__all__``: a public name missing from ``api.md`` (or listed there but gone) is a build warning.

Formulas are typeset by MathJax, loaded from a CDN by default, so they show as raw LaTeX when the built pages
are read offline. To serve MathJax with the site, point ``MUSE_GNN_MATHJAX`` to the ``es5`` folder of a
MathJax 3 copy (``npm install --prefix DIR mathjax@3`` gives ``DIR/node_modules/mathjax/es5``)::

    MUSE_GNN_MATHJAX=DIR/node_modules/mathjax/es5 sphinx-build -W --keep-going -b html docs docs/_build/html

The files the pages need (about 3 MB) are then copied to ``_static/mathjax/`` of the built site.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from datetime import date
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))  # a source checkout builds without installing

# -- project -----------------------------------------------------------------------------------------------
project = "muse_gnn"
author = "muse_gnn developers"
copyright = f"{date.today().year}, {author}"
try:
    release = version("muse-gnn")
except PackageNotFoundError:  # pragma: no cover
    release = "0.0.0"
version = ".".join(release.split(".")[:2])

# -- extensions --------------------------------------------------------------------------------------------
extensions = [
    "myst_nb",  # MyST markdown + notebooks (includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # numpydoc-style docstrings; must come before sphinx_autodoc_typehints
    "sphinx_autodoc_typehints",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxcontrib.bibtex",
]
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"
templates_path = ["_templates"]
# ".rst" first: autosummary writes its generated pages with the first suffix
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
master_doc = "index"
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    "tutorials/**.md",  # only notebooks are pages; a README in ../tutorials is not
    "tutorials/**.rst",
    "tutorials/**.txt",
]

# autodoc / autosummary
autosummary_generate = True
autosummary_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"  # handled by sphinx_autodoc_typehints
autodoc_preserve_defaults = True
always_document_param_types = True
typehints_defaults = "comma"
typehints_use_rtype = False
typehints_document_rtype = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_include_init_with_doc = False
napoleon_use_rtype = True
napoleon_use_param = True
# Most "Returns" sections are free text (scanpy style), not numpydoc "name : type" entries, which napoleon
# would read line by line as types. `_mark_free_returns` renames such a section to the generic "Returns_text"
# before napoleon runs, and `_returns_as_field` turns it into a ":returns:" field next to the ":rtype:" that
# sphinx_autodoc_typehints adds. Structured numpydoc Returns sections are left to napoleon.
napoleon_custom_sections = ["Returns_text"]

# intersphinx: off by default (the build machine has no network)
_INTERSPHINX = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "pandas": ("https://pandas.pydata.org/docs", None),
    "anndata": ("https://anndata.readthedocs.io/en/stable", None),
    "scanpy": ("https://scanpy.readthedocs.io/en/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
    "torch": ("https://docs.pytorch.org/docs/stable", None),
    "torch_geometric": ("https://pytorch-geometric.readthedocs.io/en/latest", None),
}
intersphinx_mapping = _INTERSPHINX if os.environ.get("MUSE_GNN_INTERSPHINX") == "1" else {}

# MathJax: the CDN (Sphinx default) unless MUSE_GNN_MATHJAX names a local MathJax 3 "es5" folder
_MATHJAX_LOCAL = os.environ.get("MUSE_GNN_MATHJAX", "").strip()
_MATHJAX_PARTS = ("tex-mml-chtml.js", "input/tex/extensions", "output/chtml", "a11y", "ui")  # no speech (sre)
if _MATHJAX_LOCAL:
    _MATHJAX_DIR = Path(_MATHJAX_LOCAL).expanduser().resolve()
    if not (_MATHJAX_DIR / "tex-mml-chtml.js").is_file():
        raise RuntimeError(
            f"MUSE_GNN_MATHJAX={_MATHJAX_LOCAL!r}: no tex-mml-chtml.js there; give the `es5` folder of MathJax 3 "
            "(npm install mathjax@3 -> node_modules/mathjax/es5)."
        )
    mathjax_path = "mathjax/tex-mml-chtml.js"  # relative: served from the site's _static/

# MyST / myst-nb
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "amsmath", "substitution"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # render the committed outputs of the tutorials
nb_merge_streams = True

# -- HTML --------------------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "muse_gnn"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "home_page_in_toc": True,
    "max_navbar_depth": 1,  # the ~40 generated API pages are reached from the API page, not the sidebar
    # sphinx-book-theme 1.4 with pydata-sphinx-theme 0.20 otherwise adds a second, full-width search bar at
    # the top of every page (the search field is already in the sidebar)
    "navbar_start": [],
    "navbar_center": [],
    "navbar_end": [],
    "navbar_persistent": [],
}
pygments_style = "default"

# -- dynamic content ---------------------------------------------------------------------------------------
SUBPACKAGES = ("pp", "tl", "pl", "metrics", "datasets", "io", "model")
TOP_LEVEL = ("MuseGNN", "settings", "MuseGNNWarning", "ConvergenceWarning")
_TUTORIALS_MARKER = "<!-- tutorials-toctree -->"
_BENCHMARKS_MARKER = "<!-- benchmark-results -->"


def _tutorial_docs() -> list[str]:
    folder = HERE / "tutorials"
    if not folder.is_dir():
        return []
    return sorted(f"tutorials/{p.stem}" for p in folder.glob("*.ipynb"))


def _tutorials_block() -> str:
    docs = _tutorial_docs()
    if not docs:
        return "*No tutorial notebooks yet: they will appear here once committed to* `tutorials/`."
    return "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(docs) + "\n```\n"


def _benchmarks_block() -> str:
    results = sorted((ROOT / "benchmarks" / "results").glob("*.md"))
    if not results:
        return "*No benchmark results yet.*"
    parts = []
    for path in results:
        rel = os.path.relpath(path, HERE).replace(os.sep, "/")
        parts.append(f"```{{include}} {rel}\n:heading-offset: 1\n```\n")
    return "\n".join(parts)


def _fill_markers(app, docname: str, source: list[str]) -> None:
    """Expand the tutorial toctree and benchmark includes from what exists at build time."""
    if docname == "tutorials":
        source[0] = source[0].replace(_TUTORIALS_MARKER, _tutorials_block())
    elif docname == "benchmarks":
        source[0] = source[0].replace(_BENCHMARKS_MARKER, _benchmarks_block())


def _always_outdated(app, env, added, changed, removed) -> list[str]:
    """The pages filled at build time are rebuilt every time (their inputs live outside docs/)."""
    return [d for d in ("tutorials", "benchmarks") if d in env.found_docs]


_FIELD = re.compile(r"^:(param|type|rtype|returns?|raises?|yields?|ytype|var|ivar|cvar|meta)\b")


def _mark_free_returns(app, what, name, obj, options, lines: list[str]) -> None:
    """Rename a free-text numpydoc "Returns" section (first entry not followed by an indented line)."""
    for i in range(len(lines) - 2):
        if lines[i].strip() == "Returns" and re.fullmatch(r"\s*-{3,}\s*", lines[i + 1]):
            body = lines[i + 2 :]
            first = next((j for j, line in enumerate(body) if line.strip()), None)
            if first is None:
                return
            follow = body[first + 1] if first + 1 < len(body) else ""
            indent = len(lines[i]) - len(lines[i].lstrip())
            structured = bool(follow.strip()) and len(follow) - len(follow.lstrip()) > indent + 1
            if not structured:
                lines[i] = lines[i].replace("Returns", "Returns_text")
            return


def _returns_as_field(app, what, name, obj, options, lines: list[str]) -> None:
    """Tidy the fields after napoleon and sphinx_autodoc_typehints.

    The free-text "Returns" section (a generic rubric after napoleon) becomes a ``:returns:`` field next to
    ``:rtype:``, and fields appended after the "Examples"/"Notes" rubrics (parameters of methods whose
    docstring has no Parameters section) are moved in front of the first rubric.
    """
    if ".. rubric:: Returns_text" in lines:
        start = lines.index(".. rubric:: Returns_text")
        end = start + 1
        while end < len(lines) and not (lines[end].startswith(".. rubric::") or _FIELD.match(lines[end])):
            end += 1
        body = lines[start + 1 : end]
        while body and not body[0].strip():
            body.pop(0)
        while body and not body[-1].strip():
            body.pop()
        del lines[start:end]
        field = [":returns:"] + [f"   {line}" if line.strip() else "" for line in body]
        rtype = next((i for i, line in enumerate(lines) if line.startswith(":rtype:")), None)
        if rtype is not None:
            lines[rtype:rtype] = field
        else:
            lines[start:start] = ["", *field, ""]
    first_rubric = next((i for i, line in enumerate(lines) if line.startswith(".. rubric::")), None)
    if first_rubric is None:
        return
    moved: list[str] = []
    i = first_rubric + 1
    while i < len(lines):
        if _FIELD.match(lines[i]):
            j = i + 1
            while j < len(lines) and lines[j].startswith(" ") and lines[j].strip():
                j += 1
            moved.extend(lines[i:j])
            del lines[i:j]
        else:
            i += 1
    if moved:
        lines[first_rubric:first_rubric] = [*moved, ""]


def _copy_mathjax(app, exception) -> None:
    """Copy the local MathJax files into ``_static/mathjax`` of an HTML build (only with MUSE_GNN_MATHJAX)."""
    if exception is not None or not _MATHJAX_LOCAL or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in _MATHJAX_PARTS:
        src = _MATHJAX_DIR / part
        if src.is_dir():
            shutil.copytree(src, target / part, dirs_exist_ok=True)
        elif src.is_file():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)


def _check_api(app) -> None:
    """Warn when api.md and the packages' ``__all__`` disagree."""
    from sphinx.util import logging

    logger = logging.getLogger("muse_gnn.docs")
    text = (HERE / "api.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s+((?:%s)\.\w+|%s)\s*$" % ("|".join(SUBPACKAGES), "|".join(TOP_LEVEL)), text,
                            flags=re.M))
    public = set(TOP_LEVEL)
    top = {n for n in import_module("muse_gnn").__all__ if n not in SUBPACKAGES and n != "__version__"}
    for name in sorted(top ^ public):
        logger.warning("muse_gnn.__all__ and conf.TOP_LEVEL disagree on %s", name)
    package = import_module("muse_gnn")
    for sub in SUBPACKAGES:
        module = import_module(f"muse_gnn.{sub}")
        # a re-export of a top-level object (mg.model.MuseGNN is mg.MuseGNN) is documented once, at the top
        public |= {f"{sub}.{name}" for name in module.__all__
                   if not (name in top and getattr(module, name) is getattr(package, name))}
    for name in sorted(public - listed):
        logger.warning("api.md does not list the public name muse_gnn.%s (add it to an autosummary)", name)
    for name in sorted(listed - public):
        logger.warning("api.md lists muse_gnn.%s, which is not in its package's __all__", name)


def setup(app) -> dict[str, bool]:
    app.connect("builder-inited", _check_api)
    app.connect("autodoc-process-docstring", _mark_free_returns, priority=400)  # before napoleon
    app.connect("autodoc-process-docstring", _returns_as_field, priority=600)  # after napoleon and typehints
    app.connect("source-read", _fill_markers)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
