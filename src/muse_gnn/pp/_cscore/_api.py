"""The public CS-CORE functions: :func:`cscore_arrays` on arrays, :func:`cscore` and :class:`CSCoreResult` on AnnData.

:func:`cscore` validates the AnnData inputs (genes, layer, sequencing depth, count values) and hands the
matrix to the engine without copying it; :func:`cscore_arrays` validates the gene positions only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from ..._docs import doc_common, doc_params, param_bundle
from ..._utils import check_adata, check_counts, get_matrix, logger, uns_params
from ..._warnings import MuseGNNWarning
from ._blocks import BLOCK_ENTRIES_CPU
from ._engine import _cscore_engine

__all__ = ["MANY_GENES", "MIN_CELLS", "CSCoreResult", "cscore", "cscore_arrays"]

#: Minimum number of cells for :func:`cscore`.
MIN_CELLS = 20
#: :func:`cscore` warns above this many genes (three ``n_genes²`` float64 outputs).
MANY_GENES = 5000

#: Parameters of both :func:`cscore_arrays` and :func:`cscore` (placeholders ``{post_process}`` …).
_CSCORE_DOCS = param_bundle({
    "post_process": """\
Apply the reference post-processing: genes with a negative variance estimate get correlation 0 with every
gene, the diagonal is 1, and the estimates are clipped to ``[-1, 1]``. With ``False`` the raw
``σ_gh / sqrt(σ_gg σ_hh)`` is returned (``+inf`` on the diagonal of genes with ``σ_gg < 0``, whose
off-diagonal entries use ``σ_gg = 1``, as in the reference).""",
    "block_size": """\
Number of cells processed at a time (default: about 32 MiB of float64 per working array on the CPU, 256 MiB
on a GPU; memory ≈ ``block_size × n_genes`` plus a few ``n_genes²`` matrices). The results do not depend on
it beyond floating-point rounding.""",
    "show_progress_bar": (
        "Show a progress bar over the cell blocks of the pair products; ``None`` follows "
        "``mg.settings.progress_bar``."
    ),
})


@doc_params(doc_common, _CSCORE_DOCS)
def cscore_arrays(
    counts: np.ndarray | sp.spmatrix,
    seq_depth: np.ndarray,
    *,
    genes: np.ndarray | Sequence[int] | None = None,
    post_process: bool = True,
    block_size: int | None = None,
    device: Any = None,
    backend: Literal["auto", "numpy", "torch"] = "auto",
    dtype: Any = np.float64,
    show_progress_bar: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CS-CORE co-expression estimates, test statistics and p-values for all gene pairs.

    Array-level engine behind :func:`cscore`; it reproduces the authors' ``CSCORE_IRLS`` (see the docstring
    of the package ``muse_gnn.pp._cscore`` for the model and the differences in how it is computed).

    Parameters
    ----------
    counts
        Cells × genes raw counts: dense :class:`numpy.ndarray` (any numeric dtype) or scipy sparse
        (CSR preferred; other formats are converted to CSR, which copies the stored values but never
        densifies). Only ``block_size`` rows are densified at a time.
    seq_depth
        Sequencing depth ``s_i`` of each cell (> 0), usually the total counts over *all* genes.
    genes
        Column positions of the genes to use (output order); default all columns. Cheaper than passing
        ``counts[:, genes]``: a dense matrix is then only copied one block at a time.
    {post_process}
    {block_size}
    {device}
    {backend}
    dtype
        Precision of the per-block arithmetic and of the four genes × genes products: ``float64``
        (default, matches the reference) or ``float32`` (faster on GPUs without fast float64; estimates
        then agree to about ``1e-5``). μ, σ_gg and the IRLS always use float64.
    {show_progress_bar}

    Returns
    -------
    est
        Genes × genes co-expression estimates ``ρ`` (float64).
    p_value
        Genes × genes two-sided p-values of ``H0: σ_gh = 0``, ``2 Φ(−|T|)``.
    test_stat
        Genes × genes test statistics ``T``.

    Notes
    -----
    Genes without any count have ``μ_g = 0``; their rows and columns are NaN in all three outputs (the
    reference's arithmetic gives 0/0 there) and they do not affect the other genes; a
    :class:`~muse_gnn.MuseGNNWarning` says how many there are. :func:`cscore` refuses them instead.
    The number of IRLS iterations is logged (``logging.getLogger("muse_gnn")``, INFO; shown with
    ``mg.settings.verbosity = "info"``); when the IRLS stops at its limit of 11 passes without converging,
    a :class:`~muse_gnn.ConvergenceWarning` is issued and the last estimates are used.

    Examples
    --------
    >>> import numpy as np
    >>> from muse_gnn.pp import cscore_arrays
    >>> rng = np.random.default_rng(0)
    >>> depth = rng.lognormal(np.log(5000), 0.3, size=300)
    >>> z = rng.gamma(4.0, 1e-3 / 4.0, size=(300, 8))
    >>> counts = rng.poisson(depth[:, None] * z)
    >>> est, p_value, test_stat = cscore_arrays(counts, depth, device="cpu")
    >>> est.shape, bool(np.allclose(np.diag(est), 1.0))
    ((8, 8), True)
    """
    if genes is not None:
        genes = np.asarray(genes)
        if genes.ndim != 1 or not np.issubdtype(genes.dtype, np.integer):
            raise TypeError("cscore_arrays: `genes` must be a 1-d array of integer column positions.")
        n_cols = np.shape(counts)[1] if np.ndim(counts) == 2 else 0
        if genes.size and (genes.min() < -n_cols or genes.max() >= n_cols):
            raise IndexError(
                f"cscore_arrays: `genes` has positions outside the {n_cols} columns of `counts`."
            )
        genes = np.where(genes < 0, genes + n_cols, genes).astype(np.intp)
    out = _cscore_engine(
        counts,
        seq_depth,
        genes=genes,
        post_process=post_process,
        block_size=block_size,
        device=device,
        backend=backend,
        dtype=dtype,
        show_progress_bar=show_progress_bar,
    )
    return out.est, out.p_value, out.test_stat



@dataclass(frozen=True, eq=False)
class CSCoreResult:
    """CS-CORE output for a set of genes (returned by :func:`cscore` with ``inplace=False``).

    Attributes
    ----------
    genes
        Gene names, the row and column order of the matrices.
    est
        Co-expression estimates ``ρ`` (genes × genes).
    p_value
        Two-sided p-values of ``H0: σ_gh = 0`` (genes × genes).
    test_stat
        Test statistics (genes × genes).
    params
        The parameters of the call and IRLS diagnostics.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> from muse_gnn.pp import cscore
    >>> rng = np.random.default_rng(0)
    >>> adata = ad.AnnData(rng.negative_binomial(2, 0.2, size=(100, 4)).astype(np.float32))
    >>> res = cscore(adata, inplace=False, device="cpu")
    >>> res.est.shape, res.params["irls_converged"]
    ((4, 4), True)
    """

    genes: np.ndarray
    est: np.ndarray
    p_value: np.ndarray
    test_stat: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The three matrices as :class:`pandas.DataFrame` labelled by gene (keys as the attributes).

        Examples
        --------
        >>> import anndata as ad, numpy as np
        >>> from muse_gnn.pp import cscore
        >>> rng = np.random.default_rng(0)
        >>> adata = ad.AnnData(rng.negative_binomial(2, 0.2, size=(100, 3)).astype(np.float32))
        >>> sorted(cscore(adata, inplace=False, device="cpu").to_frames())
        ['est', 'p_value', 'test_stat']
        """
        idx = pd.Index(self.genes, name="gene")
        return {
            k: pd.DataFrame(getattr(self, k), index=idx, columns=idx.copy())
            for k in ("est", "p_value", "test_stat")
        }


def _resolve_genes(adata: AnnData, genes: Any, func: str) -> np.ndarray:
    """Positions of the requested genes in ``adata.var_names`` (list order, or ``adata`` order for a mask)."""
    if genes is None:
        return np.arange(adata.n_vars)
    if isinstance(genes, str):
        raise TypeError(
            f"{func}: `genes` must be a list of gene names or a boolean mask, not a single string."
        )
    arr = np.asarray(genes.to_numpy() if isinstance(genes, pd.Series | pd.Index) else genes)
    if arr.ndim != 1:
        raise ValueError(f"{func}: `genes` must be 1-d, got shape {arr.shape}.")
    if arr.dtype == bool:
        if arr.size != adata.n_vars:
            raise ValueError(
                f"{func}: the boolean mask `genes` has {arr.size} entries but `adata` has {adata.n_vars} genes."
            )
        return np.flatnonzero(arr)
    if arr.size and not all(isinstance(g, str) for g in arr.tolist()):
        raise TypeError(
            f"{func}: `genes` must hold gene names (str) or be a boolean mask over `adata.var_names`; "
            f"got values of type {type(arr.tolist()[0]).__name__}."
        )
    names = [str(g) for g in arr.tolist()]
    if len(set(names)) != len(names):
        dup = pd.Index(names)[pd.Index(names).duplicated()].unique()[:5].tolist()
        raise ValueError(f"{func}: `genes` lists some genes more than once, e.g. {dup}.")
    pos = adata.var_names.get_indexer(names)
    if np.any(pos < 0):
        missing = [n for n, p in zip(names, pos, strict=True) if p < 0]
        raise KeyError(
            f"{func}: {len(missing)} of the requested genes are not in `adata.var_names`, e.g. {missing[:5]}."
        )
    return pos.astype(np.intp)


def _resolve_seq_depth(adata: AnnData, X: Any, seq_depth: Any, func: str) -> tuple[np.ndarray, str]:
    if seq_depth is None:
        s = np.asarray(X.sum(axis=1, dtype=np.float64)).ravel()
        desc = "total_counts"
        what = "total counts"
    elif isinstance(seq_depth, str):
        if seq_depth not in adata.obs.columns:
            raise KeyError(
                f"{func}: seq_depth={seq_depth!r} is not a column of `adata.obs`; available columns: "
                f"{list(adata.obs.columns)[:10]}."
            )
        col = adata.obs[seq_depth]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise TypeError(f"{func}: `adata.obs[{seq_depth!r}]` must be numeric, got dtype {col.dtype}.")
        s = col.to_numpy(dtype=np.float64, na_value=np.nan)
        desc = seq_depth
        what = f"adata.obs[{seq_depth!r}]"
    else:
        try:
            s = np.asarray(seq_depth, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{func}: `seq_depth` must be numeric ({err}).") from err
        if s.shape != (adata.n_obs,):
            raise ValueError(
                f"{func}: `seq_depth` must have one value per cell ({adata.n_obs}), got shape {s.shape}."
            )
        desc = "array"
        what = "`seq_depth`"
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        example = adata.obs_names[bad][:5].tolist()
        raise ValueError(
            f"{func}: {what} must be finite and > 0 for every cell; {int(bad.sum())} cell(s) are not, "
            f"e.g. {example}. Remove cells without counts first, e.g. "
            "`sc.pp.filter_cells(adata, min_counts=1)`."
        )
    return s, desc


def _validate_counts(X: Any, cols: np.ndarray | None, func: str, allow_noncounts: bool) -> bool:
    """:func:`check_counts` on ``X`` (columns ``cols``; all if ``None``), block by block for dense input."""
    if sp.issparse(X):
        return check_counts(X if cols is None else X[:, cols], func, allow_noncounts=allow_noncounts)
    n = X.shape[0]
    width = X.shape[1] if cols is None else cols.size
    step = max(1, BLOCK_ENTRIES_CPU // max(1, width))
    is_int = True
    for i0 in range(0, n, step):
        blk = X[i0 : i0 + step] if cols is None else X[i0 : i0 + step][:, cols]
        if is_int:
            is_int = check_counts(blk, func, allow_noncounts=allow_noncounts)
        else:  # already warned once about non-integer values
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MuseGNNWarning)
                check_counts(blk, func, allow_noncounts=allow_noncounts)
    return is_int


@doc_params(doc_common, _CSCORE_DOCS)
def cscore(
    adata: AnnData,
    *,
    genes: Sequence[str] | np.ndarray | None = None,
    layer: str | None = None,
    seq_depth: str | np.ndarray | None = None,
    post_process: bool = True,
    allow_noncounts: bool = False,
    block_size: int | None = None,
    device: str = "auto",
    key_added: str = "cscore",
    inplace: bool = True,
    show_progress_bar: bool | None = None,
) -> CSCoreResult | None:
    """CS-CORE gene–gene co-expression of raw counts (Su et al. 2023).

    Estimates the correlation ``ρ_gh`` of the underlying expression levels of every pair of the selected
    genes, with a test of ``H0: σ_gh = 0`` (see :func:`cscore_arrays` for the model). It reproduces the
    authors' ``CSCORE_IRLS`` and is the edge weight of :func:`muse_gnn.pp.coexpression_graph`.

    Parameters
    ----------
    adata
        Cells × genes AnnData with raw counts (at least 20 cells).
    genes
        Gene names (output order) or a boolean mask over ``adata.var_names``; default all genes (a warning
        is given above 5,000 genes: the outputs take ``3 × 8 × n_genes²`` bytes).
    {layer}
    seq_depth
        Sequencing depth of each cell: ``None`` (total counts over *all* genes of ``adata``), the name of a
        numeric ``adata.obs`` column, or an array with one value per cell. Must be > 0.
    {post_process}
    {allow_noncounts}
    {block_size}
    {device}
    key_added
        Key in ``adata.uns`` for the result (``inplace=True``).
    inplace
        Write the result to ``adata.uns[key_added]`` and return ``None``; otherwise return a
        :class:`CSCoreResult` and leave ``adata`` unchanged.
    {show_progress_bar}

    Returns
    -------
    ``None`` if ``inplace``, else a :class:`CSCoreResult`. With ``inplace=True``,
    ``adata.uns[key_added]`` becomes a dict with ``"genes"`` (str array), ``"est"``, ``"p_value"``,
    ``"test_stat"`` (genes × genes float64) and ``"params"`` (the call's parameters, the number of IRLS
    iterations, ``θ̃`` and the number of genes with a negative variance estimate; ``"layer"`` only when a
    layer was used). It can be written to ``.h5ad``.

    Raises
    ------
    KeyError
        Unknown genes, layer or ``seq_depth`` column.
    ValueError
        Too few cells, non-count values (unless ``allow_noncounts``), ``seq_depth`` not positive, or genes
        without any count among the selected ones (drop them first, e.g. with
        ``sc.pp.filter_genes(adata, min_counts=1)``).

    Warns
    -----
    ConvergenceWarning
        When the IRLS stops at its iteration limit (:class:`~muse_gnn.ConvergenceWarning`).

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> depth = rng.lognormal(np.log(5000), 0.3, size=200)
    >>> shared = rng.gamma(4.0, 0.25, size=(200, 1))  # a factor shared by the first 3 genes
    >>> z = 1e-3 * np.hstack([shared.repeat(3, 1), rng.gamma(4.0, 0.25, size=(200, 3))])
    >>> adata = ad.AnnData(rng.poisson(depth[:, None] * z).astype(np.float32))
    >>> adata.obs["depth"] = depth  # here only 6 of the genes are measured: pass the true depth
    >>> mg.pp.cscore(adata, seq_depth="depth", device="cpu")
    >>> res = adata.uns["cscore"]
    >>> res["est"].shape, bool(res["est"][0, 1] > 0.9), bool(res["p_value"][0, 1] < 0.05)
    ((6, 6), True, True)
    """
    func = "cscore"
    check_adata(adata, func, min_cells=MIN_CELLS)
    if not isinstance(key_added, str) or not key_added:
        raise ValueError(f"{func}: `key_added` must be a non-empty string, got {key_added!r}.")
    X = get_matrix(adata, layer, func)
    idx = _resolve_genes(adata, genes, func)
    if idx.size < 2:
        raise ValueError(f"{func}: at least 2 genes are needed, got {idx.size}.")
    names = adata.var_names[idx].astype(str).to_numpy()
    if idx.size > MANY_GENES:
        warnings.warn(
            f"{func}: {idx.size} genes selected; the three genes × genes outputs need "
            f"{3 * 8 * idx.size**2 / 1e9:.1f} GB. Pass `genes=` (e.g. highly variable genes) to use fewer.",
            MuseGNNWarning,
            stacklevel=2,
        )
    all_genes = idx.size == adata.n_vars and np.array_equal(idx, np.arange(adata.n_vars))
    # seq_depth=None sums over all genes, so all of them must be counts; otherwise the selection only
    is_int = _validate_counts(X, None if (seq_depth is None or all_genes) else idx, func, allow_noncounts)
    s, s_desc = _resolve_seq_depth(adata, X, seq_depth, func)
    colsum = np.asarray(X.sum(axis=0, dtype=np.float64)).ravel()[idx]
    if np.any(colsum == 0):
        zero = names[colsum == 0]
        raise ValueError(
            f"{func}: {zero.size} selected gene(s) have no counts in any cell, e.g. {zero[:5].tolist()}; "
            "their co-expression is undefined. Drop them first, e.g. "
            "`sc.pp.filter_genes(adata, min_counts=1)` or remove them from `genes`."
        )
    out = _cscore_engine(
        X,
        s,
        genes=None if all_genes else idx,
        post_process=post_process,
        block_size=block_size,
        device=device,
        values_checked=True,
        show_progress_bar=show_progress_bar,
    )
    # uns_params: `layer=None` is left out (read it with params.get("layer")), see _utils.uns_params
    params = uns_params({
        "layer": layer,
        "seq_depth": s_desc,
        "post_process": bool(post_process),
        "allow_noncounts": bool(allow_noncounts),
        "integer_counts": bool(is_int),
        "n_cells": int(adata.n_obs),
        "n_genes": int(idx.size),
        "block_size": int(out.block_size),
        "backend": out.backend,
        "device": out.device,
        "irls_iterations": int(out.n_passes),
        "irls_converged": bool(out.converged),
        "theta_median": float(out.theta_median),
        "n_negative_variance": int(out.negative_genes.sum()),
    })
    if not inplace:
        return CSCoreResult(names, out.est, out.p_value, out.test_stat, params)
    adata.uns[key_added] = {
        "genes": names,
        "est": out.est,
        "p_value": out.p_value,
        "test_stat": out.test_stat,
        "params": params,
    }
    logger.info("cscore: added adata.uns[%r] (%d genes).", key_added, idx.size)
    return None
