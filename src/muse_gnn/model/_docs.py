"""Shared parameter documentation of the training options, filled into docstrings by :func:`doc_params`.

Every training option is described once here; :meth:`muse_gnn.MuseGNN.train`, :meth:`muse_gnn.MuseGNN.map_query`,
:func:`muse_gnn.tl.fit` and :func:`muse_gnn.tl.embed` pull the descriptions they need with
:func:`train_param_docs`, so their docs cannot drift apart (the defaults themselves live in
:class:`~muse_gnn.model._trainer.TrainConfig`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["TRAIN_PARAM_DOCS", "doc_params", "train_param_docs"]

F = TypeVar("F", bound=Callable)

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
Weight of the cross-dataset similarity term (1; 0 with ``lambda_contrast=0`` trains each dataset on its own
reconstruction only, the ablation of the paper).""",
    "lambda_contrast": "Weight λ of the contrastive term (0.01).",
    "temperature": "NT-Xent temperature τ (0.07).",
    "n_contrast": "Dataset-specific genes sampled per side for the contrastive term (100).",
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
non-edges) each epoch, so memory stays bounded for large, dense graphs.""",
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


def train_param_docs(*names: str, **overrides: str) -> str:
    """A numpydoc ``Parameters`` block (no indentation) for the training options ``names``, in that order.

    ``overrides`` replaces the text of an option (e.g. another default of ``max_epochs``).

    Examples
    --------
    >>> print(train_param_docs("lr"))
    lr
        Learning rate of the encoder (reference 1e-4).
    """
    unknown = [n for n in (*names, *overrides) if n not in TRAIN_PARAM_DOCS]
    if unknown:
        raise KeyError(f"no documentation for training options {unknown}.")
    lines = []
    for n in names:
        lines.append(n)
        lines += ["    " + ln for ln in overrides.get(n, TRAIN_PARAM_DOCS[n]).splitlines()]
    return "\n".join(lines)


def doc_params(**blocks: str) -> Callable[[F], F]:
    """Fill ``{name}`` placeholder lines of a docstring with ``blocks[name]``, indented as the placeholder.

    Only whole-line placeholders are replaced; other braces of the docstring are left alone.

    Examples
    --------
    >>> @doc_params(train_params=train_param_docs("lr"))
    ... def f(lr=1e-3):
    ...     '''Parameters
    ...     ----------
    ...     {train_params}
    ...     '''
    >>> "Learning rate of the encoder" in f.__doc__
    True
    """

    def decorate(obj: F) -> F:
        doc = obj.__doc__
        if doc is None:
            return obj
        out = []
        for line in doc.splitlines():
            key = line.strip()
            if key.startswith("{") and key.endswith("}") and key[1:-1] in blocks:
                indent = line[: len(line) - len(line.lstrip())]
                out += [indent + ln if ln else ln for ln in blocks[key[1:-1]].splitlines()]
            else:
                out.append(line)
        missing = [k for k in blocks if all(ln.strip() != "{" + k + "}" for ln in doc.splitlines())]
        if missing:
            raise ValueError(f"{obj.__qualname__}: docstring has no placeholder line for {missing}.")
        obj.__doc__ = "\n".join(out)
        return obj

    return decorate
