"""The trainable MuSe-GNN network: per-dataset input layers and decoders around shared layers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ._attention import DenseLayout, dense_layout
from ._decoder import EdgeDecoder, GramMLPDecoder
from ._encoder import InputLayer, SharedLayers

__all__ = ["DENSE_MAX_NODES", "MuseModule", "NodeBatch"]

DENSE_MAX_NODES = 4096
"""With ``attention="auto"``, passes whose largest graph has at most this many genes use dense masked attention
(its memory grows as genes², message passing's as edges)."""


@dataclass
class NodeBatch:
    """Several graphs concatenated block-diagonally (one pass of the shared layers)."""

    ids: list[int]
    x: list[Tensor]
    edge_index: list[Tensor]  # local, per graph
    offsets: dict[int, int]
    batch: Tensor
    edge_index_all: Tensor  # global positions
    segments: list[tuple[str, int, int, int, int, int, int]]
    """(shared key, node start, node end, edge start, edge end, graph start, graph end) per shared stack"""
    n_nodes: int
    layout: DenseLayout | None = None


DENSE_PAIRS_PER_EDGE = 40
"""``attention="auto"`` evaluates a pass densely only when its graphs have at least one edge per this many gene pairs
(density ≥ 2.5 %): measured on 2,000-gene PBMC graphs, one edge of message passing costs about as much CPU time as
40 gene pairs of masked dense attention, so sparser graphs (such as kNN graphs, ``edge_rule="knn"``) run faster
sparse."""


class MuseModule(nn.Module):
    """Input layers, shared layers and decoders of a MuSe-GNN model.

    Parameters
    ----------
    n_features
        Input width of each dataset (its number of cells).
    n_nodes
        Genes of each dataset (for the dense decoder).
    shared_keys
        Key of each dataset's shared stack (``"all"`` or its tissue × technology group).
    n_latent
        Output width (32 in the reference).
    heads
        Heads of the input layer (4 in the reference).
    decoder
        ``"edges"`` or ``"mlp"``.
    attention
        ``"dense"``: evaluate the graph-transformer layers as masked attention over all gene pairs (fast for
        the dense, small gene graphs of co-expression); ``"sparse"``: PyG message passing over edges (memory
        linear in edges); ``"auto"``: dense when the largest graph of a pass has at most ``dense_max_nodes``
        genes and the pass's graphs are not sparse (at least one edge per ``DENSE_PAIRS_PER_EDGE`` gene pairs).
        Both give the same result.
    dense_max_nodes
        Threshold of ``"auto"``.

    Examples
    --------
    >>> m = MuseModule([20, 30], [10, 12], ["all", "all"])
    >>> sum(p.numel() for p in m.parameters()) > 0
    True
    """

    def __init__(
        self,
        n_features: Sequence[int],
        n_nodes: Sequence[int],
        shared_keys: Sequence[str],
        *,
        n_latent: int = 32,
        heads: int = 4,
        decoder: str = "edges",
        attention: str = "auto",
        dense_max_nodes: int = DENSE_MAX_NODES,
    ) -> None:
        super().__init__()
        if attention not in {"auto", "dense", "sparse"}:
            raise ValueError(f"attention must be 'auto', 'dense' or 'sparse', got {attention!r}.")
        self.n_latent, self.heads, self.decoder_kind = n_latent, heads, decoder
        self.attention, self.dense_max_nodes = attention, int(dense_max_nodes)
        self.shared_keys: list[str] = []
        self.input_layers = nn.ModuleDict()
        self.decoders = nn.ModuleDict()
        self.shared = nn.ModuleDict()
        for f, n, k in zip(n_features, n_nodes, shared_keys, strict=True):
            self.add_dataset(f, n, k)

    def add_dataset(self, n_features: int, n_nodes: int, shared_key: str) -> int:
        """Append the layers of one dataset (a new shared stack if its key is new); return its index."""
        i = len(self.shared_keys)
        self.input_layers[f"d{i}"] = InputLayer(n_features, self.n_latent, self.heads)
        self.decoders[f"d{i}"] = GramMLPDecoder(n_nodes) if self.decoder_kind == "mlp" else EdgeDecoder()
        key = _module_key(shared_key)
        if key not in self.shared:
            self.shared[key] = SharedLayers(self.n_latent, self.heads)
        self.shared_keys.append(key)
        return i

    def reset_parameters(self) -> None:
        """Re-initialise every input layer, shared layer and decoder (PyG's convention for modules)."""
        for m in (*self.input_layers.values(), *self.shared.values(), *self.decoders.values()):
            m.reset_parameters()

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [*self.input_layers.parameters(), *self.shared.parameters()]

    def decoder_parameters(self) -> list[nn.Parameter]:
        return list(self.decoders.parameters())

    def batch_order(self, ids: Sequence[int]) -> list[int]:
        """Positions of ``ids`` in batch order: each shared stack's datasets contiguous, else as given."""
        return sorted(range(len(ids)), key=lambda j: (self.shared_keys[ids[j]], j))

    def make_batch(self, ids: Sequence[int], xs: Sequence[Tensor], edge_indices: Sequence[Tensor]) -> NodeBatch:
        """Concatenate graphs block-diagonally, ordered so that each shared stack's graphs are contiguous."""
        order = self.batch_order(ids)
        ids = [ids[j] for j in order]
        xs = [xs[j] for j in order]
        eis = [edge_indices[j] for j in order]
        offsets, batch, shifted, segments = {}, [], [], []
        node, edge = 0, 0
        device = xs[0].device
        for k, (t, x, ei) in enumerate(zip(ids, xs, eis, strict=True)):
            offsets[t] = node
            batch.append(torch.full((x.shape[0],), k, dtype=torch.long, device=device))
            shifted.append(ei + node)
            key = self.shared_keys[t]
            if segments and segments[-1][0] == key:
                s = segments[-1]
                segments[-1] = (key, s[1], node + x.shape[0], s[3], edge + ei.shape[1], s[5], k + 1)
            else:
                segments.append((key, node, node + x.shape[0], edge, edge + ei.shape[1], k, k + 1))
            node += x.shape[0]
            edge += ei.shape[1]
        sizes = [int(x.shape[0]) for x in xs]
        dense = self.attention == "dense" or (
            self.attention == "auto" and max(sizes) <= self.dense_max_nodes
            and edge * DENSE_PAIRS_PER_EDGE >= sum(n * n for n in sizes)
        )
        return NodeBatch(
            ids=list(ids), x=list(xs), edge_index=list(eis), offsets=offsets, batch=torch.cat(batch),
            edge_index_all=torch.cat(shifted, dim=1), segments=segments, n_nodes=node,
            layout=dense_layout(sizes, eis, device) if dense else None,
        )

    def encode(self, nb: NodeBatch) -> Tensor:
        """Embeddings of all nodes of a batch, ``(n_nodes, n_latent)``."""
        return self.encode_shared(self.encode_input(nb), nb)

    def encode_input(self, nb: NodeBatch) -> Tensor:
        """Output of the dataset-specific input layers for all nodes of a batch."""
        if nb.layout is not None:
            return InputLayer.forward_dense([self.input_layers[f"d{t}"] for t in nb.ids], nb.x, nb.layout)
        return torch.cat(
            [self.input_layers[f"d{t}"](x, ei) for t, x, ei in zip(nb.ids, nb.x, nb.edge_index, strict=True)]
        )

    def encode_shared(self, h: Tensor, nb: NodeBatch) -> Tensor:
        """Shared layers applied to the input layers' output ``h`` of a batch."""
        if nb.layout is not None:
            L = nb.layout
            parts = []
            for key, a, b, _, _, ga, gb in nb.segments:
                parts.append(self.shared[key].forward_dense(h[ga:gb], L.slice(ga, gb), nb.batch[a:b] - ga))
            return torch.cat(parts)
        if len(nb.segments) == 1:
            return self.shared[nb.segments[0][0]](h, nb.edge_index_all, nb.batch)
        parts = []
        for key, a, b, ea, eb, _, _ in nb.segments:
            parts.append(self.shared[key](h[a:b], nb.edge_index_all[:, ea:eb] - a, nb.batch[a:b]))
        return torch.cat(parts)

def _module_key(key: str) -> str:
    """ModuleDict keys may not contain dots."""
    return "g_" + "".join(c if c.isalnum() or c == "_" else "_" for c in key)
