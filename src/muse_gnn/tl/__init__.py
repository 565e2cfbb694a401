"""Tools: training, mapping new datasets, and downstream analysis of gene embeddings."""

from __future__ import annotations

from ._embed import embed
from ._fit import fit

__all__ = ["fit", "embed"]
