"""Helpers shared by the plotting functions: figure creation, saving and showing (scanpy conventions)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

__all__ = ["finish", "new_axes", "save_path"]


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``(figure, ax)``, creating a figure of ``figsize`` inches when ``ax`` is None."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax  # type: ignore[return-value]


def save_path(save: bool | str | os.PathLike, name: str) -> Path:
    """Where ``save=`` asks a plot called ``name`` to be written (scanpy's rules).

    ``True``: ``figdir/{name}.{file_format_figs}``; a string without a folder: a suffix of that name (the format
    from its extension when it has a known one, else ``file_format_figs``); a path with a folder, an absolute path
    or a :class:`~os.PathLike`: that path.
    """
    from .._settings import settings

    if save is True:
        return settings.figdir / f"{name}.{settings.file_format_figs}"
    if isinstance(save, os.PathLike) or os.path.isabs(save) or os.sep in save or "/" in save:
        return Path(save)
    suffix = Path(save).suffix.lstrip(".").lower()
    if suffix not in FigureCanvasBase.get_supported_filetypes():
        save = f"{save}.{settings.file_format_figs}"
    return settings.figdir / f"{name}{save}"


def finish(
    fig: Figure,
    axes: Any,
    *,
    ax_given: bool,
    show: bool | None,
    return_fig: bool,
    save: bool | str | os.PathLike | None,
    name: str,
) -> Any:
    """Save and/or show a finished plot and return what scanpy would return.

    ``show=None`` shows the figure when :attr:`scanpy.settings.autoshow` is on, unless the caller passed its
    own ``ax`` or asked for the figure (then the caller is composing a larger figure). ``save`` follows
    :func:`save_path`. Returns the figure when ``return_fig``; otherwise the axes when the figure is not shown,
    else None.
    """
    if show is None:
        import scanpy as sc

        show = bool(sc.settings.autoshow) and not ax_given and not return_fig
    if save is not None and save is not False:
        path = save_path(save, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    if show:
        plt.show()
    if return_fig:
        return fig
    if show:
        return None
    return axes
