"""Integration LISI (paper metric 3): the local inverse Simpson index of the dataset labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from sklearn.neighbors import NearestNeighbors

from .._docs import doc_common, doc_metric, doc_params
from .._joint import JointRows, joint_rows
from ._input import warn_single_dataset

__all__ = ["ilisi", "ilisi_value", "knn_lisi", "lisi_from_knn"]

_MAX_BETA_STEPS = 50  # binary-search steps for the Gaussian precision β (as scib-metrics)
_ENTROPY_TOL = 1e-5  # tolerance on the entropy of the weights


@doc_params(doc_common, doc_metric)
def ilisi(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    batch_key: str = "dataset",
    n_neighbors: int = 90,
    perplexity: float | None = None,
    include_self: bool = True,
    scale: bool = True,
) -> float:
    """Integration LISI of the dataset labels (paper metric 3, scib ``ilisi_graph`` on an embedding).

    For every row, the local inverse Simpson index of the batch labels among its ``k`` Euclidean nearest
    rows (as in scib-metrics: ``k = min(n_neighbors, n)`` rows counting the row itself, which gets weight 0),
    with Gaussian weights of perplexity ``floor(k / 3)``; the median over rows is rescaled to [0, 1] as
    ``(median − 1) / (n_batches − 1)``: 1 = the datasets are perfectly mixed, 0 = fully separated.
    The LISI computation is written by hand after scib-metrics' ``lisi_knn`` definition (no installed
    package provides it).

    Parameters
    ----------
    {doc_joint_rows}
    {doc_use_rep}
    {batch_key}
    n_neighbors
        Neighbourhood size (scib's default 90), capped at the number of rows.
    perplexity
        Effective neighbourhood size of the Gaussian weights; default ``floor(k / 3)``.
    include_self
        Count each row among its own ``k`` neighbours, with weight 0 (scib-metrics' ``ilisi_knn`` on kNN
        results that include the self edge); ``False`` uses the ``k = min(n_neighbors, n − 1)`` nearest
        *other* rows.
    scale
        Rescale to [0, 1]; ``False`` returns the median LISI itself (between 1 and ``n_batches``).

    Returns
    -------
    The iLISI score; NaN with a warning for a single dataset.

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> obs = pd.DataFrame({"gene": [f"g{i}" for i in range(100)] * 2, "dataset": ["a"] * 100 + ["b"] * 100})
    >>> mixed = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": rng.normal(size=(200, 4))})
    >>> mg.metrics.ilisi(mixed) > 0.8
    True
    """
    func = "ilisi"
    data = joint_rows(joint, use_rep, func, dataset_key=batch_key, check_unique=False)
    if data.n_datasets < 2:
        return warn_single_dataset(func, "iLISI")
    return ilisi_value(
        data, n_neighbors=n_neighbors, perplexity=perplexity, include_self=include_self, scale=scale
    )


def ilisi_value(
    data: JointRows, *, n_neighbors: int, perplexity: float | None, include_self: bool = True, scale: bool = True
) -> float:
    lisi = knn_lisi(
        data.X, data.dataset, n_neighbors=n_neighbors, perplexity=perplexity, include_self=include_self
    )
    med = float(np.nanmedian(lisi))
    if not scale:
        return med
    return (med - 1.0) / (data.n_datasets - 1.0)


def knn_lisi(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    n_neighbors: int,
    perplexity: float | None,
    include_self: bool = True,
) -> np.ndarray:
    """Per-row LISI (inverse Simpson index) of ``labels`` on the Euclidean kNN of ``X``.

    Written by hand (no installed library computes LISI) after the definition of Korsunsky et al. (2019)
    as used by scib-metrics ``lisi_knn``: the ``k`` nearest rows, by default *including the row itself*, which
    then gets weight 0 (scib-metrics' neighbour results include the self edge and ``lisi_knn`` masks it, so the
    row counts towards ``k`` but not towards the index); ``include_self=False`` takes the ``k`` nearest other
    rows. Gaussian weights ``exp(−β d)`` on the (non-squared) Euclidean distances with β found by binary search
    (≤ 50 steps, tolerance 1e-5 on the entropy) so the perplexity of the weights equals ``perplexity``
    (default ``floor(k / 3)``), Simpson index ``Σ_label (Σ_{neighbours with that label} p)²``,
    LISI = 1 / Simpson. Checked against scib-metrics 0.5.10 in ``tests/test_metrics_paper.py``.
    """
    n = X.shape[0]
    if include_self:
        k = int(min(n_neighbors, n))
        dist, idx = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X)
    else:
        # kneighbors() without X leaves each row out of its own neighbour list.
        k = int(min(n_neighbors, n - 1))
        dist, idx = NearestNeighbors(n_neighbors=k).fit(X).kneighbors()
    if perplexity is None:
        perplexity = float(np.floor(k / 3))
    if perplexity < 1:
        raise ValueError(
            f"LISI perplexity must be >= 1, got {perplexity} (k = {k} neighbours); use more rows or "
            "neighbours."
        )
    return lisi_from_knn(dist, idx, labels, perplexity=perplexity, exclude_self=include_self)


def lisi_from_knn(
    dist: np.ndarray,
    idx: np.ndarray,
    labels: np.ndarray,
    *,
    perplexity: float,
    tol: float = _ENTROPY_TOL,
    exclude_self: bool = False,
) -> np.ndarray:
    """LISI of every row from its kNN distances/indices (see :func:`knn_lisi`); vectorised over rows.

    ``exclude_self``: entries of ``idx`` equal to the row's own index get weight 0 (scib-metrics' self mask).
    """
    codes = pd.Categorical(labels).codes.astype(np.int64)
    n_labels = int(codes.max()) + 1
    n = dist.shape[0]
    keep = idx != np.arange(n)[:, None] if exclude_self else np.ones(idx.shape, dtype=bool)
    # Shifting each row's distances by their minimum leaves the normalised weights and the entropy H
    # unchanged (both terms of H move by β·min and cancel) but avoids exp underflow for far neighbours.
    row_min = np.where(keep, dist, np.inf).min(axis=1, keepdims=True)
    D = np.where(keep, dist - row_min, 0.0)
    log_u = np.log(perplexity)
    beta = np.ones(n)
    beta_min = np.full(n, -np.inf)
    beta_max = np.full(n, np.inf)

    def hbeta(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P = np.exp(-D * b[:, None]) * keep
        sum_p = P.sum(axis=1)  # >= 1: the closest kept neighbour has weight exp(0)
        H = np.log(sum_p) + b * (D * P).sum(axis=1) / sum_p
        return H, P / sum_p[:, None]

    H, P = hbeta(beta)
    for _ in range(_MAX_BETA_STEPS):
        diff = H - log_u
        active = np.abs(diff) > tol
        if not active.any():
            break
        up = active & (diff > 0)
        down = active & (diff <= 0)
        beta_min = np.where(up, beta, beta_min)
        beta_max = np.where(down, beta, beta_max)
        new_up = np.where(np.isinf(beta_max), beta * 2, (beta + beta_max) / 2)
        new_down = np.where(np.isinf(beta_min), beta / 2, (beta + beta_min) / 2)
        beta = np.where(up, new_up, np.where(down, new_down, beta))
        H_new, P_new = hbeta(beta)
        H = np.where(active, H_new, H)
        P = np.where(active[:, None], P_new, P)
    onehot_sum = np.zeros((n, n_labels))
    np.add.at(onehot_sum, (np.repeat(np.arange(n), idx.shape[1]), codes[idx].ravel()), P.ravel())
    simpson = (onehot_sum**2).sum(axis=1)
    return 1.0 / simpson
