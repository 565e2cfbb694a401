from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import muse_gnn as mg
from muse_gnn.model._losses import nt_xent, weighted_similarity
from muse_gnn.model._pairs import GeneIndex
from muse_gnn.model._data import graph_from_arrays
import scipy.sparse as sp


def test_fit_writes_embeddings_and_params(small_collection):
    model = mg.tl.fit(small_collection, max_epochs=2, show_progress_bar=False)
    assert model.is_trained and len(model.history) == 2
    assert list(model.history.columns) == ["loss", "reconstruction", "similarity", "contrastive"]
    for a in small_collection.values():
        emb = a.varm["X_muse"]
        sel = a.var["muse_selected"].to_numpy()
        assert emb.shape == (a.n_vars, 32)
        assert np.isfinite(emb[sel]).all() and np.isnan(emb[~sel]).all()
        assert a.uns["X_muse"]["params"]["max_epochs"] == 2
    joint = model.joint_embedding()
    assert joint.n_obs == 3 * 90
    assert {"gene", "dataset", "tissue", "technology", "species"} <= set(joint.obs.columns)
    assert joint.obs["tissue"].iloc[0] == "heart"
    import scanpy as sc

    sc.pp.neighbors(joint, use_rep="X_muse", n_neighbors=5)
    genes = model.get_gene_embedding()
    assert genes.obsm["X_muse"].shape[0] == len(set(joint.obs["gene"]))
    assert genes.obs["n_datasets"].max() == 3
    assert "trained for 2 epochs" in repr(model)


@pytest.mark.parametrize("share,decoder", [("group", "mlp"), ("all", "mlp"), ("group", "edges")])
def test_share_and_decoder_options(small_collection, share, decoder):
    model = mg.MuseGNN(small_collection, share=share, decoder=decoder, n_latent=8)
    n_shared = len(model.module.shared)
    assert n_shared == (1 if share == "all" else 2)  # heart and lung scRNA groups
    model.train(max_epochs=2, show_progress_bar=False)
    assert model.joint_embedding().obsm["X_muse"].shape[1] == 8
    assert np.isfinite(model.history.to_numpy()).all()


def test_inputs_list_mudata_single(small_collection):
    import mudata

    lst = list(small_collection.values())
    m = mg.MuseGNN(lst)
    assert m.dataset_names == [a.uns["dataset"] for a in lst]
    md = mudata.MuData({k: v for k, v in small_collection.items()})
    assert mg.MuseGNN(md).dataset_names == list(small_collection)
    single = mg.tl.fit([lst[0]], max_epochs=2, show_progress_bar=False)
    assert single.history["similarity"].eq(0).all()


def test_deterministic_on_cpu(small_collection):
    a = mg.tl.fit(small_collection, max_epochs=3, show_progress_bar=False, inplace=False, accelerator="cpu")
    b = mg.tl.fit(small_collection, max_epochs=3, show_progress_bar=False, inplace=False, accelerator="cpu")
    np.testing.assert_array_equal(a.joint_embedding().obsm["X_muse"], b.joint_embedding().obsm["X_muse"])
    c = mg.tl.fit(small_collection, max_epochs=3, show_progress_bar=False, inplace=False, random_state=1)
    assert not np.array_equal(a.joint_embedding().obsm["X_muse"], c.joint_embedding().obsm["X_muse"])


def test_checkpoint_resume_matches_uninterrupted(small_collection, tmp_path):
    full = mg.MuseGNN(small_collection)
    full.train(max_epochs=6, show_progress_bar=False)
    part = mg.MuseGNN(small_collection)
    part.train(max_epochs=4, checkpoint_dir=tmp_path, checkpoint_every=2, show_progress_bar=False)
    resumed = mg.MuseGNN(small_collection)
    resumed.train(max_epochs=6, checkpoint_dir=tmp_path, checkpoint_every=2, show_progress_bar=False)
    assert len(resumed.history) == 6
    for (k, v), (k2, v2) in zip(full.module.state_dict().items(), resumed.module.state_dict().items(), strict=True):
        assert k == k2
        torch.testing.assert_close(v, v2, rtol=0, atol=0)
    pd.testing.assert_frame_equal(full.history, resumed.history)
    other = mg.MuseGNN(small_collection, n_latent=8)
    with pytest.raises(ValueError, match="different model"):
        other.train(max_epochs=6, checkpoint_dir=tmp_path, show_progress_bar=False)


def test_save_load_round_trip(small_collection, tmp_path):
    model = mg.tl.fit(small_collection, max_epochs=2, show_progress_bar=False)
    model.save(tmp_path / "m")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m")
    loaded = mg.MuseGNN.load(tmp_path / "m")  # accelerator="auto", as in train
    assert loaded.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    np.testing.assert_array_equal(loaded.joint_embedding().obsm["X_muse"], model.joint_embedding().obsm["X_muse"])
    pd.testing.assert_frame_equal(loaded.history, model.history, check_dtype=False)
    with pytest.raises(RuntimeError, match="adatas"):
        loaded.train(max_epochs=1, show_progress_bar=False)
    # with the data: embeddings recomputed from the loaded weights are identical
    again = mg.MuseGNN.load(tmp_path / "m", small_collection)
    from muse_gnn.model._trainer import TrainConfig, Trainer

    tr = Trainer(again.module, again.graphs, again.gene_index, TrainConfig(), torch.device("cpu"))
    emb = tr.embed()
    for t in range(3):
        np.testing.assert_array_equal(emb[t], model._embeddings[t])
    # newer format -> clear error
    attrs = json.loads((tmp_path / "m" / "attrs.json").read_text())
    attrs["format_version"] = 99
    (tmp_path / "m" / "attrs.json").write_text(json.dumps(attrs))
    with pytest.raises(ValueError, match="Upgrade muse_gnn"):
        mg.MuseGNN.load(tmp_path / "m")


def test_load_gene_mismatch(small_collection, tmp_path):
    model = mg.tl.fit(small_collection, max_epochs=1, show_progress_bar=False)
    model.save(tmp_path / "m")
    changed = {k: v.copy() for k, v in small_collection.items()}
    first = next(iter(changed.values()))
    names = first.var_names.to_numpy().copy()
    sel = np.flatnonzero(first.var["muse_selected"].to_numpy())
    names[sel[0]] = "RENAMED"
    first.var_names = names
    with pytest.raises(ValueError, match="first differences"):
        mg.MuseGNN.load(tmp_path / "m", changed)


def test_embed_new_dataset(small_collection):
    query_name = list(small_collection)[-1]
    query = small_collection.pop(query_name)
    model = mg.tl.fit(small_collection, max_epochs=2, show_progress_bar=False)
    before = [e.copy() for e in model._embeddings]
    emb = mg.tl.embed(model, query, max_epochs=3, show_progress_bar=False)
    assert emb.shape == (90, 32) and np.isfinite(emb).all()
    for b, a in zip(before[:2], model._embeddings[:2], strict=True):
        np.testing.assert_array_equal(a, b)  # trained datasets untouched
    assert query_name in model.dataset_names
    assert np.isfinite(query.varm["X_muse"][query.var["muse_selected"].to_numpy()]).all()
    assert model.joint_embedding().n_obs == 270
    with pytest.raises(ValueError, match="already"):
        mg.tl.embed(model, query, show_progress_bar=False)


def test_bad_inputs(small_collection):
    a = next(iter(small_collection.values())).copy()
    del a.varp["muse_connectivities"]
    with pytest.raises(KeyError, match="coexpression_graph"):
        mg.MuseGNN([a])
    if not torch.cuda.is_available():  # with a GPU the call is valid; the checks below still run
        with pytest.raises(RuntimeError, match="GPU"):
            mg.tl.fit(small_collection, max_epochs=1, accelerator="cuda", show_progress_bar=False)
    with pytest.raises(ValueError, match="share"):
        mg.MuseGNN(small_collection, share="tissue")
    # disjoint datasets
    disjoint = {k: v.copy() for k, v in small_collection.items()}
    last = list(disjoint)[-1]
    disjoint[last].var_names = ["X" + g for g in disjoint[last].var_names]
    with pytest.raises(ValueError, match="share no graph gene"):
        mg.MuseGNN(disjoint)
    with pytest.warns(UserWarning, match="allow_disjoint"):
        mg.MuseGNN(disjoint, allow_disjoint=True)
    with pytest.raises(RuntimeError, match="not trained"):
        mg.MuseGNN(small_collection).joint_embedding()


def test_nan_features_rejected():
    with pytest.raises(ValueError, match="NaN"):
        graph_from_arrays("x", ["a", "b"], np.array([[np.nan], [1.0]]), sp.csr_matrix((2, 2)))


def test_weighted_similarity_hand_case():
    za = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    zb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, -1.0]])
    w = torch.tensor([0.5, 1.0, 1.0])
    out = weighted_similarity(za, zb, w, torch.tensor([0, 0, 1]), 3)
    # pair 0: -(0.5*1 + 1*0)/2 = -0.25; pair 1: -(1*-1)/1 = 1; pair 2 empty -> 0
    torch.testing.assert_close(out, torch.tensor([-0.25, 1.0, 0.0]))


def test_nt_xent_hand_case():
    a = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])
    p = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    tau = 0.5
    # two real anchors, orthogonal: loss_i = -log(e^{1/τ} / (e^{1/τ} + e^0))
    expected = -np.log(np.exp(2) / (np.exp(2) + 1))
    torch.testing.assert_close(nt_xent(a, p, mask, tau), torch.tensor([expected], dtype=torch.float32))


def test_gene_index_jaccard_and_positives():
    rng = np.random.default_rng(0)
    # dataset 0: a-b, a-c ; dataset 1: a-b, a-d, b-d
    A0 = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]]))
    A1 = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]))
    g0 = graph_from_arrays("d0", ["a", "b", "c"], np.ones((3, 2)), A0)
    g1 = graph_from_arrays("d1", ["a", "b", "d"], np.ones((3, 2)), A1)
    gi = GeneIndex([g0, g1], rng)
    la, lb, w = gi.common(0, 1)
    got = {g0.genes[i]: x for i, x in zip(la, w, strict=True)}
    # N0(a)={b,c}, N1(a)={b,d}: 1/3 ; N0(b)={a}, N1(b)={a,d}: 1/2
    assert got == pytest.approx({"a": 1 / 3, "b": 1 / 2})
    la2, lb2, w2 = gi.common(1, 0)
    np.testing.assert_array_equal(la2, lb)
    assert list(g0.genes[gi.specific(0, 1)]) == ["c"]
    # positives are neighbours
    for t, g in enumerate([g0, g1]):
        adj = g.adjacency().toarray()
        for i, p in enumerate(gi.positive[t]):
            assert adj[i, p] == 1


def test_dense_attention_equals_pyg_message_passing(small_collection):
    # graphs of different sizes in one padded batch, grouped shared layers
    a = list(small_collection.values())
    b = a[1].copy()
    sel = np.flatnonzero(b.var["muse_selected"].to_numpy())
    b.var["muse_selected"] = False
    b.var.iloc[sel[:60], b.var.columns.get_loc("muse_selected")] = True
    model = mg.MuseGNN({"x": a[0], "y": b, "z": a[2]}, share="group")
    g = model.graphs
    assert g[1].n_nodes == 60
    outs = {}
    for att in ("dense", "sparse"):
        model.module.attention = att
        nb = model.module.make_batch([0, 1, 2], [x.x for x in g], [x.edge_index for x in g])
        assert (nb.layout is not None) == (att == "dense")
        outs[att] = model.module.encode(nb)
        outs[att].sum().backward()
        outs[att + "_grad"] = [p.grad.clone() for p in model.module.parameters() if p.grad is not None]
        model.module.zero_grad()
    torch.testing.assert_close(outs["dense"], outs["sparse"], rtol=1e-4, atol=1e-5)
    for gd, gs in zip(outs["dense_grad"], outs["sparse_grad"], strict=True):
        torch.testing.assert_close(gd, gs, rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_training_lowers_loss_and_aligns_common_genes(small_collection):
    untrained = mg.MuseGNN(small_collection)
    untrained.train(max_epochs=0, show_progress_bar=False)
    model = mg.tl.fit(small_collection, max_epochs=150, show_progress_bar=False)
    h = model.history
    assert h["loss"].iloc[-10:].mean() < h["loss"].iloc[:10].mean() - 0.1
    assert h["similarity"].iloc[-1] < h["similarity"].iloc[0]
    before = mg.metrics.same_gene_nn_rate(untrained.joint_embedding())
    after = mg.metrics.same_gene_nn_rate(model.joint_embedding())
    assert after > before + 0.2


def test_edge_subsampling_and_passes(small_collection):
    # tiny budgets: every graph is subsampled and each dataset gets its own pass (gradients accumulated)
    model = mg.MuseGNN(small_collection)
    model.train(max_epochs=2, max_edges=50, max_pass_size=100, show_progress_bar=False)
    assert np.isfinite(model.history.to_numpy()).all()
    # with the dense decoder nothing is sampled in the reconstruction: one pass per dataset or one pass for all
    # give the same first-epoch reconstruction loss, and the same embeddings of the same weights
    split = mg.MuseGNN(small_collection, decoder="mlp")
    split.train(max_epochs=1, max_pass_size=100, show_progress_bar=False)
    whole = mg.MuseGNN(small_collection, decoder="mlp")
    whole.train(max_epochs=1, show_progress_bar=False)
    np.testing.assert_allclose(split.history["reconstruction"].iloc[0], whole.history["reconstruction"].iloc[0],
                               rtol=1e-5)
    from muse_gnn.model._trainer import TrainConfig, Trainer

    a = Trainer(model.module, model.graphs, model.gene_index, TrainConfig(max_pass_size=100), torch.device("cpu"))
    b = Trainer(model.module, model.graphs, model.gene_index, TrainConfig(), torch.device("cpu"))
    ea, eb = a.embed(), b.embed()
    for t in range(3):
        np.testing.assert_allclose(ea[t], eb[t], rtol=1e-5, atol=1e-5)


def _same_gene_vs_random_cosine(model):
    joint = model.get_joint_embedding()
    z = joint.obsm["X_muse"] / np.linalg.norm(joint.obsm["X_muse"], axis=1, keepdims=True)
    gene, ds = joint.obs["gene"].to_numpy(), joint.obs["dataset"].to_numpy()
    same = np.array([(a, b) for a in range(len(gene)) for b in range(a + 1, len(gene)) if gene[a] == gene[b]])
    rng = np.random.default_rng(0)
    i, k = rng.integers(0, len(gene), 4000), rng.integers(0, len(gene), 4000)
    keep = (gene[i] != gene[k]) & (ds[i] != ds[k])
    return (z[same[:, 0]] * z[same[:, 1]]).sum(1).mean(), (z[i[keep]] * z[k[keep]]).sum(1).mean()


def test_training_lowers_loss_and_aligns_common_genes_fast(small_collection):
    """In the default suite: a sign error in a loss term must fail here, not only in the slow tests."""
    untrained = mg.MuseGNN(small_collection)
    untrained.train(max_epochs=0, show_progress_bar=False)
    same0, rand0 = _same_gene_vs_random_cosine(untrained)
    model = mg.MuseGNN(small_collection)
    model.train(max_epochs=20, show_progress_bar=False)
    h = model.history
    assert h["loss"].iloc[-1] < 0.5 * h["loss"].iloc[0]
    assert h["reconstruction"].iloc[-1] < h["reconstruction"].iloc[0]
    assert h["similarity"].iloc[-1] < h["similarity"].iloc[0]
    same, rand = _same_gene_vs_random_cosine(model)
    assert same0 - rand0 < 0.1  # untrained: the same gene in two datasets is no closer than any pair
    assert same - rand > 0.25


def test_inplace_false_returns_the_same_and_writes_nothing(small_collection):
    query = small_collection.pop(list(small_collection)[-1])
    first = {k: v.copy() for k, v in small_collection.items()}
    written = mg.tl.fit(first, max_epochs=2, show_progress_bar=False)
    model = mg.tl.fit(small_collection, max_epochs=2, show_progress_bar=False, inplace=False)
    assert all("X_muse" not in a.varm and "X_muse" not in a.uns for a in small_collection.values())
    for t in range(2):
        pd.testing.assert_frame_equal(model.get_embedding(t), written.get_embedding(t))
    q2 = query.copy()
    a = mg.tl.embed(written, query, max_epochs=3, show_progress_bar=False)
    b = mg.tl.embed(model, q2, max_epochs=3, show_progress_bar=False, inplace=False)
    np.testing.assert_array_equal(a, b)
    assert "X_muse" in query.varm and "X_muse" not in q2.varm and "X_muse" not in q2.uns
    np.testing.assert_array_equal(model.get_embedding(-1).to_numpy(), b)  # the dataset joined the model anyway


def test_get_accessors(small_collection):
    model = mg.tl.fit(small_collection, max_epochs=2, show_progress_bar=False)
    joint = model.get_joint_embedding()
    np.testing.assert_array_equal(joint.obsm["X_muse"], model.joint_embedding().obsm["X_muse"])
    name = model.dataset_names[1]
    pd.testing.assert_frame_equal(model.get_embedding(name), model.get_embedding(1))
    with pytest.raises(KeyError, match="no dataset"):
        model.get_embedding("missing")
    with pytest.raises(IndexError, match="out of range"):
        model.get_embedding(3)
    agree = model.get_gene_embedding()
    mean = model.get_gene_embedding(weighting="mean")
    table = mg.metrics.gene_embedding_table(joint)
    np.testing.assert_allclose(mean.obsm["X_muse"], table.loc[mean.obs_names].to_numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(agree.obsm["X_muse"], mean.obsm["X_muse"])
    with pytest.warns(FutureWarning, match="get_gene_embedding"):
        old = model.gene_embedding()
    np.testing.assert_array_equal(old.obsm["X_muse"], agree.obsm["X_muse"])
    with pytest.raises(ValueError, match="weighting"):
        model.get_gene_embedding(weighting="median")


def test_train_config_holds_the_defaults():
    import inspect

    from muse_gnn.model._trainer import QUERY_MAX_EPOCHS, TrainConfig

    cfg = TrainConfig()
    assert cfg.lr_decoder == pytest.approx(10 * cfg.lr)  # one rule: None -> 10 x lr
    assert cfg.lambda_similarity == 3.0  # chosen by benchmarks/function_real.py (the paper's weight is 1)
    assert TrainConfig(lr=0.5).lr_decoder == pytest.approx(5.0)
    with pytest.raises(ValueError, match="learning rates"):
        TrainConfig(lr_decoder=0.0)
    for func in (mg.MuseGNN.train, mg.tl.fit, mg.MuseGNN.map_query, mg.tl.embed):
        params = inspect.signature(func).parameters
        for name, p in params.items():
            if hasattr(cfg, name) and name not in {"lr_decoder", "max_epochs", "random_state"}:
                assert p.default == getattr(cfg, name), (func.__qualname__, name)
        assert params["lr_decoder"].default is None
        assert not [ln for ln in func.__doc__.splitlines() if ln.strip().startswith("{")]  # placeholders filled
        assert "Learning rate of the encoder" in func.__doc__
    assert inspect.signature(mg.MuseGNN.train).parameters["max_epochs"].default == cfg.max_epochs
    assert inspect.signature(mg.tl.embed).parameters["max_epochs"].default == QUERY_MAX_EPOCHS
    assert inspect.signature(mg.MuseGNN.map_query).parameters["max_epochs"].default == QUERY_MAX_EPOCHS


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_edge_index_is_the_sorted_undirected_union(fmt):
    """Edges: every stored off-diagonal entry and its mirror, once, in (row, col) order (as np.unique gives)."""
    from muse_gnn.model._data import _edge_index

    rng = np.random.default_rng(0)
    A = sp.random(60, 60, density=0.08, random_state=rng, format="coo")  # not symmetric, with a diagonal
    A = sp.coo_matrix((np.r_[A.data, 0.0, 2.0], (np.r_[A.row, 3, 5], np.r_[A.col, 7, 5])), shape=A.shape)
    pairs = {(int(r), int(c)) for r, c in zip(A.row, A.col, strict=True) if r != c}
    pairs |= {(c, r) for r, c in pairs}
    want = np.array(sorted(pairs)).T
    got = _edge_index(A.asformat(fmt))
    assert got.dtype == torch.long
    np.testing.assert_array_equal(got.numpy(), want)
    assert (3, 7) in pairs and (7, 3) in pairs  # an explicitly stored zero is an edge, as it was stored
    assert _edge_index(sp.csr_matrix((4, 4))).shape == (2, 0)


def test_module_reset_parameters_reinitialises_every_layer():
    """`MuseModule.reset_parameters` (PyG's convention) gives every input layer, shared layer and decoder new weights."""
    from muse_gnn.model._module import MuseModule

    module = MuseModule([30, 40], [12, 15], ["all", "all"], n_latent=8, heads=2, decoder="mlp")
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
    module.reset_parameters()
    weights = {name: p for name, p in module.named_parameters() if p.dim() >= 2}
    assert weights and all(bool(p.abs().sum() > 0) for p in weights.values()), [
        n for n, p in weights.items() if not p.abs().sum() > 0]


def test_default_loss_weights_the_similarity_term(small_collection):
    """The recorded loss is reconstruction + lambda_similarity x similarity + lambda_contrast x contrastive."""
    model = mg.MuseGNN(small_collection, random_state=0)
    model.train(max_epochs=2, show_progress_bar=False)
    h = model.history
    assert (h["similarity"] != 0).all()
    np.testing.assert_allclose(h["loss"], h["reconstruction"] + 3.0 * h["similarity"] + 0.01 * h["contrastive"],
                               rtol=1e-6)
    other = mg.MuseGNN(small_collection, random_state=0)
    other.train(max_epochs=2, lambda_similarity=1.0, show_progress_bar=False)
    np.testing.assert_allclose(other.history["loss"], other.history["reconstruction"] + other.history["similarity"]
                               + 0.01 * other.history["contrastive"], rtol=1e-6)
