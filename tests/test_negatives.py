"""Negative pairs of the edge decoder: uniform genes (the default) or true non-edges of the same graph, in training
and in query mapping alike."""

from __future__ import annotations

import numpy as np
import pytest
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
    tail, valid = sample_negatives(head, start, size, look, torch.Generator().manual_seed(0), rule="non_edges")
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
                                torch.Generator().manual_seed(0), rule="non_edges")
    assert valid.sum() == 0


def test_uniform_negatives_are_any_gene_of_their_graph():
    """``rule="uniform"``: every draw is scored, edges and the head itself among them at their share of the graph."""
    rng = np.random.default_rng(0)
    sizes = [30, 50, 20]
    ei, starts = _dense_graphs(rng, sizes, 0.5)
    g = torch.as_tensor(rng.integers(0, 3, 20000))
    start = torch.as_tensor(starts)[g]
    size = torch.as_tensor(sizes)[g]
    head = start + (torch.rand(20000, generator=torch.Generator().manual_seed(1)) * size).long()
    tail, valid = sample_negatives(head, start, size, None, torch.Generator().manual_seed(0), rule="uniform")
    assert bool((valid == 1).all())
    assert ((tail >= start) & (tail < start + size)).all()
    hit = EdgeLookup(ei, sum(sizes)).contains(head, tail).float().mean().item()
    assert 0.35 < hit < 0.6  # about the density of the graphs (0.5 of the upper triangle, both directions)
    assert 0 < (head == tail).float().mean().item() < 0.1
    with pytest.raises(ValueError, match="negatives must be one of"):
        sample_negatives(head, start, size, None, torch.Generator(), rule="edges")
    with pytest.raises(ValueError, match="lookup"):
        sample_negatives(head, start, size, None, torch.Generator(), rule="non_edges")


def _spy(monkeypatch) -> list:
    from muse_gnn.model import _trainer

    seen = []
    real = _trainer.sample_negatives

    def spy(head, start, size, lookup, gen, **kw):
        tail, valid = real(head, start, size, lookup, gen, **kw)
        seen.append((head, tail, valid, lookup, kw["rule"]))
        return tail, valid

    monkeypatch.setattr(_trainer, "sample_negatives", spy)
    return seen


def test_trainer_negatives_avoid_edges(small_collection, monkeypatch):
    """With ``negatives="non_edges"`` the trainer scores no edge and no self-pair as a negative."""
    import muse_gnn as mg

    seen = _spy(monkeypatch)
    mg.tl.fit(small_collection, max_epochs=2, negatives="non_edges", show_progress_bar=False, inplace=False)
    assert seen
    for head, tail, valid, lookup, rule in seen:
        assert rule == "non_edges"
        ok = valid.bool()
        assert not lookup.contains(head[ok], tail[ok]).any()
        assert not (head[ok] == tail[ok]).any()


def test_negatives_option_changes_training_and_query_mapping_follows_it(small_collection, monkeypatch, tmp_path):
    import muse_gnn as mg
    from muse_gnn.model._query import SAVED_NEGATIVES, trained_negatives
    from muse_gnn.model._trainer import TRAIN_DEFAULTS

    assert TRAIN_DEFAULTS.negatives == "uniform"
    query = small_collection.pop(list(small_collection)[-1])
    seen = _spy(monkeypatch)
    uni = mg.tl.fit(small_collection, max_epochs=3, show_progress_bar=False, inplace=False)
    assert {r for *_, r in seen} == {"uniform"} and uni.train_params["negatives"] == "uniform"
    assert all(lk is None and bool((v == 1).all()) for _, _, v, lk, _ in seen)  # no edge table, every draw kept
    non = mg.tl.fit(small_collection, max_epochs=3, negatives="non_edges", show_progress_bar=False, inplace=False)
    assert non.train_params["negatives"] == "non_edges"
    assert not np.allclose(uni.get_embedding(0).to_numpy(), non.get_embedding(0).to_numpy())
    # the reconstruction loss is higher when some negatives are edges
    assert uni.history["reconstruction"].iloc[-1] > non.history["reconstruction"].iloc[-1]

    non.save(tmp_path / "m")
    loaded = mg.MuseGNN.load(tmp_path / "m", small_collection)
    assert trained_negatives(loaded) == "non_edges"
    seen.clear()
    mg.tl.embed(loaded, query.copy(), max_epochs=2, show_progress_bar=False, inplace=False)
    assert seen and {r for *_, r in seen} == {"non_edges"}
    seen.clear()
    mg.tl.embed(uni, query.copy(), max_epochs=2, show_progress_bar=False, inplace=False)
    assert seen and {r for *_, r in seen} == {"uniform"}
    del loaded.train_params["negatives"]  # saved before training recorded the rule
    assert trained_negatives(loaded) == SAVED_NEGATIVES == "non_edges"

    with pytest.raises(ValueError, match="negatives must be one of"):
        mg.tl.fit(small_collection, max_epochs=1, negatives="edges", show_progress_bar=False)
    assert all("X_muse" not in a.varm for a in small_collection.values())


def test_negatives_need_the_edge_decoder(small_collection):
    import muse_gnn as mg

    model = mg.MuseGNN(small_collection, decoder="mlp")
    with pytest.raises(ValueError, match="negatives='non_edges': decoder='edges' only"):
        model.train(max_epochs=1, negatives="non_edges", show_progress_bar=False)
    with pytest.raises(ValueError, match="max_edges=10: decoder='edges' only"):  # the same limit, the same error
        model.train(max_epochs=1, max_edges=10, show_progress_bar=False)
    assert not model.is_trained
    model.train(max_epochs=1, show_progress_bar=False)  # the default is accepted
    assert model.is_trained
