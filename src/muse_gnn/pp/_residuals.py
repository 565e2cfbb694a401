"""Analytic Pearson residuals: highly variable genes and node features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._docs import doc_common, doc_params
from .._utils import check_adata, check_counts, get_matrix

__all__ = ["pearson_residuals", "project_features", "residual_features", "residual_hvg"]


def _column_block(X: np.ndarray | sp.spmatrix, cols: np.ndarray) -> np.ndarray:
    """Dense float64 copy of the columns ``cols`` of ``X`` (cells × len(cols))."""
    if sp.issparse(X):
        return np.asarray(X[:, cols].toarray(), dtype=np.float64)
    return np.asarray(X[:, cols], dtype=np.float64)


@doc_params(doc_common)
def pearson_residuals(
    X: np.ndarray | sp.spmatrix,
    genes: np.ndarray | None = None,
    *,
    theta: float = 100.0,
    clip: float | None = None,
    cell_totals: np.ndarray | None = None,
    block_size: int = 512,
) -> np.ndarray:
    """Analytic Pearson residuals of selected genes, as a genes × cells float32 matrix.

    ``r_gc = (x_gc − μ_gc) / sqrt(μ_gc + μ_gc² / θ)`` with ``μ_gc = s_c n_g / N``, where ``s_c`` is the total count
    of cell ``c`` over *all* genes of ``X``, ``n_g`` the total count of gene ``g`` and ``N`` the grand total;
    residuals are clipped to ``±clip`` (default ``sqrt(n_cells)``). This is the formula of
    :func:`scanpy.experimental.pp.normalize_pearson_residuals`; it is evaluated here only for the selected
    genes, block by block, so that a sparse matrix is never densified in full (scanpy's function works on the
    whole matrix at once and returns cells × genes).

    Parameters
    ----------
    X
        Counts, cells × genes, dense or sparse.
    genes
        Integer indices or boolean mask of the genes to return (default: all).
    {theta}
    {clip}
    cell_totals
        Per-cell totals ``s_c``; default ``X.sum(axis=1)``.
    block_size
        Genes densified at a time.

    Returns
    -------
    Residuals, shape ``(n_selected_genes, n_cells)``, ``float32``.

    Examples
    --------
    >>> import numpy as np
    >>> import muse_gnn as mg
    >>> X = np.random.default_rng(0).poisson(2.0, size=(50, 10))
    >>> mg.pp.pearson_residuals(X).shape
    (10, 50)
    """
    n_cells, n_genes = X.shape
    if genes is None:
        idx = np.arange(n_genes)
    else:
        genes = np.asarray(genes)
        idx = np.flatnonzero(genes) if genes.dtype == bool else genes.astype(np.int64)
    if clip is None:
        clip = float(np.sqrt(n_cells))
    if cell_totals is None:
        cell_totals = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
    gene_totals = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
    grand = float(gene_totals.sum())
    if grand <= 0:
        raise ValueError("pearson_residuals: the count matrix is all zero.")
    out = np.empty((idx.size, n_cells), dtype=np.float32)
    for start in range(0, idx.size, block_size):
        cols = idx[start : start + block_size]
        x = _column_block(X, cols)
        mu = np.outer(cell_totals, gene_totals[cols] / grand)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (x - mu) / np.sqrt(mu + mu * mu / theta)
        r = np.nan_to_num(r, nan=0.0, posinf=clip, neginf=-clip)
        np.clip(r, -clip, clip, out=r)
        out[start : start + cols.size] = r.T
    return out


@doc_params(doc_common)
def residual_hvg(
    adata: AnnData,
    *,
    n_top_genes: int = 1000,
    layer: str | None = None,
    theta: float = 100.0,
    clip: float | None = None,
    allow_noncounts: bool = False,
) -> pd.DataFrame:
    """Rank genes by the variance of their analytic Pearson residuals (scanpy's implementation).

    Thin wrapper around :func:`scanpy.experimental.pp.highly_variable_genes` with
    ``flavor="pearson_residuals"`` that never modifies ``adata``.

    Parameters
    ----------
    adata
        Cells × genes AnnData with raw counts in ``X`` or ``layer``.
    n_top_genes
        Number of genes to flag; capped at the number of genes.
    {layer}
    {theta}
    {clip}
    {allow_noncounts}

    Returns
    -------
    DataFrame indexed like ``adata.var_names`` with ``residual_variances``, ``highly_variable_rank`` and
    ``highly_variable``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> ad = next(iter(mg.datasets.simulate(n_datasets=1, n_genes=300, n_cells=(200, 200)).values()))
    >>> int(mg.pp.residual_hvg(ad, n_top_genes=50)["highly_variable"].sum())
    50
    """
    import scanpy as sc

    func = "residual_hvg"
    check_adata(adata, func, min_cells=2)
    X = get_matrix(adata, layer, func)
    check_counts(X, func, allow_noncounts=allow_noncounts)
    n_top = min(int(n_top_genes), adata.n_vars)
    tmp = AnnData(X=X, var=pd.DataFrame(index=adata.var_names.copy()))
    import warnings

    with warnings.catch_warnings():
        # scanpy warns about non-integer input; check_counts has already warned or refused.
        warnings.filterwarnings("ignore", message=".*non-integer.*", category=UserWarning)
        df = sc.experimental.pp.highly_variable_genes(
            tmp,
            flavor="pearson_residuals",
            n_top_genes=n_top,
            theta=theta,
            clip=clip,
            inplace=False,
            check_values=False,
        )
    df.index = adata.var_names.copy()
    return df[["residual_variances", "highly_variable_rank", "highly_variable"]]


@doc_params(doc_common)
def residual_features(adata: AnnData, *, graph_key: str = "muse") -> np.ndarray:
    """Node features of a dataset's gene graph: Pearson residuals of the graph genes across cells.

    The features are not stored in the AnnData (a dense genes × cells copy would not scale); they are
    recomputed from the counts with the parameters that :func:`muse_gnn.pp.coexpression_graph` recorded in
    ``adata.uns[graph_key]["params"]``. This is the function the model calls at training time.

    Parameters
    ----------
    adata
        AnnData processed by :func:`muse_gnn.pp.coexpression_graph` (or :func:`~muse_gnn.pp.graph_from_edgelist`).
    {graph_key}

    Returns
    -------
    Array of shape ``(n_graph_genes, n_cells)``, ``float32``, rows in ``adata.var_names`` order of the
    genes flagged in ``adata.var[f"{graph_key}_selected"]``; ``(n_graph_genes, n_comps)`` when the graph was built
    with ``n_comps`` (the residual rows projected on their top singular axes, :func:`project_features`).

    Examples
    --------
    >>> import muse_gnn as mg
    >>> ad = next(iter(mg.datasets.simulate(n_datasets=1, n_genes=300, n_cells=(200, 200)).values()))
    >>> mg.pp.coexpression_graph(ad, n_top_genes=100, method="pearson")
    >>> mg.pp.residual_features(ad).shape
    (100, 200)
    """
    func = "residual_features"
    if graph_key not in adata.uns or f"{graph_key}_selected" not in adata.var:
        raise KeyError(
            f"{func}: no gene graph under key {graph_key!r}; run `mg.pp.coexpression_graph(adata, "
            f"key_added={graph_key!r})` first."
        )
    params = adata.uns[graph_key].get("params", {})
    layer = params.get("layer")
    layer = None if layer in (None, "None", "") else str(layer)
    X = get_matrix(adata, layer, func)
    sel = np.asarray(adata.var[f"{graph_key}_selected"].to_numpy(), dtype=bool)
    clip = params.get("clip")
    clip = None if clip is None or (isinstance(clip, float) and np.isnan(clip)) else float(clip)
    data = X.data if sp.issparse(X) else np.asarray(X)
    if data.size and not np.all(np.isfinite(data)):
        raise ValueError(f"{func}: the expression matrix contains NaN or infinite values.")
    feats = pearson_residuals(X, sel, theta=float(params.get("theta", 100.0)), clip=clip)
    n_comps = params.get("n_comps")
    if n_comps in (None, "None", "") or int(n_comps) >= min(feats.shape):
        return feats
    return project_features(feats, int(n_comps))


def project_features(feats: np.ndarray, n_comps: int) -> np.ndarray:
    """Genes × ``n_comps`` coordinates of the genes' residual rows on their top singular axes across cells.

    A fixed projection (scikit-learn's randomized SVD with a fixed seed: deterministic) that makes the input width
    independent of the number of cells. The rows are not centred, so inner products between genes are kept up to
    the variance outside the top ``n_comps`` axes, and the model's input layers, which are linear in the features,
    see the same signal in fewer columns.

    Examples
    --------
    >>> import numpy as np
    >>> from muse_gnn.pp._residuals import project_features
    >>> project_features(np.random.default_rng(0).normal(size=(50, 300)).astype("float32"), 10).shape
    (50, 10)
    """
    from sklearn.utils.extmath import randomized_svd

    u, s, _ = randomized_svd(np.asarray(feats, dtype=np.float64), n_comps, n_iter=7, random_state=0)
    return (u * s).astype(np.float32)
