"""Evaluation metrics of gene embeddings (:mod:`muse_gnn.metrics`).

* the six metrics of the MuSe-GNN paper on a joint embedding and the average rank of methods
  (:func:`paper_metrics`, :func:`average_rank`, and one function per metric);
* function metrics against external gene sets (:func:`geneset_auroc`, :func:`pair_auroc`);
* metrics against planted truth for simulated data (:func:`planted_ari`, :func:`planted_nmi`,
  :func:`same_gene_nn_rate`, :func:`context_separation`).
"""

from __future__ import annotations

from ._function import GeneSetScores, gene_embedding_table, geneset_auroc, pair_auroc
from ._lisi import ilisi
from ._overlap import neighbor_overlap
from ._paper import PAPER_METRICS, asw_batch, auc_graph, common_gene_ratio, graph_connectivity, paper_metrics
from ._planted import context_separation, planted_ari, planted_nmi, same_gene_nn_rate
from ._rank import average_rank

__all__ = [
    "PAPER_METRICS",
    "GeneSetScores",
    "asw_batch",
    "auc_graph",
    "average_rank",
    "common_gene_ratio",
    "context_separation",
    "gene_embedding_table",
    "geneset_auroc",
    "graph_connectivity",
    "ilisi",
    "neighbor_overlap",
    "pair_auroc",
    "paper_metrics",
    "planted_ari",
    "planted_nmi",
    "same_gene_nn_rate",
]
