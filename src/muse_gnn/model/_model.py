"""``MuseGNN``: the user-facing model (train, embeddings, save/load)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from anndata import AnnData

from .._joint import build_joint
from .._utils import as_dataset_dict, logger, resolve_device
from ._data import GraphData, genes_to_var, prepare_graph
from ._distributed import DistContext, free_port, init_from_env, launch_kind, n_processes, shard_datasets
from ._module import MuseModule
from ._pairs import GeneIndex
from ._trainer import CHECKPOINT_NAME, TrainConfig, Trainer, pass_cost

__all__ = ["FORMAT_VERSION", "MuseGNN"]

FORMAT_VERSION = 1
_MODEL_FILE, _ATTR_FILE, _ARRAY_FILE = "model.pt", "attrs.json", "arrays.npz"
_SAVED_FILES = (_MODEL_FILE, _ARRAY_FILE, _ATTR_FILE)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("muse-gnn")
    except PackageNotFoundError:  # pragma: no cover
        return "0.0.0"


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
    graph_key
        ``key_added`` of the graph construction.
    n_latent
        Embedding size (32 in the reference).
    share
        ``"all"`` or ``"group"`` (see above).
    decoder
        ``"edges"``: scores the graph's edges and as many sampled non-edges with a scaled inner product,
        memory linear in edges (default: as good as the dense decoder on the simulator benchmark and scales to
        5,000+ genes). ``"mlp"``: the reference, a dataset-specific MLP on ``Z Zᵀ`` against the dense
        adjacency (quadratic memory).
    heads
        Attention heads of the input layer (4 in the reference).
    attention
        How the graph-transformer layers are evaluated: ``"dense"`` (masked attention over all gene pairs of a
        graph, fast for co-expression graphs), ``"sparse"`` (PyG message passing over edges, memory linear in
        edges), or ``"auto"`` (dense up to 4,096 genes per graph). Same results either way.
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
    >>> model.joint_embedding().obsm["X_muse"].shape
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
        self.history: pd.DataFrame = pd.DataFrame(columns=["loss", "reconstruction", "similarity", "contrastive"])
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
            warnings.warn(msg + "; their similarity terms are off (allow_disjoint=True).", UserWarning, stacklevel=3)

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
    def train(
        self,
        *,
        max_epochs: int = 300,
        lr: float = 1e-3,
        lr_decoder: float | None = None,
        accelerator: str = "auto",
        devices: int | str | Sequence[int] = "auto",
        lambda_similarity: float = 1.0,
        lambda_contrast: float = 0.01,
        temperature: float = 0.07,
        n_contrast: int = 100,
        early_stopping: bool = False,
        early_stopping_patience: int = 45,
        early_stopping_min_delta: float = 0.0,
        max_pass_size: int = 50_000_000,
        max_edges: int = 50_000,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = 50,
        strategy: Literal["auto", "single", "ddp"] = "auto",
        precision: Literal["32", "bf16-mixed"] = "32",
        deterministic: bool = True,
        show_progress_bar: bool = True,
    ) -> None:
        """Train the model.

        Parameters
        ----------
        max_epochs
            Epochs; one epoch visits every dataset once (the reference uses 2,000 epochs at ``lr=1e-4``; the
            batched default, one optimiser step per epoch at ``lr=1e-3``, reaches the same quality in 300).
        lr
            Learning rate of the encoder (reference 1e-4).
        lr_decoder
            Learning rate of the decoders; default ``10 * lr`` (the reference ratio).
        accelerator
            ``"auto"`` (GPU when present), ``"cpu"``, ``"cuda"``/``"gpu"``.
        devices
            ``"auto"`` (one device), a number of devices (processes, one GPU each on GPU) or a list of GPU
            indices. More than one trains with ``strategy="ddp"`` in as many processes started here; inside a
            ``torchrun`` job each process is one of them and ``devices`` is ignored (see :doc:`/distributed`).
        lambda_similarity
            Weight of the cross-dataset similarity term (1; 0 with ``lambda_contrast=0`` trains each dataset on
            its own reconstruction only, the ablation of the paper).
        lambda_contrast
            Weight λ of the contrastive term (0.01).
        temperature
            NT-Xent temperature τ (0.07).
        n_contrast
            Dataset-specific genes sampled per side for the contrastive term (100).
        early_stopping
            Stop when the training loss has not improved by ``early_stopping_min_delta`` for
            ``early_stopping_patience`` epochs.
        early_stopping_patience, early_stopping_min_delta
            See above.
        max_pass_size
            Budget of one batched pass, in gene pairs: a graph of *n* genes with dense attention counts *n²*, an
            edge with sparse attention 192 (its memory is that much larger); larger collections are split into
            several passes per epoch, their gradients accumulated. The default, 50 million, keeps a pass near
            2–3 GB on CPU.
        max_edges
            With ``decoder="edges"``, a graph with more edges scores a random subset of about this many (and
            as many non-edges) each epoch, so memory stays bounded for large, dense graphs.
        checkpoint_dir
            Write a checkpoint there every ``checkpoint_every`` epochs and at the end; if the folder already
            holds one from the same call, training resumes from it (same result as an uninterrupted run).
        checkpoint_every
            Epochs between checkpoints.
        strategy
            ``"auto"``: one process, or DDP when ``devices`` asks for several or when run by ``torchrun``;
            ``"single"``: one process; ``"ddp"``: :class:`~torch.nn.parallel.DistributedDataParallel` over
            processes (gloo on CPU, NCCL on GPU). Datasets are shared out among the processes; each holds its
            datasets' features, input layers and decoders, the shared layers are synchronised by DDP, and the
            cross-dataset terms see partners on every process. One process gives the same result as
            ``"single"``.
        precision
            ``"32"`` or ``"bf16-mixed"`` (autocast to bfloat16 for the forward pass; for GPUs with bf16 support).
        deterministic
            Use PyTorch's deterministic algorithms while training (:func:`torch.use_deterministic_algorithms`,
            warn-only), so that a fixed ``random_state`` gives bit-identical results on CPU even with several
            threads. Turn off for speed on GPU.
        show_progress_bar
            Show a tqdm progress bar.

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
        if int(max_epochs) < 0:
            raise ValueError(f"max_epochs must be >= 0, got {max_epochs}.")
        if lr <= 0 or (lr_decoder is not None and lr_decoder <= 0):
            raise ValueError("learning rates must be positive.")
        cfg = TrainConfig(
            max_epochs=int(max_epochs), lr=float(lr), lr_decoder=float(lr_decoder if lr_decoder else 10 * lr),
            lambda_similarity=float(lambda_similarity), lambda_contrast=float(lambda_contrast),
            temperature=float(temperature), n_contrast=int(n_contrast),
            early_stopping=bool(early_stopping), early_stopping_patience=int(early_stopping_patience),
            early_stopping_min_delta=float(early_stopping_min_delta), max_pass_size=int(max_pass_size),
            max_edges=int(max_edges), checkpoint_every=int(checkpoint_every), precision=str(precision),
            random_state=int(self.init_params["random_state"]),
        )
        kind = launch_kind(strategy, devices)
        opts = {"accelerator": accelerator, "devices": devices, "checkpoint_dir": checkpoint_dir,
                "deterministic": bool(deterministic), "show_progress_bar": show_progress_bar}
        if kind == "spawn":
            self._train_spawn(cfg, n_processes(devices), **opts)
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
            device = resolve_device(accelerator, [int(os.environ.get("LOCAL_RANK", "0"))])
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
            fingerprint = self._fingerprint(cfg)
            if checkpoint_dir is not None:
                ckpt = Path(checkpoint_dir) / CHECKPOINT_NAME
                if ckpt.exists():
                    try:
                        state = torch.load(ckpt, map_location=device, weights_only=True)
                    except Exception as err:  # any unreadable file gets the same advice
                        raise ValueError(
                            f"{ckpt} cannot be read as a MuSe-GNN checkpoint ({type(err).__name__}: {err}); delete "
                            "it or use another `checkpoint_dir`."
                        ) from err
                    trainer.load_state(state, fingerprint)
                    logger.info("resuming from %s at epoch %d", ckpt, trainer.epoch)
            start = trainer.epoch
            was_det = torch.are_deterministic_algorithms_enabled()
            was_warn = torch.is_deterministic_algorithms_warn_only_enabled()
            torch.use_deterministic_algorithms(bool(deterministic), warn_only=True)
            try:
                stopped = self._loop(trainer, cfg, fingerprint, checkpoint_dir, start, show_progress_bar)
            finally:
                torch.use_deterministic_algorithms(was_det, warn_only=was_warn)
            trainer.sync_module()
            emb = trainer.embed_all()
            trainer.close()
        finally:
            if trainer is not None and trainer.ddp is not None:  # failed: no barrier, the others may be gone
                trainer.close(wait=False)
            if ctx is not None and ctx.created:
                torch.distributed.destroy_process_group()
        self.history = pd.DataFrame(trainer.history)
        self.history.index.name = "epoch"
        self.train_params = {**asdict(cfg), "accelerator": str(device), "early_stopped": stopped,
                             "epochs_trained": trainer.epoch, "deterministic": bool(deterministic),
                             "strategy": "single" if ctx is None else "ddp",
                             "world_size": 1 if ctx is None else ctx.world_size}
        self._embeddings = [emb[t] for t in range(len(self.graphs))]
        self.is_trained = True

    def _train_spawn(self, cfg: TrainConfig, n: int, *, accelerator: str, devices: Any, checkpoint_dir: Any,
                     deterministic: bool, show_progress_bar: bool) -> None:
        """Start ``n`` processes that train together under DDP; load rank 0's result into this model."""
        import tempfile

        import torch.multiprocessing as mp

        shard_datasets(self._dataset_costs(), n)  # a clear error before any process starts
        gpu_ids = None
        if resolve_device(accelerator).type == "cuda":
            gpu_ids = list(devices) if isinstance(devices, Sequence) and not isinstance(devices, str) else list(range(n))
            if len(gpu_ids) > torch.cuda.device_count():
                raise ValueError(f"devices={devices!r} asks for {len(gpu_ids)} GPUs, {torch.cuda.device_count()} "
                                 "are visible.")
        threads = max(1, torch.get_num_threads() // n) if gpu_ids is None else torch.get_num_threads()
        opts = {"accelerator": accelerator, "checkpoint_dir": checkpoint_dir, "deterministic": deterministic,
                "show_progress_bar": show_progress_bar, "threads": threads, "gpu_ids": gpu_ids}
        with tempfile.TemporaryDirectory(prefix="muse_ddp_") as tmp:
            result = Path(tmp) / "result.pt"
            mp.start_processes(_spawn_worker, args=(n, free_port(), self.graphs, self.init_params, asdict(cfg),
                                                    opts, str(result)), nprocs=n, start_method="spawn")
            out = torch.load(result, map_location="cpu", weights_only=True)
        self.module.load_state_dict(out["module"])
        self.device = torch.device("cpu")
        self.history = pd.DataFrame({k: [float(v) for v in out["history"][k]] for k in out["history"]})
        self.history.index.name = "epoch"
        self.train_params = json.loads(out["train_params"])
        self._embeddings = [out["embeddings"][t].numpy() for t in range(len(self.graphs))]
        self.is_trained = True

    def _loop(self, trainer: Trainer, cfg: TrainConfig, fingerprint: str, checkpoint_dir: Any, start: int,
              show_progress_bar: bool) -> bool:
        from .._progress import progress_bar as tqdm

        bar = tqdm(total=cfg.max_epochs, initial=min(start, cfg.max_epochs), desc="MuSe-GNN epochs",
                   disable=not show_progress_bar)
        stopped = False
        while trainer.epoch < cfg.max_epochs:
            out = trainer.train_epoch()
            bar.update(1)
            if show_progress_bar:
                bar.set_postfix(loss=f"{out['loss']:.4f}", refresh=False)
            if checkpoint_dir is not None and trainer.epoch % cfg.checkpoint_every == 0:
                trainer.save_checkpoint(checkpoint_dir, fingerprint)
            if trainer.should_stop(out["loss"]):
                logger.info("early stopping at epoch %d", trainer.epoch)
                stopped = True
                break
        bar.close()
        if checkpoint_dir is not None and trainer.epoch > start:
            trainer.save_checkpoint(checkpoint_dir, fingerprint)
        return stopped

    # ------------------------------------------------------------------ outputs
    def _require_trained(self) -> None:
        if not self.is_trained:
            raise RuntimeError("The model is not trained yet; call `model.train()` or `mg.tl.fit(...)` first.")

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
        t = dataset if isinstance(dataset, int) else self.dataset_names.index(dataset)
        g = self.graphs[t]
        return pd.DataFrame(self._embeddings[t], index=g.genes.copy(),
                            columns=[f"muse_{i}" for i in range(self._embeddings[t].shape[1])])

    def write_embeddings(self, *, key_added: str = "X_muse") -> None:
        """Write ``adata.varm[key_added]`` (NaN rows outside the graph) and ``adata.uns[key_added]`` params.

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

    def gene_embedding(self, *, aggregate: Literal["mean"] = "mean", key_added: str = "X_muse") -> AnnData:
        """One vector per gene (gene2vec-style), from its rows in every dataset.

        Each row is L2-normalised; rows are averaged with weights equal to their agreement with the gene's
        other rows (mean cosine, floored at 0.05), so a dataset where the gene behaves differently counts
        less. ``obs`` reports ``n_datasets`` and ``agreement`` (mean pairwise cosine of the gene's rows, NaN
        for genes seen in one dataset).

        Parameters
        ----------
        aggregate
            Only ``"mean"`` (agreement-weighted mean of normalised rows).
        key_added
            ``obsm`` key of the vectors.

        Examples
        --------
        >>> genes = model.gene_embedding()  # doctest: +SKIP
        >>> genes.obs[["n_datasets", "agreement"]].head()  # doctest: +SKIP
        """
        self._require_trained()
        if aggregate != "mean":
            raise ValueError(f"aggregate must be 'mean', got {aggregate!r}.")
        vocab = self.gene_index.vocab
        gid = np.concatenate(self.gene_index.gids)
        z = np.concatenate(self._embeddings).astype(np.float64)
        zn = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        G, d = len(vocab), z.shape[1]
        s = np.zeros((G, d))
        np.add.at(s, gid, zn)
        n = np.bincount(gid, minlength=G).astype(np.float64)
        # agreement of a row with the others of its gene: (s_g - z_r) . z_r / (n_g - 1)
        own = np.einsum("ij,ij->i", s[gid] - zn, zn) / np.maximum(n[gid] - 1, 1)
        w = np.where(n[gid] > 1, np.maximum(own, 0.05), 1.0)
        ws = np.zeros((G, d))
        np.add.at(ws, gid, zn * w[:, None])
        wsum = np.bincount(gid, weights=w, minlength=G)
        vec = ws / np.maximum(wsum, 1e-12)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            agreement = np.where(n > 1, ((s * s).sum(1) - n) / (n * (n - 1)), np.nan)
        obs = pd.DataFrame({"n_datasets": n.astype(int), "agreement": agreement}, index=vocab.astype(str))
        out = AnnData(obs=obs)
        out.obsm[key_added] = vec.astype(np.float32)
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, dir_path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Save weights, embeddings, graphs and metadata to a folder (no pickled Python objects).

        The folder is written next to ``dir_path`` first and moved into place once complete, so an error or an
        interrupted save leaves an existing model as it was. ``overwrite=True`` replaces a saved model (it refuses
        a folder holding other files). In a ``torchrun`` job every process holds the same trained model; only
        rank 0 writes.

        Examples
        --------
        >>> model.save("muse_model/", overwrite=True)  # doctest: +SKIP
        """
        if int(os.environ.get("WORLD_SIZE", "1")) > 1 and int(os.environ.get("RANK", "0")) != 0:
            logger.debug("save: rank %s of a torchrun job, rank 0 writes the model", os.environ.get("RANK"))
            return
        path = Path(dir_path)
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"{path} is a file; `save` writes a folder. Choose another path.")
        existing = sorted(p.name for p in path.iterdir()) if path.exists() else []
        if existing and not overwrite:
            raise FileExistsError(f"{path} exists and is not empty; pass overwrite=True to replace it.")
        foreign = sorted(set(existing) - set(_SAVED_FILES))
        if foreign:  # overwrite replaces the folder as a whole: never delete the user's other files
            raise FileExistsError(
                f"{path} holds files that are not part of a saved MuseGNN model ({foreign[:3]}); overwrite=True "
                "only replaces a saved model. Save to another folder."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        for pattern in (f".{path.name}.tmp-*", f".{path.name}.old-*"):  # left by a process killed while saving
            for stale in path.parent.glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)
        # everything goes to a sibling folder first and replaces `path` only once complete, so an error or a
        # kill while saving leaves the previous model (if any) as it was; mkdir (not tempfile.mkdtemp, which
        # makes it private) gives the folder the permissions the user's umask asks for
        tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            self._write_files(tmp)
            if existing:
                old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                if path.exists():
                    path.rmdir()  # empty
                os.replace(tmp, path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _write_files(self, path: Path) -> None:
        """Write the three files of a saved model into the existing folder ``path`` and fsync them."""
        state = {k: v.detach().cpu() for k, v in self.module.state_dict().items()}
        torch.save(state, path / _MODEL_FILE)
        arrays: dict[str, np.ndarray] = {}
        for t, g in enumerate(self.graphs):
            arrays[f"edges_{t}"] = g.edge_index.cpu().numpy()
            if self._embeddings[t] is not None:
                arrays[f"embedding_{t}"] = self._embeddings[t]
        np.savez_compressed(path / _ARRAY_FILE, **arrays)
        attrs = {
            "format_version": FORMAT_VERSION,
            "muse_gnn_version": _version(),
            "init_params": self.init_params,
            "train_params": _h5_safe(self.train_params),
            "is_trained": self.is_trained,
            "shared_keys": self.module.shared_keys,
            "datasets": [
                {"name": g.name, "genes": list(map(str, g.genes)), "n_features": g.n_features,
                 "tissue": g.tissue, "technology": g.technology, "species": g.species}
                for g in self.graphs
            ],
            "history": {k: [float(x) for x in self.history[k]] for k in self.history.columns},
        }
        (path / _ATTR_FILE).write_text(json.dumps(attrs, indent=1))
        for name in _SAVED_FILES:  # on disk before the folder is swapped in
            with open(path / name, "rb") as fh:
                os.fsync(fh.fileno())

    @classmethod
    def load(
        cls,
        dir_path: str | os.PathLike,
        adatas: Sequence[AnnData] | Mapping[str, AnnData] | Any | None = None,
        *,
        accelerator: str = "cpu",
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
            Where to put the weights.

        Examples
        --------
        >>> model = mg.MuseGNN.load("muse_model/", adatas)  # doctest: +SKIP
        """
        path = Path(dir_path)
        if not (path / _ATTR_FILE).exists():
            raise FileNotFoundError(f"{path} holds no saved MuseGNN model ({_ATTR_FILE} missing).")
        attrs = json.loads((path / _ATTR_FILE).read_text())
        fmt = int(attrs.get("format_version", -1))
        if fmt > FORMAT_VERSION:
            raise ValueError(
                f"{path} was saved in model format {fmt} by muse_gnn {attrs.get('muse_gnn_version')}; this "
                f"muse_gnn ({_version()}) reads format <= {FORMAT_VERSION}. Upgrade muse_gnn to load it."
            )
        if fmt < 1:
            raise ValueError(f"{path}: unknown model format {fmt}.")
        arrays = np.load(path / _ARRAY_FILE, allow_pickle=False)
        graphs = []
        for t, d in enumerate(attrs["datasets"]):
            g = GraphData(name=d["name"], genes=pd.Index(d["genes"]), x=None,
                          edge_index=torch.as_tensor(arrays[f"edges_{t}"], dtype=torch.long),
                          tissue=d["tissue"], technology=d["technology"], species=d["species"],
                          meta={"n_features": int(d["n_features"])})
            graphs.append(g)
        model = cls.__new__(cls)
        model._setup(graphs, attrs["init_params"])
        state = torch.load(path / _MODEL_FILE, map_location="cpu", weights_only=True)
        model.module.load_state_dict(state)
        model.device = resolve_device(accelerator)
        model.module.to(model.device)
        model.train_params = attrs["train_params"]
        model.history = pd.DataFrame(attrs["history"], columns=["loss", "reconstruction", "similarity", "contrastive"])
        model.history.index.name = "epoch"
        model.is_trained = bool(attrs["is_trained"])
        model._embeddings = [arrays[f"embedding_{t}"] if f"embedding_{t}" in arrays else None
                             for t in range(len(graphs))]
        model.adatas = {g.name: None for g in graphs}
        if adatas is not None:
            model._attach(adatas)
        return model

    def _attach(self, adatas: Any) -> None:
        """Attach the training AnnData objects to a loaded model, checking that their graphs match."""
        named = as_dataset_dict(adatas, "MuseGNN.load")
        if list(named) != self.dataset_names:
            if len(named) == len(self.graphs) and all(k.startswith("dataset_") for k in named):
                named = dict(zip(self.dataset_names, named.values(), strict=True))
            else:
                raise ValueError(f"dataset names {list(named)} differ from the saved ones {self.dataset_names}.")
        for t, (name, ad) in enumerate(named.items()):
            g = prepare_graph(ad, name, graph_key=self.init_params["graph_key"])
            saved = self.graphs[t]
            if not g.genes.equals(saved.genes):
                diff = [(i, a, b) for i, (a, b) in enumerate(zip(saved.genes, g.genes)) if a != b][:5]
                raise ValueError(
                    f"dataset {name!r}: its graph genes differ from the saved model's ({len(g.genes)} vs "
                    f"{len(saved.genes)} genes; first differences (position, saved, given): {diff}). Pass the "
                    "same AnnData, with the same graph, as in training."
                )
            if g.n_features != saved.n_features:
                raise ValueError(f"dataset {name!r}: {g.n_features} cells, but the model was trained on "
                                 f"{saved.n_features}.")
            saved.x = g.x
        self.adatas = dict(named)


def _h5_safe(d: dict[str, Any]) -> dict[str, Any]:
    """Parameters as h5ad-writable scalars (None -> "None")."""
    out = {}
    for k, v in d.items():
        if v is None:
            out[k] = "None"
        elif isinstance(v, bool | int | float | str | np.integer | np.floating):
            out[k] = v
        else:
            out[k] = str(v)
    return out


def _spawn_worker(rank: int, world: int, port: int, graphs: list[GraphData], init: dict[str, Any],
                  cfg: dict[str, Any], opts: dict[str, Any], result: str) -> None:
    """One process of :meth:`MuseGNN.train` with several ``devices`` (started by ``torch.multiprocessing``)."""
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
            "train_params": json.dumps(_h5_safe(model.train_params)),
        }, result)
