"""``MuseGNN``: the user-facing model (options, training entry point, outputs).

Persistence lives in :mod:`~muse_gnn.model._persistence`, multi-process launching in
:mod:`~muse_gnn.model._spawn`, the epoch loop in :class:`~muse_gnn.model._trainer.Trainer` and query mapping in
:mod:`~muse_gnn.model._query`.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from anndata import AnnData

from .._joint import build_joint
from .._settings import show_progress
from .._utils import Devices, as_dataset_dict, resolve_device
from .._warnings import MuseGNNWarning
from ._data import GraphData, genes_to_var, prepare_graph
from ._distributed import DistContext, init_from_env, launch_kind, local_device, n_processes, shard_datasets
from .._docs import doc_common, doc_params, param_docs
from ._docs import QUERY_DATA_DOCS, QUERY_PARAM_DOCS, TRAIN_OPTIONS, TRAIN_PARAM_DOCS
from ._module import MuseModule
from ._pairs import GeneIndex
from ._persistence import FORMAT_VERSION, HISTORY_COLUMNS, load_model, save_model
from ._persistence import h5_safe as _h5_safe
from ._query import map_query
from ._spawn import train_spawned
from ._trainer import QUERY_MAX_EPOCHS, TRAIN_DEFAULTS, TrainConfig, Trainer, pass_cost

__all__ = ["AGREEMENT_FLOOR", "FORMAT_VERSION", "MuseGNN"]

AGREEMENT_FLOOR = 0.05
"""Smallest weight of a dataset's row in :meth:`MuseGNN.get_gene_embedding` (``weighting="agreement"``), so that a
row disagreeing with the gene's other rows still counts a little."""

_D = TRAIN_DEFAULTS


@doc_params(doc_common)
class MuseGNN:
    """MuSe-GNN: one graph-transformer model over the gene graphs of many datasets.

    Each dataset has its own input layer (input width = its number of cells) and decoder; the deeper layers
    are shared by all datasets (``share="all"``) or by each tissue × technology group (``share="group"``, as
    the reference code). Training minimises graph reconstruction plus, for every dataset and a random
    partner, the Jaccard-weighted cosine similarity of their common genes and an NT-Xent contrastive term
    on their dataset-specific genes (see :doc:`/method`).

    Parameters
    ----------
    adatas
        Datasets with gene graphs from :func:`muse_gnn.pp.coexpression_graph`: a list (names from
        ``adata.uns["dataset"]`` or ``dataset_{i}``), a dict ``{name: AnnData}`` or a MuData.
    {graph_key}
    n_latent
        Embedding size (32 in the reference).
    share
        ``"all"`` or ``"group"`` (see above).
    decoder
        ``"edges"``: scores the graph's edges and as many sampled negatives (``negatives=`` of :meth:`train`)
        with a scaled inner product, memory linear in edges (default: as good as the dense decoder on the
        simulator benchmark and scales to 5,000+ genes). ``"mlp"``: the reference, a dataset-specific MLP on
        ``Z Zᵀ`` against the dense adjacency (quadratic memory).
    heads
        Attention heads of the input layer (4 in the reference).
    attention
        How the graph-transformer layers are evaluated: ``"dense"`` (masked attention over all gene pairs of a
        graph, fast for co-expression graphs), ``"sparse"`` (PyG message passing over edges, memory linear in
        edges), or ``"auto"`` (dense up to ``DENSE_MAX_NODES`` = 4,096 genes per graph). Same results either way.
    allow_disjoint
        Allow datasets that share no gene with any other (their cross-dataset terms are then zero);
        otherwise this is an error.
    random_state
        Seed of the weights and of every random draw in training.

    Attributes
    ----------
    history
        Loss terms per epoch (``loss``, ``reconstruction``, ``similarity``, ``contrastive``), a DataFrame.
    is_trained
        Whether :meth:`train` has run.
    adatas
        The datasets, ``{name: AnnData}`` (``None`` values for a model loaded without its data).
    graphs
        The datasets' gene graphs as the model sees them.
    init_params, train_params
        The options of the model and of its last training.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=(100, 150))
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson", show_progress_bar=False)
    >>> model = mg.MuseGNN(adatas)
    >>> model.train(max_epochs=2, show_progress_bar=False)
    >>> model.get_joint_embedding().obsm["X_muse"].shape
    (160, 32)
    """

    def __init__(
        self,
        adatas: Sequence[AnnData] | Mapping[str, AnnData] | Any,
        *,
        graph_key: str = "muse",
        n_latent: int = 32,
        share: Literal["all", "group"] = "all",
        decoder: Literal["edges", "mlp"] = "edges",
        heads: int = 4,
        attention: Literal["auto", "dense", "sparse"] = "auto",
        allow_disjoint: bool = False,
        random_state: int = 0,
    ) -> None:
        named = as_dataset_dict(adatas, "MuseGNN")
        views = [k for k, a in named.items() if a.is_view]
        if views:
            raise ValueError(
                f"MuseGNN: datasets {views} are views of other AnnData objects; embeddings written to a view are "
                "lost to its parent. Pass `adata.copy()` (or the parent itself)."
            )
        graphs = []
        for name, ad in named.items():
            graphs.append(prepare_graph(ad, name, graph_key=graph_key))
        self._setup(
            graphs,
            dict(graph_key=graph_key, n_latent=n_latent, share=share, decoder=decoder, heads=heads,
                 attention=attention, allow_disjoint=allow_disjoint, random_state=random_state),
        )
        self.adatas: dict[str, AnnData | None] = dict(named)

    # ------------------------------------------------------------------ setup
    def _setup(self, graphs: list[GraphData], init: dict[str, Any]) -> None:
        if init["share"] not in {"all", "group"}:
            raise ValueError(f"share must be 'all' or 'group', got {init['share']!r}.")
        if init["decoder"] not in {"edges", "mlp"}:
            raise ValueError(f"decoder must be 'edges' or 'mlp', got {init['decoder']!r}.")
        if int(init["n_latent"]) < 1 or int(init["heads"]) < 1:
            raise ValueError("n_latent and heads must be positive integers.")
        names = [g.name for g in graphs]
        if len(set(names)) != len(names):
            raise ValueError(f"dataset names must be unique, got {names}.")
        self.init_params = dict(init)
        self.graphs = graphs
        self.gene_index = GeneIndex(graphs, np.random.default_rng(init["random_state"]))
        self._check_overlap()
        keys = ["all" if init["share"] == "all" else g.group for g in graphs]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init["random_state"])
            self.module = MuseModule(
                [g.n_features for g in graphs], [g.n_nodes for g in graphs], keys,
                n_latent=int(init["n_latent"]), heads=int(init["heads"]), decoder=init["decoder"],
                attention=init.get("attention", "auto"),
            )
        self.history: pd.DataFrame = pd.DataFrame(columns=HISTORY_COLUMNS)
        self.train_params: dict[str, Any] = {}
        self.is_trained = False
        self._embeddings: list[np.ndarray | None] = [None] * len(graphs)
        self.device = torch.device("cpu")

    def _check_overlap(self) -> None:
        if len(self.graphs) < 2:
            return
        counts = np.zeros(len(self.gene_index.vocab), dtype=np.int64)
        for gid in self.gene_index.gids:
            counts[gid] += 1
        lonely = [g.name for g, gid in zip(self.graphs, self.gene_index.gids, strict=True) if not (counts[gid] > 1).any()]
        if lonely:
            msg = (
                f"datasets {lonely} share no graph gene with any other dataset, so the cross-dataset terms "
                "cannot align them. Check that gene identifiers agree (symbols vs Ensembl IDs; map other "
                "species with `mg.pp.map_orthologs`)"
            )
            if not self.init_params["allow_disjoint"]:
                raise ValueError(msg + ", or pass allow_disjoint=True.")
            warnings.warn(msg + "; their similarity terms are off (allow_disjoint=True).", MuseGNNWarning, stacklevel=3)

    @property
    def dataset_names(self) -> list[str]:
        """Names of the datasets, in model order."""
        return [g.name for g in self.graphs]

    def __repr__(self) -> str:
        n_genes = len(self.gene_index.vocab)
        status = f"trained for {len(self.history)} epochs" if self.is_trained else "not trained"
        return (
            f"MuseGNN with {len(self.graphs)} datasets, {n_genes} distinct genes; "
            f"share={self.init_params['share']!r}, decoder={self.init_params['decoder']!r}, "
            f"n_latent={self.init_params['n_latent']}; {status}."
        )

    def _fingerprint(self, cfg: TrainConfig) -> str:
        h = hashlib.sha256()
        h.update(json.dumps(self.init_params, sort_keys=True).encode())
        skip = {"max_epochs", "checkpoint_every", "early_stopping"}
        h.update(json.dumps({k: v for k, v in asdict(cfg).items() if k not in skip}, sort_keys=True).encode())
        for g in self.graphs:
            h.update(g.name.encode())
            h.update("\x00".join(g.genes).encode())
            h.update(str((g.n_features, int(g.edge_index.shape[1]))).encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ training
    @doc_params(train_params=param_docs(TRAIN_PARAM_DOCS, *TRAIN_OPTIONS))
    def train(
        self,
        *,
        max_epochs: int = _D.max_epochs,
        lr: float = _D.lr,
        lr_decoder: float | None = None,
        accelerator: str = "auto",
        devices: Devices = "auto",
        lambda_similarity: float = _D.lambda_similarity,
        lambda_contrast: float = _D.lambda_contrast,
        temperature: float = _D.temperature,
        n_contrast: int = _D.n_contrast,
        negatives: Literal["uniform", "non_edges"] = _D.negatives,  # type: ignore[assignment]
        early_stopping: bool = _D.early_stopping,
        early_stopping_patience: int = _D.early_stopping_patience,
        early_stopping_min_delta: float = _D.early_stopping_min_delta,
        max_pass_size: int = _D.max_pass_size,
        max_edges: int = _D.max_edges,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = _D.checkpoint_every,
        strategy: Literal["auto", "single", "ddp"] = "auto",
        precision: Literal["32", "bf16-mixed"] = _D.precision,  # type: ignore[assignment]
        deterministic: bool = True,
        show_progress_bar: bool | None = None,
    ) -> None:
        """Train the model.

        The defaults are those of :class:`~muse_gnn.model._trainer.TrainConfig`.

        Parameters
        ----------
        {train_params}

        Examples
        --------
        >>> import muse_gnn as mg
        >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=(100, 150))
        >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson", show_progress_bar=False)
        >>> model = mg.MuseGNN(adatas)
        >>> model.train(max_epochs=2, show_progress_bar=False)
        >>> model.is_trained
        True
        """
        if any(g.x is None for g in self.graphs):
            raise RuntimeError(
                "This model was loaded without its datasets; pass them with `MuseGNN.load(path, adatas=...)` "
                "to train further."
            )
        cfg = TrainConfig(
            max_epochs=int(max_epochs), lr=float(lr), lr_decoder=None if lr_decoder is None else float(lr_decoder),
            lambda_similarity=float(lambda_similarity), lambda_contrast=float(lambda_contrast),
            temperature=float(temperature), n_contrast=int(n_contrast), negatives=str(negatives),
            early_stopping=bool(early_stopping), early_stopping_patience=int(early_stopping_patience),
            early_stopping_min_delta=float(early_stopping_min_delta), max_pass_size=int(max_pass_size),
            max_edges=int(max_edges), checkpoint_every=int(checkpoint_every), precision=str(precision),
            random_state=int(self.init_params["random_state"]),
        )
        edge_only = [f"{k}={getattr(cfg, k)!r}" for k in ("negatives", "max_edges") if getattr(cfg, k) != getattr(_D, k)]
        if self.init_params["decoder"] == "mlp" and edge_only:
            raise ValueError(
                f"{', '.join(edge_only)}: decoder='edges' only; the MLP decoder scores every gene pair against the "
                "dense graph. Leave these options at their defaults, or build the model with decoder='edges'."
            )
        kind = launch_kind(strategy, devices)
        opts = {"accelerator": accelerator, "devices": devices, "checkpoint_dir": checkpoint_dir,
                "deterministic": bool(deterministic), "show_progress_bar": show_progress(show_progress_bar)}
        if kind == "spawn":
            train_spawned(self, cfg, n_processes(devices), **opts)
        else:
            self._train_here(cfg, in_job=kind == "rank", **opts)

    def _dataset_costs(self) -> list[int]:
        """Cost of each dataset in a pass (as the trainer counts it), for sharding across processes."""
        return [pass_cost(self.module, g) for g in self.graphs]

    def _train_here(self, cfg: TrainConfig, *, in_job: bool, accelerator: str, devices: Any,
                    checkpoint_dir: Any, deterministic: bool, show_progress_bar: bool) -> None:
        """Train in this process: alone, or as one rank of a distributed job (torchrun or spawned)."""
        ctx = None
        if in_job:
            device = local_device(accelerator)
            if device.type == "cuda":
                torch.cuda.set_device(device)
            rank, world, created = init_from_env(device)
            gloo = torch.distributed.get_backend() == "gloo"
            ctx = DistContext(rank=rank, world_size=world, owners=shard_datasets(self._dataset_costs(), world),
                              object_group=None if gloo else torch.distributed.new_group(backend="gloo"),
                              created=created)
            show_progress_bar = show_progress_bar and ctx.is_main
        else:
            device = resolve_device(accelerator, devices)
        trainer = None
        try:
            self.module.to(device)
            self.device = device
            trainer = Trainer(self.module, self.graphs, self.gene_index, cfg, device, dist_ctx=ctx)
            stopped = trainer.fit(checkpoint_dir=checkpoint_dir, fingerprint=self._fingerprint(cfg),
                                  deterministic=deterministic, show_progress_bar=show_progress_bar)
            trainer.sync_module()
            emb = trainer.embed_all()
            trainer.close()
        finally:
            if trainer is not None and trainer.ddp is not None:  # failed: no barrier, the others may be gone
                trainer.close(wait=False)
            if ctx is not None and ctx.created:
                torch.distributed.destroy_process_group()
        self.history = pd.DataFrame(trainer.history, columns=HISTORY_COLUMNS)
        self.history.index.name = "epoch"
        self.train_params = {**asdict(cfg), "accelerator": str(device), "early_stopped": stopped,
                             "epochs_trained": trainer.epoch, "deterministic": bool(deterministic),
                             "strategy": "single" if ctx is None else "ddp",
                             "world_size": 1 if ctx is None else ctx.world_size}
        self._embeddings = [emb[t] for t in range(len(self.graphs))]
        self.is_trained = True

    @doc_params(query_data=QUERY_DATA_DOCS, query_params=QUERY_PARAM_DOCS)
    def map_query(
        self,
        adata: AnnData,
        *,
        name: str | None = None,
        graph_key: str | None = None,
        max_epochs: int = QUERY_MAX_EPOCHS,
        lr: float = _D.lr,
        lr_decoder: float | None = None,
        accelerator: str = "auto",
        random_state: int = 0,
        show_progress_bar: bool | None = None,
        key_added: str = "X_muse",
        inplace: bool = True,
    ) -> np.ndarray:
        """Map a dataset the model never saw into it, keeping every trained dataset's embedding fixed.

        Like scvi-tools' ``load_query_data`` and scArches: a new input layer (and decoder) is trained for
        ``adata`` against the *frozen* shared layers, with its reconstruction loss and the Jaccard-weighted
        similarity of its common genes to every trained dataset (their stored embeddings are fixed targets, so
        all are used each epoch), by the same :class:`~muse_gnn.model._trainer.Trainer`, losses and negative
        sampler as training. The dataset is then part of the model (:meth:`get_joint_embedding` includes it,
        :meth:`save` stores it).

        The mapping is a transaction: if it fails or is interrupted (``KeyboardInterrupt`` included) the model
        is left exactly as it was, so it still saves, loads and embeds as before, and the call can be repeated.

        Parameters
        ----------
        {query_data}
        {query_params}

        Returns
        -------
        The new dataset's graph-gene embedding, ``(n_graph_genes, n_latent)``.

        Examples
        --------
        >>> import muse_gnn as mg
        >>> adatas = mg.datasets.simulate(n_datasets=3, n_genes=200, n_cells=(100, 150))
        >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson", show_progress_bar=False)
        >>> query = adatas.pop("scrna_lung_2")
        >>> model = mg.tl.fit(adatas, max_epochs=2, show_progress_bar=False)
        >>> model.map_query(query, max_epochs=2, show_progress_bar=False).shape
        (80, 32)
        >>> model.dataset_names[-1]
        'scrna_lung_2'
        """
        return map_query(self, adata, name=name, graph_key=graph_key, max_epochs=max_epochs, lr=lr,
                         lr_decoder=lr_decoder, accelerator=accelerator, random_state=random_state,
                         show_progress_bar=show_progress_bar, key_added=key_added, inplace=inplace)

    # ------------------------------------------------------------------ outputs
    def _require_trained(self) -> None:
        if not self.is_trained:
            raise RuntimeError("The model is not trained yet; call `model.train()` or `mg.tl.fit(...)` first.")

    def _dataset_position(self, dataset: str | int) -> int:
        if isinstance(dataset, int | np.integer) and not isinstance(dataset, bool):
            if not -len(self.graphs) <= int(dataset) < len(self.graphs):
                raise IndexError(f"dataset {dataset} out of range: the model has {len(self.graphs)} datasets.")
            return int(dataset) % len(self.graphs)
        if dataset not in self.dataset_names:
            raise KeyError(f"no dataset {dataset!r} in the model; datasets: {self.dataset_names}.")
        return self.dataset_names.index(dataset)

    def get_embedding(self, dataset: str | int) -> pd.DataFrame:
        """Embedding of one dataset's graph genes (genes × n_latent DataFrame).

        Parameters
        ----------
        dataset
            Dataset name or position.

        Examples
        --------
        >>> model.get_embedding("scrna_heart_0").shape  # doctest: +SKIP
        (80, 32)
        """
        self._require_trained()
        t = self._dataset_position(dataset)
        g = self.graphs[t]
        return pd.DataFrame(self._embeddings[t], index=g.genes.copy(),
                            columns=[f"muse_{i}" for i in range(self._embeddings[t].shape[1])])

    def write_embeddings(self, *, key_added: str = "X_muse") -> None:
        """Write ``adata.varm[key_added]`` (NaN rows outside the graph) and ``adata.uns[key_added]`` params.

        Parameters
        ----------
        key_added
            ``adata.varm`` and ``adata.uns`` key of every dataset's embedding.

        Examples
        --------
        >>> model.write_embeddings()  # doctest: +SKIP
        """
        self._require_trained()
        for t, g in enumerate(self.graphs):
            ad = self.adatas.get(g.name)
            if ad is None:
                continue
            ad.varm[key_added] = genes_to_var(ad, g.genes, self._embeddings[t], g.name)
            ad.uns[key_added] = {"params": _h5_safe({"dataset": g.name, **self.init_params, **self.train_params})}

    def joint_embedding(self, *, key_added: str = "X_muse") -> AnnData:
        """All (gene, dataset) rows in one AnnData, like cells: ready for ``sc.pp.neighbors(use_rep=...)``.

        Parameters
        ----------
        key_added
            ``obsm`` key of the embedding.

        Returns
        -------
        AnnData with ``obs`` columns ``gene``, ``dataset``, ``tissue``, ``technology``, ``species`` and the
        embedding in ``obsm[key_added]``; ``obs_names`` are ``"{gene}@{dataset}"``.

        Examples
        --------
        >>> import scanpy as sc
        >>> joint = model.joint_embedding()  # doctest: +SKIP
        >>> sc.pp.neighbors(joint, use_rep="X_muse"); sc.tl.leiden(joint)  # doctest: +SKIP
        """
        self._require_trained()
        return build_joint([g.name for g in self.graphs], [g.genes for g in self.graphs], self._embeddings,
                           [{"tissue": g.tissue, "technology": g.technology, "species": g.species} for g in self.graphs],
                           key_added=key_added, params=_h5_safe({**self.init_params, **self.train_params}))

    def get_joint_embedding(self, *, key_added: str = "X_muse") -> AnnData:
        """All (gene, dataset) rows in one AnnData (the scvi-tools-style name of :meth:`joint_embedding`).

        Parameters
        ----------
        key_added
            ``obsm`` key of the embedding.

        Returns
        -------
        See :meth:`joint_embedding`.

        Examples
        --------
        >>> joint = model.get_joint_embedding()  # doctest: +SKIP
        """
        return self.joint_embedding(key_added=key_added)

    def get_gene_embedding(
        self, *, weighting: Literal["agreement", "mean"] = "agreement", key_added: str = "X_muse"
    ) -> AnnData:
        """One vector per gene (gene2vec-style), from its rows in every dataset.

        ``obs`` reports ``n_datasets`` and ``agreement`` (mean pairwise cosine of the gene's L2-normalised rows,
        NaN for genes seen in one dataset).

        Parameters
        ----------
        weighting
            ``"agreement"``: each row is L2-normalised and the rows are averaged with weights equal to their
            agreement with the gene's other rows (mean cosine, floored at ``AGREEMENT_FLOOR`` = 0.05), so a
            dataset where the gene behaves differently counts less. ``"mean"``: the plain mean of the gene's rows,
            as :func:`muse_gnn.metrics.gene_embedding_table` computes it from the joint embedding.
        key_added
            ``obsm`` key of the embedding.

        Examples
        --------
        >>> genes = model.get_gene_embedding()  # doctest: +SKIP
        >>> genes.obs[["n_datasets", "agreement"]].head()  # doctest: +SKIP
        """
        self._require_trained()
        if weighting not in {"agreement", "mean"}:
            raise ValueError(f"weighting must be 'agreement' or 'mean', got {weighting!r}.")
        vocab = self.gene_index.vocab
        gid = np.concatenate(self.gene_index.gids)
        z = np.concatenate(self._embeddings).astype(np.float64)
        zn = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        G, d = len(vocab), z.shape[1]
        s = np.zeros((G, d))
        np.add.at(s, gid, zn)
        n = np.bincount(gid, minlength=G).astype(np.float64)
        if weighting == "agreement":
            # agreement of a row with the others of its gene: (s_g - z_r) . z_r / (n_g - 1)
            own = np.einsum("ij,ij->i", s[gid] - zn, zn) / np.maximum(n[gid] - 1, 1)
            w = np.where(n[gid] > 1, np.maximum(own, AGREEMENT_FLOOR), 1.0)
            rows = zn
        else:
            w, rows = np.ones(len(gid)), z
        ws = np.zeros((G, d))
        np.add.at(ws, gid, rows * w[:, None])
        wsum = np.bincount(gid, weights=w, minlength=G)
        vec = ws / np.maximum(wsum, 1e-12)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            agreement = np.where(n > 1, ((s * s).sum(1) - n) / (n * (n - 1)), np.nan)
        obs = pd.DataFrame({"n_datasets": n.astype(int), "agreement": agreement}, index=vocab.astype(str))
        out = AnnData(obs=obs)
        out.obsm[key_added] = vec.astype(np.float32)
        return out

    def gene_embedding(self, *, aggregate: Literal["mean"] = "mean", key_added: str = "X_muse") -> AnnData:
        """Deprecated spelling of :meth:`get_gene_embedding` (``weighting="agreement"``).

        .. deprecated:: 0.2
            ``gene_embedding(aggregate="mean")`` was the agreement-weighted mean; use
            ``get_gene_embedding(weighting="agreement")``.

        Parameters
        ----------
        aggregate
            Only ``"mean"`` (the agreement-weighted mean).
        key_added
            ``obsm`` key of the embedding.
        """
        warnings.warn(
            "MuseGNN.gene_embedding() is renamed get_gene_embedding(); its aggregate='mean' (the agreement-weighted "
            "mean) is weighting='agreement'. The old name goes in the next release.",
            FutureWarning, stacklevel=2,
        )
        if aggregate != "mean":
            raise ValueError(f"aggregate must be 'mean', got {aggregate!r}.")
        return self.get_gene_embedding(weighting="agreement", key_added=key_added)

    # ------------------------------------------------------------------ persistence
    def save(self, dir_path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Save weights, embeddings, graphs and metadata to a folder (no pickled Python objects).

        The folder is written next to ``dir_path`` first and moved into place once complete, so an error or an
        interrupted save leaves an existing model as it was. ``overwrite=True`` replaces a saved model (it refuses
        a folder holding other files). In a ``torchrun`` job every process holds the same trained model; only
        rank 0 writes.

        Parameters
        ----------
        dir_path
            Folder of the saved model (created; see ``overwrite``).
        overwrite
            Replace a model saved there before; otherwise a non-empty folder is an error.

        Examples
        --------
        >>> model.save("muse_model/", overwrite=True)  # doctest: +SKIP
        """
        save_model(self, dir_path, overwrite=overwrite)

    @classmethod
    def load(
        cls,
        dir_path: str | os.PathLike,
        adatas: Sequence[AnnData] | Mapping[str, AnnData] | Any | None = None,
        *,
        accelerator: str = "auto",
    ) -> MuseGNN:
        """Load a model written by :meth:`save`.

        Parameters
        ----------
        dir_path
            The folder.
        adatas
            Optionally the training datasets (to write embeddings into them or train further); their graph
            genes must match the saved ones.
        accelerator
            Where to put the weights, as in :meth:`train` (``"auto"``: a GPU when present).

        Examples
        --------
        >>> model = mg.MuseGNN.load("muse_model/", adatas)  # doctest: +SKIP
        """
        return load_model(cls, dir_path, adatas, accelerator=accelerator)
