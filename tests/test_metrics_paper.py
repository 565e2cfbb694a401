"""Tests of the paper metrics, the average rank and the planted-truth metrics (muse_gnn.metrics)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from anndata import AnnData
from scipy.optimize import brentq
from sklearn.metrics import silhouette_samples

import muse_gnn.metrics as mm
from muse_gnn.metrics._input import normalize_graphs
from muse_gnn.metrics._lisi import lisi_from_knn


def make_joint(X, genes, datasets, **cols) -> AnnData:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    obs = pd.DataFrame({"gene": list(genes), "dataset": list(datasets), **cols})
    obs.index = [f"r{i}" for i in range(len(obs))]
    return AnnData(obs=obs, obsm={"X_muse": X})


def sym(n, edges):
    A = np.zeros((n, n), dtype=int)
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    return sp.csr_matrix(A)


def angles(deg):
    r = np.deg2rad(np.asarray(deg, dtype=float))
    return np.c_[np.cos(r), np.sin(r)]


# ------------------------------------------------------------------------------------------- ASW


def test_asw_hand_computed():
    # Cluster "0" (1-D): a at 0, 1; b at 10, 11.  Silhouettes of the batch labels:
    #   x=0: a=1, b=(10+11)/2=10.5, s=9.5/10.5;  x=1: a=1, b=9.5, s=8.5/9.5; symmetric for b.
    #   cluster mean of 1-|s| = 1 - (9.5/10.5 + 8.5/9.5)/2
    # Cluster "1": a at 100, 102; b at 101, 103.
    #   x=100: a=2, b=2 -> s=0 -> 1;  x=102: a=2, b=1 -> s=-0.5 -> 0.5; x=101: 0.5; x=103: 1 -> mean 0.75
    # Cluster "2": one dataset only -> skipped.  Cluster "3": as many datasets as rows -> skipped.
    x = [0, 1, 10, 11, 100, 102, 101, 103, 50, 51, 70, 71]
    ds = ["a", "a", "b", "b", "a", "a", "b", "b", "a", "a", "a", "b"]
    cl = ["0"] * 4 + ["1"] * 4 + ["2", "2", "3", "3"]
    joint = make_joint(x, [f"g{i}" for i in range(12)], ds, cl=cl)
    c0 = 1 - (9.5 / 10.5 + 8.5 / 9.5) / 2
    expected = (c0 + 0.75) / 2
    value, per = mm.asw_batch(joint, groupby="cl", return_all=True)
    assert value == pytest.approx(expected, abs=1e-12)
    assert set(per.index) == {"0", "1"}
    assert per["1"] == pytest.approx(0.75)


def test_asw_matches_direct_scib_definition():
    rng = np.random.default_rng(1)
    n = 150
    X = rng.normal(size=(n, 5))
    ds = rng.choice(["a", "b", "c"], size=n)
    cl = rng.choice(["x", "y", "z"], size=n)
    X[ds == "a"] += 0.7  # some batch effect
    joint = make_joint(X, [f"g{i}" for i in range(n)], ds, cl=cl)
    per = []
    for c in ["x", "y", "z"]:
        m = cl == c
        s = silhouette_samples(X[m], ds[m])
        per.append(np.mean(1 - np.abs(s)))
    assert mm.asw_batch(joint, groupby="cl") == pytest.approx(np.mean(per), rel=1e-12)


def test_asw_mixing_vs_separation():
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(100, 4))
    genes = [f"g{i}" for i in range(100)] * 2
    ds = ["a"] * 100 + ["b"] * 100
    mixed = make_joint(np.vstack([Z, Z + 0.01 * rng.normal(size=Z.shape)]), genes, ds, cl=["0"] * 200)
    separated = make_joint(np.vstack([Z, Z + 20]), genes, ds, cl=["0"] * 200)
    assert mm.asw_batch(mixed, groupby="cl") > 0.95
    assert mm.asw_batch(separated, groupby="cl") < 0.1


# ------------------------------------------------------------------------------------------- AUC


def test_auc_hand_computed():
    # Unit vectors at 0°, 30°, 90°, 60° for genes a, b, c, d.
    # d1 edges a-b (cos 30° = .866), c-d (.866); non-edges a-c 0, a-d .5, b-c .5, b-d .866:
    #   each edge beats 3 non-edges and ties 1 -> AUC = 3.5/4 = 0.875.
    # d2 has genes a, b, c only and the edge a-c (cos 0), below both non-edges -> AUC 0.  Mean 0.4375.
    Z = angles([0, 30, 90, 60])
    joint = make_joint(np.vstack([Z, Z[:3]]), list("abcd") + list("abc"), ["d1"] * 4 + ["d2"] * 3)
    graphs = {"d1": (list("abcd"), sym(4, [(0, 1), (2, 3)])), "d2": (list("cab"), sym(3, [(0, 1)]))}
    value, per = mm.auc_graph(joint, graphs, return_all=True)
    assert per["d1"] == pytest.approx(0.875)
    assert per["d2"] == pytest.approx(0.0)
    assert value == pytest.approx(0.4375)


def test_auc_sampling_close_to_exact():
    rng = np.random.default_rng(3)
    m = 400
    modules = rng.integers(0, 8, size=m)
    Z = rng.normal(size=(8, 6))[modules] + 0.8 * rng.normal(size=(m, 6))
    same = modules[:, None] == modules[None, :]
    A = sp.csr_matrix(np.triu(same & (rng.random((m, m)) < 0.3), 1))
    A = A + A.T
    genes = [f"g{i}" for i in range(m)]
    joint = make_joint(Z, genes, ["d"] * m)
    exact = mm.auc_graph(joint, {"d": (genes, A)})
    sampled = mm.auc_graph(joint, {"d": (genes, A)}, max_pairs=20_000, random_state=1)
    assert 0.7 < exact < 1.0
    assert sampled == pytest.approx(exact, abs=0.02)
    assert sampled != exact  # really sampled


def test_auc_random_embedding_near_half():
    rng = np.random.default_rng(4)
    m = 300
    A = sp.random(m, m, density=0.05, random_state=4)
    A = ((A + A.T) > 0).astype(int)
    genes = [f"g{i}" for i in range(m)]
    joint = make_joint(rng.normal(size=(m, 8)), genes, ["d"] * m)
    assert mm.auc_graph(joint, {"d": (genes, A)}) == pytest.approx(0.5, abs=0.05)


def test_auc_dataset_without_edges_is_nan_with_warning():
    Z = angles([0, 30, 90, 60])
    joint = make_joint(np.vstack([Z, Z]), list("abcd") * 2, ["d1"] * 4 + ["d2"] * 4)
    graphs = {"d1": (list("abcd"), sym(4, [(0, 1), (2, 3)])), "d2": (list("abcd"), sym(4, []))}
    with pytest.warns(UserWarning, match="AUC undefined"):
        value, per = mm.auc_graph(joint, graphs, return_all=True)
    assert np.isnan(per["d2"])
    assert value == pytest.approx(0.875)


# ------------------------------------------------------------------------------------- graphs input


def _graph_adata(all_genes, selected, edges):
    n = len(all_genes)
    ad = AnnData(np.zeros((3, n)), var=pd.DataFrame(index=all_genes))
    A = np.zeros((n, n))
    for i, j in edges:
        A[i, j] = A[j, i] = 0.7  # weights count as edges
    ad.varp["muse_connectivities"] = sp.csr_matrix(A)
    ad.var["muse_selected"] = [g in selected for g in all_genes]
    return ad


def test_graph_forms_agree():
    all_genes = ["a", "b", "x", "c", "d"]
    ad = _graph_adata(all_genes, {"a", "b", "c", "d"}, [(0, 1), (3, 4)])
    g1 = normalize_graphs({"d1": ad}, "t")["d1"]
    g2 = normalize_graphs({"d1": (list("abcd"), sym(4, [(0, 1), (2, 3)]))}, "t")["d1"]
    assert list(g1.genes) == list(g2.genes)
    assert (g1.adj != g2.adj).nnz == 0
    Z = angles([0, 30, 90, 60])
    joint = make_joint(Z, list("abcd"), ["d1"] * 4)
    assert mm.auc_graph(joint, {"d1": ad}) == pytest.approx(0.875)
    ad.var["other_selected"] = ad.var["muse_selected"]
    ad.varp["other_connectivities"] = ad.varp["muse_connectivities"]
    del ad.varp["muse_connectivities"]
    with pytest.raises(KeyError, match="coexpression_graph"):
        mm.auc_graph(joint, {"d1": ad})
    assert mm.auc_graph(joint, {"d1": ad}, graph_key="other") == pytest.approx(0.875)


def test_graph_edges_outside_selection_warn():
    ad = _graph_adata(["a", "b", "x"], {"a", "b"}, [(0, 1), (1, 2)])
    with pytest.warns(UserWarning, match="outside"):
        g = normalize_graphs({"d": ad}, "t")["d"]
    assert g.adj.nnz == 2


def test_graph_bad_inputs():
    with pytest.raises(ValueError, match="not symmetric"):
        normalize_graphs({"d": (["a", "b"], sp.csr_matrix(np.array([[0, 1], [0, 0]])))}, "t")
    with pytest.raises(ValueError, match="shape"):
        normalize_graphs({"d": (["a", "b", "c"], sp.csr_matrix(np.zeros((2, 2))))}, "t")
    with pytest.raises(ValueError, match="duplicated"):
        normalize_graphs({"d": (["a", "a"], sp.csr_matrix(np.zeros((2, 2))))}, "t")
    with pytest.raises(TypeError):
        normalize_graphs([("a", "b")], "t")
    joint = make_joint(angles([0, 30]), ["a", "b"], ["d1", "d1"])
    with pytest.raises(KeyError, match="no graph given"):
        mm.auc_graph(joint, {"other": (["a", "b"], sym(2, [(0, 1)]))})


# ----------------------------------------------------------------------------------------- iLISI


def test_ilisi_identical_points_hand_computed():
    # All 6 rows at the same point, 4 of batch a and 2 of b. Each row's 6 neighbours include itself with
    # weight 0, so its 5 others get weight 1/5. An a row sees 3 a + 2 b: Simpson (3/5)^2 + (2/5)^2 = 13/25,
    # LISI 25/13; a b row sees 4 a + 1 b: 17/25, LISI 25/17. Median over [25/17] * 2 + [25/13] * 4 = 25/13.
    joint = make_joint(np.zeros((6, 3)), list("abcdef"), ["a"] * 4 + ["b"] * 2)
    assert mm.ilisi(joint, scale=False) == pytest.approx(25 / 13)
    assert mm.ilisi(joint) == pytest.approx(25 / 13 - 1)
    # the 5 nearest other rows (include_self=False) are the same five rows here
    assert mm.ilisi(joint, n_neighbors=5, include_self=False) == pytest.approx(25 / 13 - 1)


def test_ilisi_mixed_and_separated():
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(150, 4))
    genes = [f"g{i}" for i in range(150)] * 2
    ds = ["a"] * 150 + ["b"] * 150
    twins = make_joint(np.vstack([Z, Z]), genes, ds)
    separated = make_joint(np.vstack([Z, Z + 50]), genes, ds)
    noisy = make_joint(np.vstack([Z, Z + 0.05 * rng.normal(size=Z.shape)]), genes, ds)
    # each row's own weight is masked, so its twin in the other batch (distance 0) tips the balance: well
    # mixed but below 1. 0.83648 is scib-metrics 0.5.10's `ilisi_knn` on the same kNN (k = 90 with self).
    assert mm.ilisi(twins) == pytest.approx(0.83648, abs=1e-4)
    assert mm.ilisi(separated) == pytest.approx(0.0, abs=1e-9)
    assert mm.ilisi(noisy) > 0.8
    # three batches of twins: also well mixed on the [0, 1] scale
    three = make_joint(np.vstack([Z, Z, Z]), genes + genes[:150], ds + ["c"] * 150)
    assert 0.8 < mm.ilisi(three) < 1.0


def test_lisi_matches_root_finding_reference():
    # Independent reference: solve H(beta) = log(perplexity) with brentq instead of bisection.
    rng = np.random.default_rng(6)
    n, k = 60, 12
    X = rng.normal(size=(n, 3))
    labels = rng.choice(["a", "b", "c"], size=n)
    d = np.linalg.norm(X[:, None] - X[None], axis=2)
    idx = np.argsort(d, axis=1)[:, :k]
    dist = np.take_along_axis(d, idx, axis=1)
    perp = 4.0
    ours = lisi_from_knn(dist, idx, labels, perplexity=perp)
    ref = np.empty(n)
    for i in range(n):
        D = dist[i]

        def entropy_gap(log_beta, D=D):
            P = np.exp(-D * np.exp(log_beta))
            P /= P.sum()
            return -(P[P > 0] * np.log(P[P > 0])).sum() - np.log(perp)

        beta = np.exp(brentq(entropy_gap, -20, 20, xtol=1e-12))
        P = np.exp(-D * beta)
        P /= P.sum()
        simpson = sum(P[labels[idx[i]] == lab].sum() ** 2 for lab in "abc")
        ref[i] = 1 / simpson
    np.testing.assert_allclose(ours, ref, rtol=1e-3)


def test_ilisi_include_self_option():
    rng = np.random.default_rng(16)
    n, k = 80, 15
    X = rng.normal(size=(n, 3))
    ds = rng.choice(["a", "b"], size=n)
    joint = make_joint(X, [f"g{i}" for i in range(n)], ds)
    d = np.linalg.norm(X[:, None] - X[None], axis=2)
    order = np.argsort(d, axis=1, kind="stable")
    for include_self, cols in ((True, slice(0, k)), (False, slice(1, k + 1))):
        idx = order[:, cols]
        # include_self: the row takes one of the k slots (column 0) and weighs nothing
        sub = slice(1, k) if include_self else slice(0, k)
        lisi = lisi_from_knn(np.take_along_axis(d, idx[:, sub], axis=1), idx[:, sub], ds, perplexity=k // 3)
        masked = lisi_from_knn(np.take_along_axis(d, idx, axis=1), idx, ds, perplexity=k // 3,
                                exclude_self=include_self)
        np.testing.assert_allclose(masked, lisi, rtol=1e-12)
        expected = np.median(lisi) - 1.0
        got = mm.ilisi(joint, n_neighbors=k, include_self=include_self)
        assert got == pytest.approx(expected, rel=1e-9)
    assert mm.ilisi(joint, n_neighbors=k, include_self=False) != mm.ilisi(joint, n_neighbors=k)


# ------------------------------------------------------------------------------------------- GC


def test_graph_connectivity_hand_computed():
    # 1-D groups {0, .1, .2} and {10, 10.1, 10.2}; with 3 neighbours (self included, scanpy) the kNN graph
    # links each group internally only.  Label x = {0, .1, .2, 10}: largest component 3 of 4;
    # label y = {10.1, 10.2}: connected.  GC = (3/4 + 1) / 2 = 0.875.
    joint = make_joint([0, 0.1, 0.2, 10, 10.1, 10.2], list("abcdef"), ["a"] * 6, cl=list("xxxxyy"))
    assert mm.graph_connectivity(joint, groupby="cl", n_neighbors=3) == pytest.approx(0.875)


def test_graph_connectivity_leiden_clusters_connected():
    rng = np.random.default_rng(7)
    X = np.vstack([rng.normal(size=(60, 4)), rng.normal(size=(60, 4)) + 8])
    joint = make_joint(X, [f"g{i}" for i in range(120)], ["a"] * 120)
    assert mm.graph_connectivity(joint) == pytest.approx(1.0)
    # module labels that cut across the two blobs are not connected within a label
    joint.obs["lab"] = ["p", "q"] * 60
    assert mm.graph_connectivity(joint, groupby="lab") < 0.75


# --------------------------------------------------------------------------------- common genes


def test_common_gene_ratio_hand_computed():
    # N = 7 rows.  Cluster 0: a/d1, a/d2, b/d1 -> 3 rows, 2 genes -> 1.  Cluster 1: b/d2, c/d1, c/d2, c/d3
    # -> 4 rows, 2 genes -> 2.  Ratio = (1 + 2) / 7.
    genes = ["a", "a", "b", "b", "c", "c", "c"]
    ds = ["d1", "d2", "d1", "d2", "d1", "d2", "d3"]
    cl = ["0", "0", "0", "1", "1", "1", "1"]
    joint = make_joint(np.eye(7), genes, ds, cl=cl)
    assert mm.common_gene_ratio(joint, groupby="cl") == pytest.approx(3 / 7)
    joint.obs["single"] = "0"  # one cluster: 7 rows, 3 genes -> 4/7
    assert mm.common_gene_ratio(joint, groupby="single") == pytest.approx(4 / 7)


# ---------------------------------------------------------------------------- neighbour overlap


def _overlap_case():
    # d1 edges a-b, a-c, c-d: N1(a)={b,c} N1(b)={a} N1(c)={a,d} N1(d)={c}
    # d2 edges a-b, b-c, c-d: N2(a)={b} N2(b)={a,c} N2(c)={b,d} N2(d)={c}
    graphs = {
        "d1": (list("abcd"), sym(4, [(0, 1), (0, 2), (2, 3)])),
        "d2": (list("abcd"), sym(4, [(0, 1), (1, 2), (2, 3)])),
    }
    genes = list("abcd") * 2
    ds = ["d1"] * 4 + ["d2"] * 4
    return genes, ds, graphs


def test_neighbor_overlap_hand_computed():
    genes, ds, graphs = _overlap_case()
    # Cluster 0 = {a1, a2, b1}: pairs (a1,a2) J = |{b}|/|{b,c}| = 1/2, (b1,a2) J = 0 -> mean 1/4
    # Cluster 1 = {c1, c2, d2}: (c1,c2) J = |{d}|/|{a,b,d}| = 1/3, (c1,d2) J = 0 -> mean 1/6
    # Cluster 2 = {d1, b2}: (d1,b2) J = |{c}|/|{a,c}| = 1/2
    # Total = 3/8 * 1/4 + 3/8 * 1/6 + 2/8 * 1/2 = 0.28125
    cl = {"a1": "0", "a2": "0", "b1": "0", "c1": "1", "c2": "1", "d2": "1", "d1": "2", "b2": "2"}
    labels = [cl[f"{g}{d[1]}"] for g, d in zip(genes, ds, strict=True)]
    joint = make_joint(np.eye(8), genes, ds, cl=labels)
    value, per = mm.neighbor_overlap(joint, graphs, groupby="cl", return_all=True)
    assert value == pytest.approx(0.28125)
    assert per["1"] == pytest.approx(1 / 6)


def test_neighbor_overlap_single_dataset_cluster_counts_zero():
    genes, ds, graphs = _overlap_case()
    # Cluster 0 = {a1, a2} (J = 1/2, weight 2/8); cluster 1 = the other 6 rows with pairs;
    # make cluster 2 = {b1, c1} (one dataset): contributes 0 but keeps its weight.
    lab = {"a1": "0", "a2": "0", "b1": "2", "c1": "2", "d1": "1", "b2": "1", "c2": "1", "d2": "1"}
    labels = [lab[f"{g}{d[1]}"] for g, d in zip(genes, ds, strict=True)]
    # Cluster 1 = {d1, b2, c2, d2}: cross pairs (d1,b2) 1/2, (d1,c2) |{c}∩{b,d}| = 0, (d1,d2) {c}/{c} = 1
    #   -> mean 1/2, weight 4/8.  Total = 2/8 * 1/2 + 4/8 * 1/2 + 0 = 0.375
    joint = make_joint(np.eye(8), genes, ds, cl=labels)
    value, per = mm.neighbor_overlap(joint, graphs, groupby="cl", return_all=True)
    assert np.isnan(per["2"])
    assert value == pytest.approx(0.375)


def test_neighbor_overlap_sampling_close_to_exact():
    rng = np.random.default_rng(8)
    m = 300
    genes = [f"g{i}" for i in range(m)]
    graphs = {}
    for d in ("d1", "d2"):
        A = sp.random(m, m, density=0.05, random_state=int(rng.integers(1000)))
        graphs[d] = (genes, ((A + A.T) > 0).astype(int))
    joint = make_joint(rng.normal(size=(2 * m, 3)), genes * 2, ["d1"] * m + ["d2"] * m, cl=["0"] * (2 * m))
    exact = mm.neighbor_overlap(joint, graphs, groupby="cl")
    sampled = mm.neighbor_overlap(joint, graphs, groupby="cl", max_pairs=20_000)
    assert exact > 0
    assert sampled == pytest.approx(exact, rel=0.05)


# ---------------------------------------------------------------------------------- paper_metrics


def _two_dataset_joint(rng, n=120, noise=0.1):
    modules = np.repeat(np.arange(4), n // 4)
    centers = rng.normal(size=(4, 8)) * 3
    Z = centers[modules] + rng.normal(size=(n, 8))
    genes = [f"g{i}" for i in range(n)]
    X = np.vstack([Z, Z + noise * rng.normal(size=Z.shape)])
    same = modules[:, None] == modules[None, :]
    A = sp.csr_matrix(np.triu(same & (rng.random((n, n)) < 0.2), 1))
    A = A + A.T
    joint = make_joint(X, genes * 2, ["a"] * n + ["b"] * n, module=list(modules) * 2)
    return joint, {"a": (genes, A), "b": (genes, A)}


def test_paper_metrics_consistent_with_single_functions():
    rng = np.random.default_rng(9)
    joint, graphs = _two_dataset_joint(rng)
    res = mm.paper_metrics(joint, graphs, groupby="module")
    assert list(res.index) == list(mm.PAPER_METRICS)
    assert res["ASW"] == pytest.approx(mm.asw_batch(joint, groupby="module"))
    assert res["AUC"] == pytest.approx(mm.auc_graph(joint, graphs))
    assert res["iLISI"] == pytest.approx(mm.ilisi(joint))
    assert res["GC"] == pytest.approx(mm.graph_connectivity(joint, groupby="module"))
    assert res["common_gene_ratio"] == pytest.approx(0.5)  # every gene meets its twin: 1 - 1/2
    assert res["neighbor_overlap"] == pytest.approx(mm.neighbor_overlap(joint, graphs, groupby="module"))
    assert res.attrs["n_clusters"] == 4
    # a well-integrated, structure-preserving embedding scores high on all six
    assert res["ASW"] > 0.8 and res["AUC"] > 0.7 and res["iLISI"] > 0.8 and res["GC"] > 0.9
    # with Leiden clusters of the embedding
    leiden = mm.paper_metrics(joint, graphs)
    assert leiden.notna().all()
    assert leiden["GC"] == pytest.approx(1.0)


def test_paper_metrics_single_dataset_nan_with_warning():
    rng = np.random.default_rng(10)
    joint, graphs = _two_dataset_joint(rng)
    one = joint[joint.obs["dataset"] == "a"].copy()
    with pytest.warns(UserWarning, match="single dataset"):
        res = mm.paper_metrics(one, graphs, groupby="module")
    assert res[["ASW", "iLISI", "common_gene_ratio", "neighbor_overlap"]].isna().all()
    assert res[["AUC", "GC"]].notna().all()
    with pytest.warns(UserWarning, match="single dataset"):
        assert np.isnan(mm.ilisi(one))
    with pytest.warns(UserWarning, match="single dataset"):
        assert np.isnan(mm.asw_batch(one, groupby="module"))


def test_paper_metrics_without_graphs_warns():
    rng = np.random.default_rng(11)
    joint, _ = _two_dataset_joint(rng)
    with pytest.warns(UserWarning, match="no `graphs`"):
        res = mm.paper_metrics(joint, groupby="module")
    assert np.isnan(res["AUC"]) and np.isnan(res["neighbor_overlap"])
    assert res[["ASW", "iLISI", "GC", "common_gene_ratio"]].notna().all()


def test_paper_metrics_nan_rows_and_common_genes():
    rng = np.random.default_rng(12)
    joint, graphs = _two_dataset_joint(rng)
    X = joint.obsm["X_muse"].copy()
    X[[0, 5]] = np.nan
    joint.obsm["X_muse"] = X
    with pytest.warns(UserWarning, match="2 of 240 rows"):
        res = mm.paper_metrics(joint, graphs, groupby="module")
    assert res.attrs["n_rows"] == 238 and res.attrs["n_dropped_nan"] == 2
    # genes g0 and g5 now only in dataset b: common_genes_only drops their remaining rows
    with pytest.warns(UserWarning, match="NaN"):
        res_c = mm.paper_metrics(joint, graphs, groupby="module", common_genes_only=True)
    assert res_c.attrs["n_rows"] == 236
    assert res_c["common_gene_ratio"] == pytest.approx(0.5)
    assert res["common_gene_ratio"] < 0.5


def test_paper_metrics_bad_inputs():
    rng = np.random.default_rng(13)
    joint, graphs = _two_dataset_joint(rng)
    with pytest.raises(TypeError):
        mm.paper_metrics(joint.obsm["X_muse"], graphs)
    with pytest.raises(KeyError, match="X_other"):
        mm.paper_metrics(joint, graphs, use_rep="X_other")
    bad = joint.copy()
    del bad.obs["gene"]
    with pytest.raises(KeyError, match="'gene'"):
        mm.paper_metrics(bad, graphs)
    with pytest.raises(KeyError, match="nope"):
        mm.paper_metrics(joint, graphs, groupby="nope")
    dup = make_joint(np.eye(3), ["a", "a", "b"], ["d", "d", "d"])
    with pytest.raises(ValueError, match="duplicated"):
        mm.paper_metrics(dup)
    empty_obs = pd.DataFrame({"gene": [], "dataset": []}, index=pd.Index([], dtype=str))
    empty = AnnData(obs=empty_obs, obsm={"X_muse": np.zeros((0, 4))})
    with pytest.raises(ValueError, match="empty"):
        mm.paper_metrics(empty)
    allnan = make_joint(np.full((3, 2), np.nan), list("abc"), ["d"] * 3)
    with pytest.raises(ValueError, match="every row"):
        mm.ilisi(allnan)


# ------------------------------------------------------------------------------------ average rank


def test_average_rank_with_ties_hand_computed():
    t = pd.DataFrame(
        {
            "tissue": ["heart"] * 3 + ["lung"] * 3,
            "method": ["muse", "pca", "gae"] * 2,
            "ASW": [0.9, 0.5, 0.5, 0.8, 0.7, 0.6],
            "AUC": [0.8, 0.9, 0.7, 0.9, 0.6, 0.7],
        }
    )
    out = mm.average_rank(t)
    # heart: ASW ranks muse 1, pca/gae tie 2.5; AUC ranks pca 1, muse 2, gae 3
    # lung:  ASW muse 1, pca 2, gae 3;         AUC muse 1, gae 2, pca 3
    expected = pd.DataFrame(
        {"heart": [1.5, 1.75, 2.75], "lung": [1.0, 2.5, 2.5]},
        index=pd.Index(["muse", "pca", "gae"], name="method"),
    )
    expected["overall"] = expected.mean(axis=1)
    pd.testing.assert_frame_equal(out, expected)
    # MultiIndex (tissue, method) input gives the same
    pd.testing.assert_frame_equal(mm.average_rank(t.set_index(["tissue", "method"])), expected)


def test_average_rank_seeds_no_tissue_and_nan():
    t = pd.DataFrame(
        {
            "method": ["m1", "m1", "m2", "m2", "m3"],
            "seed": [0, 1, 0, 1, 0],
            "A": [1.0, 0.0, 0.4, 0.4, 0.1],  # seed means: m1 .5, m2 .4, m3 .1 -> ranks 1, 2, 3
            "B": [0.2, 0.2, np.nan, 0.3, 0.9],  # m2 mean over its non-NaN seed .3: ranks m3 1, m2 2, m1 3
        }
    )
    out = mm.average_rank(t, metrics=["A", "B"])
    assert list(out.columns) == ["overall"]
    assert out["overall"].to_dict() == {"m1": 2.0, "m2": 2.0, "m3": 2.0}
    t2 = t.copy()
    t2.loc[t2["method"] == "m2", "B"] = np.nan
    keep = mm.average_rank(t2, metrics=["A", "B"])
    bottom = mm.average_rank(t2, metrics=["A", "B"], na_option="bottom")
    # keep: m2 ranked on A only (2); B ranks m3 1, m1 2 -> m1 (1+2)/2, m3 (3+1)/2
    assert keep["overall"].to_dict() == {"m1": 1.5, "m2": 2.0, "m3": 2.0}
    # bottom: m2's missing B is worst (3) -> m2 (2+3)/2
    assert bottom["overall"].to_dict() == {"m1": 1.5, "m2": 2.5, "m3": 2.0}
    with pytest.raises(KeyError, match="method"):
        mm.average_rank(t.rename(columns={"method": "algo"}))
    with pytest.raises(KeyError, match="C"):
        mm.average_rank(t, metrics=["C"])


# --------------------------------------------------------------------------------- planted truth


def test_planted_ari_nmi_hand_computed():
    # modules 0,0,1,1 vs clusters x,x,x,y: Σ C(n_ij,2) = 1, Σ C(a_i,2) = 2, Σ C(b_j,2) = 3, C(4,2) = 6
    # expected index 2*3/6 = 1, max index (2+3)/2 = 2.5 -> ARI = (1 - 1) / (2.5 - 1) = 0
    obs_module = [0, 0, 1, 1, -1, np.nan]
    joint = make_joint(np.eye(6), list("abcdef"), ["d"] * 6, module=obs_module, cl=list("xxxyyx"))
    assert mm.planted_ari(joint, groupby="cl") == pytest.approx(0.0, abs=1e-12)
    joint.obs["cl2"] = list("xxyyxy")  # perfect on module rows, rows without module ignored
    assert mm.planted_ari(joint, groupby="cl2") == pytest.approx(1.0)
    assert mm.planted_nmi(joint, groupby="cl2") == pytest.approx(1.0)
    with pytest.raises(KeyError, match="module"):
        mm.planted_ari(joint, groupby="cl", truth_key="nope")


def test_planted_ari_leiden_recovers_modules():
    rng = np.random.default_rng(14)
    joint, _ = _two_dataset_joint(rng, n=160)
    assert mm.planted_ari(joint, resolution=0.3) > 0.9
    shuffled = joint.copy()
    shuffled.obsm["X_muse"] = rng.normal(size=shuffled.obsm["X_muse"].shape)
    assert mm.planted_ari(shuffled, resolution=0.3) < 0.2


def test_same_gene_nn_rate_hand_computed():
    # d1: a 0°, b 90°; d2: a 80°, b 12°; d3: a 5°, c 45° (c only in d3 -> not scored).
    # Scored rows a1, b1, a2, b2, a3; nearest row of another dataset (smallest angle):
    # a1 (0°): a3 at 5° -> hit.        b1 (90°): a2 at 80° -> miss.   a2 (80°): b1 at 90° -> miss.
    # b2 (12°): a3 at 5° -> miss.      a3 (5°): a1 at 0° (b2 is 7° away) -> hit.      Rate = 2/5.
    genes = ["a", "b", "a", "b", "a", "c"]
    ds = ["d1", "d1", "d2", "d2", "d3", "d3"]
    joint = make_joint(angles([0, 90, 80, 12, 5, 45]), genes, ds)
    assert mm.same_gene_nn_rate(joint) == pytest.approx(2 / 5)
    with pytest.warns(UserWarning, match="single dataset"):
        assert np.isnan(mm.same_gene_nn_rate(joint[joint.obs["dataset"] == "d1"].copy()))


def test_context_separation_hand_computed():
    # gene a (context): heart 0°, lung 90°, lung2 90° -> cross-tissue pairs (0,90) x2 -> cos 0, 0 -> 0
    # gene b (not):     heart 0°, lung 60° -> cos .5 ; gene c (not): heart 0°, lung 0° -> 1 -> mean .75
    # gene d (not, one tissue only): skipped.  difference = .75 - 0
    genes = ["a", "a", "a", "b", "b", "c", "c", "d"]
    ds = ["h", "l", "l2", "h", "l", "h", "l", "h"]
    tissue = ["heart", "lung", "lung", "heart", "lung", "heart", "lung", "heart"]
    ctx = [True, True, True, False, False, False, False, False]
    joint = make_joint(angles([0, 90, 90, 0, 60, 0, 0, 30]), genes, ds, tissue=tissue, context_gene=ctx)
    res = mm.context_separation(joint)
    assert res["context"] == pytest.approx(0.0, abs=1e-12)
    assert res["non_context"] == pytest.approx(0.75)
    assert res["difference"] == pytest.approx(0.75)
    assert res["n_context"] == 1 and res["n_non_context"] == 2
    with pytest.raises(KeyError, match="organ"):
        mm.context_separation(joint, tissue_key="organ")


# ------------------------------------------------------------------------- optional scib-metrics


def test_cross_check_scib_metrics():
    scib_metrics = pytest.importorskip("scib_metrics")
    from scib_metrics.nearest_neighbors import NeighborsResults
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(15)
    n = 200
    X = rng.normal(size=(n, 5))
    ds = rng.choice(["a", "b"], size=n)
    X[ds == "a"] += 0.5
    cl = rng.choice(["x", "y"], size=n)
    joint = make_joint(X, [f"g{i}" for i in range(n)], ds, cl=cl)
    ref_asw = scib_metrics.silhouette_batch(X, cl, ds)
    assert mm.asw_batch(joint, groupby="cl") == pytest.approx(float(ref_asw), abs=1e-4)
    dist, idx = NearestNeighbors(n_neighbors=90).fit(X).kneighbors(X)
    ref_ilisi = scib_metrics.ilisi_knn(NeighborsResults(indices=idx, distances=dist), ds)
    assert mm.ilisi(joint) == pytest.approx(float(ref_ilisi), abs=1e-3)
    # graph connectivity on one kNN graph (15 neighbours, sparse labels so some are split)
    from muse_gnn.metrics._paper import _graph_connectivity_arrays

    dist, idx = NearestNeighbors(n_neighbors=15).fit(X).kneighbors(X)
    nn = NeighborsResults(indices=idx, distances=dist)
    labels = rng.choice(list("pqrstu"), size=n)
    ref_gc = scib_metrics.graph_connectivity(nn, labels)
    assert _graph_connectivity_arrays(nn.knn_graph_distances, labels) == pytest.approx(float(ref_gc), abs=1e-12)
    assert ref_gc < 1.0


def test_cluster_key_is_renamed_groupby():
    """The old keyword still works for one release, with a FutureWarning, and gives the same value."""
    obs = pd.DataFrame({"gene": ["a", "b", "a", "b"], "dataset": ["d1", "d1", "d2", "d2"], "cl": ["0", "1", "0", "0"]})
    joint = AnnData(obs=obs.rename(index=str), obsm={"X_muse": np.eye(4)})
    with pytest.warns(FutureWarning, match="`cluster_key` is renamed `groupby`"):
        old = mm.common_gene_ratio(joint, cluster_key="cl")
    assert old == mm.common_gene_ratio(joint, groupby="cl") == 0.25
