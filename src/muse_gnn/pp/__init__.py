"""TEMPORARY during development (final version in /tmp/pp_init_final.py)."""
from __future__ import annotations
from ._graph import coexpression_graph, coexpression_graphs, get_graph, graph_from_edgelist
from ._orthologs import map_orthologs
from ._residuals import pearson_residuals, residual_features, residual_hvg
