"""The joint embedding: built from saved datasets like the model builds it, validated with one message."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import muse_gnn as mg


@pytest.fixture(scope="module")
def fitted():
    adatas = mg.datasets.simulate(n_datasets=3, tissues=("heart", "lung"), technologies=("scrna", "spatial"),
                                  n_genes=200, n_cells=(100, 140), n_modules=5, random_state=1)
    mg.pp.coexpression_graphs(adatas, n_top_genes=70, method="pearson", show_progress_bar=False)
    model = mg.tl.fit(adatas, max_epochs=3, show_progress_bar=False)
    return model, adatas


def _assert_same(a: ad.AnnData, b: ad.AnnData, key: str = "X_muse") -> None:
    pd.testing.assert_frame_equal(a.obs, b.obs)
    np.testing.assert_array_equal(a.obsm[key], b.obsm[key])
    assert a.obsm[key].dtype == b.obsm[key].dtype == np.float32


def test_tl_joint_embedding_equals_model(fitted):
    model, adatas = fitted
    ref = model.joint_embedding()
    for given in (adatas, list(adatas.values())):
        joint = mg.tl.joint_embedding(given)
        _assert_same(ref, joint)
        assert joint.uns["muse_model"]["params"] == ref.uns["muse_model"]["params"]
    assert list(ref.obs["tissue"].cat.categories) == ["heart", "lung"]
    assert set(ref.obs["technology"].astype(str)) == {"scrna", "spatial"}


def test_tl_joint_embedding_from_written_files(fitted, tmp_path):
    """Datasets read back from h5ad (as `muse-gnn fit` writes them), listed without names."""
    model, adatas = fitted
    paths = []
    for name, a in adatas.items():
        a.write_h5ad(tmp_path / f"{name}.h5ad")
        paths.append(tmp_path / f"{name}.h5ad")
    back = [ad.read_h5ad(p) for p in paths]
    for b in back:
        b.uns.pop("dataset", None)  # the name recorded by write_embeddings is enough
    _assert_same(model.joint_embedding(), mg.tl.joint_embedding(back))


def test_tl_joint_embedding_other_key_and_missing(fitted):
    model, adatas = fitted
    copies = {k: v.copy() for k, v in adatas.items()}
    for a in copies.values():
        a.varm["X_other"] = a.varm["X_muse"]
    _assert_same(model.joint_embedding(key_added="X_other"), mg.tl.joint_embedding(copies, use_rep="X_other"),
                 key="X_other")
    del next(iter(copies.values())).varm["X_other"]
    with pytest.raises(KeyError, match="has no `varm\\['X_other'\\]`"):
        mg.tl.joint_embedding(copies, use_rep="X_other")


def test_validation_is_one_message(fitted):
    """tl, pl and metrics reject a table without the joint's columns with the same words."""
    model, _ = fitted
    joint = model.joint_embedding()
    bad = joint.copy()
    del bad.obs["gene"]
    calls = [
        lambda: mg.tl.gene_modules(bad),
        lambda: mg.tl.similar_genes(bad, "x"),
        lambda: mg.pl.similarity(bad, ["x"], show=False),
        lambda: mg.metrics.ilisi(bad),
        lambda: mg.metrics.paper_metrics(bad),
    ]
    messages = set()
    for call in calls:
        with pytest.raises(KeyError) as err:
            call()
        text = str(err.value)
        assert "mg.tl.joint_embedding(adatas)" in text and "unified_embedding" not in text
        messages.add(text.split(": ", 1)[1])
    assert len(messages) == 1
    for call in (lambda: mg.tl.gene_modules(joint.obs), lambda: mg.metrics.ilisi(joint.obs),
                 lambda: mg.pl.embedding(joint.obs, show=False)):
        with pytest.raises(TypeError, match="expected a joint embedding AnnData"):
            call()


def test_planted_modules(fitted):
    model, adatas = fitted
    joint = model.joint_embedding()
    out = mg.datasets.planted_modules(joint, adatas, copy=True)
    assert "module" not in joint.obs and out is not joint
    first = out.obs.iloc[0]
    var = adatas[first["dataset"]].var.loc[first["gene"]]
    assert out.obs["module"].iloc[0] == str(var["module"])
    assert bool(out.obs["context_gene"].iloc[0]) == bool(var["context_gene"])
    assert mg.datasets.planted_modules(joint, adatas, key_added="planted") is None
    assert (joint.obs["planted"].astype(str) == out.obs["module"].astype(str)).all()
    with pytest.raises(KeyError, match="not in `adatas`"):
        mg.datasets.planted_modules(joint, {})


def test_gene_embedding_table_weightings(fitted):
    """`weighting="agreement"` is the model's gene vector; `"mean"` the plain mean of a gene's rows."""
    model, _ = fitted
    joint = model.joint_embedding()
    genes = model.gene_embedding()
    agree = mg.metrics.gene_embedding_table(joint, weighting="agreement").loc[genes.obs_names]
    np.testing.assert_allclose(agree.to_numpy(), genes.obsm["X_muse"], atol=1e-6)
    mean = mg.metrics.gene_embedding_table(joint)
    g = joint.obs["gene"].value_counts().index[0]
    np.testing.assert_allclose(mean.loc[g].to_numpy(), joint.obsm["X_muse"][joint.obs["gene"] == g].mean(0),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="weighting"):
        mg.metrics.gene_embedding_table(joint, weighting="median")
