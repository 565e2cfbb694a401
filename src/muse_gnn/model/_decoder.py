"""Decoders: the reference dense MLP on Z Zᵀ and a scalable sampled-edge decoder."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["EdgeDecoder", "GramMLPDecoder"]


class GramMLPDecoder(nn.Module):
    r"""Reference decoder: a dataset-specific MLP applied row-wise to the Gram matrix :math:`ZZ^\top`.

    Three ``Linear(n_genes, n_genes)`` layers with Mish between; the output are adjacency logits for all gene
    pairs. Memory is quadratic in the number of genes (use :class:`EdgeDecoder` for large graphs).

    Parameters
    ----------
    n_nodes
        Genes of the dataset.

    Examples
    --------
    >>> import torch
    >>> dec = GramMLPDecoder(5)
    >>> dec(torch.randn(5, 3)).shape
    torch.Size([5, 5])
    """

    def __init__(self, n_nodes: int) -> None:
        super().__init__()
        self.n_nodes = n_nodes
        self.mlp = nn.Sequential(
            nn.Linear(n_nodes, n_nodes), nn.Mish(), nn.Linear(n_nodes, n_nodes), nn.Mish(),
            nn.Linear(n_nodes, n_nodes),
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def forward(self, z: Tensor) -> Tensor:
        return self.mlp(z @ z.t())


class EdgeDecoder(nn.Module):
    r"""Sampled-edge decoder: logit :math:`a_t \langle z_g, z_h\rangle + b_t` for given gene pairs.

    Only the scored pairs (the graph's edges and as many sampled negatives) are evaluated, so memory is
    linear in the number of edges. The dataset-specific scale ``a_t`` and offset ``b_t`` let graphs of
    different density share one embedding geometry.

    Examples
    --------
    >>> import torch
    >>> dec = EdgeDecoder()
    >>> dec(torch.randn(4, 3), torch.tensor([[0, 1], [2, 3]])).shape
    torch.Size([2])
    """

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.bias = nn.Parameter(torch.zeros(()))

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.scale.fill_(1.0)
            self.bias.zero_()

    def forward(self, z: Tensor, pairs: Tensor) -> Tensor:
        return self.scale * (z[pairs[0]] * z[pairs[1]]).sum(-1) + self.bias
