"""Clusters of the rows of a joint embedding for the metrics: given labels, or Leiden on scanpy's kNN graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._joint import JointRows
from .._utils import logger

__all__ = ["clusters", "graph_and_clusters", "neighbors_graph"]


def neighbors_graph(
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


def clusters(
    data: JointRows,
    groupby: str | None,
    *,
    n_neighbors: int,
    resolution: float,
    random_state: int,
    func: str,
) -> np.ndarray:
    """Cluster labels of the rows of ``data``: ``obs[groupby]`` or Leiden on the kNN graph of ``X``."""
    if groupby is not None:
        if groupby not in data.obs.columns:
            raise KeyError(
                f"{func}: `joint.obs[{groupby!r}]` not found; run `sc.tl.leiden(joint, key_added=...)` "
                "first or leave `groupby=None` to compute Leiden clusters."
            )
        lab = data.obs[groupby]
        if lab.isna().any():
            raise ValueError(
                f"{func}: `joint.obs[{groupby!r}]` has {int(lab.isna().sum())} missing labels."
            )
        return lab.astype(str).to_numpy(dtype=object)
    _, labels = neighbors_graph(
        data.X,
        n_neighbors=n_neighbors,
        random_state=random_state,
        leiden=True,
        resolution=resolution,
        func=func,
    )
    logger.info("%s: %d Leiden clusters (resolution %s)", func, len(pd.unique(labels)), resolution)
    return labels


def graph_and_clusters(
    data: JointRows, groupby: str | None, *, n_neighbors: int, resolution: float, random_state: int, func: str
) -> tuple[sp.csr_matrix, np.ndarray]:
    """The kNN connectivities of ``data.X`` and the cluster labels (``obs[groupby]``, or Leiden of that graph)."""
    conn, leiden = neighbors_graph(data.X, n_neighbors=n_neighbors, random_state=random_state,
                                   leiden=groupby is None, resolution=resolution, func=func)
    if groupby is None:
        return conn, leiden
    return conn, clusters(data, groupby, n_neighbors=n_neighbors, resolution=resolution,
                          random_state=random_state, func=func)
