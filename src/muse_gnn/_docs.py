"""Parameter descriptions shared by several functions, filled into their docstrings (scanpy's ``_doc_params``).

One mechanism for the whole package: :func:`doc_params` replaces whole-line ``{key}`` placeholders of a
docstring by numpydoc parameter paragraphs, taken from keyword texts or from *bundles* (dicts of such
paragraphs shared by a family of functions, e.g. :data:`doc_metric`, :data:`doc_plot` or
:func:`param_bundle` of a name → description table). :func:`param_docs` renders a ``Parameters`` block from
such a table (the training options of :mod:`muse_gnn.model._docs` use it). ``tests/test_param_docs.py`` checks
that a parameter shared by public functions is described alike everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = [
    "PARAM_DOCS",
    "doc_common",
    "doc_groupby",
    "doc_joint",
    "doc_joint_rows",
    "doc_leiden",
    "doc_metric",
    "doc_params",
    "doc_plot",
    "doc_plot_output",
    "doc_use_rep",
    "param_bundle",
    "param_docs",
]

F = TypeVar("F", bound=Callable[..., Any])

_PLACEHOLDER = re.compile(r"^\{([A-Za-z_]\w*)\}$")


def doc_params(*bundles: Mapping[str, str], **texts: str) -> Callable[[F], F]:
    """Fill each docstring line that reads ``{key}`` with a text, indented like that line.

    The text of ``key`` is ``texts[key]`` if given, else that of the last bundle holding ``key``. Bundles are
    shared dicts of parameter paragraphs, of which a docstring uses the keys it names; every keyword text must
    be used, and every placeholder line must be filled (a typo is an error at import time). Other braces of
    the docstring are left alone.

    Examples
    --------
    >>> @doc_params({"lr": param_docs({"lr": "Learning rate."}, "lr")})
    ... def f(lr=1e-3):
    ...     '''Parameters
    ...     ----------
    ...     {lr}
    ...     '''
    >>> print(f.__doc__.splitlines()[3].strip())
    Learning rate.
    """
    table: dict[str, str] = {}
    for bundle in bundles:
        table.update(bundle)
    table.update(texts)

    def decorate(obj: F) -> F:
        doc = obj.__doc__
        if doc is None:
            return obj
        out: list[str] = []
        used: set[str] = set()
        for line in doc.split("\n"):
            match = _PLACEHOLDER.match(line.strip())
            if match is None:
                out.append(line)
                continue
            key = match.group(1)
            if key not in table:
                raise KeyError(f"{obj.__qualname__}: no text for the docstring placeholder {{{key}}}.")
            used.add(key)
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + ln if ln else ln for ln in table[key].split("\n"))
        unused = sorted(set(texts) - used)
        if unused:
            raise ValueError(f"{obj.__qualname__}: docstring has no placeholder line for {unused}.")
        obj.__doc__ = "\n".join(out)
        return obj

    return decorate


def param_docs(table: Mapping[str, str], *names: str, **overrides: str) -> str:
    """A numpydoc ``Parameters`` block (no indentation) for ``names`` from a name → description ``table``.

    ``overrides`` replaces the description of a name (e.g. another default).

    Examples
    --------
    >>> print(param_docs({"lr": "Learning rate."}, "lr"))
    lr
        Learning rate.
    """
    unknown = [n for n in (*names, *overrides) if n not in table]
    if unknown:
        raise KeyError(f"no documentation for the parameters {unknown}.")
    lines = []
    for n in names:
        lines.append(n)
        lines += ["    " + ln if ln else ln for ln in overrides.get(n, table[n]).splitlines()]
    return "\n".join(lines)


def param_bundle(table: Mapping[str, str]) -> dict[str, str]:
    """A bundle for :func:`doc_params`: one placeholder per parameter of ``table``, filled with its paragraph."""
    return {name: param_docs(table, name) for name in table}


doc_plot_output = """\
show
    Show the figure; None: :attr:`scanpy.settings.autoshow`, unless ``ax`` is given or ``return_fig``.
return_fig
    Return the figure instead of the axes.
save
    Save the figure, as scanpy: ``True`` writes ``{settings.figdir}/{plot name}.{settings.file_format_figs}``;
    a string without a folder is a suffix of that name (``save="_heart.pdf"`` writes
    ``{figdir}/{plot name}_heart.pdf``, the format from the suffix or ``settings.file_format_figs``); a path
    with a folder (or a :class:`~pathlib.Path`) is used as it is."""

doc_joint = """\
joint
    Joint embedding (:func:`muse_gnn.tl.joint_embedding` or :meth:`muse_gnn.MuseGNN.joint_embedding`): one row
    per (gene, dataset), ``obs`` columns ``gene`` and ``dataset``, the vectors in ``obsm[use_rep]``."""

doc_use_rep = """\
use_rep
    Key of the embedding in ``joint.obsm``."""

doc_groupby = """\
groupby
    Column of ``joint.obs`` with the cluster labels (clusters, or e.g. planted modules); ``None`` computes Leiden
    clusters of the ``n_neighbors`` kNN graph of ``use_rep`` (scanpy). Formerly ``cluster_key``."""

doc_leiden = """\
n_neighbors, resolution, random_state
    Size of the kNN graph, Leiden resolution and seed, used when ``groupby`` is ``None``."""

doc_joint_rows = doc_joint + " Rows with NaN are ignored (with a warning)."

#: The plot options every :mod:`muse_gnn.pl` function shares (placeholder ``{doc_plot_output}``).
doc_plot = {"doc_plot_output": doc_plot_output}

#: The parameters every joint-embedding metric shares (also used by :mod:`muse_gnn.tl`).
doc_metric = {"doc_groupby": doc_groupby, "doc_leiden": doc_leiden, "doc_joint_rows": doc_joint_rows,
              "doc_use_rep": doc_use_rep}

#: Descriptions of parameters that several public functions share with the same meaning (name → description).
PARAM_DOCS: dict[str, str] = {
    "allow_noncounts": (
        "Accept non-integer values (e.g. gene activities or normalised data) with a warning instead of an error."
    ),
    "layer": "Layer with the raw counts; ``None`` uses ``adata.X``.",
    "device": (
        '``None``/``"auto"`` (a CUDA GPU when available, else the CPU), ``"cpu"`` or ``"cuda[:i]"``.'
    ),
    "backend": (
        '``"auto"``: torch on a GPU, numpy on the CPU; ``"torch"`` forces torch, also on the CPU (same results\n'
        'to rounding); ``"numpy"`` forces numpy (CPU only).'
    ),
    "spatial_key": "Key of the spots × 2 (or × 3) coordinate array in ``adata.obsm``.",
    "option": (
        '``"mixture"`` (projection + 5 Gaussian + 5 cosine kernels, the SPARK-X default) or ``"single"``\n'
        "(projection kernel only)."
    ),
    "theta": "Negative-binomial overdispersion of the Pearson residuals (scanpy's default 100).",
    "clip": "Clipping threshold of the Pearson residuals; ``None`` means ``sqrt(n_cells)``.",
    "copy": "Return a modified copy instead of writing to ``adata``.",
    "batch_key": "Column of ``joint.obs`` holding the batch labels (the dataset, as in the paper).",
    "graph_key": "``key_added`` of the graph construction (:func:`muse_gnn.pp.coexpression_graph`).",
}

#: One placeholder per entry of :data:`PARAM_DOCS` (``{layer}``, ``{device}``, …).
doc_common = param_bundle(PARAM_DOCS)
