"""Planted truth of simulated datasets, copied onto the rows of a joint embedding."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from anndata import AnnData

from .._joint import check_joint

__all__ = ["planted_modules"]


def planted_modules(
    joint: AnnData,
    adatas: Mapping[str, AnnData],
    *,
    key_added: str = "module",
    copy: bool = False,
) -> AnnData | None:
    """Copy each row's planted module (and context-gene flag) from its simulated dataset into ``joint.obs``.

    :func:`simulate` stores the planted module of every gene in ``adata.var["module"]`` (``-1``: none) and
    whether its module changes between tissues in ``adata.var["context_gene"]``. For the row of gene *g* of
    dataset *d* of a joint embedding, this writes ``adatas[d].var.loc[g, "module"]`` (as a string category) to
    ``joint.obs[key_added]`` and the flag to ``joint.obs["context_gene"]``: the truth that
    :func:`muse_gnn.metrics.planted_ari` and :func:`muse_gnn.metrics.context_separation` compare with.

    Parameters
    ----------
    joint
        Joint embedding (:func:`muse_gnn.tl.joint_embedding`) of simulated datasets.
    adatas
        The simulated datasets, ``{dataset name: AnnData}``, covering every dataset of ``joint``.
    key_added
        ``obs`` column of the planted modules (the default is the one the planted metrics read).
    copy
        Return an annotated copy of ``joint`` instead of writing into it.

    Returns
    -------
    ``None``, or the annotated copy when ``copy=True``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=(100, 150))
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson", show_progress_bar=False)
    >>> joint = mg.tl.fit(adatas, max_epochs=2, show_progress_bar=False).joint_embedding()
    >>> mg.datasets.planted_modules(joint, adatas)
    >>> joint.obs[["module", "context_gene"]].shape
    (160, 2)
    """
    func = "planted_modules"
    check_joint(joint, func)
    if not isinstance(adatas, Mapping):
        raise TypeError(f"{func}: `adatas` must be a dict {{dataset name: AnnData}}, got {type(adatas).__name__}.")
    ds = joint.obs["dataset"].astype(str).to_numpy()
    genes = joint.obs["gene"].astype(str).to_numpy()
    module = np.empty(joint.n_obs, dtype=object)
    context = np.zeros(joint.n_obs, dtype=bool)
    for name in pd.unique(ds):
        adata = adatas.get(name)
        if adata is None or "module" not in adata.var:
            raise KeyError(
                f"{func}: dataset {name!r} of the joint embedding is not in `adatas` or has no `var['module']` "
                "(written by `mg.datasets.simulate`)."
            )
        rows = ds == name
        idx = adata.var_names.get_indexer(genes[rows])
        if (idx < 0).any():
            raise KeyError(f"{func}: genes {genes[rows][idx < 0][:5].tolist()} are not in dataset {name!r}.")
        module[rows] = adata.var["module"].astype(str).to_numpy()[idx]
        if "context_gene" in adata.var:
            context[rows] = adata.var["context_gene"].to_numpy(dtype=bool)[idx]
    out = joint.copy() if copy else joint
    out.obs[key_added] = pd.Categorical(module)
    out.obs["context_gene"] = context
    return out if copy else None
