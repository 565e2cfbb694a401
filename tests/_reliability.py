"""Helpers of the reliability tests: AnnData snapshots, unchanged checks and a time limit."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from hypothesis import event
from hypothesis.control import currently_in_test_context

__all__ = ["CLEAR_ERRORS", "assert_unchanged", "checked_call", "snapshot", "time_limit", "values_equal"]

#: The error types a public function may raise for bad input.
CLEAR_ERRORS = (ValueError, KeyError, TypeError)

_MAPPINGS = ("obsm", "varm", "obsp", "varp", "layers")


def _copy_value(v: Any) -> Any:
    if sp.issparse(v):
        return v.copy()
    if isinstance(v, pd.DataFrame | pd.Series | pd.Index):
        return v.copy(deep=True)
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, Mapping):
        return {k: _copy_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return type(v)(_copy_value(x) for x in v)
    return v


def _is_text(arr: np.ndarray) -> bool:
    if arr.dtype.kind in "USTt":
        return True
    return arr.dtype == object and all(isinstance(x, str) for x in arr.ravel()[:1000])


def values_equal(a: Any, b: Any) -> bool:
    """Deep equality of AnnData field values (arrays, sparse, frames, nested dicts), NaN == NaN.

    Types must agree (a list is not an array); string arrays compare by value whatever their dtype
    (object, fixed- or variable-width), since .h5ad and .zarr store them differently.
    """
    if isinstance(a, list | tuple) != isinstance(b, list | tuple):
        return False
    if sp.issparse(a) or sp.issparse(b):
        if not (sp.issparse(a) and sp.issparse(b)) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        return values_equal(a.toarray(), b.toarray())
    if isinstance(a, pd.DataFrame | pd.Series):
        if type(a) is not type(b):
            return False
        try:
            if isinstance(a, pd.DataFrame):
                pd.testing.assert_frame_equal(a, b)
            else:
                pd.testing.assert_series_equal(a, b)
        except AssertionError:
            return False
        return True
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and set(a) == set(b) and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        if _is_text(a_arr) and _is_text(b_arr):  # object / fixed-width / variable-width strings
            return a_arr.shape == b_arr.shape and [str(x) for x in a_arr.ravel()] == [str(x) for x in b_arr.ravel()]
        if a_arr.shape != b_arr.shape or a_arr.dtype != b_arr.dtype:
            return False
        if a_arr.dtype.kind in "fc":
            return bool(np.array_equal(a_arr, b_arr, equal_nan=True))
        return bool(np.array_equal(a_arr, b_arr))
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(values_equal, a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return bool(a == b)


def snapshot(adata: AnnData) -> dict[str, Any]:
    """Deep copy of everything a user could see change in ``adata`` (views and backed objects too)."""
    snap: dict[str, Any] = {
        "is_view": adata.is_view,
        "isbacked": adata.isbacked,
        "obs_names": adata.obs_names.copy(),
        "var_names": adata.var_names.copy(),
        "obs": adata.obs.copy(deep=True),
        "var": adata.var.copy(deep=True),
        "uns": _copy_value(dict(adata.uns)),
    }
    if adata.isbacked:
        snap["X"] = None  # read on demand from the file, which is opened read-only
    else:
        X = adata.X
        snap["X"] = None if X is None else (X.copy() if sp.issparse(X) else np.array(X, copy=True))
    for name in _MAPPINGS:
        snap[name] = {k: _copy_value(np.asarray(v) if not sp.issparse(v) else v) for k, v in getattr(adata, name).items()}
    return snap


def assert_unchanged(adata: AnnData, snap: dict[str, Any], *, allow_added: bool = False) -> None:
    """Assert that ``adata`` still holds what :func:`snapshot` saw.

    With ``allow_added`` new obs/var columns and new keys of uns/obsm/varm/obsp/varp are allowed (the
    documented outputs of an in-place call); everything present before must be unchanged.
    """
    assert adata.is_view == snap["is_view"], "a view turned into an actual AnnData (or back)"
    assert adata.isbacked == snap["isbacked"]
    assert adata.obs_names.equals(snap["obs_names"]), "obs_names changed"
    assert adata.var_names.equals(snap["var_names"]), "var_names changed"
    assert adata.var_names.dtype == snap["var_names"].dtype, "var_names dtype changed"
    if snap["X"] is not None:
        X = adata.X
        assert X is not None, "X removed"
        assert values_equal(X if sp.issparse(X) else np.asarray(X), snap["X"]), "X changed"
    for frame in ("obs", "var"):
        now, before = getattr(adata, frame), snap[frame]
        cols = list(before.columns)
        if allow_added:
            assert set(cols) <= set(now.columns), f"{frame} columns removed"
        else:
            assert list(now.columns) == cols, f"{frame} columns changed: {list(now.columns)} vs {cols}"
        assert values_equal(now[cols], before), f"{frame} values changed"
    uns = dict(adata.uns)
    if allow_added:
        assert set(snap["uns"]) <= set(uns), "uns keys removed"
    else:
        assert set(uns) == set(snap["uns"]), f"uns keys changed: {sorted(uns)} vs {sorted(snap['uns'])}"
    for k, v in snap["uns"].items():
        assert values_equal(uns[k], v), f"uns[{k!r}] changed"
    for name in _MAPPINGS:
        now = getattr(adata, name)
        before = snap[name]
        if allow_added:
            assert set(before) <= set(now.keys()), f"{name} keys removed"
        else:
            assert set(now.keys()) == set(before), f"{name} keys changed"
        for k, v in before.items():
            cur = now[k]
            assert values_equal(cur if sp.issparse(cur) else np.asarray(cur), v), f"{name}[{k!r}] changed"


class CallTimeout(Exception):
    """A call ran past :func:`time_limit` (not a clear user error: it fails the test)."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail with :class:`CallTimeout` when the block runs longer than ``seconds`` (SIGALRM, main thread)."""

    def _handler(signum: int, frame: Any) -> None:
        raise CallTimeout(f"call did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, _handler)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def checked_call(
    name: str,
    fn: Callable[[], Any],
    adatas: list[AnnData],
    *,
    allow_added: bool = True,
    seconds: int = 60,
) -> tuple[str, Any]:
    """Run ``fn()``; return ``("works", result)`` or ``("error", exception)`` for a clear error.

    A clear error is a ValueError/KeyError/TypeError whose message names ``name``; after it every AnnData
    of ``adatas`` must be unchanged. After success only additions are allowed (``allow_added``). Any other
    exception, or a call running past ``seconds``, propagates and fails the test.
    """
    snaps = [snapshot(a) for a in adatas]
    try:
        with time_limit(seconds):
            result = fn()
    except CLEAR_ERRORS as err:
        msg = str(err)
        if currently_in_test_context():
            event(f"{name}: {type(err).__name__}")
        assert name in msg, f"error message does not name {name!r}: {msg!r}"
        assert len(msg) > len(name) + 20, f"error message too terse: {msg!r}"
        for a, s in zip(adatas, snaps, strict=True):
            assert_unchanged(a, s)
        return "error", err
    for a, s in zip(adatas, snaps, strict=True):
        assert_unchanged(a, s, allow_added=allow_added)
    if currently_in_test_context():
        event(f"{name}: works")
    return "works", result
