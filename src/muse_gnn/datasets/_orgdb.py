"""GO biological-process gene sets and term names from Bioconductor's annotation SQLite databases.

Bioconductor's ``org.Hs.eg.db`` and ``GO.db`` are R packages around one SQLite file each, read here with Python's
:mod:`sqlite3` (no R needed):

* ``org.Hs.eg.db/extdata/org.Hs.eg.sqlite``: table ``go_bp_all`` holds the GO-BP annotations of each NCBI Gene
  (``_id``) already propagated to all ancestor terms (over ``is_a``, ``part_of``, ``regulates``,
  ``positively_regulates``, ``negatively_regulates``, as AnnotationDbi's ``GOALL`` map), with the evidence code of
  the direct annotation; ``gene_info`` gives each gene's official symbol;
* ``GO.db/extdata/GO.sqlite``: table ``go_term`` holds the GO terms (``ontology = 'BP'`` for biological process);
  obsolete terms are in a separate table and so are not included.

The files written are those of the project's reference builds, byte for byte: the GMT lines sorted by GO id,
genes sorted (code-point order), sets of 10–500 genes once IEA annotations are excluded.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from pathlib import Path

__all__ = ["MIN_SET", "MAX_SET", "go_bp_human_gmt", "go_bp_terms_tsv"]

MIN_SET, MAX_SET = 10, 500


def _connect(path: str | os.PathLike) -> sqlite3.Connection:
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)


def _bp_terms(go_sqlite: str | os.PathLike) -> list[tuple[str, str]]:
    with _connect(go_sqlite) as con:
        return con.execute("SELECT go_id, term FROM go_term WHERE ontology = 'BP' ORDER BY go_id").fetchall()


def go_bp_terms_tsv(go_sqlite: str | os.PathLike, out: str | os.PathLike) -> int:
    """Write ``go_id<TAB>term`` of every non-obsolete GO-BP term of ``GO.sqlite`` to ``out``; returns the count."""
    rows = _bp_terms(go_sqlite)
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("go_id\tterm\n")
        fh.writelines(f"{go_id}\t{term}\n" for go_id, term in rows)
    return len(rows)


def go_bp_human_gmt(org_sqlite: str | os.PathLike, go_sqlite: str | os.PathLike, out: str | os.PathLike,
                    min_size: int = MIN_SET, max_size: int = MAX_SET) -> int:
    """Write the propagated, non-IEA human GO-BP gene sets (HGNC symbols) of ``min_size``–``max_size`` genes as
    GMT (``GO id<TAB>term name<TAB>genes...``) to ``out``; returns the number of sets."""
    with _connect(org_sqlite) as con:
        pairs = con.execute(
            "SELECT DISTINCT a.go_id, g.symbol FROM go_bp_all AS a JOIN gene_info AS g ON a._id = g._id "
            "WHERE a.evidence != 'IEA'"
        ).fetchall()
    sets: dict[str, set[str]] = defaultdict(set)
    for go_id, symbol in pairs:
        sets[go_id].add(symbol)
    names = dict(_bp_terms(go_sqlite))
    n = 0
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        for go_id in sorted(sets):
            genes = sorted(sets[go_id])
            if min_size <= len(genes) <= max_size:
                fh.write("\t".join([go_id, names.get(go_id, ""), *genes]) + "\n")
                n += 1
    return n
