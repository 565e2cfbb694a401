"""Bubble plot of gene-set enrichment of gene modules (terms × modules)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .._docs import doc_params, doc_plot
from ._common import finish, new_axes

__all__ = ["enrichment"]

_MIN_FDR = 1e-300  # FDR values are clipped here before −log10 (an FDR of 0 would be infinite)

_REQUIRED = ("module", "term", "overlap", "fdr")
_MAX_BUBBLE = 260.0  # marker area (pt²) of the largest overlap


def _module_order(values: pd.Series) -> list:
    uniq = pd.unique(values)
    try:
        return sorted(uniq, key=float)
    except (TypeError, ValueError):
        return sorted(uniq, key=str)


def _select_terms(
    df: pd.DataFrame, n_top: int, max_fdr: float | None, modules: Sequence | None
) -> tuple[pd.DataFrame, list, list[str]]:
    """Top ``n_top`` terms per module (by FDR, then p-value, then fold enrichment).

    Returns the rows to draw (every row of the chosen modules whose term was chosen for some module, with a
    positive overlap), the module order and the term order (terms sorted by the module where they are most
    significant, then by FDR, which gives a diagonal layout).
    """
    if modules is not None:
        keep = [m for m in modules]
        df = df[df["module"].isin(keep)]
        module_order = [m for m in keep if m in set(df["module"])]
    else:
        module_order = _module_order(df["module"])
    ranked = df
    if max_fdr is not None:
        ranked = ranked[ranked["fdr"] <= max_fdr]
    ranked = ranked[ranked["overlap"] > 0]
    keys = ["fdr"] + [c for c in ("pvalue",) if c in ranked.columns]
    asc = [True] * len(keys)
    if "fold_enrichment" in ranked.columns:
        keys.append("fold_enrichment")
        asc.append(False)
    ranked = ranked.sort_values(keys, ascending=asc, kind="mergesort")
    top = ranked.groupby("module", sort=False, observed=True).head(n_top)
    chosen = set(top["term"].astype(str))
    shown = df[df["term"].astype(str).isin(chosen) & (df["overlap"] > 0)].copy()
    shown["term"] = shown["term"].astype(str)
    col = {m: i for i, m in enumerate(module_order)}
    best = shown.sort_values("fdr", kind="mergesort").drop_duplicates("term")
    best = best.assign(_col=best["module"].map(col)).sort_values(["_col", "fdr"], kind="mergesort")
    return shown, module_order, best["term"].tolist()


def _truncate(label: str, n: int) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


@doc_params(doc_plot)
def enrichment(
    df: pd.DataFrame,
    *,
    n_top: int = 5,
    max_fdr: float | None = None,
    modules: Sequence | None = None,
    max_label_length: int = 50,
    cmap: str = "viridis_r",
    ax: Axes | None = None,
    show: bool | None = None,
    return_fig: bool = False,
    save: bool | str | os.PathLike | None = None,
) -> Axes | Figure | None:
    """Bubble plot of the enriched terms of gene modules: terms × modules.

    For every module the ``n_top`` most significant terms are chosen (lowest FDR, ties broken by p-value and
    fold enrichment); the union of those terms is drawn against all modules, so a term shared by several
    modules shows in each. Bubble area is the overlap (number of module genes in the term), colour
    −log10 FDR. Terms are sorted by the module where they are most significant, giving a diagonal.

    Parameters
    ----------
    df
        Enrichment table from :func:`muse_gnn.tl.enrichment`: one row per (module, term) with at least the
        columns ``module``, ``term``, ``overlap`` and ``fdr`` (``pvalue`` and ``fold_enrichment`` are used
        to break ties when present).
    n_top
        Terms chosen per module.
    max_fdr
        Choose only terms with ``fdr <= max_fdr`` (all bubbles of a chosen term are still drawn).
    modules
        Modules to show, in order; default every module of the table (a module without any row, i.e. no
        overlap with any term, has no column), sorted numerically when the labels are numbers.
    max_label_length
        Longer term names are cut with an ellipsis.
    cmap
        Colour map of −log10 FDR.
    ax
        Axes to draw into; a new figure sized to the table when None.
    {doc_plot_output}

    Returns
    -------
    The :class:`~matplotlib.figure.Figure` when ``return_fig``; otherwise the
    :class:`~matplotlib.axes.Axes` when the figure is not shown, else None.

    Examples
    --------
    >>> import pandas as pd
    >>> import muse_gnn as mg
    >>> df = pd.DataFrame({"module": [0, 0, 1], "term": ["A", "B", "C"],
    ...                    "overlap": [5, 3, 8], "fdr": [1e-4, 0.02, 1e-6]})
    >>> mg.pl.enrichment(df, n_top=2)

    With gene modules and gene sets (see :func:`muse_gnn.tl.enrichment`):

    >>> df = mg.tl.enrichment(joint, gene_sets)  # doctest: +SKIP
    >>> mg.pl.enrichment(df, n_top=3, max_fdr=0.05)  # doctest: +SKIP
    """
    func = "mg.pl.enrichment"
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{func}: expected a DataFrame from `mg.tl.enrichment`, got {type(df).__name__}.")
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise KeyError(
            f"{func}: the table has no column(s) {missing}; expected the output of `mg.tl.enrichment`."
        )
    if n_top < 1:
        raise ValueError(f"{func}: `n_top` must be >= 1, got {n_top}.")
    shown, module_order, term_order = _select_terms(df, n_top, max_fdr, modules)
    if not term_order:
        cond = f" with fdr <= {max_fdr}" if max_fdr is not None else ""
        raise ValueError(f"{func}: no term with a positive overlap{cond} to plot.")

    n_mod, n_term = len(module_order), len(term_order)
    xcol = {m: i for i, m in enumerate(module_order)}
    yrow = {t: i for i, t in enumerate(term_order)}
    x = shown["module"].map(xcol).to_numpy(dtype=float)
    y = shown["term"].map(yrow).to_numpy(dtype=float)
    overlap = shown["overlap"].to_numpy(dtype=float)
    score = -np.log10(np.clip(shown["fdr"].to_numpy(dtype=float), _MIN_FDR, 1.0))
    scale = _MAX_BUBBLE / max(overlap.max(), 1.0)

    labels = [_truncate(t, max_label_length) for t in term_order]
    longest = max(len(s) for s in labels)
    fig, ax_ = new_axes(ax, (2.6 + 0.06 * longest + 0.45 * n_mod, 1.4 + 0.3 * n_term))
    points = ax_.scatter(x, y, s=overlap * scale, c=score, cmap=cmap, vmin=0.0,
                         edgecolors="0.2", linewidths=0.5, zorder=3)
    ax_.set_xticks(np.arange(n_mod), [str(m) for m in module_order], rotation=90 if n_mod > 12 else 0)
    ax_.set_yticks(np.arange(n_term), labels, fontsize=8)
    ax_.set_xlim(-0.6, n_mod - 0.4)
    ax_.set_ylim(n_term - 0.5, -0.5)
    ax_.set_xlabel("module")
    ax_.grid(True, color="0.9", zorder=0)
    ax_.set_axisbelow(True)

    shrink = min(0.5, 3.0 / max(n_term, 1) + 0.2)
    cbar = fig.colorbar(points, ax=ax_, shrink=shrink, anchor=(0.0, 1.0), pad=0.03)
    cbar.set_label("−log10 FDR")
    sizes = np.unique(np.round(np.quantile(overlap, [0.0, 0.5, 1.0]))).astype(int)
    sizes = sizes[sizes > 0]
    handles = [Line2D([], [], ls="", marker="o", markersize=np.sqrt(s * scale), markerfacecolor="0.6",
                      markeredgecolor="0.2", label=str(s)) for s in sizes]
    ax_.legend(handles=handles, title="overlap", loc="lower left", bbox_to_anchor=(1.02, 0.0), frameon=False,
               labelspacing=1.0, borderaxespad=0.0)
    return finish(fig, ax_, ax_given=ax is not None, show=show, return_fig=return_fig, save=save, name="enrichment")
