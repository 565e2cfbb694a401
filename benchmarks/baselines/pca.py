"""PCA baseline: ``n_comps`` principal components per dataset of its gene × cell residual features."""

from __future__ import annotations

from collections.abc import Mapping

import anndata as ad
import numpy as np
from sklearn.decomposition import PCA

from ._joint import dataset_graph, stack_joint

__all__ = ["pca_joint"]


def pca_joint(
    adatas: Mapping[str, ad.AnnData],
    *,
    n_comps: int = 32,
    seed: int = 0,
    graph_key: str = "muse",
    key: str = "X_muse",
) -> ad.AnnData:
    """Per-dataset PCA (scikit-learn) of the graph genes' Pearson-residual rows, stacked as a joint embedding.

    The paper's PCA baseline: each dataset's genes (rows) are embedded by the top ``n_comps`` principal
    components of their residuals across that dataset's cells. Datasets with fewer genes or cells than
    ``n_comps`` are zero-padded. There is no shared space: each dataset's axes are its own.

    Parameters
    ----------
    adatas
        ``{name: AnnData}`` with graphs from :func:`muse_gnn.pp.coexpression_graph`.
    n_comps
        Principal components per dataset (32, the size of MuSe-GNN's embedding).
    seed
        ``random_state`` of the (randomised) SVD.
    graph_key
        ``key_added`` of the graph construction.
    key
        ``obsm`` key of the output.
    """
    genes, embs = [], []
    for name, a in adatas.items():
        g = dataset_graph(a, name, graph_key=graph_key)
        k = min(n_comps, *g.x.shape)
        z = PCA(k, random_state=seed).fit_transform(g.x)
        if k < n_comps:
            z = np.pad(z, ((0, 0), (0, n_comps - k)))
        genes.append(g.genes)
        embs.append(z)
    return stack_joint(adatas, genes, embs, key=key, method="PCA")
