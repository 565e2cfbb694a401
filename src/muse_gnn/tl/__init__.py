"""Tools: training, mapping new datasets, and downstream analysis of gene embeddings."""

from __future__ import annotations

from ._context import context_shift
from ._embed import embed
from ._enrich import enrichment
from ._fit import fit
from ._joint import joint_embedding
from ._module_scores import module_scores
from ._modules import gene_modules, ortholog_coclustering
from ._similar import similar_genes

__all__ = [
    "context_shift",
    "embed",
    "enrichment",
    "fit",
    "gene_modules",
    "joint_embedding",
    "module_scores",
    "ortholog_coclustering",
    "similar_genes",
]
