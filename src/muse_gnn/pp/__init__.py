"""Preprocessing: per-dataset gene graphs (Pearson-residual HVGs, CS-CORE, SPARK-X, orthologs)."""

from __future__ import annotations

from ._cscore import CSCoreResult, cscore, cscore_arrays
from ._graph import coexpression_graph, coexpression_graphs, get_graph, graph_from_edgelist
from ._orthologs import map_orthologs
from ._residuals import pearson_residuals, residual_features, residual_hvg
from ._sparkx import sparkx, sparkx_test

__all__ = [
    "CSCoreResult",
    "coexpression_graph",
    "coexpression_graphs",
    "cscore",
    "cscore_arrays",
    "get_graph",
    "graph_from_edgelist",
    "map_orthologs",
    "pearson_residuals",
    "residual_features",
    "residual_hvg",
    "sparkx",
    "sparkx_test",
]
