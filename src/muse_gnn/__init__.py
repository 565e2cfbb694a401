"""TEMPORARY during development."""
from __future__ import annotations
from . import datasets, pp, tl
from .model import MuseGNN
