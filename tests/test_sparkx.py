"""Tests of the SPARK-X spatially variable gene test (`muse_gnn.pp._sparkx`)."""

from __future__ import annotations

import math
import warnings

import anndata as ad
import mpmath
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import integrate

from muse_gnn.pp import _sparkx
from muse_gnn.pp._sparkx import sparkx, sparkx_test

KERNELS = ["projection", *(f"gaus{i}" for i in range(1, 6)), *(f"cos{i}" for i in range(1, 6))]


# ----------------------------------------------------------------------------------------------------
# a small self-contained spatial count simulator
# ----------------------------------------------------------------------------------------------------
def simulate(
    n_side: int, n_genes: int, n_spatial: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered square grid; the first ``n_spatial`` genes have a hotspot, gradient or stripe pattern.

    Counts are gamma-Poisson (negative binomial) with gene means between 0.5 and 10 and dispersions 3–20.
    Returns counts (spots × genes, int), coordinates (spots × 2) and the pattern of every gene.
    """
    rng = np.random.default_rng(seed)
    xy = np.stack(np.meshgrid(np.arange(n_side), np.arange(n_side)), -1).reshape(-1, 2).astype(float)
    xy += rng.uniform(-0.3, 0.3, xy.shape)
    u = (xy - xy.min(0)) / np.ptp(xy, 0)
    n = xy.shape[0]
    mu = np.exp(rng.uniform(np.log(0.5), np.log(10.0), n_genes))
    theta = rng.uniform(3.0, 20.0, n_genes)
    logfc = np.zeros((n, n_genes))
    kinds = np.full(n_genes, "none", dtype=object)
    for g in range(n_spatial):
        kind = ("hotspot", "gradient", "periodic")[g % 3]
        kinds[g] = kind
        if kind == "hotspot":
            centre = rng.uniform(0.25, 0.75, 2)
            logfc[:, g] = 2.0 * np.exp(-((u - centre) ** 2).sum(1) / (2 * 0.12**2))
        elif kind == "gradient":
            a = rng.uniform(0.0, 2.0 * np.pi)
            logfc[:, g] = u @ np.array([np.cos(a), np.sin(a)])
        else:
            axis = rng.integers(0, 2)
            logfc[:, g] = 0.8 * np.cos(2.0 * np.pi * (u[:, axis] - 0.5) * rng.uniform(1.5, 3.0))
    lam = rng.gamma(theta, mu * np.exp(logfc) / theta)
    return rng.poisson(lam), xy, kinds


def make_adata(n_side: int = 25, n_genes: int = 60, n_spatial: int = 15, seed: int = 0) -> ad.AnnData:
    X, xy, kinds = simulate(n_side, n_genes, n_spatial, seed)
    adata = ad.AnnData(
        sp.csr_matrix(X.astype(np.float32)),
        obs=pd.DataFrame(index=[f"spot{i}" for i in range(X.shape[0])]),
        var=pd.DataFrame({"pattern": kinds.astype(str)}, index=[f"g{j}" for j in range(X.shape[1])]),
    )
    adata.obsm["spatial"] = xy
    adata.layers["counts"] = adata.X.copy()
    return adata


def snapshot(adata: ad.AnnData) -> dict:
    return {
        "var": adata.var.copy(),
        "uns": set(adata.uns.keys()),
        "obsm": {k: np.array(v, copy=True) for k, v in adata.obsm.items()},
        "X": adata.X.copy(),
    }


def assert_unchanged(adata: ad.AnnData, snap: dict) -> None:
    pd.testing.assert_frame_equal(adata.var, snap["var"])
    assert set(adata.uns.keys()) == snap["uns"]
    assert set(adata.obsm.keys()) == set(snap["obsm"])
    for k, v in snap["obsm"].items():
        np.testing.assert_array_equal(np.asarray(adata.obsm[k]), v)
    assert (adata.X != snap["X"]).nnz == 0


# ----------------------------------------------------------------------------------------------------
# an independent, naive reference straight from the formulas of SPARK::sparkx
# ----------------------------------------------------------------------------------------------------
def mixture_sf(x: float, weights: np.ndarray) -> float:
    """P(a χ²_1 + b χ²_1 > x) by direct numerical convolution (independent of the chi-square closed form).

    With ``s = t²`` for the first term: ``P = ∫ 2φ(t) P(χ²_1 > (x − a t²)/b) dt`` over ``t ≥ 0``; the inner
    tail is 1 for ``t ≥ sqrt(x/a)``.
    """
    a, b = weights
    t0 = np.sqrt(max(x, 0.0) / a)

    def integrand(t: float) -> float:  # 2 φ(t) · P(χ²_1 > z), with P(χ²_1 > z) = erfc(sqrt(z / 2))
        z = max((x - a * t * t) / b, 0.0)
        return 2.0 * math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi) * math.erfc(math.sqrt(z / 2.0))

    inner, _ = integrate.quad(integrand, 0.0, t0, epsabs=0.0, epsrel=1e-11, limit=200)
    return inner + math.erfc(t0 / math.sqrt(2.0))


def reference_sparkx(counts: np.ndarray, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-kernel statistics and p-values and the combined p-values, gene by gene, as the R code does it."""
    keep = counts.sum(1) != 0
    Y = counts[keep].astype(float)
    loc = coords[keep]
    n = Y.shape[0]
    feats = [loc]
    for kind in ("gaus", "cos"):
        for q in (0.2, 0.4, 0.6, 0.8, 1.0):
            cols = []
            for j in range(loc.shape[1]):
                c = loc[:, j] - loc[:, j].mean()
                ell = np.quantile(np.abs(c), q)
                cols.append(np.exp(-(c**2) / (2 * ell**2)) if kind == "gaus" else np.cos(2 * np.pi * c / ell))
            feats.append(np.column_stack(cols))
    G = Y.shape[1]
    stat = np.zeros((G, len(feats)))
    pval = np.zeros((G, len(feats)))
    for k, E in enumerate(feats):
        Ec = E - E.mean(0)
        loc_inv = np.linalg.inv(Ec.T @ Ec)
        klam = np.linalg.eigvals(Ec.T @ (Ec @ loc_inv)).real
        for g in range(G):
            y = Y[:, g]
            ehl = y @ Ec
            stat[g, k] = ehl @ loc_inv @ ehl * n / (y @ y)
            lam_g = 1.0 - n * y.mean() ** 2 / (y @ y)
            pval[g, k] = mixture_sf(stat[g, k], lam_g * klam)
    comb = np.array([acat_exact(p) for p in pval])
    return stat, pval, comb


def acat_exact(p: np.ndarray) -> float:
    """Cauchy combination in 50-digit arithmetic: ``1/2 − atan(mean tan((1/2 − p)π))/π``."""
    with mpmath.workdps(50):
        t = mpmath.fsum(mpmath.tan((mpmath.mpf(0.5) - mpmath.mpf(float(x))) * mpmath.pi) for x in p) / len(p)
        return float(mpmath.mpf(0.5) - mpmath.atan(t) / mpmath.pi)


def by_adjust(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p)
    cm = np.sum(1.0 / np.arange(1, m + 1))
    adj = p[order] * m * cm / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


# ----------------------------------------------------------------------------------------------------
# array-level test
# ----------------------------------------------------------------------------------------------------
def test_matches_naive_reference() -> None:
    X, xy, _ = simulate(12, 15, 6, seed=3)
    X[5] = 0  # an empty spot: dropped before centring, as in the R code
    res = sparkx_test(X, xy, return_kernels=True)
    stat, pval, comb = reference_sparkx(X, xy)
    np.testing.assert_allclose(res[[f"stat_{k}" for k in KERNELS]].to_numpy(), stat, rtol=1e-8)
    # the reference quadrature is accurate to ~1e-10 relative (the R code's Davies inversion: 1e-6 absolute)
    np.testing.assert_allclose(res[[f"pval_{k}" for k in KERNELS]].to_numpy(), pval, rtol=1e-8)
    np.testing.assert_allclose(res["pval"].to_numpy(), comb, rtol=1e-7)
    np.testing.assert_allclose(res["padj"].to_numpy(), by_adjust(res["pval"].to_numpy()), rtol=1e-12)
    assert res.attrs["n_spots_used"] == X.shape[0] - 1
    assert res.attrs["kernels"] == KERNELS


def test_type_one_error_shuffled_coordinates() -> None:
    X, xy, _ = simulate(30, 2000, 300, seed=11)
    perm = np.random.default_rng(5).permutation(xy.shape[0])
    res = sparkx_test(X, xy[perm])
    p = res["pval"].to_numpy()
    assert np.isfinite(p).all()
    assert np.mean(p < 0.05) <= 0.06
    assert np.mean(p < 0.01) <= 0.015
    # the test is not degenerate: small p-values do occur under the null
    assert np.mean(p < 0.05) >= 0.02


def test_power_and_fdr() -> None:
    X, xy, kinds = simulate(30, 1000, 90, seed=2)
    res = sparkx_test(X, xy)
    sig = res["padj"].to_numpy() < 0.05
    truth = kinds != "none"
    recall = (sig & truth).sum() / truth.sum()
    fdr = (sig & ~truth).sum() / max(sig.sum(), 1)
    assert recall >= 0.9, recall
    assert fdr <= 0.1, fdr
    for kind in ("hotspot", "gradient", "periodic"):
        assert sig[kinds == kind].mean() >= 0.8, kind


def test_invariant_to_shift_scale_and_reflection() -> None:
    X, xy, _ = simulate(15, 40, 12, seed=4)
    a = sparkx_test(X, xy, return_kernels=True)
    b = sparkx_test(X, -3.7 * xy + np.array([100.0, -20.0]), return_kernels=True)
    pd.testing.assert_frame_equal(a, b, rtol=1e-7, atol=1e-12)


def test_sparse_dense_and_blocks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    X, xy, _ = simulate(15, 40, 12, seed=5)
    X[:, 7] = 0
    with pytest.warns(UserWarning, match="1 with zero counts"):
        ref = sparkx_test(X, xy, return_kernels=True)
    monkeypatch.setattr(_sparkx, "_BLOCK_ENTRIES", 500)  # force many blocks
    for M in (X.astype(np.float32), sp.csr_matrix(X), sp.csc_matrix(X), sp.csr_array(X.astype(np.int32))):
        with pytest.warns(UserWarning, match="zero counts"):
            out = sparkx_test(M, xy, return_kernels=True)
        pd.testing.assert_frame_equal(out, ref, rtol=1e-9, atol=1e-14)


def test_torch_backend_matches_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The torch pass over the counts (the GPU path, run here on the CPU) gives numpy's results."""
    X, xy, _ = simulate(15, 40, 12, seed=5)
    X[:, 7] = 0
    X = np.vstack([X, np.zeros((3, X.shape[1]), dtype=X.dtype)])  # empty spots: zero rows of the basis
    xy = np.vstack([xy, [[-4.0, 2.0], [30.0, 1.0], [5.0, 5.0]]])
    with pytest.warns(UserWarning, match="zero counts"):
        ref = sparkx_test(X, xy, return_kernels=True, device="cpu")
    assert ref.attrs["device"] == "cpu"
    monkeypatch.setattr(_sparkx, "_BLOCK_ENTRIES", 500)  # several blocks in every layout
    for M in (X, X.astype(np.float32), sp.csr_matrix(X), sp.csc_matrix(X), sp.csr_array(X.astype(np.int32))):
        with pytest.warns(UserWarning, match="zero counts"):
            out = sparkx_test(M, xy, return_kernels=True, device="cpu", backend="torch")
        pd.testing.assert_frame_equal(out, ref, rtol=1e-9, atol=1e-14)
    # a non-canonical CSR matrix (each value stored as two halves at the same position) sums its duplicates
    C = sp.csr_matrix(X.astype(np.float64))
    parts = [(np.r_[C.indices[a:b], C.indices[a:b]], np.r_[C.data[a:b], C.data[a:b]] / 2)
             for a, b in zip(C.indptr[:-1], C.indptr[1:], strict=True)]
    dup = sp.csr_matrix((np.concatenate([d for _, d in parts]), np.concatenate([i for i, _ in parts]),
                         2 * C.indptr), shape=X.shape)
    assert not dup.has_canonical_format
    with pytest.warns(UserWarning, match="zero counts"):
        out = sparkx_test(dup, xy, return_kernels=True, device="cpu", backend="torch")
    pd.testing.assert_frame_equal(out, ref, rtol=1e-9, atol=1e-14)


def test_device_arguments_are_checked() -> None:
    X, xy, _ = simulate(10, 10, 2, seed=1)
    with pytest.raises(ValueError, match="`device` must be 'auto', 'cpu' or 'cuda"):
        sparkx_test(X, xy, device="tpu")
    with pytest.raises(ValueError, match="`backend` must be"):
        sparkx_test(X, xy, backend="cupy")
    if not torch_cuda_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
            sparkx_test(X, xy, device="cuda")


def torch_cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(not torch_cuda_available(), reason="needs a CUDA GPU")
def test_gpu_matches_cpu() -> None:
    X, xy, _ = simulate(20, 50, 15, seed=2)
    ref = sparkx_test(sp.csr_matrix(X), xy, return_kernels=True, device="cpu")
    out = sparkx_test(sp.csr_matrix(X), xy, return_kernels=True, device="cuda")
    assert out.attrs["device"].startswith("cuda")
    pd.testing.assert_frame_equal(out, ref, rtol=1e-9, atol=1e-14)


def test_untestable_genes_are_nan_and_excluded_from_adjustment() -> None:
    X, xy, _ = simulate(15, 30, 10, seed=6)
    X[:, 3] = 0
    X[:, 4] = 2  # constant
    with pytest.warns(UserWarning, match=r"1 with zero counts on every spot and 1 with the same value"):
        res = sparkx_test(X, xy, gene_names=[f"g{j}" for j in range(30)])
    assert res.loc[["g3", "g4"]].isna().all().all()
    ok = res.drop(index=["g3", "g4"])
    assert ok.notna().all().all()
    np.testing.assert_allclose(ok["padj"], by_adjust(ok["pval"].to_numpy()), rtol=1e-12)
    assert res.attrs["n_genes_tested"] == 28


def test_empty_spots_do_not_change_the_result() -> None:
    X, xy, _ = simulate(15, 30, 10, seed=7)
    rng = np.random.default_rng(0)
    X2 = np.vstack([X, np.zeros((10, X.shape[1]), dtype=X.dtype)])
    xy2 = np.vstack([xy, rng.uniform(-50, 80, (10, 2))])
    a = sparkx_test(X, xy, return_kernels=True)
    b = sparkx_test(sp.csr_matrix(X2), xy2, return_kernels=True)
    pd.testing.assert_frame_equal(a, b, rtol=1e-9, atol=1e-14)
    assert b.attrs["n_spots_used"] == X.shape[0]


def test_single_option_is_projection_kernel() -> None:
    X, xy, _ = simulate(15, 30, 10, seed=8)
    full = sparkx_test(X, xy, return_kernels=True)
    single = sparkx_test(X, xy, option="single")
    np.testing.assert_allclose(single["pval"], full["pval_projection"], rtol=1e-10)
    with pytest.raises(ValueError, match="option"):
        sparkx_test(X, xy, option="gaussian")  # type: ignore[arg-type]


def test_three_d_and_degenerate_coordinates() -> None:
    X, xy, kinds = simulate(15, 30, 10, seed=9)
    z = np.random.default_rng(1).uniform(0, 5, (xy.shape[0], 1))
    res3 = sparkx_test(X, np.hstack([xy, z]), return_kernels=True)
    assert res3["pval"].notna().all()
    sig = res3["padj"].to_numpy() < 0.05
    assert sig[kinds != "none"].mean() >= 0.6 and sig[kinds == "none"].mean() <= 0.1
    # spots on a line: each kernel has rank one, p-values from chi-square with 1 df
    line = np.column_stack([xy[:, 0] + 0.01 * xy[:, 1], np.zeros(xy.shape[0])])
    res1 = sparkx_test(X, line, return_kernels=True)
    assert res1.notna().all().all()
    lam_g = 1 - X.shape[0] * X.mean(0) ** 2 / (X.astype(float) ** 2).sum(0)
    from scipy.stats import chi2

    expected = chi2.sf(res1["stat_projection"] / lam_g, 1)
    np.testing.assert_allclose(res1["pval_projection"], expected, rtol=1e-10)
    with pytest.raises(ValueError, match="same coordinates"):
        sparkx_test(X, np.ones_like(xy))


def test_strong_signal_gives_finite_tiny_pvalues() -> None:
    X, xy, _ = simulate(20, 20, 0, seed=10)
    X[:, 0] = (xy[:, 0] > 10) * 50
    res = sparkx_test(X, xy)
    assert 0 < res["pval"].iloc[0] < 1e-30
    assert np.isfinite(res["padj"]).all() and (res["padj"] <= 1).all()


def test_acat_rules() -> None:
    P = np.array([[0.5, 0.5], [0.0, 0.3], [1.0, 0.01], [1e-20, 0.9], [0.02, 0.04]])
    out = _sparkx._acat(P)
    assert out[0] == pytest.approx(0.5)
    assert out[1] == 0.0
    assert out[2] == 1.0
    # 1/(pπ) asymptote for tiny p, then the 1/(tπ) tail
    t = (1 / (1e-20 * np.pi) + np.tan((0.5 - 0.9) * np.pi)) / 2
    assert out[3] == pytest.approx(1 / (t * np.pi), rel=1e-12)
    t = np.mean(np.tan((0.5 - P[4]) * np.pi))
    assert out[4] == pytest.approx(0.5 - np.arctan(t) / np.pi, rel=1e-12)


@pytest.mark.parametrize(
    ("coords", "match"),
    [
        (np.zeros((225, 4)), "spots × 2"),
        (np.zeros(225), "spots × 2"),
        (np.zeros((224, 2)), "224 rows"),
        (np.full((225, 2), np.nan), "NaN"),
    ],
)
def test_array_level_bad_coordinates(coords: np.ndarray, match: str) -> None:
    X, _, _ = simulate(15, 5, 0, seed=0)
    with pytest.raises(ValueError, match=match):
        sparkx_test(X, coords)


def test_array_level_bad_counts() -> None:
    X, xy, _ = simulate(15, 5, 0, seed=0)
    Xf = X.astype(float)
    Xf[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sparkx_test(Xf, xy)
    with pytest.raises(ValueError, match="at least 20"):
        sparkx_test(X[:19], xy[:19])
    with pytest.raises(ValueError, match="gene names"):
        sparkx_test(X, xy, gene_names=["a"])


# ----------------------------------------------------------------------------------------------------
# AnnData wrapper
# ----------------------------------------------------------------------------------------------------
def test_anndata_writes_results_and_round_trips(tmp_path) -> None:
    adata = make_adata()
    expected = sparkx_test(adata.X, adata.obsm["spatial"], gene_names=adata.var_names)
    assert sparkx(adata) is None
    np.testing.assert_allclose(adata.var["sparkx_pval"], expected["pval"])
    np.testing.assert_allclose(adata.var["sparkx_padj"], expected["padj"])
    params = adata.uns["sparkx"]["params"]
    assert params["spatial_key"] == "spatial" and params["option"] == "mixture"
    assert params["n_spots_used"] == adata.n_obs and params["n_genes_tested"] == adata.n_vars
    assert list(params["kernels"]) == KERNELS
    spatial = adata.var["pattern"] != "none"
    assert (adata.var.loc[spatial, "sparkx_padj"] < 0.05).mean() >= 0.8

    path = tmp_path / "a.h5ad"
    adata.write_h5ad(path)
    back = ad.read_h5ad(path)
    pd.testing.assert_frame_equal(back.var, adata.var)
    assert back.uns["sparkx"]["params"]["n_spots_used"] == adata.n_obs
    assert list(back.uns["sparkx"]["params"]["kernels"]) == KERNELS


def test_anndata_inplace_false_key_added_layer_and_dense() -> None:
    adata = make_adata()
    snap = snapshot(adata)
    df = sparkx(adata, inplace=False)
    assert_unchanged(adata, snap)
    assert list(df.columns) == ["pval", "padj"] and df.index.equals(adata.var_names)

    dense = adata.copy()
    dense.X = np.asarray(dense.X.todense())
    sparkx(dense, key_added="svg")
    np.testing.assert_allclose(dense.var["svg_pval"], df["pval"], rtol=1e-10)
    assert "svg" in dense.uns and "sparkx_pval" not in dense.var

    layered = adata.copy()
    layered.X = None
    layered.obsm["xy"] = layered.obsm.pop("spatial")
    sparkx(layered, layer="counts", spatial_key="xy")
    np.testing.assert_allclose(layered.var["sparkx_pval"], df["pval"], rtol=1e-10)
    assert layered.uns["sparkx"]["params"]["layer"] == "counts"


def test_anndata_gene_subset_and_zero_genes() -> None:
    adata = make_adata()
    X = adata.X.toarray()
    X[:, 2] = 0
    adata.X = sp.csr_matrix(X)
    genes = list(adata.var_names[:20])
    with pytest.warns(UserWarning, match="1 with zero counts"):
        sparkx(adata, genes=genes)
    assert adata.var["sparkx_pval"].iloc[20:].isna().all()
    assert adata.var["sparkx_pval"].iloc[2:3].isna().all()
    assert adata.var["sparkx_pval"].iloc[:20].drop(index="g2").notna().all()
    assert adata.uns["sparkx"]["params"]["n_genes_tested"] == 19
    with pytest.warns(UserWarning, match="zero counts"):
        expected = sparkx_test(X[:, :20], adata.obsm["spatial"], gene_names=genes).dropna()
    np.testing.assert_allclose(adata.var.loc[expected.index, "sparkx_padj"], expected["padj"], rtol=1e-12)

    mask = np.zeros(adata.n_vars, dtype=bool)
    mask[:20] = True
    with pytest.warns(UserWarning, match="zero counts"):
        df = sparkx(adata, genes=mask, inplace=False)
    np.testing.assert_allclose(df["pval"], adata.var["sparkx_pval"].iloc[:20], equal_nan=True)


def _with(adata: ad.AnnData, **changes) -> ad.AnnData:
    for key, value in changes.items():
        if key == "X":
            adata.X = value
        else:
            adata.obsm[key] = value
    return adata


@pytest.mark.parametrize(
    ("prepare", "kwargs", "error", "match"),
    [
        (lambda a: a, {"spatial_key": "coords"}, KeyError, r"obsm\['coords'\]"),
        (lambda a: a, {"layer": "raw"}, KeyError, "layer 'raw' not found"),
        (lambda a: a, {"genes": ["g1", "nope"]}, KeyError, "not in `adata.var_names`"),
        (lambda a: a, {"genes": np.ones(3, dtype=bool)}, ValueError, "boolean `genes` mask"),
        (lambda a: a, {"option": "rbf"}, ValueError, "option"),
        (lambda a: _with(a, spatial=np.zeros((a.n_obs, 1))), {}, ValueError, "spots × 2"),
        (lambda a: _with(a, spatial=np.where(np.arange(a.n_obs)[:, None] == 3, np.nan, a.obsm["spatial"])),
         {}, ValueError, "NaN or infinite coordinates"),
        (lambda a: a[:19].copy(), {}, ValueError, "at least 20"),
        (lambda a: _with(a, X=a.X * 0.5), {}, ValueError, "non-integer"),
        (lambda a: _with(a, X=-a.X), {}, ValueError, "negative"),
        (lambda a: a[:, :5], {}, ValueError, "view"),
    ],
)
def test_anndata_bad_inputs_leave_adata_unchanged(prepare, kwargs, error, match) -> None:
    adata = prepare(make_adata())
    snap = None if adata.is_view else snapshot(adata)
    with pytest.raises(error, match=match):
        sparkx(adata, **kwargs)
    if snap is not None:
        assert_unchanged(adata, snap)
        assert "sparkx_pval" not in adata.var and "sparkx" not in adata.uns


def test_anndata_allow_noncounts() -> None:
    adata = make_adata()
    adata.X = adata.X * 0.5
    with pytest.warns(UserWarning, match="non-integer"):
        sparkx(adata, allow_noncounts=True)
    ref = sparkx_test(adata.layers["counts"], adata.obsm["spatial"])
    # SPARK-X is invariant to scaling the expression of a gene
    np.testing.assert_allclose(adata.var["sparkx_pval"], ref["pval"], rtol=1e-9)


def test_anndata_empty_spots_are_left_out() -> None:
    adata = make_adata()
    X = adata.X.toarray()
    X[:7] = 0
    adata.X = sp.csr_matrix(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparkx(adata)
    assert adata.uns["sparkx"]["params"]["n_spots_used"] == adata.n_obs - 7
