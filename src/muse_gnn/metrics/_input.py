"""Inputs of the metrics: the finite rows of a joint embedding and one gene graph per dataset, matched."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._joint import JointRows
from ..pp._graph import binary_adjacency
from .._warnings import MuseGNNWarning

__all__ = [
    "Graph",
    "normalize_graphs",
    "row_positions",
    "unit_rows_checked",
    "warn_single_dataset",
]


@dataclass
class Graph:
    """One dataset's gene graph: gene names and a binary symmetric CSR adjacency without self-loops."""

    genes: pd.Index
    adj: sp.csr_matrix


def normalize_graphs(graphs: Any, func: str, *, graph_key: str = "muse") -> dict[str, Graph]:
    """Turn ``{name: (genes, adjacency)}`` or ``{name: AnnData}`` into ``{name: Graph}``.

    For an AnnData the graph is ``varp[f"{graph_key}_connectivities"]`` restricted to
    ``var[f"{graph_key}_selected"]``. Any non-zero weight counts as an edge; self-loops are ignored.
    """
    if not isinstance(graphs, Mapping):
        raise TypeError(
            f"{func}: `graphs` must be a dict {{dataset: (gene_names, adjacency)}} or {{dataset: AnnData}}, "
            f"got {type(graphs).__name__}."
        )
    out: dict[str, Graph] = {}
    for name, g in graphs.items():
        name = str(name)
        if isinstance(g, AnnData):
            sel_key, conn_key = f"{graph_key}_selected", f"{graph_key}_connectivities"
            if sel_key not in g.var.columns or conn_key not in g.varp:
                raise KeyError(
                    f"{func}: dataset {name!r} has no gene graph (missing `var[{sel_key!r}]` or "
                    f"`varp[{conn_key!r}]`); run `mg.pp.coexpression_graph(adata, key_added={graph_key!r})` "
                    "first or pass `graph_key=`."
                )
            sel = np.asarray(g.var[sel_key].to_numpy(), dtype=bool)
            full = sp.csr_matrix(g.varp[conn_key])
            n_out = int(full[~sel].count_nonzero() + full[sel][:, ~sel].count_nonzero())
            if n_out:
                warnings.warn(
                    f"{func}: dataset {name!r} has {n_out} non-zero entries of `varp[{conn_key!r}]` outside "
                    f"the genes of `var[{sel_key!r}]`; they are ignored.",
                    MuseGNNWarning,
                    stacklevel=3,
                )
            genes = pd.Index(g.var_names[sel].astype(str))
            adj = full[sel][:, sel]
        elif isinstance(g, tuple | list) and len(g) == 2:
            genes = pd.Index(np.asarray(list(g[0]), dtype=object).astype(str))
            adj = sp.csr_matrix(g[1])
        else:
            raise TypeError(
                f"{func}: graph {name!r} must be a (gene_names, adjacency) pair or an AnnData, "
                f"got {type(g).__name__}."
            )
        if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or adj.shape[0] != len(genes):
            raise ValueError(
                f"{func}: graph {name!r}: the adjacency has shape {adj.shape} but there are "
                f"{len(genes)} genes."
            )
        if not genes.is_unique:
            dup = genes[genes.duplicated()].unique()[:5].tolist()
            raise ValueError(f"{func}: graph {name!r} has duplicated gene names, e.g. {dup}.")
        adj = binary_adjacency(adj, func=func, name=name)  # the edge rule of training: stored positive entries
        if (adj != adj.T).count_nonzero():
            raise ValueError(
                f"{func}: graph {name!r} is not symmetric; pass an undirected adjacency "
                "(e.g. `A.maximum(A.T)`)."
            )
        out[name] = Graph(genes=genes, adj=adj.astype(bool).tocsr())
    if not out:
        raise ValueError(f"{func}: `graphs` is empty.")
    return out


def row_positions(
    data: JointRows, graphs: dict[str, Graph], func: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For every dataset of ``data``: (row indices into ``data``, positions of their genes in its graph).

    Rows whose gene is not a node of its dataset's graph are left out with a warning giving their count.
    """
    datasets = pd.unique(data.dataset)
    missing = [d for d in datasets if d not in graphs]
    if missing:
        raise KeyError(
            f"{func}: no graph given for dataset(s) {missing}; `graphs` has {list(graphs)}. "
            "Pass one graph per dataset of the joint embedding."
        )
    out = {}
    n_unmatched = 0
    for d in datasets:
        rows = np.flatnonzero(data.dataset == d)
        pos = graphs[d].genes.get_indexer(data.gene[rows])
        ok = pos >= 0
        n_unmatched += int((~ok).sum())
        out[d] = (rows[ok], pos[ok])
    if n_unmatched:
        warnings.warn(
            f"{func}: {n_unmatched} rows of the joint embedding have a gene that is not a node of their "
            "dataset's graph; they are left out of this metric.",
            MuseGNNWarning,
            stacklevel=3,
        )
    return out


def unit_rows_checked(X: np.ndarray, func: str) -> np.ndarray:
    """Rows scaled to unit L2 norm (for cosine); all-zero rows stay zero (cosine 0), with a warning."""
    norms = np.linalg.norm(X, axis=1)
    zero = norms == 0
    if zero.any():
        warnings.warn(
            f"{func}: {int(zero.sum())} rows are all-zero vectors; their cosine similarity to anything is 0.",
            MuseGNNWarning,
            stacklevel=3,
        )
        norms = np.where(zero, 1.0, norms)
    return X / norms[:, None]


def warn_single_dataset(func: str, metric: str) -> float:
    warnings.warn(
        f"{func}: the joint embedding holds a single dataset; the cross-dataset metric {metric} is NaN.",
        MuseGNNWarning,
        stacklevel=3,
    )
    return float("nan")
