"""Multi-process training started from one Python process: ``MuseGNN.train(devices=N)`` outside ``torchrun``.

:func:`train_spawned` starts ``N`` processes with :func:`torch.multiprocessing.start_processes` (``spawn``); each
rebuilds the model from the graphs, keeps only its share of the datasets' features and trains as one rank of a
DDP job (:mod:`~muse_gnn.model._distributed`). Rank 0 writes the result to a temporary file that the calling
process loads into its model.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from .._utils import resolve_devices
from ._data import GraphData
from ._distributed import free_port, shard_datasets
from ._persistence import HISTORY_COLUMNS, h5_safe
from ._trainer import TrainConfig

if TYPE_CHECKING:
    from ._model import MuseGNN

__all__ = ["train_spawned"]


def train_spawned(model: MuseGNN, cfg: TrainConfig, n: int, *, accelerator: str, devices: Any,
                  checkpoint_dir: Any, deterministic: bool, show_progress_bar: bool) -> None:
    """Train ``model`` in ``n`` processes under DDP and load rank 0's result into it."""
    import torch.multiprocessing as mp

    shard_datasets(model._dataset_costs(), n)  # a clear error before any process starts
    gpu_ids = None
    targets = resolve_devices(accelerator, devices)  # GPUs that cannot be had fail here, in this process
    if targets[0].type == "cuda":
        gpu_ids = [d.index for d in targets]
    threads = max(1, torch.get_num_threads() // n) if gpu_ids is None else torch.get_num_threads()
    opts = {"accelerator": accelerator, "checkpoint_dir": checkpoint_dir, "deterministic": deterministic,
            "show_progress_bar": show_progress_bar, "threads": threads, "gpu_ids": gpu_ids}
    with tempfile.TemporaryDirectory(prefix="muse_ddp_") as tmp:
        result = Path(tmp) / "result.pt"
        mp.start_processes(_spawn_worker, args=(n, free_port(), model.graphs, model.init_params, asdict(cfg),
                                                opts, str(result)), nprocs=n, start_method="spawn")
        out = torch.load(result, map_location="cpu", weights_only=True)
    model.module.load_state_dict(out["module"])
    model.device = torch.device("cpu")
    model.history = pd.DataFrame({k: [float(v) for v in out["history"][k]] for k in out["history"]},
                                 columns=HISTORY_COLUMNS)
    model.history.index.name = "epoch"
    model.train_params = json.loads(out["train_params"])
    model._embeddings = [out["embeddings"][t].numpy() for t in range(len(model.graphs))]
    model.is_trained = True


def _spawn_worker(rank: int, world: int, port: int, graphs: list[GraphData], init: dict[str, Any],
                  cfg: dict[str, Any], opts: dict[str, Any], result: str) -> None:
    """One process of :func:`train_spawned` (started by ``torch.multiprocessing``)."""
    from ._model import MuseGNN

    gpu_ids = opts["gpu_ids"]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(gpu_ids[rank] if gpu_ids else rank), LOCAL_WORLD_SIZE=str(world))
    torch.set_num_threads(int(opts["threads"]))
    model = MuseGNN.__new__(MuseGNN)
    model._setup(graphs, init)
    model.adatas = {g.name: None for g in graphs}
    owners = shard_datasets(model._dataset_costs(), world)
    for t, g in enumerate(model.graphs):  # only this rank's features stay in memory
        if owners[t] != rank:
            g.meta["n_features"] = g.n_features
            g.x = None
    model._train_here(TrainConfig(**cfg), in_job=True, accelerator=opts["accelerator"], devices="auto",
                      checkpoint_dir=opts["checkpoint_dir"], deterministic=opts["deterministic"],
                      show_progress_bar=opts["show_progress_bar"] and rank == 0)
    if rank == 0:
        torch.save({
            "module": {k: v.detach().cpu() for k, v in model.module.state_dict().items()},
            "history": {k: [float(x) for x in model.history[k]] for k in model.history.columns},
            "embeddings": [torch.from_numpy(e) for e in model._embeddings],
            "train_params": json.dumps(h5_safe(model.train_params)),
        }, result)
