"""Helpers shared by the plotting functions: figure creation, saving and showing (scanpy conventions)."""

from __future__ import annotations

import os
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["finish", "new_axes"]


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``(figure, ax)``, creating a figure of ``figsize`` inches when ``ax`` is None."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax  # type: ignore[return-value]


def finish(
    fig: Figure,
    axes: Any,
    *,
    ax_given: bool,
    show: bool | None,
    return_fig: bool,
    save: str | os.PathLike | None,
) -> Any:
    """Save and/or show a finished plot and return what scanpy would return.

    ``show=None`` shows the figure when :attr:`scanpy.settings.autoshow` is on, unless the caller passed its
    own ``ax`` or asked for the figure (then the caller is composing a larger figure). Returns the figure
    when ``return_fig``; otherwise the axes when the figure is not shown, else None.
    """
    if show is None:
        import scanpy as sc

        show = bool(sc.settings.autoshow) and not ax_given and not return_fig
    if save is not None:
        fig.savefig(os.fspath(save), bbox_inches="tight")
    if show:
        plt.show()
    if return_fig:
        return fig
    if show:
        return None
    return axes
