"""Plotting (:mod:`muse_gnn.pl`), following scanpy conventions (``ax``, ``show``, ``return_fig``, ``save``).

* :func:`embedding`: UMAP of the joint (gene, dataset) embedding, coloured by dataset, tissue, module, with
  optional gene labels;
* :func:`history`: loss terms per training epoch;
* :func:`similarity`: cosine similarity heatmap of chosen genes across datasets;
* :func:`enrichment`: bubble plot of enriched terms × gene modules;
* :func:`module_sharing`: UpSet-style plot of gene modules shared across tissues.
"""

from __future__ import annotations

from ._embedding import embedding
from ._enrichment import enrichment
from ._history import history
from ._sharing import module_sharing
from ._similarity import similarity

__all__ = ["embedding", "enrichment", "history", "module_sharing", "similarity"]
