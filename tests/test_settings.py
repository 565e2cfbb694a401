"""``mg.settings``: verbosity (with a handler that shows in Jupyter), defaults of options, directories."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path

import anndata as ad
import numpy as np
import pytest

import muse_gnn as mg
from muse_gnn._settings import MuseSettings, resolve_n_jobs, show_progress


@pytest.fixture
def restore_settings():
    s = mg.settings
    old = (s.verbosity, s.progress_bar, s.n_jobs, s.datasetdir, s.figdir, s.file_format_figs)
    yield s
    s.verbosity, s.progress_bar, s.n_jobs, s.datasetdir, s.figdir, s.file_format_figs = old


@contextmanager
def no_root_handlers():
    """As in a plain Python session or a Jupyter kernel: the root logger has no handlers.

    pytest adds its capturing handlers to the root logger around each test phase; they are put back after.
    """
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved


def _adata(n_genes: int = 5) -> ad.AnnData:
    rng = np.random.default_rng(0)
    return ad.AnnData(rng.negative_binomial(2, 0.2, size=(60, n_genes)).astype(np.float32))


def test_defaults():
    s = MuseSettings()
    assert s.verbosity == "warning" and s.progress_bar is True and s.n_jobs == 1
    assert s.figdir == Path("figures") and s.file_format_figs == "png"
    assert "verbosity='warning'" in repr(s)


@pytest.mark.parametrize(("value", "expected"), [(0, "error"), (1, "warning"), (2, "info"), (3, "debug"),
                                                 ("INFO", "info"), ("debug", "debug")])
def test_verbosity_values(restore_settings, value, expected):
    restore_settings.verbosity = value
    assert restore_settings.verbosity == expected
    level = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
    assert logging.getLogger("muse_gnn").level == level[expected]


@pytest.mark.parametrize("value", [4, -1, "loud", True, None, 2.0])
def test_verbosity_invalid(restore_settings, value):
    with pytest.raises(ValueError, match="verbosity"):
        restore_settings.verbosity = value


def test_info_messages_printed_at_info(restore_settings, capsys):
    adata = _adata()
    with no_root_handlers():
        mg.pp.cscore(adata, device="cpu", show_progress_bar=False)
        assert "added adata.uns" not in capsys.readouterr().err  # default "warning": INFO is not shown
        restore_settings.verbosity = "info"
        mg.pp.cscore(adata, device="cpu", show_progress_bar=False)
        err = capsys.readouterr().err
        assert "INFO: cscore: added adata.uns['cscore'] (5 genes)." in err
        assert "INFO: cscore: IRLS converged after" in err
        restore_settings.verbosity = "error"
        mg.pp.cscore(adata, device="cpu", show_progress_bar=False)
        assert capsys.readouterr().err == ""


def test_one_handler_however_often_set(restore_settings, capsys):
    with no_root_handlers():
        for v in ("info", "debug", "info"):
            restore_settings.verbosity = v
        logging.getLogger("muse_gnn").info("once")
        assert capsys.readouterr().err.count("INFO: once") == 1


def test_configured_root_logging_gets_the_records_once(restore_settings, capsys):
    """An application that configured logging gets muse_gnn's records there, not printed a second time."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    with no_root_handlers():
        logging.getLogger().handlers.append(Collect())
        restore_settings.verbosity = "info"
        logging.getLogger("muse_gnn.pp").info("hello")
    assert [r.getMessage() for r in records] == ["hello"]
    assert capsys.readouterr().err == ""


def test_caplog_sees_records(restore_settings, caplog):
    with caplog.at_level(logging.INFO, logger="muse_gnn"):
        mg.pp.cscore(_adata(), device="cpu", show_progress_bar=False)
    assert "added adata.uns['cscore']" in caplog.text


def test_progress_bar_and_n_jobs(restore_settings):
    s = restore_settings
    s.progress_bar = False
    assert show_progress(None) is False and show_progress(True) is True
    s.progress_bar = True
    assert show_progress(None) is True and show_progress(False) is False
    with pytest.raises(TypeError, match="progress_bar"):
        s.progress_bar = "yes"
    with pytest.raises(TypeError, match="show_progress_bar"):
        show_progress("yes")
    s.n_jobs = -1
    assert resolve_n_jobs(None) == -1 and resolve_n_jobs(3) == 3 and resolve_n_jobs(np.int64(2)) == 2
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_jobs"):
            s.n_jobs = bad
        with pytest.raises(ValueError, match="n_jobs"):
            resolve_n_jobs(bad)


def test_paths_and_formats(restore_settings, monkeypatch, tmp_path):
    s = restore_settings
    s.figdir = "~/figs"
    assert s.figdir == Path(os.path.expanduser("~/figs"))
    s.datasetdir = tmp_path
    assert s.datasetdir == tmp_path
    s.file_format_figs = "pdf"
    assert s.file_format_figs == "pdf"
    with pytest.raises(ValueError, match="file_format_figs"):
        s.file_format_figs = ".pdf"
    monkeypatch.setenv("MUSE_GNN_DATASETDIR", str(tmp_path / "cache"))
    assert MuseSettings().datasetdir == tmp_path / "cache"
    monkeypatch.delenv("MUSE_GNN_DATASETDIR")
    assert MuseSettings().datasetdir == Path.home() / ".cache" / "muse_gnn"


@pytest.mark.slow  # starts a Jupyter kernel (about 10-30 s)
def test_info_shows_in_a_notebook(tmp_path):
    """In a Jupyter kernel ``mg.settings.verbosity = "info"`` makes INFO messages appear in the cell output."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    src = Path(__file__).resolve().parents[1] / "src"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"import sys; sys.path.insert(0, {str(src)!r})"),
        nbformat.v4.new_code_cell(
            "import anndata as ad, numpy as np\n"
            "import muse_gnn as mg\n"
            "assert mg.__file__.startswith(sys.path[0])\n"
            "rng = np.random.default_rng(0)\n"
            "adata = ad.AnnData(rng.negative_binomial(2, 0.2, size=(60, 4)).astype(np.float32))\n"
            "mg.pp.cscore(adata, device='cpu', show_progress_bar=False)  # default verbosity: no INFO"
        ),
        nbformat.v4.new_code_cell(
            "mg.settings.verbosity = 'info'\nmg.pp.cscore(adata, device='cpu', show_progress_bar=False)"
        ),
    ])
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    def text(cell) -> str:
        return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")

    assert "added adata.uns" not in text(nb.cells[1])
    assert "INFO: cscore: added adata.uns['cscore'] (4 genes)." in text(nb.cells[2])
