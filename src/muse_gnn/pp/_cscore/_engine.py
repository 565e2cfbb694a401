"""The CS-CORE driver: validates the arrays, picks the backend and block size, and runs the stages.

:func:`_cscore_engine` runs IRLS (:mod:`._irls`), the pair products (:mod:`._pairs`) and the final
divisions over cell blocks (:mod:`._blocks`) on the numpy or torch backend, and returns an
:class:`_EngineOutput` with the three matrices and the IRLS diagnostics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ..._warnings import MuseGNNWarning
from .._backend import resolve_backend
from ._blocks import _Blocks, _check_values, _default_block_size
from ._irls import _irls
from ._pairs import _divide_by_outer, _pair_products, _post_process, _two_sided_p

__all__ = ["_EngineOutput", "_check_engine_inputs", "_cscore_engine"]


@dataclass
class _EngineOutput:
    est: np.ndarray
    p_value: np.ndarray
    test_stat: np.ndarray
    mu: np.ndarray
    sigma2: np.ndarray
    theta_median: float
    n_passes: int
    converged: bool
    zero_genes: np.ndarray
    negative_genes: np.ndarray
    block_size: int
    backend: str
    device: str


def _check_engine_inputs(counts: Any, seq_depth: Any, genes: np.ndarray | None) -> tuple[Any, np.ndarray]:
    func = "cscore_arrays"
    if sp.issparse(counts):
        if not isinstance(counts, sp.csr_matrix | sp.csr_array):
            # row blocks are cheap to cut from CSR; this copies the stored values, it does not densify
            counts = sp.csr_matrix(counts)
    else:
        counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"{func}: `counts` must be a 2-d cells × genes matrix, got shape {counts.shape}.")
    if (
        counts.dtype == bool
        or not np.issubdtype(counts.dtype, np.number)
        or np.issubdtype(counts.dtype, np.complexfloating)
    ):
        raise TypeError(f"{func}: `counts` must hold real numbers, got dtype {counts.dtype}.")
    if sp.issparse(counts):
        _check_values(counts.data)
    s = np.asarray(seq_depth, dtype=np.float64)
    if s.ndim != 1 or s.shape[0] != counts.shape[0]:
        raise ValueError(
            f"{func}: `seq_depth` must be a 1-d array with one value per cell ({counts.shape[0]}), "
            f"got shape {s.shape}."
        )
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        bad = int(np.sum(~(np.isfinite(s) & (s > 0))))
        raise ValueError(
            f"{func}: `seq_depth` must be finite and > 0 for every cell; {bad} cell(s) are not. "
            "Remove cells without counts first (e.g. `sc.pp.filter_cells(adata, min_counts=1)`)."
        )
    n_genes = counts.shape[1] if genes is None else len(genes)
    if n_genes < 1 or counts.shape[0] < 2:
        raise ValueError(f"{func}: need at least 2 cells and 1 gene, got {counts.shape[0]} × {n_genes}.")
    return counts, s


def _cscore_engine(
    counts: Any,
    seq_depth: Any,
    *,
    genes: np.ndarray | None = None,
    post_process: bool = True,
    block_size: int | None = None,
    device: Any = None,
    backend: str = "auto",
    dtype: Any = np.float64,
    denominators: Literal["auto", "divided", "product"] = "auto",
    values_checked: bool = False,
    show_progress_bar: bool | None = None,
) -> _EngineOutput:
    be = resolve_backend(device, backend, dtype, "cscore_arrays")
    if denominators == "auto":
        denominators = "divided" if be.name == "numpy" and be.cdt == np.float64 else "product"
    elif denominators == "divided" and not (be.name == "numpy" and be.cdt == np.float64):
        raise ValueError("cscore: denominators='divided' needs the numpy backend and float64.")
    elif denominators not in ("divided", "product"):
        raise ValueError(f"cscore: unknown denominators={denominators!r}.")
    counts, s = _check_engine_inputs(counts, seq_depth, genes)
    n_cells = counts.shape[0]
    n_genes = counts.shape[1] if genes is None else len(genes)
    if block_size is None:
        block_size = _default_block_size(n_cells, n_genes, be)
    elif not isinstance(block_size, int | np.integer) or block_size < 1:
        raise ValueError(f"cscore_arrays: `block_size` must be a positive integer, got {block_size!r}.")
    block_size = int(min(block_size, n_cells))
    blocks = _Blocks(counts, genes, block_size, be)
    if values_checked:  # the caller has validated the values (cscore does, with check_counts)
        blocks._checked = True

    mu, sigma2, tm, n_passes, converged = _irls(blocks, s, be)
    zero = mu == 0
    if zero.any():
        # _cscore_engine <- cscore_arrays <- the caller (cscore refuses genes without counts)
        warnings.warn(
            f"cscore_arrays: {int(zero.sum())} gene(s) have no counts; their rows and columns are NaN.",
            MuseGNNWarning,
            stacklevel=3,
        )
    # Work on safe values for genes without counts (their rows are set to NaN at the end, like the
    # reference, whose arithmetic yields 0/0 there); they do not influence the other genes.
    mu_safe = np.where(zero, 1.0, mu)
    kappa = mu / tm
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(zero, 0.0, sigma2 / mu_safe)
    N, D, NT, DT = _pair_products(blocks, s, mu, kappa, lam, be, denominators, show_progress_bar)
    del blocks

    xp = be.xp
    # σ_gh = N / D (the per-gene factors 1/(μ_g μ_h) of numerator and denominator cancel)
    with np.errstate(divide="ignore", invalid="ignore"):
        covar = N
        covar /= D
        del D
        negative = sigma2 < 0
        sd = np.sqrt(np.where(negative, 1.0, sigma2))
        _divide_by_outer(covar, be.asarray(sd, covar.dtype))
        est = be.to_numpy(covar)
        del covar, N
        # T = N_T / sqrt(D_T μ_g μ_h)
        xp.sqrt(DT, out=DT)
        NT /= DT
        del DT
        _divide_by_outer(NT, be.asarray(np.sqrt(mu_safe), NT.dtype))
        if be.name == "numpy":
            test_stat = np.asarray(NT, dtype=np.float64)
            p_value = _two_sided_p(test_stat)
        else:
            import torch

            test_stat = be.to_numpy(NT)
            p_value = be.to_numpy(2.0 * torch.special.ndtr(-NT.abs()))
        del NT
    idx = np.flatnonzero(negative)
    est[idx, idx] = np.inf
    if post_process:
        est = _post_process(est)
    if zero.any():
        for a in (est, p_value, test_stat):
            a[zero, :] = np.nan
            a[:, zero] = np.nan
    return _EngineOutput(
        est=est,
        p_value=p_value,
        test_stat=test_stat,
        mu=mu,
        sigma2=sigma2,
        theta_median=tm,
        n_passes=n_passes,
        converged=converged,
        zero_genes=zero,
        negative_genes=negative,
        block_size=block_size,
        backend=be.name,
        device=str(be.device),
    )
