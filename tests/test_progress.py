"""Progress bars: ``tqdm.auto`` as scanpy uses it, on or off with ``show_progress_bar`` / ``mg.settings``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tqdm.auto

import muse_gnn as mg
from muse_gnn import _progress
from muse_gnn._progress import progress_bar



@pytest.fixture
def progress_setting():
    old = mg.settings.progress_bar
    yield
    mg.settings.progress_bar = old


def test_progress_bar_is_tqdm_auto():
    bar = progress_bar(range(3), show_progress_bar=False)
    assert isinstance(bar, tqdm.auto.tqdm)
    assert list(bar) == [0, 1, 2]
    bar = progress_bar(total=5, initial=2, desc="x", show_progress_bar=False)
    bar.update(3)
    bar.close()


def test_progress_bar_disable_or_show_not_both():
    assert list(progress_bar(range(2), disable=True)) == [0, 1]
    with pytest.raises(TypeError, match="not both"):
        progress_bar(range(2), disable=True, show_progress_bar=True)


@pytest.mark.parametrize(("setting", "arg", "shown"), [
    (True, None, True), (False, None, False), (True, False, False), (False, True, True),
])
def test_progress_bar_follows_settings(progress_setting, capsys, setting, arg, shown):
    mg.settings.progress_bar = setting
    for _ in progress_bar(range(3), desc="demo-bar", show_progress_bar=arg):
        pass
    assert ("demo-bar" in capsys.readouterr().err) is shown


def _cscore_inputs():
    rng = np.random.default_rng(0)
    depth = rng.lognormal(np.log(5000), 0.3, size=300)
    counts = rng.poisson(depth[:, None] * rng.gamma(4.0, 1e-3 / 4.0, size=(300, 6)))
    return counts, depth


def _sparkx_inputs():
    rng = np.random.default_rng(0)
    xy = np.stack(np.meshgrid(np.arange(12), np.arange(12)), -1).reshape(-1, 2).astype(float)
    return rng.poisson(2.0, size=(144, 4)), xy


@pytest.mark.parametrize(("setting", "arg", "shown"), [(True, None, True), (False, None, False),
                                                       (True, False, False), (False, True, True)])
def test_cscore_and_sparkx_bars_follow_settings(progress_setting, capsys, setting, arg, shown):
    """``show_progress_bar=None`` (the default) follows ``mg.settings.progress_bar``; True/False win."""
    mg.settings.progress_bar = setting
    counts, depth = _cscore_inputs()
    mg.pp.cscore_arrays(counts, depth, device="cpu", show_progress_bar=arg)
    assert ("CS-CORE" in capsys.readouterr().err) is shown
    X, xy = _sparkx_inputs()
    mg.pp.sparkx_test(X, xy, device="cpu", show_progress_bar=arg)
    assert ("SPARK-X" in capsys.readouterr().err) is shown


def test_anndata_functions_pass_show_progress_bar(progress_setting, capsys):
    import anndata as ad

    mg.settings.progress_bar = True
    counts, _ = _cscore_inputs()
    adata = ad.AnnData(counts.astype(np.float32))
    mg.pp.cscore(adata, device="cpu", show_progress_bar=False)
    X, xy = _sparkx_inputs()
    sp_adata = ad.AnnData(X.astype(np.float32), obsm={"spatial": xy})
    mg.pp.sparkx(sp_adata, device="cpu", show_progress_bar=False)
    assert capsys.readouterr().err == ""
    mg.settings.progress_bar = False
    mg.pp.cscore(adata, device="cpu", show_progress_bar=True)
    mg.pp.sparkx(sp_adata, device="cpu", show_progress_bar=True)
    err = capsys.readouterr().err
    assert "CS-CORE" in err and "SPARK-X" in err


def test_reimporting_progress_adds_no_warning_filter():
    """The progress module installs nothing at import (no filters, no patched tqdm)."""
    import importlib
    import warnings

    before = list(warnings.filters)
    tqdm_before = tqdm.auto.tqdm
    importlib.reload(_progress)
    assert list(warnings.filters) == before
    assert tqdm.auto.tqdm is tqdm_before


@pytest.mark.slow  # a fresh interpreter importing torch (10-25 s)
def test_import_leaves_tqdm_and_warning_filters_alone():
    """``import muse_gnn`` neither patches tqdm nor adds warning filters (the old import-time workaround)."""
    code = textwrap.dedent(
        """
        import warnings
        before = list(warnings.filters)
        import muse_gnn
        added = [f for f in warnings.filters if f not in before]
        print([f for f in added if "IProgress" in str(f[1]) or "Tqdm" in getattr(f[2], "__name__", "")])
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("setting", [True, False])
def test_long_running_functions_follow_settings(progress_setting, capsys, setting):
    """Graphs of several datasets and training show their bars exactly when ``mg.settings.progress_bar`` says."""
    adatas = mg.datasets.simulate(n_datasets=2, n_genes=120, n_cells=(150, 150), n_modules=4, random_state=0)
    mg.settings.progress_bar = setting
    capsys.readouterr()
    mg.pp.coexpression_graphs(adatas, n_top_genes=40, method="pearson", n_jobs=1)
    graphs_err = capsys.readouterr().err
    mg.tl.fit(adatas, max_epochs=2, accelerator="cpu", inplace=False)
    fit_err = capsys.readouterr().err
    assert ("%|" in graphs_err) is setting
    assert ("%|" in fit_err) is setting
