"""CS-CORE gene–gene co-expression (Su et al. 2023, *Nat Commun* 14:4846).

Counts are modelled as ``x_ig ~ Poisson(s_i z_ig)``, with ``s_i`` the sequencing depth of cell ``i`` and
``z_ig`` the underlying expression of gene ``g`` (mean ``μ_g``, variance ``σ_gg``, covariance ``σ_gh``).
The moments are estimated by (iteratively re-weighted) least squares:

* ``μ_g`` from ``x_ig ≈ s_i μ_g`` and ``σ_gg`` from ``(x_ig − s_i μ_g)² − s_i μ_g ≈ s_i² σ_gg``, iterated with
  working variances ``w_ig = s_i μ_g + s_i² μ_g² / θ̃`` (``θ̃`` the median of ``θ_g = μ_g² / σ_gg`` over genes with
  ``θ_g > 0``; the ``σ`` regression is weighted by ``1 / w²``) until the largest change of ``log θ_g`` is below
  0.05, or for at most 11 passes;
* ``σ_gh`` from ``(x_ig − s_i μ_g)(x_ih − s_i μ_h) ≈ s_i² σ_gh`` with weights ``1 / (w_ig w_ih)``, for all pairs;
* the score statistic of ``H0: σ_gh = 0`` with variances ``s_i μ_g + s_i² σ_gg`` and a two-sided normal p-value;
* ``ρ_gh = σ_gh / sqrt(σ_gg σ_hh)``, post-processed (genes with ``σ_gg < 0`` get ``ρ = 0``, diagonal 1, clipped
  to ``[−1, 1]``).

This is an independent implementation that reproduces the outputs of the authors' Python function
``CSCORE_IRLS`` (github.com/ChangSuBiostats/CS-CORE_python), including its convergence rule, to about
``1e-13`` relative (see ``tests/test_cscore.py``). It differs in how the numbers are computed:

* the working weights are written as ``w_ig = s_i μ_g (1 + s_i κ_g)`` with ``κ_g = μ_g / θ̃``, so every weighted
  sum reduces to sums of ``r_ig = 1 / (1 + s_i κ_g)`` and the per-gene factors ``μ_g`` cancel in the ratios;
* the cells are processed in blocks of ``block_size`` rows: a sparse matrix is densified one block at a time,
  and the four genes × genes cross-products are accumulated block by block (``Bᵀ B`` uses the symmetric BLAS
  kernel), so the peak memory is about ``block_size × n_genes`` plus a few ``n_genes²`` matrices instead of
  a dozen ``n_cells × n_genes`` temporaries;
* p-values are computed as ``2 Φ(−|T|)`` (accurate in the tail) instead of ``2 (1 − Φ(|T|))``, which rounds
  to 0 for ``|T| > 8.3``; the two agree to ``1e-16`` absolute;
* on a GPU (``device="cuda"`` or ``"auto"`` with CUDA available) the block arithmetic and the products run in
  :mod:`torch`; on the CPU :mod:`numpy` is used by default (faster there, see ``benchmarks/cscore.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy.special import ndtr
from tqdm.auto import tqdm

from .._utils import check_adata, check_counts, get_matrix, logger

__all__ = ["cscore", "cscore_arrays", "CSCoreResult"]

#: IRLS stops when the largest absolute change of ``log θ_g`` is below this (reference value).
IRLS_TOL = 0.05
#: The reference loop runs ``while delta > tol and j <= 10``: at most 11 passes.
IRLS_MAX_PASSES = 11
#: Minimum number of cells for :func:`cscore`.
MIN_CELLS = 20
#: :func:`cscore` warns above this many genes (three ``n_genes²`` float64 outputs).
MANY_GENES = 5000
#: Target number of float64 entries of one ``block_size × n_genes`` working array (CPU; 32 MiB).
_BLOCK_ENTRIES_CPU = 1 << 22
#: Same on a GPU (256 MiB).
_BLOCK_ENTRIES_GPU = 1 << 25
_MIN_BLOCK = 256


# ----------------------------------------------------------------------------------------------------------
# backends
# ----------------------------------------------------------------------------------------------------------
class _Backend:
    """The few array operations the engine needs, for numpy (CPU) or torch (CPU or CUDA).

    numpy and torch share the names used here (``multiply``, ``subtract``, ``reciprocal``, ``sqrt`` with
    ``out=``, ``@``), so the block code below is written once against ``self.xp``.
    """

    def __init__(self, name: str, device: Any, dtype: Any) -> None:
        self.name = name
        if name == "numpy":
            self.xp = np
            self.device = "cpu"
            self.f64 = np.float64
            self.cdt = np.dtype(dtype)
        else:
            import torch

            self.xp = torch
            self.device = device
            self.f64 = torch.float64
            self.cdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32

    def empty(self, shape: tuple[int, ...], dtype: Any) -> Any:
        if self.name == "numpy":
            return np.empty(shape, dtype=dtype)
        return self.xp.empty(shape, dtype=dtype, device=self.device)

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> Any:
        if self.name == "numpy":
            return np.zeros(shape, dtype=dtype)
        return self.xp.zeros(shape, dtype=dtype, device=self.device)

    def asarray(self, a: np.ndarray, dtype: Any) -> Any:
        """Host array → backend array of ``dtype`` (no copy when numpy already has it)."""
        if self.name == "numpy":
            return np.asarray(a, dtype=dtype)
        torch = self.xp
        a = np.asarray(a)
        if not a.flags.writeable:  # torch.from_numpy warns on read-only buffers
            a = a.copy()
        return torch.from_numpy(a).to(device=self.device, dtype=dtype)

    def cast(self, a: Any, dtype: Any) -> Any:
        if a.dtype == dtype:
            return a
        return a.astype(dtype) if self.name == "numpy" else a.to(dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        if self.name == "numpy":
            return np.asarray(a, dtype=np.float64)
        return a.detach().to("cpu", dtype=self.f64).numpy()

    def rowsum(self, a: Any) -> Any:
        """Column sums of a block (sum over cells)."""
        if self.name == "numpy":
            return np.einsum("ig->g", a)
        return a.sum(0)

    def dot_rows(self, v: Any, a: Any) -> Any:
        """``v @ a`` for a cell vector ``v`` and a block ``a`` (cells × genes)."""
        if self.name == "numpy":
            # einsum is single-threaded but much faster than the gemv BLAS picks for a C-ordered block
            return np.einsum("i,ig->g", v, a)
        return v @ a

    def sum_prod(self, a: Any, b: Any) -> Any:
        """``Σ_i a_ig b_ig`` for each gene."""
        if self.name == "numpy":
            return np.einsum("ig,ig->g", a, b)
        return (a * b).sum(0)

    def gram(self, a: Any, out: Any | None) -> Any:
        """``aᵀ a`` (genes × genes), added to ``out`` when given."""
        g = a.T @ a  # numpy dispatches A.T @ A to the symmetric rank-k BLAS kernel
        if out is None:
            return g
        out += g
        return out


def _resolve_backend(device: Any, backend: str, dtype: Any) -> _Backend:
    if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"cscore_arrays: `dtype` must be float64 or float32, got {dtype!r}.")
    if backend not in ("auto", "numpy", "torch"):
        raise ValueError(f"cscore_arrays: `backend` must be 'auto', 'numpy' or 'torch', got {backend!r}.")
    dev_str = "auto" if device is None else str(device)
    is_cuda_req = dev_str.startswith("cuda") or dev_str == "gpu"
    if dev_str not in ("auto", "cpu") and not is_cuda_req:
        raise ValueError(f"cscore_arrays: `device` must be 'auto', 'cpu' or 'cuda[:i]', got {device!r}.")
    torch_dev = None
    if dev_str == "auto" or is_cuda_req:
        try:
            import torch

            cuda = torch.cuda.is_available()
        except ImportError:  # pragma: no cover - torch is a dependency
            cuda = False
        if is_cuda_req and not cuda:
            raise RuntimeError(
                f"cscore_arrays: device={device!r} was requested but no CUDA GPU is available; "
                "use device='cpu' or 'auto'."
            )
        if cuda:
            import torch

            torch_dev = torch.device("cuda" if dev_str in ("auto", "gpu") else dev_str)
    if torch_dev is not None:  # a GPU: torch does the work
        if backend == "numpy":
            raise ValueError("cscore_arrays: backend='numpy' runs on the CPU only; pass device='cpu'.")
        return _Backend("torch", torch_dev, dtype)
    if backend == "torch":
        import torch

        return _Backend("torch", torch.device("cpu"), dtype)
    return _Backend("numpy", "cpu", dtype)


# ----------------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------------
class _Blocks:
    """Dense float64 row blocks (cells × selected genes) of a dense or sparse count matrix."""

    def __init__(self, counts: Any, genes: np.ndarray | None, block_size: int, be: _Backend) -> None:
        self.counts = counts
        self.genes = genes
        self.n_cells = counts.shape[0]
        self.block_size = block_size
        self.be = be
        self.bounds = [
            (i, min(i + block_size, self.n_cells)) for i in range(0, self.n_cells, block_size)
        ]
        self._cache: Any = None
        # sparse input: the stored values were checked up front; dense: each block on the first pass
        self._checked = sp.issparse(counts)

    def _host_block(self, i0: int, i1: int) -> np.ndarray:
        X = self.counts
        if sp.issparse(X):
            B = X[i0:i1]
            if self.genes is not None:
                B = B[:, self.genes]
            return B.toarray().astype(np.float64, copy=False)
        B = X[i0:i1] if self.genes is None else X[i0:i1, self.genes]
        B = np.asarray(B, dtype=np.float64)
        if not self._checked:
            _check_values(B)
        return B

    def __len__(self) -> int:
        return len(self.bounds)

    def __iter__(self) -> Iterator[tuple[int, int, Any]]:
        if self._cache is not None:
            yield 0, self.n_cells, self._cache
            return
        single = len(self.bounds) == 1
        for i0, i1 in self.bounds:
            blk = self.be.asarray(self._host_block(i0, i1), self.be.f64)
            if single:
                # one block holds everything: convert / densify / transfer it once, not on every pass
                self._cache = blk
            yield i0, i1, blk
        self._checked = True


def _default_block_size(n_cells: int, n_genes: int, be: _Backend) -> int:
    target = _BLOCK_ENTRIES_GPU if be.name == "torch" and str(be.device) != "cpu" else _BLOCK_ENTRIES_CPU
    return int(min(n_cells, max(_MIN_BLOCK, target // max(1, n_genes))))


def _check_values(data: np.ndarray) -> None:
    """Finite, non-negative values (``data``: a float64 block or the stored values of a sparse matrix)."""
    if data.size == 0:
        return
    if not np.isfinite(data).all():
        raise ValueError("cscore_arrays: `counts` contains NaN or infinite values.")
    if data.min() < 0:
        raise ValueError("cscore_arrays: `counts` contains negative values; pass raw (UMI) counts.")


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
    if counts.dtype == bool or not np.issubdtype(counts.dtype, np.number) or np.issubdtype(
        counts.dtype, np.complexfloating
    ):
        raise TypeError(f"{func}: `counts` must hold real numbers, got dtype {counts.dtype}.")
    if sp.issparse(counts):
        _check_values(np.asarray(counts.data, dtype=np.float64))
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


# ----------------------------------------------------------------------------------------------------------
# the engine
# ----------------------------------------------------------------------------------------------------------
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


def _theta(mu: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return mu * mu / sigma2


def _theta_median(theta: np.ndarray) -> float:
    pos = theta[theta > 0]
    if pos.size == 0:
        raise ValueError(
            "cscore_arrays: no gene has a positive variance estimate (σ_gg > 0); the counts show no "
            "biological variation beyond Poisson noise. Use more cells or more variable genes."
        )
    return float(np.median(pos))


def _mu_pass(blocks: _Blocks, s: np.ndarray, kappa: np.ndarray, be: _Backend) -> np.ndarray:
    """``μ_g = Σ_i x_ig r_ig / Σ_i s_i r_ig`` with ``r_ig = 1 / (1 + s_i κ_g)``."""
    xp = be.xp
    k = be.asarray(kappa, be.f64)
    num = den = None
    buf = None
    for i0, i1, X in blocks:
        sc = be.asarray(s[i0:i1], be.f64)
        if buf is None:
            buf = be.empty(tuple(X.shape), be.f64)
        R = buf[: i1 - i0]
        xp.multiply(sc[:, None], k[None, :], out=R)
        R += 1.0
        xp.reciprocal(R, out=R)
        a, b = be.sum_prod(X, R), be.dot_rows(sc, R)
        num = a if num is None else num + a
        den = b if den is None else den + b
    return be.to_numpy(num) / be.to_numpy(den)


def _sigma_pass(
    blocks: _Blocks, s: np.ndarray, mu: np.ndarray, kappa: np.ndarray | None, be: _Backend
) -> np.ndarray:
    """``σ_gg = Σ_i q_ig ((x_ig − s_i μ_g)² − s_i μ_g) / Σ_i s_i² q_ig``.

    ``q_ig = 1 / (1 + s_i κ_g)²`` (the reference's ``1 / h`` up to the per-gene factor ``s_i² μ_g²``, which
    cancels), or ``q_ig = s_i²`` for the unweighted start (``kappa=None``).
    """
    xp = be.xp
    m = be.asarray(mu, be.f64)
    k = None if kappa is None else be.asarray(kappa, be.f64)
    num = den = None
    bufs = None
    for i0, i1, X in blocks:
        sc = be.asarray(s[i0:i1], be.f64)
        if bufs is None:
            bufs = (be.empty(tuple(X.shape), be.f64), be.empty(tuple(X.shape), be.f64))
        M, D = (b[: i1 - i0] for b in bufs)
        xp.multiply(sc[:, None], m[None, :], out=M)
        xp.subtract(X, M, out=D)
        D *= D
        D -= M  # (x - sμ)² - sμ
        if k is None:
            s2 = sc * sc
            a, b = be.dot_rows(s2, D), None
            den_add = float(be.to_numpy((s2 * s2).sum()))
        else:
            xp.multiply(sc[:, None], k[None, :], out=M)
            M += 1.0
            xp.reciprocal(M, out=M)
            M *= M  # q
            a, b = be.sum_prod(D, M), be.dot_rows(sc * sc, M)
        num = a if num is None else num + a
        if k is None:
            den = den_add if den is None else den + den_add
        else:
            den = b if den is None else den + b
    num_h = be.to_numpy(num)
    den_h = den if k is None else be.to_numpy(den)
    return num_h / den_h


def _irls(blocks: _Blocks, s: np.ndarray, be: _Backend) -> tuple[np.ndarray, np.ndarray, float, int, bool]:
    """μ and σ_gg by IRLS, with the reference's stopping rule; returns (μ, σ², θ̃, passes, converged)."""
    s2sum = float(np.sum(s * s))
    mu = None
    for i0, i1, X in blocks:
        part = be.to_numpy(be.dot_rows(be.asarray(s[i0:i1], be.f64), X))
        mu = part if mu is None else mu + part
    mu = mu / s2sum
    zero = mu == 0
    sigma2 = _sigma_pass(blocks, s, mu, None, be)
    theta = _theta(mu, sigma2)
    j = 0
    delta = np.inf
    # The reference overwrites negative θ by +inf *after* remembering θ as "previous" (same array), so a
    # gene whose θ turns from negative to positive makes the change infinite; this is reproduced here.
    while delta > IRLS_TOL and j < IRLS_MAX_PASSES:
        previous = theta.copy()
        previous[previous < 0] = np.inf
        tm = _theta_median(theta)
        mu = _mu_pass(blocks, s, mu / tm, be)
        mu[zero] = 0.0
        sigma2 = _sigma_pass(blocks, s, mu, mu / tm, be)
        theta = _theta(mu, sigma2)
        j += 1
        both = (previous > 0) & (theta > 0)
        if not both.any():
            _theta_median(theta)  # raises the "no positive variance" error
        with np.errstate(invalid="ignore"):
            # np.max propagates NaN (inf − inf): the reference then stops, and so does this loop
            delta = float(np.max(np.abs(np.log(theta[both]) - np.log(previous[both]))))
    converged = not (delta > IRLS_TOL)
    if converged:
        logger.info("cscore: IRLS converged after %d iteration(s).", j)
    else:
        logger.warning(
            "cscore: IRLS did not converge after %d iterations (largest change of log θ = %.3g > %.2g); "
            "the estimates of the last iteration are used. Check the data (enough cells? raw counts?).",
            j,
            delta,
            IRLS_TOL,
        )
    return mu, sigma2, _theta_median(theta), j, converged


def _pair_products(
    blocks: _Blocks, s: np.ndarray, mu: np.ndarray, kappa: np.ndarray, lam: np.ndarray, be: _Backend
) -> tuple[Any, Any, Any, Any]:
    """Accumulate the four genes × genes cross-products over the cell blocks.

    With ``d_ig = x_ig − s_i μ_g``, ``r_ig = 1 / (1 + s_i κ_g)`` (covariance weights) and
    ``t_ig = 1 / (1 + s_i λ_g)``, ``λ_g = σ_gg / μ_g`` (test variances):
    ``N = (d r)ᵀ (d r)``, ``D = (s r)ᵀ (s r)``, ``N_T = (d t)ᵀ (d t)``, ``D_T = (s t)ᵀ (s t)``.
    """
    xp = be.xp
    cdt = be.cdt
    m = be.asarray(mu, cdt)
    k = be.asarray(kappa, cdt)
    lm = be.asarray(lam, cdt)
    out: list[Any] = [None, None, None, None]
    bufs = None
    for i0, i1, X in tqdm(blocks, desc="CS-CORE", leave=False, disable=len(blocks) < 4):
        sc = be.asarray(s[i0:i1], cdt)
        if bufs is None:
            bufs = tuple(be.empty(tuple(X.shape), cdt) for _ in range(3))
        Dc, W, P = (b[: i1 - i0] for b in bufs)
        xp.multiply(sc[:, None], m[None, :], out=Dc)
        xp.subtract(be.cast(X, cdt), Dc, out=Dc)
        for j, v in ((0, k), (2, lm)):
            xp.multiply(sc[:, None], v[None, :], out=W)
            W += 1.0
            xp.reciprocal(W, out=W)
            xp.multiply(Dc, W, out=P)
            out[j] = be.gram(P, out[j])
            W *= sc[:, None]
            out[j + 1] = be.gram(W, out[j + 1])
    return out[0], out[1], out[2], out[3]


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
) -> _EngineOutput:
    be = _resolve_backend(device, backend, dtype)
    counts, s = _check_engine_inputs(counts, seq_depth, genes)
    n_cells = counts.shape[0]
    n_genes = counts.shape[1] if genes is None else len(genes)
    if block_size is None:
        block_size = _default_block_size(n_cells, n_genes, be)
    elif not isinstance(block_size, int | np.integer) or block_size < 1:
        raise ValueError(f"cscore_arrays: `block_size` must be a positive integer, got {block_size!r}.")
    block_size = int(min(block_size, n_cells))
    blocks = _Blocks(counts, genes, block_size, be)

    mu, sigma2, tm, n_passes, converged = _irls(blocks, s, be)
    zero = mu == 0
    if zero.any():
        logger.warning(
            "cscore: %d gene(s) have no counts; their rows and columns are NaN.", int(zero.sum())
        )
    # Work on safe values for genes without counts (their rows are set to NaN at the end, like the
    # reference, whose arithmetic yields 0/0 there); they do not influence the other genes.
    mu_safe = np.where(zero, 1.0, mu)
    kappa = mu / tm
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(zero, 0.0, sigma2 / mu_safe)
    N, D, NT, DT = _pair_products(blocks, s, mu, kappa, lam, be)
    del blocks

    xp = be.xp
    # σ_gh = N / D (the per-gene factors 1/(μ_g μ_h) of numerator and denominator cancel)
    with np.errstate(divide="ignore", invalid="ignore"):
        covar = N
        covar /= D
        del D
        negative = sigma2 < 0
        sd = np.sqrt(np.where(negative, 1.0, sigma2))
        sd_b = be.asarray(sd, covar.dtype)
        covar /= sd_b[:, None]
        covar /= sd_b[None, :]
        est = be.to_numpy(covar)
        del covar, N
        # T = N_T / sqrt(D_T μ_g μ_h)
        xp.sqrt(DT, out=DT)
        NT /= DT
        del DT
        sqmu = be.asarray(np.sqrt(mu_safe), NT.dtype)
        NT /= sqmu[:, None]
        NT /= sqmu[None, :]
        if be.name == "numpy":
            test_stat = np.asarray(NT, dtype=np.float64)
            p_value = 2.0 * ndtr(-np.abs(test_stat))
        else:
            import torch

            test_stat = be.to_numpy(NT)
            p_value = be.to_numpy(2.0 * torch.special.ndtr(-NT.abs()))
        del NT
    idx = np.flatnonzero(negative)
    est[idx, idx] = np.inf
    if zero.any():
        for a in (est, p_value, test_stat):
            a[zero, :] = np.nan
            a[:, zero] = np.nan
    if post_process:
        est = _post_process(est)
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


def _post_process(est: np.ndarray) -> np.ndarray:
    """Reference post-processing, in place: σ_gg < 0 genes → 0, diagonal 1, clip to [−1, 1]."""
    n = est.shape[0]
    neg = np.diagonal(est) == np.inf
    if neg.any():
        logger.info(
            "cscore: %d of %d genes have a negative variance estimate; their co-expressions were set to 0.",
            int(neg.sum()),
            n,
        )
    est[neg, :] = 0.0
    est[:, neg] = 0.0
    np.fill_diagonal(est, 1.0)
    if n > 1:
        iu = np.triu_indices(n, 1)
        upper = est[iu]
        frac_hi = float(np.mean(upper > 1)) * 100
        frac_lo = float(np.mean(upper < -1)) * 100
        if frac_hi or frac_lo:
            logger.info(
                "cscore: %.4f%% of the pairs had estimates > 1 and %.4f%% < -1; clipped to [-1, 1].",
                frac_hi,
                frac_lo,
            )
    np.clip(est, -1.0, 1.0, out=est)
    return est


def cscore_arrays(
    counts: np.ndarray | sp.spmatrix,
    seq_depth: np.ndarray,
    *,
    post_process: bool = True,
    block_size: int | None = None,
    device: Any = None,
    backend: Literal["auto", "numpy", "torch"] = "auto",
    dtype: Any = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CS-CORE co-expression estimates, test statistics and p-values for all gene pairs.

    Array-level engine behind :func:`cscore`; it reproduces the authors' ``CSCORE_IRLS`` (see the module
    docstring for the model and the differences in how it is computed).

    Parameters
    ----------
    counts
        Cells × genes raw counts: dense :class:`numpy.ndarray` (any numeric dtype) or scipy sparse
        (CSR preferred; other formats are converted to CSR, which copies the stored values but never
        densifies). Only ``block_size`` rows are densified at a time.
    seq_depth
        Sequencing depth ``s_i`` of each cell (> 0), usually the total counts over *all* genes.
    post_process
        Apply the reference post-processing: genes with a negative variance estimate get correlation 0
        with every gene, the diagonal is 1, and the estimates are clipped to ``[-1, 1]``. With ``False``
        the raw ``σ_gh / sqrt(σ_gg σ_hh)`` is returned (``+inf`` on the diagonal of genes with
        ``σ_gg < 0``, whose off-diagonal entries use ``σ_gg = 1``, as in the reference).
    block_size
        Number of cells processed at a time (default: about 32 MiB of float64 per working array on the
        CPU, 256 MiB on a GPU). The results do not depend on it beyond floating-point rounding.
    device
        ``None``/``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda[:i]"``.
    backend
        ``"auto"``: torch on a GPU, numpy on the CPU (the faster CPU path); ``"torch"`` forces torch, also on
        the CPU; ``"numpy"`` forces numpy (CPU only).
    dtype
        Precision of the per-block arithmetic and of the four genes × genes products: ``float64``
        (default, matches the reference) or ``float32`` (faster on GPUs without fast float64; estimates
        then agree to about ``1e-4``). μ, σ_gg and the IRLS always use float64.

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
    reference's arithmetic gives 0/0 there) and they do not affect the other genes. :func:`cscore` refuses
    them instead. The number of IRLS iterations is logged (``logging.getLogger("muse_gnn")``, INFO).

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
    out = _cscore_engine(
        counts,
        seq_depth,
        post_process=post_process,
        block_size=block_size,
        device=device,
        backend=backend,
        dtype=dtype,
    )
    return out.est, out.p_value, out.test_stat
