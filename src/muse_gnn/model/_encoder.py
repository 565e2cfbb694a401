"""Graph-transformer encoder of MuSe-GNN (dataset-specific input layer + shared layers)."""

from __future__ import annotations


from torch import Tensor, nn
from torch_geometric.nn import GraphNorm, TransformerConv

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

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.out_channels})"


