"""Training loop: all datasets in as few batched passes as memory allows, checkpoints, early stopping."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._utils import logger
from ._data import GraphData
from ._losses import edge_bce, nt_xent, weighted_similarity
from ._module import MuseModule, NodeBatch
from ._pairs import GeneIndex

__all__ = ["TrainConfig", "Trainer", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.pt"
LOSS_TERMS = ("loss", "reconstruction", "similarity", "contrastive")


@dataclass
class TrainConfig:
    """Training options (see :meth:`muse_gnn.MuseGNN.train`)."""

    max_epochs: int = 300
    lr: float = 1e-3
    lr_decoder: float = 1e-2
    lambda_similarity: float = 1.0
    lambda_contrast: float = 0.01
    temperature: float = 0.07
    n_contrast: int = 100
    early_stopping: bool = False
    early_stopping_patience: int = 45
    early_stopping_min_delta: float = 0.0
    max_pass_size: int = 50_000_000
    max_edges: int = 50_000
    checkpoint_every: int = 50
    random_state: int = 0


class Trainer:
    """Runs the optimisation of a :class:`MuseModule` over datasets.

    One epoch visits every dataset once as *t* with a random partner *u* (as the reference), but all
    datasets go through the network together: the input layers one by one, the shared layers in a single
    block-diagonal batch. When the graphs exceed ``max_pass_size`` the datasets are split into
    random passes (partners drawn inside each pass) whose gradients are accumulated; the optimiser steps
    once per epoch.
    """

    def __init__(
        self,
        module: MuseModule,
        graphs: list[GraphData],
        gene_index: GeneIndex,
        config: TrainConfig,
        device: torch.device,
        *,
        trainable: list[int] | None = None,
    ) -> None:
        self.module, self.graphs, self.index, self.cfg, self.device = module, graphs, gene_index, config, device
        self.ids = list(range(len(graphs))) if trainable is None else list(trainable)
        self.x = {t: graphs[t].x.to(device) for t in self.ids}
        self.ei = {t: graphs[t].edge_index.to(device) for t in self.ids}
        self.rng = np.random.default_rng([config.random_state, 1])
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(config.random_state)
        self.optimizer = torch.optim.Adam(  # foreach: one fused update over all parameters
            [
                {"params": module.encoder_parameters(), "lr": config.lr},
                {"params": module.decoder_parameters(), "lr": config.lr_decoder},
            ],
            foreach=True,
        )
        self.history: dict[str, list[float]] = {k: [] for k in LOSS_TERMS}
        self.epoch = 0
        self.best, self.wait = math.inf, 0
        self._dense: dict[int, Tensor] = {}
        self._fixed_batch: NodeBatch | None = None

    # ------------------------------------------------------------------ passes
    def _cost(self, t: int) -> int:
        """Size of dataset ``t`` in a pass: gene pairs with dense attention, edges with sparse attention."""
        n = self.graphs[t].n_nodes
        m = self.module
        if m.attention == "dense" or (m.attention == "auto" and n <= m.dense_max_nodes):
            return n * n
        return int(self.ei[t].shape[1]) + n

    def _plan(self) -> list[list[int]]:
        edges = {t: self._cost(t) for t in self.ids}
        if sum(edges.values()) <= self.cfg.max_pass_size or len(self.ids) == 1:
            return [list(self.ids)]
        order = [self.ids[i] for i in self.rng.permutation(len(self.ids))]
        passes, cur, size = [], [], 0
        for t in order:
            if cur and size + edges[t] > self.cfg.max_pass_size:
                passes.append(cur)
                cur, size = [], 0
            cur.append(t)
            size += edges[t]
        passes.append(cur)
        return passes

    def _batch(self, ids: list[int]) -> NodeBatch:
        if len(ids) == len(self.ids):
            if self._fixed_batch is None:
                self._fixed_batch = self.module.make_batch(ids, [self.x[t] for t in ids], [self.ei[t] for t in ids])
            return self._fixed_batch
        return self.module.make_batch(ids, [self.x[t] for t in ids], [self.ei[t] for t in ids])

    def _partners(self, ids: list[int]) -> np.ndarray:
        """A random partner for every dataset of a pass (vectorised), ``(P, 2)`` pairs."""
        n = len(ids)
        if n < 2:
            return np.zeros((0, 2), dtype=np.int64)
        shift = self.rng.integers(1, n, size=n)
        arr = np.asarray(ids)
        return np.stack([arr, arr[(np.arange(n) + shift) % n]], axis=1)

    # ------------------------------------------------------------------ losses
    def _dense_adj(self, t: int) -> Tensor:
        if t not in self._dense:
            n = self.graphs[t].n_nodes
            a = torch.zeros(n, n, device=self.device)
            ei = self.ei[t]
            a[ei[0], ei[1]] = 1.0
            self._dense[t] = a
        return self._dense[t]

    def reconstruction(self, z: Tensor, nb: NodeBatch) -> Tensor:
        """Per-dataset reconstruction losses of a pass, ``(len(nb.ids),)``."""
        if self.module.decoder_kind == "mlp":
            out = []
            for t in nb.ids:
                a = nb.offsets[t]
                zt = z[a : a + self.graphs[t].n_nodes]
                logits = self.module.decoders[f"d{t}"](zt)
                out.append(F.binary_cross_entropy_with_logits(logits, self._dense_adj(t)))
            return torch.stack(out)
        # sampled edges: every undirected edge once, and as many non-edges from the same graph, drawn by
        # corrupting the tail uniformly within the graph. Written by hand: PyG's samplers draw with Python's
        # global `random` and loop over graphs; here one vectorised draw from the trainer's own generator.
        k = len(nb.ids)
        sizes = torch.tensor([self.graphs[t].n_nodes for t in nb.ids], device=self.device)
        starts = torch.tensor([nb.offsets[t] for t in nb.ids], device=self.device)
        ei = nb.edge_index_all
        keep = ei[0] < ei[1]
        pos = ei[:, keep]
        g_pos = nb.batch[pos[0]]
        # graphs with more than `max_edges` edges score a random subset of them each epoch (bounded memory)
        n_edges = torch.bincount(g_pos, minlength=k).to(torch.float32)
        rate = (self.cfg.max_edges / n_edges.clamp_min(1)).clamp_max(1.0)
        if bool((rate < 1).any()):
            sub = torch.rand(pos.shape[1], generator=self.gen, device=self.device) < rate[g_pos]
            pos, g_pos = pos[:, sub], g_pos[sub]
        r = torch.rand(pos.shape[1], generator=self.gen, device=self.device)
        tail = starts[g_pos] + (r * sizes[g_pos]).long().clamp_max(sizes[g_pos] - 1)
        neg = torch.stack([pos[0], tail])
        scale = torch.stack([self.module.decoders[f"d{t}"].scale for t in nb.ids])
        bias = torch.stack([self.module.decoders[f"d{t}"].bias for t in nb.ids])
        lp = scale[g_pos] * (z[pos[0]] * z[pos[1]]).sum(-1) + bias[g_pos]
        ln = scale[g_pos] * (z[neg[0]] * z[neg[1]]).sum(-1) + bias[g_pos]
        return edge_bce(lp, ln, g_pos, g_pos, k)

    def cross_terms(self, z: Tensor, nb: NodeBatch, pairs: np.ndarray) -> tuple[Tensor, Tensor]:
        """Per-pair similarity and contrastive losses."""
        if len(pairs) == 0:
            zero = z.new_zeros(0)
            return zero, zero
        pb = self.index.pair_batch(pairs, nb.offsets, self.rng, n_contrast=self.cfg.n_contrast)
        dev = self.device
        sim = weighted_similarity(
            z[torch.as_tensor(pb.sim_a, device=dev)],
            z[torch.as_tensor(pb.sim_b, device=dev)],
            torch.as_tensor(pb.sim_w, device=dev),
            torch.as_tensor(pb.sim_pair, device=dev),
            pb.n_pairs,
        )
        anchor = z[torch.as_tensor(pb.cl_anchor, device=dev)]
        positive = z[torch.as_tensor(pb.cl_positive, device=dev)]
        cl = nt_xent(anchor, positive, torch.as_tensor(pb.cl_mask, device=dev), self.cfg.temperature)
        return sim, cl

    # ------------------------------------------------------------------ loop
    def train_epoch(self) -> dict[str, float]:
        self.module.train()
        self.optimizer.zero_grad(set_to_none=True)
        n_total = len(self.ids)
        sums = torch.zeros(3, device=self.device)
        for ids in self._plan():
            nb = self._batch(ids)
            z = self.module.encode(nb)
            rec = self.reconstruction(z, nb)
            sim, cl = self.cross_terms(z, nb, self._partners(nb.ids))
            terms = torch.stack([rec.sum(), sim.sum(), cl.sum()]) / n_total
            loss = terms[0] + self.cfg.lambda_similarity * terms[1] + self.cfg.lambda_contrast * terms[2]
            loss.backward()
            sums += terms.detach()
        self.optimizer.step()
        rec_v, sim_v, cl_v = sums.tolist()  # one host sync per epoch
        out = {
            "loss": rec_v + self.cfg.lambda_similarity * sim_v + self.cfg.lambda_contrast * cl_v,
            "reconstruction": rec_v,
            "similarity": sim_v,
            "contrastive": cl_v,
        }
        for k, v in out.items():
            self.history[k].append(v)
        self.epoch += 1
        return out

    def should_stop(self, loss: float) -> bool:
        if not self.cfg.early_stopping:
            return False
        if loss < self.best - self.cfg.early_stopping_min_delta:
            self.best, self.wait = loss, 0
            return False
        self.wait += 1
        return self.wait >= self.cfg.early_stopping_patience

    @torch.no_grad()
    def embed(self, ids: list[int] | None = None) -> dict[int, np.ndarray]:
        """Embeddings of the given datasets (default: all trainable), in passes."""
        self.module.eval()
        ids = self.ids if ids is None else ids
        out: dict[int, np.ndarray] = {}
        plans, cur, size = [], [], 0
        for t in ids:
            if cur and size + self._cost(t) > self.cfg.max_pass_size:
                plans.append(cur)
                cur, size = [], 0
            cur.append(t)
            size += self._cost(t)
        plans.append(cur)
        for plan in plans:
            nb = self.module.make_batch(plan, [self.x[t] for t in plan], [self.ei[t] for t in plan])
            z = self.module.encode(nb).float().cpu().numpy()
            for t in plan:
                a = nb.offsets[t]
                out[t] = z[a : a + self.graphs[t].n_nodes].copy()
        return out

    # ------------------------------------------------------------------ checkpoints
    def state(self, fingerprint: str) -> dict[str, Any]:
        return {
            "format": 1,
            "fingerprint": fingerprint,
            "epoch": self.epoch,
            "module": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "np_rng": json.dumps(self.rng.bit_generator.state),
            "torch_gen": self.gen.get_state(),
            "history": {k: list(v) for k, v in self.history.items()},
            "early_stopping": [self.best, self.wait],
            "config": json.dumps(asdict(self.cfg)),
        }

    def load_state(self, state: dict[str, Any], fingerprint: str) -> None:
        if state.get("fingerprint") != fingerprint:
            raise ValueError(
                "The checkpoint in `checkpoint_dir` belongs to a different model or data (its datasets, "
                "genes or options differ); use an empty `checkpoint_dir` or the same call as before."
            )
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = json.loads(state["np_rng"])
        self.gen.set_state(state["torch_gen"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.best, self.wait = float(state["early_stopping"][0]), int(state["early_stopping"][1])
        self.epoch = int(state["epoch"])

    def save_checkpoint(self, directory: str | os.PathLike, fingerprint: str) -> Path:
        """Write ``checkpoint.pt`` atomically (temporary file, then rename)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / CHECKPOINT_NAME
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
        os.close(fd)
        try:
            torch.save(self.state(fingerprint), tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        logger.debug("checkpoint written at epoch %d to %s", self.epoch, target)
        return target
