"""Downstream analysis of joint embeddings: modules, similar genes, enrichment, context shift, orthologs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData
from sklearn.metrics import adjusted_rand_score, roc_auc_score

import muse_gnn as mg
from muse_gnn.tl._context import context_shift
from muse_gnn.tl._enrich import enrichment
from muse_gnn.tl._modules import gene_modules, ortholog_coclustering
from muse_gnn.tl._similar import similar_genes


def _joint(genes, datasets, X=None, **extra) -> AnnData:
    cols = {"gene": list(genes), "dataset": list(datasets)}
    cols.update({k: v if isinstance(v, pd.Categorical) else list(v) for k, v in extra.items()})
    obs = pd.DataFrame(cols)
    obs.index = [f"{g}@{d}" for g, d in zip(obs["gene"], obs["dataset"], strict=True)]
    joint = AnnData(obs=obs)
    if X is not None:
        joint.obsm["X_muse"] = np.asarray(X, dtype=np.float64)
    return joint


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg by its textbook definition (independent of scipy), for checking."""
    m = p.size
    q = np.empty(m)
    for i in range(m):
        q[i] = min(1.0, min(p[j] * m / (np.sum(p <= p[j])) for j in range(m) if p[j] >= p[i]))
    return q


# --------------------------------------------------------------------------------------------------
# a small trained model on simulated data (two datasets per tissue, many context genes)
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    adatas = mg.datasets.simulate(
        n_datasets=4, tissues=("heart", "lung"), technologies=("scrna",), n_genes=200, n_cells=(120, 160),
        n_modules=6, context_fraction=0.3, universe_factor=1.2, random_state=0,
    )
    mg.pp.coexpression_graphs(adatas, n_top_genes=90, method="pearson", show_progress_bar=False)
    model = mg.tl.fit(adatas, max_epochs=10, lr=3e-3, show_progress_bar=False, random_state=0)
    return model, adatas


# --------------------------------------------------------------------------------------------------
# gene_modules
# --------------------------------------------------------------------------------------------------
@pytest.fixture()
def blobs() -> tuple[AnnData, np.ndarray]:
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 30)
    X = rng.normal(size=(3, 8))[truth] * 10 + rng.normal(size=(90, 8))
    genes = [f"G{i:02d}" for i in range(45)] * 2
    return _joint(genes, ["d1"] * 45 + ["d2"] * 45, X), truth


def test_gene_modules_recovers_separated_clusters(blobs):
    joint, truth = blobs
    d1 = AnnData(np.zeros((3, 50), dtype=np.float32))
    d1.var_names = [f"G{i:02d}" for i in range(50)]  # five genes not in the joint embedding
    assert gene_modules(joint, n_neighbors=10, adatas={"d1": d1}) is None
    lab = joint.obs["muse_module"]
    assert isinstance(lab.dtype, pd.CategoricalDtype)
    assert lab.cat.categories.tolist() == ["0", "1", "2"]
    assert adjusted_rand_score(truth, lab) == 1.0
    assert joint.uns["neighbors"]["params"]["use_rep"] == "X_muse"
    assert joint.uns["muse_module"]["params"]["flavor"] == "igraph"
    # per-dataset labels: the rows of d1, NaN for the genes outside the embedding
    v = d1.var["muse_module"]
    assert v.cat.categories.tolist() == ["0", "1", "2"]
    assert v.isna().sum() == 5 and v.iloc[45:].isna().all()
    assert (v.iloc[:45].astype(str).to_numpy() == lab.iloc[:45].astype(str).to_numpy()).all()


def test_gene_modules_copy_reuse_and_keep_user_graph(blobs):
    import scanpy as sc

    joint, truth = blobs
    other = joint.copy()
    out = gene_modules(joint, n_neighbors=10, copy=True, key_added="mods")
    assert "mods" not in joint.obs and "neighbors" not in joint.uns
    assert adjusted_rand_score(truth, out.obs["mods"]) == 1.0

    # an existing graph of X_muse with the same n_neighbors is reused: scramble X_muse afterwards, the
    # modules still follow the graph
    sc.pp.neighbors(joint, use_rep="X_muse", n_neighbors=10)
    joint.obsm["X_muse"] = np.random.default_rng(1).normal(size=joint.obsm["X_muse"].shape)
    gene_modules(joint, n_neighbors=10)
    assert adjusted_rand_score(truth, joint.obs["muse_module"]) == 1.0

    # a graph of another representation is kept; the new one goes elsewhere
    other.obsm["X_other"] = np.random.default_rng(2).normal(size=(other.n_obs, 4))
    sc.pp.neighbors(other, use_rep="X_other", n_neighbors=5)
    before = other.obsp["connectivities"].copy()
    gene_modules(other, n_neighbors=10)
    assert other.uns["neighbors"]["params"]["use_rep"] == "X_other"
    assert (other.obsp["connectivities"] != before).nnz == 0
    assert other.uns["muse_module"]["params"]["neighbors_key"] == "muse_module_neighbors"
    assert adjusted_rand_score(truth, other.obs["muse_module"]) == 1.0


def test_gene_modules_copy_writes_into_no_user_object(blobs):
    """copy=True leaves `joint` and every dataset of `adatas` untouched and returns the annotated copies."""
    joint, truth = blobs
    d1 = AnnData(np.zeros((3, 45), dtype=np.float32))
    d1.var_names = [f"G{i:02d}" for i in range(45)]
    out, datasets = gene_modules(joint, n_neighbors=10, adatas={"d1": d1}, copy=True)
    assert "muse_module" not in joint.obs and "muse_module" not in d1.var
    assert datasets["d1"] is not d1 and out is not joint
    assert adjusted_rand_score(truth, out.obs["muse_module"]) == 1.0
    rows = out.obs["dataset"] == "d1"
    np.testing.assert_array_equal(
        datasets["d1"].var.loc[out.obs.loc[rows, "gene"], "muse_module"].astype(str),
        out.obs.loc[rows, "muse_module"].astype(str),
    )
    assert gene_modules(joint, n_neighbors=10, adatas={"d1": d1}) is None
    assert "muse_module" in d1.var


def test_gene_modules_bad_inputs_leave_data_unchanged(blobs):
    joint, _ = blobs
    d1 = AnnData(np.zeros((3, 45), dtype=np.float32))
    d1.var_names = [f"G{i:02d}" for i in range(45)]
    with pytest.raises(KeyError, match="X_nope"):
        gene_modules(joint, use_rep="X_nope")
    with pytest.raises(KeyError, match=r"\['dx'\]"):
        gene_modules(joint, adatas={"d1": d1, "dx": d1.copy()})
    small = AnnData(np.zeros((3, 10), dtype=np.float32))
    small.var_names = [f"G{i:02d}" for i in range(10)]
    with pytest.raises(ValueError, match="not in `adatas"):
        gene_modules(joint, adatas={"d1": small})
    with pytest.raises(ValueError, match="n_neighbors"):
        gene_modules(joint, n_neighbors=500)
    with pytest.raises(ValueError, match="resolution"):
        gene_modules(joint, resolution=0)
    with pytest.raises(TypeError, match="AnnData"):
        gene_modules(joint.obs)
    assert "muse_module" not in joint.obs and "neighbors" not in joint.uns and not joint.obsp
    assert "muse_module" not in d1.var and "muse_module" not in small.var
    bad = joint.copy()
    bad.obsm["X_muse"][3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gene_modules(bad)
    with pytest.warns(UserWarning, match="not unique"):
        dup = _joint(["A", "A", "B"], ["d1", "d1", "d1"], np.eye(3))
    with pytest.raises(ValueError, match="A@d1"):
        gene_modules(dup, n_neighbors=2)


def test_gene_modules_recover_planted_modules(trained):
    model, adatas = trained
    joint = model.joint_embedding()
    gene_modules(joint, adatas=model.adatas)
    planted = np.array(
        [adatas[d].var.loc[g, "module"] for g, d in zip(joint.obs["gene"], joint.obs["dataset"], strict=True)]
    )
    keep = planted >= 0
    ari = adjusted_rand_score(planted[keep], joint.obs["muse_module"].to_numpy()[keep])
    assert ari > 0.3, ari
    for ad in adatas.values():
        assert ad.var["muse_module"].notna().sum() == ad.var["muse_selected"].sum()


# --------------------------------------------------------------------------------------------------
# similar_genes
# --------------------------------------------------------------------------------------------------
def _angles_joint() -> AnnData:
    genes = ["A", "B", "C", "D", "E", "A", "B", "F"]
    deg = np.array([0, 10, 30, 60, 90, 3, 80, 40], dtype=float)
    scale = np.array([1, 2, 0.5, 3, 1, 1.5, 1, 2])  # cosine ignores the length
    X = np.c_[np.cos(np.radians(deg)), np.sin(np.radians(deg))] * scale[:, None]
    return _joint(genes, ["d1"] * 5 + ["d2"] * 3, X)


def test_similar_genes_hand_made_order_and_cosine():
    joint = _angles_joint()
    res = similar_genes(joint, "A", n_top=3)
    assert list(res.columns) == [
        "query", "query_dataset", "gene", "dataset", "cosine", "rank", "same_dataset", "same_gene",
    ]
    got = [tuple(r) for r in res[["query_dataset", "dataset", "gene", "rank"]].itertuples(index=False)]
    assert got == [
        ("d1", "d1", "B", 1), ("d1", "d1", "C", 2), ("d1", "d1", "D", 3),
        ("d1", "d2", "A", 1), ("d1", "d2", "F", 2), ("d1", "d2", "B", 3),
        ("d2", "d1", "A", 1), ("d2", "d1", "B", 2), ("d2", "d1", "C", 3),
        ("d2", "d2", "F", 1), ("d2", "d2", "B", 2),
    ]
    diffs = [10, 30, 60, 3, 40, 80, 3, 7, 27, 37, 77]
    np.testing.assert_allclose(res["cosine"], np.cos(np.radians(diffs)), atol=1e-12)
    assert res["same_dataset"].tolist() == [True] * 3 + [False] * 6 + [True] * 2
    assert res["same_gene"].tolist() == [False] * 3 + [True, False, False, True] + [False] * 4


def test_similar_genes_selection_and_errors():
    joint = _angles_joint()
    res = similar_genes(joint, ["F", "A"], n_top=1, datasets=["d2"])
    assert res[["query", "gene"]].values.tolist() == [["F", "A"], ["A", "F"]]
    assert (res["dataset"] == "d2").all()
    with pytest.raises(KeyError, match=r"\['X', 'Y'\]"):
        similar_genes(joint, ["A", "X", "Y"])
    with pytest.raises(KeyError, match=r"\['C'\]"):
        similar_genes(joint, ["A", "C"], datasets=["d2"])
    with pytest.raises(KeyError, match="d9"):
        similar_genes(joint, "A", datasets=["d9"])
    with pytest.raises(KeyError, match="X_pca"):
        similar_genes(joint, "A", use_rep="X_pca")
    with pytest.raises(ValueError, match="n_top"):
        similar_genes(joint, "A", n_top=0)
    with pytest.raises(TypeError, match="MuseGNN"):
        similar_genes(np.zeros((3, 2)), "A")
    nan = joint.copy()
    nan.obsm["X_muse"][1] = np.nan  # B@d1 is ignored
    with pytest.warns(UserWarning, match="NaN"):
        res = similar_genes(nan, "A", n_top=1, datasets=["d1"])
    assert res["gene"].tolist() == ["C"]


def test_similar_genes_accepts_model(trained):
    model, _ = trained
    joint = model.joint_embedding()
    gene = joint.obs["gene"].value_counts().index[0]  # a gene in several datasets
    a = similar_genes(model, gene, n_top=4)
    b = similar_genes(joint, gene, n_top=4)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == joint.obs.loc[joint.obs["gene"] == gene].shape[0] * 4 * 4
    assert a.groupby(["query_dataset", "dataset"])["cosine"].apply(lambda c: c.is_monotonic_decreasing).all()


# --------------------------------------------------------------------------------------------------
# enrichment
# --------------------------------------------------------------------------------------------------
def _two_modules() -> AnnData:
    genes = [f"G{i:02d}" for i in range(60)]
    # every gene in two datasets: module gene lists must count unique names
    return _joint(genes * 2, ["d1"] * 60 + ["d2"] * 60, muse_module=(["0"] * 30 + ["1"] * 30) * 2)


def _hyper_sf(k: int, M: int, n: int, N: int) -> float:
    return sum(math.comb(n, i) * math.comb(M - n, N - i) for i in range(k, min(n, N) + 1)) / math.comb(M, N)


def test_enrichment_planted_set_on_right_module():
    joint = _two_modules()
    genes = [f"G{i:02d}" for i in range(60)]
    sets = {
        "planted": genes[:10] + ["G30"],
        "spread": genes[25:35],
        "only1": genes[40:46],  # no overlap with module 0
        "tiny": genes[:3],  # below min_size
        "foreign": ["ENSG0001", "ENSG0002", "G59", "G58", "G57"],  # 3 genes in the background
    }
    res = enrichment(joint, sets, min_size=5)
    top = res.iloc[0]
    assert (top["module"], top["term"]) == ("0", "planted")
    assert (top["n_module"], top["n_term"], top["overlap"]) == (30, 11, 10)
    assert top["overlap_genes"] == ",".join(genes[:10])
    assert top["fold_enrichment"] == pytest.approx((10 / 30) / (11 / 60))
    assert top["pvalue"] == pytest.approx(_hyper_sf(10, 60, 11, 30), rel=1e-9)
    assert set(res["term"]) == {"planted", "spread", "only1"}  # tiny and foreign are below min_size
    assert res.attrs["n_terms_tested"] == 3
    # all 2 modules × 3 sets were tested; the pair without overlap (module 0, only1) is left out
    assert res.attrs["n_tests"] == 6 and res.attrs["n_background"] == 60
    assert len(res) == 5 and not ((res["module"] == "0") & (res["term"] == "only1")).any()
    only1 = res[res["term"] == "only1"].iloc[0]
    assert (only1["module"], only1["overlap"], only1["n_module"]) == ("1", 6, 30)
    # the FDR is BH over all 6 tests (the untabulated one has p = 1)
    p_all = np.r_[res["pvalue"].to_numpy(), 1.0]
    np.testing.assert_allclose(res["fdr"], _bh(p_all)[:-1], rtol=1e-12)
    assert res["fdr"].is_monotonic_increasing
    # long DataFrame input gives the same table; an FDR cut keeps the significant rows only
    long = pd.DataFrame([(t, g) for t, gs in sets.items() for g in gs], columns=["source", "target"])
    pd.testing.assert_frame_equal(enrichment(joint, long, min_size=5), res)
    cut = enrichment(joint, sets, min_size=5, fdr=0.05)
    assert (cut["fdr"] <= 0.05).all() and cut.iloc[0]["term"] == "planted"
    assert len(cut) < len(res)


def test_enrichment_background_and_errors():
    joint = _two_modules()
    genes = [f"G{i:02d}" for i in range(60)]
    sets = {"planted": genes[:10]}
    res = enrichment(joint, sets, background=genes[:40], min_size=5)
    row = res[res["module"] == "0"].iloc[0]
    assert res.attrs["n_background"] == 40 and row["n_module"] == 30
    assert row["pvalue"] == pytest.approx(_hyper_sf(10, 40, 10, 30), rel=1e-9)
    joint.obs.loc[joint.obs["gene"] == "G00", "muse_module"] = np.nan  # unlabelled rows are ignored
    assert enrichment(joint, sets, min_size=5).iloc[0]["overlap"] == 9
    with pytest.raises(ValueError, match="identifiers"):
        enrichment(joint, {"ens": ["ENSG01", "ENSG02"]})
    with pytest.raises(ValueError, match="min_size"):
        enrichment(joint, sets, min_size=20)
    with pytest.raises(KeyError, match="gene_modules"):
        enrichment(joint, sets, groupby="leiden")
    with pytest.raises(KeyError, match="source"):
        enrichment(joint, pd.DataFrame({"term": ["a"], "gene": ["G00"]}))
    with pytest.raises(TypeError, match="gene_sets"):
        enrichment(joint, ["G00", "G01"])
    with pytest.raises(ValueError, match="fdr"):
        enrichment(joint, sets, fdr=0)


# --------------------------------------------------------------------------------------------------
# context_shift
# --------------------------------------------------------------------------------------------------
def _context_joint() -> AnnData:
    rng = np.random.default_rng(3)
    datasets = ["h1", "h2", "l1", "l2"]
    tissue = {"h1": "heart", "h2": "heart", "l1": "lung", "l2": "lung"}
    rows, X = [], []
    for d in datasets:
        lung = tissue[d] == "lung"
        rows += [("mover", d), ("stayer", d), ("noisy", d)]
        X += [
            [-1.0, 0.05 * rng.normal(), 0.0] if lung else [1.0, 0.05 * rng.normal(), 0.0],
            [0.0, 1.0, 0.0],
            rng.normal(size=3),
        ]
    rows += [("lonely", "h1"), ("pair", "h1"), ("pair", "l1")]  # lonely: one context only
    X += [[1, 1, 1], [1, 0, 0], [0, 0, 1]]
    g, d = zip(*rows, strict=True)
    return _joint(g, d, np.array(X), tissue=[tissue[x] for x in d])


def test_context_shift_hand_made():
    joint = _context_joint()
    res = context_shift(joint, between=("heart", "lung"), statistic="shift")
    assert res.index.tolist()[:2] == ["mover", "pair"]  # pair: orthogonal rows, shift 1
    assert "lonely" not in res.index
    assert list(res.columns) == ["shift", "within", "relative_shift", "n_a", "n_b", "pvalue", "fdr", "n_null",
                                 "exact"]
    assert res["shift"].is_monotonic_decreasing
    assert res.loc["stayer", "shift"] == pytest.approx(0.0, abs=1e-12)
    assert res.loc["pair", "shift"] == pytest.approx(1.0)
    # by hand for the noisy gene
    Z = joint.obsm["X_muse"][joint.obs["gene"] == "noisy"]
    Z = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    a, b = Z[:2].mean(0), Z[2:].mean(0)
    assert res.loc["noisy", "shift"] == pytest.approx(1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    # exact test: C(4, 2) = 6 splits, the true one and its mirror are the most extreme
    assert res.loc["mover", ["n_a", "n_b", "n_null"]].tolist() == [2, 2, 6]
    assert res.loc["mover", "exact"] and res.loc["mover", "pvalue"] == pytest.approx(2 / 6)
    assert res.loc["stayer", "pvalue"] == 1.0  # every split gives the same shift (0)
    assert res.loc["pair", "pvalue"] == 1.0 and res.loc["pair", "n_null"] == 2
    np.testing.assert_allclose(res["fdr"], _bh(res["pvalue"].to_numpy()), rtol=1e-12)
    assert res.attrs["between"] == ["heart", "lung"]
    # the direction of the comparison does not matter
    rev = context_shift(joint, between=("lung", "heart"), statistic="shift")
    pd.testing.assert_series_equal(rev["shift"], res["shift"])
    assert rev.loc["mover", ["n_a", "n_b"]].tolist() == [2, 2]


def test_context_shift_relative_demotes_noisy_genes():
    """The default statistic divides the move between contexts by the spread within them: a gene whose rows
    wander in every dataset ranks below a gene that moves consistently, and a gene with one dataset per context
    (no within-context spread) has no relative shift and ranks last."""
    from muse_gnn.tl._context import WITHIN_FLOOR

    joint = _context_joint()
    res = context_shift(joint, between=("heart", "lung"))
    assert res.attrs["statistic"] == "relative"
    assert res.index[0] == "mover" and res.index[-1] == "pair" and np.isnan(res.loc["pair", "relative_shift"])
    assert res.loc["mover", "relative_shift"] > 5 * res.loc["noisy", "relative_shift"]
    # by hand for the noisy gene: pairs of datasets across and within contexts
    Z = joint.obsm["X_muse"][joint.obs["gene"] == "noisy"]
    Z = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    C = 1 - Z @ Z.T  # rows h1, h2, l1, l2
    between = np.mean([C[0, 2], C[0, 3], C[1, 2], C[1, 3]])
    within = np.mean([C[0, 1], C[2, 3]])
    assert res.loc["noisy", "within"] == pytest.approx(within)
    assert res.loc["noisy", "relative_shift"] == pytest.approx(between / (within + WITHIN_FLOOR))
    # the exact test uses the relative statistic: the true split of the mover is the most extreme
    assert res.loc["mover", "pvalue"] == pytest.approx(2 / 6)
    with pytest.warns(FutureWarning, match="tissue_key"):
        old = context_shift(joint, between=("heart", "lung"), key="tissue")
    pd.testing.assert_frame_equal(old, res)
    with pytest.raises(ValueError, match="statistic"):
        context_shift(joint, statistic="centroid")


def test_context_shift_monte_carlo_and_no_test():
    joint = _context_joint()
    mc = context_shift(joint, n_permutations=3, random_state=0)
    assert not mc.loc["mover", "exact"] and mc.loc["mover", "n_null"] == 3
    # p = (1 + #null >= observed) / (1 + 3), the null hits the extreme split with probability 1/3
    assert mc.loc["mover", "pvalue"] in {0.25, 0.5, 0.75, 1.0}
    assert mc.loc["pair", "exact"]  # 2 splits <= 3: enumerated
    again = context_shift(joint, n_permutations=3, random_state=0)
    pd.testing.assert_frame_equal(mc, again)
    none = context_shift(joint, n_permutations=0)
    assert none["pvalue"].isna().all() and none["fdr"].isna().all()
    pd.testing.assert_series_equal(none["shift"], mc["shift"])


def test_context_shift_bad_inputs():
    joint = _context_joint()
    with pytest.raises(ValueError, match=r"\['kidney'\].*available"):
        context_shift(joint, between=("heart", "kidney"))
    with pytest.raises(ValueError, match="same"):
        context_shift(joint, between=("heart", "heart"))
    with pytest.raises(ValueError, match="two context"):
        context_shift(joint, between="heart")
    with pytest.raises(KeyError, match="condition"):
        context_shift(joint, tissue_key="condition")
    with pytest.raises(KeyError, match="X_umap"):
        context_shift(joint, use_rep="X_umap")
    with pytest.raises(ValueError, match="n_permutations"):
        context_shift(joint, n_permutations=-1)
    mixed = joint.copy()
    mixed.obs["tissue"] = mixed.obs["tissue"].astype(str)
    mixed.obs.iloc[0, mixed.obs.columns.get_loc("tissue")] = "lung"
    with pytest.raises(ValueError, match="whole datasets"):
        context_shift(mixed)
    disjoint = _joint(["A", "B"], ["h", "l"], np.eye(2), tissue=["heart", "lung"])
    with pytest.raises(ValueError, match="share no genes"):
        context_shift(disjoint)


def test_context_shift_ranks_planted_context_genes(trained):
    model, adatas = trained
    joint = model.joint_embedding()
    res = context_shift(joint, between=("heart", "lung"), n_permutations=100)
    ctx = pd.concat([ad.var["context_gene"] for ad in adatas.values()]).groupby(level=0).any()
    y = ctx.loc[res.index].to_numpy()
    assert 5 <= y.sum() < y.size
    assert roc_auc_score(y, res["shift"]) > 0.65
    rel = res["relative_shift"].notna().to_numpy()  # genes with two datasets in a context
    assert roc_auc_score(y[rel], res["relative_shift"][rel]) > 0.65
    assert ((res["pvalue"][rel] > 0) & (res["pvalue"][rel] <= 1)).all()
    assert res["pvalue"][~rel].isna().all()  # no relative shift, no test


# --------------------------------------------------------------------------------------------------
# ortholog_coclustering
# --------------------------------------------------------------------------------------------------
def _two_species(mouse_names=None) -> AnnData:
    human = ["G1", "G2", "G3", "G4", "G5", "G6"]
    mouse = mouse_names or ["G1", "G2", "G3", "G4", "G5", "G7"]
    return _joint(
        human + mouse, ["h"] * 6 + ["m"] * 6, species=["human"] * 6 + ["mouse"] * 6,
        muse_module=pd.Categorical(["0", "0", "1", "1", "2", "2"] + ["0", "1", "1", "1", "2", "0"]),
    )


def test_ortholog_coclustering_counts():
    res = ortholog_coclustering(_two_species())
    assert res.values.tolist() == [["0", 2, 1, 0.5], ["1", 3, 2, 2 / 3], ["2", 1, 1, 1.0]]
    assert res.attrs["n_pairs"] == 5
    assert res.attrs["overall_share"] == pytest.approx(4 / 5)
    assert res.attrs["expected_share"] == pytest.approx(0.4 * 0.2 + 0.4 * 0.6 + 0.2 * 0.2)
    assert res.attrs["species"] == ["human", "mouse"]
    # mouse symbols mapped through an ortholog table give the same answer
    lower = _two_species(["g1", "g2", "g3", "g4", "g5", "g7"])
    table = pd.DataFrame({"mouse_symbol": ["g1", "g2", "g3", "g4", "g5"],
                          "human_symbol": ["G1", "G2", "G3", "G4", "G5"]})
    pd.testing.assert_frame_equal(ortholog_coclustering(lower, table), res)
    with pytest.raises(ValueError, match="no gene name is shared"):
        ortholog_coclustering(lower)
    # unlabelled rows are ignored
    na = _two_species()
    na.obs["muse_module"] = na.obs["muse_module"].astype(object)
    na.obs.iloc[0, na.obs.columns.get_loc("muse_module")] = np.nan
    assert ortholog_coclustering(na).attrs["n_pairs"] == 4


def test_ortholog_coclustering_errors():
    one = _two_species()
    one.obs["species"] = "human"
    with pytest.raises(ValueError, match="single species"):
        ortholog_coclustering(one)
    with pytest.raises(KeyError, match="gene_modules"):
        ortholog_coclustering(_two_species(), groupby="leiden")
    with pytest.raises(KeyError, match="organism"):
        ortholog_coclustering(_two_species(), species_key="organism")
    with pytest.raises(ValueError, match="rat"):
        ortholog_coclustering(_two_species(), species=("human", "rat"))
