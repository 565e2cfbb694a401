"""Graph-transformer encoder of MuSe-GNN (dataset-specific input layer + shared layers)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GraphNorm, TransformerConv

from ._attention import DenseLayout, dense_attention, dense_transformer_conv

__all__ = ["InputLayer", "SharedLayers"]


class InputLayer(nn.Module):
    r"""Dataset-specific first layer: ``Mish(GraphNorm(TransformerConv(x → out, heads)))``.

    Its input width is the dataset's number of cells (one feature per cell), so every dataset has its own.

    Parameters
    ----------
    in_channels
        Node feature width (cells of the dataset).
    out_channels
        Channels per head (the latent size, 32 in the reference).
    heads
        Attention heads (4 in the reference); the output is ``heads * out_channels`` wide.

    Examples
    --------
    >>> import torch
    >>> layer = InputLayer(50, 32)
    >>> layer(torch.randn(10, 50), torch.tensor([[0, 1], [1, 0]])).shape
    torch.Size([10, 128])
    """

    def __init__(self, in_channels: int, out_channels: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.conv = TransformerConv(in_channels, out_channels, heads=heads)
        self.norm = GraphNorm(out_channels * heads)
        self.act = nn.Mish()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.act(self.norm(self.conv(x, edge_index)))

    def project(self, x: Tensor, n_max: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Query, key, value and skip projections of ``x``, zero-padded to ``n_max`` rows (dense path)."""
        pad = n_max - x.shape[0]
        c = self.conv
        return tuple(F.pad(lin(x), (0, 0, 0, pad)) for lin in (c.lin_query, c.lin_key, c.lin_value, c.lin_skip))

    @staticmethod
    def forward_dense(layers: list[InputLayer], xs: list[Tensor], layout: DenseLayout) -> Tensor:
        """Several datasets' input layers at once: per-dataset projections, one batched attention.

        Returns padded ``(T, n_max, heads * out_channels)``; equal to ``forward`` of each layer.
        """
        n_max, T = layout.n_max, layout.n_graphs
        proj = [layer.project(x, n_max) for layer, x in zip(layers, xs, strict=True)]
        H, C = layers[0].heads, layers[0].out_channels
        q, k, v, skip = (torch.stack([p[i] for p in proj]) for i in range(4))
        h = dense_attention(q.view(T, n_max, H, C), k.view(T, n_max, H, C), v.view(T, n_max, H, C), layout) + skip
        out = [F.pad(layer.act(layer.norm(h[i, :n])), (0, 0, 0, n_max - n))
               for i, (layer, n) in enumerate(zip(layers, layout.sizes, strict=True))]
        return torch.stack(out)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"


class SharedLayers(nn.Module):
    r"""Shared layers with a residual branch, as in the reference encoder.

    .. math::
        H_2 = \mathrm{Mish}(\mathrm{GraphNorm}(\mathrm{TC}_s(H_1)))\,,\quad
        Z = \mathrm{TC}_s(H_2) + \mathrm{TC}_{s'}(H_1)

    with 2 heads in the first and 1 head in the last and residual convolutions. Several graphs are processed
    at once as a block-diagonal batch (``batch`` gives each node's graph, so GraphNorm normalises per graph).

    Parameters
    ----------
    out_channels
        Latent size.
    in_heads
        Heads of the input layer (input width ``in_heads * out_channels``).

    Examples
    --------
    >>> import torch
    >>> shared = SharedLayers(32)
    >>> shared(torch.randn(10, 128), torch.tensor([[0, 1], [1, 0]])).shape
    torch.Size([10, 32])
    """

    def __init__(self, out_channels: int = 32, in_heads: int = 4) -> None:
        super().__init__()
        c = out_channels
        self.out_channels = c
        self.conv2 = TransformerConv(c * in_heads, c, heads=2)
        self.norm2 = GraphNorm(c * 2)
        self.conv3 = TransformerConv(c * 2, c, heads=1)
        self.conv_res = TransformerConv(c * in_heads, c, heads=1)
        self.act = nn.Mish()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in (self.conv2, self.norm2, self.conv3, self.conv_res):
            m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor | None = None) -> Tensor:
        h = self.act(self.norm2(self.conv2(x, edge_index), batch))
        return self.conv3(h, edge_index) + self.conv_res(x, edge_index)

    def forward_dense(self, x: Tensor, layout: DenseLayout, batch: Tensor) -> Tensor:
        """The same layers on padded ``x`` ``(T, n_max, F)`` with dense masked attention; returns flat ``(N, C)``.

        ``batch`` gives the graph of each flat node (for GraphNorm).
        """
        h = dense_transformer_conv(self.conv2, x, layout)
        h = layout.pad(self.act(self.norm2(layout.unpad(h), batch)))
        z = dense_transformer_conv(self.conv3, h, layout) + dense_transformer_conv(self.conv_res, x, layout)
        return layout.unpad(z)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.out_channels})"


