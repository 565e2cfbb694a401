"""Nearest genes of a query gene in the joint embedding, within and across datasets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .._utils import logger
from .._docs import doc_params, doc_use_rep
from .._joint import check_joint, get_rep, nonfinite_rows_ignored, unit_rows

__all__ = ["similar_genes"]


def _as_joint(model_or_joint: Any, use_rep: str, func: str) -> AnnData:
    """The joint embedding of a trained :class:`~muse_gnn.MuseGNN`, or the AnnData given."""
    from ..model import MuseGNN

    if isinstance(model_or_joint, MuseGNN):
        return model_or_joint.joint_embedding(key_added=use_rep)
    if isinstance(model_or_joint, AnnData):
        return model_or_joint
    raise TypeError(
        f"{func}: expected a trained MuseGNN or its joint embedding (AnnData), got "
        f"{type(model_or_joint).__name__}."
    )


def _select_datasets(dataset: np.ndarray, datasets: Any, func: str) -> list[str]:
    """Dataset names to use, in the joint's order; unknown names raise a ``KeyError``."""
    known = list(dict.fromkeys(dataset.tolist()))
    if datasets is None:
        return known
    if isinstance(datasets, str):
        datasets = [datasets]
    if not isinstance(datasets, Sequence) or len(datasets) == 0:
        raise ValueError(f"{func}: `datasets` must be a non-empty list of dataset names, got {datasets!r}.")
    wanted = [str(d) for d in datasets]
    unknown = [d for d in wanted if d not in known]
    if unknown:
        raise KeyError(f"{func}: datasets {unknown} are not in the joint embedding; available: {known}.")
    return [d for d in known if d in wanted]


@doc_params(doc_use_rep=doc_use_rep)
def similar_genes(
    model_or_joint: Any,
    genes: str | Sequence[str],
    *,
    n_top: int = 10,
    datasets: Sequence[str] | None = None,
    use_rep: str = "X_muse",
) -> pd.DataFrame:
    """Genes closest to query genes in the joint embedding, in each dataset.

    Every query gene has one row (embedding) per dataset that measured it. For each such *query row*
    and each selected *target dataset*, the ``n_top`` rows of the target dataset with the largest cosine
    similarity to the query row are returned: neighbours within the query's own dataset
    (``same_dataset``) and across datasets. The query row itself is left out; the same gene's row in
    another dataset is kept (``same_gene``), so how well a gene matches itself across datasets can be
    read off its rank.

    Parameters
    ----------
    model_or_joint
        A trained :class:`~muse_gnn.MuseGNN` (its :meth:`~muse_gnn.MuseGNN.joint_embedding` is used) or a
        joint embedding AnnData with ``obs`` columns ``gene`` and ``dataset``.
    genes
        One gene name or a list of them.
    n_top
        Neighbours per (query row, target dataset); fewer when the target dataset has fewer rows.
    datasets
        Datasets to use, both as query rows and as targets. Default: all.
    {doc_use_rep}

    Returns
    -------
    Tidy DataFrame with columns ``query``, ``query_dataset``, ``gene``, ``dataset``, ``cosine``, ``rank``
    (1 = most similar, within each query row and target dataset), ``same_dataset`` and ``same_gene``,
    ordered by query (as given), query dataset, target dataset (joint order) and rank. Ties in cosine
    keep the joint's row order.

    Raises
    ------
    KeyError
        When a gene is not in any selected dataset (all such genes are listed), a dataset is unknown or
        ``use_rep`` is missing.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> import numpy as np, pandas as pd
    >>> from anndata import AnnData
    >>> obs = pd.DataFrame({"gene": ["A", "B", "C", "A", "B"], "dataset": ["d1"] * 3 + ["d2"] * 2})
    >>> joint = AnnData(obs=obs.set_axis([f"r{i}" for i in range(5)]))
    >>> joint.obsm["X_muse"] = np.array([[1, 0], [1, 0.2], [0, 1], [1, 0.1], [0.1, 1]])
    >>> res = mg.tl.similar_genes(joint, "A", n_top=1)
    >>> res[["query_dataset", "gene", "dataset", "rank"]].values.tolist()
    [['d1', 'B', 'd1', 1], ['d1', 'A', 'd2', 1], ['d2', 'B', 'd1', 1], ['d2', 'B', 'd2', 1]]
    """
    func = "similar_genes"
    joint = _as_joint(model_or_joint, use_rep, func)
    check_joint(joint, func)
    X = get_rep(joint, use_rep, func, allow_nonfinite=True)
    if isinstance(n_top, bool) or not isinstance(n_top, int | np.integer) or n_top < 1:
        raise ValueError(f"{func}: `n_top` must be a positive integer, got {n_top!r}.")
    if isinstance(genes, str):
        genes = [genes]
    if not isinstance(genes, Sequence | np.ndarray | pd.Index) or len(genes) == 0:
        raise ValueError(f"{func}: `genes` must be a gene name or a non-empty list of them, got {genes!r}.")
    queries = list(dict.fromkeys(str(g) for g in genes))

    gene = joint.obs["gene"].astype(str).to_numpy(dtype=object)
    dataset = joint.obs["dataset"].astype(str).to_numpy(dtype=object)
    finite = nonfinite_rows_ignored(X, func, f"rows of `obsm[{use_rep!r}]`")
    selected = _select_datasets(dataset, datasets, func)
    usable = finite & np.isin(dataset, selected)
    unknown = [g for g in queries if not np.any(usable & (gene == g))]
    if unknown:
        where = "the joint embedding" if datasets is None else f"datasets {selected}"
        raise KeyError(f"{func}: genes not found in {where}: {unknown}.")

    Z = unit_rows(X)
    target_rows = {d: np.flatnonzero(usable & (dataset == d)) for d in selected}
    frames = []
    for q in queries:
        for dq in selected:
            hit = np.flatnonzero(usable & (gene == q) & (dataset == dq))
            if hit.size == 0:
                continue
            qi = int(hit[0])
            for dt in selected:
                rows = target_rows[dt]
                rows = rows[rows != qi]
                if rows.size == 0:
                    continue
                cos = Z[rows] @ Z[qi]
                order = np.argsort(-cos, kind="stable")[:n_top]
                top = rows[order]
                frames.append(
                    pd.DataFrame(
                        {
                            "query": q,
                            "query_dataset": dq,
                            "gene": gene[top],
                            "dataset": dt,
                            "cosine": cos[order],
                            "rank": np.arange(1, order.size + 1),
                            "same_dataset": dt == dq,
                            "same_gene": gene[top] == q,
                        }
                    )
                )
    cols = ["query", "query_dataset", "gene", "dataset", "cosine", "rank", "same_dataset", "same_gene"]
    res = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    res = res[cols].astype({"gene": str, "same_gene": bool, "same_dataset": bool, "rank": np.int64})
    logger.info("%s: %d neighbours for %d query genes over %d datasets", func, len(res), len(queries),
                len(selected))
    return res
