"""Metrics against planted truth, for joint embeddings of simulated data (:mod:`muse_gnn.datasets`).

* :func:`planted_ari` / :func:`planted_nmi`: do the clusters of the joint embedding recover the planted
  gene modules?
* :func:`same_gene_nn_rate`: is a gene's nearest row from another dataset the same gene?
* :func:`context_separation`: are context-specific genes (planted to change role between tissues)
  kept apart across tissues, while the other genes are pulled together?
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from muse_gnn._utils import logger

from .._compat import renamed_parameter
from .._docs import doc_metric, doc_params
from .._joint import joint_rows
from muse_gnn._warnings import MuseGNNWarning
from ._clustering import clusters
from ._input import unit_rows_checked, warn_single_dataset

__all__ = ["context_separation", "planted_ari", "planted_nmi", "same_gene_nn_rate"]

_NULL_MODULES: tuple[Any, ...] = (-1, "-1", "", "none", "None")


def _planted_pair(
    joint: AnnData,
    *,
    truth_key: str,
    groupby: str | None,
    use_rep: str,
    n_neighbors: int,
    resolution: float,
    random_state: int,
    null_values: Sequence[Any],
    func: str,
) -> tuple[np.ndarray, np.ndarray]:
    data = joint_rows(joint, use_rep, func, stacklevel=4)
    if truth_key not in data.obs.columns:
        raise KeyError(
            f"{func}: `joint.obs[{truth_key!r}]` not found; it should hold each row's planted module "
            "(written by `mg.datasets.simulate`)."
        )
    labels = clusters(data, groupby, n_neighbors=n_neighbors, resolution=resolution, random_state=random_state,
                      func=func)
    truth = data.obs[truth_key]
    keep = truth.notna().to_numpy() & ~truth.isin(list(null_values)).to_numpy()
    if keep.sum() < 2:
        raise ValueError(
            f"{func}: fewer than 2 rows have a planted module in `obs[{truth_key!r}]` "
            f"(values treated as 'no module': NaN and {list(null_values)})."
        )
    logger.info("%s: %d of %d rows belong to a planted module", func, int(keep.sum()), data.n)
    return truth.astype(str).to_numpy()[keep], labels[keep]


@renamed_parameter("cluster_key", "groupby")
@doc_params(doc_metric)
def planted_ari(
    joint: AnnData,
    *,
    truth_key: str = "module",
    groupby: str | None = None,
    use_rep: str = "X_muse",
    n_neighbors: int = 15,
    resolution: float = 1.0,
    random_state: int = 0,
    null_values: Sequence[Any] = _NULL_MODULES,
) -> float:
    """Adjusted Rand index between the clusters of a joint embedding and the planted gene modules.

    The clusters (``obs[groupby]``, or Leiden clusters of the kNN graph of ``use_rep`` computed on
    all rows) are compared on the rows that belong to a module with
    :func:`sklearn.metrics.adjusted_rand_score`. Rows whose ``obs[truth_key]`` is missing or one of
    ``null_values`` (genes outside every module) are excluded.

    Parameters
    ----------
    joint
        Joint embedding (one row per (gene, dataset), ``obs["gene"]``, ``obs["dataset"]``,
        ``obsm[use_rep]``) with the planted module of each row in ``obs[truth_key]``.
    truth_key
        Column of ``joint.obs`` with the planted module labels.
    {doc_groupby}
    {doc_use_rep}
    {doc_leiden}
    null_values
        Values of ``obs[truth_key]`` meaning "no module".

    Returns
    -------
    The ARI (1 = modules recovered exactly, about 0 = chance).

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> obs = pd.DataFrame({"gene": list("abcdef"), "dataset": "d1", "module": [0, 0, 1, 1, -1, -1],
    ...                     "cl": ["x", "x", "y", "y", "x", "y"]})
    >>> joint = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": np.eye(6)})
    >>> mg.metrics.planted_ari(joint, groupby="cl")
    1.0
    """
    truth, labels = _planted_pair(
        joint, truth_key=truth_key, groupby=groupby, use_rep=use_rep, n_neighbors=n_neighbors,
        resolution=resolution, random_state=random_state, null_values=null_values, func="planted_ari",
    )
    return float(adjusted_rand_score(truth, labels))


@renamed_parameter("cluster_key", "groupby")
@doc_params(doc_metric)
def planted_nmi(
    joint: AnnData,
    *,
    truth_key: str = "module",
    groupby: str | None = None,
    use_rep: str = "X_muse",
    n_neighbors: int = 15,
    resolution: float = 1.0,
    random_state: int = 0,
    null_values: Sequence[Any] = _NULL_MODULES,
) -> float:
    """Normalised mutual information between the clusters of a joint embedding and the planted modules.

    Same rows and clusters as :func:`planted_ari`, scored with
    :func:`sklearn.metrics.normalized_mutual_info_score` (arithmetic normalisation).

    Parameters
    ----------
    joint
        Joint embedding with the planted module of each row in ``obs[truth_key]``.
    truth_key
        Column of ``joint.obs`` with the planted module labels.
    {doc_groupby}
    {doc_use_rep}
    {doc_leiden}
    null_values
        Values of ``obs[truth_key]`` meaning "no module".

    Returns
    -------
    The NMI in [0, 1].

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> obs = pd.DataFrame({"gene": list("abcd"), "dataset": "d1", "module": [0, 0, 1, 1],
    ...                     "cl": ["x", "x", "y", "y"]})
    >>> joint = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": np.eye(4)})
    >>> mg.metrics.planted_nmi(joint, groupby="cl")
    1.0
    """
    truth, labels = _planted_pair(
        joint, truth_key=truth_key, groupby=groupby, use_rep=use_rep, n_neighbors=n_neighbors,
        resolution=resolution, random_state=random_state, null_values=null_values, func="planted_nmi",
    )
    return float(normalized_mutual_info_score(truth, labels))


@doc_params(doc_metric)
def same_gene_nn_rate(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    batch_size: int = 2048,
) -> float:
    """Fraction of rows whose nearest row from another dataset (cosine) is the same gene.

    Only rows of genes present in at least two datasets are scored. For such a row (gene *g*, dataset
    *t*), all rows of the other datasets are candidates; the row counts as a hit when the candidate of
    highest cosine similarity is gene *g* (ties go to the first candidate in row order).

    Parameters
    ----------
    joint
        Joint embedding (one row per (gene, dataset), ``obs["gene"]``, ``obs["dataset"]``,
        ``obsm[use_rep]``). Rows with NaN are ignored (with a warning).
    {doc_use_rep}
    batch_size
        Rows scored at once (memory: ``batch_size × n_rows`` floats).

    Returns
    -------
    The rate in [0, 1]; NaN with a warning for a single dataset or when no gene is in two datasets.

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> obs = pd.DataFrame({"gene": ["a", "b", "a", "b"], "dataset": ["d1", "d1", "d2", "d2"]})
    >>> Z = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.2, 0.8]])
    >>> mg.metrics.same_gene_nn_rate(ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": Z}))
    1.0
    """
    func = "same_gene_nn_rate"
    data = joint_rows(joint, use_rep, func)
    if data.n_datasets < 2:
        return warn_single_dataset(func, "same_gene_nn_rate")
    n_ds = pd.Series(data.dataset).groupby(data.gene).nunique()
    shared = np.isin(data.gene, n_ds.index[n_ds.to_numpy() >= 2].to_numpy())
    if not shared.any():
        warnings.warn(
            f"{func}: no gene is present in two datasets; the rate is NaN.", MuseGNNWarning, stacklevel=2
        )
        return float("nan")
    Z = unit_rows_checked(data.X, func)
    hits = 0
    n_scored = 0
    for d in pd.unique(data.dataset):
        query = np.flatnonzero((data.dataset == d) & shared)
        cand = np.flatnonzero(data.dataset != d)
        if query.size == 0:
            continue
        Zc = Z[cand]
        for start in range(0, query.size, batch_size):
            q = query[start : start + batch_size]
            best = cand[np.argmax(Z[q] @ Zc.T, axis=1)]
            hits += int((data.gene[best] == data.gene[q]).sum())
            n_scored += q.size
    return hits / n_scored


@doc_params(doc_metric)
def context_separation(
    joint: AnnData,
    *,
    context_key: str = "context_gene",
    tissue_key: str = "tissue",
    use_rep: str = "X_muse",
) -> pd.Series:
    """Cross-tissue similarity of context-specific genes versus the other shared genes.

    For every gene with rows in at least two tissues, the mean cosine similarity over its pairs of
    rows from *different* tissues is computed; these per-gene means are averaged separately over the
    context genes (``obs[context_key]`` true for any of the gene's rows) and over the other genes. A
    good embedding keeps context genes apart across tissues, so ``difference = non_context − context``
    is positive.

    Parameters
    ----------
    joint
        Joint embedding (one row per (gene, dataset), ``obs["gene"]``, ``obs["dataset"]``,
        ``obs[tissue_key]``, ``obs[context_key]``, ``obsm[use_rep]``).
    context_key
        Boolean column of ``joint.obs``: whether the row's gene is planted as context specific.
    tissue_key
        Column of ``joint.obs`` with the tissue of each row (pass ``"dataset"`` to compare datasets).
    {doc_use_rep}

    Returns
    -------
    :class:`pandas.Series` with ``context`` and ``non_context`` (mean cross-tissue cosine), their
    ``difference``, and the gene counts ``n_context`` and ``n_non_context``. A group without any gene
    in two tissues is NaN (with a warning).

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> obs = pd.DataFrame({"gene": ["a", "b", "a", "b"], "dataset": ["d1", "d1", "d2", "d2"],
    ...                     "tissue": ["heart", "heart", "lung", "lung"],
    ...                     "context_gene": [True, False, True, False]})
    >>> Z = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    >>> res = mg.metrics.context_separation(ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": Z}))
    >>> float(res["difference"])
    1.0
    """
    func = "context_separation"
    data = joint_rows(joint, use_rep, func)
    for key in (context_key, tissue_key):
        if key not in data.obs.columns:
            raise KeyError(f"{func}: `joint.obs[{key!r}]` not found.")
    ctx = data.obs[context_key]
    if ctx.isna().any():
        raise ValueError(f"{func}: `obs[{context_key!r}]` has missing values.")
    if not (pd.api.types.is_bool_dtype(ctx) or set(pd.unique(ctx)) <= {0, 1}):
        raise TypeError(f"{func}: `obs[{context_key!r}]` must be boolean.")
    ctx = ctx.astype(bool).to_numpy()
    tissue = data.obs[tissue_key].astype(str).to_numpy()
    Z = unit_rows_checked(data.X, func)
    df = pd.DataFrame({"gene": data.gene, "tissue": tissue, "ctx": ctx, "row": np.arange(data.n)})
    per_gene: dict[str, float] = {}
    is_ctx: dict[str, bool] = {}
    for g, grp in df.groupby("gene", sort=False):
        if grp["tissue"].nunique() < 2:
            continue
        rows = grp["row"].to_numpy()
        t = grp["tissue"].to_numpy()
        S = Z[rows] @ Z[rows].T
        diff_t = t[:, None] != t[None, :]
        iu = np.triu(diff_t, k=1)
        per_gene[g] = float(S[iu].mean())
        is_ctx[g] = bool(grp["ctx"].any())
    s = pd.Series(per_gene, dtype=float)
    flags = pd.Series(is_ctx, dtype=bool)
    out = {}
    for name, sel in (("context", flags), ("non_context", ~flags)):
        vals = s[sel.reindex(s.index).to_numpy()] if len(s) else s
        if len(vals) == 0:
            warnings.warn(f"{func}: no {name.replace('_', '-')} gene has rows in two tissues; it is NaN.",
                          MuseGNNWarning, stacklevel=2)
            out[name] = float("nan")
        else:
            out[name] = float(vals.mean())
        out[f"n_{name}"] = float(len(vals))
    return pd.Series(
        {
            "context": out["context"],
            "non_context": out["non_context"],
            "difference": out["non_context"] - out["context"],
            "n_context": out["n_context"],
            "n_non_context": out["n_non_context"],
        },
        name="context_separation",
    )
