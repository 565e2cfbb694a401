"""Average rank of methods over metrics, per tissue, as in the paper's tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from .._utils import logger

__all__ = ["average_rank"]


def average_rank(
    table: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    method_key: str = "method",
    tissue_key: str = "tissue",
    na_option: Literal["keep", "bottom"] = "keep",
) -> pd.DataFrame:
    """Average rank of methods over metrics, per tissue, as in the paper's tables (1 = best).

    Within each tissue, methods are ranked on every metric, higher values first, ties sharing the
    average rank (``DataFrame.rank(method="average", ascending=False)``); a method's average rank in a
    tissue is the mean of its ranks over the metrics. ``"overall"`` is the mean of the per-tissue average
    ranks (tissues weighted equally). Several rows for the same (tissue, method), e.g. seeds, are first
    averaged metric by metric.

    Parameters
    ----------
    table
        Long ("tidy") table with one row per (tissue, method[, seed]): a ``method_key`` column, an
        optional ``tissue_key`` column and one column per metric. ``method``/``tissue`` may also be index
        levels (e.g. a ``MultiIndex`` (tissue, method)).
    metrics
        Metric columns; default all numeric columns other than method and tissue (pass it explicitly if
        the table has other numeric columns such as a seed).
    method_key, tissue_key
        Names of the method and tissue columns / index levels. Without a tissue column all rows form one
        tissue and only ``"overall"`` is returned.
    na_option
        ``"keep"``: a missing metric value is not ranked and the method's average is over its other
        metrics; ``"bottom"``: a missing value gets the worst rank.

    Returns
    -------
    :class:`pandas.DataFrame` indexed by method (in order of first appearance), one column per tissue
    (in order of first appearance) holding the average rank, then ``"overall"``.

    Examples
    --------
    Input (long, 2 tissues × 3 methods × 2 metrics) → output (3 methods × [heart, lung, overall]).
    In heart, ASW ranks muse 1, pca and gae tied at 2.5; AUC ranks pca 1, muse 2, gae 3; so muse averages
    (1 + 2) / 2 = 1.5:

    >>> import pandas as pd
    >>> import muse_gnn as mg
    >>> t = pd.DataFrame({
    ...     "tissue": ["heart"] * 3 + ["lung"] * 3,
    ...     "method": ["muse", "pca", "gae"] * 2,
    ...     "ASW":    [0.9, 0.5, 0.5, 0.8, 0.7, 0.6],
    ...     "AUC":    [0.8, 0.9, 0.7, 0.9, 0.6, 0.7],
    ... })
    >>> mg.metrics.average_rank(t)  # doctest: +NORMALIZE_WHITESPACE
            heart  lung  overall
    method
    muse     1.50   1.0    1.250
    pca      1.75   2.5    2.125
    gae      2.75   2.5    2.625
    """
    func = "average_rank"
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{func}: expected a pandas DataFrame, got {type(table).__name__}.")
    df = table
    levels = [n for n in (df.index.names or []) if n in (method_key, tissue_key)]
    if levels:
        df = df.reset_index(level=levels)
    if method_key not in df.columns:
        raise KeyError(
            f"{func}: no {method_key!r} column or index level in the table; columns: {list(df.columns)}."
        )
    if df.empty:
        raise ValueError(f"{func}: the table is empty.")
    has_tissue = tissue_key in df.columns
    if metrics is None:
        metrics = [
            c for c in df.columns
            if c not in (method_key, tissue_key) and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])
        ]
        logger.info("%s: ranking on metrics %s", func, metrics)
    metrics = list(metrics)
    if not metrics:
        raise ValueError(f"{func}: no metric columns found; pass `metrics=`.")
    missing = [m for m in metrics if m not in df.columns]
    if missing:
        raise KeyError(f"{func}: metric column(s) {missing} not in the table.")
    df = df.copy()
    tissue = df[tissue_key].astype(str) if has_tissue else pd.Series("all", index=df.index)
    df["_tissue"] = tissue
    df["_method"] = df[method_key].astype(str)
    tissues = list(pd.unique(df["_tissue"]))
    methods = list(pd.unique(df["_method"]))
    if df.duplicated(["_tissue", "_method"]).any():
        logger.info("%s: several rows per (tissue, method); their metrics are averaged first", func)
    mean = df.groupby(["_tissue", "_method"], sort=False)[metrics].mean()
    ranks = mean.groupby(level="_tissue", sort=False).rank(
        method="average", ascending=False, na_option=na_option
    )
    avg = ranks.mean(axis=1, skipna=True).unstack("_tissue").reindex(index=methods, columns=tissues)
    avg.index.name = method_key
    avg.columns.name = None
    out = avg if has_tissue else pd.DataFrame(index=avg.index)
    out = out.copy()
    out["overall"] = avg.mean(axis=1, skipna=True)
    return out
