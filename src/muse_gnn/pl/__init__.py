"""Plotting (scanpy conventions: ``ax``, ``show``, ``return_fig``)."""

from __future__ import annotations

__all__: list[str] = []
