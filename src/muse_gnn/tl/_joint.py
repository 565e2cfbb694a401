"""``mg.tl.joint_embedding``: the joint (gene, dataset) embedding from datasets that hold their embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from anndata import AnnData

from .._joint import LABEL_KEYS, build_joint, dataset_label
from .._utils import as_dataset_dict

__all__ = ["joint_embedding"]


def _names(adatas: Any, use_rep: str) -> dict[str, AnnData]:
    """``{name: AnnData}``; list items are named by the dataset name :meth:`MuseGNN.write_embeddings` recorded."""
    named = as_dataset_dict(adatas, "joint_embedding")
    if isinstance(adatas, Mapping) or not isinstance(adatas, Sequence):
        return named
    recorded = [_recorded_name(a, use_rep) for a in named.values()]
    if all(r is not None for r in recorded) and len(set(recorded)) == len(recorded):
        return dict(zip(recorded, named.values(), strict=True))
    return named


def _recorded_name(adata: AnnData, use_rep: str) -> str | None:
    params = adata.uns.get(use_rep, {})
    params = params.get("params", {}) if isinstance(params, Mapping) else {}
    return str(params["dataset"]) if "dataset" in params else None


def joint_embedding(
    adatas: Sequence[AnnData] | Mapping[str, AnnData] | Any, *, use_rep: str = "X_muse"
) -> AnnData:
    """All (gene, dataset) rows of datasets that hold gene embeddings, in one AnnData, like cells.

    Stacks every dataset's ``varm[use_rep]`` (as written by :meth:`muse_gnn.MuseGNN.write_embeddings`,
    :func:`muse_gnn.tl.fit` and ``muse-gnn fit``): the genes with an embedding (rows not all NaN), in
    ``var`` order. No model is needed, so the datasets may come from disk. The result is the same as
    :meth:`muse_gnn.MuseGNN.joint_embedding` of the model that wrote the embeddings, and is what every
    function of :mod:`muse_gnn.tl`, :mod:`muse_gnn.pl` and :mod:`muse_gnn.metrics` takes.

    Parameters
    ----------
    adatas
        The datasets: a dict ``{name: AnnData}``, a MuData or a list (named by the dataset name recorded in
        ``uns[use_rep]["params"]["dataset"]``, else ``uns["dataset"]``, else ``dataset_{i}``).
    use_rep
        ``varm`` key of the embeddings; also the ``obsm`` key of the result.

    Returns
    -------
    AnnData with ``obs`` columns ``gene``, ``dataset``, ``tissue``, ``technology`` and ``species`` (from
    ``uns`` or a constant ``obs`` column of each dataset, else ``"unknown"``; categoricals in order of first
    appearance), ``obs_names`` ``"{gene}@{dataset}"`` and the embedding in ``obsm[use_rep]``. When the
    datasets record the model's options in ``uns[use_rep]["params"]``, they go to ``uns["muse_model"]``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=(100, 150))
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson", show_progress_bar=False)
    >>> model = mg.tl.fit(adatas, max_epochs=2, show_progress_bar=False)
    >>> joint = mg.tl.joint_embedding(adatas)
    >>> joint.obsm["X_muse"].shape
    (160, 32)
    >>> joint.obs.columns.tolist()
    ['gene', 'dataset', 'tissue', 'technology', 'species']
    >>> joint.obs["tissue"].iloc[0]
    'heart'
    """
    func = "joint_embedding"
    named = _names(adatas, use_rep)
    genes, embeddings, labels, params = [], [], [], None
    for name, adata in named.items():
        if use_rep not in adata.varm:
            raise KeyError(
                f"{func}: dataset {name!r} has no `varm[{use_rep!r}]`; train a model on it (`mg.tl.fit`) or pass "
                f"`use_rep=` naming the embedding (available: {list(adata.varm.keys())})."
            )
        Z = np.asarray(adata.varm[use_rep], dtype=np.float32)
        rows = ~np.isnan(Z).all(axis=1)
        if not rows.any():
            raise ValueError(f"{func}: dataset {name!r}: every row of `varm[{use_rep!r}]` is NaN.")
        genes.append(adata.var_names[rows].astype(str))
        embeddings.append(Z[rows])
        labels.append({k: dataset_label(adata, k) for k in LABEL_KEYS})
        rec = adata.uns.get(use_rep, {})
        if params is None and isinstance(rec, Mapping) and "params" in rec:
            params = {k: v for k, v in dict(rec["params"]).items() if k != "dataset"}
    return build_joint(list(named), genes, embeddings, labels, key_added=use_rep, params=params)
