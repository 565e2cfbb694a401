"""Co-expression neighbour overlap (paper metric 6): do rows clustered together share graph neighbours?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._compat import renamed_parameter
from .._docs import doc_metric, doc_params
from .._joint import JointRows, joint_rows
from .._utils import logger
from ._clustering import clusters
from ._input import Graph, normalize_graphs, row_positions, warn_single_dataset

__all__ = ["neighbor_overlap", "neighbor_overlap_arrays"]


@renamed_parameter("cluster_key", "groupby")
@doc_params(doc_metric)
def neighbor_overlap(
    joint: AnnData,
    graphs: Mapping[str, Any],
    *,
    use_rep: str = "X_muse",
    groupby: str | None = None,
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
    {doc_joint_rows}
    graphs
        One gene graph per dataset (see :func:`auc_graph`). Rows whose gene is not in their dataset's
        graph are left out (with a warning).
    {doc_use_rep}
    {doc_groupby}
    graph_key
        Key prefix of the graphs stored in AnnData.
    n_neighbors, resolution
        Leiden settings used when ``groupby`` is ``None``.
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
    >>> mg.metrics.neighbor_overlap(joint, {"d1": (genes, A), "d2": (genes, A)}, groupby="cl")
    1.0
    """
    func = "neighbor_overlap"
    data = joint_rows(joint, use_rep, func)
    g = normalize_graphs(graphs, func, graph_key=graph_key)
    if data.n_datasets < 2:
        nan = warn_single_dataset(func, "neighbor_overlap")
        return (nan, pd.Series(dtype=float, name="neighbor_overlap")) if return_all else nan
    labels = clusters(data, groupby, n_neighbors=n_neighbors, resolution=resolution, random_state=random_state,
                      func=func)
    value, per = neighbor_overlap_arrays(
        data, g, labels, max_pairs=max_pairs, random_state=random_state, func=func
    )
    return (value, per) if return_all else value


def neighbor_overlap_arrays(
    data: JointRows,
    graphs: dict[str, Graph],
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


def _neighbor_sets(
    data: JointRows, graphs: dict[str, Graph], func: str
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Binary (rows × vocabulary) matrix of every row's co-expression neighbour gene names.

    Returns the matrix and a mask of the rows that could be placed in their dataset's graph.
    """
    positions = row_positions(data, graphs, func)
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
        rows_i, rows_j = [], []
        for a, b in pair_ab:
            ii, jj = np.meshgrid(members[a], members[b], indexing="ij")
            rows_i.append(ii.ravel())
            rows_j.append(jj.ravel())
        return np.concatenate(rows_i), np.concatenate(rows_j), False
    # Uniform sample (with replacement) over all cross-dataset pairs: pick the dataset pair with
    # probability ∝ n_a·n_b, then one row of each uniformly.
    n_per = rng.multinomial(max_pairs, sizes / total)
    rows_i, rows_j = [], []
    for (a, b), k in zip(pair_ab, n_per, strict=True):
        if k:
            rows_i.append(rng.choice(members[a], size=k))
            rows_j.append(rng.choice(members[b], size=k))
    return np.concatenate(rows_i), np.concatenate(rows_j), True
