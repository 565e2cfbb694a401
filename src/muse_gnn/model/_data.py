"""AnnData gene graphs -> tensors the model trains on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from anndata import AnnData

from .._joint import dataset_label
from ..pp._graph import binary_adjacency, get_graph
from ..pp._residuals import residual_features

__all__ = ["GraphData", "graph_from_arrays", "prepare_graph"]


@dataclass
class GraphData:
    """One dataset's gene graph: node features, edges and labels.

    Attributes
    ----------
    name
        Dataset name.
    genes
        Graph genes, in node order.
    x
        Node features, ``(n_genes, n_features)`` float32 (Pearson residuals across cells); ``None`` for a
        dataset restored from disk without its AnnData.
    edge_index
        ``(2, n_edges)`` long tensor, both directions, no self loops.
    tissue, technology, species
        Labels carried to the joint embedding.
    """

    name: str
    genes: pd.Index
    x: torch.Tensor | None
    edge_index: torch.Tensor
    tissue: str = "unknown"
    technology: str = "unknown"
    species: str = "unknown"
    meta: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.genes)

    @property
    def n_features(self) -> int:
        return int(self.meta.get("n_features", 0) if self.x is None else self.x.shape[1])

    @property
    def group(self) -> str:
        """Tissue × technology group (weight sharing with ``share="group"``)."""
        return f"{self.technology}_{self.tissue}"

    def adjacency(self) -> sp.csr_matrix:
        """Binary symmetric adjacency (nodes × nodes)."""
        ei = self.edge_index.cpu().numpy()
        n = self.n_nodes
        return sp.csr_matrix((np.ones(ei.shape[1], dtype=np.float32), (ei[0], ei[1])), shape=(n, n))


def _edge_index(adj: sp.spmatrix) -> torch.Tensor:
    """``2 × E`` edges of every stored off-diagonal entry of ``adj`` and its transpose, sorted by (row, col).

    Undirected even if the stored matrix is not. The union is formed by scipy's COO → CSR conversion (which sums
    duplicates and sorts), linear in the entries; ``np.unique(..., axis=1)`` sorted the pairs as structured rows
    and took about a second per 2,000-gene co-expression graph.
    """
    adj = sp.coo_matrix(adj)
    mask = adj.row != adj.col
    rows, cols = adj.row[mask], adj.col[mask]
    n = adj.shape[0]
    both = sp.coo_matrix(
        (np.ones(2 * rows.size, dtype=np.int8), (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
        shape=(n, n),
    ).tocsr()
    both.sort_indices()
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(both.indptr))
    return torch.from_numpy(np.stack([rows, both.indices.astype(np.int64)]))


def graph_from_arrays(
    name: str,
    genes: pd.Index | list[str],
    x: np.ndarray,
    adj: sp.spmatrix,
    *,
    tissue: str = "unknown",
    technology: str = "unknown",
    species: str = "unknown",
) -> GraphData:
    """Build :class:`GraphData` from arrays (used by :func:`prepare_graph` and tests)."""
    x = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"dataset {name!r}: node features contain NaN or infinite values.")
    genes = pd.Index(np.asarray(genes).astype(str))
    if x.shape[0] != len(genes) or adj.shape != (len(genes), len(genes)):
        raise ValueError(f"dataset {name!r}: features, genes and adjacency disagree in size.")
    if not genes.is_unique:
        raise ValueError(f"dataset {name!r}: graph gene names are not unique.")
    return GraphData(
        name=name,
        genes=genes,
        x=torch.from_numpy(x),
        edge_index=_edge_index(binary_adjacency(adj, func="graph_from_arrays", name=name)),
        tissue=tissue,
        technology=technology,
        species=species,
    )


def prepare_graph(adata: AnnData, name: str, *, graph_key: str = "muse") -> GraphData:
    """Read the graph of :func:`muse_gnn.pp.coexpression_graph` and compute its node features.

    Raises a ``KeyError`` naming :func:`muse_gnn.pp.coexpression_graph` when the graph is missing.
    """
    if not isinstance(adata, AnnData):
        raise TypeError(f"dataset {name!r} is a {type(adata).__name__}, not an AnnData.")
    try:
        genes, adj = get_graph(adata, graph_key=graph_key)
    except KeyError as err:
        raise KeyError(f"dataset {name!r}: {err.args[0]}") from None
    if len(genes) < 2:
        raise ValueError(f"dataset {name!r}: the gene graph has fewer than two genes.")
    x = residual_features(adata, graph_key=graph_key)
    return graph_from_arrays(
        name,
        genes,
        x,
        adj,
        tissue=dataset_label(adata, "tissue"),
        technology=dataset_label(adata, "technology"),
        species=dataset_label(adata, "species"),
    )


def genes_to_var(adata: AnnData, genes: pd.Index, emb: np.ndarray, name: str) -> np.ndarray:
    """A ``varm``-shaped copy of ``emb`` (rows in graph-gene order): NaN for genes outside the graph."""
    idx = adata.var_names.astype(str).get_indexer(genes)
    if (idx < 0).any():
        raise ValueError(
            f"dataset {name!r}: {int((idx < 0).sum())} graph genes are no longer in `adata.var_names` "
            "(renamed or removed after training); restore the names or call `model.get_embedding()`."
        )
    full = np.full((adata.n_vars, emb.shape[1]), np.nan, dtype=np.float32)
    full[idx] = emb
    return full
