"""MuSe-GNN itself and its ablation without the cross-dataset terms, as baseline-style callables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anndata as ad

import muse_gnn as mg

__all__ = ["muse_joint", "muse_ablation_joint"]


def muse_joint(
    adatas: Mapping[str, ad.AnnData],
    *,
    max_epochs: int = 300,
    seed: int = 0,
    key: str = "X_muse",
    return_model: bool = False,
    **fit_kwargs: Any,
) -> ad.AnnData | tuple[ad.AnnData, mg.MuseGNN]:
    """Train MuSe-GNN with ``mg.tl.fit`` (defaults unless overridden) and return its joint embedding.

    The datasets are not modified (``inplace=False``); the final training loss terms are stored in
    ``joint.uns["baseline"]``. With ``return_model`` the trained :class:`muse_gnn.MuseGNN` is returned too.
    """
    model = mg.tl.fit(adatas, max_epochs=max_epochs, random_state=seed, show_progress_bar=False, inplace=False,
                      **fit_kwargs)
    joint = model.joint_embedding(key_added=key)
    last = model.history.iloc[-1] if len(model.history) else {}
    joint.uns["baseline"] = {"method": "MuSe-GNN", "max_epochs": max_epochs,
                             **{k: repr(v) for k, v in fit_kwargs.items()},
                             **{f"final_{k}": float(v) for k, v in dict(last).items()}}
    return (joint, model) if return_model else joint


def muse_ablation_joint(
    adatas: Mapping[str, ad.AnnData],
    *,
    max_epochs: int = 300,
    seed: int = 0,
    key: str = "X_muse",
    **fit_kwargs: Any,
) -> ad.AnnData:
    """MuSe-GNN without the cross-dataset terms (``lambda_similarity=0``, ``lambda_contrast=0``).

    Every dataset is trained on its own graph reconstruction only; the shared layers are still shared, but
    nothing pulls the same gene of different datasets together (the paper's ablation).
    """
    return muse_joint(adatas, max_epochs=max_epochs, seed=seed, key=key, lambda_similarity=0.0,
                      lambda_contrast=0.0, **fit_kwargs)
