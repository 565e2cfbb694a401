"""Parameters that are ``None`` are left out of ``adata.uns`` (anndata 0.10 drops them when writing)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest

import muse_gnn as mg
from muse_gnn._utils import uns_params


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray | list):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b))


def test_uns_params_drops_none_only():
    assert uns_params({"layer": None, "fdr": 0.0, "flag": False, "name": ""}) == {
        "fdr": 0.0, "flag": False, "name": ""}


@pytest.mark.parametrize("fmt", ["h5ad"])
def test_cscore_and_sparkx_params_round_trip(tmp_path, fmt):
    rng = np.random.default_rng(0)
    xy = np.stack(np.meshgrid(np.arange(10), np.arange(10)), -1).reshape(-1, 2).astype(float)
    adata = ad.AnnData(rng.negative_binomial(2, 0.2, size=(100, 4)).astype(np.float32), obsm={"spatial": xy})
    mg.pp.cscore(adata, device="cpu", show_progress_bar=False)
    mg.pp.sparkx(adata, device="cpu", show_progress_bar=False)
    for key in ("cscore", "sparkx"):
        params = adata.uns[key]["params"]
        assert "layer" not in params and params.get("layer") is None
        assert not any(v is None or v == "None" for v in params.values() if not isinstance(v, np.ndarray))
    path = tmp_path / f"a.{fmt}"
    adata.write_h5ad(path)
    back = ad.read_h5ad(path)
    for key in ("cscore", "sparkx"):
        assert _same(adata.uns[key]["params"], back.uns[key]["params"]), key
    adata.layers["counts"] = adata.X.copy()
    mg.pp.cscore(adata, layer="counts", device="cpu", show_progress_bar=False)
    assert adata.uns["cscore"]["params"]["layer"] == "counts"
