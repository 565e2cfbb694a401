"""Gene2vec-style baseline: skip-gram with negative sampling over the edge pairs of each gene graph.

Gene2vec (Du et al. 2019, BMC Genomics 20:82) trains word2vec's skip-gram on co-expressed gene pairs, each
pair a two-word "sentence". Here the pairs are the edges of each dataset's co-expression graph (both
directions), one model per dataset (no shared space), as the paper's Gene2vec baseline. PyG's ``Node2Vec``
would need compiled random-walk kernels (torch-cluster / pyg-lib) that are not installed, and the pairs need
no walks, so skip-gram with negative sampling (SGNS) is written by hand here in plain torch: an input and an
output ``nn.Embedding``, loss ``−log σ(u·v) − Σₖ log σ(−u·nₖ)`` with ``k`` negatives drawn from the
degree^0.75 distribution (word2vec's unigram^0.75), word2vec's initialisation (input uniform in ±0.5/d,
output zero), Adam, mini-batches of pairs. The gene vector is the input embedding.
"""

from __future__ import annotations

from collections.abc import Mapping

import anndata as ad
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._joint import DatasetGraph, dataset_graph, stack_joint

__all__ = ["SkipGram", "gene2vec_embed", "gene2vec_joint"]


class SkipGram(nn.Module):
    """Skip-gram with negative sampling: input (centre) and output (context) embeddings of the genes."""

    def __init__(self, n_nodes: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.centre = nn.Embedding(n_nodes, dim)
        self.context = nn.Embedding(n_nodes, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.centre.weight, -0.5 / self.dim, 0.5 / self.dim)
        nn.init.zeros_(self.context.weight)

    def forward(self, u: torch.Tensor, v: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Mean SGNS loss of centre genes ``u``, context genes ``v`` and negatives ``neg`` (``len(u) × k``)."""
        cu = self.centre(u)
        pos = F.logsigmoid((cu * self.context(v)).sum(-1))
        negs = F.logsigmoid(-(cu.unsqueeze(1) * self.context(neg)).sum(-1)).sum(-1)
        return -(pos + negs).mean()


def gene2vec_embed(
    graph: DatasetGraph,
    *,
    n_latent: int = 32,
    epochs: int = 50,
    n_negative: int = 5,
    batch_size: int = 4096,
    lr: float = 0.01,
    seed: int = 0,
) -> tuple[np.ndarray, list[float]]:
    """Train SGNS on one graph's edge pairs; return the centre embeddings and the mean loss per epoch.

    Genes without an edge keep their random initial vector (they appear in no pair).
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SkipGram(graph.n_nodes, n_latent)
    pairs = graph.edge_index.t().contiguous()  # both directions: each gene is centre and context
    losses: list[float] = []
    if pairs.shape[0] == 0:
        return model.centre.weight.detach().numpy().astype(np.float32), losses
    deg = torch.bincount(pairs[:, 0], minlength=graph.n_nodes).to(torch.float64)
    noise = deg.pow(0.75)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        perm = torch.randperm(pairs.shape[0], generator=gen)
        total, n = 0.0, 0
        for start in range(0, perm.numel(), batch_size):
            b = pairs[perm[start : start + batch_size]]
            neg = torch.multinomial(noise, b.shape[0] * n_negative, replacement=True, generator=gen)
            opt.zero_grad()
            loss = model(b[:, 0], b[:, 1], neg.view(b.shape[0], n_negative))
            loss.backward()
            opt.step()
            total += float(loss) * b.shape[0]
            n += b.shape[0]
        losses.append(total / n)
    return model.centre.weight.detach().numpy().astype(np.float32), losses


def gene2vec_joint(
    adatas: Mapping[str, ad.AnnData],
    *,
    n_latent: int = 32,
    epochs: int = 50,
    n_negative: int = 5,
    batch_size: int = 4096,
    lr: float = 0.01,
    seed: int = 0,
    graph_key: str = "muse",
    key: str = "X_muse",
) -> ad.AnnData:
    """Gene2vec-style SGNS per dataset (see the module docstring), stacked as a joint embedding.

    Parameters
    ----------
    adatas
        ``{name: AnnData}`` with graphs from :func:`muse_gnn.pp.coexpression_graph`.
    n_latent
        Embedding size.
    epochs, n_negative, batch_size, lr
        Passes over the edge pairs, negatives per pair, pairs per step, Adam learning rate.
    seed
        Seed of the initialisation, shuffling and negative draws (the same for every dataset).
    graph_key, key
        ``key_added`` of the graphs; ``obsm`` key of the output.
    """
    genes, embs, final = [], [], {}
    for name, a in adatas.items():
        g = dataset_graph(a, name, graph_key=graph_key)
        z, losses = gene2vec_embed(g, n_latent=n_latent, epochs=epochs, n_negative=n_negative,
                                   batch_size=batch_size, lr=lr, seed=seed)
        genes.append(g.genes)
        embs.append(z)
        final[name] = losses[-1] if losses else float("nan")
    joint = stack_joint(adatas, genes, embs, key=key, method="Gene2vec")
    joint.uns["baseline"].update({"epochs": epochs, "n_negative": n_negative, "lr": lr, "final_loss": final})
    return joint
