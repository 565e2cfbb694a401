"""GPU paths (skipped without a CUDA GPU): CS-CORE and training on the device, DDP over NCCL, bf16.

On a GPU machine run them with ``bash benchmarks/run_gpu.sh tests`` (or ``pytest tests/test_gpu.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import muse_gnn as mg
from muse_gnn.pp import cscore_arrays

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_cscore_gpu_matches_cpu():
    rng = np.random.default_rng(0)
    depth = rng.lognormal(np.log(3000), 0.3, 400)
    counts = rng.poisson(depth[:, None] * rng.uniform(2e-4, 4e-3, 60)[None] * rng.lognormal(0, 0.5, (400, 60)))
    cpu = cscore_arrays(counts, depth, device="cpu")
    gpu = cscore_arrays(counts, depth, device="cuda")
    for a, b in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def test_graphs_on_gpu_match_cpu(small_collection):
    a = next(iter(small_collection.values()))
    raw = a.copy()
    del raw.varp["muse_connectivities"]
    cpu = mg.pp.coexpression_graph(raw, n_top_genes=60, device="cpu", copy=True)
    gpu = mg.pp.coexpression_graph(raw, n_top_genes=60, device="cuda", copy=True)
    assert (cpu.varp["muse_connectivities"] != gpu.varp["muse_connectivities"]).nnz == 0


def test_training_on_gpu_starts_where_cpu_starts(small_collection):
    cpu = mg.MuseGNN(small_collection, decoder="mlp", random_state=0)
    cpu.train(max_epochs=3, accelerator="cpu", show_progress_bar=False)
    gpu = mg.MuseGNN(small_collection, decoder="mlp", random_state=0)
    gpu.train(max_epochs=3, accelerator="cuda", show_progress_bar=False)
    assert gpu.train_params["accelerator"].startswith("cuda")
    # the first loss is computed before any update: same weights, same data, other kernels
    np.testing.assert_allclose(gpu.history["loss"].iloc[0], cpu.history["loss"].iloc[0], rtol=1e-4)
    emb = gpu.joint_embedding().obsm["X_muse"]
    assert emb.shape == cpu.joint_embedding().obsm["X_muse"].shape and np.isfinite(emb).all()


def test_bf16_mixed_on_gpu(small_collection):
    model = mg.MuseGNN(small_collection)
    model.train(max_epochs=5, accelerator="cuda", precision="bf16-mixed", show_progress_bar=False)
    assert np.isfinite(model.history.to_numpy()).all()
    assert model.joint_embedding().obsm["X_muse"].dtype == np.float32


def test_one_process_ddp_over_nccl_follows_single_gpu(small_collection):
    single = mg.MuseGNN(small_collection, decoder="mlp", random_state=0)
    single.train(max_epochs=4, accelerator="cuda", show_progress_bar=False)
    ddp = mg.MuseGNN(small_collection, decoder="mlp", random_state=0)
    ddp.train(max_epochs=4, accelerator="cuda", devices=[0], strategy="ddp", show_progress_bar=False)
    assert ddp.train_params["strategy"] == "ddp" and ddp.train_params["world_size"] == 1
    np.testing.assert_allclose(ddp.history.to_numpy(), single.history.to_numpy(), rtol=1e-4)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_two_gpus_share_weights(small_collection):
    model = mg.MuseGNN(small_collection, random_state=0)
    model.train(max_epochs=3, accelerator="cuda", devices=2, show_progress_bar=False)
    assert model.train_params["world_size"] == 2
    assert np.isfinite(model.joint_embedding().obsm["X_muse"]).all()


def test_resume_on_gpu_continues_the_run(small_collection, tmp_path):
    """Checkpoints map to the GPU on load; the CUDA generator's state must go back to the CPU to be set."""
    full = mg.MuseGNN(small_collection, random_state=0)
    full.train(max_epochs=4, accelerator="cuda", show_progress_bar=False, deterministic=True)
    part = mg.MuseGNN(small_collection, random_state=0)
    part.train(max_epochs=2, accelerator="cuda", show_progress_bar=False, deterministic=True,
               checkpoint_dir=tmp_path, checkpoint_every=1)
    resumed = mg.MuseGNN(small_collection, random_state=0)
    resumed.train(max_epochs=4, accelerator="cuda", show_progress_bar=False, deterministic=True,
                  checkpoint_dir=tmp_path, checkpoint_every=1)
    np.testing.assert_allclose(resumed.history.to_numpy(), full.history.to_numpy(), rtol=1e-5)
