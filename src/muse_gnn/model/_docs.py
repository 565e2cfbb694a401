"""Descriptions of the training options, filled into docstrings by :func:`muse_gnn._docs.doc_params`.

Every training option is described once here; :meth:`muse_gnn.MuseGNN.train`, :meth:`muse_gnn.MuseGNN.map_query`,
:func:`muse_gnn.tl.fit` and :func:`muse_gnn.tl.embed` take the descriptions they need with
:func:`muse_gnn._docs.param_docs`, so their docs cannot drift apart (the defaults themselves live in
:class:`~muse_gnn.model._trainer.TrainConfig`). The substitution itself is the package's one helper,
:func:`muse_gnn._docs.doc_params`.
"""

from __future__ import annotations

from .._docs import param_docs
from ._trainer import QUERY_MAX_EPOCHS

__all__ = ["QUERY_DATA_DOCS", "QUERY_PARAM_DOCS", "TRAIN_OPTIONS", "TRAIN_PARAM_DOCS"]

TRAIN_PARAM_DOCS: dict[str, str] = {
    "max_epochs": """\
Epochs; one epoch visits every dataset once (the reference uses 2,000 epochs at ``lr=1e-4``; the batched
default, one optimiser step per epoch at ``lr=1e-3``, reaches the same quality in 300).""",
    "lr": "Learning rate of the encoder (reference 1e-4).",
    "lr_decoder": "Learning rate of the decoders; ``None``: ``10 * lr`` (the reference ratio).",
    "accelerator": "``\"auto\"`` (GPU when present), ``\"cpu\"``, ``\"cuda\"``/``\"gpu\"`` or ``\"cuda:i\"``.",
    "devices": """\
``"auto"`` (one device), a number of devices (processes, one GPU each on GPU), ``-1`` (every GPU), a list of
GPU indices, or a string of one (``"2"``, ``"0,1"``) as in Lightning. More than one trains with
``strategy="ddp"`` in as many processes started here; inside a ``torchrun`` job each process is one of them and
``devices`` is ignored (see :doc:`/distributed`). GPU indices and ``-1`` need a GPU.""",
    "lambda_similarity": """\
Weight of the cross-dataset similarity term (3, where the paper uses 1: chosen by the real-data function
benchmark, see the method page; 0 with ``lambda_contrast=0`` trains each dataset on its own reconstruction only,
the ablation of the paper).""",
    "lambda_contrast": "Weight λ of the contrastive term (0.01).",
    "temperature": "NT-Xent temperature τ (0.07).",
    "n_contrast": "Dataset-specific genes sampled per side for the contrastive term (100).",
    "negatives": """\
Negatives of the edge decoder (``decoder="edges"``; the MLP decoder scores every pair), one per scored edge:
``"uniform"``, a uniform gene of the same graph (the paper's rule; an edge with probability about the graph's
density); ``"non_edges"``, a uniform gene that is neither the edge's head nor one of its neighbours. ``"uniform"``
is the default because it scored higher on the real-data function benchmark and on the simulated one;
``"non_edges"`` keeps genes whose role differs between datasets further apart, which context analyses may need (see
the method page). Query mapping uses the rule the model was trained with.""",
    "early_stopping": """\
Stop when the training loss has not improved by ``early_stopping_min_delta`` for ``early_stopping_patience``
epochs.""",
    "early_stopping_patience": "Epochs without improvement before early stopping.",
    "early_stopping_min_delta": "Smallest decrease of the loss that counts as an improvement.",
    "max_pass_size": """\
Budget of one batched pass, in gene pairs: a graph of *n* genes with dense attention counts *n²*, an edge with
sparse attention 192 (its memory is that much larger); larger collections are split into several passes per
epoch, their gradients accumulated. The default, 50 million, keeps a pass near 2–3 GB on CPU.""",
    "max_edges": """\
With ``decoder="edges"``, a graph with more edges scores a random subset of about this many (and as many
negatives) each epoch, so memory stays bounded for large, dense graphs (a non-default value with
``decoder="mlp"`` raises).""",
    "checkpoint_dir": """\
Write a checkpoint there every ``checkpoint_every`` epochs and at the end; if the folder already holds one from
the same call, training resumes from it (same result as an uninterrupted run).""",
    "checkpoint_every": "Epochs between checkpoints.",
    "strategy": """\
``"auto"``: one process, or DDP when ``devices`` asks for several or when run by ``torchrun``; ``"single"``: one
process; ``"ddp"``: :class:`~torch.nn.parallel.DistributedDataParallel` over processes (gloo on CPU, NCCL on
GPU). Datasets are shared out among the processes; each holds its datasets' features, input layers and
decoders, the shared layers are synchronised by DDP, and the cross-dataset terms see partners on every process.
One process gives the same result as ``"single"``.""",
    "precision": "``\"32\"`` or ``\"bf16-mixed\"`` (autocast to bfloat16 for the forward pass; GPUs with bf16 support).",
    "deterministic": """\
Use PyTorch's deterministic algorithms while training (:func:`torch.use_deterministic_algorithms`, warn-only), so
that a fixed ``random_state`` gives bit-identical results on CPU even with several threads. Turn off for speed on
GPU.""",
    "show_progress_bar": "Show a progress bar; ``None``: :attr:`muse_gnn.settings.progress_bar`.",
}

#: The options of :meth:`muse_gnn.MuseGNN.train`, in the order of its signature.
TRAIN_OPTIONS = (
    "max_epochs", "lr", "lr_decoder", "accelerator", "devices", "lambda_similarity", "lambda_contrast",
    "temperature", "n_contrast", "negatives", "early_stopping", "early_stopping_patience", "early_stopping_min_delta",
    "max_pass_size", "max_edges", "checkpoint_dir", "checkpoint_every", "strategy", "precision", "deterministic",
    "show_progress_bar",
)

_QUERY_EPOCHS_DOC = (
    f"Epochs ({QUERY_MAX_EPOCHS}); one epoch is one step on the new dataset alone, so the default costs about as "
    "much as a few full-model epochs; on the simulator benchmark 800 epochs reached 88 % of the retraining score "
    "where 300 reached 78 % (a higher ``lr`` was worse)."
)

#: Parameters block of query mapping (:meth:`muse_gnn.MuseGNN.map_query`, :func:`muse_gnn.tl.embed`).
QUERY_PARAM_DOCS = param_docs(
    TRAIN_PARAM_DOCS, "max_epochs", "lr", "lr_decoder", "accelerator", max_epochs=_QUERY_EPOCHS_DOC,
    accelerator="``\"auto\"`` (GPU when present), ``\"cpu\"``, ``\"cuda\"``/``\"gpu\"`` or ``\"cuda:i\"`` "
                "(query mapping runs on one device).",
) + """
random_state
    Seed of the new layers and of the sampled decoder negatives and contrastive positives.
""" + param_docs(TRAIN_PARAM_DOCS, "show_progress_bar") + """
key_added
    ``adata.varm`` key of the embedding (when ``inplace``).
inplace
    Write ``adata.varm[key_added]`` and ``adata.uns[key_added]``; with ``False`` nothing is written to
    ``adata`` (the dataset still joins the model) and the same embedding is returned."""

#: The query dataset's parameters of query mapping, before :data:`QUERY_PARAM_DOCS`.
QUERY_DATA_DOCS = """\
adata
    The new dataset, with a graph from :func:`muse_gnn.pp.coexpression_graph`.
name
    Its name (default ``adata.uns["dataset"]`` or ``"query_{i}"``).
graph_key
    Its graph key (default: the model's)."""
