"""Inputs and outputs shared by the baselines: one dataset's graph as tensors, stacking into a joint embedding."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
import torch

import muse_gnn as mg

__all__ = ["DatasetGraph", "dataset_graph", "seed_everything", "stack_joint"]


@dataclass
class DatasetGraph:
    """One dataset's gene graph as MuSe-GNN sees it: graph genes, residual node features, edges."""

    name: str
    genes: pd.Index
    x: np.ndarray  # (n_genes, n_cells) float32 Pearson residuals
    edge_index: torch.Tensor  # (2, n_directed_edges) long, symmetric, no self-loops

    @property
    def n_nodes(self) -> int:
        return len(self.genes)


def dataset_graph(adata: ad.AnnData, name: str, *, graph_key: str = "muse") -> DatasetGraph:
    """The same graph and node features MuSe-GNN trains on (``mg.pp.get_graph``, ``mg.pp.residual_features``)."""
    genes, adj = mg.pp.get_graph(adata, graph_key=graph_key)
    x = mg.pp.residual_features(adata, graph_key=graph_key)
    coo = adj.tocoo()
    keep = coo.row != coo.col
    edge_index = torch.as_tensor(np.vstack([coo.row[keep], coo.col[keep]]), dtype=torch.long)
    return DatasetGraph(str(name), pd.Index(genes.astype(str)), np.asarray(x, dtype=np.float32), edge_index)


def seed_everything(seed: int) -> None:
    """Seed torch, numpy's global generator and Python's ``random`` (PyG's negative sampling draws from it)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def stack_joint(
    adatas: Mapping[str, ad.AnnData],
    genes: Sequence[pd.Index],
    embeddings: Sequence[np.ndarray],
    *,
    key: str = "X_muse",
    method: str | None = None,
) -> ad.AnnData:
    """Stack per-dataset gene embeddings with :func:`muse_gnn.tl.joint_embedding` (as :meth:`MuseGNN.joint_embedding`).

    Each dataset is handed over as a light AnnData holding its labels and the vectors in ``varm[key]``;
    ``obs`` has ``gene``, ``dataset``, ``tissue``, ``technology``, ``species``, ``obs_names`` are
    ``"{gene}@{dataset}"`` and the vectors are in ``obsm[key]``.
    """
    light = {}
    for (name, a), g, z in zip(adatas.items(), genes, embeddings, strict=True):
        g = pd.Index(np.asarray(g, dtype=object).astype(str))
        labels = [k for k in ("tissue", "technology", "species") if k in a.obs.columns]
        part = ad.AnnData(obs=a.obs[labels].copy(), var=pd.DataFrame(index=g),
                          uns={k: a.uns[k] for k in ("tissue", "technology", "species") if k in a.uns})
        part.varm[key] = np.asarray(z, dtype=np.float32)
        light[name] = part
    joint = mg.tl.joint_embedding(light, use_rep=key)
    if method is not None:
        joint.uns["baseline"] = {"method": method}
    return joint
