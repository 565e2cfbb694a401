"""Gene-pair statistics: the four genes × genes products, the test's p-values and the post-processing.

:func:`_pair_products` accumulates the covariance and test numerators (and, unless :class:`_DividedGram`
gives them, the denominators) over the cell blocks; :func:`_divide_by_outer`, :func:`_two_sided_p` and
:func:`_post_process` turn them into ``ρ``, ``T`` and p-values by row blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import erfc

from ..._progress import progress_bar
from ..._utils import logger
from .._backend import ArrayBackend
from ._blocks import BLOCK_ENTRIES_CPU, _Blocks
from ._gram import _DividedGram

__all__ = ["_divide_by_outer", "_pair_products", "_post_process", "_two_sided_p"]

_SQRT1_2 = float(np.sqrt(0.5))


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



def _divide_by_outer(A: Any, v: Any) -> None:
    """``A /= v vᵀ`` in place, by row blocks (no ``p²`` temporary; keeps a symmetric ``A`` exactly symmetric)."""
    p = A.shape[0]
    rb = max(1, BLOCK_ENTRIES_CPU // (4 * max(1, p)))
    for r0 in range(0, p, rb):
        A[r0 : r0 + rb] /= v[r0 : r0 + rb, None] * v[None, :]


def _two_sided_p(T: np.ndarray) -> np.ndarray:
    """``2 Φ(−|T|) = erfc(|T| / √2)`` for the symmetric ``T``: evaluated on the upper triangle and mirrored
    (the special function is the costly part; ``T`` is symmetric by construction, up to rounding)."""
    p = T.shape[0]
    out = np.empty_like(T)
    rb = max(1, BLOCK_ENTRIES_CPU // (2 * max(1, p)))
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
