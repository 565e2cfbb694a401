from __future__ import annotations

import subprocess
import sys

import anndata as ad
import pytest

from muse_gnn.cli import build_parser, main


def test_help_documents_every_option(capsys):
    for cmd in (["--help"], ["demo", "--help"], ["fit", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(cmd)
        assert exc.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--out", "--n-datasets", "--max-epochs", "--method", "--accelerator", "--layer", "--allow-noncounts"):
        assert opt in out
    parser = build_parser()
    for action in parser._subparsers._group_actions[0].choices["fit"]._actions:
        assert action.help, action.dest


def test_fit_bad_paths_exit_2(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "missing.h5ad"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.h5ad"
    bad.write_text("not an h5ad")
    assert main(["fit", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_fit_end_to_end(tmp_path, small_collection):
    paths = []
    for name, a in list(small_collection.items())[:2]:
        p = tmp_path / f"{name}.h5ad"
        a.write_h5ad(p)
        paths.append(str(p))
    out = tmp_path / "out"
    assert main(["fit", *paths, "--out", str(out), "--max-epochs", "2", "--method", "pearson"]) == 0
    joint = ad.read_h5ad(out / "joint_embedding.h5ad")
    assert joint.obsm["X_muse"].shape[1] == 32
    assert (out / "model" / "attrs.json").exists()
    assert (out / "checkpoints" / "checkpoint.pt").exists()
    assert (out / "history.png").stat().st_size > 1000 and (out / "umap.png").stat().st_size > 1000
    back = ad.read_h5ad(out / f"{list(small_collection)[0]}.h5ad")
    assert "X_muse" in back.varm


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "muse_gnn", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "demo" in r.stdout


def test_fit_options_follow_train_config():
    from muse_gnn.model._trainer import TRAIN_DEFAULTS

    parser = build_parser()
    args = parser.parse_args(["fit", "a.h5ad", "--out", "o"])
    assert args.max_epochs == TRAIN_DEFAULTS.max_epochs and args.precision == TRAIN_DEFAULTS.precision
    assert args.devices == "auto"
    assert parser.parse_args(["fit", "a.h5ad", "--out", "o", "--devices", "0,1"]).devices == [0, 1]
    assert parser.parse_args(["fit", "a.h5ad", "--out", "o", "--devices", "-1"]).devices == -1
    assert parser.parse_args(["fit", "a.h5ad", "--out", "o", "--devices", "2"]).devices == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["fit", "a.h5ad", "--out", "o", "--devices", "0"])
