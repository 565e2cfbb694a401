"""MuSe-GNN: unified gene representations from many single-cell and spatial datasets."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import datasets, io, metrics, model, pl, pp, tl
from ._settings import settings
from ._warnings import ConvergenceWarning, MuseGNNWarning
from .model import MuseGNN

try:
    __version__ = version("muse-gnn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "ConvergenceWarning",
    "MuseGNN",
    "MuseGNNWarning",
    "__version__",
    "datasets",
    "io",
    "metrics",
    "model",
    "pl",
    "pp",
    "settings",
    "tl",
]
