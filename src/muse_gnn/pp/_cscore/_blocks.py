"""Cell blocks: dense float64 row blocks of a count matrix, and the block sizes used by all of CS-CORE.

Every pass over the cells (IRLS and the pair products) reads the counts through :class:`_Blocks`, one
``block_size × n_genes`` block at a time: a sparse matrix is densified one block at a time, and a single
block is converted (and transferred to the device) only once. The named constants here also size the row
blocks of the genes × genes post-processing, so that no temporary exceeds about 32 MiB on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._backend import GPU_BLOCK_ENTRIES, ArrayBackend

__all__ = ["BLOCK_ENTRIES_CPU", "MIN_BLOCK", "_Blocks", "_check_values", "_default_block_size"]

#: Target number of float64 entries of one ``block_size × n_genes`` working array (CPU; 32 MiB).
BLOCK_ENTRIES_CPU = 1 << 22
#: Smallest default number of cells per block (many genes would otherwise give very thin blocks).
MIN_BLOCK = 256


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
    target = GPU_BLOCK_ENTRIES if be.on_gpu else BLOCK_ENTRIES_CPU
    return int(min(n_cells, max(MIN_BLOCK, target // max(1, n_genes))))


def _check_values(data: np.ndarray) -> None:
    """Finite, non-negative values (``data``: a dense block or the stored values of a sparse matrix)."""
    if data.size == 0:
        return
    if not np.isfinite(data).all():
        raise ValueError("cscore_arrays: `counts` contains NaN or infinite values.")
    if data.min() < 0:
        raise ValueError("cscore_arrays: `counts` contains negative values; pass raw (UMI) counts.")
