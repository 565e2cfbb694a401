"""Cross-dataset structure from one global gene index: common genes, Jaccard weights, contrastive samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._data import GraphData

__all__ = ["GeneIndex", "PairBatch"]


@dataclass
class PairBatch:
    """Index arrays for the cross-dataset losses of one pass (positions in the pass's node batch)."""

    n_pairs: int
    sim_a: np.ndarray
    sim_b: np.ndarray
    sim_w: np.ndarray
    sim_pair: np.ndarray
    cl_anchor: np.ndarray  # (n_pairs, 2k) padded with 0
    cl_positive: np.ndarray
    cl_mask: np.ndarray


class GeneIndex:
    """Global gene vocabulary over all datasets, linear in their number.

    Genes are matched by name. For each dataset the graph is kept as a sparse matrix over global gene ids, so
    the common genes of any pair of datasets and the Jaccard overlap of their neighbour sets are computed on
    demand (and cached) instead of for all T² pairs up front. Each gene's contrastive positive, one of its
    neighbours in its own graph, is drawn once here (the gene itself when it has none).

    Parameters
    ----------
    graphs
        The datasets' graphs.
    rng
        Random generator for the positive draws.
    """

    def __init__(self, graphs: Sequence[GraphData], rng: np.random.Generator) -> None:
        self.vocab = pd.Index(sorted(set().union(*(set(g.genes) for g in graphs))))
        self.gids: list[np.ndarray] = []
        self.sorted_gids: list[np.ndarray] = []
        self.order: list[np.ndarray] = []
        self.adj: list[sp.csr_matrix] = []
        self.positive: list[np.ndarray] = []
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for g in graphs:
            self.add(g, rng)

    def add(self, g: GraphData, rng: np.random.Generator) -> int:
        """Register one more dataset (its new genes extend the vocabulary); return its index."""
        new = pd.Index(g.genes).difference(self.vocab)
        if len(new):
            self.vocab = self.vocab.append(new)  # appended: earlier global ids are unchanged
            self.adj = [self._grow(a, len(self.vocab)) for a in self.adj]
        n = len(self.vocab)
        gid = self.vocab.get_indexer(g.genes)
        order = np.argsort(gid, kind="stable")
        a_local = g.adjacency()
        coo = a_local.tocoo()
        self.adj.append(sp.csr_matrix((coo.data, (gid[coo.row], gid[coo.col])), shape=(n, n)))
        # one contrastive positive per gene, drawn once: a random neighbour, or the gene itself
        indptr, indices = a_local.indptr, a_local.indices
        deg = np.diff(indptr)
        u = rng.random(g.n_nodes)
        pos = np.arange(g.n_nodes, dtype=np.int64)
        has = deg > 0
        pos[has] = indices[indptr[:-1][has] + (u[has] * deg[has]).astype(np.int64)]
        self.gids.append(gid)
        self.order.append(order)
        self.sorted_gids.append(gid[order])
        self.positive.append(pos)
        return len(self.gids) - 1

    def snapshot(self) -> dict[str, object]:
        """The index's state, to :meth:`restore` after a failed :meth:`add` (shallow: :meth:`add` only appends
        and replaces, it never changes an array in place)."""
        return {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                for k, v in vars(self).items()}

    def restore(self, state: dict[str, object]) -> None:
        """Go back to a :meth:`snapshot`."""
        vars(self).clear()
        vars(self).update({k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                           for k, v in state.items()})

    @staticmethod
    def _grow(a: sp.csr_matrix, n: int) -> sp.csr_matrix:
        if a.shape[0] == n:
            return a
        indptr = np.concatenate([a.indptr, np.full(n - a.shape[0], a.indptr[-1])])
        return sp.csr_matrix((a.data, a.indices, indptr), shape=(n, n))

    def __len__(self) -> int:
        return len(self.gids)

    def common(self, t: int, u: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local indices of the common genes in ``t`` and ``u`` and their Jaccard weights (cached)."""
        key = (t, u) if t < u else (u, t)
        hit = self._cache.get(key)
        if hit is None:
            a, b = key
            common, ia, ib = np.intersect1d(self.sorted_gids[a], self.sorted_gids[b], assume_unique=True,
                                            return_indices=True)
            la, lb = self.order[a][ia], self.order[b][ib]
            if common.size:
                ra, rb = self.adj[a][common], self.adj[b][common]
                inter = np.asarray(ra.multiply(rb).sum(axis=1)).ravel()
                union = np.diff(ra.indptr) + np.diff(rb.indptr) - inter
                w = np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float64), where=union > 0)
            else:
                w = np.zeros(0)
            hit = (la.astype(np.int64), lb.astype(np.int64), w.astype(np.float32))
            self._cache[key] = hit
        return hit if t < u else (hit[1], hit[0], hit[2])

    def specific(self, t: int, u: int) -> np.ndarray:
        """Local indices of the genes of ``t`` that ``u`` lacks."""
        return self.order[t][~np.isin(self.sorted_gids[t], self.sorted_gids[u], assume_unique=True)]

    def pair_batch(
        self,
        pairs: np.ndarray,
        offsets: dict[int, int],
        rng: np.random.Generator,
        *,
        n_contrast: int = 100,
    ) -> PairBatch:
        """Loss indices for dataset pairs ``pairs`` (``(P, 2)``), nodes offset by ``offsets[dataset]``."""
        sa, sb, sw, sp_ = [], [], [], []
        P = len(pairs)
        k2 = 2 * n_contrast
        anchor = np.zeros((P, k2), dtype=np.int64)
        positive = np.zeros((P, k2), dtype=np.int64)
        mask = np.zeros((P, k2), dtype=bool)
        for p, (t, u) in enumerate(pairs):
            la, lb, w = self.common(int(t), int(u))
            sa.append(la + offsets[t])
            sb.append(lb + offsets[u])
            sw.append(w)
            sp_.append(np.full(la.size, p, dtype=np.int64))
            col = 0
            for d, e in ((t, u), (u, t)):
                spec = self.specific(int(d), int(e))
                if spec.size == 0:
                    continue
                take = spec[rng.choice(spec.size, size=min(n_contrast, spec.size), replace=False)]
                anchor[p, col : col + take.size] = take + offsets[d]
                positive[p, col : col + take.size] = self.positive[d][take] + offsets[d]
                mask[p, col : col + take.size] = True
                col += take.size
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dtype=dt))
        return PairBatch(
            n_pairs=P,
            sim_a=cat(sa, np.int64),
            sim_b=cat(sb, np.int64),
            sim_w=cat(sw, np.float32),
            sim_pair=cat(sp_, np.int64),
            cl_anchor=anchor,
            cl_positive=positive,
            cl_mask=mask,
        )
