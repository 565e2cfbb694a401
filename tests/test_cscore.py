"""Tests of CS-CORE co-expression (the package `muse_gnn.pp._cscore`)."""

from __future__ import annotations

import logging
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats

from _cscore_reference import naive_cscore

import muse_gnn as mg
from muse_gnn import ConvergenceWarning, MuseGNNWarning
from muse_gnn.pp._cscore import CSCoreResult, _api, cscore, cscore_arrays
from muse_gnn.pp._cscore._engine import _cscore_engine
from muse_gnn.pp._cscore._gram import _DividedGram

SHARED = Path(__file__).resolve().parents[2] / "shared"
VECTORS = SHARED / "testvectors" / "cscore"
CASES = ["simulated_small", "celltypist_top200"]
RTOL, ATOL = 1e-7, 1e-9


def load_case(case: str) -> dict[str, np.ndarray]:
    path = VECTORS / f"{case}.npz"
    if not path.exists():
        pytest.skip(f"test vectors not found at {path}")
    with np.load(path) as r:
        return {k: r[k] for k in r.files}


def assert_matches(mine: np.ndarray, ref: np.ndarray, what: str) -> None:
    assert mine.shape == ref.shape and mine.dtype == np.float64, what
    np.testing.assert_allclose(mine, ref, rtol=RTOL, atol=ATOL, err_msg=what)


def simulate(n_cells: int = 400, n_genes: int = 40, seed: int = 0, n_pure: int = 4):
    """Poisson-lognormal counts with a planted block (genes 0-7) and ``n_pure`` pure-Poisson genes at the end.

    Returns counts (int64, cells × genes), sequencing depth (float, includes a remaining transcriptome)
    and the true correlation of the latent expression.
    """
    rng = np.random.default_rng(seed)
    depth = rng.lognormal(np.log(6000), 0.35, n_cells)
    m = rng.uniform(5e-4, 5e-3, n_genes)
    load = np.zeros(n_genes)
    load[:8] = 0.7
    var = load**2 + 0.5**2
    var[n_genes - n_pure :] = 0.0
    f = rng.standard_normal((n_cells, 1))
    e = rng.standard_normal((n_cells, n_genes)) * np.sqrt(var - load**2)
    z = np.exp(np.log(m) - var / 2 + f * load + e)
    x = rng.poisson(depth[:, None] * z)
    s = x.sum(1) + rng.poisson(depth * (1 - m.sum()))
    cov = np.outer(load, load) + np.diag(var - load**2)
    ez = np.outer(m, m) * (np.exp(cov) - 1)
    sd = np.sqrt(np.diag(ez))
    with np.errstate(invalid="ignore", divide="ignore"):
        true_corr = ez / np.outer(sd, sd)
    return x, s.astype(np.float64), true_corr


# --------------------------------------------------------------------------------------------------------------
# conformance with the authors' implementation
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_conformance_with_reference(case: str) -> None:
    r = load_case(case)
    est, p_value, test_stat = cscore_arrays(r["counts"], r["seq_depth"], device="cpu")
    assert_matches(est, r["est"], "est")
    assert_matches(p_value, r["p_value"], "p_value")
    assert_matches(test_stat, r["test_stat"], "test_stat")
    raw = cscore_arrays(r["counts"], r["seq_depth"], post_process=False, device="cpu")[0]
    assert_matches(raw, r["est_unprocessed"], "est_unprocessed")
    # the reference outputs are all symmetric; so are ours
    for a in (est, p_value, test_stat):
        np.testing.assert_allclose(a, a.T, rtol=1e-12, atol=1e-14)


def test_reference_negative_variance_genes() -> None:
    """Case (a): g0057-g0059 have σ_gg < 0: est rows 0 with diagonal 1, p-values finite, raw diagonal +inf."""
    r = load_case("simulated_small")
    est, p_value, test_stat = cscore_arrays(r["counts"], r["seq_depth"], device="cpu")
    raw = cscore_arrays(r["counts"], r["seq_depth"], post_process=False, device="cpu")[0]
    neg = np.isin(r["genes"], ["g0057", "g0058", "g0059"])
    assert np.array_equal(np.isinf(np.diag(raw)), neg)
    sub = est[neg]
    assert np.all(sub[:, ~neg] == 0) and np.all(np.diag(est) == 1)
    assert np.all(np.isfinite(p_value)) and np.all(np.isfinite(test_stat))
    assert est.min() >= -1 and est.max() <= 1


@pytest.mark.parametrize(
    "variant",
    [
        "csr",
        "csc",
        "float32_input",
        "block_37",
        "sparse_block_50",
        "torch",
        "torch_block_64",
        "product_denominators",
    ],
)
def test_conformance_variants(variant: str) -> None:
    """Sparse input, other dtypes, cell blocks and the torch backend reproduce the reference too."""
    r = load_case("celltypist_top200")
    X, s = r["counts"], r["seq_depth"]
    kw: dict = {"device": "cpu"}
    if variant == "csr":
        X = sp.csr_matrix(X)
    elif variant == "csc":
        X = sp.csc_matrix(X)
    elif variant == "float32_input":
        X = X.astype(np.float32)
    elif variant == "block_37":
        kw["block_size"] = 37
    elif variant == "sparse_block_50":
        X, kw["block_size"] = sp.csr_matrix(X), 50
    elif variant == "torch":
        kw["backend"] = "torch"
    elif variant == "torch_block_64":
        kw["backend"], kw["block_size"] = "torch", 64
    if variant == "product_denominators":
        out = _cscore_engine(X, s, denominators="product", device="cpu")
        est, p_value, test_stat = out.est, out.p_value, out.test_stat
    else:
        est, p_value, test_stat = cscore_arrays(X, s, **kw)
    assert_matches(est, r["est"], "est")
    assert_matches(p_value, r["p_value"], "p_value")
    assert_matches(test_stat, r["test_stat"], "test_stat")


def test_irls_iterations_logged(caplog: pytest.LogCaptureFixture) -> None:
    """The number of IRLS iterations is logged and equals the reference's (3 and 4)."""
    for case, expected in (("simulated_small", 3), ("celltypist_top200", 4)):
        r = load_case(case)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="muse_gnn"):
            out = _cscore_engine(r["counts"], r["seq_depth"], device="cpu")
        assert out.n_passes == expected and out.converged
        assert f"IRLS converged after {expected} iteration(s)" in caplog.text


def test_naive_transcription_matches_reference() -> None:
    """The independent dense transcription used below is itself faithful to the reference."""
    r = load_case("simulated_small")
    est, p_value, test_stat, j = naive_cscore(r["counts"], r["seq_depth"])
    assert j == 3
    assert_matches(p_value, r["p_value"], "p_value")
    assert_matches(est, r["est"], "est")
    assert_matches(test_stat, r["test_stat"], "test_stat")


# --------------------------------------------------------------------------------------------------------------
# the engine on other data
# --------------------------------------------------------------------------------------------------------------
def test_sparse_equals_dense_and_block_sizes_agree() -> None:
    x, s, _ = simulate(n_cells=300, n_genes=30, seed=1)
    ref = cscore_arrays(x, s, device="cpu")
    variants = [
        cscore_arrays(sp.csr_matrix(x), s, device="cpu"),
        cscore_arrays(sp.csc_matrix(x.astype(np.float32)), s, device="cpu"),
        *(cscore_arrays(x, s, block_size=b, device="cpu") for b in (1, 7, 64, 299, 10_000)),
        cscore_arrays(sp.csr_matrix(x), s, block_size=13, device="cpu"),
    ]
    for out in variants:
        for a, b in zip(out, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_matches_naive_with_hard_genes() -> None:
    """Duplicated genes, under-dispersed genes (σ_gg < 0, with 1 + s λ changing sign), several blocks."""
    rng = np.random.default_rng(3)
    n = 400
    s = rng.uniform(3000, 5000, n)
    z = rng.gamma(3, 1 / 3, (n, 30)) * rng.uniform(1e-3, 5e-3, 30)
    X = rng.poisson(s[:, None] * z)
    X[:, 0] = np.round(s * 2e-3)  # no variation beyond the depth: σ_gg ≈ −μ/s
    X[:, 1] = np.round(s * 3e-3)
    X[:, 2] = X[:, 3]  # identical genes: equal κ and λ
    for post in (False, True):
        ref = naive_cscore(X, s, post_process=post)
        for kw in ({}, {"block_size": 64}, {"denominators": "product"}, {"backend": "torch"}):
            out = _cscore_engine(X, s, post_process=post, device="cpu", **kw)
            assert out.negative_genes[:2].all()
            for a, b in zip((out.est, out.p_value, out.test_stat), ref[:3], strict=True):
                # the reference gives NaN test statistics where the variance s μ + s² σ changes sign
                np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    assert np.isnan(ref[2]).any()


@pytest.mark.parametrize("spread", [0.2, 1.2])
def test_divided_denominators_equal_products(spread: float) -> None:
    """Σ_i s_i² r_ig r_ih from per-gene sums equals the explicit product, also for close and equal x."""
    rng = np.random.default_rng(int(spread * 10))
    s = rng.lognormal(np.log(5000), spread, 900)
    x = np.exp(rng.uniform(np.log(1e-6), np.log(1.0), 300))
    x[:20] = x[20:40]  # ties
    x[40:45] = x[45] * (1 + 1e-9 * np.arange(5))  # nearly equal
    x[50:56] = -rng.uniform(0, 0.4 / s.max(), 6)  # negative but regular
    x[56:59] = -rng.uniform(0.6 / s.max(), 3 / s.max(), 3)  # 1 + s x changes sign: summed explicitly
    acc = _DividedGram(s, x)
    for rows in np.array_split(np.arange(s.size), 3):
        Rs = s[rows, None] / (1 + s[rows, None] * x[None, :])
        acc.add(s[rows], Rs)
    K = acc.finish()
    Rs = s[:, None] / (1 + s[:, None] * x[None, :])
    G = Rs.T @ Rs
    np.testing.assert_allclose(K, G, rtol=1e-9)
    # many equal values: falls back to the full product
    acc = _DividedGram(s, np.full(300, 1e-3))
    acc.add(s, np.repeat((s / (1 + s * 1e-3))[:, None], 300, 1))
    np.testing.assert_allclose(
        acc.finish(), np.full((300, 300), np.sum((s / (1 + s * 1e-3)) ** 2)), rtol=1e-12
    )


def test_gene_positions_equal_column_subset() -> None:
    x, s, _ = simulate(n_cells=300, n_genes=30, seed=8)
    cols = np.array([7, 2, 29, 11, 0, 5])
    ref = cscore_arrays(x[:, cols], s, device="cpu")
    for X, kw in ((x, {}), (x, {"block_size": 41}), (sp.csr_matrix(x), {}), (x, {"backend": "torch"})):
        out = cscore_arrays(X, s, genes=cols, device="cpu", **kw)
        for a, b in zip(out, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(cscore_arrays(x, s, genes=cols - 30, device="cpu")[0], ref[0])
    with pytest.raises(IndexError, match="outside"):
        cscore_arrays(x, s, genes=[0, 30])
    with pytest.raises(TypeError, match="integer column positions"):
        cscore_arrays(x, s, genes=["a", "b"])


def test_torch_and_numpy_agree() -> None:
    x, s, _ = simulate(n_cells=300, n_genes=25, seed=2)
    a = cscore_arrays(x, s, device="cpu", backend="numpy")
    b = cscore_arrays(x, s, device="cpu", backend="torch")
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)
    # float32 products: close, not identical
    c = cscore_arrays(x, s, device="cpu", backend="torch", dtype=np.float32)
    d = cscore_arrays(x, s, device="cpu", dtype=np.float32)
    for u, v, w in zip(a, c, d, strict=True):
        np.testing.assert_allclose(v, u, atol=1e-4 * max(1.0, np.abs(u).max()))
        np.testing.assert_allclose(w, u, atol=1e-4 * max(1.0, np.abs(u).max()))


def test_constant_depth_closed_form() -> None:
    """With equal depth for all cells the weights are constant per gene and CS-CORE has a closed form:
    ρ = cov / sqrt((var_g − mean_g)(var_h − mean_h)) and T = sqrt(n) · Pearson correlation."""
    rng = np.random.default_rng(5)
    n = 500
    shared = rng.gamma(2.0, 0.5, n)
    lam = np.column_stack([shared * 8, shared * 5, rng.gamma(2.0, 2.0, n), rng.gamma(3.0, 1.0, n)])
    X = rng.poisson(lam).astype(np.float64)
    s = np.full(n, 1000.0)
    est, p_value, T = cscore_arrays(X, s, post_process=False, device="cpu")
    mean = X.mean(0)
    D = X - mean
    cov = D.T @ D / n
    var = np.diag(cov)
    assert np.all(var > mean)
    np.testing.assert_allclose(est, cov / np.sqrt(np.outer(var - mean, var - mean)), rtol=1e-10)
    np.testing.assert_allclose(T, np.sqrt(n) * np.corrcoef(X.T), rtol=1e-10)
    np.testing.assert_allclose(p_value, 2 * stats.norm.sf(np.abs(T)), rtol=1e-10, atol=1e-300)
    out = _cscore_engine(X, s, device="cpu")
    assert out.n_passes == 1 and out.converged  # θ does not change
    assert est[0, 1] > 0.9 and p_value[0, 1] < 1e-10


def test_independent_genes_uniform_pvalues_and_planted_block() -> None:
    x, s, truth = simulate(n_cells=1500, n_genes=60, seed=7, n_pure=0)
    est, p_value, _ = cscore_arrays(x, s, device="cpu")
    null = np.arange(8, 60)
    iu = np.triu_indices(null.size, 1)
    p_null = p_value[np.ix_(null, null)][iu]
    e_null = est[np.ix_(null, null)][iu]
    assert abs(e_null.mean()) < 0.02 and np.quantile(np.abs(e_null), 0.95) < 0.2
    assert 0.02 < np.mean(p_null < 0.05) < 0.09
    assert stats.kstest(p_null, "uniform").pvalue > 1e-3
    blk = np.triu_indices(8, 1)
    e_blk, t_blk = est[:8, :8][blk], truth[:8, :8][blk]
    assert np.all(p_value[:8, :8][blk] < 1e-6)
    assert abs(np.mean(e_blk) - np.mean(t_blk)) < 0.1


def test_engine_zero_count_gene_is_nan() -> None:
    x, s, _ = simulate(n_cells=300, n_genes=20, seed=3)
    x0 = np.insert(x, 5, 0, axis=1)
    with pytest.warns(MuseGNNWarning, match="1 gene\\(s\\) have no counts") as rec:
        est, p_value, T = cscore_arrays(x0, s, device="cpu")
    assert rec[0].filename == __file__
    ref = cscore_arrays(x, s, device="cpu")
    for a, b in zip((est, p_value, T), ref, strict=True):
        assert np.all(np.isnan(a[5])) and np.all(np.isnan(a[:, 5]))
        np.testing.assert_allclose(np.delete(np.delete(a, 5, 0), 5, 1), b, rtol=1e-12)


def test_engine_not_converged_warns() -> None:
    """Six genes, depth = their own total: θ̃ oscillates and the 11-pass limit is reached, like the reference."""
    rng = np.random.default_rng(0)
    depth = rng.lognormal(np.log(5000), 0.3, size=200)
    shared = rng.gamma(4.0, 0.25, size=(200, 1))
    z = 1e-3 * np.hstack([shared.repeat(3, 1), rng.gamma(4.0, 0.25, size=(200, 3))])
    X = rng.poisson(depth[:, None] * z)
    s = X.sum(1).astype(float)
    with pytest.warns(ConvergenceWarning, match="did not converge after 11 iterations"):
        out = _cscore_engine(X, s, device="cpu")
    assert not out.converged and out.n_passes == 11 == naive_cscore(X, s)[3]
    # public functions: the warning is catchable by category and points at the caller's line
    with pytest.warns(mg.MuseGNNWarning) as rec:
        cscore_arrays(X, s, device="cpu", show_progress_bar=False)
    assert rec[0].category is ConvergenceWarning and rec[0].filename == __file__


@pytest.mark.parametrize(
    ("counts", "depth", "kw", "err", "match"),
    [
        (np.ones((5, 3)), np.ones(4), {}, ValueError, "one value per cell"),
        (np.ones((5, 3)), np.array([1, 1, 0, 1, 1.0]), {}, ValueError, "finite and > 0"),
        (np.ones((5, 3)), np.array([1, 1, np.nan, 1, 1.0]), {}, ValueError, "finite and > 0"),
        (-np.ones((5, 3)), np.ones(5), {}, ValueError, "negative"),
        (np.full((5, 3), np.nan), np.ones(5), {}, ValueError, "NaN"),
        (sp.csr_matrix(-np.ones((5, 3))), np.ones(5), {}, ValueError, "negative"),
        (np.ones(5), np.ones(5), {}, ValueError, "2-d"),
        (np.ones((5, 3), dtype=bool), np.ones(5), {}, TypeError, "real numbers"),
        (np.ones((5, 3)), np.ones(5), {"device": "tpu"}, ValueError, "device"),
        (np.ones((5, 3)), np.ones(5), {"backend": "jax"}, ValueError, "backend"),
        (np.ones((5, 3)), np.ones(5), {"dtype": np.float16}, ValueError, "dtype"),
        (np.ones((5, 3)), np.ones(5), {"block_size": 0}, ValueError, "block_size"),
        # no variation beyond Poisson noise at all: every σ_gg < 0
        (np.full((50, 3), 4.0), np.full(50, 1000.0), {}, ValueError, "no gene has a positive variance"),
    ],
)
def test_engine_bad_input(counts, depth, kw, err, match) -> None:
    with pytest.raises(err, match=match):
        cscore_arrays(counts, depth, **kw)


# --------------------------------------------------------------------------------------------------------------
# AnnData interface
# --------------------------------------------------------------------------------------------------------------
def make_adata(seed: int = 0, sparse: bool = False) -> ad.AnnData:
    x, s, _ = simulate(n_cells=300, n_genes=24, seed=seed)
    X = sp.csr_matrix(x.astype(np.float32)) if sparse else x.astype(np.float32)
    adata = ad.AnnData(X, obs=pd.DataFrame({"depth": s}, index=[f"c{i}" for i in range(x.shape[0])]))
    adata.var_names = [f"G{j}" for j in range(x.shape[1])]
    adata.layers["counts"] = adata.X.copy()
    return adata


def snapshot(adata: ad.AnnData) -> dict:
    X = adata.X.toarray() if sp.issparse(adata.X) else np.array(adata.X)
    return {
        "X": X,
        "uns": sorted(adata.uns.keys()),
        "obs": adata.obs.copy(),
        "var": adata.var.copy(),
        "layers": sorted(adata.layers.keys()),
        "shape": adata.shape,
    }


def assert_unchanged(adata: ad.AnnData, snap: dict) -> None:
    X = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    np.testing.assert_array_equal(X, snap["X"])
    assert sorted(adata.uns.keys()) == snap["uns"]
    pd.testing.assert_frame_equal(adata.obs, snap["obs"])
    pd.testing.assert_frame_equal(adata.var, snap["var"])
    assert sorted(adata.layers.keys()) == snap["layers"] and adata.shape == snap["shape"]


@pytest.mark.parametrize("sparse", [False, True])
def test_anndata_inplace_and_h5ad_roundtrip(tmp_path: Path, sparse: bool) -> None:
    adata = make_adata(sparse=sparse)
    genes = ["G3", "G0", "G10", "G7", "G23"]
    assert cscore(adata, genes=genes, device="cpu") is None
    res = adata.uns["cscore"]
    assert set(res) == {"genes", "est", "p_value", "test_stat", "params"}
    assert list(res["genes"]) == genes
    X = adata.X.toarray() if sparse else adata.X
    s = np.asarray(X.sum(1), dtype=np.float64).ravel()
    cols = [adata.var_names.get_loc(g) for g in genes]
    ref = cscore_arrays(np.asarray(X)[:, cols], s, device="cpu")
    for key, r in zip(("est", "p_value", "test_stat"), ref, strict=True):
        np.testing.assert_allclose(res[key], r, rtol=1e-12)
    p = res["params"]
    assert p["seq_depth"] == "total_counts" and p["n_cells"] == 300 and p["n_genes"] == 5
    assert p["irls_converged"] and p["irls_iterations"] >= 1 and p["backend"] == "numpy"
    path = tmp_path / "a.h5ad"
    adata.write_h5ad(path)
    back = ad.read_h5ad(path).uns["cscore"]
    assert [str(g) for g in back["genes"]] == genes
    for key in ("est", "p_value", "test_stat"):
        np.testing.assert_array_equal(back[key], res[key])
    assert back["params"] == p


def test_anndata_conformance_through_wrapper() -> None:
    """The AnnData function with the reference's depth (obs column or array) reproduces the test vectors."""
    r = load_case("simulated_small")
    adata = ad.AnnData(r["counts"].astype(np.float32))
    adata.var_names = r["genes"].astype(str)
    adata.obs["depth"] = r["seq_depth"]
    res = cscore(adata, seq_depth="depth", device="cpu", inplace=False)
    assert isinstance(res, CSCoreResult)
    assert_matches(res.est, r["est"], "est")
    assert_matches(res.p_value, r["p_value"], "p_value")
    assert_matches(res.test_stat, r["test_stat"], "test_stat")
    assert res.params["n_negative_variance"] == 3 and res.params["irls_iterations"] == 3
    res2 = cscore(adata, seq_depth=r["seq_depth"], device="cpu", inplace=False, post_process=False)
    assert_matches(res2.est, r["est_unprocessed"], "est_unprocessed")
    frames = res.to_frames()
    assert list(frames["est"].index) == list(r["genes"]) and frames["p_value"].shape == (60, 60)
    assert "cscore" not in adata.uns


def test_anndata_options() -> None:
    adata = make_adata(seed=4)
    mask = np.zeros(adata.n_vars, dtype=bool)
    mask[[1, 4, 9, 12]] = True
    a = cscore(adata, genes=mask, inplace=False, device="cpu")
    b = cscore(adata, genes=["G1", "G4", "G9", "G12"], inplace=False, device="cpu")
    c = cscore(adata, genes=pd.Index(["G1", "G4", "G9", "G12"]), layer="counts", inplace=False, device="cpu")
    for r in (b, c):
        np.testing.assert_array_equal(r.est, a.est)
        assert list(r.genes) == list(a.genes)
    # seq_depth: obs column == the same array; None == total counts over all genes
    d = cscore(adata, seq_depth="depth", inplace=False, device="cpu")
    e = cscore(adata, seq_depth=adata.obs["depth"].to_numpy(), inplace=False, device="cpu")
    np.testing.assert_array_equal(d.est, e.est)
    assert d.params["seq_depth"] == "depth" and e.params["seq_depth"] == "array"
    f = cscore(adata, inplace=False, device="cpu")
    g = cscore(adata, seq_depth=np.asarray(adata.X.sum(1)).ravel(), inplace=False, device="cpu")
    np.testing.assert_allclose(f.est, g.est, rtol=1e-12)
    cscore(adata, key_added="co", block_size=50, post_process=False, device="cpu")
    assert adata.uns["co"]["params"]["block_size"] == 50 and not adata.uns["co"]["params"]["post_process"]


def test_anndata_noncounts_and_many_genes(monkeypatch: pytest.MonkeyPatch) -> None:
    adata = make_adata(seed=5)
    adata.X = adata.X * 0.5
    with pytest.raises(ValueError, match="non-integer"):
        cscore(adata, device="cpu")
    with pytest.warns(UserWarning, match="non-integer"):
        res = cscore(adata, allow_noncounts=True, inplace=False, device="cpu")
    assert not res.params["integer_counts"] and np.all(np.isfinite(res.est))
    monkeypatch.setattr(_api, "MANY_GENES", 10)
    with pytest.warns(UserWarning, match="24 genes selected"):
        cscore(make_adata(seed=5), inplace=False, device="cpu")


def _bad_cases():
    def zero_gene(a):
        a.X[:, 3] = 0
        a.layers["counts"][:, 3] = 0
        return {}

    def negative(a):
        a.X[0, 0] = -1
        return {}

    def zero_depth(a):
        a.obs["depth"] = a.obs["depth"].where(np.arange(a.n_obs) != 2, 0.0)
        return {"seq_depth": "depth"}

    def nan_depth(a):
        a.obs["depth"] = a.obs["depth"].where(np.arange(a.n_obs) != 2, np.nan)
        return {"seq_depth": "depth"}

    def empty_cell(a):
        a.X[7, :] = 0
        return {}

    return [
        (lambda a: {"genes": ["G1", "nope", "G2", "also_missing"]}, KeyError, "nope"),
        (lambda a: {"genes": np.ones(5, dtype=bool)}, ValueError, "boolean mask"),
        (lambda a: {"genes": ["G1", "G1", "G2"]}, ValueError, "more than once"),
        (lambda a: {"genes": ["G1"]}, ValueError, "at least 2 genes"),
        (lambda a: {"genes": "G1"}, TypeError, "single string"),
        (lambda a: {"genes": [1, 2, 3]}, TypeError, "gene names"),
        (zero_gene, ValueError, "G3"),
        (negative, ValueError, "negative"),
        (zero_depth, ValueError, "finite and > 0"),
        (nan_depth, ValueError, "finite and > 0"),
        (empty_cell, ValueError, "min_counts=1"),
        (lambda a: {"seq_depth": "missing_col"}, KeyError, "missing_col"),
        (lambda a: {"seq_depth": np.ones(3)}, ValueError, "one value per cell"),
        (lambda a: {"layer": "raw"}, KeyError, "raw"),
        (lambda a: {"key_added": ""}, ValueError, "key_added"),
        (lambda a: {"device": "tpu"}, ValueError, "device"),
    ]


@pytest.mark.parametrize(("prepare", "err", "match"), _bad_cases())
def test_anndata_bad_input_leaves_adata_unchanged(prepare, err, match) -> None:
    adata = make_adata(seed=6)
    adata.uns["keep"] = {"a": 1}
    kwargs = prepare(adata)
    snap = snapshot(adata)
    with pytest.raises(err, match=match):
        cscore(adata, **kwargs)
    assert_unchanged(adata, snap)


def test_anndata_too_few_cells_and_view() -> None:
    adata = make_adata()
    small = adata[:10].copy()
    snap = snapshot(small)
    with pytest.raises(ValueError, match="at least 20"):
        cscore(small)
    assert_unchanged(small, snap)
    with pytest.raises(ValueError, match="view"):
        cscore(adata[:100])
    assert "cscore" not in adata.uns
