"""SPARK-X spatially variable genes (Zhu, Sun & Zhou 2021, *Genome Biology* 22:184).

For every gene ``y`` (counts over ``n`` spots) and every spatial kernel ``k`` SPARK-X computes the
covariance test statistic

.. math::

    T_{gk} = n \\, \\frac{y^\\top H E_k (E_k^\\top H E_k)^{-1} E_k^\\top H y}{y^\\top y},

where ``E_k`` (``n × d``) holds the coordinates, or a Gaussian / cosine transform of them, and ``H`` centres
over spots. Under the null of no spatial pattern ``T_gk`` follows ``Σ_j λ_G λ_{K,j} χ²_1``, a mixture of
chi-squares with ``λ_G = 1 − n ȳ² / yᵀy`` and ``λ_K`` the non-zero eigenvalues of the centred kernel.
The per-kernel p-values are combined with the Cauchy combination rule (ACAT) and the combined p-values are
adjusted across genes with Benjamini–Yekutieli.

Everything here works with the ``n × d`` feature matrices (an orthonormal basis of their column space), so
time and memory are linear in the number of spots; no ``n × n`` kernel is ever formed. The counts are read
once, block by block, and a sparse matrix is never densified.

This is an independent Python implementation of the method as published in the authors' R package
(``SPARK::sparkx``, ``option = "mixture"``: one projection kernel plus five Gaussian and five cosine
kernels); see :func:`sparkx_test` for how each detail of the R code is matched.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy import stats

from .._docs import doc_common, doc_params
from .._progress import progress_bar
from .._utils import check_adata, check_counts, get_matrix, logger, uns_params
from .._warnings import MuseGNNWarning
from ._backend import GPU_BLOCK_ENTRIES, ArrayBackend, resolve_backend

__all__ = ["sparkx", "sparkx_test"]

#: Minimum number of spots (with non-zero total counts) SPARK-X is run on.
MIN_SPOTS = 20
#: Quantiles of ``|centred coordinate|`` giving the five Gaussian / cosine length scales
#: (R: ``seq(0.2, 1, by = 0.2)``).
_SCALE_QUANTILES = (0.2, 0.4, 0.6, 0.8, 1.0)
#: Entries (dense) or stored values (sparse) read per block of the count matrix.
_BLOCK_ENTRIES = 1 << 20
#: Genes whose ``λ_G`` (centred over uncentred sum of squares) is below this are treated as constant.
_CONSTANT_TOL = 1e-10


def _check_option(option: Any, func: str) -> None:
    if option not in ("mixture", "single"):
        raise ValueError(f"{func}: `option` must be 'mixture' or 'single', got {option!r}.")


def _check_coords(coords: Any, n_spots: int, func: str) -> np.ndarray:
    """Validate spot coordinates and return them as a float64 ``n × d`` array."""
    try:
        C = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{func}: spatial coordinates must be numeric ({err}).") from err
    if C.ndim != 2 or C.shape[1] not in (2, 3):
        raise ValueError(
            f"{func}: spatial coordinates must be a spots × 2 (or spots × 3) array, got shape {C.shape}."
        )
    if C.shape[0] != n_spots:
        raise ValueError(
            f"{func}: spatial coordinates have {C.shape[0]} rows but the count matrix has {n_spots} spots."
        )
    if not np.all(np.isfinite(C)):
        bad = int((~np.isfinite(C)).any(axis=1).sum())
        raise ValueError(
            f"{func}: {bad} spot(s) have NaN or infinite coordinates; remove those spots first "
            "(e.g. `adata = adata[np.isfinite(adata.obsm[key]).all(1)].copy()`)."
        )
    return C


def _orthonormal_basis(F: np.ndarray) -> np.ndarray:
    """Orthonormal basis (``n × r``) of the column space of the spot-centred features ``F``.

    ``y' H F (F' H F)^{-1} F' H y = ||Uᵀ y||²`` for this ``U``; using the SVD instead of the explicit inverse
    of the R code also covers rank-deficient features (the R code would stop in ``solve``).
    """
    Fc = F - F.mean(axis=0, keepdims=True)
    if Fc.shape[1] == 0:
        return np.zeros((F.shape[0], 0))
    U, s, _ = np.linalg.svd(Fc, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.zeros((F.shape[0], 0))
    keep = s > s[0] * max(Fc.shape) * np.finfo(np.float64).eps
    return np.ascontiguousarray(U[:, keep])


def _kernel_bases(coords: np.ndarray, option: str) -> list[tuple[str, np.ndarray]]:
    """Per-kernel orthonormal bases of the (transformed) coordinates, as in ``SPARK::sparkx``.

    Projection kernel: the coordinates themselves. Gaussian kernel ``i``: ``exp(-c² / (2 l_i²))`` of each
    centred coordinate axis ``c``; cosine kernel ``i``: ``cos(2π c / l_i)``; ``l_i`` is the ``0.2 i`` quantile
    of ``|c|`` (R's default quantile definition, type 7, equals numpy's ``"linear"``).
    """
    bases = [("projection", _orthonormal_basis(coords))]
    if option == "single":
        return bases
    centred = coords - coords.mean(axis=0, keepdims=True)
    scales = np.quantile(np.abs(centred), _SCALE_QUANTILES, axis=0)  # 5 × d
    for kind in ("gaus", "cos"):
        for i in range(len(_SCALE_QUANTILES)):
            cols = []
            for j in range(centred.shape[1]):
                length = scales[i, j]
                if length <= 0.0:
                    # >= 20 % of the spots sit exactly on the axis mean: the transform is undefined
                    # (R would produce NaN); the axis is left out of this kernel.
                    continue
                c = centred[:, j]
                if kind == "gaus":
                    cols.append(np.exp(-(c**2) / (2.0 * length**2)))
                else:
                    cols.append(np.cos(2.0 * np.pi * c / length))
            F = np.column_stack(cols) if cols else np.zeros((coords.shape[0], 0))
            bases.append((f"{kind}{i + 1}", _orthonormal_basis(F)))
    return bases


def _row_blocks(X: Any, n_genes: int) -> list[tuple[int, int]]:
    """Spot ranges ``[r0, r1)`` so that each block holds about ``_BLOCK_ENTRIES`` entries."""
    n = X.shape[0]
    if sp.issparse(X):
        indptr = X.indptr
        bounds = [0]
        target = _BLOCK_ENTRIES
        while bounds[-1] < n:
            r0 = bounds[-1]
            r1 = int(np.searchsorted(indptr, indptr[r0] + target, side="right")) - 1
            bounds.append(min(n, max(r1, r0 + 1)))
    else:
        step = max(1, _BLOCK_ENTRIES // max(1, n_genes))
        bounds = list(range(0, n, step)) + [n]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _col_blocks(X: sp.csc_matrix) -> list[tuple[int, int]]:
    """Gene ranges ``[c0, c1)`` with about ``_BLOCK_ENTRIES`` stored values each (CSC input)."""
    indptr = X.indptr
    bounds = [0]
    while bounds[-1] < X.shape[1]:
        c0 = bounds[-1]
        c1 = int(np.searchsorted(indptr, indptr[c0] + _BLOCK_ENTRIES, side="right")) - 1
        bounds.append(min(X.shape[1], max(c1, c0 + 1)))
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _gene_moments(
    X: Any, basis: np.ndarray, be: ArrayBackend, show_progress_bar: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass over the counts: per-gene ``Σ y``, ``Σ y²`` and ``Uᵀ y`` (genes × basis columns).

    numpy: CSR and dense matrices are read in blocks of spots (contiguous rows), CSC matrices in blocks of
    genes; each block is converted to float64 on its own, so at most one block is copied at a time. torch
    (a GPU): the same blocks are sent to the device as they are stored (sparse blocks as CSR, densified there)
    and the sums and products run on it.
    """
    if be.name == "torch":
        return _gene_moments_torch(X, basis, be, show_progress_bar)
    G = X.shape[1]
    s1 = np.zeros(G)
    s2 = np.zeros(G)
    proj = np.zeros((G, basis.shape[1]))
    if sp.issparse(X) and X.format == "csc":
        blocks = _col_blocks(X)
        for c0, c1 in progress_bar(blocks, desc="SPARK-X", leave=False, show_progress_bar=show_progress_bar):
            B = X[:, c0:c1].astype(np.float64)
            s1[c0:c1] = np.asarray(B.sum(axis=0)).ravel()
            s2[c0:c1] = np.asarray(B.multiply(B).sum(axis=0)).ravel()
            proj[c0:c1] = np.asarray(B.T @ basis)
        return s1, s2, proj
    blocks = _row_blocks(X, G)
    for r0, r1 in progress_bar(blocks, desc="SPARK-X", leave=False, show_progress_bar=show_progress_bar):
        Ub = basis[r0:r1]
        if sp.issparse(X):
            B = X[r0:r1].astype(np.float64)
            s1 += np.asarray(B.sum(axis=0)).ravel()
            s2 += np.asarray(B.multiply(B).sum(axis=0)).ravel()
            proj += np.asarray(B.T @ Ub)
        else:
            B = np.asarray(X[r0:r1], dtype=np.float64)
            s1 += B.sum(axis=0)
            s2 += np.einsum("ij,ij->j", B, B)
            proj += B.T @ Ub
    return s1, s2, proj


def _gene_moments_torch(
    X: Any, basis: np.ndarray, be: ArrayBackend, show_progress_bar: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_gene_moments` in torch: dense float64 blocks of at most ``GPU_BLOCK_ENTRIES`` entries."""
    import torch

    n, G = X.shape
    f64, dev = be.f64, be.device
    U = be.asarray(basis, f64)
    s1 = torch.zeros(G, dtype=f64, device=dev)
    s2 = torch.zeros(G, dtype=f64, device=dev)
    proj = torch.zeros((G, basis.shape[1]), dtype=f64, device=dev)

    def dense(block: Any) -> Any:
        if not sp.issparse(block):
            return be.asarray(np.asarray(block), f64)
        block = sp.csr_matrix(block)
        # the stored values are scattered into a dense block on the device (duplicates summed); torch's sparse
        # CSR tensors would do the same but warn that they are in beta
        rows = np.repeat(np.arange(block.shape[0], dtype=np.int64), np.diff(block.indptr))
        out = torch.zeros(block.shape, dtype=f64, device=dev)
        out.index_put_(
            (torch.from_numpy(rows).to(dev), torch.from_numpy(block.indices.astype(np.int64)).to(dev)),
            torch.from_numpy(np.asarray(block.data, dtype=np.float64)).to(dev),
            accumulate=True,
        )
        return out

    target = GPU_BLOCK_ENTRIES if be.on_gpu else _BLOCK_ENTRIES
    if sp.issparse(X) and X.format == "csc":  # blocks of genes, every spot
        step = max(1, target // max(1, n))
        for c0 in progress_bar(range(0, G, step), desc="SPARK-X", leave=False, show_progress_bar=show_progress_bar):
            c1 = min(G, c0 + step)
            B = dense(X[:, c0:c1])
            s1[c0:c1] = B.sum(0)
            s2[c0:c1] = (B * B).sum(0)
            proj[c0:c1] = B.T @ U
    else:
        step = max(1, target // max(1, G))
        for r0 in progress_bar(range(0, n, step), desc="SPARK-X", leave=False, show_progress_bar=show_progress_bar):
            r1 = min(n, r0 + step)
            B = dense(X[r0:r1])
            s1 += B.sum(0)
            s2 += (B * B).sum(0)
            proj += B.T @ U[r0:r1]
    return be.to_numpy(s1), be.to_numpy(s2), be.to_numpy(proj)


def _acat(P: np.ndarray) -> np.ndarray:
    """Cauchy combination (ACAT, equal weights) of each row of ``P`` (genes × kernels, no NaN).

    Follows the rules of ``SPARK::ACAT``: ``tan((0.5 − p)π)`` is replaced by its asymptote ``1/(pπ)`` for
    ``p < 1e-16``; a statistic above ``1e15`` gets p ``1/(tπ)``; a row with a p-value exactly 1 combines to 1,
    one with a p-value exactly 0 to 0 (R stops when a row has both; 0 takes precedence here). For better
    precision than R, ``tan((0.5 − p)π)`` is evaluated as ``1/tan(pπ)`` for ``p ≤ 0.5`` (same value; no
    cancellation next to the pole) and the Cauchy upper tail as ``arctan2(1, t)/π`` (unlike ``1 − pcauchy(t)``
    it keeps full relative precision), so one p-value combines to itself.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        small = P < 1e-16
        terms = np.where(P <= 0.5, 1.0 / np.tan(np.where(small, 0.25, P) * np.pi), np.tan((0.5 - P) * np.pi))
        terms = np.where(small, 1.0 / (np.where(small, P, 1.0) * np.pi), terms)
        stat = terms.mean(axis=1)
        out = np.where(stat > 1e15, 1.0 / (stat * np.pi), np.arctan2(1.0, stat) / np.pi)
    out[(P == 1.0).any(axis=1)] = 1.0
    out[(P == 0.0).any(axis=1)] = 0.0
    return out


@doc_params(doc_common)
def sparkx_test(
    counts: np.ndarray | sp.spmatrix | sp.sparray,
    coords: np.ndarray,
    *,
    option: Literal["mixture", "single"] = "mixture",
    gene_names: Sequence[str] | pd.Index | None = None,
    return_kernels: bool = False,
    device: Any = None,
    backend: Literal["auto", "numpy", "torch"] = "auto",
    show_progress_bar: bool | None = None,
) -> pd.DataFrame:
    """SPARK-X test of spatial expression for every gene of a spots × genes count matrix.

    Each gene is tested against 11 spatial kernels (``option="mixture"``: the coordinates, and their Gaussian
    and cosine transforms at five length scales) or only against the coordinates (``option="single"``).
    Per-kernel p-values are combined with the Cauchy combination rule and adjusted with Benjamini–Yekutieli
    over the tested genes. Time and memory are linear in the number of spots.

    Details follow the authors' R code (``SPARK::sparkx``): spots with zero total counts are removed (before
    the coordinates are centred and the length scales computed), each coordinate axis is centred and
    transformed on its own, the Gaussian/cosine length scales are the 20 %, 40 %, ..., 100 % quantiles of the
    absolute centred coordinate, and the counts enter the test as they are (no normalisation; SPARK-X is a
    non-parametric covariance test).

    Parameters
    ----------
    counts
        Expression, spots × genes, dense or sparse (CSR/CSC). Read block by block; never densified whole.
    coords
        Spot coordinates, spots × 2 (or spots × 3).
    {option}
    gene_names
        Index of the result; default ``0 .. n_genes − 1``.
    return_kernels
        Also return the per-kernel statistics ``stat_<kernel>`` and p-values ``pval_<kernel>``
        (kernels ``projection``, ``gaus1`` … ``gaus5``, ``cos1`` … ``cos5``).
    device
        Where the pass over the counts runs: ``None``/``"auto"`` (a CUDA GPU when available, else the CPU),
        ``"cpu"`` or ``"cuda[:i]"``. The kernels, the null distribution and the combination always run on the
        CPU (they are ``spots × 22`` and ``genes × 11`` arrays).
    {backend}
    show_progress_bar
        Show a progress bar over the blocks of the count matrix; ``None`` follows ``mg.settings.progress_bar``.

    Returns
    -------
    One row per gene with columns ``pval`` (Cauchy-combined) and ``padj`` (BY-adjusted), plus the per-kernel
    columns when requested. Genes with zero counts on every spot, or the same value on every spot, cannot be
    tested: their row is NaN and a warning names how many there are.

    Raises
    ------
    ValueError
        If the coordinates are not a finite spots × 2/3 array matching ``counts``, fewer than 20 spots have
        non-zero counts, all spots share one position, or ``counts`` holds NaN/infinite values.

    Notes
    -----
    *P-values.* The R code evaluates the null distribution ``Σ_j λ_G λ_{K,j} χ²_1`` of each statistic with
    Davies' characteristic-function inversion (``CompQuadForm::davies``, accuracy 1e-6), falling back to
    Liu's moment-matching approximation when Davies returns a non-positive value. Every SPARK-X kernel is a
    projection onto the centred feature columns, so ``λ_K``, the eigenvalues of ``(EᵀHE)(EᵀHE)^{-1}`` in the
    R code, are all 1 and the mixture is exactly ``λ_G χ²_r`` (``r`` the kernel's rank, 2 for planar
    coordinates). For equal weights Liu's approximation is exact (matching skewness and kurtosis gives
    ``l = r`` degrees of freedom and no non-centrality, i.e. ``P(χ²_r > T/λ_G)``), and Davies' inversion
    approximates the same value to 1e-6. We therefore evaluate ``P(χ²_r > T/λ_G)`` in closed form
    (``scipy.stats.chi2.sf``): the value both R branches compute, without Davies' absolute 1e-6 error on
    very small p-values. Implemented by hand from the method; no code was taken from the R package.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xy = np.stack(np.meshgrid(np.arange(20), np.arange(20)), -1).reshape(-1, 2).astype(float)
    >>> counts = rng.poisson(2.0, size=(400, 5))
    >>> counts[:, 0] = rng.poisson(1.0 + 4.0 * (xy[:, 0] > 10))  # a spatial gene
    >>> res = sparkx_test(counts, xy)
    >>> bool(res["padj"].iloc[0] < 1e-10)
    True
    """
    func = "sparkx_test"
    _check_option(option, func)
    be = resolve_backend(device, backend, np.float64, func)
    if not (sp.issparse(counts) or isinstance(counts, np.ndarray)):
        counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"{func}: `counts` must be a 2-d spots × genes matrix, got shape {counts.shape}.")
    if sp.issparse(counts):
        counts = sp.csc_matrix(counts) if counts.format == "csc" else sp.csr_matrix(counts)
    elif not np.issubdtype(counts.dtype, np.number) or np.issubdtype(counts.dtype, np.complexfloating):
        raise TypeError(f"{func}: `counts` must hold real numbers, got dtype {counts.dtype}.")
    n_spots, n_genes = counts.shape
    C = _check_coords(coords, n_spots, func)
    if gene_names is None:
        index = pd.RangeIndex(n_genes)
    else:
        index = pd.Index(gene_names)
        if len(index) != n_genes:
            raise ValueError(f"{func}: {len(index)} gene names given for {n_genes} genes.")

    # spots without any count carry no information and are dropped, as in SPARK::sparkx
    totals = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    if not np.all(np.isfinite(totals)):
        raise ValueError(f"{func}: `counts` contains NaN or infinite values; remove or impute them first.")
    spot_mask = totals != 0
    n_used = int(spot_mask.sum())
    if n_used < MIN_SPOTS:
        raise ValueError(
            f"{func}: only {n_used} spots have non-zero counts; SPARK-X needs at least {MIN_SPOTS}."
        )
    C_used = C[spot_mask]
    if np.all(np.ptp(C_used, axis=0) == 0):
        raise ValueError(f"{func}: all spots have the same coordinates; nothing spatial to test.")
    if n_used < n_spots:
        logger.info("sparkx: %d of %d spots have zero counts and are left out.", n_spots - n_used, n_spots)

    bases = _kernel_bases(C_used, option)
    names = [name for name, U in bases if U.shape[1] > 0]
    dropped = [name for name, U in bases if U.shape[1] == 0]
    if dropped:
        warnings.warn(
            f"{func}: kernel(s) {dropped} are degenerate for these coordinates (constant features) and are "
            "left out of the combination.",
            MuseGNNWarning,
            stacklevel=2,
        )
    ranks = np.array([U.shape[1] for name, U in bases if U.shape[1] > 0])
    basis = np.hstack([U for _, U in bases if U.shape[1] > 0])
    if n_used < n_spots:  # zero rows for dropped spots: they add nothing to Uᵀy
        full = np.zeros((n_spots, basis.shape[1]))
        full[spot_mask] = basis
        basis = full

    s1, s2, proj = _gene_moments(counts, basis, be, show_progress_bar)
    if not (np.all(np.isfinite(s2)) and np.all(np.isfinite(proj))):
        raise ValueError(f"{func}: `counts` contains NaN or infinite values; remove or impute them first.")

    n = float(n_used)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_g = 1.0 - s1**2 / (n * s2)  # λ_G = 1 − n ȳ² / yᵀy
    zero = s2 == 0
    constant = ~zero & ~(lam_g > _CONSTANT_TOL)
    tested = ~zero & ~constant
    if zero.any() or constant.any():
        parts = []
        if zero.any():
            parts.append(f"{int(zero.sum())} with zero counts on every spot")
        if constant.any():
            parts.append(f"{int(constant.sum())} with the same value on every spot")
        warnings.warn(
            f"{func}: {' and '.join(parts)} cannot be tested; their p-values are NaN.",
            MuseGNNWarning,
            stacklevel=2,
        )

    K = len(names)
    stat = np.full((n_genes, K), np.nan)
    pk = np.full((n_genes, K), np.nan)
    edges = np.concatenate([[0], np.cumsum(ranks)])
    sq = proj[tested] ** 2
    for k in range(K):
        # T = n ||Uᵀy||² / yᵀy  (R: EHL loc_inv EHLᵀ · n / Σy²)
        t = n * sq[:, edges[k] : edges[k + 1]].sum(axis=1) / s2[tested]
        stat[tested, k] = t
        pk[tested, k] = stats.chi2.sf(t / lam_g[tested], df=ranks[k])

    pval = np.full(n_genes, np.nan)
    padj = np.full(n_genes, np.nan)
    if tested.any():
        pval[tested] = _acat(pk[tested])
        padj[tested] = stats.false_discovery_control(pval[tested], method="by")
    out = pd.DataFrame({"pval": pval, "padj": padj}, index=index)
    if return_kernels:
        for k, name in enumerate(names):
            out[f"stat_{name}"] = stat[:, k]
        for k, name in enumerate(names):
            out[f"pval_{name}"] = pk[:, k]
    out.attrs.update(
        {"n_spots_used": n_used, "kernels": names, "n_genes_tested": int(tested.sum()), "device": str(be.device)}
    )
    logger.info(
        "sparkx: tested %d of %d genes on %d spots with %d kernels; %d at padj < 0.05.",
        int(tested.sum()),
        n_genes,
        n_used,
        K,
        int(np.sum(padj[tested] < 0.05)),
    )
    return out


def _resolve_genes(adata: AnnData, genes: Any, func: str) -> np.ndarray:
    """Integer indices of ``genes`` (names or boolean mask) in ``adata.var_names``."""
    if genes is None:
        return np.arange(adata.n_vars)
    arr = np.asarray(genes)
    if arr.dtype == bool:
        if arr.shape != (adata.n_vars,):
            raise ValueError(
                f"{func}: a boolean `genes` mask must have length adata.n_vars = {adata.n_vars}, "
                f"got shape {arr.shape}."
            )
        idx = np.flatnonzero(arr)
    else:
        names = pd.Index(np.atleast_1d(arr).astype(str))
        if not names.is_unique:
            raise ValueError(f"{func}: `genes` contains duplicated names.")
        idx = adata.var_names.get_indexer(names)
        if (idx < 0).any():
            missing = names[idx < 0][:5].tolist()
            raise KeyError(
                f"{func}: {int((idx < 0).sum())} gene(s) of `genes` are not in `adata.var_names`, "
                f"e.g. {missing}."
            )
        idx = np.sort(idx)
    if idx.size == 0:
        raise ValueError(f"{func}: `genes` selects no gene.")
    return idx


@doc_params(doc_common)
def sparkx(
    adata: AnnData,
    *,
    spatial_key: str = "spatial",
    layer: str | None = None,
    genes: Sequence[str] | np.ndarray | None = None,
    option: Literal["mixture", "single"] = "mixture",
    allow_noncounts: bool = False,
    device: str = "auto",
    inplace: bool = True,
    key_added: str = "sparkx",
    show_progress_bar: bool | None = None,
) -> pd.DataFrame | None:
    """Find spatially variable genes with SPARK-X.

    Runs :func:`sparkx_test` on the counts of ``adata`` (spots × genes) and the coordinates in
    ``adata.obsm[spatial_key]``. Linear in the number of spots; sparse counts are never densified.

    Parameters
    ----------
    adata
        Spatial AnnData with raw counts (spots × genes) and spot coordinates in ``adata.obsm[spatial_key]``.
    {spatial_key}
    {layer}
    genes
        Names (or a boolean mask over ``adata.var_names``) of the genes to test; default all. Spots with zero
        counts over these genes are left out.
    {option}
    {allow_noncounts}
    device
        ``"auto"`` (a CUDA GPU when available, else the CPU), ``"cpu"`` or ``"cuda[:i]"``: where the pass over
        the counts runs (see :func:`sparkx_test`).
    inplace
        Write the results to ``adata`` (default); otherwise return them and leave ``adata`` unchanged.
    key_added
        Prefix of the written columns and key in ``adata.uns``.
    show_progress_bar
        Show a progress bar over the blocks of the count matrix; ``None`` follows ``mg.settings.progress_bar``.

    Returns
    -------
    ``None`` when ``inplace``; otherwise a DataFrame indexed by the tested genes with columns ``pval`` and
    ``padj``. With ``inplace=True`` sets

    ``adata.var[f"{key_added}_pval"]``
        Cauchy-combined SPARK-X p-value (NaN for genes not tested: not in ``genes``, all zero or constant).
    ``adata.var[f"{key_added}_padj"]``
        Benjamini–Yekutieli adjusted p-value over the tested genes.
    ``adata.uns[key_added]["params"]``
        The parameters (``"layer"`` only when a layer was used), the kernels used, and the numbers of spots
        and genes tested.

    Raises
    ------
    KeyError
        If ``adata.obsm[spatial_key]``, the layer, or a gene of ``genes`` is missing.
    ValueError
        If the coordinates are not a finite spots × 2/3 array, fewer than 20 spots are usable, or the values
        are not counts (see ``allow_noncounts``). ``adata`` is left unchanged when an error is raised.

    Examples
    --------
    >>> import numpy as np, anndata as ad
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> xy = np.stack(np.meshgrid(np.arange(20), np.arange(20)), -1).reshape(-1, 2).astype(float)
    >>> X = rng.poisson(2.0, size=(400, 5)).astype(np.float32)
    >>> X[:, 0] = rng.poisson(1.0 + 4.0 * (xy[:, 0] > 10))
    >>> adata = ad.AnnData(X, obsm={"spatial": xy})
    >>> mg.pp.sparkx(adata)
    >>> bool(adata.var["sparkx_padj"].iloc[0] < 1e-10)
    True
    """
    func = "sparkx"
    check_adata(adata, func, min_cells=MIN_SPOTS)
    if spatial_key not in adata.obsm:
        raise KeyError(
            f"{func}: no spatial coordinates in `adata.obsm[{spatial_key!r}]`; set them with "
            f"`adata.obsm[{spatial_key!r}] = coords` (a spots × 2 array) or pass `spatial_key=` "
            f"(available obsm keys: {list(adata.obsm.keys())})."
        )
    coords = _check_coords(adata.obsm[spatial_key], adata.n_obs, func)
    X = get_matrix(adata, layer, func)
    gene_idx = _resolve_genes(adata, genes, func)
    if gene_idx.size < adata.n_vars:
        X = X[:, gene_idx]
    check_counts(X, func, allow_noncounts=allow_noncounts)

    res = sparkx_test(
        X, coords, option=option, gene_names=adata.var_names[gene_idx], device=device,
        show_progress_bar=show_progress_bar,
    )
    # uns_params: `layer=None` is left out (read it with params.get("layer")), see _utils.uns_params
    params = uns_params({
        "spatial_key": spatial_key,
        "layer": layer,
        "option": option,
        "genes": "all" if genes is None else "subset",
        # an array, not a list: anndata writes lists as arrays, so the type survives .h5ad/.zarr
        "kernels": np.asarray(res.attrs["kernels"], dtype=object),
        "n_spots_used": int(res.attrs["n_spots_used"]),
        "n_genes_tested": int(res.attrs["n_genes_tested"]),
        "adjustment": "BY",
        "device": res.attrs["device"],
    })
    if not inplace:
        res.attrs["params"] = params
        return res
    pval = np.full(adata.n_vars, np.nan)
    padj = np.full(adata.n_vars, np.nan)
    pval[gene_idx] = res["pval"].to_numpy()
    padj[gene_idx] = res["padj"].to_numpy()
    adata.var[f"{key_added}_pval"] = pval
    adata.var[f"{key_added}_padj"] = padj
    adata.uns[key_added] = {"params": params}
    return None
