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
  and the genes × genes cross-products are accumulated block by block (``Bᵀ B`` uses the symmetric BLAS
  kernel), so the peak memory is about ``block_size × n_genes`` plus a few ``n_genes²`` matrices instead of
  a dozen ``n_cells × n_genes`` temporaries;
* of the four ``n_cells × n_genes²`` products of the reference, only the two numerators remain on the CPU:
  both denominators are ``Σ_i s_i² / ((1 + s_i x_g)(1 + s_i x_h))`` and are obtained exactly from per-gene
  sums as divided differences (:class:`_DividedGram`), with the few nearly equal pairs summed explicitly;
* p-values are computed as ``2 Φ(−|T|) = erfc(|T| / √2)`` (accurate in the tail) instead of
  ``2 (1 − Φ(|T|))``, which rounds to 0 for ``|T| > 8.3``; the two agree to ``1e-16`` absolute;
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
from scipy.special import erfc

from .._progress import progress_bar
from .._utils import check_adata, check_counts, get_matrix, logger, uns_params
from .._warnings import ConvergenceWarning, MuseGNNWarning
from ._backend import GPU_BLOCK_ENTRIES, ArrayBackend, resolve_backend

__all__ = ["CSCoreResult", "cscore", "cscore_arrays"]

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
_MIN_BLOCK = 256
_SQRT1_2 = float(np.sqrt(0.5))


# ----------------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------------
class _Blocks:
    """Dense float64 row blocks (cells × selected genes) of a dense or sparse count matrix."""

    def __init__(self, counts: Any, genes: np.ndarray | None, block_size: int, be: ArrayBackend) -> None:
        if sp.issparse(counts) and genes is not None:
            # select the genes once (a sparse copy of those columns), not on every pass
            counts, genes = sp.csr_matrix(counts[:, genes]), None
        self.counts = counts
        self.genes = genes
        self._buf: np.ndarray | None = None
        self.n_cells = counts.shape[0]
        self.block_size = block_size
        self.be = be
        self.bounds = [(i, min(i + block_size, self.n_cells)) for i in range(0, self.n_cells, block_size)]
        self._cache: Any = None
        # sparse input: the stored values were checked up front; dense: each block on the first pass
        self._checked = sp.issparse(counts)

    def _host_block(self, i0: int, i1: int) -> np.ndarray:
        X = self.counts
        if sp.issparse(X):
            # a CSR view of the rows (no copy of the indices), densified into a reused buffer
            a, b = X.indptr[i0], X.indptr[i1]
            blk = sp.csr_matrix(
                (X.data[a:b].astype(np.float64, copy=False), X.indices[a:b], X.indptr[i0 : i1 + 1] - a),
                shape=(i1 - i0, X.shape[1]),
            )
            if self._buf is None:
                self._buf = np.empty((self.block_size, X.shape[1]))
            out = self._buf[: i1 - i0]
            blk.toarray(out=out)
            return out
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


def _default_block_size(n_cells: int, n_genes: int, be: ArrayBackend) -> int:
    target = GPU_BLOCK_ENTRIES if be.on_gpu else _BLOCK_ENTRIES_CPU
    return int(min(n_cells, max(_MIN_BLOCK, target // max(1, n_genes))))


def _check_values(data: np.ndarray) -> None:
    """Finite, non-negative values (``data``: a dense block or the stored values of a sparse matrix)."""
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
            "cscore: no gene has a positive variance estimate (σ_gg > 0); the counts show no "
            "biological variation beyond Poisson noise. Use more cells or more variable genes."
        )
    return float(np.median(pos))


def _mu_pass(blocks: _Blocks, s: np.ndarray, kappa: np.ndarray, be: ArrayBackend) -> np.ndarray:
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
    blocks: _Blocks, s: np.ndarray, mu: np.ndarray, kappa: np.ndarray | None, be: ArrayBackend
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


def _irls(blocks: _Blocks, s: np.ndarray, be: ArrayBackend) -> tuple[np.ndarray, np.ndarray, float, int, bool]:
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
        # _irls <- _cscore_engine <- cscore / cscore_arrays <- the caller
        warnings.warn(
            f"cscore: IRLS did not converge after {j} iterations (largest change of log θ = {delta:.3g} > "
            f"{IRLS_TOL:.2g}); the estimates of the last iteration are used. Check the data (enough cells? "
            "raw counts?).",
            ConvergenceWarning,
            stacklevel=4,
        )
    return mu, sigma2, _theta_median(theta), j, converged


class _DividedGram:
    """``K_gh = Σ_i (s_i r_ig)(s_i r_ih)``, ``r_ig = 1 / (1 + s_i x_g)``, for all pairs from per-gene sums.

    Both CS-CORE denominators have this form (``x = κ`` for the covariance, ``x = λ`` for the test), and it
    needs no ``n × p²`` product: with ``F(x) = Σ_i s_i² x / (1 + s_i x)`` and ``L(x) = Σ_i s_i / (1 + s_i x)``,

    ``K_gh = (F(x_g) − F(x_h)) / (x_g − x_h) = −(L(x_g) − L(x_h)) / (x_g − x_h)``  (``x_g ≠ x_h``).

    ``F + L = Σ_i s_i =: S``. Each gene keeps the smaller of the two (``F`` for small ``s x``, ``L`` for large
    ``s x``), as ``G_g = F_g`` or ``G_g = −L_g`` (exact), and ``K_gh = (G_g − G_h + S (b_g − b_h)) / (x_g − x_h)``
    with ``b_g = 1`` where ``L`` is kept; the correction is exactly 0 for pairs keeping the same form, and only
    pairs that are far apart mix forms. The relative rounding error of ``K_gh`` is then about that of the
    sums divided by the relative gap of the two values. The diagonal and the pairs whose relative gap is
    below :attr:`EPS` are summed explicitly (few: sorted by ``x`` they lie next to the diagonal). Genes with
    ``1 + s_i x_g < 1/2`` for some cell (possible only for ``σ_gg < 0``) are summed explicitly against all
    genes. When too many pairs would need the explicit sum (many nearly equal ``x``), the full product is
    computed from ``s`` and ``x`` instead (the counts are not needed for it).
    """

    #: Pairs whose relative gap of ``F`` (or ``L``) is below this are summed explicitly (error ≲ 1e-11).
    EPS = 1e-4

    def __init__(self, s: np.ndarray, x: np.ndarray) -> None:
        self.s = s
        self.x = x
        p = x.size
        self.irregular = x < -0.5 / s.max()
        self.irr = np.flatnonzero(self.irregular)
        self.SF = np.zeros(p)
        self.L = np.zeros(p)
        self.diag = np.zeros(p)
        self.Kirr = np.zeros((self.irr.size, p)) if self.irr.size else None

    def add(self, s_c: np.ndarray, Rs: np.ndarray) -> None:
        """Add a block of cells; ``Rs`` (cells × genes) holds ``s_i r_ig``."""
        self.SF += np.einsum("i,ig->g", s_c, Rs)
        self.L += np.einsum("ig->g", Rs)
        self.diag += np.einsum("ig,ig->g", Rs, Rs)
        if self.irr.size:
            self.Kirr += Rs[:, self.irr].T @ Rs

    def _explicit(self, g: np.ndarray, h: np.ndarray) -> np.ndarray:
        """``K_gh`` for the listed pairs, summed over the cells."""
        s = self.s
        s2 = s * s
        out = np.zeros(g.size)
        step = max(1, _BLOCK_ENTRIES_CPU // max(1, s.size))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for k0 in range(0, g.size, step):
                kg, kh = g[k0 : k0 + step], h[k0 : k0 + step]
                V = np.multiply(s[:, None], self.x[kg][None, :])
                V += 1.0
                W = np.multiply(s[:, None], self.x[kh][None, :])
                W += 1.0
                V *= W
                out[k0 : k0 + step] = np.einsum("i,ik->k", s2, np.reciprocal(V, out=V))
        return out

    def _full_product(self) -> np.ndarray:
        logger.debug("cscore: denominators by the full product (too many close pairs).")
        K = None
        step = max(_MIN_BLOCK, _BLOCK_ENTRIES_CPU // max(1, self.x.size))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for i0 in range(0, self.s.size, step):
                sc = self.s[i0 : i0 + step]
                R = np.multiply(sc[:, None], self.x[None, :])
                R += 1.0
                np.divide(sc[:, None], R, out=R)
                K = R.T @ R if K is None else K + R.T @ R
        return K

    def _close_pairs(self, G: np.ndarray, shift: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Off-diagonal pairs (regular genes) whose relative gap is below :attr:`EPS`, or ``None`` if too many.

        Along ``x`` the values are monotone, so the relative gap grows with the offset in the sorted order:
        offsets are visited until one has no close pair.
        """
        idx = np.flatnonzero(ok)
        order = idx[np.argsort(self.x[idx], kind="stable")]
        Gs, Hs = G[order], shift[order]
        m = order.size
        limit = 8 * m + 64
        rows, cols = [], []
        n_found = 0
        for d in range(1, m):
            a, b = Gs[: m - d], Gs[d:]
            gap = np.abs((a - b) + (Hs[: m - d] - Hs[d:]))
            close = ~(gap > self.EPS * (np.abs(a) + np.abs(b)))  # NaN → close (summed explicitly)
            k = np.flatnonzero(close)
            if k.size == 0:
                break
            rows.append(order[k])
            cols.append(order[k + d])
            n_found += k.size
            if n_found > limit:
                return None
        if not rows:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        return np.concatenate(rows), np.concatenate(cols)

    def finish(self) -> np.ndarray:
        x = self.x
        p = x.size
        F = x * self.SF
        L = self.L
        ok = ~self.irregular
        if not (np.all(np.isfinite(F[ok])) and np.all(np.isfinite(L[ok]))):
            return self._full_product()
        keep_L = ok & (np.abs(L) < np.abs(F))
        G = np.where(keep_L, -L, F)
        S = float(np.sum(self.s))
        shift = np.where(keep_L, S, 0.0)
        pairs = self._close_pairs(G, shift, ok)
        if pairs is None:
            return self._full_product()
        K = np.empty((p, p))
        rb = max(1, _BLOCK_ENTRIES_CPU // (2 * p))
        mixed = keep_L.any() and not keep_L[ok].all()
        with np.errstate(divide="ignore", invalid="ignore"):
            for r0 in range(0, p, rb):
                r1 = min(p, r0 + rb)
                blk = K[r0:r1]
                np.subtract(G[r0:r1, None], G[None, :], out=blk)
                if mixed:  # exactly 0 where both genes keep the same form
                    blk += shift[r0:r1, None] - shift[None, :]
                blk /= x[r0:r1, None] - x[None, :]
        g, h = pairs
        if g.size:
            v = self._explicit(g, h)
            K[g, h] = v
            K[h, g] = v
        K.reshape(-1)[:: p + 1] = self.diag
        if self.irr.size:
            K[self.irr, :] = self.Kirr
            K[:, self.irr] = self.Kirr.T
        return K


def _pair_products(
    blocks: _Blocks,
    s: np.ndarray,
    mu: np.ndarray,
    kappa: np.ndarray,
    lam: np.ndarray,
    be: ArrayBackend,
    denominators: str,
    show_progress_bar: bool | None = None,
) -> tuple[Any, Any, Any, Any]:
    """Accumulate the four genes × genes cross-products over the cell blocks.

    With ``d_ig = x_ig − s_i μ_g``, ``r_ig = 1 / (1 + s_i κ_g)`` (covariance weights) and
    ``t_ig = 1 / (1 + s_i λ_g)``, ``λ_g = σ_gg / μ_g`` (test variances):
    ``N = (d r)ᵀ (d r)``, ``D = (s r)ᵀ (s r)``, ``N_T = (d t)ᵀ (d t)``, ``D_T = (s t)ᵀ (s t)``.
    ``D`` and ``D_T`` come from :class:`_DividedGram` (``denominators="divided"``) or from the products.
    """
    xp = be.xp
    cdt = be.cdt
    m = be.asarray(mu, cdt)
    k = be.asarray(kappa, cdt)
    lm = be.asarray(lam, cdt)
    out: list[Any] = [None, None, None, None]
    divided = denominators == "divided"
    acc = (_DividedGram(s, kappa), _DividedGram(s, lam)) if divided else None
    bufs = None
    for i0, i1, X in progress_bar(blocks, desc="CS-CORE", leave=False, show_progress_bar=show_progress_bar):
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
            if divided:
                acc[j // 2].add(sc, W)
            else:
                out[j + 1] = be.gram(W, out[j + 1])
    if divided:
        out[1], out[3] = acc[0].finish(), acc[1].finish()
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


def _divide_by_outer(A: Any, v: Any) -> None:
    """``A /= v vᵀ`` in place, by row blocks (no ``p²`` temporary; keeps a symmetric ``A`` exactly symmetric)."""
    p = A.shape[0]
    rb = max(1, _BLOCK_ENTRIES_CPU // (4 * max(1, p)))
    for r0 in range(0, p, rb):
        A[r0 : r0 + rb] /= v[r0 : r0 + rb, None] * v[None, :]


def _two_sided_p(T: np.ndarray) -> np.ndarray:
    """``2 Φ(−|T|) = erfc(|T| / √2)`` for the symmetric ``T``: evaluated on the upper triangle and mirrored
    (the special function is the costly part; ``T`` is symmetric by construction, up to rounding)."""
    p = T.shape[0]
    out = np.empty_like(T)
    rb = max(1, _BLOCK_ENTRIES_CPU // (2 * max(1, p)))
    for r0 in range(0, p, rb):
        r1 = min(p, r0 + rb)
        blk = out[r0:r1, r0:]
        np.abs(T[r0:r1, r0:], out=blk)
        blk *= _SQRT1_2
        erfc(blk, out=blk)
        out[r1:, r0:r1] = blk[:, r1 - r0 :].T
    return out


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
        n_pairs = n * (n - 1)  # off-diagonal entries (the diagonal is 1 now)
        frac_hi = 100.0 * np.count_nonzero(est > 1) / n_pairs
        frac_lo = 100.0 * np.count_nonzero(est < -1) / n_pairs
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
    genes: np.ndarray | Sequence[int] | None = None,
    post_process: bool = True,
    block_size: int | None = None,
    device: Any = None,
    backend: Literal["auto", "numpy", "torch"] = "auto",
    dtype: Any = np.float64,
    show_progress_bar: bool | None = None,
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
    genes
        Column positions of the genes to use (output order); default all columns. Cheaper than passing
        ``counts[:, genes]``: a dense matrix is then only copied one block at a time.
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
        then agree to about ``1e-5``). μ, σ_gg and the IRLS always use float64.
    show_progress_bar
        Show a progress bar over the cell blocks of the pair products; ``None`` follows
        ``mg.settings.progress_bar``.

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


# ----------------------------------------------------------------------------------------------------------
# AnnData interface
# ----------------------------------------------------------------------------------------------------------
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
    step = max(1, _BLOCK_ENTRIES_CPU // max(1, width))
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
    layer
        Layer with the raw counts; ``adata.X`` when ``None``.
    seq_depth
        Sequencing depth of each cell: ``None`` (total counts over *all* genes of ``adata``), the name of a
        numeric ``adata.obs`` column, or an array with one value per cell. Must be > 0.
    post_process
        Genes with a negative variance estimate get correlation 0, the diagonal is 1 and the estimates are
        clipped to ``[-1, 1]`` (reference default).
    allow_noncounts
        Accept non-integer values (e.g. gene activities) with a warning instead of an error.
    block_size
        Cells processed at a time (memory ≈ ``block_size × n_genes`` plus a few ``n_genes²`` matrices);
        default chosen from the sizes.
    device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda[:i]"``.
    key_added
        Key in ``adata.uns`` for the result (``inplace=True``).
    inplace
        Write the result to ``adata.uns[key_added]`` and return ``None``; otherwise return a
        :class:`CSCoreResult` and leave ``adata`` unchanged.
    show_progress_bar
        Show a progress bar over the cell blocks of the pair products; ``None`` follows
        ``mg.settings.progress_bar``.

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
