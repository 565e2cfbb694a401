"""GAE and VGAE baselines (Kipf & Welling 2016) with PyG, trained per dataset on its gene graph.

As the paper's GAE/VGAE baselines: each dataset is embedded on its own (no shared space), with
:class:`torch_geometric.nn.GAE` / :class:`~torch_geometric.nn.VGAE`, a two-layer
:class:`~torch_geometric.nn.GCNConv` encoder (input → 2·d → d, ReLU between; VGAE: two output convolutions
for μ and log σ), PyG's default :class:`~torch_geometric.nn.InnerProductDecoder` (one sigmoid), trained with
``recon_loss`` (the graph's edges against as many negative edges drawn by PyG's negative sampling, re-drawn
every epoch), plus ``kl_loss / n_nodes`` for the VGAE. Full batch, Adam, fixed epochs and seed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import anndata as ad
import numpy as np
import torch
from torch import nn
from torch_geometric.nn import GAE, VGAE, GCNConv

from ._joint import DatasetGraph, dataset_graph, seed_everything, stack_joint

__all__ = ["GCNEncoder", "gae_embed", "gae_joint", "vgae_joint"]


class GCNEncoder(nn.Module):
    """Two-layer GCN encoder (``in → 2·out → out``); with ``variational`` it returns ``(μ, log σ)``."""

    def __init__(self, in_channels: int, out_channels: int, *, variational: bool = False) -> None:
        super().__init__()
        self.variational = variational
        # cached=True: one fixed graph per model (transductive), so the GCN normalisation is computed once
        self.conv1 = GCNConv(in_channels, 2 * out_channels, cached=True)
        if variational:
            self.conv_mu = GCNConv(2 * out_channels, out_channels, cached=True)
            self.conv_logstd = GCNConv(2 * out_channels, out_channels, cached=True)
        else:
            self.conv2 = GCNConv(2 * out_channels, out_channels, cached=True)

    def reset_parameters(self) -> None:
        for m in self.children():
            m.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.conv1(x, edge_index))
        if self.variational:
            return self.conv_mu(h, edge_index), self.conv_logstd(h, edge_index)
        return self.conv2(h, edge_index)


def gae_embed(
    graph: DatasetGraph,
    *,
    variational: bool = False,
    n_latent: int = 32,
    epochs: int = 200,
    lr: float = 0.01,
    seed: int = 0,
) -> tuple[np.ndarray, list[float]]:
    """Train a (V)GAE on one graph and return the node embeddings (VGAE: the posterior means) and the losses."""
    seed_everything(seed)
    x = torch.as_tensor(graph.x, dtype=torch.float32)
    ei = graph.edge_index
    enc = GCNEncoder(x.shape[1], n_latent, variational=variational)
    model: GAE = VGAE(enc) if variational else GAE(enc)
    losses: list[float] = []
    if ei.shape[1] == 0:
        warnings.warn(f"{graph.name}: the graph has no edges; its (V)GAE embedding is the untrained encoder.",
                      UserWarning, stacklevel=2)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        for _ in range(epochs):
            opt.zero_grad()
            z = model.encode(x, ei)
            loss = model.recon_loss(z, ei)
            if variational:
                loss = loss + model.kl_loss() / graph.n_nodes
            loss.backward()
            opt.step()
            losses.append(float(loss))
    model.eval()
    with torch.no_grad():
        z = model.encode(x, ei)  # VGAE.encode returns μ in eval mode
    return z.numpy().astype(np.float32), losses


def _joint(adatas: Mapping[str, ad.AnnData], variational: bool, *, n_latent: int, epochs: int, lr: float,
           seed: int, graph_key: str, key: str) -> ad.AnnData:
    genes, embs, final = [], [], {}
    for name, a in adatas.items():
        g = dataset_graph(a, name, graph_key=graph_key)
        z, losses = gae_embed(g, variational=variational, n_latent=n_latent, epochs=epochs, lr=lr, seed=seed)
        genes.append(g.genes)
        embs.append(z)
        final[name] = losses[-1] if losses else float("nan")
    method = "VGAE" if variational else "GAE"
    joint = stack_joint(adatas, genes, embs, key=key, method=method)
    joint.uns["baseline"].update({"epochs": epochs, "lr": lr, "final_loss": final})
    return joint


def gae_joint(
    adatas: Mapping[str, ad.AnnData],
    *,
    n_latent: int = 32,
    epochs: int = 200,
    lr: float = 0.01,
    seed: int = 0,
    graph_key: str = "muse",
    key: str = "X_muse",
) -> ad.AnnData:
    """GAE per dataset (see the module docstring), stacked like :meth:`muse_gnn.MuseGNN.joint_embedding`.

    Parameters
    ----------
    adatas
        ``{name: AnnData}`` with graphs from :func:`muse_gnn.pp.coexpression_graph`.
    n_latent
        Embedding size.
    epochs, lr
        Full-batch Adam steps and learning rate (PyG's GAE example: 0.01).
    seed
        Seed of torch and Python's ``random`` (negative sampling), reset for every dataset.
    graph_key, key
        ``key_added`` of the graphs; ``obsm`` key of the output.
    """
    return _joint(adatas, False, n_latent=n_latent, epochs=epochs, lr=lr, seed=seed, graph_key=graph_key, key=key)


def vgae_joint(
    adatas: Mapping[str, ad.AnnData],
    *,
    n_latent: int = 32,
    epochs: int = 200,
    lr: float = 0.01,
    seed: int = 0,
    graph_key: str = "muse",
    key: str = "X_muse",
) -> ad.AnnData:
    """VGAE per dataset (see the module docstring); the embedding is the posterior mean μ.

    Parameters are those of :func:`gae_joint`.
    """
    return _joint(adatas, True, n_latent=n_latent, epochs=epochs, lr=lr, seed=seed, graph_key=graph_key, key=key)
