"""Readers of annotation files (:mod:`muse_gnn.io`)."""

from __future__ import annotations

from ._gmt import read_gmt

__all__ = ["read_gmt"]
