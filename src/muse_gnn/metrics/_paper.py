"""The paper's metrics ASW, AUC, GC and common-gene ratio on a joint gene embedding, and all six at once.

A *joint embedding* is an AnnData with one row per (gene, dataset): ``obs["gene"]`` (gene symbol),
``obs["dataset"]`` (the dataset the row comes from), optionally ``obs["tissue"]``, and the vectors in
``obsm[use_rep]`` (default ``"X_muse"``); see :func:`muse_gnn.tl.joint_embedding`. iLISI is in ``_lisi``,
neighbour overlap in ``_overlap``, the average rank of methods in ``_rank``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy.sparse.csgraph import connected_components
from scipy.special import expit
from sklearn.metrics import roc_auc_score, silhouette_samples

from .._compat import renamed_parameter
from .._docs import doc_common, doc_metric, doc_params
from .._joint import JointRows, joint_rows
from .._utils import logger
from .._warnings import MuseGNNWarning
from ._clustering import clusters, graph_and_clusters
from ._input import (
    Graph,
    normalize_graphs,
    row_positions,
    unit_rows_checked,
    warn_single_dataset,
)
from ._lisi import ilisi_value
from ._overlap import neighbor_overlap_arrays

__all__ = [
    "PAPER_METRICS",
    "asw_batch",
    "auc_graph",
    "common_gene_ratio",
    "graph_connectivity",
    "paper_metrics",
]

#: Names (and order) of the six paper metrics returned by :func:`paper_metrics`.
PAPER_METRICS: tuple[str, ...] = ("ASW", "AUC", "iLISI", "GC", "common_gene_ratio", "neighbor_overlap")
_GRAM_MAX_ROWS = 4096  # AUC pair scores through the full Gram matrix up to this many rows (128 MB), else in chunks
_PAIR_CHUNK = 262_144  # gene pairs scored per chunk beyond that


def _common_gene_mask(data: JointRows) -> np.ndarray:
    """Rows whose gene is present in every dataset of ``data``."""
    n_ds = data.n_datasets
    per_gene = pd.DataFrame({"g": data.gene, "d": data.dataset}).groupby("g")["d"].nunique()
    common = per_gene.index[per_gene.to_numpy() == n_ds]
    return np.isin(data.gene, common.to_numpy())


def _asw_batch_arrays(X: np.ndarray, labels: np.ndarray, batch: np.ndarray) -> pd.Series:
    """Per-cluster mean of ``1 − |silhouette of batch labels|`` (scib ``silhouette_batch``, Euclidean).

    Clusters holding a single batch, or as many batches as rows, are skipped as in scib.
    """
    per_cluster = {}
    for c in pd.unique(labels):
        m = labels == c
        b = batch[m]
        n_b = pd.unique(b).size
        if n_b == 1 or n_b == int(m.sum()):
            continue
        s = silhouette_samples(X[m], b, metric="euclidean")
        per_cluster[c] = float(np.mean(1.0 - np.abs(s)))
    return pd.Series(per_cluster, dtype=float, name="ASW")


def _pair_dots(Z: np.ndarray, i: np.ndarray, j: np.ndarray, *, chunk: int = _PAIR_CHUNK) -> np.ndarray:
    """Row dot products ``Z[i] · Z[j]``: through the Gram matrix for small ``Z``, else in chunks."""
    if Z.shape[0] <= _GRAM_MAX_ROWS:
        return (Z @ Z.T)[i, j]
    out = np.empty(i.size)
    for s in range(0, i.size, chunk):
        out[s : s + chunk] = np.einsum("ij,ij->i", Z[i[s : s + chunk]], Z[j[s : s + chunk]])
    return out


def _auc_one(
    Z: np.ndarray, adj: sp.csr_matrix, *, max_pairs: int, rng: np.random.Generator
) -> tuple[float, int, int]:
    """ROC-AUC of σ(cos) for the gene pairs of one graph; returns (auc, n_edges used, n_non_edges used)."""
    m = Z.shape[0]
    n_total = m * (m - 1) // 2
    if n_total == 0:
        return float("nan"), 0, 0
    if n_total <= max_pairs:
        i, j = np.triu_indices(m, k=1)
        y = adj.toarray()[i, j].astype(bool)  # m <= ~sqrt(2 max_pairs): a dense copy is small
    else:
        # Too many pairs: use (a uniform sample of at most max_pairs/2 of) the edges and a uniform sample,
        # with replacement, of non-edges; both are unbiased for P(score_edge > score_non_edge) = AUC.
        up = sp.triu(adj, k=1).tocoo()
        ei, ej = up.row.astype(np.int64), up.col.astype(np.int64)
        n_edges = ei.size
        n_pos = min(n_edges, max_pairs // 2)
        if n_pos < n_edges:
            pick = rng.choice(n_edges, size=n_pos, replace=False)
            ei, ej = ei[pick], ej[pick]
        n_non = n_total - n_edges
        n_neg = min(n_non, max_pairs - n_pos)
        edge_keys = np.sort(up.row.astype(np.int64) * m + up.col.astype(np.int64))
        ni, nj = np.empty(0, np.int64), np.empty(0, np.int64)
        while ni.size < n_neg:
            a = rng.integers(0, m, size=2 * (n_neg - ni.size) + 16)
            b = rng.integers(0, m, size=a.size)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            keep = lo != hi
            lo, hi = lo[keep], hi[keep]
            keys = lo * m + hi
            pos = np.searchsorted(edge_keys, keys)
            is_edge = (pos < edge_keys.size) & (edge_keys[np.minimum(pos, edge_keys.size - 1)] == keys)
            ni = np.concatenate([ni, lo[~is_edge]])
            nj = np.concatenate([nj, hi[~is_edge]])
        ni, nj = ni[:n_neg], nj[:n_neg]
        i = np.concatenate([ei, ni])
        j = np.concatenate([ej, nj])
        y = np.concatenate([np.ones(ei.size, bool), np.zeros(ni.size, bool)])
    n_pos_used, n_neg_used = int(y.sum()), int((~y).sum())
    if n_pos_used == 0 or n_neg_used == 0:
        return float("nan"), n_pos_used, n_neg_used
    cos = _pair_dots(Z, i, j)
    # σ is monotone, so the AUC equals that of the raw cosine; kept to follow the paper's definition.
    return float(roc_auc_score(y, expit(cos))), n_pos_used, n_neg_used


def _auc_graph_arrays(
    data: JointRows, graphs: dict[str, Graph], *, max_pairs: int, random_state: int, func: str
) -> pd.Series:
    positions = row_positions(data, graphs, func)
    Zall = unit_rows_checked(data.X, func)
    rng = np.random.default_rng(random_state)
    out = {}
    for d, (rows, pos) in positions.items():
        adj = graphs[d].adj[pos][:, pos].tocsr()
        auc, n_pos, n_neg = _auc_one(Zall[rows], adj, max_pairs=max_pairs, rng=rng)
        if np.isnan(auc):
            warnings.warn(
                f"{func}: dataset {d!r}: AUC undefined ({n_pos} edges, {n_neg} non-edges among its "
                f"{rows.size} genes); it is NaN and left out of the mean.",
                MuseGNNWarning,
                stacklevel=3,
            )
        else:
            logger.debug("%s: dataset %s: AUC %.4f on %d edges, %d non-edges", func, d, auc, n_pos, n_neg)
        out[d] = auc
    return pd.Series(out, dtype=float, name="AUC")


def _graph_connectivity_arrays(conn: sp.csr_matrix, labels: np.ndarray) -> float:
    """scib ``graph_connectivity``: mean over labels of (largest connected component) / (label size)."""
    fractions = []
    for c in pd.unique(labels):
        m = np.flatnonzero(labels == c)
        sub = conn[m][:, m]
        _, comp = connected_components(sub, directed=True, connection="strong")
        fractions.append(np.bincount(comp).max() / m.size)
    return float(np.mean(fractions))


def _common_gene_ratio_arrays(gene: np.ndarray, labels: np.ndarray) -> float:
    """Σ_c (|c|/N)(1 − #unique genes in c / |c|) = Σ_c (|c| − #unique genes in c) / N."""
    df = pd.DataFrame({"c": labels, "g": gene})
    grp = df.groupby("c", sort=False)["g"]
    size, uniq = grp.size(), grp.nunique()
    return float((size - uniq).sum() / len(gene))


@renamed_parameter("cluster_key", "groupby")
@doc_params(doc_common, doc_metric)
def asw_batch(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    groupby: str | None = None,
    batch_key: str = "dataset",
    n_neighbors: int = 15,
    resolution: float = 1.0,
    random_state: int = 0,
    return_all: bool = False,
) -> float | tuple[float, pd.Series]:
    """Batch average silhouette width within clusters (paper metric 1, scib ``silhouette_batch``).

    For every cluster, the silhouette of the rows' batch (dataset) labels is computed on the cluster's
    rows alone (:func:`sklearn.metrics.silhouette_samples`, Euclidean); each row scores ``1 − |s|``, the
    scores are averaged per cluster and the cluster means are averaged. Clusters holding one batch only,
    or as many batches as rows, are skipped (as in scib). 1 means the datasets are perfectly mixed.

    Parameters
    ----------
    {doc_joint_rows}
    {doc_use_rep}
    {doc_groupby}
    {batch_key}
    {doc_leiden}
    return_all
        Also return the per-cluster means.

    Returns
    -------
    The ASW in [0, 1], or ``(asw, per_cluster)`` with ``return_all``. NaN (with a warning) for a single
    dataset or when no cluster holds at least two batches.

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> obs = pd.DataFrame({"gene": [f"g{i}" for i in range(40)] * 2, "dataset": ["a"] * 40 + ["b"] * 40})
    >>> joint = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": rng.normal(size=(80, 8))})
    >>> joint.obs["cl"] = "0"
    >>> 0.8 < mg.metrics.asw_batch(joint, groupby="cl") <= 1.0
    True
    """
    func = "asw_batch"
    data = joint_rows(joint, use_rep, func, dataset_key=batch_key, check_unique=False)
    if data.n_datasets < 2:
        nan = warn_single_dataset(func, "ASW")
        return (nan, pd.Series(dtype=float, name="ASW")) if return_all else nan
    labels = clusters(data, groupby, n_neighbors=n_neighbors, resolution=resolution, random_state=random_state,
                      func=func)
    return _finish_asw(data, labels, func, return_all)


def _finish_asw(data: JointRows, labels: np.ndarray, func: str, return_all: bool) -> Any:
    per = _asw_batch_arrays(data.X, labels, data.dataset)
    if per.empty:
        warnings.warn(
            f"{func}: no cluster holds rows of at least two datasets (and fewer datasets than rows); "
            "ASW is NaN.",
            MuseGNNWarning,
            stacklevel=3,
        )
        value = float("nan")
    else:
        value = float(per.mean())
    return (value, per) if return_all else value


@doc_params(doc_metric)
def auc_graph(
    joint: AnnData,
    graphs: Mapping[str, Any],
    *,
    use_rep: str = "X_muse",
    graph_key: str = "muse",
    max_pairs: int = 1_000_000,
    random_state: int = 0,
    return_all: bool = False,
) -> float | tuple[float, pd.Series]:
    """Graph reconstruction ROC-AUC of cosine similarity (paper metric 2).

    For each dataset *t*, the rows of *t* are matched to the nodes of its graph by gene name, and the
    ROC-AUC of ``σ(cos(z_g, z_h))`` against the adjacency ``A_t[g, h]`` is computed over the unordered
    gene pairs ``g ≠ h`` (:func:`sklearn.metrics.roc_auc_score`); the result is the mean over datasets.
    When a dataset has more than ``max_pairs`` gene pairs, at most ``max_pairs / 2`` edges (all of them
    if fewer) and, for the rest of the budget, uniformly sampled non-edges (with replacement, seeded by
    ``random_state``) are used, an unbiased estimate of the same AUC.

    Parameters
    ----------
    {doc_joint_rows}
    graphs
        One gene graph per dataset of ``joint``: ``{dataset: (gene_names, adjacency)}`` with a
        genes × genes symmetric (sparse) adjacency, any non-zero entry an edge, or ``{dataset: AnnData}``
        holding ``varp[f"{graph_key}_connectivities"]`` and ``var[f"{graph_key}_selected"]`` as written
        by :func:`muse_gnn.pp.coexpression_graph`.
    {doc_use_rep}
    graph_key
        Key prefix of the graphs stored in AnnData.
    max_pairs
        Largest number of gene pairs scored per dataset before sampling.
    random_state
        Seed of the pair sampling.
    return_all
        Also return the per-dataset AUCs.

    Returns
    -------
    The mean AUC over datasets (datasets whose AUC is undefined, e.g. without edges, are left out with
    a warning), or ``(auc, per_dataset)`` with ``return_all``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad
    >>> import muse_gnn as mg
    >>> genes = ["a", "b", "c", "d"]
    >>> A = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]))
    >>> Z = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> obs = pd.DataFrame({"gene": genes, "dataset": "d1"}, index=genes)
    >>> joint = ad.AnnData(obs=obs, obsm={"X_muse": Z})
    >>> mg.metrics.auc_graph(joint, {"d1": (genes, A)})
    1.0
    """
    func = "auc_graph"
    data = joint_rows(joint, use_rep, func)
    g = normalize_graphs(graphs, func, graph_key=graph_key)
    per = _auc_graph_arrays(data, g, max_pairs=max_pairs, random_state=random_state, func=func)
    value = float(per.mean()) if per.notna().any() else float("nan")
    return (value, per) if return_all else value


@renamed_parameter("cluster_key", "groupby")
@doc_params(doc_metric)
def graph_connectivity(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    groupby: str | None = None,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    random_state: int = 0,
) -> float:
    """Graph connectivity of the clusters (paper metric 4, scib ``graph_connectivity``).

    The scanpy kNN graph (``sc.pp.neighbors`` connectivities, ``n_neighbors`` neighbours on
    ``use_rep``) is restricted to the rows of each cluster; the score is the mean over clusters of the
    fraction of the cluster's rows in its largest connected component
    (:func:`scipy.sparse.csgraph.connected_components`). Note that Leiden clusters of the same graph are
    connected by construction, so with ``groupby=None`` the value is usually 1; the paper computes it
    on Leiden clusters nonetheless.

    Parameters
    ----------
    {doc_joint_rows}
    {doc_use_rep}
    {doc_groupby}
    {doc_leiden}

    Returns
    -------
    The graph connectivity in (0, 1].

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> obs = pd.DataFrame({"gene": [f"g{i}" for i in range(60)], "dataset": "a"})
    >>> joint = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": rng.normal(size=(60, 4))})
    >>> mg.metrics.graph_connectivity(joint)
    1.0
    """
    func = "graph_connectivity"
    data = joint_rows(joint, use_rep, func, check_unique=False)
    conn, labels = graph_and_clusters(data, groupby, n_neighbors=n_neighbors, resolution=resolution,
                                      random_state=random_state, func=func)
    return _graph_connectivity_arrays(conn, labels)


@renamed_parameter("cluster_key", "groupby")
@doc_params(doc_metric)
def common_gene_ratio(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    groupby: str | None = None,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    random_state: int = 0,
) -> float:
    """Share of rows whose gene also appears, from another dataset, in the same cluster (paper metric 5).

    ``Σ_c (|c| / N) · (1 − u_c / |c|)`` with ``u_c`` the number of distinct gene names among the ``|c|``
    rows of cluster ``c`` and ``N`` the number of rows. 0 when no gene meets itself in a cluster; with
    every gene present in all ``T`` datasets, at most ``1 − 1/T``.

    Parameters
    ----------
    {doc_joint_rows}
    use_rep
        Key of the embedding in ``joint.obsm`` (rows with NaN there are ignored; clustering uses it).
    {doc_groupby}
    {doc_leiden}

    Returns
    -------
    The ratio; NaN with a warning for a single dataset.

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> obs = pd.DataFrame({"gene": ["a", "b", "a", "b"], "dataset": ["d1", "d1", "d2", "d2"],
    ...                     "cl": ["0", "1", "0", "0"]})
    >>> joint = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": np.eye(4)})
    >>> mg.metrics.common_gene_ratio(joint, groupby="cl")  # cluster 0: 3 rows, 2 genes
    0.25
    """
    func = "common_gene_ratio"
    data = joint_rows(joint, use_rep, func)
    if data.n_datasets < 2:
        return warn_single_dataset(func, "common_gene_ratio")
    labels = clusters(data, groupby, n_neighbors=n_neighbors, resolution=resolution, random_state=random_state,
                      func=func)
    return _common_gene_ratio_arrays(data.gene, labels)


@renamed_parameter("cluster_key", "groupby")
@doc_params(doc_metric)
def paper_metrics(
    joint: AnnData,
    graphs: Mapping[str, Any] | None = None,
    *,
    use_rep: str = "X_muse",
    groupby: str | None = None,
    resolution: float = 1.0,
    n_neighbors: int = 15,
    lisi_neighbors: int = 90,
    common_genes_only: bool = False,
    graph_key: str = "muse",
    max_pairs: int = 1_000_000,
    random_state: int = 0,
) -> pd.Series:
    """The six evaluation metrics of the MuSe-GNN paper on a joint embedding (higher is better for all).

    The rows are clustered once (Leiden on the ``n_neighbors`` kNN graph of ``use_rep``, unless
    ``groupby`` is given) and the clusters are shared by ASW, GC, common-gene ratio and neighbour
    overlap. See :func:`asw_batch`, :func:`auc_graph`, :func:`ilisi`, :func:`graph_connectivity`,
    :func:`common_gene_ratio` and :func:`neighbor_overlap` for the definitions.

    Parameters
    ----------
    {doc_joint_rows}
    graphs
        One gene graph per dataset (see :func:`auc_graph`); ``None`` makes AUC and neighbour overlap
        NaN (with a warning).
    {doc_use_rep}
    {doc_groupby}
    resolution, n_neighbors
        Leiden resolution and kNN size (the kNN graph is also the one of GC).
    lisi_neighbors
        Neighbourhood size of iLISI (scib's 90).
    common_genes_only
        Keep only the rows of genes present in every dataset of ``joint`` before anything else
        (clustering included), as in the paper's protocol (DESIGN §1.5). The AUC is then computed on the
        graphs restricted to those genes.
    graph_key
        Key prefix of the graphs stored in AnnData.
    max_pairs
        Pair budget of AUC (per dataset) and neighbour overlap (per cluster) before sampling.
    random_state
        Seed of Leiden and of the pair sampling.

    Returns
    -------
    :class:`pandas.Series` indexed by ``"ASW", "AUC", "iLISI", "GC", "common_gene_ratio",
    "neighbor_overlap"``. Cross-dataset metrics (ASW, iLISI, common-gene ratio, neighbour overlap) are
    NaN, with a warning, when ``joint`` holds one dataset. ``series.attrs`` records ``n_rows``,
    ``n_datasets`` and ``n_clusters``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> genes = [f"g{i}" for i in range(50)]
    >>> A = sp.random(50, 50, density=0.1, random_state=0)
    >>> A = ((A + A.T) > 0).astype(int)
    >>> obs = pd.DataFrame({"gene": genes * 2, "dataset": ["a"] * 50 + ["b"] * 50})
    >>> joint = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": rng.normal(size=(100, 8))})
    >>> res = mg.metrics.paper_metrics(joint, {"a": (genes, A), "b": (genes, A)})
    >>> list(res.index)
    ['ASW', 'AUC', 'iLISI', 'GC', 'common_gene_ratio', 'neighbor_overlap']
    """
    func = "paper_metrics"
    data = joint_rows(joint, use_rep, func)
    if common_genes_only:
        mask = _common_gene_mask(data)
        if not mask.any():
            raise ValueError(
                f"{func}: no gene is present in all {data.n_datasets} datasets (common_genes_only)."
            )
        logger.info("%s: %d of %d rows belong to genes common to all datasets", func, int(mask.sum()), data.n)
        data = data.subset(mask)
    g = normalize_graphs(graphs, func, graph_key=graph_key) if graphs is not None else None
    multi = data.n_datasets >= 2

    conn, labels = graph_and_clusters(data, groupby, n_neighbors=n_neighbors, resolution=resolution,
                                      random_state=random_state, func=func)

    nan = float("nan")
    if not multi:
        warnings.warn(
            f"{func}: the joint embedding holds a single dataset; the cross-dataset metrics ASW, iLISI, "
            "common_gene_ratio and neighbor_overlap are NaN.",
            MuseGNNWarning,
            stacklevel=2,
        )
    res: dict[str, float] = {}
    res["ASW"] = _finish_asw(data, labels, func, False) if multi else nan
    if g is None:
        warnings.warn(
            f"{func}: no `graphs` given; AUC and neighbor_overlap are NaN.", MuseGNNWarning, stacklevel=2
        )
        res["AUC"] = float("nan")
    else:
        per = _auc_graph_arrays(data, g, max_pairs=max_pairs, random_state=random_state, func=func)
        res["AUC"] = float(per.mean()) if per.notna().any() else float("nan")
    res["iLISI"] = ilisi_value(data, n_neighbors=lisi_neighbors, perplexity=None) if multi else nan
    res["GC"] = _graph_connectivity_arrays(conn, labels)
    res["common_gene_ratio"] = _common_gene_ratio_arrays(data.gene, labels) if multi else nan
    if g is None or not multi:
        res["neighbor_overlap"] = nan
    else:
        res["neighbor_overlap"] = neighbor_overlap_arrays(
            data, g, labels, max_pairs=max_pairs, random_state=random_state, func=func
        )[0]
    out = pd.Series(res, dtype=float, name="paper_metrics").reindex(list(PAPER_METRICS))
    out.attrs = {
        "n_rows": data.n,
        "n_dropped_nan": data.n_dropped,
        "n_datasets": data.n_datasets,
        "n_clusters": int(pd.unique(labels).size),
    }
    return out
