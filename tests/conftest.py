from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session")
def _datasetdir_prefilled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared/data is not present")
    import importlib.util

    spec = importlib.util.spec_from_file_location("prefill_datasetdir", Path(__file__).parent / "scripts/prefill_datasetdir.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.prefill(SHARED / "data", tmp_path_factory.mktemp("datasetdir"))


@pytest.fixture()
def empty_datasetdir(tmp_path: Path):
    """``mg.settings.datasetdir`` set, for one test, to an empty folder (nothing cached)."""
    from muse_gnn._settings import settings

    old = settings.datasetdir
    settings.datasetdir = tmp_path / "cache"
    try:
        yield settings.datasetdir
    finally:
        settings.datasetdir = old


@pytest.fixture()
def datasetdir_prefilled(_datasetdir_prefilled: Path):
    """``mg.settings.datasetdir`` set, for one test, to a cache pre-filled (symlinks) from ../shared/data.

    The :mod:`muse_gnn.datasets` loaders then find their files without downloading; skips when ../shared/data
    is absent.
    """
    from muse_gnn._settings import settings

    old = settings.datasetdir
    settings.datasetdir = _datasetdir_prefilled
    try:
        yield _datasetdir_prefilled
    finally:
        settings.datasetdir = old


@pytest.fixture(scope="session")
def _small_collection():
    import muse_gnn as mg

    adatas = mg.datasets.simulate(
        n_datasets=3, tissues=("heart", "lung"), technologies=("scrna",), n_genes=240, n_cells=(120, 180),
        n_modules=6, random_state=0,
    )
    mg.pp.coexpression_graphs(adatas, n_top_genes=90, method="pearson", show_progress_bar=False)
    return adatas


@pytest.fixture()
def small_collection(_small_collection):
    """Three simulated scRNA datasets with Pearson graphs of 90 genes (fresh copies per test)."""
    return {k: v.copy() for k, v in _small_collection.items()}
