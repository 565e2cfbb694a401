"""Tests of the gene-set function metrics (muse_gnn.metrics.geneset_auroc / pair_auroc)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import muse_gnn.metrics as mm


def planted(rng, n_genes=300, n_sets=6, set_size=30, dim=12, signal=3.0):
    """Embedding where each set's genes share a direction (signal) plus the same sets on random vectors."""
    genes = np.array([f"G{i}" for i in range(n_genes)])
    perm = rng.permutation(n_genes)
    sets = {f"S{k}": genes[perm[k * set_size : (k + 1) * set_size]].tolist() for k in range(n_sets)}
    X = rng.normal(size=(n_genes, dim))
    for k, members in enumerate(sets.values()):
        rows = np.isin(genes, members)
        X[rows, k % dim] += signal
    informative = pd.DataFrame(X, index=genes)
    random = pd.DataFrame(rng.normal(size=(n_genes, dim)), index=genes)
    return informative, random, sets


# ------------------------------------------------------------------------------- embedding input


def test_gene_embedding_table_forms():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 0.0], [1.0, 1.0]])
    df = pd.DataFrame(X[:3], index=["a", "b", "c"])
    pd.testing.assert_frame_equal(
        mm.gene_embedding_table(df), pd.DataFrame(X[:3], index=pd.Index(["a", "b", "c"], name="gene"))
    )
    gene_level = AnnData(X[:3], obs=pd.DataFrame(index=["a", "b", "c"]))
    gene_level.obsm["X_other"] = X[:3] * 2
    assert mm.gene_embedding_table(gene_level).loc["c"].tolist() == [3.0, 0.0]
    assert mm.gene_embedding_table(gene_level, use_rep="X_other").loc["c"].tolist() == [6.0, 0.0]
    # joint embedding: rows averaged per gene (a: mean of [1,0] and [3,0]; b: [0,1] and [1,1])
    obs = pd.DataFrame(
        {"gene": ["a", "b", "a", "b"], "dataset": ["d1", "d1", "d2", "d2"]}, index=list("wxyz")
    )
    joint = AnnData(obs=obs, obsm={"X_muse": X})
    table = mm.gene_embedding_table(joint)
    assert table.loc["a"].tolist() == [2.0, 0.0]
    assert table.loc["b"].tolist() == [0.5, 1.0]


def test_gene_embedding_table_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        mm.gene_embedding_table(pd.DataFrame(np.zeros((0, 3))))
    with pytest.raises(ValueError, match="not unique"):
        mm.gene_embedding_table(pd.DataFrame(np.eye(2), index=["a", "a"]))
    with pytest.raises(TypeError):
        mm.gene_embedding_table(np.eye(3))
    with pytest.raises(KeyError, match="X_none"):
        mm.gene_embedding_table(AnnData(np.eye(2), obs=pd.DataFrame(index=["a", "b"])), use_rep="X_none")
    X = np.eye(3)
    X[1, 0] = np.nan
    with pytest.warns(UserWarning, match="1 of 3 embedding rows"):
        t = mm.gene_embedding_table(pd.DataFrame(X, index=list("abc")))
    assert list(t.index) == ["a", "c"]


# --------------------------------------------------------------------------------- geneset_auroc


def test_geneset_auroc_planted_vs_random():
    rng = np.random.default_rng(0)
    informative, random, sets = planted(rng)
    good = mm.geneset_auroc(informative, sets, background="all")
    bad = mm.geneset_auroc(random, sets, background="all")
    assert good.n_tested == 6
    assert good.mean > 0.9
    assert (good.table["auroc"] > 0.8).all()
    assert bad.mean == pytest.approx(0.5, abs=0.1)
    assert good.metric == "geneset_auroc" and "0." in repr(good)


def test_geneset_auroc_missing_genes_and_size_filter():
    rng = np.random.default_rng(1)
    informative, _, sets = planted(rng, n_sets=3)
    sets = dict(sets)
    sets["S0"] = sets["S0"] + ["NOT_A_GENE_1", "NOT_A_GENE_2"]
    sets["tiny"] = ["G1", "G2", "NOT_A_GENE_3"]
    res = mm.geneset_auroc(informative, sets, min_size=10)
    tab = res.table.set_index("set")
    assert tab.loc["S0", ["n_genes", "n_found", "n_missing"]].tolist() == [32, 30, 2]
    assert not tab.loc["tiny", "tested"] and np.isnan(tab.loc["tiny", "auroc"])
    assert res.missing_genes == ("NOT_A_GENE_1", "NOT_A_GENE_2", "NOT_A_GENE_3")
    assert res.n_missing_genes == 3
    # annotated background = embedded genes in any set (3 sets x 30 + G1, G2 possibly inside them)
    assert res.n_genes_background == len(set(g for v in sets.values() for g in v) & set(informative.index))
    assert res.n_genes_embedding == 300


def test_geneset_auroc_frame_input_and_max_sets():
    rng = np.random.default_rng(2)
    informative, _, sets = planted(rng, n_sets=4)
    long = pd.DataFrame([(k, g) for k, v in sets.items() for g in v], columns=["source", "target"])
    a = mm.geneset_auroc(informative, sets)
    b = mm.geneset_auroc(informative, long)
    pd.testing.assert_frame_equal(a.table, b.table)
    sub = mm.geneset_auroc(informative, sets, max_sets=2)
    assert sub.n_tested == 2
    tested = sub.table[sub.table["tested"]].set_index("set")["auroc"]
    full = a.table.set_index("set")["auroc"]
    np.testing.assert_allclose(tested.to_numpy(), full[tested.index].to_numpy())


def test_geneset_auroc_joint_input_and_nan_rows():
    rng = np.random.default_rng(3)
    informative, _, sets = planted(rng, n_sets=3)
    genes = informative.index.to_numpy()
    base = informative.to_numpy()
    X = np.vstack([base, base + 0.01 * rng.normal(size=base.shape)])
    X[0] = np.nan
    obs = pd.DataFrame({"gene": np.r_[genes, genes], "dataset": ["a"] * 300 + ["b"] * 300})
    obs.index = [f"r{i}" for i in range(600)]
    joint = AnnData(obs=obs, obsm={"X_muse": X})
    with pytest.warns(UserWarning, match="1 of 600"):
        res = mm.geneset_auroc(joint, sets)
    assert res.n_genes_embedding == 300  # G0 still has its row of dataset b
    assert res.mean > 0.85


def test_geneset_auroc_bad_inputs():
    rng = np.random.default_rng(4)
    informative, _, sets = planted(rng, n_sets=2)
    with pytest.raises(ValueError, match="none of the"):
        mm.geneset_auroc(informative, {"x": [f"ENSG{i}" for i in range(20)]})
    with pytest.raises(ValueError, match="no gene set has between"):
        mm.geneset_auroc(informative, sets, min_size=100)
    with pytest.raises(ValueError, match="n_folds"):
        mm.geneset_auroc(informative, sets, min_size=3, n_folds=5)
    with pytest.raises(KeyError, match="source"):
        mm.geneset_auroc(informative, pd.DataFrame({"set": ["a"], "gene": ["G1"]}))
    with pytest.raises(TypeError):
        mm.geneset_auroc(informative, {"x": "G1"})
    with pytest.raises(ValueError, match="no gene sets"):
        mm.geneset_auroc(informative, {})


# ------------------------------------------------------------------------------------ pair_auroc


def test_pair_auroc_hand_computed():
    # Sets A = {a, b}, B = {c, d}.  Negatives ("different_set") are pairs across the sets:
    # a-c, a-d, b-c, b-d, all with cosine in (-1, 1).  A's only pair has cosine 1 -> AUROC 1;
    # B's only pair has cosine -1 -> AUROC 0.  Mean 0.5.
    emb = pd.DataFrame(
        [[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, -1.0]], index=["a", "b", "c", "d"]
    )
    res = mm.pair_auroc(emb, {"A": ["a", "b"], "B": ["c", "d"]}, min_size=2, n_pairs=50)
    tab = res.table.set_index("set")
    assert tab.loc["A", "auroc"] == 1.0 and tab.loc["B", "auroc"] == 0.0
    assert tab.loc["A", "n_pairs"] == 1
    assert res.mean == 0.5


def test_pair_auroc_planted_vs_random():
    rng = np.random.default_rng(5)
    informative, random, sets = planted(rng, n_sets=6, dim=12, signal=4.0)
    good = mm.pair_auroc(informative, sets)
    bad = mm.pair_auroc(random, sets)
    assert good.mean > 0.9
    assert bad.mean == pytest.approx(0.5, abs=0.05)
    assert (good.table["n_pairs"] == 30 * 29 // 2).all()
    capped = mm.pair_auroc(informative, sets, max_pairs_per_set=100)
    assert (capped.table["n_pairs"] == 100).all()
    assert capped.mean == pytest.approx(good.mean, abs=0.03)
    # random negatives include same-set pairs (here about 1 in 6), which lowers the AUROC
    loose = mm.pair_auroc(informative, sets, negatives="random")
    assert 0.8 < loose.mean < good.mean - 0.03


def test_pair_auroc_overlapping_sets_cannot_draw_negatives():
    emb = pd.DataFrame(np.random.default_rng(6).normal(size=(4, 3)), index=list("abcd"))
    with pytest.raises(ValueError, match="sharing no set"):
        mm.pair_auroc(emb, {"A": list("abcd")}, min_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = mm.pair_auroc(emb, {"A": list("abcd")}, min_size=2, negatives="random", n_pairs=20)
    assert res.n_tested == 1
    with pytest.raises(ValueError, match="negatives"):
        mm.pair_auroc(emb, {"A": list("abcd")}, min_size=2, negatives="other")


def test_pair_auroc_reports_missing_genes():
    rng = np.random.default_rng(7)
    informative, _, sets = planted(rng, n_sets=2)
    sets = {k: v + ["MISSING"] for k, v in sets.items()}
    res = mm.pair_auroc(informative, sets)
    assert res.missing_genes == ("MISSING",)
    assert (res.table["n_missing"] == 1).all()
