"""Progress bars: :mod:`tqdm.auto`, switched on or off by ``show_progress_bar`` / ``mg.settings.progress_bar``.

As in scanpy, ``tqdm.auto`` draws a widget bar inside Jupyter (when ipywidgets is installed; without it tqdm
warns once, ``IProgress not found``, and falls back to the text bar: ``pip install muse-gnn[tutorials]``
installs ipywidgets) and a text bar on ``stderr`` elsewhere. Nothing about tqdm is changed at import time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._settings import show_progress

__all__ = ["progress_bar"]


def progress_bar(
    iterable: Iterable[Any] | None = None, *, show_progress_bar: bool | None = None, **kwargs: Any
) -> Any:
    """Create a progress bar; ``tqdm.auto.tqdm(iterable, **kwargs)`` shown according to ``show_progress_bar``.

    Parameters
    ----------
    iterable
        What to iterate over, or ``None`` for a bar updated by hand with ``bar.update(n)``.
    show_progress_bar
        Whether to draw the bar; ``None`` follows ``mg.settings.progress_bar``. Not to be combined with
        tqdm's ``disable``.
    **kwargs
        Passed to tqdm (``desc``, ``total``, ``initial``, ``leave``, ...).

    Returns
    -------
    A :class:`tqdm.auto.tqdm` progress bar (disabled when it is not to be shown).

    Examples
    --------
    >>> from muse_gnn._progress import progress_bar
    >>> sum(progress_bar(range(4), desc="demo", show_progress_bar=False))
    6
    >>> bar = progress_bar(total=3, show_progress_bar=False)
    >>> bar.update(3)
    >>> bar.close()
    """
    from tqdm.auto import tqdm

    if "disable" in kwargs:
        if show_progress_bar is not None:
            raise TypeError("progress_bar: pass either `show_progress_bar` or tqdm's `disable`, not both.")
        return tqdm(iterable, **kwargs)
    return tqdm(iterable, disable=not show_progress(show_progress_bar), **kwargs)
