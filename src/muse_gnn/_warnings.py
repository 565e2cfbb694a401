"""Warning categories of :mod:`muse_gnn` (see the "Warnings and messages" section of the docs).

A condition the user should act on is reported with :func:`warnings.warn` and one of these categories, so it
can be caught, turned into an error or silenced with the standard :mod:`warnings` filters; progress and
bookkeeping go to the ``"muse_gnn"`` logger (shown with ``mg.settings.verbosity = "info"``).
"""

from __future__ import annotations

__all__ = ["ConvergenceWarning", "MuseGNNWarning"]


class MuseGNNWarning(UserWarning):
    """Base class of the warnings :mod:`muse_gnn` emits about the user's data or options.

    A subclass of :class:`UserWarning`, so ``pytest.warns(UserWarning)`` and filters on ``UserWarning`` still
    match; filter on this class to act on :mod:`muse_gnn`'s warnings only.

    Examples
    --------
    >>> import warnings
    >>> import muse_gnn as mg
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", mg.MuseGNNWarning)  # make muse_gnn's warnings errors
    ...     issubclass(mg.ConvergenceWarning, mg.MuseGNNWarning)
    True
    """


class ConvergenceWarning(MuseGNNWarning):
    """An iterative estimate stopped at its iteration limit before converging (e.g. CS-CORE's IRLS).

    The results of the last iteration are returned; check the data (enough cells, raw counts) before using
    them.

    Examples
    --------
    >>> import warnings
    >>> import muse_gnn as mg
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("did not converge", mg.ConvergenceWarning)
    >>> caught[0].category.__name__
    'ConvergenceWarning'
    """
