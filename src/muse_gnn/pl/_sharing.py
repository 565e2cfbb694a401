"""UpSet-style plot of how gene modules are shared across tissues (or datasets, technologies, …)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .._utils import logger
from .._compat import renamed_parameter
from .._docs import doc_params, doc_plot
from .._joint import check_joint
from ._common import finish, new_axes

__all__ = ["module_sharing"]


def _sharing_table(
    joint: AnnData, groupby: str, tissue_key: str, min_rows: int, exclude: Sequence = ()
) -> tuple[pd.Series, pd.DataFrame]:
    """Presence of every module in every group and the number of modules per exact combination of groups.

    Returns ``(combinations, presence)``: ``presence`` is a boolean modules × groups table (a module is
    present in a group when at least ``min_rows`` of its rows belong to that group); ``combinations`` counts
    the modules present in exactly each combination (index: tuples of group names in group order), sorted
    by decreasing count, then by increasing number of groups. Modules present nowhere are left out of
    ``combinations`` (and kept in ``presence`` as all-False rows).
    """
    obs = joint.obs[[groupby, tissue_key]].dropna()
    excluded = {str(e) for e in exclude}
    obs = obs[~obs[groupby].astype(str).isin(excluded)]
    groups = joint.obs[tissue_key]
    if isinstance(groups.dtype, pd.CategoricalDtype):
        order = [str(c) for c in groups.cat.categories if (groups == c).any()]
    else:
        order = list(dict.fromkeys(groups.dropna().astype(str)))
    counts = pd.crosstab(obs[groupby].astype(str), obs[tissue_key].astype(str))
    counts = counts.reindex(columns=order, fill_value=0)
    presence = counts >= min_rows
    combos = presence.apply(lambda r: tuple(c for c in order if r[c]), axis=1)
    combos = combos[combos.map(len) > 0]
    table = combos.value_counts()
    if len(table):
        frame = pd.DataFrame(
            {"count": table.to_numpy(), "degree": [len(k) for k in table.index],
             "pos": [tuple(order.index(c) for c in k) for k in table.index]},
            index=table.index,
        )
        frame = frame.sort_values(["count", "degree", "pos"], ascending=[False, True, True], kind="mergesort")
        table = frame["count"]
    table.name = "n_modules"
    return table, presence


@renamed_parameter("between", "tissue_key")
@doc_params(doc_plot)
def module_sharing(
    joint: AnnData,
    *,
    groupby: str = "muse_module",
    tissue_key: str = "tissue",
    min_rows: int = 3,
    exclude: Sequence | None = None,
    max_combinations: int = 30,
    ax: Axes | None = None,
    show: bool | None = None,
    return_fig: bool = False,
    save: bool | str | os.PathLike | None = None,
) -> Axes | Figure | None:
    """How gene modules are shared across tissues: an UpSet-style plot.

    Each module (a cluster of (gene, dataset) rows, e.g. from :func:`muse_gnn.tl.gene_modules`) is
    **present** in a tissue when at least ``min_rows`` of its rows come from datasets of that tissue. Each
    module thus has a set of tissues; the bars count, for every combination of tissues, the modules present
    in **exactly** those tissues (not in any other), and the dot matrix below names the combination. The
    tissue labels give the number of modules present in each tissue. Modules present in no tissue (fewer
    than ``min_rows`` rows everywhere) are not drawn; their number is noted in the plot.

    Parameters
    ----------
    joint
        Joint embedding with a module column, e.g. after :func:`muse_gnn.tl.gene_modules`.
    groupby
        ``joint.obs`` column with the module of each row.
    tissue_key
        ``joint.obs`` column whose values are the contexts compared: the tissue, or any other such column
        (``"dataset"``, ``"technology"``, ``"species"``, …), as in :func:`muse_gnn.metrics.context_separation`.
        Formerly ``between``.
    min_rows
        Rows a module needs in a group to count as present there (1 counts a single stray gene).
    exclude
        Module labels to ignore, e.g. the label of unassigned rows; rows with a missing module are always
        ignored.
    max_combinations
        Draw at most this many combinations (the most frequent).
    ax
        Axes for the bars; the dot matrix is appended below it. A new figure when None.
    {doc_plot_output}

    Returns
    -------
    The :class:`~matplotlib.figure.Figure` when ``return_fig``; otherwise the bar
    :class:`~matplotlib.axes.Axes` (the matrix axes is the figure's next axes) when the figure is not
    shown, else None.

    Examples
    --------
    >>> import anndata as ad, pandas as pd
    >>> import muse_gnn as mg
    >>> obs = pd.DataFrame({"muse_module": ["0"] * 6 + ["1"] * 3,
    ...                     "tissue": ["heart"] * 3 + ["lung"] * 6})
    >>> joint = ad.AnnData(obs=obs)
    >>> mg.pl.module_sharing(joint, min_rows=2)
    """
    func = "mg.pl.module_sharing"
    check_joint(joint, func, columns=[groupby, tissue_key], unique=False)
    if min_rows < 1:
        raise ValueError(f"{func}: `min_rows` must be >= 1, got {min_rows}.")
    table, presence = _sharing_table(joint, groupby, tissue_key, min_rows, exclude or ())
    n_absent = int((~presence.any(axis=1)).sum())
    if n_absent:
        logger.info("%s: %d module(s) have fewer than %d rows in every %s; not drawn.", func, n_absent,
                    min_rows, tissue_key)
    if len(table) == 0:
        raise ValueError(
            f"{func}: no module has at least {min_rows} rows in any {tissue_key} value; lower `min_rows`."
        )
    table = table.iloc[:max_combinations]
    sets = list(presence.columns)
    n_sets, k = len(sets), len(table)
    set_sizes = presence.sum(axis=0)

    fig, ax_ = new_axes(ax, (max(4.0, 0.38 * k + 2.8), 2.6 + 0.3 * n_sets))
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    ax_m = make_axes_locatable(ax_).append_axes("bottom", size=0.3 * n_sets + 0.1, pad=0.08, sharex=ax_)
    xs = np.arange(k)
    bars = ax_.bar(xs, table.to_numpy(), width=0.6, color="0.25")
    ax_.bar_label(bars, fontsize=8, padding=2)
    ax_.set_ylabel("modules")
    ax_.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no fractional ticks
    ax_.margins(y=0.15)
    ax_.tick_params(axis="x", bottom=False, labelbottom=False)
    for side in ("top", "right"):
        ax_.spines[side].set_visible(False)
    title = f"modules by {tissue_key} (present: ≥ {min_rows} rows)"
    if n_absent:
        title += f"\n{n_absent} module(s) present nowhere, not shown"
    ax_.set_title(title, fontsize="medium")

    for row in range(n_sets):
        if row % 2 == 0:
            ax_m.axhspan(row - 0.5, row + 0.5, color="0.95", zorder=0)
    for x, combo in zip(xs, table.index, strict=True):
        member = np.array([s in combo for s in sets])
        ax_m.scatter(np.full(n_sets, x), np.arange(n_sets), s=40, zorder=2,
                     c=np.where(member, "0.15", "0.85"))
        ys = np.flatnonzero(member)
        if ys.size > 1:
            ax_m.plot([x, x], [ys.min(), ys.max()], color="0.15", lw=2, zorder=1)
    ax_m.set_yticks(np.arange(n_sets), [f"{s} ({int(set_sizes[s])})" for s in sets], fontsize=8)
    ax_m.set_ylim(n_sets - 0.5, -0.5)
    ax_m.set_xlim(-0.6, k - 0.4)
    ax_m.tick_params(axis="x", bottom=False, labelbottom=False)
    ax_m.tick_params(axis="y", length=0)
    for spine in ax_m.spines.values():
        spine.set_visible(False)
    return finish(fig, ax_, ax_given=ax is not None, show=show, return_fig=return_fig, save=save, name="module_sharing")
