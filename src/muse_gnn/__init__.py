"""MuSe-GNN: unified gene representations from many single-cell and spatial datasets."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

# _progress first: it loads tqdm.auto without the ipywidgets warning before dependencies import it
from . import _progress, datasets, io, metrics, pl, pp, tl  # noqa: F401
from ._settings import settings
from .model import MuseGNN

try:
    __version__ = version("muse-gnn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["MuseGNN", "__version__", "datasets", "io", "metrics", "pl", "pp", "settings", "tl"]
