"""Stable saved formats: fresh-process loading, format version, no code execution on load.

``test_model.py`` covers the in-process round trip and the newer-format error; this file adds loading in
a new process, the recorded version, older/unknown formats, and that loading never unpickles code
(``torch.load(weights_only=True)``) for the model file and for checkpoints.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import muse_gnn as mg
from muse_gnn.model._model import FORMAT_VERSION


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, _small_collection) -> tuple[Path, mg.MuseGNN]:
    path = tmp_path_factory.mktemp("saved") / "model"
    data = {k: v.copy() for k, v in _small_collection.items()}
    model = mg.tl.fit(data, max_epochs=2, n_latent=8, show_progress_bar=False, accelerator="cpu",
                      checkpoint_dir=path.parent / "ckpt")
    model.save(path)
    return path, model


def test_fresh_process_load_is_bit_identical(saved, tmp_path: Path) -> None:
    path, model = saved
    out = tmp_path / "joint.npy"
    code = textwrap.dedent(
        f"""
        import numpy as np, muse_gnn as mg
        m = mg.MuseGNN.load({str(path)!r})
        np.save({str(out)!r}, m.joint_embedding().obsm["X_muse"])
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    expected = model.joint_embedding().obsm["X_muse"]
    got = np.load(out)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)  # bit-identical, not close


def test_saved_files_record_version_and_load_without_pickles(saved) -> None:
    path, model = saved
    attrs = json.loads((path / "attrs.json").read_text())
    assert attrs["format_version"] == FORMAT_VERSION
    assert attrs["muse_gnn_version"] == mg.__version__
    state = torch.load(path / "model.pt", map_location="cpu", weights_only=True)  # plain tensors only
    live = model.module.state_dict()
    assert list(state) == list(live) and all(torch.equal(state[k], live[k].cpu()) for k in live)
    with np.load(path / "arrays.npz", allow_pickle=False) as arrays:
        assert set(arrays.files) >= {f"edges_{t}" for t in range(len(model.graphs))}
    ckpt = torch.load(path.parent / "ckpt" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert int(ckpt["epoch"]) == 2


class _Exploit:
    """Unpickling this runs code: what a tampered model file could do without ``weights_only=True``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def test_tampered_model_file_is_refused_without_running_code(saved, tmp_path: Path) -> None:
    import shutil

    path, _ = saved
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    marker = tmp_path / "marker.txt"
    torch.save({"evil": _Exploit(str(marker))}, bad / "model.pt")
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        mg.MuseGNN.load(bad)
    assert not marker.exists(), "loading a model file executed pickled code"


def test_tampered_checkpoint_is_refused_without_running_code(small_collection, tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    (tmp_path / "ckpt").mkdir()
    torch.save({"evil": _Exploit(str(marker))}, tmp_path / "ckpt" / "checkpoint.pt")
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        mg.tl.fit(small_collection, max_epochs=1, checkpoint_dir=tmp_path / "ckpt", show_progress_bar=False,
                  accelerator="cpu")
    assert not marker.exists(), "resuming from a checkpoint executed pickled code"


@pytest.mark.parametrize("version, match", [(FORMAT_VERSION + 1, "Upgrade muse_gnn"), (0, "unknown model format"),
                                            (None, "unknown model format")])
def test_format_versions(saved, tmp_path: Path, version, match: str) -> None:
    import shutil

    path, _ = saved
    other = tmp_path / "m"
    shutil.copytree(path, other)
    attrs = json.loads((other / "attrs.json").read_text())
    if version is None:
        del attrs["format_version"]
    else:
        attrs["format_version"] = version
    (other / "attrs.json").write_text(json.dumps(attrs))
    with pytest.raises(ValueError, match=match):
        mg.MuseGNN.load(other)


def test_failed_overwrite_keeps_the_previous_model(saved, tmp_path: Path, monkeypatch) -> None:
    """`save(overwrite=True)` swaps a complete folder in: an error while writing leaves the old model."""
    import shutil

    path, model = saved
    target = tmp_path / "model"
    shutil.copytree(path, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", broken)  # fails after model.pt was written
    with pytest.raises(OSError, match="disk full"):
        model.save(target, overwrite=True)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left behind
    monkeypatch.undo()
    model.save(target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    np.testing.assert_array_equal(mg.MuseGNN.load(target).joint_embedding().obsm["X_muse"],
                                  model.joint_embedding().obsm["X_muse"])


def test_overwrite_refuses_a_folder_with_other_files(saved, tmp_path: Path) -> None:
    path, model = saved
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not part of a saved MuseGNN model"):
        model.save(tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    model.save(tmp_path / "empty")  # an empty folder is fine without overwrite
    assert (tmp_path / "empty" / "attrs.json").is_file()
    with pytest.raises(NotADirectoryError):
        model.save(tmp_path / "notes.txt")
    # the saved folder gets the usual permissions (a private temporary folder would lock out other users)
    (tmp_path / "plain").mkdir()
    assert (tmp_path / "empty").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
