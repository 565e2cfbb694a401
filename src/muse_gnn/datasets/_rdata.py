"""R data files (``.rda`` / ``.RData``) of Bioconductor data packages to AnnData, with the optional ``rdata`` reader.

`rdata <https://rdata.readthedocs.io>`_ (MIT) parses R's serialisation format in pure Python; it is an optional
dependency (the ``data`` extra: ``pip install muse-gnn[data]``), imported only when a loader builds a dataset from
R data files. The two sources read here ship plain R objects, not ``ExpressionSet``/``CellDataSet`` instances:
an expression matrix (genes × cells, ``dimnames`` = gene and cell ids), a ``data.frame`` of cell annotations
(monocle's ``pData``) and one of gene annotations (``fData``); they are put together as a monocle
``newCellDataSet(exprs, phenoData, featureData)`` call would, transposed to cells × genes.

Conversion rules (those of the project's reference builds): R factors stay categoricals (levels in R order,
unused levels dropped) except where a loader turns a column into plain strings, R integer columns with no
``NA`` become NumPy integers, ``NA`` in a string column becomes the string ``"None"``. :func:`anndata.AnnData.
write_h5ad` then turns string columns with repeated values into categoricals (categories in natural order).
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np
import pandas as pd

__all__ = ["import_rdata", "read_r_objects"]


def import_rdata(func: str) -> ModuleType:
    """Import :mod:`rdata`, or raise an :class:`ImportError` that names the extra to install."""
    try:
        import rdata
    except ImportError as err:
        raise ImportError(
            f"{func}: building this dataset from its Debian source reads R data files with the optional "
            "package `rdata`, which is not installed. Install it with `pip install muse-gnn[data]` (or "
            "`pip install 'rdata>=1.0'`)."
        ) from err
    return rdata


def read_r_objects(path: str | os.PathLike, func: str) -> dict:
    """The objects of an R data file (``save()`` format), converted by :mod:`rdata` (data.frame → DataFrame,
    matrix → :class:`xarray.DataArray`)."""
    rdata = import_rdata(func)
    return rdata.read_rda(os.fspath(path))


def matrix(obj, func: str) -> tuple[np.ndarray, pd.Index, pd.Index]:
    """An R matrix (``rdata``'s DataArray with ``dimnames``) as ``(values, row names, column names)``."""
    try:
        values = np.asarray(obj.values)
        rows, cols = (pd.Index(np.asarray(obj.coords[d].values).astype(str)) for d in obj.dims)
    except (AttributeError, KeyError, ValueError) as err:
        raise ValueError(f"{func}: expected an R matrix with row and column names, got {type(obj).__name__}") from err
    return values, rows, cols


def plain_columns(df: pd.DataFrame, strings: list[str] | None = None, int_dtype: str = "int64") -> pd.DataFrame:
    """``rdata``'s data.frame columns as plain NumPy/pandas dtypes.

    Nullable integers become ``int_dtype`` (an ``NA`` is refused), nullable booleans ``bool``, pandas string
    columns and the categorical columns named in ``strings`` become ``object`` strings (``NA`` → ``"None"``);
    other categoricals keep their R levels, unused ones dropped.
    """
    out = {}
    strings = set(strings or ())
    for col in df.columns:
        s = df[col]
        name = str(col)
        if isinstance(s.dtype, pd.CategoricalDtype) and name not in strings:
            out[name] = s.cat.remove_unused_categories()
        elif isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
            values = s.astype(object).to_numpy()
            out[name] = np.array(["None" if v is None or v is pd.NA or v != v else str(v) for v in values],
                                 dtype=object)
        elif pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            if s.isna().any():
                raise ValueError(f"column {name!r} has missing values")
            out[name] = s.to_numpy(dtype=bool if pd.api.types.is_bool_dtype(s.dtype) else int_dtype)
        else:
            out[name] = s.to_numpy()
    return pd.DataFrame(out, index=pd.Index(df.index.astype(str)))
