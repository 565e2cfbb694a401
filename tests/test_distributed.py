"""Multi-process training (DDP over datasets): equivalence with one process, torchrun, resume."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import muse_gnn as mg
from muse_gnn.model._distributed import launch_kind, n_processes, shard_datasets

ROOT = Path(__file__).resolve().parents[1]


def _states_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_shard_datasets_balances_costs():
    assert shard_datasets([4, 1, 3, 2], 2) == [0, 0, 1, 1]
    owners = shard_datasets([10, 10, 1, 1, 1, 1], 3)
    assert sorted(set(owners)) == [0, 1, 2]
    with pytest.raises(ValueError, match="each process needs at least one dataset"):
        shard_datasets([1, 2], 3)


def test_launch_kind_and_devices(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert launch_kind("auto", "auto") == "single"
    assert launch_kind("auto", 2) == "spawn"
    assert launch_kind("ddp", "auto") == "spawn"
    assert launch_kind("single", "auto") == "single"
    assert n_processes([0, 1]) == 2
    with pytest.raises(ValueError, match="strategy"):
        launch_kind("fsdp", "auto")
    with pytest.raises(ValueError, match="devices"):
        n_processes(0)
    with pytest.raises(TypeError):
        n_processes(True)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert launch_kind("auto", "auto") == "rank"
    with pytest.raises(ValueError, match="torchrun"):
        launch_kind("single", "auto")


def test_devices_as_lightning_spells_them():
    """One resolver for accelerator/devices (model) and device (graph engines), with Lightning's spellings."""
    from muse_gnn._utils import parse_devices, resolve_device, resolve_devices

    assert parse_devices("0,1") == [0, 1] and parse_devices("3") == 3 and parse_devices("-1") == -1
    assert parse_devices(-1) == -1 and parse_devices("auto") == "auto" and parse_devices((1,)) == [1]
    assert n_processes("0,1") == 2 and n_processes("2") == 2
    for bad in (0, -2, "x", "0,0", [], [-1]):
        with pytest.raises(ValueError, match="devices"):
            parse_devices(bad)
    assert resolve_devices("cpu", 3) == [torch.device("cpu")] * 3
    assert resolve_device(None) == resolve_device("auto")
    with pytest.raises(ValueError, match="accelerator"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="`device` must be 'auto', 'cpu' or 'cuda"):
        resolve_device("tpu", argname="device", func="f")
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        assert resolve_devices("auto", -1) == [torch.device(f"cuda:{i}") for i in range(n)]
        assert n_processes(-1) == n
        with pytest.raises(ValueError, match="visible"):
            resolve_devices("gpu", [n])
    else:
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("cuda")
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("cuda:1", argname="device")
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            n_processes(-1)
        with pytest.raises(ValueError, match="names GPUs"):
            resolve_devices("cpu", "0,1")
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("gpu")


def test_one_process_ddp_equals_single_process(small_collection):
    single = mg.MuseGNN(small_collection)
    single.train(max_epochs=4, show_progress_bar=False)
    ddp = mg.MuseGNN(small_collection)
    ddp.train(max_epochs=4, show_progress_bar=False, strategy="ddp", devices=1)
    assert ddp.train_params["strategy"] == "ddp" and ddp.train_params["world_size"] == 1
    assert _states_equal(single.module, ddp.module)
    assert single.history.equals(ddp.history)
    np.testing.assert_array_equal(single.joint_embedding().obsm["X_muse"], ddp.joint_embedding().obsm["X_muse"])


def test_two_processes_follow_the_single_process_gradient(small_collection):
    # with the dense decoder nothing is sampled per rank, so two processes take the same steps as one
    # (exact gradients through the gather and the summed all-reduce), up to float summation order
    single = mg.MuseGNN(small_collection, decoder="mlp")
    single.train(max_epochs=4, show_progress_bar=False)
    two = mg.MuseGNN(small_collection, decoder="mlp")
    two.train(max_epochs=4, show_progress_bar=False, devices=2)
    assert two.train_params["world_size"] == 2
    np.testing.assert_allclose(two.history.to_numpy(), single.history.to_numpy(), rtol=1e-5)
    sa, sb = single.module.state_dict(), two.module.state_dict()
    for k in sa:
        np.testing.assert_allclose(sb[k].numpy(), sa[k].numpy(), atol=1e-3, err_msg=k)
    small = dict(small_collection)
    two_fit = mg.tl.fit(small, max_epochs=2, devices=2, show_progress_bar=False)
    for a in small.values():  # written once, by this process, into the caller's AnnData
        assert np.isfinite(a.varm["X_muse"][a.var["muse_selected"].to_numpy()]).all()
    assert two_fit.is_trained


def test_two_processes_share_group(small_collection):
    # one shared stack per tissue × technology: a process may own datasets of one group only, so some stacks get
    # no gradient there (DDP runs with find_unused_parameters); the result still follows one process
    single = mg.MuseGNN(small_collection, share="group", decoder="mlp")
    single.train(max_epochs=3, show_progress_bar=False)
    two = mg.MuseGNN(small_collection, share="group", decoder="mlp")
    two.train(max_epochs=3, show_progress_bar=False, devices=2)
    assert len(two.module.shared) == 2
    np.testing.assert_allclose(two.history.to_numpy(), single.history.to_numpy(), rtol=1e-5)


def test_two_processes_several_passes_sparse_attention(small_collection):
    # sparse attention and a small pass budget: each process splits its datasets into passes, the process with
    # fewer passes joins the gathers with empty ones; training must neither hang nor diverge
    model = mg.MuseGNN(small_collection, attention="sparse")
    costs = model._dataset_costs()
    model.train(max_epochs=8, show_progress_bar=False, devices=2, max_pass_size=min(costs))
    h = model.history
    assert np.isfinite(h.to_numpy()).all() and h["loss"].iloc[-1] < h["loss"].iloc[0]
    assert np.isfinite(model.joint_embedding().obsm["X_muse"]).all()


def test_resume_under_ddp(small_collection, tmp_path):
    full = mg.MuseGNN(small_collection)
    full.train(max_epochs=6, show_progress_bar=False, devices=2, checkpoint_dir=tmp_path / "a", checkpoint_every=2)
    part = mg.MuseGNN(small_collection)
    part.train(max_epochs=3, show_progress_bar=False, devices=2, checkpoint_dir=tmp_path / "b", checkpoint_every=2)
    ckpt = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 3 and len(ckpt["torch_gen_ranks"]) == 2
    resumed = mg.MuseGNN(small_collection)
    resumed.train(max_epochs=6, show_progress_bar=False, devices=2, checkpoint_dir=tmp_path / "b", checkpoint_every=2)
    assert _states_equal(full.module, resumed.module)
    assert full.history.equals(resumed.history)


def test_bf16_mixed_precision_trains(small_collection):
    model = mg.MuseGNN(small_collection)
    model.train(max_epochs=3, show_progress_bar=False, precision="bf16-mixed")
    assert model.train_params["precision"] == "bf16-mixed"
    assert np.isfinite(model.history.to_numpy()).all()
    assert model.joint_embedding().obsm["X_muse"].dtype == np.float32
    with pytest.raises(ValueError, match="precision"):
        model.train(max_epochs=1, show_progress_bar=False, precision="16")


def test_too_many_processes_is_a_clear_error(small_collection):
    with pytest.raises(Exception, match="each process needs at least one dataset"):
        mg.MuseGNN(small_collection).train(max_epochs=1, show_progress_bar=False, devices=4)


def _torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture()
def h5ad_dir(small_collection, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    for k, a in small_collection.items():
        a.write_h5ad(d / f"{k}.h5ad")
    return d


def test_torchrun_two_ranks_identical_shared_weights(h5ad_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    res = _torchrun([str(ROOT / "tests" / "scripts" / "ddp_fit.py"), str(h5ad_dir), str(out)], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    s0 = torch.load(out / "state_rank0.pt", weights_only=True)
    s1 = torch.load(out / "state_rank1.pt", weights_only=True)
    assert s0.keys() == s1.keys() and all(torch.equal(s0[k], s1[k]) for k in s0)  # every weight, shared or not
    np.testing.assert_array_equal(np.load(out / "joint_rank0.npy"), np.load(out / "joint_rank1.npy"))
    assert sorted(p.name for p in out.glob("joint*.h5ad")) == ["joint.h5ad"]
    loaded = mg.MuseGNN.load(out / "model")
    np.testing.assert_array_equal(loaded.joint_embedding().obsm["X_muse"], np.load(out / "joint_rank0.npy"))


def test_torchrun_cli_rank_zero_writes_once(h5ad_dir, tmp_path):
    out = tmp_path / "cli_out"
    args = ["-m", "muse_gnn", "fit", *map(str, sorted(h5ad_dir.glob("*.h5ad"))), "--out", str(out),
            "--max-epochs", "3", "--accelerator", "cpu"]
    res = _torchrun(args, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("written to") == 1
    assert (out / "joint_embedding.h5ad").is_file() and (out / "model" / "attrs.json").is_file()
    assert (out / "checkpoints" / "checkpoint.pt").is_file()
    shutil.rmtree(out)


def test_torchrun_cli_shares_out_graph_building(small_collection, tmp_path):
    """Under torchrun each rank builds the missing graphs of its datasets; every rank ends with all of them."""
    import anndata as ad

    data = tmp_path / "raw"
    data.mkdir()
    expected = {}
    for k, a in small_collection.items():
        raw = ad.AnnData(a.X.copy(), obs=a.obs[[]].copy(), var=a.var[[]].copy())
        raw.write_h5ad(data / f"{k}.h5ad")
        expected[k] = mg.pp.coexpression_graph(raw, n_top_genes=60, method="pearson", copy=True)
    out = tmp_path / "cli_graphs"
    args = ["-m", "muse_gnn", "fit", *map(str, sorted(data.glob("*.h5ad"))), "--out", str(out),
            "--max-epochs", "2", "--accelerator", "cpu", "--method", "pearson", "--n-top-genes", "60"]
    res = _torchrun(args, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    built = sorted(line.split(": built ")[1] for line in res.stdout.splitlines() if ": built " in line)
    assert built == ["1 of 3 missing gene graphs", "2 of 3 missing gene graphs"]  # 3 datasets over 2 ranks
    for k, want in expected.items():
        got = ad.read_h5ad(out / f"{k}.h5ad")
        assert (got.varp["muse_connectivities"] != want.varp["muse_connectivities"]).nnz == 0
        assert got.uns["muse"]["params"]["n_edges"] == want.uns["muse"]["params"]["n_edges"]
        assert got.obsm.keys() == want.obsm.keys() and "X_muse" in got.varm


def test_torchrun_cli_graph_failure_stops_every_rank(small_collection, tmp_path):
    import anndata as ad

    data = tmp_path / "raw"
    data.mkdir()
    for i, (k, a) in enumerate(small_collection.items()):
        X = np.asarray(a.X.todense() if hasattr(a.X, "todense") else a.X, dtype=np.float32)
        if i == 0:
            X = X + 0.5  # not counts: that rank fails
        ad.AnnData(X, obs=a.obs[[]].copy(), var=a.var[[]].copy()).write_h5ad(data / f"{k}.h5ad")
    args = ["-m", "muse_gnn", "fit", *map(str, sorted(data.glob("*.h5ad"))), "--out", str(tmp_path / "o"),
            "--max-epochs", "2", "--accelerator", "cpu", "--method", "pearson", "--n-top-genes", "60"]
    res = _torchrun(args, tmp_path)
    assert res.returncode != 0
    assert res.stderr.count("building the gene graphs failed") >= 2  # raised on both ranks, nobody hangs
