"""Parameter descriptions shared by several functions, filled into their docstrings (scanpy's ``_doc_params``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "doc_groupby",
    "doc_joint",
    "doc_joint_rows",
    "doc_leiden",
    "doc_metric",
    "doc_params",
    "doc_plot_output",
    "doc_use_rep",
]

F = TypeVar("F", bound=Callable[..., Any])


def doc_params(**texts: str) -> Callable[[F], F]:
    """Replace each docstring line that reads ``{name}`` by ``texts[name]``, indented like that line."""

    def decorate(obj: F) -> F:
        lines = []
        for line in (obj.__doc__ or "").split("\n"):
            key = line.strip()[1:-1] if line.strip().startswith("{") and line.strip().endswith("}") else None
            if key in texts:
                indent = line[: len(line) - len(line.lstrip())]
                lines.extend(indent + t if t else t for t in texts[key].split("\n"))
            else:
                lines.append(line)
        obj.__doc__ = "\n".join(lines)
        return obj

    return decorate


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

#: The parameters every joint-embedding metric shares.
doc_metric = {"doc_groupby": doc_groupby, "doc_leiden": doc_leiden, "doc_joint_rows": doc_joint_rows,
              "doc_use_rep": doc_use_rep}
