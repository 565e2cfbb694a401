"""Package-wide settings: verbosity, progress bars, worker processes, data and figure directories."""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["MuseSettings", "settings", "show_progress"]

_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
_VERBOSITY_INT = {0: "error", 1: "warning", 2: "info", 3: "debug"}


class MuseSettings:
    """Settings of :mod:`muse_gnn`, used as ``mg.settings`` (in the spirit of ``sc.settings``).

    Attributes
    ----------
    verbosity
        ``"error"``, ``"warning"`` (default), ``"info"`` or ``"debug"`` (or 0–3, as scanpy's). Messages of the
        ``"muse_gnn"`` logger at or above this level are printed (to ``stderr``, so they show in Jupyter).
    progress_bar
        Default of every ``show_progress_bar`` option (``True``).
    n_jobs
        Default number of worker processes where a function takes ``n_jobs`` (``1``; ``-1``: all cores).
    datasetdir
        Where :mod:`muse_gnn.datasets` loaders cache downloaded files; the environment variable
        ``MUSE_GNN_DATASETDIR`` sets its initial value (default ``~/.cache/muse_gnn``).
    figdir
        Where :mod:`muse_gnn.pl` functions write figures for ``save=True`` or a suffix (``./figures``).
    file_format_figs
        Default figure file format for ``save=True`` (``"png"``).

    Examples
    --------
    >>> import muse_gnn as mg
    >>> old = mg.settings.verbosity
    >>> mg.settings.verbosity = "info"
    >>> mg.settings.verbosity
    'info'
    >>> mg.settings.verbosity = old
    """

    def __init__(self) -> None:
        self._verbosity = "warning"
        self._handler: logging.Handler | None = None
        self.progress_bar: bool = True
        self.n_jobs: int = 1
        self.datasetdir = Path(os.environ.get("MUSE_GNN_DATASETDIR", Path.home() / ".cache" / "muse_gnn"))
        self.figdir = Path("figures")
        self.file_format_figs = "png"
        self.verbosity = "warning"

    # ------------------------------------------------------------------ verbosity
    @property
    def verbosity(self) -> str:
        return self._verbosity

    @verbosity.setter
    def verbosity(self, value: str | int) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            if value not in _VERBOSITY_INT:
                raise ValueError(f"settings.verbosity: an integer must be 0–3, got {value}.")
            value = _VERBOSITY_INT[value]
        if not isinstance(value, str) or value.lower() not in _LEVELS:
            raise ValueError(f"settings.verbosity must be one of {list(_LEVELS)} or 0–3, got {value!r}.")
        self._verbosity = value.lower()
        logger = logging.getLogger("muse_gnn")
        logger.setLevel(_LEVELS[self._verbosity])
        if self._handler is None:
            # a handler of our own (not the root logger's): Jupyter shows stderr, and the root logger has none
            self._handler = logging.StreamHandler()
            self._handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
            logger.addHandler(self._handler)
            logger.propagate = False

    # ------------------------------------------------------------------ paths
    @property
    def datasetdir(self) -> Path:
        return self._datasetdir

    @datasetdir.setter
    def datasetdir(self, value: str | os.PathLike) -> None:
        self._datasetdir = Path(value).expanduser()

    @property
    def figdir(self) -> Path:
        return self._figdir

    @figdir.setter
    def figdir(self, value: str | os.PathLike) -> None:
        self._figdir = Path(value).expanduser()

    def __repr__(self) -> str:
        return (
            f"MuseSettings(verbosity={self.verbosity!r}, progress_bar={self.progress_bar}, n_jobs={self.n_jobs}, "
            f"datasetdir={str(self.datasetdir)!r}, figdir={str(self.figdir)!r})"
        )


settings = MuseSettings()


def show_progress(show_progress_bar: bool | None) -> bool:
    """``show_progress_bar`` of a public function, with ``None`` meaning ``settings.progress_bar``.

    Examples
    --------
    >>> from muse_gnn._settings import show_progress
    >>> show_progress(False)
    False
    """
    return settings.progress_bar if show_progress_bar is None else bool(show_progress_bar)

