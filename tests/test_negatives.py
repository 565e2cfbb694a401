"""Negative pairs of the edge decoder are true non-edges of the same graph, in training and in query mapping."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from muse_gnn.model._negatives import EdgeLookup, sample_negatives


def _dense_graphs(rng: np.random.Generator, sizes: list[int], density: float) -> tuple[torch.Tensor, list[int]]:
    rows, cols, starts, s0 = [], [], [], 0
    for n in sizes:
        a = sp.triu(sp.random(n, n, density=density, random_state=rng, format="coo"), k=1)
        rows += [a.row + s0, a.col + s0]
        cols += [a.col + s0, a.row + s0]
        starts.append(s0)
        s0 += n
    return torch.from_numpy(np.stack([np.concatenate(rows), np.concatenate(cols)]).astype(np.int64)), starts


def test_negatives_are_non_edges_within_their_graph():
    rng = np.random.default_rng(0)
    sizes = [30, 50, 20]
    ei, starts = _dense_graphs(rng, sizes, 0.5)
    look = EdgeLookup(ei, sum(sizes))
    g = torch.as_tensor(rng.integers(0, 3, 5000))
    start = torch.as_tensor(starts)[g]
    size = torch.as_tensor(sizes)[g]
    head = start + (torch.rand(5000, generator=torch.Generator().manual_seed(1)) * size).long()
    tail, valid = sample_negatives(head, start, size, look, torch.Generator().manual_seed(0))
    ok = valid.bool()
    edges = set(map(tuple, ei.T.tolist()))
    assert ok.float().mean() > 0.9  # density 0.5: almost all draws succeed within the redraws
    assert not any((h, t) in edges for h, t in zip(head[ok].tolist(), tail[ok].tolist(), strict=True))
    assert not (head[ok] == tail[ok]).any()
    assert ((tail >= start) & (tail < start + size)).all()  # always inside the head's own graph
    # the membership test itself, against the edge set
    q_t = torch.as_tensor(rng.integers(0, 100, 2000))
    q_h = torch.as_tensor(rng.integers(0, 100, 2000))
    expect = [(h, t) in edges for h, t in zip(q_h.tolist(), q_t.tolist(), strict=True)]
    assert look.contains(q_h, q_t).tolist() == expect


def test_complete_graph_gives_no_valid_negative():
    n = 6
    full = np.ones((n, n)) - np.eye(n)
    ei = torch.as_tensor(np.stack(np.nonzero(full)))
    head = torch.arange(n).repeat(10)
    _, valid = sample_negatives(head, torch.zeros_like(head), torch.full_like(head, n), EdgeLookup(ei, n),
                                torch.Generator().manual_seed(0))
    assert valid.sum() == 0


def test_trainer_negatives_avoid_edges(small_collection, monkeypatch):
    """The trainer scores no edge and no self-pair as a negative."""
    import muse_gnn as mg
    from muse_gnn.model import _trainer

    seen = []
    real = _trainer.sample_negatives

    def spy(head, start, size, lookup, gen, **kw):
        tail, valid = real(head, start, size, lookup, gen, **kw)
        seen.append((head, tail, valid, lookup))
        return tail, valid

    monkeypatch.setattr(_trainer, "sample_negatives", spy)
    mg.tl.fit(small_collection, max_epochs=2, show_progress_bar=False, inplace=False)
    assert seen
    for head, tail, valid, lookup in seen:
        ok = valid.bool()
        assert not lookup.contains(head[ok], tail[ok]).any()
        assert not (head[ok] == tail[ok]).any()
