"""Run by ``torchrun`` in tests/test_distributed.py: train with DDP, save each rank's view of the model.

Usage: ``torchrun --nproc-per-node 2 tests/scripts/ddp_fit.py DATA_DIR OUT_DIR``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import torch

import muse_gnn as mg

data, out = Path(sys.argv[1]), Path(sys.argv[2])
adatas = {p.stem: ad.read_h5ad(p) for p in sorted(data.glob("*.h5ad"))}
model = mg.tl.fit(adatas, max_epochs=4, strategy="ddp", show_progress_bar=False, accelerator="cpu")
rank = int(os.environ["RANK"])
torch.save({k: v for k, v in model.module.state_dict().items()}, out / f"state_rank{rank}.pt")
np.save(out / f"joint_rank{rank}.npy", model.joint_embedding().obsm["X_muse"])
model.save(out / "model")  # every rank calls it, rank 0 alone writes
if rank == 0:
    model.joint_embedding().write_h5ad(out / "joint.h5ad")
