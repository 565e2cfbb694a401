"""Cross-species gene matching through a one-to-one ortholog table."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_common, doc_params
from .._utils import check_adata, logger

__all__ = ["map_orthologs", "ortholog_pairs"]


def ortholog_pairs(orthologs: pd.DataFrame | Mapping[str, str], source: str, target: str) -> pd.Series:
    """One-to-one ``source symbol -> target symbol`` mapping; ambiguous symbols are removed."""
    if isinstance(orthologs, Mapping):
        df = pd.DataFrame({"s": list(orthologs.keys()), "t": list(orthologs.values())})
    elif isinstance(orthologs, pd.DataFrame):
        cols = [f"{source}_symbol", f"{target}_symbol"]
        alt = [source, target]
        if all(c in orthologs.columns for c in cols):
            df = orthologs[cols].set_axis(["s", "t"], axis=1)
        elif all(c in orthologs.columns for c in alt):
            df = orthologs[alt].set_axis(["s", "t"], axis=1)
        else:
            raise KeyError(
                f"map_orthologs: the ortholog table needs columns {cols} (or {alt}); it has "
                f"{list(orthologs.columns)}."
            )
    else:
        raise TypeError("map_orthologs: `orthologs` must be a DataFrame or a dict {source: target}.")
    df = df.dropna()
    df = df[(df["s"].astype(str) != "") & (df["t"].astype(str) != "")].astype(str).drop_duplicates()
    # keep one-to-one pairs only: a symbol that occurs twice on either side is ambiguous
    df = df[~df["s"].duplicated(keep=False) & ~df["t"].duplicated(keep=False)]
    return pd.Series(df["t"].to_numpy(), index=df["s"].to_numpy())


@doc_params(doc_common)
def map_orthologs(
    adata: AnnData,
    orthologs: pd.DataFrame | Mapping[str, str],
    *,
    source: str = "mouse",
    target: str = "human",
    drop_unmapped: bool = True,
    copy: bool = False,
) -> AnnData | None:
    """Rename genes to their one-to-one orthologs in another species before cross-species matching.

    Parameters
    ----------
    adata
        Dataset of the ``source`` species (gene symbols in ``var_names``).
    orthologs
        Table with columns ``f"{source}_symbol"`` and ``f"{target}_symbol"`` (e.g. the Ensembl BioMart
        human–mouse table, or :func:`muse_gnn.datasets.simulate_orthologs`), or a dict ``{source: target}``.
        Symbols that occur more than once on either side are ambiguous and ignored.
    source, target
        Species names (column prefixes).
    drop_unmapped
        Remove genes without an ortholog (default). Otherwise they keep their name.
    {copy}

    Returns
    -------
    ``None`` or a copy. ``var_names`` become target symbols, ``var[f"{source}_symbol"]`` keeps the original,
    ``uns["map_orthologs"]`` records the counts of mapped and unmapped genes.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> ad = mg.datasets.simulate(n_datasets=1, species=("mouse",), n_genes=200, n_cells=(50, 50))
    >>> ad = next(iter(ad.values()))
    >>> mg.pp.map_orthologs(ad, mg.datasets.simulate_orthologs())
    >>> ad.uns["map_orthologs"]["n_mapped"] > 0
    True
    """
    func = "map_orthologs"
    check_adata(adata, func)
    mapping = ortholog_pairs(orthologs, source, target)
    names = adata.var_names.astype(str)
    new = pd.Series(names, index=names).map(mapping)
    mapped = new.notna().to_numpy()
    n_mapped, n_unmapped = int(mapped.sum()), int((~mapped).sum())
    if n_mapped == 0:
        raise ValueError(
            f"{func}: none of the {adata.n_vars} genes is in the {source}->{target} ortholog table; check "
            "`source`/`target` and that var_names are gene symbols of that species."
        )
    new_names = np.where(mapped, new.to_numpy(dtype=object), names.to_numpy(dtype=object)).astype(str)
    keep = mapped if drop_unmapped else np.ones(adata.n_vars, dtype=bool)
    if not drop_unmapped and pd.Index(new_names).has_duplicates:
        dup = pd.Index(new_names)[pd.Index(new_names).duplicated()].unique()[:5].tolist()
        raise ValueError(
            f"{func}: keeping unmapped genes would give duplicated names {dup}; use drop_unmapped=True."
        )
    logger.info("%s: %d genes mapped %s->%s, %d without a one-to-one ortholog", func, n_mapped, source,
                target, n_unmapped)
    out = adata[:, keep].copy() if copy else adata
    if not copy and not keep.all():
        adata._inplace_subset_var(np.flatnonzero(keep))
    out.var[f"{source}_symbol"] = names.to_numpy()[keep]
    out.var_names = pd.Index(new_names[keep])
    out.uns["map_orthologs"] = {
        "source": source,
        "target": target,
        "n_mapped": n_mapped,
        "n_unmapped": n_unmapped,
        "dropped": bool(drop_unmapped),
    }
    return out if copy else None
