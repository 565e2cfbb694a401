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

__all__ = ["DatasetGraph", "dataset_graph", "label", "seed_everything", "stack_joint"]


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


def label(adata: ad.AnnData, key: str) -> str:
    """Dataset-level label (tissue, technology, species) from ``uns`` or a constant ``obs`` column."""
    if key in adata.uns and np.ndim(adata.uns[key]) == 0:
        return str(adata.uns[key])
    if key in adata.obs and adata.obs[key].nunique() == 1:
        return str(adata.obs[key].iloc[0])
    return "unknown"


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
    """Stack per-dataset gene embeddings like :meth:`muse_gnn.MuseGNN.joint_embedding`.

    ``obs`` has ``gene``, ``dataset``, ``tissue``, ``technology``, ``species`` (categoricals in order of first
    appearance), ``obs_names`` are ``"{gene}@{dataset}"`` and the vectors are in ``obsm[key]``.
    """
    obs = []
    for (name, a), g in zip(adatas.items(), genes, strict=True):
        obs.append(pd.DataFrame({"gene": np.asarray(g, dtype=object).astype(str), "dataset": name,
                                 "tissue": label(a, "tissue"), "technology": label(a, "technology"),
                                 "species": label(a, "species")}))
    obs_df = pd.concat(obs, ignore_index=True)
    obs_df.index = (obs_df["gene"] + "@" + obs_df["dataset"]).to_numpy()
    for col in ("dataset", "tissue", "technology", "species"):
        obs_df[col] = pd.Categorical(obs_df[col], categories=list(dict.fromkeys(obs_df[col])))
    joint = ad.AnnData(obs=obs_df)
    joint.obsm[key] = np.concatenate([np.asarray(z, dtype=np.float32) for z in embeddings])
    if method is not None:
        joint.uns["baseline"] = {"method": method}
    return joint
