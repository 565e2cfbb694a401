"""Baselines of the quality benchmark, on the same graphs and node features as MuSe-GNN.

Every method takes ``{name: AnnData}`` (graphs from :func:`muse_gnn.pp.coexpression_graph`) and returns the
same joint embedding as :meth:`muse_gnn.MuseGNN.joint_embedding`: one row per (gene, dataset), ``obs``
columns ``gene``, ``dataset``, ``tissue``, ``technology``, ``species``, vectors in ``obsm["X_muse"]``.

* :func:`pca_joint`: 32 PCs per dataset of the gene × cell residual features;
* :func:`gene2vec_joint`: skip-gram with negative sampling over each graph's edge pairs (hand-written SGNS);
* :func:`gae_joint`, :func:`vgae_joint`: PyG GAE / VGAE, 2-layer GCN encoder, inner-product decoder, per dataset;
* :func:`muse_ablation_joint`: MuSe-GNN without the cross-dataset terms;
* :func:`muse_joint`: MuSe-GNN (``mg.tl.fit`` defaults).

:func:`methods` returns them as ``{display name: callable(adatas, seed) -> AnnData}`` in table order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import anndata as ad

from ._joint import DatasetGraph, dataset_graph, seed_everything, stack_joint
from .gae import gae_joint, vgae_joint
from .gene2vec import gene2vec_joint
from .muse import muse_ablation_joint, muse_joint
from .pca import pca_joint

__all__ = [
    "DatasetGraph",
    "dataset_graph",
    "seed_everything",
    "stack_joint",
    "pca_joint",
    "gene2vec_joint",
    "gae_joint",
    "vgae_joint",
    "muse_joint",
    "muse_ablation_joint",
    "methods",
    "MUSE",
    "ABLATION",
]

MUSE = "MuSe-GNN"
ABLATION = "MuSe-GNN w/o cross-dataset terms"

Method = Callable[..., ad.AnnData]


def methods(
    *,
    max_epochs: int = 300,
    gae_epochs: int = 200,
    gene2vec_epochs: int = 50,
    only: list[str] | None = None,
    muse_options: Mapping[str, object] | None = None,
) -> dict[str, Callable[[Mapping[str, ad.AnnData], int], ad.AnnData]]:
    """``{display name: f(adatas, seed)}`` for every method, baselines first, MuSe-GNN last.

    Parameters
    ----------
    max_epochs
        MuSe-GNN epochs (ablation and full model).
    gae_epochs
        Full-batch epochs of GAE and VGAE.
    gene2vec_epochs
        Passes over the edge pairs of the skip-gram baseline.
    only
        Keep only these display names.
    muse_options
        Further ``mg.tl.fit`` options of the full MuSe-GNN model (not of its ablation, which fixes the
        cross-dataset weights to 0), e.g. ``{"lambda_similarity": 1}``.
    """
    table: dict[str, Method] = {
        "PCA": pca_joint,
        "Gene2vec": partial(gene2vec_joint, epochs=gene2vec_epochs),
        "GAE": partial(gae_joint, epochs=gae_epochs),
        "VGAE": partial(vgae_joint, epochs=gae_epochs),
        ABLATION: partial(muse_ablation_joint, max_epochs=max_epochs),
        MUSE: partial(muse_joint, max_epochs=max_epochs, **dict(muse_options or {})),
    }
    if only is not None:
        unknown = set(only) - set(table)
        if unknown:
            raise ValueError(f"unknown methods {sorted(unknown)}; choose from {list(table)}.")
        table = {k: v for k, v in table.items() if k in only}
    return {name: (lambda adatas, seed, f=f: f(adatas, seed=seed)) for name, f in table.items()}
