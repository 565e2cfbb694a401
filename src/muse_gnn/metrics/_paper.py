"""The six evaluation metrics of the MuSe-GNN paper on a joint gene embedding, and the average rank.

A *joint embedding* is an AnnData with one row per (gene, dataset): ``obs["gene"]`` (gene symbol),
``obs["dataset"]`` (the dataset the row comes from), optionally ``obs["tissue"]``, and the vectors in
``obsm[use_rep]`` (default ``"X_muse"``). See DESIGN §1.4–1.5.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy.sparse.csgraph import connected_components
from scipy.special import expit
from sklearn.metrics import roc_auc_score, silhouette_samples
from sklearn.neighbors import NearestNeighbors

from muse_gnn._utils import logger

__all__ = [
    "PAPER_METRICS",
    "asw_batch",
    "auc_graph",
    "average_rank",
    "common_gene_ratio",
    "graph_connectivity",
    "ilisi",
    "neighbor_overlap",
    "paper_metrics",
]

#: Names (and order) of the six paper metrics returned by :func:`paper_metrics`.
PAPER_METRICS: tuple[str, ...] = ("ASW", "AUC", "iLISI", "GC", "common_gene_ratio", "neighbor_overlap")


# --------------------------------------------------------------------------------------------------
# Input normalisation
# --------------------------------------------------------------------------------------------------


@dataclass
class _Joint:
    """The finite rows of a joint embedding, as plain arrays."""

    X: np.ndarray  # (n, d) float64
    gene: np.ndarray  # (n,) str (object)
    dataset: np.ndarray  # (n,) str (object)
    obs: pd.DataFrame  # obs of the kept rows, same order
    n_dropped: int

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def n_datasets(self) -> int:
        return int(pd.unique(self.dataset).size)

    def subset(self, mask: np.ndarray) -> _Joint:
        return _Joint(self.X[mask], self.gene[mask], self.dataset[mask], self.obs.iloc[mask], self.n_dropped)


def _load_joint(
    joint: Any,
    use_rep: str,
    func: str,
    *,
    gene_key: str = "gene",
    dataset_key: str = "dataset",
    check_unique: bool = True,
) -> _Joint:
    """Validate a joint embedding and return its finite rows.

    Rows with a NaN/inf anywhere in ``obsm[use_rep]`` are dropped with a warning giving their count.
    """
    if not isinstance(joint, AnnData):
        raise TypeError(f"{func}: expected an AnnData joint embedding, got {type(joint).__name__}.")
    for key in (gene_key, dataset_key):
        if key not in joint.obs.columns:
            raise KeyError(
                f"{func}: `joint.obs[{key!r}]` not found; a joint embedding has one row per (gene, dataset) "
                "with obs columns 'gene' and 'dataset' (see `MuseGNN.unified_embedding()`)."
            )
    if use_rep not in joint.obsm:
        raise KeyError(
            f"{func}: `joint.obsm[{use_rep!r}]` not found; available: {list(joint.obsm.keys())}."
        )
    X = joint.obsm[use_rep]
    if sp.issparse(X):
        X = X.toarray()
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{func}: `obsm[{use_rep!r}]` must be 2-D, got shape {X.shape}.")
    if not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"{func}: `obsm[{use_rep!r}]` must be numeric, got dtype {X.dtype}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{func}: the joint embedding is empty (shape {X.shape}).")
    X = X.astype(np.float64, copy=False)
    finite = np.isfinite(X).all(axis=1)
    n_dropped = int((~finite).sum())
    if n_dropped:
        warnings.warn(
            f"{func}: {n_dropped} of {X.shape[0]} rows of `obsm[{use_rep!r}]` contain NaN/inf and are "
            "ignored.",
            UserWarning,
            stacklevel=3,
        )
    if n_dropped == X.shape[0]:
        raise ValueError(f"{func}: every row of `obsm[{use_rep!r}]` contains NaN/inf; nothing to evaluate.")
    obs = joint.obs.iloc[np.flatnonzero(finite)]
    gene = obs[gene_key].astype(str).to_numpy(dtype=object)
    dataset = obs[dataset_key].astype(str).to_numpy(dtype=object)
    if check_unique:
        dup = pd.DataFrame({"g": gene, "d": dataset}).duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise ValueError(
                f"{func}: the joint embedding has {int(dup.sum())} duplicated (gene, dataset) rows, e.g. "
                f"({gene[i]!r}, {dataset[i]!r}); each gene may appear at most once per dataset."
            )
    return _Joint(X[finite], gene, dataset, obs, n_dropped)


def _common_gene_mask(data: _Joint) -> np.ndarray:
    """Rows whose gene is present in every dataset of ``data``."""
    n_ds = data.n_datasets
    per_gene = pd.DataFrame({"g": data.gene, "d": data.dataset}).groupby("g")["d"].nunique()
    common = per_gene.index[per_gene.to_numpy() == n_ds]
    return np.isin(data.gene, common.to_numpy())


@dataclass
class _Graph:
    """One dataset's gene graph: gene names and a binary symmetric CSR adjacency without self-loops."""

    genes: pd.Index
    adj: sp.csr_matrix


def _normalize_graphs(graphs: Any, func: str, *, graph_key: str = "muse") -> dict[str, _Graph]:
    """Turn ``{name: (genes, adjacency)}`` or ``{name: AnnData}`` into ``{name: _Graph}``.

    For an AnnData the graph is ``varp[f"{graph_key}_connectivities"]`` restricted to
    ``var[f"{graph_key}_selected"]``. Any non-zero weight counts as an edge; self-loops are ignored.
    """
    if not isinstance(graphs, Mapping):
        raise TypeError(
            f"{func}: `graphs` must be a dict {{dataset: (gene_names, adjacency)}} or {{dataset: AnnData}}, "
            f"got {type(graphs).__name__}."
        )
    out: dict[str, _Graph] = {}
    for name, g in graphs.items():
        name = str(name)
        if isinstance(g, AnnData):
            sel_key, conn_key = f"{graph_key}_selected", f"{graph_key}_connectivities"
            if sel_key not in g.var.columns or conn_key not in g.varp:
                raise KeyError(
                    f"{func}: dataset {name!r} has no gene graph (missing `var[{sel_key!r}]` or "
                    f"`varp[{conn_key!r}]`); run `mg.pp.coexpression_graph(adata, key_added={graph_key!r})` "
                    "first or pass `graph_key=`."
                )
            sel = np.asarray(g.var[sel_key].to_numpy(), dtype=bool)
            full = sp.csr_matrix(g.varp[conn_key])
            n_out = int(full[~sel].count_nonzero() + full[sel][:, ~sel].count_nonzero())
            if n_out:
                warnings.warn(
                    f"{func}: dataset {name!r} has {n_out} non-zero entries of `varp[{conn_key!r}]` outside "
                    f"the genes of `var[{sel_key!r}]`; they are ignored.",
                    UserWarning,
                    stacklevel=3,
                )
            genes = pd.Index(g.var_names[sel].astype(str))
            adj = full[sel][:, sel]
        elif isinstance(g, tuple | list) and len(g) == 2:
            genes = pd.Index(np.asarray(list(g[0]), dtype=object).astype(str))
            adj = sp.csr_matrix(g[1])
        else:
            raise TypeError(
                f"{func}: graph {name!r} must be a (gene_names, adjacency) pair or an AnnData, "
                f"got {type(g).__name__}."
            )
        if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or adj.shape[0] != len(genes):
            raise ValueError(
                f"{func}: graph {name!r}: the adjacency has shape {adj.shape} but there are "
                f"{len(genes)} genes."
            )
        if not genes.is_unique:
            dup = genes[genes.duplicated()].unique()[:5].tolist()
            raise ValueError(f"{func}: graph {name!r} has duplicated gene names, e.g. {dup}.")
        adj = (adj != 0).astype(np.int8).tocsr()
        adj.setdiag(0)
        adj.eliminate_zeros()
        if (adj != adj.T).count_nonzero():
            raise ValueError(
                f"{func}: graph {name!r} is not symmetric; pass an undirected adjacency "
                "(e.g. `A.maximum(A.T)`)."
            )
        out[name] = _Graph(genes=genes, adj=adj.astype(bool).tocsr())
    if not out:
        raise ValueError(f"{func}: `graphs` is empty.")
    return out


def _row_positions(
    data: _Joint, graphs: dict[str, _Graph], func: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For every dataset of ``data``: (row indices into ``data``, positions of their genes in its graph).

    Rows whose gene is not a node of its dataset's graph are left out with a warning giving their count.
    """
    datasets = pd.unique(data.dataset)
    missing = [d for d in datasets if d not in graphs]
    if missing:
        raise KeyError(
            f"{func}: no graph given for dataset(s) {missing}; `graphs` has {list(graphs)}. "
            "Pass one graph per dataset of the joint embedding."
        )
    out = {}
    n_unmatched = 0
    for d in datasets:
        rows = np.flatnonzero(data.dataset == d)
        pos = graphs[d].genes.get_indexer(data.gene[rows])
        ok = pos >= 0
        n_unmatched += int((~ok).sum())
        out[d] = (rows[ok], pos[ok])
    if n_unmatched:
        warnings.warn(
            f"{func}: {n_unmatched} rows of the joint embedding have a gene that is not a node of their "
            "dataset's graph; they are left out of this metric.",
            UserWarning,
            stacklevel=3,
        )
    return out


def _unit_rows(X: np.ndarray, func: str) -> np.ndarray:
    """Rows scaled to unit L2 norm (for cosine); all-zero rows stay zero (cosine 0), with a warning."""
    norms = np.linalg.norm(X, axis=1)
    zero = norms == 0
    if zero.any():
        warnings.warn(
            f"{func}: {int(zero.sum())} rows are all-zero vectors; their cosine similarity to anything is 0.",
            UserWarning,
            stacklevel=3,
        )
        norms = np.where(zero, 1.0, norms)
    return X / norms[:, None]


def _warn_single_dataset(func: str, metric: str) -> float:
    warnings.warn(
        f"{func}: the joint embedding holds a single dataset; the cross-dataset metric {metric} is NaN.",
        UserWarning,
        stacklevel=3,
    )
    return float("nan")


def _neighbors_graph(
    X: np.ndarray,
    *,
    n_neighbors: int,
    random_state: int,
    leiden: bool,
    resolution: float = 1.0,
    func: str = "muse_gnn.metrics",
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """scanpy kNN connectivities of the rows of ``X`` (and Leiden clusters of them when ``leiden``)."""
    import scanpy as sc

    n = X.shape[0]
    if n < 3:
        raise ValueError(f"{func}: a kNN graph needs at least 3 rows, got {n}.")
    k = int(min(n_neighbors, n - 1))
    ad = AnnData(obs=pd.DataFrame(index=pd.RangeIndex(n).astype(str)), obsm={"X_rep": X})
    sc.pp.neighbors(ad, use_rep="X_rep", n_neighbors=k, random_state=random_state)
    labels = None
    if leiden:
        sc.tl.leiden(
            ad,
            resolution=resolution,
            random_state=random_state,
            flavor="igraph",
            n_iterations=2,
            directed=False,
            key_added="cluster",
        )
        labels = ad.obs["cluster"].astype(str).to_numpy(dtype=object)
    return sp.csr_matrix(ad.obsp["connectivities"]), labels


def _clusters(
    data: _Joint,
    cluster_key: str | None,
    *,
    n_neighbors: int,
    resolution: float,
    random_state: int,
    func: str,
) -> np.ndarray:
    """Cluster labels of the rows of ``data``: ``obs[cluster_key]`` or Leiden on the kNN graph of ``X``."""
    if cluster_key is not None:
        if cluster_key not in data.obs.columns:
            raise KeyError(
                f"{func}: `joint.obs[{cluster_key!r}]` not found; run `sc.tl.leiden(joint, key_added=...)` "
                "first or leave `cluster_key=None` to compute Leiden clusters."
            )
        lab = data.obs[cluster_key]
        if lab.isna().any():
            raise ValueError(
                f"{func}: `joint.obs[{cluster_key!r}]` has {int(lab.isna().sum())} missing labels."
            )
        return lab.astype(str).to_numpy(dtype=object)
    _, labels = _neighbors_graph(
        data.X,
        n_neighbors=n_neighbors,
        random_state=random_state,
        leiden=True,
        resolution=resolution,
        func=func,
    )
    logger.info("%s: %d Leiden clusters (resolution %s)", func, len(pd.unique(labels)), resolution)
    return labels


# --------------------------------------------------------------------------------------------------
# Metric kernels on arrays
# --------------------------------------------------------------------------------------------------


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


def _pair_dots(Z: np.ndarray, i: np.ndarray, j: np.ndarray, *, chunk: int = 262_144) -> np.ndarray:
    """Row dot products ``Z[i] · Z[j]``: through the Gram matrix for small ``Z``, else in chunks."""
    if Z.shape[0] <= 4096:
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
    data: _Joint, graphs: dict[str, _Graph], *, max_pairs: int, random_state: int, func: str
) -> pd.Series:
    positions = _row_positions(data, graphs, func)
    Zall = _unit_rows(data.X, func)
    rng = np.random.default_rng(random_state)
    out = {}
    for d, (rows, pos) in positions.items():
        adj = graphs[d].adj[pos][:, pos].tocsr()
        auc, n_pos, n_neg = _auc_one(Zall[rows], adj, max_pairs=max_pairs, rng=rng)
        if np.isnan(auc):
            warnings.warn(
                f"{func}: dataset {d!r}: AUC undefined ({n_pos} edges, {n_neg} non-edges among its "
                f"{rows.size} genes); it is NaN and left out of the mean.",
                UserWarning,
                stacklevel=3,
            )
        else:
            logger.debug("%s: dataset %s: AUC %.4f on %d edges, %d non-edges", func, d, auc, n_pos, n_neg)
        out[d] = auc
    return pd.Series(out, dtype=float, name="AUC")


def _knn_lisi(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    n_neighbors: int,
    perplexity: float | None,
    include_self: bool = True,
) -> np.ndarray:
    """Per-row LISI (inverse Simpson index) of ``labels`` on the Euclidean kNN of ``X``.

    Written by hand (no installed library computes LISI) after the definition of Korsunsky et al. (2019)
    as used by scib-metrics ``lisi_knn``: the ``k`` nearest rows, by default *including the row itself*, which
    then gets weight 0 (scib-metrics' neighbour results include the self edge and ``lisi_knn`` masks it, so the
    row counts towards ``k`` but not towards the index); ``include_self=False`` takes the ``k`` nearest other
    rows. Gaussian weights ``exp(−β d)`` on the (non-squared) Euclidean distances with β found by binary search
    (≤ 50 steps, tolerance 1e-5 on the entropy) so the perplexity of the weights equals ``perplexity``
    (default ``floor(k / 3)``), Simpson index ``Σ_label (Σ_{neighbours with that label} p)²``,
    LISI = 1 / Simpson. Checked against scib-metrics 0.5.10 in ``tests/test_metrics_paper.py``.
    """
    n = X.shape[0]
    if include_self:
        k = int(min(n_neighbors, n))
        dist, idx = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X)
    else:
        # kneighbors() without X leaves each row out of its own neighbour list.
        k = int(min(n_neighbors, n - 1))
        dist, idx = NearestNeighbors(n_neighbors=k).fit(X).kneighbors()
    if perplexity is None:
        perplexity = float(np.floor(k / 3))
    if perplexity < 1:
        raise ValueError(
            f"LISI perplexity must be >= 1, got {perplexity} (k = {k} neighbours); use more rows or "
            "neighbours."
        )
    return _lisi_from_knn(dist, idx, labels, perplexity=perplexity, exclude_self=include_self)


def _lisi_from_knn(
    dist: np.ndarray,
    idx: np.ndarray,
    labels: np.ndarray,
    *,
    perplexity: float,
    tol: float = 1e-5,
    exclude_self: bool = False,
) -> np.ndarray:
    """LISI of every row from its kNN distances/indices (see :func:`_knn_lisi`); vectorised over rows.

    ``exclude_self``: entries of ``idx`` equal to the row's own index get weight 0 (scib-metrics' self mask).
    """
    codes = pd.Categorical(labels).codes.astype(np.int64)
    n_labels = int(codes.max()) + 1
    n = dist.shape[0]
    keep = idx != np.arange(n)[:, None] if exclude_self else np.ones(idx.shape, dtype=bool)
    # Shifting each row's distances by their minimum leaves the normalised weights and the entropy H
    # unchanged (both terms of H move by β·min and cancel) but avoids exp underflow for far neighbours.
    row_min = np.where(keep, dist, np.inf).min(axis=1, keepdims=True)
    D = np.where(keep, dist - row_min, 0.0)
    log_u = np.log(perplexity)
    beta = np.ones(n)
    beta_min = np.full(n, -np.inf)
    beta_max = np.full(n, np.inf)

    def hbeta(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P = np.exp(-D * b[:, None]) * keep
        sum_p = P.sum(axis=1)  # >= 1: the closest kept neighbour has weight exp(0)
        H = np.log(sum_p) + b * (D * P).sum(axis=1) / sum_p
        return H, P / sum_p[:, None]

    H, P = hbeta(beta)
    for _ in range(50):
        diff = H - log_u
        active = np.abs(diff) > tol
        if not active.any():
            break
        up = active & (diff > 0)
        down = active & (diff <= 0)
        beta_min = np.where(up, beta, beta_min)
        beta_max = np.where(down, beta, beta_max)
        new_up = np.where(np.isinf(beta_max), beta * 2, (beta + beta_max) / 2)
        new_down = np.where(np.isinf(beta_min), beta / 2, (beta + beta_min) / 2)
        beta = np.where(up, new_up, np.where(down, new_down, beta))
        H_new, P_new = hbeta(beta)
        H = np.where(active, H_new, H)
        P = np.where(active[:, None], P_new, P)
    onehot_sum = np.zeros((n, n_labels))
    np.add.at(onehot_sum, (np.repeat(np.arange(n), idx.shape[1]), codes[idx].ravel()), P.ravel())
    simpson = (onehot_sum**2).sum(axis=1)
    return 1.0 / simpson


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


def _neighbor_sets(
    data: _Joint, graphs: dict[str, _Graph], func: str
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Binary (rows × vocabulary) matrix of every row's co-expression neighbour gene names.

    Returns the matrix and a mask of the rows that could be placed in their dataset's graph.
    """
    positions = _row_positions(data, graphs, func)
    vocab = pd.Index(pd.unique(np.concatenate([graphs[d].genes.to_numpy() for d in positions])))
    pieces_rows, pieces_cols = [], []
    found = np.zeros(data.n, dtype=bool)
    for d, (rows, pos) in positions.items():
        g = graphs[d]
        to_vocab = vocab.get_indexer(g.genes)
        sub = g.adj[pos].tocoo()
        pieces_rows.append(rows[sub.row])
        pieces_cols.append(to_vocab[sub.col])
        found[rows] = True
    r = np.concatenate(pieces_rows) if pieces_rows else np.empty(0, np.int64)
    c = np.concatenate(pieces_cols) if pieces_cols else np.empty(0, np.int64)
    B = sp.csr_matrix((np.ones(r.size, dtype=np.float64), (r, c)), shape=(data.n, len(vocab)))
    return B, found


def _cross_pairs(
    ds_codes: np.ndarray, *, max_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Pairs (i, j) of positions with different dataset codes: all, or a uniform sample of ``max_pairs``."""
    uniq, counts = np.unique(ds_codes, return_counts=True)
    members = [np.flatnonzero(ds_codes == u) for u in uniq]
    pair_ab = [(a, b) for a in range(len(uniq)) for b in range(a + 1, len(uniq))]
    sizes = np.array([counts[a] * counts[b] for a, b in pair_ab], dtype=np.int64)
    total = int(sizes.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), False
    if total <= max_pairs:
        I, J = [], []
        for a, b in pair_ab:
            ii, jj = np.meshgrid(members[a], members[b], indexing="ij")
            I.append(ii.ravel())
            J.append(jj.ravel())
        return np.concatenate(I), np.concatenate(J), False
    # Uniform sample (with replacement) over all cross-dataset pairs: pick the dataset pair with
    # probability ∝ n_a·n_b, then one row of each uniformly.
    n_per = rng.multinomial(max_pairs, sizes / total)
    I, J = [], []
    for (a, b), k in zip(pair_ab, n_per, strict=True):
        if k:
            I.append(rng.choice(members[a], size=k))
            J.append(rng.choice(members[b], size=k))
    return np.concatenate(I), np.concatenate(J), True


def _neighbor_overlap_arrays(
    data: _Joint,
    graphs: dict[str, _Graph],
    labels: np.ndarray,
    *,
    max_pairs: int,
    random_state: int,
    func: str,
) -> tuple[float, pd.Series]:
    """Σ_c (|c|/N) · mean Jaccard over the cross-dataset pairs of cluster c (0 for clusters without any)."""
    B, found = _neighbor_sets(data, graphs, func)
    deg = np.asarray(B.sum(axis=1)).ravel()
    ds_codes = pd.Categorical(data.dataset).codes
    rng = np.random.default_rng(random_state)
    N = int(found.sum())
    per_cluster = {}
    total = 0.0
    for c in pd.unique(labels[found]):
        rows = np.flatnonzero((labels == c) & found)
        i, j, sampled = _cross_pairs(ds_codes[rows], max_pairs=max_pairs, rng=rng)
        if i.size == 0:
            per_cluster[c] = float("nan")
            continue
        if sampled:
            logger.debug("%s: cluster %s: %d sampled cross-dataset pairs", func, c, i.size)
        ri, rj = rows[i], rows[j]
        inter = np.asarray(B[ri].multiply(B[rj]).sum(axis=1)).ravel()
        union = deg[ri] + deg[rj] - inter
        # Two genes without any neighbour share none: Jaccard 0 (0/0 defined as 0).
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        per_cluster[c] = float(jac.mean())
        total += rows.size / N * per_cluster[c]
    return float(total), pd.Series(per_cluster, dtype=float, name="neighbor_overlap")


# --------------------------------------------------------------------------------------------------
# Public metrics
# --------------------------------------------------------------------------------------------------


def asw_batch(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    cluster_key: str | None = None,
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
    joint
        Joint embedding: one row per (gene, dataset), ``obs["gene"]``, ``obs["dataset"]``,
        ``obsm[use_rep]``. Rows with NaN are ignored (with a warning).
    use_rep
        Key of the embedding in ``joint.obsm``.
    cluster_key
        Column of ``joint.obs`` with cluster labels; ``None`` computes Leiden clusters with scanpy on
        the ``n_neighbors``-nearest-neighbour graph of ``use_rep``.
    batch_key
        Column of ``joint.obs`` holding the batch labels (the dataset, as in the paper).
    n_neighbors, resolution, random_state
        Neighbour graph and Leiden settings used when ``cluster_key`` is ``None``.
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
    >>> 0.8 < mg.metrics.asw_batch(joint, cluster_key="cl") <= 1.0
    True
    """
    func = "asw_batch"
    data = _load_joint(joint, use_rep, func, dataset_key=batch_key, check_unique=False)
    if data.n_datasets < 2:
        nan = _warn_single_dataset(func, "ASW")
        return (nan, pd.Series(dtype=float, name="ASW")) if return_all else nan
    labels = _clusters(
        data,
        cluster_key,
        n_neighbors=n_neighbors,
        resolution=resolution,
        random_state=random_state,
        func=func,
    )
    return _finish_asw(data, labels, func, return_all)


def _finish_asw(data: _Joint, labels: np.ndarray, func: str, return_all: bool) -> Any:
    per = _asw_batch_arrays(data.X, labels, data.dataset)
    if per.empty:
        warnings.warn(
            f"{func}: no cluster holds rows of at least two datasets (and fewer datasets than rows); "
            "ASW is NaN.",
            UserWarning,
            stacklevel=3,
        )
        value = float("nan")
    else:
        value = float(per.mean())
    return (value, per) if return_all else value


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
    joint
        Joint embedding (see :func:`asw_batch`).
    graphs
        One gene graph per dataset of ``joint``: ``{dataset: (gene_names, adjacency)}`` with a
        genes × genes symmetric (sparse) adjacency, any non-zero entry an edge, or ``{dataset: AnnData}``
        holding ``varp[f"{graph_key}_connectivities"]`` and ``var[f"{graph_key}_selected"]`` as written
        by :func:`muse_gnn.pp.coexpression_graph`.
    use_rep
        Key of the embedding in ``joint.obsm``.
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
    data = _load_joint(joint, use_rep, func)
    g = _normalize_graphs(graphs, func, graph_key=graph_key)
    per = _auc_graph_arrays(data, g, max_pairs=max_pairs, random_state=random_state, func=func)
    value = float(per.mean()) if per.notna().any() else float("nan")
    return (value, per) if return_all else value


def ilisi(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    batch_key: str = "dataset",
    n_neighbors: int = 90,
    perplexity: float | None = None,
    include_self: bool = True,
    scale: bool = True,
) -> float:
    """Integration LISI of the dataset labels (paper metric 3, scib ``ilisi_graph`` on an embedding).

    For every row, the local inverse Simpson index of the batch labels among its ``k`` Euclidean nearest
    rows (as in scib-metrics: ``k = min(n_neighbors, n)`` rows counting the row itself, which gets weight 0),
    with Gaussian weights of perplexity ``floor(k / 3)``; the median over rows is rescaled to [0, 1] as
    ``(median − 1) / (n_batches − 1)``: 1 = the datasets are perfectly mixed, 0 = fully separated.
    The LISI computation is written by hand after scib-metrics' ``lisi_knn`` definition (no installed
    package provides it).

    Parameters
    ----------
    joint
        Joint embedding (see :func:`asw_batch`).
    use_rep
        Key of the embedding in ``joint.obsm``.
    batch_key
        Column of ``joint.obs`` holding the batch labels.
    n_neighbors
        Neighbourhood size (scib's default 90), capped at the number of rows.
    perplexity
        Effective neighbourhood size of the Gaussian weights; default ``floor(k / 3)``.
    include_self
        Count each row among its own ``k`` neighbours, with weight 0 (scib-metrics' ``ilisi_knn`` on kNN
        results that include the self edge); ``False`` uses the ``k = min(n_neighbors, n − 1)`` nearest
        *other* rows.
    scale
        Rescale to [0, 1]; ``False`` returns the median LISI itself (between 1 and ``n_batches``).

    Returns
    -------
    The iLISI score; NaN with a warning for a single dataset.

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> obs = pd.DataFrame({"gene": [f"g{i}" for i in range(100)] * 2, "dataset": ["a"] * 100 + ["b"] * 100})
    >>> mixed = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": rng.normal(size=(200, 4))})
    >>> mg.metrics.ilisi(mixed) > 0.8
    True
    """
    func = "ilisi"
    data = _load_joint(joint, use_rep, func, dataset_key=batch_key, check_unique=False)
    if data.n_datasets < 2:
        return _warn_single_dataset(func, "iLISI")
    return _ilisi_value(
        data, n_neighbors=n_neighbors, perplexity=perplexity, include_self=include_self, scale=scale
    )


def _ilisi_value(
    data: _Joint, *, n_neighbors: int, perplexity: float | None, include_self: bool = True, scale: bool = True
) -> float:
    lisi = _knn_lisi(
        data.X, data.dataset, n_neighbors=n_neighbors, perplexity=perplexity, include_self=include_self
    )
    med = float(np.nanmedian(lisi))
    if not scale:
        return med
    return (med - 1.0) / (data.n_datasets - 1.0)


def graph_connectivity(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    cluster_key: str | None = None,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    random_state: int = 0,
) -> float:
    """Graph connectivity of the clusters (paper metric 4, scib ``graph_connectivity``).

    The scanpy kNN graph (``sc.pp.neighbors`` connectivities, ``n_neighbors`` neighbours on
    ``use_rep``) is restricted to the rows of each cluster; the score is the mean over clusters of the
    fraction of the cluster's rows in its largest connected component
    (:func:`scipy.sparse.csgraph.connected_components`). Note that Leiden clusters of the same graph are
    connected by construction, so with ``cluster_key=None`` the value is usually 1; the paper computes it
    on Leiden clusters nonetheless.

    Parameters
    ----------
    joint
        Joint embedding (see :func:`asw_batch`).
    use_rep
        Key of the embedding in ``joint.obsm``.
    cluster_key
        Column of ``joint.obs`` with the labels (clusters, or e.g. planted modules); ``None`` computes
        Leiden clusters of the kNN graph.
    n_neighbors, resolution, random_state
        kNN graph size and Leiden settings.

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
    data = _load_joint(joint, use_rep, func, check_unique=False)
    conn, leiden = _neighbors_graph(
        data.X,
        n_neighbors=n_neighbors,
        random_state=random_state,
        leiden=cluster_key is None,
        resolution=resolution,
        func=func,
    )
    labels = leiden if cluster_key is None else _clusters(
        data,
        cluster_key,
        n_neighbors=n_neighbors,
        resolution=resolution,
        random_state=random_state,
        func=func,
    )
    return _graph_connectivity_arrays(conn, labels)


def common_gene_ratio(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    cluster_key: str | None = None,
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
    joint
        Joint embedding (see :func:`asw_batch`).
    use_rep
        Key of the embedding in ``joint.obsm`` (rows with NaN there are ignored; clustering uses it).
    cluster_key
        Column of ``joint.obs`` with cluster labels; ``None`` computes Leiden clusters.
    n_neighbors, resolution, random_state
        Leiden settings used when ``cluster_key`` is ``None``.

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
    >>> mg.metrics.common_gene_ratio(joint, cluster_key="cl")  # cluster 0: 3 rows, 2 genes
    0.25
    """
    func = "common_gene_ratio"
    data = _load_joint(joint, use_rep, func)
    if data.n_datasets < 2:
        return _warn_single_dataset(func, "common_gene_ratio")
    labels = _clusters(
        data,
        cluster_key,
        n_neighbors=n_neighbors,
        resolution=resolution,
        random_state=random_state,
        func=func,
    )
    return _common_gene_ratio_arrays(data.gene, labels)


def neighbor_overlap(
    joint: AnnData,
    graphs: Mapping[str, Any],
    *,
    use_rep: str = "X_muse",
    cluster_key: str | None = None,
    graph_key: str = "muse",
    n_neighbors: int = 15,
    resolution: float = 1.0,
    max_pairs: int = 1_000_000,
    random_state: int = 0,
    return_all: bool = False,
) -> float | tuple[float, pd.Series]:
    """Co-expression neighbour overlap of the cross-dataset row pairs of each cluster (paper metric 6).

    Every row (gene *g* of dataset *t*) has the set ``N_t(g)`` of gene names adjacent to *g* in the graph
    of *t*. For each cluster *c*, the Jaccard index ``|N_t(g) ∩ N_u(h)| / |N_t(g) ∪ N_u(h)|`` is averaged
    over the pairs of rows of *c* from different datasets (``t ≠ u``; two genes without any neighbour
    count 0); the score is ``Σ_c (|c| / N) · mean_c``. A cluster with rows of one dataset only has no
    cross-dataset pair and contributes 0 (its weight is kept, so clusters that mix nothing lower the
    score, as in the common-gene ratio). When a cluster has more than ``max_pairs`` cross-dataset pairs,
    ``max_pairs`` of them are drawn uniformly (with replacement, seeded by ``random_state``).

    Parameters
    ----------
    joint
        Joint embedding (see :func:`asw_batch`).
    graphs
        One gene graph per dataset (see :func:`auc_graph`). Rows whose gene is not in their dataset's
        graph are left out (with a warning).
    use_rep
        Key of the embedding in ``joint.obsm``.
    cluster_key
        Column of ``joint.obs`` with cluster labels; ``None`` computes Leiden clusters.
    graph_key
        Key prefix of the graphs stored in AnnData.
    n_neighbors, resolution
        Leiden settings used when ``cluster_key`` is ``None``.
    max_pairs
        Largest number of pairs scored per cluster before sampling.
    random_state
        Seed of Leiden and of the pair sampling.
    return_all
        Also return the per-cluster mean Jaccard (NaN for clusters without cross-dataset pairs).

    Returns
    -------
    The overlap in [0, 1], or ``(overlap, per_cluster)``; NaN with a warning for a single dataset.

    Examples
    --------
    >>> import numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad
    >>> import muse_gnn as mg
    >>> genes = ["a", "b", "c"]
    >>> A = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]]))
    >>> obs = pd.DataFrame({"gene": genes * 2, "dataset": ["d1"] * 3 + ["d2"] * 3, "cl": ["0", "1", "2"] * 2})
    >>> joint = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": np.eye(6)})
    >>> mg.metrics.neighbor_overlap(joint, {"d1": (genes, A), "d2": (genes, A)}, cluster_key="cl")
    1.0
    """
    func = "neighbor_overlap"
    data = _load_joint(joint, use_rep, func)
    g = _normalize_graphs(graphs, func, graph_key=graph_key)
    if data.n_datasets < 2:
        nan = _warn_single_dataset(func, "neighbor_overlap")
        return (nan, pd.Series(dtype=float, name="neighbor_overlap")) if return_all else nan
    labels = _clusters(
        data,
        cluster_key,
        n_neighbors=n_neighbors,
        resolution=resolution,
        random_state=random_state,
        func=func,
    )
    value, per = _neighbor_overlap_arrays(
        data, g, labels, max_pairs=max_pairs, random_state=random_state, func=func
    )
    return (value, per) if return_all else value


def paper_metrics(
    joint: AnnData,
    graphs: Mapping[str, Any] | None = None,
    *,
    use_rep: str = "X_muse",
    cluster_key: str | None = None,
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
    ``cluster_key`` is given) and the clusters are shared by ASW, GC, common-gene ratio and neighbour
    overlap. See :func:`asw_batch`, :func:`auc_graph`, :func:`ilisi`, :func:`graph_connectivity`,
    :func:`common_gene_ratio` and :func:`neighbor_overlap` for the definitions.

    Parameters
    ----------
    joint
        Joint embedding: one row per (gene, dataset), ``obs["gene"]``, ``obs["dataset"]``,
        ``obsm[use_rep]``. Rows with NaN are ignored (with a warning).
    graphs
        One gene graph per dataset (see :func:`auc_graph`); ``None`` makes AUC and neighbour overlap
        NaN (with a warning).
    use_rep
        Key of the embedding in ``joint.obsm``.
    cluster_key
        Column of ``joint.obs`` with cluster labels; ``None`` computes Leiden clusters.
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
    data = _load_joint(joint, use_rep, func)
    if common_genes_only:
        mask = _common_gene_mask(data)
        if not mask.any():
            raise ValueError(
                f"{func}: no gene is present in all {data.n_datasets} datasets (common_genes_only)."
            )
        logger.info("%s: %d of %d rows belong to genes common to all datasets", func, int(mask.sum()), data.n)
        data = data.subset(mask)
    g = _normalize_graphs(graphs, func, graph_key=graph_key) if graphs is not None else None
    multi = data.n_datasets >= 2

    conn, leiden = _neighbors_graph(
        data.X,
        n_neighbors=n_neighbors,
        random_state=random_state,
        leiden=cluster_key is None,
        resolution=resolution,
        func=func,
    )
    labels = leiden if cluster_key is None else _clusters(
        data,
        cluster_key,
        n_neighbors=n_neighbors,
        resolution=resolution,
        random_state=random_state,
        func=func,
    )

    nan = float("nan")
    if not multi:
        warnings.warn(
            f"{func}: the joint embedding holds a single dataset; the cross-dataset metrics ASW, iLISI, "
            "common_gene_ratio and neighbor_overlap are NaN.",
            UserWarning,
            stacklevel=2,
        )
    res: dict[str, float] = {}
    res["ASW"] = _finish_asw(data, labels, func, False) if multi else nan
    if g is None:
        warnings.warn(
            f"{func}: no `graphs` given; AUC and neighbor_overlap are NaN.", UserWarning, stacklevel=2
        )
        res["AUC"] = float("nan")
    else:
        per = _auc_graph_arrays(data, g, max_pairs=max_pairs, random_state=random_state, func=func)
        res["AUC"] = float(per.mean()) if per.notna().any() else float("nan")
    res["iLISI"] = _ilisi_value(data, n_neighbors=lisi_neighbors, perplexity=None) if multi else nan
    res["GC"] = _graph_connectivity_arrays(conn, labels)
    res["common_gene_ratio"] = _common_gene_ratio_arrays(data.gene, labels) if multi else nan
    if g is None or not multi:
        res["neighbor_overlap"] = nan
    else:
        res["neighbor_overlap"] = _neighbor_overlap_arrays(
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
