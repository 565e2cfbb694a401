"""mg.tl.module_scores: per-cell / per-spot activity of gene modules, checked on simulated planted modules."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

import muse_gnn as mg


@pytest.fixture(scope="module")
def _spatial():
    adata = mg.datasets.simulate(
        n_datasets=1, technologies="spatial", n_genes=300, n_cells=400, n_modules=8, random_state=1
    )["spatial_heart_0"]
    sc.pp.normalize_total(adata)
    sc.pp.log1p(adata)
    return adata


@pytest.fixture()
def spatial(_spatial):
    return _spatial.copy()


def _planted(adata) -> dict[str, list[str]]:
    mods = adata.var["module"]
    return {str(m): adata.var_names[mods == m].tolist() for m in sorted(set(mods) - {-1})}


def _moran(values: np.ndarray, xy: np.ndarray, k: int = 6) -> float:
    idx = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(return_distance=False)[:, 1:]
    z = values - values.mean()
    return float((z[:, None] * z[idx]).mean(axis=1).sum() / (z**2).sum())


def test_spatial_module_scores_highest_where_its_program_is_active(spatial):
    """Score a planted spatial module with half of its genes; its other half marks where the program is active."""
    spatial_modules = [str(m) for m in spatial.uns["simulation"]["spatial_modules"]]
    planted = _planted(spatial)
    rng = np.random.default_rng(0)
    # genes outside every program and without a spatial pattern of their own
    free = spatial.var_names[(spatial.var["module"] == -1) & ~spatial.var["spatial_gene"]].to_numpy()
    for m in spatial_modules:
        genes = rng.permutation(planted[m])
        half_a, half_b = genes[: len(genes) // 2].tolist(), genes[len(genes) // 2 :].tolist()
        random_set = rng.choice(free, size=len(half_a), replace=False).tolist()
        out = mg.tl.module_scores(spatial, {"a": half_a, "random": random_set}, min_genes=3, copy=True)
        score, control = out.obs["module_score_a"].to_numpy(), out.obs["module_score_random"].to_numpy()
        activity = np.asarray(spatial[:, half_b].X.mean(axis=1)).ravel()  # independent genes of the program
        lo, hi = np.quantile(activity, [0.25, 0.75])
        sel = (activity <= lo) | (activity >= hi)
        on = activity[sel] >= hi
        auc, auc_control = roc_auc_score(on, score[sel]), roc_auc_score(on, control[sel])
        moran, moran_control = _moran(score, spatial.obsm["spatial"]), _moran(control, spatial.obsm["spatial"])
        assert auc > 0.85 and auc > auc_control + 0.15  # high score where the program is on; a random set is not
        # the activity is a pattern on the tissue, not noise: neighbouring spots share it
        assert moran > moran_control + 0.1
        assert np.argmax(score) in np.flatnonzero(activity >= np.quantile(activity, 0.5))


def test_var_labels_as_gene_modules_writes_them(spatial, caplog):
    """Labels in `var` (categorical, missing outside the graph, categories of other datasets unused)."""
    planted = _planted(spatial)
    labels = pd.Series(np.nan, index=spatial.var_names, dtype=object)
    for m, genes in planted.items():
        labels[genes] = m
    sizes = {m: len(g) for m, g in planted.items()}
    small = min(sizes, key=sizes.get)
    spatial.var["muse_module"] = pd.Categorical(labels, categories=[*planted, "99"])  # "99": another dataset's
    min_genes = sizes[small] + 1
    logger = logging.getLogger("muse_gnn")
    logger.addHandler(caplog.handler)
    try:
        mg.tl.module_scores(spatial, min_genes=min_genes, key_added="ms")
    finally:
        logger.removeHandler(caplog.handler)
    scored = [m for m in planted if sizes[m] >= min_genes]
    assert [c for c in spatial.obs if c.startswith("ms_")] == [f"ms_{m}" for m in scored]
    assert f"ms_{small}" not in spatial.obs and "ms_99" not in spatial.obs
    assert spatial.uns["ms"]["skipped"] == [m for m in planted if sizes[m] < min_genes]
    assert spatial.uns["ms"]["modules"][scored[0]] == planted[scored[0]]
    assert "skipped" in caplog.text and f"{small} ({sizes[small]})" in caplog.text


def test_same_as_score_genes(spatial):
    genes = _planted(spatial)["0"]
    out = mg.tl.module_scores(spatial, {"0": genes}, copy=True)
    ref = sc.tl.score_genes(spatial, genes, random_state=0, copy=True, use_raw=False).obs["score"]
    np.testing.assert_allclose(out.obs["module_score_0"], ref)
    assert "module_score_0" not in spatial.obs and "module_score" not in spatial.uns  # copy=True


def test_layer_and_raw(spatial):
    genes = _planted(spatial)["0"]
    spatial.layers["lognorm"] = spatial.X.copy()
    spatial.raw = spatial
    a = mg.tl.module_scores(spatial, {"0": genes}, layer="lognorm", copy=True).obs["module_score_0"]
    b = mg.tl.module_scores(spatial, {"0": genes}, use_raw=True, copy=True).obs["module_score_0"]
    c = mg.tl.module_scores(spatial, {"0": genes}, copy=True).obs["module_score_0"]
    np.testing.assert_allclose(a, c)
    np.testing.assert_allclose(b, c)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"modules": "nope"}, KeyError, "gene_modules"),
        ({"modules": 3}, TypeError, "var` column or a mapping"),
        ({"modules": {}}, ValueError, "empty mapping"),
        ({"modules": {"a": "GENE0001"}}, TypeError, "list of gene names"),
        ({"modules": {"a": ["not-a-gene"]}}, ValueError, "no module has at least"),
        ({"modules": {"a": ["x"]}, "min_genes": 0}, ValueError, "min_genes"),
        ({"modules": {"a": ["x"]}, "layer": "missing"}, KeyError, "layer 'missing'"),
        ({"modules": {"a": ["x"]}, "use_raw": True}, ValueError, "adata.raw` is None"),
        ({"modules": {"a": ["x"]}, "key_added": ""}, ValueError, "key_added"),
        ({"modules": "module", "use_raw": True}, ValueError, "pass either|mapping"),
    ],
)
def test_bad_input_leaves_adata_untouched(spatial, kwargs, error, match):
    if kwargs.get("modules") == "module" and kwargs.get("use_raw"):
        spatial.raw = spatial
    before_obs, before_uns = spatial.obs.copy(), set(spatial.uns)
    with pytest.raises(error, match=match):
        mg.tl.module_scores(spatial, **kwargs)
    pd.testing.assert_frame_equal(spatial.obs, before_obs)
    assert set(spatial.uns) == before_uns


def test_all_missing_var_labels(spatial):
    spatial.var["muse_module"] = pd.Categorical([np.nan] * spatial.n_vars, categories=["0"])
    with pytest.raises(ValueError, match="labels no gene"):
        mg.tl.module_scores(spatial)


def test_rejects_views(spatial):
    with pytest.raises(ValueError, match="view"):
        mg.tl.module_scores(spatial[:10], _planted(spatial))
