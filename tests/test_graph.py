from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import muse_gnn as mg


@pytest.fixture()
def one():
    return mg.datasets.simulate(n_datasets=1, technologies=("scrna",), n_genes=300, n_cells=(150, 150),
                                n_modules=6, random_state=1)["scrna_heart_0"]


def _snapshot(a: ad.AnnData):
    return (a.shape, a.X.copy(), list(a.var.columns), list(a.varp.keys()), list(a.uns.keys()), a.var_names.copy())


def _same(a: ad.AnnData, snap) -> bool:
    shape, X, var, varp, uns, names = snap
    Xa = a.X.toarray() if sp.issparse(a.X) else a.X
    Xb = X.toarray() if sp.issparse(X) else X
    return (a.shape == shape and np.array_equal(Xa, Xb, equal_nan=True) and list(a.var.columns) == var
            and list(a.varp.keys()) == varp and list(a.uns.keys()) == uns and a.var_names.equals(names))


@pytest.mark.parametrize("method", ["cscore", "pearson"])
def test_coexpression_graph_outputs(one, method):
    mg.pp.coexpression_graph(one, n_top_genes=100, method=method)
    conn = one.varp["muse_connectivities"]
    sel = one.var["muse_selected"].to_numpy()
    assert sp.issparse(conn) and conn.shape == (300, 300)
    assert sel.sum() == 100
    assert (conn != conn.T).nnz == 0  # symmetric
    assert conn.diagonal().sum() == 0  # no self loops
    assert set(np.unique(conn.data)) <= {1.0}
    outside = ~sel
    assert conn[outside].nnz == 0 and conn[:, outside].nnz == 0
    p = one.uns["muse"]["params"]
    assert p["method"] == method and p["n_genes"] == 100 and p["n_edges"] == conn.nnz // 2
    # the selection is scanpy's Pearson-residual HVG ranking
    hvg = mg.pp.residual_hvg(one, n_top_genes=100)
    assert np.array_equal(hvg["highly_variable"].to_numpy(), sel)


def test_graph_recovers_planted_modules(one):
    mg.pp.coexpression_graph(one, n_top_genes=150, method="cscore")
    genes, adj = mg.pp.get_graph(one)
    mod = one.var.loc[genes, "module"].to_numpy()
    r, c = adj.nonzero()
    both = (mod[r] >= 0) & (mod[c] >= 0)
    same = (mod[r] == mod[c])[both].mean()
    # chance that two module genes share a module
    m = mod[mod >= 0]
    chance = sum((m == k).mean() ** 2 for k in np.unique(m))
    assert same > 2 * chance


def test_fdr_option_gives_fewer_or_equal_edges(one):
    a = mg.pp.coexpression_graph(one, n_top_genes=80, method="pearson", copy=True)
    b = mg.pp.coexpression_graph(one, n_top_genes=80, method="pearson", fdr=1e-4, copy=True)
    assert b.varp["muse_connectivities"].nnz <= a.varp["muse_connectivities"].nnz
    assert "muse" not in one.uns  # copy=True leaves the input alone


def test_h5ad_round_trip(one, tmp_path):
    mg.pp.coexpression_graph(one, n_top_genes=60, method="pearson")
    one.write_h5ad(tmp_path / "a.h5ad")
    back = ad.read_h5ad(tmp_path / "a.h5ad")
    assert (back.varp["muse_connectivities"] != one.varp["muse_connectivities"]).nnz == 0
    assert np.array_equal(back.var["muse_selected"].to_numpy(), one.var["muse_selected"].to_numpy())
    assert dict(back.uns["muse"]["params"]) == dict(one.uns["muse"]["params"])
    np.testing.assert_array_equal(mg.pp.residual_features(back), mg.pp.residual_features(one))


def test_spatial_flavor_uses_sparkx():
    adatas = mg.datasets.simulate(n_datasets=2, technologies=("spatial",), n_genes=200, n_cells=(300, 300),
                                  n_modules=5, random_state=2)
    a = next(iter(adatas.values()))
    mg.pp.coexpression_graph(a, n_top_genes=50, method="pearson")
    assert a.uns["muse"]["params"]["flavor"] == "spatial"
    assert {"muse_sparkx_pval", "muse_sparkx_padj"} <= set(a.var.columns)
    sel = a.var["muse_selected"].to_numpy()
    # the selected genes are those with the smallest SPARK-X p-values
    assert a.var.loc[sel, "muse_sparkx_padj"].max() <= a.var.loc[~sel, "muse_sparkx_padj"].min()


def test_selection_columns_carry_key_added():
    """``key_added`` prefixes every column a graph writes: a graph's SPARK-X p-values and those of
    ``mg.pp.sparkx`` on the same data no longer overwrite each other, nor do two graphs' residual variances."""
    adatas = mg.datasets.simulate(n_datasets=2, technologies=("spatial",), n_genes=200, n_cells=(300, 300),
                                  n_modules=5, random_state=2)
    a = next(iter(adatas.values()))
    mg.pp.sparkx(a)
    before = a.var["sparkx_pval"].copy()
    mg.pp.coexpression_graph(a, n_top_genes=50, method="pearson", key_added="g50")
    pd.testing.assert_series_equal(a.var["sparkx_pval"], before)
    assert {"g50_sparkx_pval", "g50_sparkx_padj", "g50_selected"} <= set(a.var.columns)
    # the graph tests the graph's candidates only (all-zero genes are NaN), sparkx every gene
    ok = a.var["g50_sparkx_pval"].notna()
    assert ok.sum() > 50

    b = mg.datasets.simulate(n_datasets=1, n_genes=200, n_cells=(300, 300), random_state=3)
    b = next(iter(b.values()))
    mg.pp.coexpression_graph(b, n_top_genes=40, method="pearson", key_added="small")
    mg.pp.coexpression_graph(b, n_top_genes=80, method="pearson", key_added="big")
    assert {"small_residual_variance", "big_residual_variance"} <= set(b.var.columns)
    assert "residual_variance" not in b.var.columns and "sparkx_pval" not in b.var.columns
    assert b.var["small_selected"].sum() == 40 and b.var["big_selected"].sum() == 80


def test_spatial_without_coordinates_errors(one):
    snap = _snapshot(one)
    with pytest.raises(KeyError, match="obsm"):
        mg.pp.coexpression_graph(one, flavor="spatial")
    assert _same(one, snap)


def _bad(one, kind):
    a = one.copy()
    X = a.X.toarray().astype(np.float32)
    if kind == "negative":
        X[0, 0] = -1
    elif kind == "nan":
        X[0, 0] = np.nan
    elif kind == "inf":
        X[0, 0] = np.inf
    elif kind == "noninteger":
        X[0, 0] = 0.5
    a.X = X
    return a


@pytest.mark.parametrize("kind,exc,match", [
    ("negative", ValueError, "negative"),
    ("nan", ValueError, "NaN"),
    ("inf", ValueError, "infinite"),
    ("noninteger", ValueError, "allow_noncounts"),
])
def test_bad_values_leave_adata_unchanged(one, kind, exc, match):
    a = _bad(one, kind)
    snap = _snapshot(a)
    with pytest.raises(exc, match=match):
        mg.pp.coexpression_graph(a, n_top_genes=50, method="pearson")
    assert _same(a, snap)


def test_allow_noncounts_warns(one):
    a = _bad(one, "noninteger")
    with pytest.warns(UserWarning, match="non-integer"):
        mg.pp.coexpression_graph(a, n_top_genes=50, method="pearson", allow_noncounts=True)
    assert a.uns["muse"]["params"]["integer_counts"] is False or not a.uns["muse"]["params"]["integer_counts"]


def test_duplicate_genes_few_cells_views_backed(one, tmp_path):
    dup = one.copy()
    dup.var_names = ["G"] * 2 + list(dup.var_names[2:])
    snap = _snapshot(dup)
    with pytest.raises(ValueError, match="var_names_make_unique"):
        mg.pp.coexpression_graph(dup)
    assert _same(dup, snap)
    with pytest.raises(ValueError, match="at least 20"):
        mg.pp.coexpression_graph(one[:10].copy())
    with pytest.raises(ValueError, match="view"):
        mg.pp.coexpression_graph(one[:50])
    one.write_h5ad(tmp_path / "b.h5ad")
    backed = ad.read_h5ad(tmp_path / "b.h5ad", backed="r")
    with pytest.raises(ValueError, match="to_memory"):
        mg.pp.coexpression_graph(backed)


def test_few_genes_and_zero_genes_warn(one):
    a = one[:, :40].copy()
    X = a.X.toarray()
    X[:, :5] = 0
    a.X = sp.csr_matrix(X)
    with pytest.warns(UserWarning) as rec:
        mg.pp.coexpression_graph(a, n_top_genes=100, method="pearson")
    msgs = " ".join(str(w.message) for w in rec)
    assert "all-zero" in msgs and "fewer than n_top_genes" in msgs
    assert a.var["muse_selected"].sum() == 35
    assert not a.var["muse_selected"].to_numpy()[:5].any()


def test_bad_arguments(one):
    with pytest.raises(ValueError, match="method"):
        mg.pp.coexpression_graph(one, method="spearman")
    with pytest.raises(ValueError, match="pvalue"):
        mg.pp.coexpression_graph(one, pvalue=2)
    with pytest.raises(KeyError, match="layer"):
        mg.pp.coexpression_graph(one, layer="counts")
    assert "muse" not in one.uns


def test_coexpression_graphs_collections(one):
    adatas = mg.datasets.simulate(n_datasets=2, technologies=("scrna",), n_genes=150, n_cells=(60, 80),
                                  random_state=3)
    lst = list(adatas.values())
    mg.pp.coexpression_graphs(lst, n_top_genes=40, method="pearson", show_progress_bar=False)
    assert all("muse_connectivities" in a.varp for a in lst)
    import mudata

    adatas2 = mg.datasets.simulate(n_datasets=2, technologies=("scrna",), n_genes=150, n_cells=(60, 80),
                                   random_state=3)
    mdata = mudata.MuData(adatas2)
    mg.pp.coexpression_graphs(mdata, n_top_genes=40, method="pearson", show_progress_bar=False, n_jobs=2)
    for name in adatas2:
        np.testing.assert_array_equal(
            mdata.mod[name].varp["muse_connectivities"].toarray(),
            adatas[name].varp["muse_connectivities"].toarray(),
        )


def test_coexpression_graphs_failure_leaves_all_unchanged(one):
    good = one.copy()
    bad = _bad(one, "negative")
    with pytest.raises(ValueError, match="dataset 'b'"):
        mg.pp.coexpression_graphs({"a": good, "b": bad}, n_top_genes=40, method="pearson", show_progress_bar=False)
    assert "muse" not in good.uns and "muse" not in bad.uns


def test_graph_from_edgelist(one):
    g = list(one.var_names[:6])
    edges = pd.DataFrame({"source": g[:5] + ["NOT_A_GENE", g[1]], "target": g[1:6] + [g[0], g[0]]})
    with pytest.warns(UserWarning, match="1 edges"):
        mg.pp.graph_from_edgelist(one, edges)
    genes, adj = mg.pp.get_graph(one)
    assert list(genes) == g
    # binary and undirected: (g1, g0) repeats (g0, g1) and stays one edge of weight 1
    assert adj.nnz == 10 and adj[0, 1] == 1 and adj[1, 0] == 1 and adj[4, 5] == 1
    with pytest.raises(TypeError):  # graphs are binary: the weight option is gone
        mg.pp.graph_from_edgelist(one, edges, weight="w")
    with pytest.raises(ValueError, match="none of"):
        mg.pp.graph_from_edgelist(one, pd.DataFrame({"source": ["x"], "target": ["y"]}))
    with pytest.raises(KeyError, match="lacks columns"):
        mg.pp.graph_from_edgelist(one, pd.DataFrame({"a": g}))


def test_get_graph_missing(one):
    with pytest.raises(KeyError, match="coexpression_graph"):
        mg.pp.get_graph(one)
    with pytest.raises(KeyError, match="coexpression_graph"):
        mg.pp.residual_features(one)


def test_edge_rule_positive_entries_only(one):
    """An edge is a stored positive entry: explicit zeros and negative values are dropped, with a warning."""
    import scipy.sparse as sp

    from muse_gnn.model._data import prepare_graph

    mg.pp.graph_from_edgelist(one, pd.DataFrame({"source": list(one.var_names[:4]), "target": list(one.var_names[1:5])}))
    conn = sp.csr_matrix(one.varp["muse_connectivities"])
    idx = one.var_names.get_indexer(one.var_names[:5])
    conn[idx[0], idx[1]] = 0.0  # explicit zero, still stored
    conn[idx[1], idx[0]] = 0.0
    conn[idx[2], idx[3]] = -1.0  # negative weight
    conn[idx[3], idx[2]] = -1.0
    one.varp["muse_connectivities"] = conn
    with pytest.warns(UserWarning, match="4 off-diagonal entries"):
        genes, adj = mg.pp.get_graph(one)
    assert adj.nnz == 4 and adj[0, 1] == 0 and adj[2, 3] == 0 and adj[1, 2] == 1
    with pytest.warns(UserWarning, match="zero, negative"):
        graph = prepare_graph(one, "d")
    assert graph.edge_index.shape[1] == 4


def test_knn_rule_is_a_sparse_subgraph_of_the_reference(one):
    """edge_rule='knn' keeps, per gene, its n_neighbors strongest positive significant partners: a symmetric
    subgraph of the reference graph."""
    ref = mg.pp.coexpression_graph(one, n_top_genes=120, method="pearson", edge_rule="reference", copy=True)
    knn = mg.pp.coexpression_graph(one, n_top_genes=120, method="pearson", edge_rule="knn", n_neighbors=5,
                                   copy=True)
    _, a_ref = mg.pp.get_graph(ref)
    genes, a_knn = mg.pp.get_graph(knn)
    assert (a_knn != a_knn.T).nnz == 0
    assert (a_knn.multiply(a_ref)).nnz == a_knn.nnz  # every kNN edge is a significant pair
    assert 0 < a_knn.nnz < a_ref.nnz
    p = knn.uns["muse"]["params"]
    assert p["edge_rule"] == "knn" and p["n_neighbors"] == 5 and 0 < p["density"] < ref.uns["muse"]["params"]["density"]
    # the default is the reference rule (chosen by benchmarks/function_real.py): same graph as asking for it
    default = mg.pp.coexpression_graph(one, n_top_genes=120, method="pearson", copy=True)
    assert default.uns["muse"]["params"]["edge_rule"] == "reference"
    assert default.uns["muse"]["params"].get("n_neighbors") is None
    assert (mg.pp.get_graph(default)[1] != a_ref).nnz == 0
    with pytest.raises(ValueError, match="edge_rule"):
        mg.pp.coexpression_graph(one, edge_rule="fdr")
    with pytest.raises(ValueError, match="n_neighbors"):
        mg.pp.coexpression_graph(one, n_neighbors=0)


def test_knn_edges_pick_the_strongest_positive_partners():
    from muse_gnn.pp._graph import _knn_edges

    rho = np.array([[1.0, 0.9, 0.2, -0.95], [0.9, 1.0, 0.5, 0.1], [0.2, 0.5, 1.0, 0.3], [-0.95, 0.1, 0.3, 1.0]])
    sig = np.ones((4, 4), dtype=bool)
    adj = _knn_edges(rho, sig, 1)
    # 0 -> 1, 1 -> 0, 2 -> 1, 3 -> 2 (the negative -0.95 is never chosen), union made symmetric
    expect = {(0, 1), (1, 0), (2, 1), (1, 2), (3, 2), (2, 3)}
    assert set(zip(*np.nonzero(adj), strict=True)) == expect
    sig[3, :] = sig[:, 3] = False  # gene 3 has no significant partner: it stays isolated
    assert not _knn_edges(rho, sig, 1)[3].any()


def test_n_comps_projects_the_node_features(one):
    mg.pp.coexpression_graph(one, n_top_genes=80, method="pearson", n_comps=16)
    assert one.uns["muse"]["params"]["n_comps"] == 16
    x = mg.pp.residual_features(one)
    assert x.shape == (80, 16) and x.dtype == np.float32
    full = mg.pp.pearson_residuals(one.X, one.var["muse_selected"].to_numpy(), clip=np.sqrt(one.n_obs))
    # coordinates on the top singular axes: the Gram matrix is the best rank-16 approximation of the full one
    u, sv, _ = np.linalg.svd(full.astype(np.float64), full_matrices=False)
    best = (u[:, :16] * sv[:16] ** 2) @ u[:, :16].T
    gram = full.astype(np.float64) @ full.T
    err_best = np.linalg.norm(gram - best)
    assert np.linalg.norm(gram - x @ x.T) <= 1.01 * err_best  # as good as the exact top-16 axes, within 1 %
    with pytest.raises(ValueError, match="n_comps"):
        mg.pp.coexpression_graph(one, n_comps=0)
