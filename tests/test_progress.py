"""Progress bars: ``tqdm.auto`` as scanpy uses it, on or off with ``show_progress_bar`` / ``mg.settings``."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tqdm.auto

import muse_gnn as mg
from muse_gnn import _progress
from muse_gnn._progress import progress_bar

SRC = Path(__file__).resolve().parents[1] / "src" / "muse_gnn"


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


def test_no_import_time_tqdm_workaround():
    assert not hasattr(_progress, "_load_tqdm_autonotebook_quietly")
    assert "filterwarnings" not in (SRC / "_progress.py").read_text(encoding="utf-8")


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


_AUTO_IMPORT = re.compile(
    r"^\s*(from\s+tqdm(\.(auto|autonotebook|notebook|std))?\s+import|import\s+tqdm)", re.MULTILINE
)


@pytest.mark.parametrize(
    "relpath", sorted(str(f.relative_to(SRC)) for f in SRC.rglob("*.py") if f.name != "_progress.py")
)
def test_tqdm_only_through_progress_module(relpath):
    """Progress bars go through :func:`muse_gnn._progress.progress_bar`, so ``mg.settings`` applies to all."""
    assert not _AUTO_IMPORT.search((SRC / relpath).read_text(encoding="utf-8"))
