"""Progress bars: no ``IProgress not found`` warning in Jupyter without ipywidgets."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import pytest
import tqdm.std

from muse_gnn import _progress
from muse_gnn._progress import progress_bar, tqdm_class



def test_without_ipywidgets_uses_std_tqdm(monkeypatch):
    monkeypatch.setattr(_progress.importlib.util, "find_spec", lambda name: None)
    assert not _progress.has_ipywidgets()
    assert tqdm_class() is tqdm.std.tqdm


def test_with_ipywidgets_uses_tqdm_auto(monkeypatch):
    import tqdm.auto

    real = _progress.importlib.util.find_spec
    monkeypatch.setattr(_progress.importlib.util, "find_spec",
                        lambda name: object() if name == "ipywidgets" else real(name))
    assert _progress.has_ipywidgets()
    assert tqdm_class() is tqdm.auto.tqdm


def test_progress_bar_is_a_tqdm():
    assert list(progress_bar(range(3), disable=True)) == [0, 1, 2]
    bar = progress_bar(total=5, initial=2, desc="x", disable=True)
    assert isinstance(bar, tqdm.std.tqdm)
    bar.update(3)
    bar.close()


_FAKE_KERNEL = (
    "import importlib.util, sys, types, warnings\n"
    "sys.modules['IPython.utils._process_emscripten'] = types.ModuleType('IPython.utils._process_emscripten')\n"
)


def _run(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", _FAKE_KERNEL + textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_no_iprogress_warning_in_simulated_notebook():
    """In a (simulated) Jupyter kernel without ipywidgets, importing and using muse_gnn does not warn.

    ``IPython.utils._process_emscripten`` in ``sys.modules`` makes ``tqdm.autonotebook`` take its notebook
    branch (as in JupyterLite), which warns when ipywidgets is missing. The warning used to come from
    ``import muse_gnn`` (``torch_geometric.utils`` imports ``tqdm.auto``) and from our own progress bars.
    """
    out = _run(
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import muse_gnn as mg
            from muse_gnn._progress import progress_bar
            for _ in progress_bar(range(3), desc="demo"):
                pass
            adatas = mg.datasets.simulate(n_datasets=2, technologies=("scrna",), n_genes=120,
                                          n_cells=(60, 80), n_modules=3, random_state=0)
            mg.pp.coexpression_graphs(adatas, n_top_genes=40, method="pearson", show_progress_bar=True)
            mg.pp.coexpression_graph(adatas["scrna_heart_0"].copy(), n_top_genes=40, method="cscore")
            model = mg.tl.fit(adatas, max_epochs=1, show_progress_bar=True)  # training bar
            mg.tl.embed(model, adatas["scrna_heart_0"].copy(), name="new", max_epochs=1, show_progress_bar=True)
            from tqdm.auto import tqdm  # what dependencies do
            tqdm(range(2), disable=True)
        print([str(w.message) for w in caught if "IProgress" in str(w.message)])
        """
    )
    assert out.strip().splitlines()[-1] == "[]"


def test_simulated_notebook_triggers_the_warning_without_muse_gnn():
    """Control for the test above: the simulated kernel does make plain ``tqdm.auto`` warn."""
    if importlib.util.find_spec("ipywidgets") is not None:
        pytest.skip("ipywidgets is installed: tqdm.auto does not warn")
    out = _run(
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import tqdm.auto
        print(any("IProgress" in str(w.message) for w in caught))
        """
    )
    assert out.strip().splitlines()[-1] == "True"
