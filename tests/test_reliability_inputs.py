"""Property-based checks of the public ``mg.pp`` functions on odd AnnData input.

Every call either works or raises a ValueError/KeyError/TypeError naming the function; an error leaves
the AnnData (and the parent of a view) exactly as it was, a success only adds the documented outputs,
and no call runs past a time limit. Inputs: empty, single-cell/single-gene, dense/CSR/CSC,
float32/float64/int32/int64, views, NaN/inf/negative/non-integer values, all-zero cells and genes,
duplicate, integer and mouse-style gene names; backed files and missing ``X`` separately.
"""

from __future__ import annotations

import warnings
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _reliability import CLEAR_ERRORS, assert_unchanged, checked_call, snapshot
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import muse_gnn as mg

SETTINGS = settings(
    max_examples=20,
    derandomize=True,
    deadline=None,  # hangs are caught by the per-call time limit of `checked_call`
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

DEFECTS = ("none", "nan", "inf", "negative", "noninteger", "zero_cell", "zero_gene", "all_zero")
NAMES = ("human", "mouse", "duplicate", "integer")


def _make_adata(
    n_cells: int, n_genes: int, dtype: str, fmt: str, defect: str, names: str, spatial: bool, seed: int
) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    X = rng.poisson(3.0, size=(n_cells, n_genes)).astype(np.float64)
    if n_genes >= 2 and n_cells:
        X[:, : max(2, n_genes // 2)] += rng.poisson(4.0, size=(n_cells, 1))  # some co-expression
    if defect in {"nan", "inf", "noninteger"}:
        dtype = "float64" if dtype.startswith("int") else dtype
    X = X.astype(dtype)
    if X.size:
        i, j = int(rng.integers(n_cells)), int(rng.integers(n_genes))
        if defect == "nan":
            X[i, j] = np.nan
        elif defect == "inf":
            X[i, j] = np.inf
        elif defect == "negative":
            X[i, j] = -1
        elif defect == "noninteger":
            X[i, j] = X[i, j] + 0.5
        elif defect == "zero_cell":
            X[i, :] = 0
        elif defect == "zero_gene":
            X[:, j] = 0
        elif defect == "all_zero":
            X[:] = 0
    matrix: Any = X if fmt == "dense" else (sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X))
    adata = ad.AnnData(matrix)
    adata.obs_names = [f"cell{i}" for i in range(n_cells)]
    if names == "human":
        adata.var_names = [f"GENE{i:04d}" for i in range(n_genes)]
    elif names == "mouse":
        adata.var_names = [f"Gene{i:04d}" for i in range(n_genes)]
    elif names == "duplicate":
        adata.var_names = [f"GENE{max(i - 1, 0):04d}" for i in range(n_genes)]
    else:  # non-string gene names, as in AnnData(pd.DataFrame(...)) with integer columns
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adata.var.index = pd.Index(np.arange(n_genes) + 1)
    adata.obs["batch"] = pd.Categorical(["a", "b"] * (n_cells // 2) + ["a"] * (n_cells % 2))
    adata.uns["dataset"] = "probe"
    if spatial:
        k = np.arange(n_cells)
        adata.obsm["spatial"] = np.column_stack([k % 6, k // 6]).astype(np.float64) * 100.0
    return adata


@st.composite
def odd_adatas(draw: st.DrawFn) -> tuple[ad.AnnData, ad.AnnData | None]:
    """An odd AnnData and, when it is a view, its parent (half of the draws are valid input)."""
    valid = draw(st.booleans())
    dtype = draw(st.sampled_from(["float32", "float64", "int32", "int64"]))
    fmt = draw(st.sampled_from(["csr", "dense", "csc"]))
    spatial = draw(st.booleans())
    if valid:  # valid values of every kind, so the success path is checked as often as the errors
        n_cells = draw(st.sampled_from([30, 20, 45]))
        n_genes = draw(st.sampled_from([8, 2, 3, 20]))
        defect, names, view = "none", draw(st.sampled_from(["human", "mouse"])), False
    else:
        n_cells = draw(st.sampled_from([30, 0, 1, 2, 19, 20, 45]))
        n_genes = draw(st.sampled_from([8, 0, 1, 2, 3, 20]))
        defect = draw(st.sampled_from(DEFECTS))
        names = draw(st.sampled_from(NAMES))
        view = draw(st.booleans()) and names != "integer"  # anndata itself cannot slice integer-named objects
    seed = draw(st.integers(0, 2**16))
    adata = _make_adata(n_cells + (3 if view else 0), n_genes, dtype, fmt, defect, names, spatial, seed)
    if view:
        return adata[3:], adata
    return adata, None


def _involved(adata: ad.AnnData, parent: ad.AnnData | None) -> list[ad.AnnData]:
    return [adata] if parent is None else [adata, parent]


def _quiet(fn: Any) -> Any:
    def wrapped() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return wrapped


def _check_graph(adata: ad.AnnData, key: str = "muse") -> None:
    """The outputs of a successful graph construction are consistent."""
    conn = adata.varp[f"{key}_connectivities"]
    sel = adata.var[f"{key}_selected"].to_numpy()
    assert sp.issparse(conn) and conn.shape == (adata.n_vars, adata.n_vars)
    assert sel.dtype == bool and sel.sum() >= 2
    assert np.isfinite(conn.data).all() and (conn != conn.T).nnz == 0
    assert conn[~sel].nnz == 0, "edges outside the graph genes"
    assert "params" in adata.uns[key]
    genes, adj = mg.pp.get_graph(adata, graph_key=key)
    assert adj.shape == (len(genes), len(genes))
    feats = mg.pp.residual_features(adata, graph_key=key)
    assert feats.shape == (int(sel.sum()), adata.n_obs) and np.isfinite(feats).all()


# ------------------------------------------------------------------------------------------------ pp
@pytest.mark.parametrize("method", ["pearson", "cscore"])
@SETTINGS
@given(case=odd_adatas())
def test_coexpression_graph_odd_inputs(method: str, case: tuple[ad.AnnData, ad.AnnData | None]) -> None:
    adata, parent = case
    status, _ = checked_call(
        "coexpression_graph",
        _quiet(lambda: mg.pp.coexpression_graph(adata, n_top_genes=5, method=method, device="cpu")),
        _involved(adata, parent),
    )
    if status == "works":
        _check_graph(adata)


@SETTINGS
@given(case=odd_adatas())
def test_coexpression_graph_copy_never_modifies(case: tuple[ad.AnnData, ad.AnnData | None]) -> None:
    adata, parent = case
    status, out = checked_call(
        "coexpression_graph",
        _quiet(lambda: mg.pp.coexpression_graph(adata, n_top_genes=4, method="pearson", copy=True)),
        _involved(adata, parent),
        allow_added=False,
    )
    if status == "works":
        assert out is not adata
        _check_graph(out)


@SETTINGS
@given(case=odd_adatas())
def test_cscore_odd_inputs(case: tuple[ad.AnnData, ad.AnnData | None]) -> None:
    adata, parent = case
    status, _ = checked_call("cscore", _quiet(lambda: mg.pp.cscore(adata, device="cpu")), _involved(adata, parent))
    if status == "works":
        res = adata.uns["cscore"]
        n = len(res["genes"])
        assert res["est"].shape == (n, n) and res["p_value"].shape == (n, n)
        p = res["p_value"][np.isfinite(res["p_value"])]
        assert ((p >= 0) & (p <= 1)).all()


@SETTINGS
@given(case=odd_adatas())
def test_sparkx_odd_inputs(case: tuple[ad.AnnData, ad.AnnData | None]) -> None:
    adata, parent = case
    status, _ = checked_call("sparkx", _quiet(lambda: mg.pp.sparkx(adata)), _involved(adata, parent))
    assert status == "error" or "spatial" in adata.obsm
    if status == "works":
        p = adata.var["sparkx_pval"].to_numpy()
        assert p.shape == (adata.n_vars,)
        assert ((p[np.isfinite(p)] >= 0) & (p[np.isfinite(p)] <= 1)).all()


@SETTINGS
@given(case=odd_adatas())
def test_residual_hvg_odd_inputs(case: tuple[ad.AnnData, ad.AnnData | None]) -> None:
    adata, parent = case
    status, df = checked_call(
        "residual_hvg", _quiet(lambda: mg.pp.residual_hvg(adata, n_top_genes=3)), _involved(adata, parent),
        allow_added=False,
    )
    if status == "works":
        assert list(df.index) == list(adata.var_names)
        assert int(df["highly_variable"].sum()) <= 3


@SETTINGS
@given(case=odd_adatas(), n_edges=st.integers(0, 6), unknown=st.booleans())
def test_graph_from_edgelist_odd_inputs(
    case: tuple[ad.AnnData, ad.AnnData | None], n_edges: int, unknown: bool
) -> None:
    adata, parent = case
    names = [str(g) for g in adata.var_names]
    src = [names[i % len(names)] for i in range(n_edges)] if names else []
    tgt = [names[(i + 1) % len(names)] for i in range(n_edges)] if names else []
    if unknown:
        src, tgt = src + ["NOT_A_GENE"], tgt + (names[:1] or ["ALSO_NOT"])
    edges = pd.DataFrame({"source": src, "target": tgt})
    status, _ = checked_call(
        "graph_from_edgelist", _quiet(lambda: mg.pp.graph_from_edgelist(adata, edges)), _involved(adata, parent)
    )
    if status == "works":
        conn = adata.varp["muse_connectivities"]
        assert conn.shape == (adata.n_vars, adata.n_vars) and (conn != conn.T).nnz == 0


@SETTINGS
@given(case=odd_adatas(), copy=st.booleans(), drop=st.booleans())
def test_map_orthologs_odd_inputs(case: tuple[ad.AnnData, ad.AnnData | None], copy: bool, drop: bool) -> None:
    adata, parent = case
    table = mg.datasets.simulate_orthologs(n_genes=20, universe_factor=1.0)
    # the table's symbols are GENE0001.. / Gene0001..: our names GENE0000.. overlap from index 1 on
    before_names = [str(g) for g in adata.var_names]
    before_X = None if adata.X is None or adata.n_vars == 0 else snapshot(adata)["X"]
    involved = _involved(adata, parent)
    if copy:
        status, out = checked_call(
            "map_orthologs",
            _quiet(lambda: mg.pp.map_orthologs(adata, table, drop_unmapped=drop, copy=True)),
            involved, allow_added=False,
        )
    else:  # in place: on success var_names change by design, so only the error path is checked here
        snaps = [snapshot(a) for a in involved]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mg.pp.map_orthologs(adata, table, drop_unmapped=drop)
            status, out = "works", adata
            event("map_orthologs: works")
        except CLEAR_ERRORS as err:
            assert "map_orthologs" in str(err)
            event(f"map_orthologs: {type(err).__name__}")
            for a, s in zip(involved, snaps, strict=True):
                assert_unchanged(a, s)
            status = "error"
    if status == "works":
        kept = out.var["mouse_symbol"].astype(str).tolist()
        assert set(kept) <= set(before_names)
        assert out.var_names.is_unique and out.uns["map_orthologs"]["n_mapped"] >= 1
        cols = [before_names.index(g) for g in kept]
        Xo = out.X.toarray() if sp.issparse(out.X) else np.asarray(out.X)
        Xb = before_X.toarray() if sp.issparse(before_X) else np.asarray(before_X)
        np.testing.assert_array_equal(Xo, Xb[:, cols])


@SETTINGS
@given(case=odd_adatas())
def test_graph_readers_without_graph(case: tuple[ad.AnnData, ad.AnnData | None]) -> None:
    adata, parent = case
    for name, fn in (
        ("get_graph", lambda: mg.pp.get_graph(adata)),
        ("residual_features", lambda: mg.pp.residual_features(adata)),
    ):
        status, err = checked_call(name, fn, _involved(adata, parent), allow_added=False)
        assert status == "error" and isinstance(err, KeyError) and "coexpression_graph" in str(err)


@settings(max_examples=25, derandomize=True, deadline=None, database=None)
@given(
    n_cells=st.integers(1, 12),
    n_genes=st.integers(1, 6),
    dtype=st.sampled_from(["float32", "float64", "int32", "int64"]),
    fmt=st.sampled_from(["dense", "csr", "csc"]),
    seed=st.integers(0, 1000),
)
def test_pearson_residuals_arrays(n_cells: int, n_genes: int, dtype: str, fmt: str, seed: int) -> None:
    X = np.random.default_rng(seed).poisson(1.0, size=(n_cells, n_genes)).astype(dtype)
    M = X if fmt == "dense" else (sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X))
    before = M.copy()
    try:
        r = mg.pp.pearson_residuals(M)
    except ValueError as err:
        assert X.sum() == 0 and "all zero" in str(err)
        return
    assert r.shape == (n_genes, n_cells) and r.dtype == np.float32 and np.isfinite(r).all()
    assert np.abs(r).max() <= np.sqrt(n_cells) + 1e-5
    dense_before = before.toarray() if sp.issparse(before) else before
    dense_after = M.toarray() if sp.issparse(M) else M
    np.testing.assert_array_equal(dense_after, dense_before)


# ------------------------------------------------------------------------------------------------ fixed cases
@pytest.mark.parametrize(
    "name, call",
    [
        ("coexpression_graph", lambda a: mg.pp.coexpression_graph(a, n_top_genes=5, method="pearson")),
        ("cscore", lambda a: mg.pp.cscore(a, device="cpu")),
        ("sparkx", lambda a: mg.pp.sparkx(a)),
        ("residual_hvg", lambda a: mg.pp.residual_hvg(a)),
        ("graph_from_edgelist", lambda a: mg.pp.graph_from_edgelist(
            a, pd.DataFrame({"source": ["GENE0000"], "target": ["GENE0001"]}))),
        ("map_orthologs", lambda a: mg.pp.map_orthologs(a, mg.datasets.simulate_orthologs(n_genes=20))),
    ],
)
def test_backed_and_missing_X(tmp_path, name: str, call: Any) -> None:
    src = _make_adata(30, 8, "float32", "csr", "none", "human", True, 0)
    src.write_h5ad(tmp_path / "a.h5ad")
    backed = ad.read_h5ad(tmp_path / "a.h5ad", backed="r")
    try:
        status, err = checked_call(name, _quiet(lambda: call(backed)), [backed])
        assert status == "error" and "to_memory" in str(err)
    finally:
        backed.file.close()
    no_x = ad.AnnData(obs=src.obs.copy(), var=src.var.copy(), obsm={"spatial": src.obsm["spatial"]})
    status, err = checked_call(name, _quiet(lambda: call(no_x)), [no_x])
    if name != "map_orthologs":  # renaming genes needs no expression values
        assert status == "error" and "layer" in str(err)


def test_integer_gene_names_are_rejected_before_they_corrupt_embeddings() -> None:
    """Regression: integer var_names used to give a graph whose embeddings landed in one wrong row."""
    adata = _make_adata(30, 8, "float32", "csr", "none", "integer", False, 0)
    with pytest.raises(TypeError, match=r"astype\(str\)"):
        mg.pp.coexpression_graph(adata, n_top_genes=5, method="pearson")
    adata.var_names = adata.var_names.astype(str)
    mg.pp.coexpression_graph(adata, n_top_genes=5, method="pearson")
    assert adata.var["muse_selected"].sum() == 5


def test_coexpression_graphs_failure_in_one_dataset_leaves_all_unchanged() -> None:
    good = _make_adata(30, 8, "float32", "csr", "none", "human", False, 1)
    bad = _make_adata(30, 8, "float64", "dense", "nan", "human", False, 2)
    snaps = [snapshot(good), snapshot(bad)]
    with pytest.raises(ValueError, match="dataset 'b'.*NaN"):
        mg.pp.coexpression_graphs({"a": good, "b": bad}, n_top_genes=5, method="pearson", show_progress_bar=False)
    assert_unchanged(good, snaps[0])
    assert_unchanged(bad, snaps[1])
