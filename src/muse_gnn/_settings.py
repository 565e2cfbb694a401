"""Package-wide settings: verbosity, progress bars, worker processes, data and figure directories."""

from __future__ import annotations

import logging
import numbers
import os
import sys
from pathlib import Path

__all__ = ["MuseSettings", "resolve_n_jobs", "settings", "show_progress"]

_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
_VERBOSITY_INT = {0: "error", 1: "warning", 2: "info", 3: "debug"}
_LOGGER_NAME = "muse_gnn"


class _StderrHandler(logging.Handler):
    """Writes ``muse_gnn`` log records to the *current* ``sys.stderr``, unless the application logs itself.

    ``sys.stderr`` is looked up for every record (not bound once, as :class:`logging.StreamHandler` does), so
    the messages reach whatever stream is current: the cell output in Jupyter, a captured stream in tests.
    When the root logger has handlers (the application called :func:`logging.basicConfig` or set up its own
    logging, or pytest's ``caplog`` is active), the records propagate there and this handler stays silent, so
    no message is printed twice.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


class MuseSettings:
    """Settings of :mod:`muse_gnn`, used as ``mg.settings`` (in the spirit of ``sc.settings``).

    Attributes
    ----------
    verbosity
        ``"error"``, ``"warning"`` (default), ``"info"`` or ``"debug"`` (or 0–3, as scanpy's). Messages of the
        ``"muse_gnn"`` logger at or above this level are printed to ``stderr`` (``INFO: ...``), so they show
        in the cell output in Jupyter. When the application configures logging itself (handlers on the root
        logger, e.g. :func:`logging.basicConfig`), the messages go to those handlers instead, once.
    progress_bar
        Default of every ``show_progress_bar=None`` option (``True``).
    n_jobs
        Default number of worker processes where a function takes ``n_jobs=None`` (``1``; ``-1``: all cores,
        as in joblib).
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
    >>> mg.settings.progress_bar = False  # no progress bars by default
    >>> mg.settings.progress_bar = True
    """

    def __init__(self) -> None:
        self._verbosity = "warning"
        self.progress_bar = True
        self.n_jobs = 1
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
        logger = logging.getLogger(_LOGGER_NAME)
        logger.setLevel(_LEVELS[self._verbosity])
        # one handler on the logger, however many settings objects there are or how often this is set
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
            logger.addHandler(handler)

    # ------------------------------------------------------------------ defaults of options
    @property
    def progress_bar(self) -> bool:
        return self._progress_bar

    @progress_bar.setter
    def progress_bar(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"settings.progress_bar must be True or False, got {value!r}.")
        self._progress_bar = value

    @property
    def n_jobs(self) -> int:
        return self._n_jobs

    @n_jobs.setter
    def n_jobs(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value == 0:
            raise ValueError(f"settings.n_jobs must be a non-zero integer (-1: all cores), got {value!r}.")
        self._n_jobs = int(value)

    @property
    def file_format_figs(self) -> str:
        return self._file_format_figs

    @file_format_figs.setter
    def file_format_figs(self, value: str) -> None:
        if not isinstance(value, str) or not value or value.startswith("."):
            raise ValueError(
                f"settings.file_format_figs must be a format name such as 'png' or 'pdf', got {value!r}."
            )
        self._file_format_figs = value

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
            f"datasetdir={str(self.datasetdir)!r}, figdir={str(self.figdir)!r}, "
            f"file_format_figs={self.file_format_figs!r})"
        )


settings = MuseSettings()


def show_progress(show_progress_bar: bool | None) -> bool:
    """``show_progress_bar`` of a public function, with ``None`` meaning ``settings.progress_bar``.

    Examples
    --------
    >>> from muse_gnn._settings import settings, show_progress
    >>> show_progress(False)
    False
    >>> show_progress(None) == settings.progress_bar
    True
    """
    if show_progress_bar is None:
        return settings.progress_bar
    if not isinstance(show_progress_bar, bool | numbers.Integral):
        raise TypeError(f"show_progress_bar must be True, False or None, got {show_progress_bar!r}.")
    return bool(show_progress_bar)


def resolve_n_jobs(n_jobs: int | None) -> int:
    """``n_jobs`` of a public function, with ``None`` meaning ``settings.n_jobs``.

    Examples
    --------
    >>> from muse_gnn._settings import resolve_n_jobs, settings
    >>> resolve_n_jobs(2)
    2
    >>> resolve_n_jobs(None) == settings.n_jobs
    True
    """
    if n_jobs is None:
        return settings.n_jobs
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer (-1: all cores) or None, got {n_jobs!r}.")
    return int(n_jobs)
