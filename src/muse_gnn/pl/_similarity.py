"""Cosine similarity of chosen genes across datasets, as a heatmap of "gene@dataset" rows."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._docs import doc_metric, doc_params, doc_plot
from .._joint import check_joint, check_rep
from .._warnings import MuseGNNWarning
from ._common import finish, new_axes

__all__ = ["similarity"]


def _select_rows(
    joint: AnnData,
    genes: Sequence[str],
    datasets: Sequence[str] | None,
    gene_key: str,
    dataset_key: str,
    func: str,
) -> np.ndarray:
    """Row indices of ``joint``, grouped by gene in the order of ``genes``, datasets in a fixed order."""
    gene_col = joint.obs[gene_key].astype(str).to_numpy()
    ds_series = joint.obs[dataset_key]
    ds_col = ds_series.astype(str).to_numpy()
    if datasets is None:
        if isinstance(ds_series.dtype, pd.CategoricalDtype):
            order = [str(c) for c in ds_series.cat.categories]
        else:
            order = list(dict.fromkeys(ds_col))
    else:
        order = [str(d) for d in datasets]
        unknown = [d for d in order if d not in set(ds_col)]
        if unknown:
            raise KeyError(f"{func}: datasets not in `joint.obs[{dataset_key!r}]`: {unknown}.")
    rank = {d: i for i, d in enumerate(order)}
    rows: list[int] = []
    missing: list[str] = []
    for gene in genes:
        idx = np.flatnonzero((gene_col == gene) & np.isin(ds_col, order))
        if idx.size == 0:
            missing.append(gene)
            continue
        rows.extend(sorted(idx, key=lambda i: rank[ds_col[i]]))
    if missing:
        warnings.warn(
            f"{func}: genes with no row in the chosen datasets were skipped: {missing[:10]}", MuseGNNWarning,
            stacklevel=3
        )
    return np.asarray(rows, dtype=int)


def _cosine_matrix(x: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity of the rows of ``x`` (rows of norm 0 give 0)."""
    x = np.asarray(x, dtype=np.float64)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    xn = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    return np.clip(xn @ xn.T, -1.0, 1.0)


@doc_params(doc_plot, doc_metric)
def similarity(
    joint: AnnData,
    genes: Sequence[str] | str,
    *,
    use_rep: str = "X_muse",
    datasets: Sequence[str] | None = None,
    gene_key: str = "gene",
    dataset_key: str = "dataset",
    annotate: bool | None = None,
    cmap: str = "RdBu_r",
    ax: Axes | None = None,
    show: bool | None = None,
    return_fig: bool = False,
    save: bool | str | os.PathLike | None = None,
) -> Axes | Figure | None:
    """Heatmap of the cosine similarity between chosen genes in every dataset where they were embedded.

    Rows and columns are (gene, dataset) rows of the joint embedding, labelled ``"gene@dataset"`` and grouped
    by gene (black lines separate the genes). The diagonal blocks show whether a gene keeps its meaning across
    datasets (the similarity loss pulls together only genes whose co-expression neighbourhoods agree); the
    off-diagonal blocks show how related two genes are in each context.

    Parameters
    ----------
    joint
        Joint embedding from :meth:`muse_gnn.MuseGNN.joint_embedding`.
    genes
        Genes to compare, in display order; genes with no row are skipped with a warning.
    {doc_use_rep}
    datasets
        Datasets to include, in display order; default all, in the order of ``joint.obs[dataset_key]``.
    gene_key, dataset_key
        ``joint.obs`` columns with gene and dataset names.
    annotate
        Write each value in its cell; default when there are at most 20 rows.
    cmap
        Colour map, centred on 0 (range −1 to 1).
    ax
        Axes to draw into; a new figure sized to the number of rows when None.
    {doc_plot_output}

    Returns
    -------
    The :class:`~matplotlib.figure.Figure` when ``return_fig``; otherwise the heatmap's
    :class:`~matplotlib.axes.Axes` when the figure is not shown, else None.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=150)
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson")
    >>> model = mg.tl.fit(adatas, max_epochs=20)
    >>> joint = model.joint_embedding()
    >>> genes = joint.obs["gene"].value_counts().index[:4]  # genes seen in most datasets
    >>> mg.pl.similarity(joint, list(genes))
    """
    func = "mg.pl.similarity"
    check_joint(joint, func, columns=[gene_key, dataset_key], unique=False)
    check_rep(joint, use_rep, func)
    wanted = [genes] if isinstance(genes, str) else [str(g) for g in dict.fromkeys(genes)]
    rows = _select_rows(joint, wanted, datasets, gene_key, dataset_key, func)
    if rows.size < 2:
        raise ValueError(f"{func}: need at least two (gene, dataset) rows to compare, found {rows.size}.")
    sim = _cosine_matrix(np.asarray(joint.obsm[use_rep])[rows])
    gene_col = joint.obs[gene_key].astype(str).to_numpy()[rows]
    ds_col = joint.obs[dataset_key].astype(str).to_numpy()[rows]
    labels = [f"{g}@{d}" for g, d in zip(gene_col, ds_col, strict=True)]
    n = len(rows)

    side = float(min(max(4.0, 0.3 * n + 2.5), 22.0))
    fig, ax_ = new_axes(ax, (side + 1.2, side))
    im = ax_.imshow(sim, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    fontsize = 8.0 if n <= 40 else max(3.5, 8.0 * 40 / n)
    ax_.set_xticks(np.arange(n), labels, rotation=90, fontsize=fontsize)
    ax_.set_yticks(np.arange(n), labels, fontsize=fontsize)
    ax_.tick_params(length=0)
    bounds = np.flatnonzero(gene_col[1:] != gene_col[:-1]) + 0.5
    for b in bounds:
        ax_.axhline(b, color="black", lw=1.0)
        ax_.axvline(b, color="black", lw=1.0)
    if annotate is None:
        annotate = n <= 20
    if annotate:
        for i in range(n):
            for j in range(n):
                v = sim[i, j]
                ax_.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=min(7.0, fontsize),
                         color="white" if abs(v) > 0.6 else "black")
    cbar = fig.colorbar(im, ax=ax_, shrink=0.6, pad=0.02)
    cbar.set_label("cosine similarity")
    return finish(fig, ax_, ax_given=ax is not None, show=show, return_fig=return_fig, save=save, name="similarity")
