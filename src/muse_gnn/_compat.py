"""Renamed public parameters: the old name keeps working for one release, with a ``FutureWarning``."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["renamed_parameter"]

F = TypeVar("F", bound=Callable[..., Any])


def renamed_parameter(old: str, new: str) -> Callable[[F], F]:
    """Accept the keyword ``old`` as ``new``, warning that ``old`` goes away in the next release."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(f"{func.__name__}: pass `{new}` only (`{old}` is its former name).")
                warnings.warn(
                    f"{func.__name__}: `{old}` is renamed `{new}`; `{old}` will be removed in the next release.",
                    FutureWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
