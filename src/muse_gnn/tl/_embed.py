"""``mg.tl.embed``: map a new dataset into a trained model without retraining the others."""

from __future__ import annotations

import numpy as np
from anndata import AnnData

from ..model import MuseGNN
from .._docs import doc_params
from ..model._docs import QUERY_DATA_DOCS, QUERY_PARAM_DOCS
from ..model._query import map_query
from ..model._trainer import QUERY_MAX_EPOCHS, TRAIN_DEFAULTS

__all__ = ["embed"]


@doc_params(query_data=QUERY_DATA_DOCS, query_params=QUERY_PARAM_DOCS)
def embed(
    model: MuseGNN,
    adata: AnnData,
    *,
    name: str | None = None,
    graph_key: str | None = None,
    max_epochs: int = QUERY_MAX_EPOCHS,
    lr: float = TRAIN_DEFAULTS.lr,
    lr_decoder: float | None = None,
    accelerator: str = "auto",
    random_state: int = 0,
    show_progress_bar: bool | None = None,
    key_added: str = "X_muse",
    inplace: bool = True,
) -> np.ndarray:
    """Add a dataset the model never saw, keeping every trained dataset's embedding fixed.

    The function form of :meth:`muse_gnn.MuseGNN.map_query` (see there): a new input layer and decoder are
    trained for ``adata`` against the frozen shared layers and the trained datasets' embeddings; the dataset is
    then part of the model. On any error or interruption the model is left exactly as it was.

    Parameters
    ----------
    model
        A trained :class:`muse_gnn.MuseGNN`.
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
    >>> mg.tl.embed(model, query, max_epochs=2, show_progress_bar=False).shape
    (80, 32)
    """
    if not isinstance(model, MuseGNN):
        raise TypeError(f"embed: `model` must be a MuseGNN, got {type(model).__name__}.")
    return map_query(model, adata, name=name, graph_key=graph_key, max_epochs=max_epochs, lr=lr,
                     lr_decoder=lr_decoder, accelerator=accelerator, random_state=random_state,
                     show_progress_bar=show_progress_bar, key_added=key_added, inplace=inplace, func="embed")
