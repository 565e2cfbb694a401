from __future__ import annotations

import anndata as ad
import numpy as np
import scanpy as sc
import scipy.sparse as sp

import muse_gnn as mg


def test_pearson_residuals_match_scanpy():
    rng = np.random.default_rng(0)
    X = rng.negative_binomial(5, 0.5, size=(80, 30)).astype(np.float32)
    a = ad.AnnData(X=X.copy())
    sc.experimental.pp.normalize_pearson_residuals(a, theta=100)
    ours = mg.pp.pearson_residuals(sp.csr_matrix(X), theta=100)
    np.testing.assert_allclose(ours.T, a.X, rtol=1e-5, atol=1e-5)


def test_pearson_residuals_subset_uses_all_gene_totals():
    rng = np.random.default_rng(1)
    X = rng.poisson(3, size=(40, 20)).astype(float)
    full = mg.pp.pearson_residuals(X, block_size=7)
    sub = mg.pp.pearson_residuals(X, np.array([3, 11, 19]))
    np.testing.assert_allclose(sub, full[[3, 11, 19]])
    # hand check of one entry
    mu = X.sum(1)[5] * X.sum(0)[11] / X.sum()
    r = (X[5, 11] - mu) / np.sqrt(mu + mu**2 / 100)
    assert np.isclose(sub[1, 5], np.clip(r, -np.sqrt(40), np.sqrt(40)), rtol=1e-5)
    assert sub.dtype == np.float32


def test_residual_hvg_does_not_modify(small_collection):
    a = next(iter(small_collection.values()))
    before = list(a.var.columns)
    df = mg.pp.residual_hvg(a, n_top_genes=20)
    assert df["highly_variable"].sum() == 20
    assert list(a.var.columns) == before
