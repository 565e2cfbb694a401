"""Datasets: a multi-dataset simulator with planted gene modules, and loaders of small public datasets.

The loaders download the original public file once (checked against the SHA-256 its registry publishes), build
the documented AnnData or table from it and cache both under ``mg.settings.datasetdir``.
"""

from __future__ import annotations

from ._annotations import go_bp_human, go_bp_terms, orthologs_human_mouse
from ._loaders import (
    dominguez_conde2022,
    ji2020,
    kang2018,
    pbmc3k,
    pbmc68k_reduced,
    tirosh2016,
    trapnell2014,
    treutlein2014,
)
from ._simulate import SPECIES, TECHNOLOGIES, simulate, simulate_orthologs
from ._truth import planted_modules

__all__ = [
    "SPECIES",
    "TECHNOLOGIES",
    "dominguez_conde2022",
    "go_bp_human",
    "go_bp_terms",
    "ji2020",
    "kang2018",
    "orthologs_human_mouse",
    "pbmc3k",
    "pbmc68k_reduced",
    "planted_modules",
    "simulate",
    "simulate_orthologs",
    "tirosh2016",
    "trapnell2014",
    "treutlein2014",
]
