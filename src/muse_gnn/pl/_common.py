"""Helpers shared by the plotting functions: figure creation, saving and showing (scanpy conventions)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["check_joint", "finish", "new_axes"]


def check_joint(joint: Any, func: str, *, columns: Sequence[str] = (), use_rep: str | None = None) -> None:
    """Raise a clear error when ``joint`` is not a joint embedding with the required fields."""
    if not isinstance(joint, AnnData):
        raise TypeError(
            f"{func}: expected an AnnData of (gene, dataset) rows from `model.joint_embedding()`, "
            f"got {type(joint).__name__}."
        )
    missing = [c for c in columns if c not in joint.obs.columns]
    if missing:
        hint = ""
        if "muse_module" in missing:
            hint = " Gene modules are written by `mg.tl.gene_modules`."
        raise KeyError(f"{func}: `joint.obs` has no column(s) {missing}.{hint}")
    if use_rep is not None and use_rep not in joint.obsm:
        raise KeyError(
            f"{func}: `joint.obsm[{use_rep!r}]` not found; available: {list(joint.obsm.keys())}. "
            "Use `model.joint_embedding()` or pass `use_rep=`."
        )


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
