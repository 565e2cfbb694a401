"""MuSe-GNN itself and its ablation without the cross-dataset terms, as baseline-style callables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
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
    negatives: str = "non_edges",
    **fit_kwargs: Any,
) -> ad.AnnData | tuple[ad.AnnData, mg.MuseGNN]:
    """Train MuSe-GNN with ``mg.tl.fit`` (defaults unless overridden) and return its joint embedding.

    ``negatives``: the edge decoder's negatives as the package draws them (``"non_edges"``: true non-edges of the
    same graph) or, as a lever of the benchmarks only, ``"uniform"``: uniform node pairs of the graph, edges and
    self-pairs included (the package's rule before 2026-12-03).

    The datasets are not modified (``inplace=False``); the final training loss terms are stored in
    ``joint.uns["baseline"]``. With ``return_model`` the trained :class:`muse_gnn.MuseGNN` is returned too.
    """
    with _negatives(negatives):
        model = mg.tl.fit(adatas, max_epochs=max_epochs, random_state=seed, show_progress_bar=False, inplace=False,
                          **fit_kwargs)
    joint = model.joint_embedding(key_added=key)
    last = model.history.iloc[-1] if len(model.history) else {}
    joint.uns["baseline"] = {"method": "MuSe-GNN", "max_epochs": max_epochs,
                             "negatives": negatives, **{k: repr(v) for k, v in fit_kwargs.items()},
                             **{f"final_{k}": float(v) for k, v in dict(last).items()}}
    return (joint, model) if return_model else joint


@contextlib.contextmanager
def _negatives(kind: str) -> Iterator[None]:
    """Within the block, training draws the edge decoder's negatives as ``kind`` (see :func:`muse_joint`).

    ``"uniform"`` is patched into the trainer: its ``sample_negatives`` without redraws and with every draw kept,
    which is the former uniform rule. The package has no such option: true non-edges are its only rule.
    """
    if kind == "non_edges":
        yield
        return
    if kind != "uniform":
        raise ValueError(f"negatives must be 'non_edges' or 'uniform', got {kind!r}.")
    import torch
    from muse_gnn.model import _trainer

    drawn = _trainer.sample_negatives

    def uniform(head: Any, start: Any, size: Any, lookup: Any, generator: Any, **_: Any) -> tuple[Any, Any]:
        tail, valid = drawn(head, start, size, lookup, generator, rounds=0)
        return tail, torch.ones_like(valid)

    _trainer.sample_negatives = uniform
    try:
        yield
    finally:
        _trainer.sample_negatives = drawn


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
