"""Datasets: a multi-dataset simulator with planted gene modules."""

from __future__ import annotations

from ._simulate import SPECIES, TECHNOLOGIES, simulate, simulate_orthologs
from ._truth import planted_modules

__all__ = ["SPECIES", "TECHNOLOGIES", "planted_modules", "simulate", "simulate_orthologs"]
