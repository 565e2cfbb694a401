"""Training loop: all datasets in as few batched passes as memory allows, checkpoints, early stopping."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .._utils import logger
from ._data import GraphData
from ._distributed import DistContext, SharedForward, gather_rows, sum_allreduce_hook
from ._losses import edge_bce, nt_xent, weighted_similarity
from ._module import DENSE_PAIRS_PER_EDGE, MuseModule, NodeBatch
from ._negatives import NEGATIVE_RULES, EdgeLookup, sample_negatives
from ._pairs import GeneIndex

if TYPE_CHECKING:
    from ._query import FixedTargets

__all__ = [
    "CHECKPOINT_NAME",
    "LR_DECODER_RATIO",
    "PARTNER_STREAM",
    "QUERY_MAX_EPOCHS",
    "RANK_SEED_STRIDE",
    "SPARSE_EDGE_COST",
    "TRAIN_DEFAULTS",
    "TrainConfig",
    "Trainer",
    "pass_cost",
]

CHECKPOINT_NAME = "checkpoint.pt"
LOSS_TERMS = ("loss", "reconstruction", "similarity", "contrastive")


@dataclass
class TrainConfig:
    """Training options: the one place that holds their defaults.

    :meth:`muse_gnn.MuseGNN.train`, :meth:`muse_gnn.MuseGNN.map_query`, :func:`muse_gnn.tl.fit`,
    :func:`muse_gnn.tl.embed` and ``muse-gnn fit`` take their defaults from here (:data:`TRAIN_DEFAULTS`); the
    options are described once in :data:`~muse_gnn.model._docs.TRAIN_PARAM_DOCS`. ``lr_decoder=None`` means
    ``LR_DECODER_RATIO × lr`` (the reference ratio) and is resolved here, so the stored value is a number.
    """

    max_epochs: int = 300
    lr: float = 1e-3
    lr_decoder: float | None = None
    lambda_similarity: float = 3.0
    lambda_contrast: float = 0.01
    temperature: float = 0.07
    n_contrast: int = 100
    negatives: str = "uniform"
    early_stopping: bool = False
    early_stopping_patience: int = 45
    early_stopping_min_delta: float = 0.0
    max_pass_size: int = 50_000_000
    max_edges: int = 50_000
    checkpoint_every: int = 50
    precision: str = "32"
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.negatives not in NEGATIVE_RULES:
            raise ValueError(f"negatives must be one of {NEGATIVE_RULES}, got {self.negatives!r}.")
        if self.precision not in {"32", "bf16-mixed"}:
            raise ValueError(f"precision must be '32' or 'bf16-mixed', got {self.precision!r}.")
        if int(self.max_epochs) < 0:
            raise ValueError(f"max_epochs must be >= 0, got {self.max_epochs}.")
        if self.lr <= 0 or (self.lr_decoder is not None and self.lr_decoder <= 0):
            raise ValueError("learning rates must be positive.")
        if self.lr_decoder is None:
            self.lr_decoder = LR_DECODER_RATIO * self.lr


LR_DECODER_RATIO = 10
"""``lr_decoder`` when not given: this many times ``lr`` (the reference code's ratio)."""

QUERY_MAX_EPOCHS = 800
"""Default epochs of query mapping (one step on the new dataset alone per epoch, so 800 cost about as much as a
few full-model epochs; on the simulator benchmark 800 reached 88 % of the retraining score, 300 reached 78 %)."""

TRAIN_DEFAULTS = TrainConfig()
"""The default training options, for the signatures of the public training functions."""

PARTNER_STREAM = 1
"""Seed-stream id of the trainer's numpy generator (pass plans, partners, contrastive samples):
``default_rng([random_state, PARTNER_STREAM])``."""

RANK_SEED_STRIDE = 1_000_003
"""The edge-sampling generator of rank *r* is seeded ``random_state + RANK_SEED_STRIDE * r`` (a prime, so ranks
and seeds do not collide for any practical seed)."""


SPARSE_EDGE_COST = 192
"""Memory of one edge with sparse (message-passing) attention, in gene pairs of dense attention (measured: about
8 KB per edge through the four graph-transformer layers and their backward, about 45 B per gene pair)."""


def pass_cost(module: MuseModule, graph: GraphData) -> int:
    """Size of one dataset in a pass, in gene pairs: ``n²`` with dense attention, ``SPARSE_EDGE_COST`` per edge
    (and node) with sparse attention, so that ``max_pass_size`` bounds memory either way."""
    n = graph.n_nodes
    n_edges = int(graph.edge_index.shape[1])
    if module.attention == "dense" or (
        module.attention == "auto" and n <= module.dense_max_nodes and n_edges * DENSE_PAIRS_PER_EDGE >= n * n
    ):
        return n * n
    return SPARSE_EDGE_COST * (int(graph.edge_index.shape[1]) + n)


class Trainer:
    """Runs the optimisation of a :class:`MuseModule` over datasets.

    One epoch visits every dataset once as *t* with a random partner *u* (as the reference), but all
    datasets go through the network together: the input layers one by one, the shared layers in a single
    block-diagonal batch. When the graphs exceed ``max_pass_size`` the datasets are split into
    random passes (partners drawn inside each pass) whose gradients are accumulated; the optimiser steps
    once per epoch.

    With a :class:`~muse_gnn.model._distributed.DistContext` (several processes), this process trains only the
    datasets it owns; the shared layers run under DDP (gradients summed over ranks), every pass gathers all
    ranks' embeddings for the cross-dataset terms, and the partner draws, which use one generator seeded
    identically on every rank, are the same everywhere. One process gives the same result as no context.
    """

    def __init__(
        self,
        module: MuseModule,
        graphs: list[GraphData],
        gene_index: GeneIndex,
        config: TrainConfig,
        device: torch.device,
        *,
        query: tuple[int, FixedTargets] | None = None,
        dist_ctx: DistContext | None = None,
    ) -> None:
        self.module, self.graphs, self.index, self.cfg, self.device = module, graphs, gene_index, config, device
        self.dist = dist_ctx
        self.targets: FixedTargets | None = None
        if query is not None and dist_ctx is not None:
            raise ValueError("query mapping runs in one process.")
        if dist_ctx is not None:
            self.ids = dist_ctx.owned()
            self.n_total = len(dist_ctx.owners)
        elif query is not None:
            # query mapping: only dataset `t` trains (its input layer and decoder), against fixed targets
            t, self.targets = query
            self.ids, self.n_total = [t], 1
        else:
            self.ids = list(range(len(graphs)))
            self.n_total = len(self.ids)
        pin = device.type == "cuda"
        self.x = {t: self._to_device(graphs[t].x, pin) for t in self.ids}
        self.ei = {t: self._to_device(graphs[t].edge_index, pin) for t in self.ids}
        # undirected edges per graph, counted once on the host: no device sync in the loop
        self.n_undirected = {t: int((graphs[t].edge_index[0] < graphs[t].edge_index[1]).sum()) for t in self.ids}
        self.rng = np.random.default_rng([config.random_state, PARTNER_STREAM])
        self.gen = torch.Generator(device=device)
        rank = 0 if dist_ctx is None else dist_ctx.rank
        self.gen.manual_seed(config.random_state + RANK_SEED_STRIDE * rank)
        if self.targets is None:
            groups = [module.encoder_parameters(), module.decoder_parameters()]
        else:
            t = self.ids[0]
            groups = [list(module.input_layers[f"d{t}"].parameters()), list(module.decoders[f"d{t}"].parameters())]
        self.optimizer = torch.optim.Adam(  # foreach: one fused update over all parameters
            [{"params": groups[0], "lr": config.lr}, {"params": groups[1], "lr": config.lr_decoder}],
            foreach=True,
        )
        self.ddp: torch.nn.parallel.DistributedDataParallel | None = None
        if dist_ctx is not None:
            self.ddp = torch.nn.parallel.DistributedDataParallel(
                SharedForward(module),
                device_ids=[device.index] if device.type == "cuda" else None,
                process_group=dist_ctx.group,
                # ranks may run different numbers of forward passes per epoch (empty passes): DDP must then do
                # no collective in forward. Bucket rebuilding (a broadcast in forward) is off with
                # find_unused_parameters=True, which share="group" needs anyway; no buffers to broadcast.
                find_unused_parameters=True,
                broadcast_buffers=False,
            )
            self.ddp.register_comm_hook(dist_ctx.group, sum_allreduce_hook)
        self.history: dict[str, list[float]] = {k: [] for k in LOSS_TERMS}
        self.epoch = 0
        self.best, self.wait = math.inf, 0
        self._dense: dict[int, Tensor] = {}
        self._fixed_batch: NodeBatch | None = None
        self._fixed_lookup: EdgeLookup | None = None

    def _to_device(self, t: Tensor | None, pin: bool) -> Tensor:
        """Move a tensor to the training device once (through pinned memory on GPU, asynchronously)."""
        if t is None:
            raise RuntimeError("a dataset to train has no node features (model loaded without its AnnData).")
        if pin and not t.is_pinned():
            t = t.pin_memory()
        return t.to(self.device, non_blocking=pin)

    # ------------------------------------------------------------------ passes
    def _cost(self, t: int) -> int:
        return pass_cost(self.module, self.graphs[t])

    def _plan(self, ids: list[int] | None = None) -> list[list[int]]:
        """Passes over ``ids`` (default: this trainer's datasets) within ``max_pass_size``."""
        ids = self.ids if ids is None else ids
        if sum(self._cost(t) for t in ids) <= self.cfg.max_pass_size or len(ids) == 1:
            return [list(ids)]
        return self._chunks([ids[i] for i in self.rng.permutation(len(ids))])

    def _chunks(self, order: list[int]) -> list[list[int]]:
        """``order`` cut greedily into consecutive passes within ``max_pass_size``."""
        passes, cur, size = [], [], 0
        for t in order:
            cost = self._cost(t)
            if cur and size + cost > self.cfg.max_pass_size:
                passes.append(cur)
                cur, size = [], 0
            cur.append(t)
            size += cost
        passes.append(cur)
        return passes

    def _global_plan(self) -> list[list[list[int]]]:
        """Passes × ranks × datasets. Every rank computes every rank's plan (the draws stay in step) and pads
        shorter plans with empty passes at the front, so that every rank takes part in every pass and the last
        pass, where DDP synchronises, holds datasets on every rank."""
        if self.dist is None:
            return [[p] for p in self._plan()]
        plans = [self._plan(self.dist.owned(r)) for r in range(self.dist.world_size)]
        k = max(len(p) for p in plans)
        plans = [[[] for _ in range(k - len(p))] + p for p in plans]
        return [[plans[r][i] for r in range(self.dist.world_size)] for i in range(k)]

    def _batch(self, ids: list[int]) -> NodeBatch:
        if len(ids) == len(self.ids):
            if self._fixed_batch is None:
                self._fixed_batch = self.module.make_batch(ids, [self.x[t] for t in ids], [self.ei[t] for t in ids])
            return self._fixed_batch
        return self.module.make_batch(ids, [self.x[t] for t in ids], [self.ei[t] for t in ids])

    def _lookup(self, nb: NodeBatch) -> EdgeLookup:
        """Edge membership of a pass's graphs (kept for the pass of all datasets, which recurs every epoch)."""
        if nb is self._fixed_batch:
            if self._fixed_lookup is None:
                self._fixed_lookup = EdgeLookup(nb.edge_index_all, nb.n_nodes)
            return self._fixed_lookup
        return EdgeLookup(nb.edge_index_all, nb.n_nodes)

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
        # sampled edges: every undirected edge once, and as many negatives from the same graph: the tail is
        # corrupted uniformly within the graph; with negatives="non_edges" it is redrawn where it hits an edge or
        # the head (`sample_negatives`).
        k = len(nb.ids)
        sizes = torch.tensor([self.graphs[t].n_nodes for t in nb.ids], device=self.device)
        starts = torch.tensor([nb.offsets[t] for t in nb.ids], device=self.device)
        ei = nb.edge_index_all
        keep = ei[0] < ei[1]
        pos = ei[:, keep]
        g_pos = nb.batch[pos[0]]
        # graphs with more than `max_edges` edges score a random subset of them each epoch (bounded memory)
        if any(self.n_undirected[t] > self.cfg.max_edges for t in nb.ids):  # host-side counts: no sync
            n_edges = torch.tensor([self.n_undirected[t] for t in nb.ids], dtype=torch.float32, device=self.device)
            rate = (self.cfg.max_edges / n_edges.clamp_min(1)).clamp_max(1.0)
            sub = torch.rand(pos.shape[1], generator=self.gen, device=self.device) < rate[g_pos]
            pos, g_pos = pos[:, sub], g_pos[sub]
        lookup = self._lookup(nb) if self.cfg.negatives == "non_edges" else None
        tail, valid = sample_negatives(pos[0], starts[g_pos], sizes[g_pos], lookup, self.gen, rule=self.cfg.negatives)
        neg = torch.stack([pos[0], tail])
        scale = torch.stack([self.module.decoders[f"d{t}"].scale for t in nb.ids])
        bias = torch.stack([self.module.decoders[f"d{t}"].bias for t in nb.ids])
        lp = scale[g_pos] * (z[pos[0]] * z[pos[1]]).sum(-1) + bias[g_pos]
        ln = scale[g_pos] * (z[neg[0]] * z[neg[1]]).sum(-1) + bias[g_pos]
        return edge_bce(lp, ln, g_pos, g_pos, k, valid)

    def cross_terms(self, z: Tensor, offsets: dict[int, int], pairs: np.ndarray) -> tuple[Tensor, Tensor]:
        """Per-pair similarity and contrastive losses; ``offsets[t]``: first row of dataset ``t`` in ``z``."""
        if len(pairs) == 0:
            zero = z.new_zeros(0)
            return zero, zero
        pb = self.index.pair_batch(pairs, offsets, self.rng, n_contrast=self.cfg.n_contrast)
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
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.cfg.precision == "bf16-mixed":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _pass_layout(self, chunks: list[list[int]]) -> tuple[list[int], dict[int, int], int]:
        """Datasets of a pass over all ranks (batch order), their first row in the gathered embedding, and the
        rows of each rank's block."""
        order = [[c[j] for j in self.module.batch_order(c)] for c in chunks]
        n_max = max(sum(self.graphs[t].n_nodes for t in c) for c in order)
        offsets = {}
        for r, c in enumerate(order):
            row = r * n_max
            for t in c:
                offsets[t] = row
                row += self.graphs[t].n_nodes
        if len(chunks) == 1:
            return order[0], offsets, n_max
        # partners are drawn over the pass's datasets in the order one process would see them, so that any
        # number of processes draws the same pairs (one pass per epoch)
        union = sorted(t for c in chunks for t in c)
        return [union[j] for j in self.module.batch_order(union)], offsets, n_max

    def _encode_pass(self, nb: NodeBatch) -> Tensor:
        if self.ddp is None:
            return self.module.encode(nb)
        return self.ddp(self.module.encode_input(nb), nb)

    def _train_modes(self) -> None:
        """Training mode for what trains: everything, or (query mapping) the new dataset's input layer only."""
        if self.targets is None:
            self.module.train()
            return
        self.module.eval()
        self.module.input_layers[f"d{self.ids[0]}"].train()

    def train_epoch(self) -> dict[str, float]:
        """One epoch: every dataset with a random partner, one optimiser step; returns the loss terms.

        In query mapping the one new dataset is scored against its fixed targets instead of partners (no
        contrastive term), so the loss is its reconstruction plus ``lambda_similarity`` × the mean similarity
        loss over the trained datasets.
        """
        self._train_modes()
        self.optimizer.zero_grad(set_to_none=True)
        sums = torch.zeros(3, device=self.device)
        plan = self._global_plan()
        rank = 0 if self.dist is None else self.dist.rank
        for i, chunks in enumerate(plan):
            mine = chunks[rank]
            sync = self.ddp.no_sync() if self.ddp is not None and i < len(plan) - 1 else contextlib.nullcontext()
            with sync, self._autocast():
                if self.targets is not None:
                    nb = self._batch(mine)
                    z = self.module.encode(nb)
                    rec = self.reconstruction(z, nb)
                    terms = torch.stack([rec.sum(), self.targets.similarity(z), z.new_zeros(())]).float()
                    loss = terms[0] + self.cfg.lambda_similarity * terms[1] + self.cfg.lambda_contrast * terms[2]
                    loss.backward()
                    sums += terms.detach()
                    continue
                if self.dist is None:
                    nb = self._batch(mine)
                    z = z_all = self.module.encode(nb)
                    all_ids, offsets = nb.ids, nb.offsets
                else:
                    all_ids, offsets, n_max = self._pass_layout(chunks)
                    nb = self._batch(mine) if mine else None
                    z = self._encode_pass(nb) if nb is not None else None
                    if z is None:  # an empty pass on this rank: it still joins the gather and its backward
                        z = torch.zeros(0, self.module.n_latent, device=self.device, requires_grad=True)
                    z_all = gather_rows(z, n_max, self.dist) if self.dist.world_size > 1 else z
                rec = self.reconstruction(z, nb) if nb is not None else z.new_zeros(0)
                pairs = self._partners(all_ids)
                sim, cl = self.cross_terms(z_all, offsets, pairs)
                if self.dist is not None and len(pairs):  # each rank scores the pairs whose first dataset it owns
                    own = torch.as_tensor(np.isin(pairs[:, 0], mine), device=self.device)
                    sim, cl = sim[own], cl[own]
                terms = torch.stack([rec.sum(), sim.sum(), cl.sum()]).float() / self.n_total
                loss = terms[0] + self.cfg.lambda_similarity * terms[1] + self.cfg.lambda_contrast * terms[2]
                if self.dist is not None and self.dist.world_size > 1:
                    loss = loss + 0.0 * z_all.sum()  # every rank runs the gather's backward (a collective)
                loss.backward()
            sums += terms.detach()
        self.optimizer.step()
        if self.dist is not None:
            self.dist.all_reduce_sum(sums)
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

    def fit(
        self,
        *,
        checkpoint_dir: str | os.PathLike | None = None,
        fingerprint: str = "",
        deterministic: bool | None = None,
        show_progress_bar: bool = False,
        desc: str = "MuSe-GNN epochs",
    ) -> bool:
        """One training run: resume from ``checkpoint_dir`` when it holds a checkpoint, train until
        ``max_epochs`` or early stopping (checkpoints every ``checkpoint_every`` epochs and at the end), with
        :func:`torch.use_deterministic_algorithms` set to ``deterministic`` (unchanged for ``None``) for the
        run. Returns whether training stopped early."""
        from .._progress import progress_bar as tqdm

        if checkpoint_dir is not None:
            self._resume(Path(checkpoint_dir) / CHECKPOINT_NAME, fingerprint)
        start = self.epoch
        was_det = torch.are_deterministic_algorithms_enabled()
        was_warn = torch.is_deterministic_algorithms_warn_only_enabled()
        if deterministic is not None:
            torch.use_deterministic_algorithms(bool(deterministic), warn_only=True)
        bar = tqdm(total=self.cfg.max_epochs, initial=min(start, self.cfg.max_epochs), desc=desc,
                   show_progress_bar=show_progress_bar)
        stopped = False
        try:
            while self.epoch < self.cfg.max_epochs:
                out = self.train_epoch()
                bar.update(1)
                if show_progress_bar:
                    bar.set_postfix(loss=f"{out['loss']:.4f}", refresh=False)
                if checkpoint_dir is not None and self.epoch % self.cfg.checkpoint_every == 0:
                    self.save_checkpoint(checkpoint_dir, fingerprint)
                if self.should_stop(out["loss"]):
                    logger.info("early stopping at epoch %d", self.epoch)
                    stopped = True
                    break
        finally:
            bar.close()
            torch.use_deterministic_algorithms(was_det, warn_only=was_warn)
        if checkpoint_dir is not None and self.epoch > start:
            self.save_checkpoint(checkpoint_dir, fingerprint)
        return stopped

    def _resume(self, ckpt: Path, fingerprint: str) -> None:
        """Load the training state of ``ckpt`` when the file exists."""
        if not ckpt.exists():
            return
        try:
            state = torch.load(ckpt, map_location=self.device, weights_only=True)
        except Exception as err:  # any unreadable file gets the same advice
            raise ValueError(
                f"{ckpt} cannot be read as a MuSe-GNN checkpoint ({type(err).__name__}: {err}); delete "
                "it or use another `checkpoint_dir`."
            ) from err
        self.load_state(state, fingerprint)
        logger.info("resuming from %s at epoch %d", ckpt, self.epoch)

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
        for plan in self._chunks(list(ids)):
            nb = self.module.make_batch(plan, [self.x[t] for t in plan], [self.ei[t] for t in plan])
            z = self.module.encode(nb).float().cpu().numpy()
            for t in plan:
                a = nb.offsets[t]
                out[t] = z[a : a + self.graphs[t].n_nodes].copy()
        return out

    def close(self, *, wait: bool = True) -> None:
        """Release the DDP wrapper while every rank is still in the process group (its destructor talks to the
        group; freed after the group is gone it can wait forever), then wait for all ranks (``wait``)."""
        if self.ddp is not None:
            self.ddp = None
            import gc

            gc.collect()
            if wait and self.dist is not None and self.dist.world_size > 1:
                torch.distributed.barrier(group=self.dist.object_group)

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

    def _local_parts(self) -> dict[str, Any]:
        """This rank's dataset-specific weights, their optimiser state and its generator (on the CPU)."""
        prefixes = tuple(f"{m}.d{t}." for m in ("input_layers", "decoders") for t in self.ids)
        module = {k: v.detach().cpu() for k, v in self.module.state_dict().items() if k.startswith(prefixes)}
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        mine = {id(p) for t in self.ids for m in (self.module.input_layers[f"d{t}"], self.module.decoders[f"d{t}"])
                for p in m.parameters()}
        opt = {i: {k: (v.detach().cpu() if torch.is_tensor(v) else v) for k, v in self.optimizer.state[p].items()}
               for i, p in enumerate(params) if id(p) in mine and p in self.optimizer.state}
        return {"module": module, "optimizer": opt, "gen": self.gen.get_state().cpu()}

    def collect_state(self, fingerprint: str) -> dict[str, Any] | None:
        """The full training state on rank 0 (``None`` on other ranks; a collective under DDP)."""
        state = self.state(fingerprint)
        if self.dist is None:
            return state
        parts = self.dist.gather_object(self._local_parts())
        if parts is None:
            return None
        state["module"] = dict(state["module"])
        state["optimizer"]["state"] = dict(state["optimizer"]["state"])
        for part in parts:
            state["module"].update(part["module"])
            state["optimizer"]["state"].update(part["optimizer"])
        state["torch_gen_ranks"] = [part["gen"] for part in parts]
        return state

    def sync_module(self) -> None:
        """Give every rank the dataset-specific weights of all ranks (after training under DDP)."""
        if self.dist is None or self.dist.world_size == 1:
            return
        live = self.module.state_dict()
        with torch.no_grad():
            for part in self.dist.all_gather_object(self._local_parts()["module"]):
                for k, v in part.items():
                    live[k].copy_(v)

    def embed_all(self) -> dict[int, np.ndarray]:
        """Embeddings of every trained dataset on every rank (each rank embeds its own, then they are shared)."""
        local = self.embed()
        if self.dist is None:
            return local
        out: dict[int, np.ndarray] = {}
        for part in self.dist.all_gather_object(local):
            out.update(part)
        return out

    def load_state(self, state: dict[str, Any], fingerprint: str) -> None:
        if state.get("fingerprint") != fingerprint:
            raise ValueError(
                "The checkpoint in `checkpoint_dir` belongs to a different model or data (its datasets, "
                "genes or options differ); use an empty `checkpoint_dir` or the same call as before."
            )
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = json.loads(state["np_rng"])
        rank = 0 if self.dist is None else self.dist.rank
        world = 1 if self.dist is None else self.dist.world_size
        gens = state.get("torch_gen_ranks")
        # generator states are CPU byte tensors, also for a CUDA generator; map_location may have moved them
        if gens is not None and len(gens) == world:
            self.gen.set_state(gens[rank].cpu())
        elif rank == 0:
            self.gen.set_state(state["torch_gen"].cpu())
        if rank == 0 and ((gens is not None and len(gens) != world) or (gens is None and world > 1)):
            logger.warning(
                "resuming a checkpoint written by %s process(es) with %d: training goes on from the saved "
                "weights, but the sampled edges differ from an uninterrupted run.", len(gens or [0]), world)
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.best, self.wait = float(state["early_stopping"][0]), int(state["early_stopping"][1])
        self.epoch = int(state["epoch"])

    def save_checkpoint(self, directory: str | os.PathLike, fingerprint: str) -> Path | None:
        """Write ``checkpoint.pt`` atomically (temporary file, then rename); under DDP rank 0 writes it."""
        state = self.collect_state(fingerprint)
        if state is None:
            return None
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / CHECKPOINT_NAME
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
        os.close(fd)
        for stale in directory.glob(".checkpoint-*.tmp"):  # left by a process killed while writing
            if stale != Path(tmp):
                stale.unlink(missing_ok=True)
        try:
            with open(tmp, "wb") as fh:
                torch.save(state, fh)
                fh.flush()
                os.fsync(fh.fileno())  # on disk before the rename, so a power loss cannot leave a torn file
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        logger.debug("checkpoint written at epoch %d to %s", self.epoch, target)
        return target
