"""Negative gene pairs for the edge decoder: uniform pairs, or uniform non-edges, of the same graph, on the device."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["NEGATIVE_ROUNDS", "NEGATIVE_RULES", "EdgeLookup", "sample_negatives"]

NEGATIVE_RULES = ("uniform", "non_edges")
"""Rules for the edge decoder's negatives (``negatives=`` of training): ``"uniform"``, a uniform node of the head's
graph (an edge or the head itself with probability about the graph's density); ``"non_edges"``, a uniform node
that is neither the head nor one of its neighbours."""

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
    lookup: EdgeLookup | None,
    generator: torch.Generator,
    *,
    rule: str,
    rounds: int = NEGATIVE_ROUNDS,
) -> tuple[Tensor, Tensor]:
    """One negative tail per head: a uniform node of the head's graph (``rule="uniform"``), or one that is neither
    the head nor a neighbour (``rule="non_edges"``).

    Parameters
    ----------
    head
        Head node of each negative (batch positions).
    start, size
        First node and number of nodes of each head's graph.
    lookup
        The batch's edges (needed by ``rule="non_edges"`` only).
    generator
        Random generator on the heads' device.
    rule
        One of :data:`NEGATIVE_RULES`.
    rounds
        ``rule="non_edges"``: redraws of failed draws; draws still failing afterwards are marked invalid.

    Returns
    -------
    ``(tail, valid)``: tails in batch positions and a float mask (1 for a negative to score, 0 for a draw to
    ignore; all ones with ``rule="uniform"``).

    Examples
    --------
    >>> import torch
    >>> from muse_gnn.model._negatives import EdgeLookup, sample_negatives
    >>> ei = torch.tensor([[0, 1], [1, 0]])
    >>> head = torch.zeros(100, dtype=torch.long)
    >>> tail, valid = sample_negatives(head, torch.zeros(100, dtype=torch.long), torch.full((100,), 3),
    ...                                EdgeLookup(ei, 3), torch.Generator().manual_seed(0), rule="non_edges")
    >>> bool(((tail == 2) | (valid == 0)).all())
    True
    """

    def draw() -> Tensor:
        r = torch.rand(head.shape[0], generator=generator, device=head.device)
        return start + (r * size).long().clamp_max(size - 1)

    if rule not in NEGATIVE_RULES:
        raise ValueError(f"negatives must be one of {NEGATIVE_RULES}, got {rule!r}.")
    tail = draw()
    if rule == "uniform":
        return tail, torch.ones(head.shape[0], dtype=torch.float32, device=head.device)
    if lookup is None:
        raise ValueError("rule='non_edges' needs the batch's edges (`lookup`).")

    def bad(t: Tensor) -> Tensor:
        return (t == head) | lookup.contains(head, t)

    fail = bad(tail)
    for _ in range(rounds):  # fixed number of vectorised redraws: no data-dependent loop, no host sync
        tail = torch.where(fail, draw(), tail)
        fail = bad(tail)
    return tail, (~fail).to(torch.float32)
