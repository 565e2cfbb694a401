"""Datasets: a multi-dataset simulator with planted gene modules."""

from __future__ import annotations

from ._simulate import SPECIES, TECHNOLOGIES, simulate, simulate_orthologs

__all__ = ["SPECIES", "TECHNOLOGIES", "simulate", "simulate_orthologs"]
