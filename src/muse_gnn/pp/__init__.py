"""Preprocessing: per-dataset gene graphs (Pearson-residual HVGs, CS-CORE, SPARK-X, orthologs)."""

from __future__ import annotations

from ._cscore import CSCoreResult, cscore, cscore_arrays
from ._graph import coexpression_graph, coexpression_graphs, get_graph, graph_from_edgelist
from ._orthologs import map_orthologs
from ._residuals import pearson_residuals, residual_features, residual_hvg
from ._sparkx import sparkx, sparkx_test

__all__ = [
    "coexpression_graph",
    "coexpression_graphs",
    "graph_from_edgelist",
    "get_graph",
    "cscore",
    "cscore_arrays",
    "CSCoreResult",
    "sparkx",
    "sparkx_test",
    "pearson_residuals",
    "residual_hvg",
    "residual_features",
    "map_orthologs",
]
