"""The MuSe-GNN network, its training and persistence."""

from __future__ import annotations

from ._decoder import EdgeDecoder, GramMLPDecoder
from ._encoder import InputLayer, SharedLayers
from ._model import FORMAT_VERSION, MuseGNN

__all__ = ["FORMAT_VERSION", "EdgeDecoder", "GramMLPDecoder", "InputLayer", "MuseGNN", "SharedLayers"]
