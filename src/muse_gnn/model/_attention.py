"""Dense (masked) evaluation of ``TransformerConv`` layers for a batch of small graphs.

Gene graphs are small (hundreds to a few thousand genes) and dense (co-expression graphs often link 5–30 % of
gene pairs), so PyG's edge-wise message passing moves ``n_edges × heads × channels`` values per layer. Evaluating
the same layer as masked scaled-dot-product attention over all gene pairs of each graph (padded to a common size,
``torch.nn.functional.scaled_dot_product_attention``, a fused kernel) gives identical outputs (tested against
``TransformerConv.forward``) several times faster. The layer's own ``lin_query``/``lin_key``/``lin_value``/
``lin_skip`` weights are used, so parameters and checkpoints are those of the PyG modules. Written here because
PyG has no dense-adjacency variant of ``TransformerConv``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import TransformerConv

__all__ = ["DenseLayout", "dense_attention", "dense_layout", "dense_transformer_conv"]


@dataclass
class DenseLayout:
    """Padded layout of ``T`` graphs with at most ``n_max`` nodes each.

    Attributes
    ----------
    sizes
        Nodes per graph.
    index
        Position of each flat node in the ``T * n_max`` padded rows.
    mask
        ``(T, 1, n_max, n_max)`` bool; ``mask[t, 0, i, j]`` is true for an edge ``j → i`` (and, for rows without
        any edge, for ``i == j`` so that the softmax is defined; their attention output is zeroed).
    has_edges
        ``(T, n_max, 1)`` float, 1 for rows that have at least one incoming edge.
    """

    sizes: list[int]
    index: Tensor
    mask: Tensor
    has_edges: Tensor

    @property
    def n_graphs(self) -> int:
        return len(self.sizes)

    @property
    def n_max(self) -> int:
        return int(self.mask.shape[-1])

    def pad(self, x: Tensor) -> Tensor:
        """Flat ``(N, F)`` -> padded ``(T, n_max, F)`` (zeros in the padding)."""
        out = x.new_zeros(self.n_graphs * self.n_max, x.shape[-1])
        out = out.index_copy(0, self.index, x)
        return out.view(self.n_graphs, self.n_max, x.shape[-1])

    def unpad(self, x: Tensor) -> Tensor:
        """Padded ``(T, n_max, F)`` -> flat ``(N, F)``."""
        return x.reshape(self.n_graphs * self.n_max, x.shape[-1]).index_select(0, self.index)

    def slice(self, a: int, b: int) -> DenseLayout:
        """The layout of graphs ``a:b`` (nodes re-indexed from 0)."""
        start = sum(self.sizes[:a])
        n = sum(self.sizes[a:b])
        return DenseLayout(self.sizes[a:b], self.index[start : start + n] - a * self.n_max,
                           self.mask[a:b], self.has_edges[a:b])


def dense_layout(sizes: list[int], edge_indices: list[Tensor], device: torch.device) -> DenseLayout:
    """Build the padded layout of graphs with local ``edge_index`` tensors (``2 × E``, source → target)."""
    T, n_max = len(sizes), max(sizes)
    mask = torch.zeros(T, n_max, n_max, dtype=torch.bool, device=device)
    idx = []
    for t, (n, ei) in enumerate(zip(sizes, edge_indices, strict=True)):
        mask[t, ei[1], ei[0]] = True
        idx.append(torch.arange(n, device=device) + t * n_max)
    has = mask.any(-1)
    eye = torch.eye(n_max, dtype=torch.bool, device=device)
    mask |= (~has).unsqueeze(-1) & eye
    return DenseLayout(list(sizes), torch.cat(idx), mask.unsqueeze(1), has.unsqueeze(-1).to(torch.float32))


def dense_attention(q: Tensor, k: Tensor, v: Tensor, layout: DenseLayout) -> Tensor:
    """Masked multi-head attention; ``q, k, v`` padded ``(T, n_max, H, C)`` -> ``(T, n_max, H * C)``."""
    T, n, H, C = q.shape
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                         attn_mask=layout.mask)
    out = out.transpose(1, 2).reshape(T, n, H * C)
    return out * layout.has_edges.to(out.dtype)


def dense_transformer_conv(conv: TransformerConv, x: Tensor, layout: DenseLayout) -> Tensor:
    """``conv(x, edge_index)`` for padded ``x`` ``(T, n_max, F)``, returning ``(T, n_max, heads * C)``."""
    if conv.lin_edge is not None or conv.lin_beta is not None or not conv.concat:
        raise NotImplementedError("dense evaluation supports TransformerConv(concat=True, beta=False, edge_dim=None)")
    H, C = conv.heads, conv.out_channels
    T, n, _ = x.shape
    q = conv.lin_query(x).view(T, n, H, C)
    k = conv.lin_key(x).view(T, n, H, C)
    v = conv.lin_value(x).view(T, n, H, C)
    out = dense_attention(q, k, v, layout)
    if conv.root_weight:
        out = out + conv.lin_skip(x)
    return out
