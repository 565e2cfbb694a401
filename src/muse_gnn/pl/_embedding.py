"""UMAP (or any 2-D basis) of the joint (gene, dataset) embedding, with optional gene labels."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._docs import doc_params, doc_plot
from .._joint import check_joint, check_rep
from .._warnings import MuseGNNWarning
from ._common import finish

__all__ = ["embedding"]

_MAX_INT_CATEGORIES = 102  # integer columns with at most this many values are drawn as categories


def _plot_copy(joint: AnnData, color: list[str], basis_key: str | None, use_rep: str) -> AnnData:
    """A light AnnData with what the plot needs, so scanpy never writes into the user's object."""
    obs = joint.obs.copy()
    for c in color:
        if c not in obs.columns or pd.api.types.is_bool_dtype(obs[c]):
            continue
        if pd.api.types.is_integer_dtype(obs[c]):
            values = np.sort(obs[c].unique())
            if len(values) <= _MAX_INT_CATEGORIES:
                obs[c] = pd.Categorical(obs[c].astype(str), categories=[str(v) for v in values])
    tmp = AnnData(obs=obs)
    if basis_key is not None:
        tmp.obsm[basis_key] = np.asarray(joint.obsm[basis_key])
    else:
        tmp.obsm[use_rep] = np.asarray(joint.obsm[use_rep])
    for c in color:
        key = f"{c}_colors"
        if key in joint.uns:
            tmp.uns[key] = joint.uns[key]
    return tmp


def _legend_wspace(tmp: AnnData, colors: list[str], kwargs: dict[str, Any]) -> float | None:
    """Space between panels (scanpy's ``wspace``, in axes widths) that fits the widest right-margin legend.

    scanpy's default spacing ignores the legends, so long category names (dataset names) ran into the next
    panel. None when scanpy's default is kept: one panel, ``wspace`` given, or the legends are elsewhere.
    """
    if len(colors) < 2 or "wspace" in kwargs or kwargs.get("legend_loc", "right margin") != "right margin":
        return None
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    size = FontProperties(size=kwargs.get("legend_fontsize") or rcParams["legend.fontsize"]).get_size_in_points()
    legend_in = 0.0
    for col in colors:
        values = tmp.obs[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            labels = [str(c) for c in values.cat.categories]
        elif pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            labels = [str(c) for c in values.dropna().unique()]  # scanpy makes these categorical
        else:
            continue  # continuous: a colour bar, narrower than scanpy's default spacing
        if not labels:
            continue
        text_pt = max(TextPath((0, 0), lab, size=size).get_extents().width for lab in labels)
        n_cols = 1 if len(labels) <= 14 else 2 if len(labels) <= 30 else 3  # as scanpy lays legends out
        legend_in = max(legend_in, n_cols * (text_pt + 3.0 * size) / 72)  # + marker and padding
    if legend_in == 0.0:
        return None
    axes_in = rcParams["figure.figsize"][0]
    default = 0.75 / axes_in + 0.02
    return max(default, (legend_in + 0.55) / axes_in)  # + room for the next panel's axis label


def _label_genes(ax: Axes, coords: np.ndarray, gene_col: pd.Series, genes: Sequence[str]) -> None:
    """Outline the rows of each gene, join them to the gene's label placed at their centroid."""
    span = np.ptp(coords, axis=0)
    offset = 0.02 * (span if np.all(span > 0) else np.ones(2))
    outline = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    values = gene_col.astype(str).to_numpy()
    for gene in genes:
        idx = np.flatnonzero(values == gene)
        xy = coords[idx]
        centre = xy.mean(axis=0)
        for point in xy:
            ax.plot([centre[0], point[0]], [centre[1], point[1]], color="0.35", lw=0.6, zorder=3)
        ax.scatter(xy[:, 0], xy[:, 1], s=30, facecolors="none", edgecolors="black", linewidths=0.9, zorder=4)
        pos = centre + offset if len(idx) == 1 else centre
        ax.text(pos[0], pos[1], gene, fontsize=8, fontweight="bold", ha="center", va="center", zorder=5,
                path_effects=outline)


@doc_params(doc_plot)
def embedding(
    joint: AnnData,
    *,
    basis: str = "umap",
    color: str | Sequence[str] | None = "dataset",
    use_rep: str = "X_muse",
    genes: Sequence[str] | str | None = None,
    gene_key: str = "gene",
    n_neighbors: int = 15,
    random_state: int = 0,
    ax: Axes | None = None,
    show: bool | None = None,
    return_fig: bool = False,
    save: bool | str | os.PathLike | None = None,
    **kwargs: Any,
) -> Axes | list[Axes] | Figure | None:
    """Scatter plot of the joint (gene, dataset) embedding, coloured by dataset, tissue, module, …

    Each point is one gene in one dataset (a row of :meth:`muse_gnn.MuseGNN.joint_embedding`). When
    ``joint.obsm["X_umap"]`` is missing and ``basis="umap"``, neighbours and UMAP of ``obsm[use_rep]`` are
    computed on a private copy (the user's object is never modified; to reuse a layout, run
    :func:`scanpy.pp.neighbors` and :func:`scanpy.tl.umap` on ``joint`` once). Drawing is done by
    :func:`scanpy.pl.embedding`, also on a copy, so colours chosen by scanpy are not written to ``joint.uns``
    (colours already stored there as ``uns["{color}_colors"]`` are used).

    Parameters
    ----------
    joint
        Joint embedding from :meth:`muse_gnn.MuseGNN.joint_embedding`.
    basis
        Name of the 2-D layout: ``obsm[basis]`` or ``obsm[f"X_{basis}"]``. Only ``"umap"`` is computed when
        missing; others must exist (e.g. run :func:`scanpy.tl.tsne` first).
    color
        ``joint.obs`` column(s) to colour by, e.g. ``"dataset"``, ``"tissue"``, ``"technology"``, or a module
        column written by :func:`muse_gnn.tl.gene_modules`. Integer columns with at most 102 distinct values
        (module ids) are drawn as categories. Several columns give one panel each.
    use_rep
        Embedding used to compute the UMAP when it is missing.
    genes
        Genes to label: each of the gene's rows is outlined and joined by thin lines to one label at their
        centroid, so a gene whose datasets agree shows a tight star and a context-specific gene a wide one.
        Genes absent from ``joint`` are skipped with a warning.
    gene_key
        ``joint.obs`` column holding gene names.
    n_neighbors
        Neighbours of the kNN graph behind a computed UMAP.
    random_state
        Seed of a computed UMAP.
    ax
        Axes to draw into (single ``color`` only); a new figure when None.
    {doc_plot_output}
    **kwargs
        Passed to :func:`scanpy.pl.embedding` (``size``, ``palette``, ``legend_loc``, ``title``, …). With
        several panels and legends in the right margin, ``wspace`` defaults to a spacing that fits the widest
        legend (scanpy's default lets long category names run into the next panel).

    Returns
    -------
    The :class:`~matplotlib.figure.Figure` when ``return_fig``; otherwise the :class:`~matplotlib.axes.Axes`
    (a list of them for several colours) when the figure is not shown, else None.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=150)
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson")
    >>> model = mg.tl.fit(adatas, max_epochs=20)
    >>> joint = model.joint_embedding()
    >>> mg.pl.embedding(joint, color="tissue", genes=list(joint.obs["gene"][:2]))
    """
    func = "mg.pl.embedding"
    colors: list[str] = [] if color is None else [color] if isinstance(color, str) else list(color)
    check_joint(joint, func, columns=colors, unique=False)
    if ax is not None and len(colors) > 1:
        raise ValueError(f"{func}: `ax` can hold one panel only; got {len(colors)} colours.")
    if genes is not None and ("components" in kwargs or "dimensions" in kwargs):
        raise ValueError(f"{func}: gene labels are drawn on the first two components; drop `components`.")

    basis_key = basis if basis in joint.obsm else f"X_{basis}" if f"X_{basis}" in joint.obsm else None
    if basis_key is None and basis != "umap":
        raise KeyError(
            f"{func}: neither `joint.obsm[{basis!r}]` nor `joint.obsm['X_{basis}']` exists; compute the "
            f"layout first (only 'umap' is computed here)."
        )
    if basis_key is None:
        check_rep(joint, use_rep, func)
        if joint.n_obs < 3:
            raise ValueError(f"{func}: a UMAP needs at least 3 rows, `joint` has {joint.n_obs}.")
    tmp = _plot_copy(joint, colors, basis_key, use_rep)
    if basis_key is None:
        import scanpy as sc

        sc.pp.neighbors(tmp, use_rep=use_rep, n_neighbors=min(n_neighbors, tmp.n_obs - 1),
                        random_state=random_state)
        sc.tl.umap(tmp, random_state=random_state)
        basis_key = "X_umap"

    label_genes: list[str] = []
    if genes is not None:
        check_joint(joint, func, columns=[gene_key], unique=False)
        wanted = [genes] if isinstance(genes, str) else list(dict.fromkeys(genes))
        present = set(tmp.obs[gene_key].astype(str))
        label_genes = [g for g in wanted if g in present]
        missing = [g for g in wanted if g not in present]
        if missing:
            warnings.warn(f"{func}: genes not in `joint` were not labelled: {missing[:10]}", MuseGNNWarning,
                          stacklevel=2)

    import scanpy as sc

    wspace = _legend_wspace(tmp, colors, kwargs)
    if wspace is not None:
        kwargs = {**kwargs, "wspace": wspace}
    axes = sc.pl.embedding(tmp, basis=basis_key, color=colors or None, ax=ax, show=False, return_fig=False,
                           **kwargs)
    axes_list = list(axes) if isinstance(axes, list | tuple | np.ndarray) else [axes]
    if label_genes:
        coords = np.asarray(tmp.obsm[basis_key])[:, :2]
        for a in axes_list:
            _label_genes(a, coords, tmp.obs[gene_key], label_genes)
    fig = axes_list[0].figure
    result = axes_list[0] if len(axes_list) == 1 else axes_list
    return finish(fig, result, ax_given=ax is not None, show=show, return_fig=return_fig, save=save, name="embedding")
