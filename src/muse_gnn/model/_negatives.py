"""Negative gene pairs for the edge decoder: uniform non-edges of the same graph, drawn on the device."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["NEGATIVE_ROUNDS", "EdgeLookup", "sample_negatives"]

NEGATIVE_ROUNDS = 4
"""Redraws of a negative that hit an edge or its own head. A draw fails with probability about the graph's density
``d``, so after ``1 + NEGATIVE_ROUNDS`` draws a fraction ``d⁵`` is left (0.2 % at 30 % density); those few are
masked out of the loss rather than redrawn until none is left, which would need a host sync per round."""


class EdgeLookup:
    """Membership test ``(i, j) ∈ E`` for the edges of a batch of graphs, on the device, without host syncs.

    Edges are encoded as ``i * n_nodes + j`` and sorted once; a query is a :func:`torch.searchsorted`. Written by
    hand: PyG's ``negative_sampling`` rejects with host-side index arithmetic and Python's ``random`` and draws
    over a whole batch rather than within each graph.

    Parameters
    ----------
    edge_index
        ``(2, E)`` edges in batch (global) positions, both directions.
    n_nodes
        Nodes in the batch.

    Examples
    --------
    >>> import torch
    >>> from muse_gnn.model._negatives import EdgeLookup
    >>> look = EdgeLookup(torch.tensor([[0, 1], [1, 0]]), 3)
    >>> look.contains(torch.tensor([0, 0, 2]), torch.tensor([1, 2, 2])).tolist()
    [True, False, False]
    """

    def __init__(self, edge_index: Tensor, n_nodes: int) -> None:
        self.n_nodes = int(n_nodes)
        keys = edge_index[0].to(torch.int64) * self.n_nodes + edge_index[1].to(torch.int64)
        self.keys = torch.sort(keys).values
        if self.keys.numel() == 0:  # searchsorted needs a non-empty table: a key no pair can have
            self.keys = torch.full((1,), -1, dtype=torch.int64, device=edge_index.device)

    def contains(self, head: Tensor, tail: Tensor) -> Tensor:
        """Whether each ``(head[k], tail[k])`` is an edge."""
        q = head.to(torch.int64) * self.n_nodes + tail.to(torch.int64)
        pos = torch.searchsorted(self.keys, q).clamp_max(self.keys.numel() - 1)
        return self.keys[pos] == q


def sample_negatives(
    head: Tensor,
    start: Tensor,
    size: Tensor,
    lookup: EdgeLookup,
    generator: torch.Generator,
    *,
    rounds: int = NEGATIVE_ROUNDS,
) -> tuple[Tensor, Tensor]:
    """One negative tail per head: a uniform node of the head's graph that is neither the head nor a neighbour.

    Parameters
    ----------
    head
        Head node of each negative (batch positions).
    start, size
        First node and number of nodes of each head's graph.
    lookup
        The batch's edges.
    generator
        Random generator on the heads' device.
    rounds
        Redraws of failed draws; draws still failing afterwards are marked invalid.

    Returns
    -------
    ``(tail, valid)``: tails in batch positions and a float mask (1 for a true non-edge, 0 for a draw to ignore).

    Examples
    --------
    >>> import torch
    >>> from muse_gnn.model._negatives import EdgeLookup, sample_negatives
    >>> ei = torch.tensor([[0, 1], [1, 0]])
    >>> head = torch.zeros(100, dtype=torch.long)
    >>> tail, valid = sample_negatives(head, torch.zeros(100, dtype=torch.long), torch.full((100,), 3),
    ...                                EdgeLookup(ei, 3), torch.Generator().manual_seed(0))
    >>> bool(((tail == 2) | (valid == 0)).all())
    True
    """

    def draw() -> Tensor:
        r = torch.rand(head.shape[0], generator=generator, device=head.device)
        return start + (r * size).long().clamp_max(size - 1)

    def bad(t: Tensor) -> Tensor:
        return (t == head) | lookup.contains(head, t)

    tail = draw()
    fail = bad(tail)
    for _ in range(rounds):  # fixed number of vectorised redraws: no data-dependent loop, no host sync
        tail = torch.where(fail, draw(), tail)
        fail = bad(tail)
    return tail, (~fail).to(torch.float32)
