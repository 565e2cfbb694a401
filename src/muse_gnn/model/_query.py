"""Query mapping as a transaction: add a dataset to a trained model, or leave the model exactly as it was.

:func:`map_query` (behind :meth:`muse_gnn.MuseGNN.map_query` and :func:`muse_gnn.tl.embed`) adds the new dataset's
input layer and decoder, trains them with the :class:`~muse_gnn.model._trainer.Trainer` against the frozen
shared layers and the trained datasets' stored embeddings (:class:`FixedTargets`), and
only then makes the dataset part of the model. Any exception, ``KeyboardInterrupt`` included, restores the
model (:class:`_Snapshot`): gene index, module layers, ``requires_grad`` flags and train/eval modes, device,
graphs, embeddings and AnnData objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from anndata import AnnData
from torch import Tensor

from .._settings import show_progress
from .._utils import logger, resolve_device
from ._data import genes_to_var, prepare_graph
from ._losses import weighted_similarity
from ._module import _module_key
from ._pairs import GeneIndex
from ._trainer import TrainConfig, Trainer

if TYPE_CHECKING:
    from ._model import MuseGNN

__all__ = ["QUERY_STREAM", "SAVED_NEGATIVES", "FixedTargets", "map_query", "trained_negatives"]

QUERY_STREAM = 2
"""Seed-stream id of the contrastive-positive draws of a mapped dataset: ``default_rng([random_state,
QUERY_STREAM])`` (training uses ``PARTNER_STREAM`` of the trainer)."""

SAVED_NEGATIVES = "non_edges"
"""Negatives rule of a model saved before training recorded ``negatives`` (such models drew true non-edges)."""


def trained_negatives(model: MuseGNN) -> str:
    """The edge decoder's negatives rule ``model`` was trained with; a mapped dataset's decoder is trained alike."""
    return str(model.train_params.get("negatives", SAVED_NEGATIVES))


@dataclass
class FixedTargets:
    """Similarity targets of query mapping: the new dataset's common genes and the stored rows they must match.

    ``rows`` are positions in the new dataset, ``target`` the trained datasets' embeddings of the same genes
    (fixed), ``weight`` their Jaccard weights and ``pair`` the partner of each row (``n_pairs`` partners).
    """

    rows: Tensor
    target: Tensor
    weight: Tensor
    pair: Tensor
    n_pairs: int

    @classmethod
    def build(cls, gene_index: GeneIndex, t: int, embeddings: list[np.ndarray | None],
              device: torch.device) -> FixedTargets:
        """Targets of dataset ``t`` against every earlier dataset with an embedding and common genes."""
        common = {u: gene_index.common(t, u) for u in range(t)}
        partners = [u for u, c in common.items() if c[0].size and embeddings[u] is not None]
        rows = [common[u][0] for u in partners] or [np.zeros(0, np.int64)]
        target = [embeddings[u][common[u][1]] for u in partners] or [np.zeros((0, 1))]
        weight = [common[u][2] for u in partners] or [np.zeros(0)]
        pair = [np.full(common[u][0].size, i) for i, u in enumerate(partners)] or [np.zeros(0, np.int64)]
        return cls(
            rows=torch.as_tensor(np.concatenate(rows), dtype=torch.long, device=device),
            target=torch.as_tensor(np.concatenate(target), dtype=torch.float32, device=device),
            weight=torch.as_tensor(np.concatenate(weight), dtype=torch.float32, device=device),
            pair=torch.as_tensor(np.concatenate(pair), dtype=torch.long, device=device),
            n_pairs=len(partners),
        )

    def similarity(self, z: Tensor) -> Tensor:
        """Mean over partners of the weighted similarity loss of ``z`` (the new dataset's rows) to the targets."""
        if self.n_pairs == 0:
            return z.new_zeros(())
        return weighted_similarity(z[self.rows], self.target, self.weight, self.pair, self.n_pairs).mean()


class _Snapshot:
    """What query mapping may change in a model, to put back on failure."""

    def __init__(self, model: MuseGNN, adata: AnnData, key_added: str) -> None:
        m = model.module
        self.gene_index = model.gene_index.snapshot()
        self.layers = {k: list(getattr(m, k).keys()) for k in ("input_layers", "decoders", "shared")}
        self.shared_keys = list(m.shared_keys)
        self.requires_grad = {n: p.requires_grad for n, p in m.named_parameters()}
        self.training = {n: mod.training for n, mod in m.named_modules()}
        self.param_device = next(m.parameters()).device
        self.device = model.device
        self.graphs, self.embeddings, self.adatas = list(model.graphs), list(model._embeddings), dict(model.adatas)
        self.varm = adata.varm.get(key_added)
        self.uns = adata.uns.get(key_added)

    def restore_flags(self, model: MuseGNN) -> None:
        """``requires_grad`` and train/eval modes of the layers that existed before (new ones: trainable)."""
        for n, p in model.module.named_parameters():
            p.requires_grad_(self.requires_grad.get(n, True))
        for n, mod in model.module.named_modules():
            if n in self.training:
                mod.train(self.training[n])

    def restore(self, model: MuseGNN, adata: AnnData, key_added: str) -> None:
        m = model.module
        for attr, keys in self.layers.items():
            container = getattr(m, attr)
            for k in [k for k in container if k not in keys]:
                del container[k]
        m.shared_keys[:] = self.shared_keys
        self.restore_flags(model)
        m.to(self.param_device)
        model.device = self.device
        model.gene_index.restore(self.gene_index)
        model.graphs[:] = self.graphs
        model._embeddings[:] = self.embeddings
        model.adatas.clear()
        model.adatas.update(self.adatas)
        for store, old in ((adata.varm, self.varm), (adata.uns, self.uns)):
            if old is None:
                store.pop(key_added, None)
            else:
                store[key_added] = old


def map_query(
    model: MuseGNN,
    adata: AnnData,
    *,
    name: str | None,
    graph_key: str | None,
    max_epochs: int,
    lr: float,
    lr_decoder: float | None,
    accelerator: str,
    random_state: int,
    show_progress_bar: bool | None,
    key_added: str,
    inplace: bool,
    func: str = "map_query",
) -> np.ndarray:
    """Add ``adata`` to ``model`` (see :meth:`muse_gnn.MuseGNN.map_query`); ``func`` names the caller in errors."""
    model._require_trained()
    if name is None:
        name = str(adata.uns.get("dataset", f"query_{len(model.graphs)}"))
    if name in model.dataset_names:
        raise ValueError(f"{func}: a dataset named {name!r} is already in the model; pass another `name=`.")
    graph = prepare_graph(adata, name, graph_key=graph_key or model.init_params["graph_key"])
    device = resolve_device(accelerator)
    module = model.module
    key = "all" if model.init_params["share"] == "all" else graph.group
    if model.init_params["share"] == "group" and _module_key(key) not in module.shared:
        raise ValueError(
            f"{func}: the model shares layers per tissue × technology group and has none for {key!r}; "
            f"known groups: {sorted(module.shared.keys())}."
        )
    cfg = TrainConfig(max_epochs=int(max_epochs), lr=float(lr),
                      lr_decoder=None if lr_decoder is None else float(lr_decoder), random_state=int(random_state),
                      negatives=trained_negatives(model))
    snap = _Snapshot(model, adata, key_added)
    try:
        t_new = model.gene_index.add(graph, np.random.default_rng([random_state, QUERY_STREAM]))
        targets = FixedTargets.build(model.gene_index, t_new, model._embeddings, device)
        if t_new and targets.n_pairs == 0:
            raise ValueError(
                f"{func}: dataset {name!r} shares no graph gene with the trained datasets; check the gene "
                "identifiers (map other species with `mg.pp.map_orthologs`)."
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(random_state)
            module.add_dataset(graph.n_features, graph.n_nodes, key)
        module.to(device)
        for p in module.parameters():  # shared layers and the other datasets' layers stay as trained
            p.requires_grad_(False)
        for layer in (module.input_layers[f"d{t_new}"], module.decoders[f"d{t_new}"]):
            layer.requires_grad_(True)
        model.graphs.append(graph)
        trainer = Trainer(module, model.graphs, model.gene_index, cfg, device, query=(t_new, targets))
        trainer.fit(show_progress_bar=show_progress(show_progress_bar), desc=f"mapping {name}")
        emb = trainer.embed()[t_new]
        snap.restore_flags(model)
        model._embeddings.append(emb)
        model.adatas[name] = adata
        model.device = device
        if inplace:
            adata.varm[key_added] = genes_to_var(adata, graph.genes, emb, name)
            adata.uns[key_added] = {"params": {"dataset": name, "mapped": True, "max_epochs": int(max_epochs),
                                               "lr": float(lr), "random_state": int(random_state)}}
    except BaseException:
        snap.restore(model, adata, key_added)
        raise
    final = trainer.history["loss"][-1] if trainer.history["loss"] else float("nan")
    logger.info("%s: %s mapped (%d genes, final loss %.4f)", func, name, graph.n_nodes, final)
    return emb
