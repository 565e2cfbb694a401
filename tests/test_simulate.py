"""Tests of :func:`muse_gnn.datasets._simulate.simulate` and ``simulate_orthologs``."""

from __future__ import annotations

import itertools
import re

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

from muse_gnn.datasets._simulate import simulate, simulate_orthologs

SMALL = {"n_genes": 300, "n_cells": (150, 250), "n_modules": 8}


@pytest.fixture(scope="module")
def mixed() -> dict[str, ad.AnnData]:
    """Two tissues, three technologies, two species: 12 small datasets (one of each kind)."""
    return simulate(
        n_datasets=12,
        tissues=("heart", "lung"),
        technologies=("scrna", "spatial", "scatac"),
        species=("human", "mouse"),
        random_state=3,
        **SMALL,
    )


def _pairwise_corr(adata: ad.AnnData) -> np.ndarray:
    L = np.log1p(adata.X.toarray())
    L = L - L.mean(axis=0)
    sd = np.sqrt((L**2).sum(axis=0))
    keep = sd > 0
    C = np.full((adata.n_vars, adata.n_vars), np.nan)
    Lk = L[:, keep] / sd[keep]
    C[np.ix_(keep, keep)] = Lk.T @ Lk
    return C


def _morans_i(X: np.ndarray, xy: np.ndarray, k: int = 6) -> np.ndarray:
    _, nb = cKDTree(xy).query(xy, k=k + 1)
    nb = nb[:, 1:]
    Z = X - X.mean(axis=0)
    den = (Z**2).sum(axis=0)
    num = (Z * Z[nb].mean(axis=1)).sum(axis=0)
    return num / np.where(den > 0, den, 1.0)


# ------------------------------------------------------------------------------------------------
def test_names_and_metadata(mixed):
    combos = list(itertools.product(("heart", "lung"), ("scrna", "spatial", "scatac"), ("human", "mouse")))
    assert len(mixed) == 12
    for i, (name, adata) in enumerate(mixed.items()):
        tissue, tech, species = combos[i % len(combos)]
        assert name == f"{tech}_{tissue}_{i}"
        assert adata.uns["dataset"] == name
        assert (adata.uns["tissue"], adata.uns["technology"], adata.uns["species"]) == (tissue, tech, species)
        for col, val in (("tissue", tissue), ("technology", tech), ("species", species), ("dataset", name)):
            assert isinstance(adata.obs[col].dtype, pd.CategoricalDtype)
            assert set(adata.obs[col]) == {val}
        assert isinstance(adata.obs["cell_type"].dtype, pd.CategoricalDtype)
        assert adata.obs["cell_type"].nunique() > 1
        assert adata.obs_names.is_unique and adata.var_names.is_unique
        assert adata.n_vars == SMALL["n_genes"]
        assert SMALL["n_cells"][0] <= adata.n_obs <= SMALL["n_cells"][1]
        assert adata.var["module"].dtype == np.int64
        assert adata.var["context_gene"].dtype == bool
        assert adata.var["spatial_gene"].dtype == bool
        assert adata.var["module"].min() >= -1 and adata.var["module"].max() < SMALL["n_modules"]
        assert (adata.var["module"] == -1).any() and (adata.var["module"] >= 0).any()
        assert adata.uns["simulation"]["n_universe"] == int(round(1.5 * SMALL["n_genes"]))
    # obs names do not collide across datasets (safe to concatenate)
    all_obs = np.concatenate([a.obs_names.to_numpy() for a in mixed.values()])
    assert len(set(all_obs)) == all_obs.size


def test_cycling_rule_single_values():
    data = simulate(n_datasets=5, tissues="kidney", technologies=("scatac",), species="mouse",
                    n_genes=60, n_cells=20, n_modules=3, random_state=0)
    assert list(data) == [f"scatac_kidney_{i}" for i in range(5)]
    assert all(a.n_obs == 20 for a in data.values())
    # one tissue: no gene can switch module between tissues
    assert not any(a.var["context_gene"].any() for a in data.values())


def test_counts_are_integer_csr(mixed):
    for adata in mixed.values():
        X = adata.X
        assert isinstance(X, sp.csr_matrix)
        assert X.dtype == np.float32
        assert X.data.min() >= 0
        np.testing.assert_array_equal(X.data, np.round(X.data))
        assert X.sum() > 0
        assert np.all(np.asarray(X.sum(axis=1)).ravel() > 0)


def test_determinism():
    a = simulate(n_datasets=3, random_state=11, **SMALL)
    b = simulate(n_datasets=3, random_state=11, **SMALL)
    c = simulate(n_datasets=3, random_state=12, **SMALL)
    for k in a:
        assert (a[k].X != b[k].X).nnz == 0
        assert a[k].var_names.equals(b[k].var_names)
        pd.testing.assert_frame_equal(a[k].obs, b[k].obs)
        pd.testing.assert_frame_equal(a[k].var, b[k].var)
    diff = [a[k].shape != c[k].shape or (a[k].X != c[k].X).nnz > 0 for k in a]
    assert all(diff)
    # dataset i does not depend on how many datasets are drawn
    d = simulate(n_datasets=5, random_state=11, **SMALL)
    for k in a:
        assert (a[k].X != d[k].X).nnz == 0
    # a numpy Generator and None are accepted
    assert len(simulate(n_datasets=1, random_state=np.random.default_rng(0), **SMALL)) == 1
    assert len(simulate(n_datasets=1, random_state=None, **SMALL)) == 1


def test_partial_overlap():
    data = simulate(n_datasets=6, random_state=0, **SMALL)
    sets = [set(a.var_names) for a in data.values()]
    n = SMALL["n_genes"]
    for s, t in itertools.combinations(sets, 2):
        assert n * 0.5 <= len(s & t) < n  # core shared, rest partially overlapping
    common = set.intersection(*sets)
    assert len(common) >= round(0.5 * n)
    union = set.union(*sets)
    assert n < len(union) <= round(1.5 * n)
    # no partiality when the universe equals the per-dataset gene set
    full = simulate(n_datasets=3, universe_factor=1.0, random_state=0, **SMALL)
    names = [a.var_names for a in full.values()]
    assert all(x.equals(names[0]) for x in names)


def test_context_genes_switch_module_between_tissues(mixed):
    heart = mixed["scrna_heart_0"].var
    lung = mixed["scrna_lung_6"].var
    common = heart.index.intersection(lung.index)
    h, lu = heart.loc[common], lung.loc[common]
    ctx = h["context_gene"].to_numpy()
    np.testing.assert_array_equal(ctx, lu["context_gene"].to_numpy())
    assert ctx.sum() >= 5
    assert np.all(h["module"].to_numpy()[ctx] != lu["module"].to_numpy()[ctx])
    assert np.all(h["module"].to_numpy()[ctx] >= 0) and np.all(lu["module"].to_numpy()[ctx] >= 0)
    np.testing.assert_array_equal(h["module"].to_numpy()[~ctx], lu["module"].to_numpy()[~ctx])
    # same tissue, other technology: identical module assignment of shared genes
    heart_sp = mixed["spatial_heart_2"].var
    common = heart.index.intersection(heart_sp.index)
    np.testing.assert_array_equal(heart.loc[common, "module"], heart_sp.loc[common, "module"])
    # context genes are about context_fraction of the module genes
    frac = heart["context_gene"].sum() / (heart["module"] >= 0).sum()
    assert 0.03 < frac < 0.2


def test_context_modules_distinct_across_three_tissues():
    data = simulate(n_datasets=3, tissues=("heart", "lung", "liver"), technologies="scrna",
                    universe_factor=1.0, context_fraction=0.3, random_state=2, **SMALL)
    mods = np.stack([a.var["module"].to_numpy() for a in data.values()])
    ctx = next(iter(data.values())).var["context_gene"].to_numpy()
    assert ctx.sum() > 10
    m = mods[:, ctx]
    assert np.all((m[0] != m[1]) & (m[0] != m[2]) & (m[1] != m[2]))


def test_spatial_datasets(mixed):
    for name, adata in mixed.items():
        if adata.uns["technology"] != "spatial":
            assert "spatial" not in adata.obsm
            assert not adata.var["spatial_gene"].any()
            continue
        xy = adata.obsm["spatial"]
        assert xy.shape == (adata.n_obs, 2) and np.isfinite(xy).all()
        assert len(np.unique(xy, axis=0)) == adata.n_obs
        s = adata.var["spatial_gene"].to_numpy()
        assert s.sum() >= 10
        L = np.log1p(adata.X.toarray())
        moran = _morans_i(L, xy)
        shuffled = _morans_i(L[np.random.default_rng(0).permutation(adata.n_obs)], xy)
        assert moran[s].mean() > 0.08, name
        assert moran[s].mean() > shuffled[s].mean() + 0.08, name
        assert abs(shuffled.mean()) < 0.03
        assert moran[s].mean() > moran[~s].mean()


def test_scatac_sparser_than_scrna(mixed):
    for tissue in ("heart", "lung"):
        for species in ("human", "mouse"):
            rna = next(a for a in mixed.values() if a.uns["technology"] == "scrna"
                       and a.uns["tissue"] == tissue and a.uns["species"] == species)
            atac = next(a for a in mixed.values() if a.uns["technology"] == "scatac"
                        and a.uns["tissue"] == tissue and a.uns["species"] == species)
            dens_rna = rna.X.nnz / np.prod(rna.shape)
            dens_atac = atac.X.nnz / np.prod(atac.shape)
            assert dens_atac < 0.6 * dens_rna
            assert atac.X.max() <= 2
            assert atac.X.sum(axis=1).mean() < 0.5 * rna.X.sum(axis=1).mean()


def test_mouse_symbols_and_orthologs(mixed):
    table = simulate_orthologs(n_genes=SMALL["n_genes"])
    assert list(table.columns[:2]) == ["human_symbol", "mouse_symbol"]
    assert table["human_symbol"].is_unique and table["mouse_symbol"].is_unique
    assert len(table) == int(round(1.5 * SMALL["n_genes"]))
    assert table["human_symbol"].str.fullmatch(r"GENE\d{4}").all()
    case_change = table["mouse_symbol"] == table["human_symbol"].str.capitalize()
    assert 0.9 < case_change.mean() < 1.0  # a few need the table, as with real MGI symbols
    m2h = dict(zip(table["mouse_symbol"], table["human_symbol"], strict=True))
    universe = set(table["human_symbol"])
    for tissue, i_h, i_m in (("heart", 0, 1), ("lung", 6, 7)):
        human = mixed[f"scrna_{tissue}_{i_h}"]
        mouse = mixed[f"scrna_{tissue}_{i_m}"]
        assert mouse.uns["species"] == "mouse" and human.uns["species"] == "human"
        assert all(re.fullmatch(r"Gene\d{4}|Gm\d+", g) for g in mouse.var_names)
        assert set(human.var_names) <= universe
        mapped = mouse.var_names.map(m2h)
        assert not mapped.isna().any() and set(mapped) <= universe
        pd.testing.assert_frame_equal(mouse.uns["orthologs"], table)
        assert "orthologs" not in human.uns
        assert "simulate_orthologs" in mouse.uns["simulation"]["ortholog_table"]
        # planted structure is conserved: mapped genes carry the same module as in human data
        mv = mouse.var.set_index(mapped)
        common = human.var_names.intersection(mv.index)
        assert len(common) > SMALL["n_genes"] * 0.5
        np.testing.assert_array_equal(human.var.loc[common, "module"], mv.loc[common, "module"])


def test_modules_are_coexpressed(mixed):
    for name in ("scrna_heart_0", "spatial_lung_8", "scrna_lung_7"):
        adata = mixed[name]
        C = _pairwise_corr(adata)
        m = adata.var["module"].to_numpy()
        iu = np.triu_indices_from(C, 1)
        ci = C[iu]
        mi, mj = m[iu[0]], m[iu[1]]
        ok = np.isfinite(ci)
        within = ci[ok & (mi == mj) & (mi >= 0)].mean()
        between = ci[ok & (mi != mj) & (mi >= 0) & (mj >= 0)].mean()
        assert within > between + 0.1, (name, within, between)
    # scATAC is noisier but keeps the structure
    C = _pairwise_corr(mixed["scatac_heart_4"])
    m = mixed["scatac_heart_4"].var["module"].to_numpy()
    same = (m[:, None] == m[None, :]) & (m[:, None] >= 0) & ~np.eye(len(m), dtype=bool)
    diff = (m[:, None] != m[None, :]) & (m[:, None] >= 0) & (m[None, :] >= 0)
    assert np.nanmean(C[same]) > np.nanmean(C[diff]) + 0.03


def test_cell_types_drive_module_activity(mixed):
    adata = mixed["scrna_heart_0"]
    X = adata.X.toarray()
    L = np.log1p(X / X.sum(axis=1, keepdims=True) * 1e4)
    m = adata.var["module"].to_numpy()
    ct = adata.obs["cell_type"].cat.codes.to_numpy()
    r2 = []
    for k in np.unique(m[m >= 0]):
        score = L[:, m == k].mean(axis=1)
        means = pd.Series(score).groupby(ct).transform("mean").to_numpy()
        r2.append(1 - ((score - means) ** 2).sum() / ((score - score.mean()) ** 2).sum())
    assert np.mean(r2) > 0.3
    # and module-free genes are not driven by cell type
    free = L[:, m == -1].mean(axis=1)
    means = pd.Series(free).groupby(ct).transform("mean").to_numpy()
    assert 1 - ((free - means) ** 2).sum() / ((free - free.mean()) ** 2).sum() < np.mean(r2)


def test_h5ad_roundtrip_and_scanpy(tmp_path, mixed):
    import scanpy as sc

    adata = mixed["spatial_heart_3"]  # mouse spatial: obsm + DataFrame in uns
    path = tmp_path / "x.h5ad"
    adata.write_h5ad(path)
    back = ad.read_h5ad(path)
    assert (back.X != adata.X).nnz == 0
    np.testing.assert_array_equal(back.obsm["spatial"], adata.obsm["spatial"])
    assert back.uns["orthologs"].shape == adata.uns["orthologs"].shape
    rna = mixed["scrna_heart_0"].copy()
    sc.experimental.pp.highly_variable_genes(rna, flavor="pearson_residuals", n_top_genes=100)
    assert rna.var["highly_variable"].sum() == 100


def test_module_sizes_and_small_universe():
    data = simulate(n_datasets=1, n_genes=10, n_cells=30, n_modules=10, random_state=0)
    var = next(iter(data.values())).var
    assert var["module"].max() <= 9
    one = simulate(n_datasets=2, n_genes=50, n_cells=30, n_modules=1, random_state=0)
    assert all(not a.var["context_gene"].any() for a in one.values())  # nothing to switch to


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_datasets": 0}, "n_datasets"),
        ({"n_datasets": 2.5}, "n_datasets"),
        ({"n_datasets": True}, "n_datasets"),
        ({"n_cells": (300, 100)}, "n_cells"),
        ({"n_cells": (0, 100)}, "n_cells"),
        ({"n_cells": 1}, "n_cells"),
        ({"n_cells": (1, 2, 3)}, "n_cells"),
        ({"n_cells": "many"}, "n_cells"),
        ({"technologies": ("scrna", "bulk")}, "technolog"),
        ({"species": ("human", "zebrafish")}, "species"),
        ({"tissues": ()}, "tissues"),
        ({"tissues": ("heart", "heart")}, "duplicates"),
        ({"tissues": ("heart", "")}, "tissues"),
        ({"n_modules": 400}, "n_modules"),
        ({"n_modules": 0}, "n_modules"),
        ({"n_genes": 1}, "n_genes"),
        ({"n_cell_types": 0}, "n_cell_types"),
        ({"universe_factor": 0.5}, "universe_factor"),
        ({"shared_fraction": 1.5}, "shared_fraction"),
        ({"context_fraction": -0.1}, "context_fraction"),
        ({"random_state": "seed"}, "random_state"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_validation(kwargs, match):
    args = {**SMALL, **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate(**args)


def test_validation_is_keyword_only_and_orthologs_checked():
    with pytest.raises(TypeError):
        simulate(3)  # type: ignore[misc]
    with pytest.raises(ValueError, match="universe_factor"):
        simulate_orthologs(n_genes=100, universe_factor=0.9)
