"""Progress bars that do not warn in Jupyter when ipywidgets is not installed.

``tqdm.auto`` picks the widget progress bar inside a Jupyter kernel; when ipywidgets is missing it emits
``TqdmWarning: IProgress not found. Please update jupyter and ipywidgets`` the first time it is imported and
falls back to the text bar. :func:`tqdm_class` checks for ipywidgets explicitly (without importing it) and uses
the text bar directly when it is absent, so no warning is emitted.

Dependencies import ``tqdm.auto`` themselves (``torch_geometric.utils`` does, at import time), which would
still print the warning when :mod:`muse_gnn` is imported in Jupyter. Importing this module therefore loads
``tqdm.autonotebook`` once with that one warning filtered, only when ipywidgets is not installed (checked with
:func:`importlib.util.find_spec`). ``tqdm.autonotebook`` then falls back to the text bar exactly as it would
have, minus the warning; with ipywidgets installed nothing is changed.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Iterable
from typing import Any

__all__ = ["has_ipywidgets", "progress_bar", "tqdm_class"]


def has_ipywidgets() -> bool:
    """Whether ipywidgets can be imported (checked without importing it).

    Examples
    --------
    >>> from muse_gnn._progress import has_ipywidgets
    >>> isinstance(has_ipywidgets(), bool)
    True
    """
    try:
        return importlib.util.find_spec("ipywidgets") is not None
    except ValueError:  # ipywidgets in sys.modules with ``__spec__ = None`` (e.g. a stub): it is importable
        return True


def tqdm_class() -> type:
    """The tqdm class to use: ``tqdm.auto.tqdm`` with ipywidgets, ``tqdm.std.tqdm`` without.

    Without ipywidgets, ``tqdm.auto`` would fall back to ``tqdm.std`` anyway, after warning in Jupyter;
    choosing it here gives the same text bar without the warning.

    Returns
    -------
    The progress-bar class (a subclass of ``tqdm.std.tqdm``).

    Examples
    --------
    >>> from tqdm.std import tqdm
    >>> from muse_gnn._progress import tqdm_class
    >>> issubclass(tqdm_class(), tqdm)
    True
    """
    if has_ipywidgets():
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def progress_bar(iterable: Iterable[Any] | None = None, **kwargs: Any) -> Any:
    """Create a progress bar; a drop-in replacement for ``tqdm.auto.tqdm(iterable, **kwargs)``.

    Parameters
    ----------
    iterable
        What to iterate over, or ``None`` for a bar updated by hand with ``bar.update(n)``.
    **kwargs
        Passed to tqdm (``desc``, ``total``, ``initial``, ``disable``, ``leave``, ...).

    Returns
    -------
    A tqdm progress bar of the class returned by :func:`tqdm_class`.

    Examples
    --------
    >>> from muse_gnn._progress import progress_bar
    >>> sum(progress_bar(range(4), desc="demo", disable=True))
    6
    >>> bar = progress_bar(total=3, disable=True)
    >>> bar.update(3)
    >>> bar.close()
    """
    return tqdm_class()(iterable, **kwargs)


def _load_tqdm_autonotebook_quietly() -> None:
    """Import ``tqdm.autonotebook`` without its ``IProgress not found`` warning when ipywidgets is absent.

    Without ipywidgets the notebook bar cannot be used and ``tqdm.autonotebook`` falls back to ``tqdm.std``
    after warning; the module (and ``tqdm.auto``, which builds on it) is imported once and cached, so
    later ``from tqdm.auto import tqdm`` in dependencies get the same text bar without printing the warning.
    Does nothing when ipywidgets is installed or ``tqdm.autonotebook`` is already imported.
    """
    if "tqdm.autonotebook" in sys.modules or has_ipywidgets():
        return
    from tqdm.std import TqdmWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
        import tqdm.autonotebook  # noqa: F401


_load_tqdm_autonotebook_quietly()
