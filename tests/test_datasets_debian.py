"""Loaders built from Debian packages: the .deb reader, checksums, the cache, rdata/sqlite conversion.

Fake small ``.deb`` files (an ``ar`` archive with ``data.tar.xz``) are written here and served from ``file://``
URLs, so nothing touches the network. Writing R data files needs R, so the R-data step of ``treutlein2014`` is
replaced by a reader of a small text file inside the fake package; the GO loaders run unchanged on small SQLite
databases. The ``slow`` test builds the four datasets from the real packages when ``MUSE_GNN_DEB_DIR`` names a
folder holding them, and compares them with the project's reference files.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

import muse_gnn as mg
from muse_gnn.datasets import _annotations, _debian, _fetch, _loaders, _rdata
from muse_gnn.datasets._fetch import Archive

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode("ascii")
        assert len(header) == 60
        out.write(header + data + (b"\n" if len(data) % 2 else b""))
    return out.getvalue()


def _deb(path: Path, files: dict[str, bytes], compression: str = "xz") -> Archive:
    """A minimal Debian binary package holding ``files`` (installed paths) in data.tar.<compression>."""
    tar_bytes = io.BytesIO()
    mode = {"xz": "w:xz", "gz": "w:gz", "zst": "w"}[compression]
    with tarfile.open(fileobj=tar_bytes, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo("./" + name.lstrip("/"))
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(_ar([("debian-binary", b"2.0\n"), ("control.tar.xz", b""),
                          (f"data.tar.{compression}", tar_bytes.getvalue())]))
    return Archive(path.as_uri(), hashlib.sha256(path.read_bytes()).hexdigest())


# ------------------------------------------------------------------------------------------------ the .deb reader
@pytest.mark.parametrize("compression", ["xz", "gz"])
def test_extract_from_deb(tmp_path, compression):
    deb = tmp_path / "pkg_1.0-1_all.deb"
    _deb(deb, {"/usr/lib/R/site-library/pkg/data/a.rda": b"odd", "/usr/share/doc/pkg/copyright": b"even"},
         compression)
    assert _debian.deb_members(deb) == ["debian-binary", "control.tar.xz", f"data.tar.{compression}"]
    got = _debian.extract_from_deb(deb, ["/usr/lib/R/site-library/pkg/data/a.rda", "usr/share/doc/pkg/copyright"],
                                   tmp_path / "out")
    assert got["/usr/lib/R/site-library/pkg/data/a.rda"].read_bytes() == b"odd"
    assert got["usr/share/doc/pkg/copyright"].read_bytes() == b"even"
    with pytest.raises(KeyError, match="does not contain.*missing.rda"):
        _debian.extract_from_deb(deb, ["/usr/lib/missing.rda"], tmp_path / "out")


def test_zstd_data_tarball_gives_a_clear_error(tmp_path):
    deb = tmp_path / "pkg_1.0-1_all.deb"
    _deb(deb, {"/usr/x": b"x"}, "zst")
    with pytest.raises(ValueError, match="data.tar.zst.*zstandard.*unzstd"):
        _debian.extract_from_deb(deb, ["/usr/x"], tmp_path / "out")


def test_not_a_deb(tmp_path):
    path = tmp_path / "x.deb"
    path.write_bytes(b"PK\x03\x04 not an ar archive")
    with pytest.raises(ValueError, match="not a Debian package"):
        _debian.deb_members(path)


# --------------------------------------------------------------------- treutlein2014 through a fake package
_LUNG = "/usr/lib/R/site-library/monocle/extdata/lung_exprs_data.RData"


def _fake_lung_reader(files: dict[str, Path], func: str) -> AnnData:
    """Stands in for the R-data step: the fake package holds a CSV instead of lung_exprs_data.RData."""
    table = pd.read_csv(files[_LUNG], index_col=0)
    return AnnData(table.to_numpy(dtype=np.float32), obs=pd.DataFrame(index=table.index.astype(str)),
                   var=pd.DataFrame(index=table.columns.astype(str)))


@pytest.fixture()
def fake_monocle(tmp_path, monkeypatch):
    archive = _deb(tmp_path / "r-bioc-monocle_2.26.0-2_amd64.deb", {_LUNG: b"cell,Sftpc,Ager\nc1,1.5,0\nc2,0,2\n"})
    monkeypatch.setitem(_loaders._ARCHIVES, "monocle", archive)
    monkeypatch.setitem(_loaders._DEBIAN_BUILDS, "monocle_mouse_lung_c1", ("monocle", [_LUNG], _fake_lung_reader))
    return archive


def test_debian_build_downloads_checks_and_caches(empty_datasetdir, fake_monocle, monkeypatch):
    adata = mg.datasets.treutlein2014()
    assert adata.shape == (2, 2) and adata.var_names.tolist() == ["Sftpc", "Ager"]
    assert adata.uns["muse_source"]["registry"] == "Debian"
    cached = empty_datasetdir / "archives" / "r-bioc-monocle_2.26.0-2_amd64.deb"
    assert _fetch.sha256sum(cached) == fake_monocle.sha256
    assert (empty_datasetdir / "monocle_mouse_lung_c1.h5ad.sha256").exists()
    assert not [p for p in empty_datasetdir.rglob("*") if p.name.endswith(".part") or p.name.startswith("tmp")]

    def no_network(url):
        raise AssertionError("a cached package must not be downloaded again")

    monkeypatch.setattr(_fetch, "_urlopen", no_network)
    (empty_datasetdir / "monocle_mouse_lung_c1.h5ad").unlink()  # rebuilt from the cached .deb
    (empty_datasetdir / "monocle_mouse_lung_c1.h5ad.sha256").unlink()
    again = mg.datasets.treutlein2014()
    assert (again.X != adata.X).nnz == 0


def test_debian_checksum_mismatch_is_refused_and_nothing_cached(empty_datasetdir, fake_monocle, monkeypatch):
    monkeypatch.setitem(_loaders._ARCHIVES, "monocle", Archive(fake_monocle.url, "0" * 64))
    with pytest.raises(ValueError, match="SHA-256 .* expected 0{64}.*nothing was cached"):
        mg.datasets.treutlein2014()
    assert [p for p in empty_datasetdir.rglob("*") if p.is_file()] == []


def test_missing_rdata_gives_a_clear_import_error(empty_datasetdir, fake_monocle, monkeypatch):
    monkeypatch.setitem(sys.modules, "rdata", None)  # import rdata now raises ImportError
    with pytest.raises(ImportError, match=r"pip install muse-gnn\[data\]"):
        mg.datasets.treutlein2014()
    assert not (empty_datasetdir / "archives").exists() or not any((empty_datasetdir / "archives").iterdir())
    with pytest.raises(ImportError, match="rdata"):
        _rdata.read_r_objects("x.rda", "test")


def test_debian_loaders_name_their_package(empty_datasetdir, monkeypatch):
    urls = []

    def offline(url):
        urls.append(url)
        raise OSError("offline")

    monkeypatch.setattr(_fetch, "_urlopen", offline)
    for func in ("trapnell2014", "treutlein2014", "go_bp_human", "go_bp_terms"):
        with pytest.raises(OSError, match="offline"):
            getattr(mg.datasets, func)()
    assert [u.rsplit("/", 1)[-1] for u in urls] == [
        "r-bioc-hsmmsinglecell_1.18.0-1_all.deb", "r-bioc-monocle_2.26.0-2_amd64.deb",
        "r-bioc-go.db_3.16.0-1_all.deb", "r-bioc-go.db_3.16.0-1_all.deb",
    ]
    assert all(u.startswith("https://deb.debian.org/debian/pool/main/r/") for u in urls)
    assert [p for p in empty_datasetdir.rglob("*") if p.is_file()] == []


# --------------------------------------------------------------------------------- conversion helpers
def test_plain_columns_and_highest_mean():
    df = pd.DataFrame({
        "f": pd.Categorical(["b", "a", None], categories=["b", "a", "unused"]),
        "s": pd.array(["x", None, "z"], dtype="string"),
        "i": pd.array([1, 2, 3], dtype="Int32"),
        "b": pd.array([True, False, True], dtype="boolean"),
        "x": [0.5, 1.5, 2.5],
    }, index=["r1", "r2", "r3"])
    out = _rdata.plain_columns(df, strings=["f"], int_dtype="int32")
    assert out["f"].tolist() == ["b", "a", "None"] and out["f"].dtype == object
    assert out["s"].tolist() == ["x", "None", "z"]
    assert out["i"].dtype == np.int32 and out["b"].dtype == bool and out["x"].dtype == np.float64
    kept = _rdata.plain_columns(df[["f"]])
    assert kept["f"].cat.categories.tolist() == ["b", "a"]
    X = np.array([[1.0, 5.0, 2.0], [1.0, 5.0, 2.0]])
    assert _loaders._keep_highest_mean(X, pd.Index(["A", "B", "A"])).tolist() == [False, True, True]


# ----------------------------------------------------------------------- GO loaders on small SQLite files
_ORG = "/usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite"
_GO = "/usr/lib/R/site-library/GO.db/extdata/GO.sqlite"


def _sqlite_bytes(path: Path, script: str) -> bytes:
    con = sqlite3.connect(path)
    con.executescript(script)
    con.commit()
    con.close()
    return path.read_bytes()


def test_go_loaders_build_from_sqlite(tmp_path, empty_datasetdir, monkeypatch):
    genes = [f"G{i:02d}" for i in range(12)]
    org = "CREATE TABLE gene_info (_id INTEGER, gene_name TEXT, symbol TEXT);" \
          "CREATE TABLE go_bp_all (_id INTEGER, go_id TEXT, evidence TEXT);"
    org += "".join(f"INSERT INTO gene_info VALUES ({i}, 'n', '{g}');" for i, g in enumerate(genes))
    org += "".join(f"INSERT INTO go_bp_all VALUES ({i}, 'GO:0000002', 'IDA');" for i in range(11))
    org += "INSERT INTO go_bp_all VALUES (11, 'GO:0000002', 'IEA');"  # IEA excluded
    org += "INSERT INTO go_bp_all VALUES (0, 'GO:0000002', 'TAS');"  # counted once
    org += "".join(f"INSERT INTO go_bp_all VALUES ({i}, 'GO:0000001', 'IDA');" for i in range(3))  # < 10 genes
    go = "CREATE TABLE go_term (_id INTEGER, go_id TEXT, term TEXT, ontology TEXT, definition TEXT);" \
         "INSERT INTO go_term VALUES (1, 'GO:0000002', 'mitochondrial genome maintenance', 'BP', '');" \
         "INSERT INTO go_term VALUES (2, 'GO:0000001', 'mitochondrion inheritance', 'BP', '');" \
         "INSERT INTO go_term VALUES (3, 'GO:0003674', 'molecular_function', 'MF', '');"
    org_deb = _deb(tmp_path / "r-bioc-org.hs.eg.db_3.16.0-1_all.deb", {_ORG: _sqlite_bytes(tmp_path / "o.sqlite", org)})
    go_deb = _deb(tmp_path / "r-bioc-go.db_3.16.0-1_all.deb", {_GO: _sqlite_bytes(tmp_path / "g.sqlite", go)})
    monkeypatch.setitem(_loaders._ARCHIVES, "org.hs.eg.db", org_deb)
    monkeypatch.setitem(_loaders._ARCHIVES, "go.db", go_deb)

    terms = mg.datasets.go_bp_terms()
    assert terms.to_dict() == {"GO:0000001": "mitochondrion inheritance",
                               "GO:0000002": "mitochondrial genome maintenance"}
    assert (empty_datasetdir / "go_bp_terms.tsv").read_text().startswith("go_id\tterm\nGO:0000001\t")
    sets = mg.datasets.go_bp_human()
    assert sets == {"GO:0000002": genes[:11]}
    line = (empty_datasetdir / "go_bp_human.gmt").read_text()
    assert line == "GO:0000002\tmitochondrial genome maintenance\t" + "\t".join(genes[:11]) + "\n"
    assert sorted(p.name for p in (empty_datasetdir / "archives").iterdir()) == [
        "r-bioc-go.db_3.16.0-1_all.deb", "r-bioc-org.hs.eg.db_3.16.0-1_all.deb"]
    assert not [p for p in empty_datasetdir.iterdir() if p.is_dir() and p.name != "archives"]  # temp dir removed


# ------------------------------------------------------------------------------- the real packages (slow)
@pytest.mark.slow
def test_build_from_real_debian_packages(tmp_path, empty_datasetdir):
    """Build the four datasets from the real .deb files in ``$MUSE_GNN_DEB_DIR`` and compare with the references."""
    deb_dir = os.environ.get("MUSE_GNN_DEB_DIR")
    keys = ("hsmm", "monocle", "org.hs.eg.db", "go.db")
    if not deb_dir or not all((Path(deb_dir) / _loaders._ARCHIVES[k].filename).is_file() for k in keys):
        pytest.skip("MUSE_GNN_DEB_DIR does not point at a folder holding the four Debian packages")
    pytest.importorskip("rdata")
    archives = empty_datasetdir / "archives"
    archives.mkdir(parents=True)
    for k in keys:
        name = _loaders._ARCHIVES[k].filename
        (archives / name).symlink_to(Path(deb_dir).resolve() / name)  # checked against the pinned SHA-256

    built = {
        "hsmm_myoblast_c1.h5ad": (mg.datasets.trapnell2014(), _loaders._DATASETS["hsmm_myoblast_c1"].sha256),
        "monocle_mouse_lung_c1.h5ad": (mg.datasets.treutlein2014(),
                                       _loaders._DATASETS["monocle_mouse_lung_c1"].sha256),
    }
    sets, terms = mg.datasets.go_bp_human(), mg.datasets.go_bp_terms()
    assert len(sets) == 5542 and len(terms) == 28140
    # byte-identical to the reference builds: the checksum recorded for the build is the pinned one
    pinned = {**{name: sha for name, (_, sha) in built.items()}, **_annotations._GO_FILES}
    for name, sha in pinned.items():
        assert (empty_datasetdir / f"{name}.sha256").read_text().split()[0] == sha, name
    assert built["hsmm_myoblast_c1.h5ad"][0].shape == (271, 19403)
    assert built["monocle_mouse_lung_c1.h5ad"][0].shape == (185, 217)
    if SHARED_DATA.is_dir():  # and the same bytes as the files in shared/data
        for name in pinned:
            sub = "expression" if name.endswith(".h5ad") else "annotations"
            assert _fetch.sha256sum(SHARED_DATA / sub / name) == _fetch.sha256sum(empty_datasetdir / name), name
