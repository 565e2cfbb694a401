"""Training curves: each loss term per epoch."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._docs import doc_params, doc_plot
from ._common import finish

__all__ = ["history"]

_TERM_COLORS = {
    "loss": "black", "reconstruction": "tab:blue", "similarity": "tab:orange", "contrastive": "tab:green",
}


def _history_frame(model_or_df: Any, func: str) -> pd.DataFrame:
    df = model_or_df if isinstance(model_or_df, pd.DataFrame) else getattr(model_or_df, "history", None)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"{func}: expected a MuseGNN (or any object with a `history` DataFrame) or a DataFrame, "
            f"got {type(model_or_df).__name__}."
        )
    if len(df) == 0:
        raise ValueError(
            f"{func}: the history is empty; train the model first (`model.train()` / `mg.tl.fit`)."
        )
    return df


def _set_yscale(ax: Axes, values: np.ndarray) -> None:
    """Log scale for positive curves; symmetric log (linear near 0) when a term crosses or touches 0."""
    finite = values[np.isfinite(values)]
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")
        return
    nonzero = np.abs(finite[finite != 0])
    linthresh = 10 ** math.floor(math.log10(nonzero.min())) if nonzero.size else 1.0
    ax.set_yscale("symlog", linthresh=linthresh)


@doc_params(doc_plot)
def history(
    model_or_df: Any,
    *,
    terms: Sequence[str] | str | None = None,
    logy: bool = False,
    ncols: int = 4,
    ax: Axes | Sequence[Axes] | None = None,
    show: bool | None = None,
    return_fig: bool = False,
    save: bool | str | os.PathLike | None = None,
) -> Axes | list[Axes] | Figure | None:
    """Loss terms per training epoch, one panel per term.

    The terms live on very different scales (the similarity term is a negative weighted cosine, the
    contrastive term is an NT-Xent of order ``log(batch)``, and enters the total with weight 0.01), so by
    default each term gets its own panel and y axis; the last value is given in each panel's title.

    Parameters
    ----------
    model_or_df
        A trained :class:`muse_gnn.MuseGNN` (its ``history``) or a DataFrame with one row per epoch.
    terms
        Columns to draw; default all numeric columns (``loss``, ``reconstruction``, ``similarity``,
        ``contrastive`` for a MuSe-GNN history).
    logy
        Logarithmic y axes. A term with values ≤ 0 (the similarity term) gets a symmetric-log axis instead,
        linear within the smallest decade of its absolute values.
    ncols
        Panels per row when the figure is created here.
    ax
        A single Axes: all terms drawn on it with a legend (readable when the terms share a scale). A sequence
        of Axes: one per term. None: a new figure with one panel per term.
    {doc_plot_output}

    Returns
    -------
    The :class:`~matplotlib.figure.Figure` when ``return_fig``; otherwise, when the figure is not shown, the
    :class:`~matplotlib.axes.Axes` (one panel) or a list of them, else None.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=150)
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson")
    >>> model = mg.tl.fit(adatas, max_epochs=20)
    >>> mg.pl.history(model, logy=True)
    """
    func = "mg.pl.history"
    df = _history_frame(model_or_df, func)
    if terms is None:
        terms = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    elif isinstance(terms, str):
        terms = [terms]
    terms = list(terms)
    missing = [t for t in terms if t not in df.columns]
    if missing:
        raise KeyError(f"{func}: no column(s) {missing} in the history; available: {list(df.columns)}.")
    if not terms:
        raise ValueError(f"{func}: the history has no numeric column to plot.")
    epochs = df.index.to_numpy() if pd.api.types.is_numeric_dtype(df.index) else np.arange(len(df))
    palette = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])

    def color_of(i: int, term: str) -> str:
        return _TERM_COLORS.get(term, palette[i % len(palette)])

    if ax is not None and isinstance(ax, Axes):
        # all terms on one axes
        for i, term in enumerate(terms):
            ax.plot(epochs, df[term].to_numpy(dtype=float), color=color_of(i, term), lw=1.5, label=term)
        if logy:
            _set_yscale(ax, df[terms].to_numpy(dtype=float).ravel())
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(frameon=False)
        return finish(ax.figure, ax, ax_given=True, show=show, return_fig=return_fig, save=save, name="history")

    if ax is not None:
        axes = list(ax)
        if len(axes) != len(terms):
            raise ValueError(f"{func}: got {len(axes)} axes for {len(terms)} terms.")
        fig = axes[0].figure
    else:
        ncols = max(1, min(ncols, len(terms)))
        nrows = math.ceil(len(terms) / ncols)
        fig, grid = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows), squeeze=False,
                                 layout="constrained")
        flat = list(grid.ravel())
        axes = flat[: len(terms)]
        for extra in flat[len(terms):]:
            extra.set_visible(False)
    for i, (a, term) in enumerate(zip(axes, terms, strict=True)):
        y = df[term].to_numpy(dtype=float)
        a.plot(epochs, y, color=color_of(i, term), lw=1.5)
        last = y[np.isfinite(y)][-1] if np.isfinite(y).any() else float("nan")
        a.set_title(f"{term}  (last {last:.4g})", fontsize="medium")
        a.set_xlabel("epoch")
        if logy:
            _set_yscale(a, y)
        a.grid(alpha=0.3)
    result = axes[0] if len(axes) == 1 else axes
    return finish(fig, result, ax_given=ax is not None, show=show, return_fig=return_fig, save=save, name="history")
