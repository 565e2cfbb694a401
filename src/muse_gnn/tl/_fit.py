"""``mg.tl.fit``: train MuSe-GNN on several datasets and write their gene embeddings."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from anndata import AnnData

from .._utils import Devices
from ..model import MuseGNN
from .._docs import doc_common, doc_params, param_docs
from ..model._docs import TRAIN_PARAM_DOCS
from ..model._trainer import TRAIN_DEFAULTS

__all__ = ["fit"]


@doc_params(doc_common, train_params=param_docs(
    TRAIN_PARAM_DOCS, "max_epochs", "lr", "lr_decoder", "accelerator", "devices", "strategy", "precision",
    "early_stopping", "checkpoint_dir", "show_progress_bar",
))
def fit(
    adatas: Sequence[AnnData] | Mapping[str, AnnData] | Any,
    *,
    graph_key: str = "muse",
    n_latent: int = 32,
    share: Literal["all", "group"] = "all",
    decoder: Literal["edges", "mlp"] = "edges",
    max_epochs: int = TRAIN_DEFAULTS.max_epochs,
    lr: float = TRAIN_DEFAULTS.lr,
    lr_decoder: float | None = None,
    accelerator: str = "auto",
    devices: Devices = "auto",
    strategy: Literal["auto", "single", "ddp"] = "auto",
    precision: Literal["32", "bf16-mixed"] = TRAIN_DEFAULTS.precision,  # type: ignore[assignment]
    early_stopping: bool = TRAIN_DEFAULTS.early_stopping,
    checkpoint_dir: str | os.PathLike | None = None,
    allow_disjoint: bool = False,
    random_state: int = 0,
    show_progress_bar: bool | None = None,
    key_added: str = "X_muse",
    inplace: bool = True,
    **train_kwargs: Any,
) -> MuseGNN:
    """Train one MuSe-GNN model across datasets and write each dataset's gene embedding.

    Parameters
    ----------
    adatas
        Datasets with graphs from :func:`muse_gnn.pp.coexpression_graph`: a list, a dict ``{name: AnnData}``
        or a MuData.
    {graph_key}
    n_latent, share, decoder, allow_disjoint, random_state
        Model options, see :class:`muse_gnn.MuseGNN`.
    {train_params}
    key_added
        Where to write the embeddings: ``adata.varm[key_added]`` (genes × n_latent, NaN rows for genes
        outside the dataset's graph) and the parameters in ``adata.uns[key_added]``.
    inplace
        Write ``adata.varm[key_added]`` and ``adata.uns[key_added]`` of every dataset; with ``False`` nothing is
        written to the AnnData objects and the same trained model is returned (write later with
        :meth:`muse_gnn.MuseGNN.write_embeddings`).
    **train_kwargs
        Further options of :meth:`muse_gnn.MuseGNN.train` (``lambda_contrast``, ``temperature``, ...); the
        defaults of all training options are those of :class:`~muse_gnn.model._trainer.TrainConfig`.

    Returns
    -------
    The trained :class:`muse_gnn.MuseGNN`.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=(100, 150))
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson", show_progress_bar=False)
    >>> model = mg.tl.fit(adatas, max_epochs=2, show_progress_bar=False)
    >>> adatas["scrna_heart_0"].varm["X_muse"].shape
    (200, 32)
    """
    model = MuseGNN(
        adatas, graph_key=graph_key, n_latent=n_latent, share=share, decoder=decoder,
        allow_disjoint=allow_disjoint, random_state=random_state,
    )
    model.train(
        max_epochs=max_epochs, lr=lr, lr_decoder=lr_decoder, accelerator=accelerator, devices=devices,
        strategy=strategy, precision=precision,
        early_stopping=early_stopping, checkpoint_dir=checkpoint_dir, show_progress_bar=show_progress_bar,
        **train_kwargs,
    )
    if inplace:
        model.write_embeddings(key_added=key_added)
    return model
