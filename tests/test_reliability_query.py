"""Query mapping is a transaction: an error or an interrupt mid-mapping leaves the model exactly as it was.

The failure is injected into the optimiser step of the mapping (the 4th call), after the new layers exist and
everything but them is frozen; the model must then save, load and embed as before, and a retry must give the
result of a mapping that was never interrupted.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import muse_gnn as mg


def _trained(collection):
    query = collection.pop(list(collection)[-1])
    model = mg.tl.fit(collection, max_epochs=2, show_progress_bar=False, inplace=False)
    return model, query


def _state(model):
    return {k: v.detach().clone() for k, v in model.module.state_dict().items()}


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_mapping_restores_the_model(small_collection, tmp_path, monkeypatch, error):
    model, query = _trained({k: v.copy() for k, v in small_collection.items()})
    names, n_genes = list(model.dataset_names), len(model.gene_index.vocab)
    state, joint = _state(model), model.get_joint_embedding().obsm["X_muse"].copy()
    grads = {n: p.requires_grad for n, p in model.module.named_parameters()}
    real_step, calls = torch.optim.Adam.step, {"n": 0}

    def step(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise error("injected")
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    with pytest.raises(error, match="injected"):
        model.map_query(query, max_epochs=10, show_progress_bar=False)
    monkeypatch.undo()
    assert calls["n"] == 4
    # nothing of the attempt is left: layers, flags, gene index, datasets, the AnnData
    assert model.dataset_names == names and len(model.gene_index) == len(names)
    assert len(model.gene_index.vocab) == n_genes and len(model._embeddings) == len(names)
    assert set(model.adatas) == set(names)
    assert {n: p.requires_grad for n, p in model.module.named_parameters()} == grads
    assert _state(model).keys() == state.keys()
    for k, v in _state(model).items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)
    assert "X_muse" not in query.varm and "X_muse" not in query.uns
    # it saves, loads and embeds as before
    model.save(tmp_path / "m")
    back = mg.MuseGNN.load(tmp_path / "m", accelerator="cpu")
    np.testing.assert_array_equal(back.get_joint_embedding().obsm["X_muse"], joint)
    np.testing.assert_array_equal(model.get_joint_embedding().obsm["X_muse"], joint)
    # a retry works and gives what an uninterrupted mapping gives
    emb = model.map_query(query, max_epochs=6, show_progress_bar=False)
    fresh, query2 = _trained({k: v.copy() for k, v in small_collection.items()})
    np.testing.assert_array_equal(emb, fresh.map_query(query2, max_epochs=6, show_progress_bar=False))
    assert model.dataset_names[-1] == list(small_collection)[-1]
    model.save(tmp_path / "m2")
    mg.MuseGNN.load(tmp_path / "m2", accelerator="cpu")


def test_failed_mapping_keeps_earlier_query_output(small_collection, monkeypatch):
    """A failed mapping puts back what ``adata.varm[key_added]`` held before the call."""
    model, query = _trained({k: v.copy() for k, v in small_collection.items()})
    old = np.full((query.n_vars, 3), 7.0)
    query.varm["X_muse"] = old

    def broken(*args, **kwargs):
        raise ValueError("broken write")

    monkeypatch.setattr("muse_gnn.model._query.genes_to_var", broken)
    with pytest.raises(ValueError, match="broken write"):
        model.map_query(query, max_epochs=2, show_progress_bar=False)
    np.testing.assert_array_equal(query.varm["X_muse"], old)
    assert len(model.dataset_names) == 2
