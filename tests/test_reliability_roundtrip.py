"""Every output muse_gnn writes to AnnData survives ``.h5ad`` and ``.zarr`` unchanged.

Covers ``mg.pp.coexpression_graph`` (varp graph, var selection statistics, uns params, CS-CORE and
SPARK-X flavours), ``mg.pp.cscore``, ``mg.pp.sparkx``, ``mg.pp.map_orthologs``, ``mg.tl.fit``
(``varm["X_muse"]``, uns params), ``mg.tl.gene_modules`` (joint obs/uns/obsp and the datasets' var
labels) and the joint embedding itself. The comparison is of everything in the object (X, obs, var,
uns, obsm, varm, obsp, varp, layers), value by value, dtypes included.
"""

from __future__ import annotations

import warnings

import anndata as ad
import pytest
from _reliability import assert_unchanged, snapshot

import muse_gnn as mg

FORMATS = ["h5ad", "zarr"]


def _write_read(adata: ad.AnnData, path, fmt: str) -> ad.AnnData:
    if fmt == "h5ad":
        adata.write_h5ad(path.with_suffix(".h5ad"))
        return ad.read_h5ad(path.with_suffix(".h5ad"))
    adata.write_zarr(path.with_suffix(".zarr"))
    return ad.read_zarr(path.with_suffix(".zarr"))


@pytest.fixture(scope="module")
def outputs() -> dict[str, ad.AnnData]:
    """Datasets and a joint embedding carrying every muse_gnn output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = mg.datasets.simulate(
            n_datasets=3, technologies=("scrna", "spatial"), species=("human", "mouse"),
            n_genes=80, n_cells=(60, 80), n_modules=4, random_state=1,
        )
        table = mg.datasets.simulate_orthologs(n_genes=80)
        for a in data.values():
            if a.uns["species"] == "mouse":
                mg.pp.map_orthologs(a, table)  # uns["map_orthologs"], var["mouse_symbol"]
        first, spatial = data["scrna_heart_0"], data["spatial_heart_2"]
        mg.pp.cscore(first, genes=first.var_names[:6], device="cpu")  # uns["cscore"]: genes, matrices, params
        mg.pp.sparkx(spatial)  # var sparkx_pval/padj, uns["sparkx"]
        # CS-CORE graph for one dataset, Pearson graphs (SPARK-X selection for the spatial one) for the rest
        mg.pp.coexpression_graph(first, n_top_genes=30, device="cpu")
        for name in ("scrna_heart_1", "spatial_heart_2"):
            mg.pp.coexpression_graph(data[name], n_top_genes=30, method="pearson")
        model = mg.tl.fit(data, max_epochs=2, n_latent=8, show_progress_bar=False, accelerator="cpu")
        joint = model.joint_embedding()
        mg.tl.gene_modules(joint, adatas=model.adatas, n_neighbors=5)
    return {**data, "joint": joint}


def test_outputs_present(outputs: dict[str, ad.AnnData]) -> None:
    """The fixture really carries the outputs the round trips are about."""
    first, mouse, spatial = outputs["scrna_heart_0"], outputs["scrna_heart_1"], outputs["spatial_heart_2"]
    assert {"cscore", "muse", "X_muse"} <= set(first.uns)
    assert {"sparkx", "muse"} <= set(spatial.uns) and "sparkx_pval" in spatial.var
    assert spatial.uns["muse"]["params"]["flavor"] == "spatial"
    assert "map_orthologs" in mouse.uns and "mouse_symbol" in mouse.var
    for name in ("scrna_heart_0", "scrna_heart_1", "spatial_heart_2"):
        a = outputs[name]
        assert "muse_connectivities" in a.varp and "X_muse" in a.varm and "muse_module" in a.var
    joint = outputs["joint"]
    assert "muse_module" in joint.obs and "muse_module" in joint.uns and "X_muse" in joint.obsm


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["scrna_heart_0", "scrna_heart_1", "spatial_heart_2", "joint"])
def test_round_trip_unchanged(outputs: dict[str, ad.AnnData], name: str, fmt: str, tmp_path) -> None:
    adata = outputs[name]
    # anndata turns string columns of obs/var into categoricals when writing (on the object itself);
    # apart from that, the object read back and the written one must equal the original
    ref = adata.copy()
    ref.strings_to_categoricals()
    snap = snapshot(ref)
    back = _write_read(adata, tmp_path / name, fmt)
    assert_unchanged(back, snap)
    assert_unchanged(adata, snap)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_tripped_datasets_train_and_read_graphs(outputs: dict[str, ad.AnnData], fmt: str, tmp_path) -> None:
    """Read-back objects are usable: the graph and node features are the same as before writing."""
    import numpy as np

    for name in ("scrna_heart_0", "scrna_heart_1", "spatial_heart_2"):
        a = outputs[name]
        back = _write_read(a, tmp_path / name, fmt)
        genes, adj = mg.pp.get_graph(a)
        genes_b, adj_b = mg.pp.get_graph(back)
        assert genes.equals(genes_b) and (adj != adj_b).nnz == 0
        np.testing.assert_array_equal(mg.pp.residual_features(a), mg.pp.residual_features(back))
