"""Write ``src/muse_gnn/datasets/_data/hsmm_symbols.tsv.gz`` from the project's reference build of the HSMM data.

Usage: ``python tests/scripts/make_hsmm_symbols.py DATA_DIR`` with ``DATA_DIR`` the folder holding
``expression/hsmm_myoblast_c1.h5ad``.

The HSMM source (Bioconductor HSMMSingleCell) names genes by versioned Ensembl IDs. The reference build gave each
one an HGNC symbol with the tables of org.Hs.eg.db 3.16.0 (NCBI Gene data, public domain; the route is in
``symbol_source``) and kept, per symbol, the row with the highest mean FPKM. The table lists, for every gene that
build kept, ``ensembl_id_versioned``, ``symbol``, ``symbol_source`` and ``entrez_id`` (empty when none), so that
:func:`muse_gnn.datasets.trapnell2014` rebuilds the same ``var`` from the Debian package without org.Hs.eg.db.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anndata as ad
import pandas as pd


def main(data: Path) -> pd.DataFrame:
    var = ad.read_h5ad(data / "expression" / "hsmm_myoblast_c1.h5ad", backed="r").var
    return pd.DataFrame({
        "ensembl_id_versioned": var["ensembl_id_versioned"].astype(str).to_numpy(),
        "symbol": var.index.astype(str),
        "symbol_source": var["symbol_source"].astype(str).to_numpy(),
        "entrez_id": var["entrez_id"].astype(str).to_numpy(),
    })


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[2] / "src/muse_gnn/datasets/_data/hsmm_symbols.tsv.gz"
    table = main(Path(sys.argv[1]))
    table.to_csv(out, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
    print(out, len(table))
