"""Divided-difference Gram matrix: the two CS-CORE denominators from per-gene sums, without ``n × p²`` work.

See :class:`_DividedGram` for the identity, its exactness conditions and the fall-backs (explicit sums for
nearly equal pairs and for irregular genes, the full product when too many pairs are close).
"""

from __future__ import annotations

import numpy as np

from ..._utils import logger
from ._blocks import BLOCK_ENTRIES_CPU, MIN_BLOCK

__all__ = ["_DividedGram"]


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
        step = max(1, BLOCK_ENTRIES_CPU // max(1, s.size))
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
        step = max(MIN_BLOCK, BLOCK_ENTRIES_CPU // max(1, self.x.size))
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
        rb = max(1, BLOCK_ENTRIES_CPU // (2 * p))
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
