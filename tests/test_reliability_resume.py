"""Crash-safe training: SIGKILL mid-training or mid-checkpoint, then resume with the same call.

Each training run is a child process (a real SIGKILL, no Python clean-up). The resumed run must end with
parameters bit-identical (``torch.equal``) to an uninterrupted run. In-process resume is covered by
``test_model.py::test_checkpoint_resume_matches_uninterrupted``; this file adds the process kills and the
torn checkpoint writes. All runs use one CPU thread so that results do not depend on the thread count.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import muse_gnn as mg

MAX_EPOCHS = 24
EVERY = 3
CHILD = textwrap.dedent(
    """
    import io, os, signal, sys, warnings
    import torch
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    mode, ckpt_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    saves = {"n": 0}
    if mode == "partial_tmp":  # killed while the temporary file is half written
        real_save = torch.save
        def save(obj, f, *args, **kwargs):
            name = str(getattr(f, "name", f))  # a path, or the open temporary file
            if name.endswith(".tmp"):
                saves["n"] += 1
                if saves["n"] == 2:
                    buf = io.BytesIO()
                    real_save(obj, buf, *args, **kwargs)
                    with open(name, "wb") as fh:
                        fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                        fh.flush()
                        os.fsync(fh.fileno())
                    die()
            return real_save(obj, f, *args, **kwargs)
        torch.save = save
    elif mode == "before_rename":  # killed after the temporary file is complete, before the rename
        real_replace = os.replace
        def replace(src, dst, *args, **kwargs):
            if str(dst).endswith("checkpoint.pt"):
                saves["n"] += 1
                if saves["n"] == 2:
                    die()
            return real_replace(src, dst, *args, **kwargs)
        os.replace = replace

    import muse_gnn as mg
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from data import collection, MAX_EPOCHS, EVERY
    model = mg.MuseGNN(collection(), n_latent=8)
    model.train(max_epochs=MAX_EPOCHS, checkpoint_dir=ckpt_dir, checkpoint_every=EVERY,
                show_progress_bar=False, accelerator="cpu")
    torch.save({k: v.detach().clone() for k, v in model.module.state_dict().items()}, out)
    """
)
DATA = textwrap.dedent(
    f"""
    import warnings
    import muse_gnn as mg

    MAX_EPOCHS, EVERY = {MAX_EPOCHS}, {EVERY}

    def collection():
        data = mg.datasets.simulate(n_datasets=3, technologies=("scrna",), n_genes=100, n_cells=(50, 70),
                                    n_modules=4, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mg.pp.coexpression_graphs(data, n_top_genes=40, method="pearson", show_progress_bar=False)
        return data
    """
)


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("resume_scripts")
    (d / "child.py").write_text(CHILD)
    (d / "data.py").write_text(DATA)
    return d


@pytest.fixture(scope="module")
def collection(scripts: Path):
    """The children's data, built here by the same code."""
    sys.path.insert(0, str(scripts))
    try:
        from data import collection as make  # the module written by `scripts`
    finally:
        sys.path.remove(str(scripts))
    return make()


def _train_here(collection, checkpoint_dir: Path | None = None) -> dict[str, torch.Tensor]:
    """Train in this process (one thread, as the children) and return the parameters."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = mg.MuseGNN({k: v.copy() for k, v in collection.items()}, n_latent=8)
        model.train(max_epochs=MAX_EPOCHS, checkpoint_dir=checkpoint_dir, checkpoint_every=EVERY,
                    show_progress_bar=False, accelerator="cpu")
    finally:
        torch.set_num_threads(threads)
    return {k: v.detach().clone() for k, v in model.module.state_dict().items()}


@pytest.fixture(scope="module")
def uninterrupted(collection) -> dict[str, torch.Tensor]:
    """Parameters of an uninterrupted run of the same call."""
    return _train_here(collection)


def _child(scripts: Path, mode: str, ckpt: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(scripts / "child.py"), mode, str(ckpt), str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _finish(proc: subprocess.Popen, timeout: float = 300) -> int:
    try:
        proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("child training did not finish in time")
    return proc.returncode


def _saved_epoch(ckpt: Path) -> int:
    state = torch.load(ckpt / "checkpoint.pt", map_location="cpu", weights_only=True)
    return int(state["epoch"])


def _assert_same_parameters(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"parameters differ from the uninterrupted run: {different[:5]}"


def test_sigkill_mid_training_then_resume_is_exact(
    scripts: Path, collection, uninterrupted, tmp_path: Path
) -> None:
    ckpt, out = tmp_path / "ckpt", tmp_path / "params.pt"
    proc = _child(scripts, "plain", ckpt, out)
    deadline = time.monotonic() + 240
    while not (ckpt / "checkpoint.pt").exists():  # wait for the first checkpoint (epoch 3)
        assert proc.poll() is None, "the child ended before writing a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint was written in time"
        time.sleep(0.005)
    time.sleep(0.05)  # into the next epochs
    proc.send_signal(signal.SIGKILL)
    assert _finish(proc) == -signal.SIGKILL
    assert not out.exists(), "the child finished before it was killed"
    epoch = _saved_epoch(ckpt)
    assert EVERY <= epoch < MAX_EPOCHS and epoch % EVERY == 0

    resumed = _train_here(collection, ckpt)  # the same call again, in a new process (this one)
    assert _saved_epoch(ckpt) == MAX_EPOCHS
    _assert_same_parameters(resumed, uninterrupted)


def test_kill_between_write_and_rename_keeps_last_good_checkpoint(
    scripts: Path, collection, uninterrupted, tmp_path: Path
) -> None:
    ckpt, out = tmp_path / "ckpt", tmp_path / "params.pt"
    # killed after the 2nd checkpoint's temporary file is complete, before it replaces checkpoint.pt
    assert _finish(_child(scripts, "before_rename", ckpt, out)) == -signal.SIGKILL
    assert not out.exists()
    assert _saved_epoch(ckpt) == EVERY  # the 1st checkpoint is intact
    (complete,) = sorted(ckpt.glob(".checkpoint-*.tmp"))
    assert int(torch.load(complete, map_location="cpu", weights_only=True)["epoch"]) == 2 * EVERY
    # and a torn temporary file, as a kill in the middle of torch.save leaves it
    data = complete.read_bytes()
    (ckpt / ".checkpoint-torn.tmp").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError):
        torch.load(ckpt / ".checkpoint-torn.tmp", map_location="cpu", weights_only=True)

    # the same call loads checkpoint.pt only, ignores both leftovers and ends like an uninterrupted run
    resumed = _train_here(collection, ckpt)
    assert _saved_epoch(ckpt) == MAX_EPOCHS
    _assert_same_parameters(resumed, uninterrupted)


@pytest.mark.slow
def test_kill_while_writing_temp_file_then_between_write_and_rename(
    scripts: Path, collection, uninterrupted, tmp_path: Path
) -> None:
    """Real kills in both places, one after the other, on the same checkpoint folder."""
    ckpt, out = tmp_path / "ckpt", tmp_path / "params.pt"
    # 1. killed while writing the 2nd checkpoint's temporary file (half of it on disk)
    assert _finish(_child(scripts, "partial_tmp", ckpt, out)) == -signal.SIGKILL
    (torn,) = sorted(ckpt.glob(".checkpoint-*.tmp"))
    assert torn.stat().st_size > 0
    with pytest.raises(RuntimeError):  # the torn file is not a readable checkpoint ...
        torch.load(torn, map_location="cpu", weights_only=True)
    assert _saved_epoch(ckpt) == EVERY  # ... and the last good one is intact

    # 2. resumed from it, and killed between the complete temporary file and the rename
    assert _finish(_child(scripts, "before_rename", ckpt, out)) == -signal.SIGKILL
    assert _saved_epoch(ckpt) == 2 * EVERY  # 1st save of this run renamed; the 2nd never was
    # the torn file of step 1 was removed by this run's first save; the un-renamed one is left
    assert len(sorted(ckpt.glob(".checkpoint-*.tmp"))) == 1

    # 3. the same call ignores both leftovers and ends exactly like an uninterrupted run
    assert not out.exists()
    resumed = _train_here(collection, ckpt)
    assert _saved_epoch(ckpt) == MAX_EPOCHS
    _assert_same_parameters(resumed, uninterrupted)
