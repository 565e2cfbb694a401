"""Shared input checks and small helpers used across :mod:`muse_gnn`."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from ._warnings import MuseGNNWarning

__all__ = [
    "as_dataset_dict",
    "check_adata",
    "check_counts",
    "get_matrix",
    "logger",
    "resolve_device",
    "uns_params",
]

logger = logging.getLogger("muse_gnn")


def check_adata(adata: Any, func: str, *, min_cells: int = 1, allow_backed: bool = False) -> None:
    """Raise a clear error when ``adata`` cannot be processed by ``func``.

    Rejects non-AnnData objects, backed AnnData (unless ``allow_backed``), views, non-string or
    duplicate gene names and too few cells. Nothing is modified.
    """
    if not isinstance(adata, AnnData):
        raise TypeError(f"{func}: expected an AnnData, got {type(adata).__name__}.")
    if adata.isbacked and not allow_backed:
        raise ValueError(
            f"{func}: `adata` is backed (opened with backed='r'); load it into memory with "
            "`adata = adata.to_memory()` first."
        )
    if adata.is_view:
        raise ValueError(
            f"{func}: `adata` is a view of another AnnData; call `adata = adata.copy()` first so the "
            "results are written to an object you own."
        )
    kind = pd.api.types.infer_dtype(adata.var_names, skipna=False)
    if kind not in {"string", "empty"}:
        # genes are matched by name across datasets and written back with `var_names.get_indexer`
        # on string names; integer (or mixed) names would silently match nothing downstream.
        bad = [v for v in adata.var_names[:1000] if not isinstance(v, str)][:5]
        raise TypeError(
            f"{func}: gene names (`adata.var_names`) must be strings, got {kind} values such as {bad}; "
            "call `adata.var_names = adata.var_names.astype(str)` (or set gene symbols) first."
        )
    if not adata.var_names.is_unique:
        dup = adata.var_names[adata.var_names.duplicated()].unique()[:5].tolist()
        raise ValueError(
            f"{func}: gene names (`adata.var_names`) are not unique, e.g. {dup}; call "
            "`adata.var_names_make_unique()` or aggregate the duplicated genes first."
        )
    if adata.n_obs < min_cells:
        raise ValueError(f"{func}: `adata` has {adata.n_obs} cells; at least {min_cells} are needed.")


def get_matrix(adata: AnnData, layer: str | None, func: str) -> np.ndarray | sp.csr_matrix:
    """Return ``adata.X`` or ``adata.layers[layer]`` (cells × genes), without copying."""
    if layer is None:
        X = adata.X
        if X is None:
            raise ValueError(f"{func}: `adata.X` is empty; pass `layer=` naming the counts layer.")
    else:
        if layer not in adata.layers:
            raise KeyError(
                f"{func}: layer {layer!r} not found; available layers: {list(adata.layers.keys())}."
            )
        X = adata.layers[layer]
    if sp.issparse(X) and not isinstance(X, sp.csr_matrix | sp.csc_matrix):
        X = sp.csr_matrix(X)
    return X


def check_counts(X: Any, func: str, *, allow_noncounts: bool = False) -> bool:
    """Check that ``X`` holds finite, non-negative (integer) values.

    Returns ``True`` when the values are integer counts. Non-integer values raise a ``ValueError``
    unless ``allow_noncounts`` is set, in which case a warning is emitted and ``False`` returned.
    """
    data = X.data if sp.issparse(X) else np.asarray(X)
    if data.size == 0:
        return True
    if not np.issubdtype(data.dtype, np.number):
        raise TypeError(f"{func}: expression values must be numeric, got dtype {data.dtype}.")
    if not np.all(np.isfinite(data)):
        raise ValueError(
            f"{func}: the expression matrix contains NaN or infinite values; remove or impute them first."
        )
    if data.min() < 0:
        raise ValueError(
            f"{func}: the expression matrix contains negative values; pass raw counts "
            "(e.g. `layer='counts'`), not scaled or log-transformed data."
        )
    if np.issubdtype(data.dtype, np.integer):
        return True
    is_int = bool(np.all(np.equal(np.mod(data, 1), 0)))
    if not is_int:
        if not allow_noncounts:
            raise ValueError(
                f"{func}: the expression matrix holds non-integer values, but raw counts are expected. "
                "Pass the counts layer with `layer=`, or set `allow_noncounts=True` for gene-activity "
                "or normalised inputs (the count model is then only an approximation)."
            )
        warnings.warn(
            f"{func}: non-integer values used as counts (allow_noncounts=True); the Poisson/NB "
            "models are only approximate for such data.",
            MuseGNNWarning,
            stacklevel=3,
        )
    return is_int


def uns_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` to store in ``adata.uns``, with the entries whose value is ``None`` left out.

    anndata 0.10 leaves ``None`` values out when it writes ``.h5ad`` (the key is gone after reading), later
    versions write and read them back. Leaving them out in memory too gives the same dict before and after a
    round trip on every supported anndata version, and no string such as ``"None"`` that could be mistaken for
    a name (a layer called ``"None"``). Read such an entry with ``params.get(name)``, which is ``None`` when it
    is absent.

    Examples
    --------
    >>> from muse_gnn._utils import uns_params
    >>> uns_params({"layer": None, "n_genes": 10})
    {'n_genes': 10}
    """
    return {k: v for k, v in params.items() if v is not None}


def as_dataset_dict(adatas: Any, func: str) -> dict[str, AnnData]:
    """Turn a list, a dict of AnnData or a MuData into an ordered ``{name: AnnData}`` dict.

    List items are named by ``adata.uns["dataset"]`` / ``adata.uns["name"]`` when present, else
    ``dataset_{i}``.
    """
    # mudata is optional: an object can only be a MuData when mudata has been imported
    mudata = sys.modules.get("mudata")
    if isinstance(adatas, AnnData):
        adatas = [adatas]
    if mudata is not None and isinstance(adatas, mudata.MuData):
        out = dict(adatas.mod)
    elif isinstance(adatas, Mapping):
        out = {str(k): v for k, v in adatas.items()}
    elif isinstance(adatas, Sequence) and not isinstance(adatas, str):
        out = {}
        for i, ad in enumerate(adatas):
            name = None
            if isinstance(ad, AnnData):
                name = ad.uns.get("dataset", ad.uns.get("name"))
            name = str(name) if name is not None else f"dataset_{i}"
            if name in out:
                name = f"{name}_{i}"
            out[name] = ad
    else:
        raise TypeError(
            f"{func}: expected a list or dict of AnnData or a MuData, got {type(adatas).__name__}."
        )
    if not out:
        raise ValueError(f"{func}: no datasets given.")
    for k, v in out.items():
        if not isinstance(v, AnnData):
            raise TypeError(f"{func}: dataset {k!r} is a {type(v).__name__}, not an AnnData.")
    return out


def resolve_device(accelerator: str = "auto", devices: Any = "auto") -> torch.device:  # noqa: F821
    """Map scvi-tools style ``accelerator``/``devices`` to a :class:`torch.device`."""
    import torch

    acc = accelerator.lower()
    if acc not in {"auto", "cpu", "cuda", "gpu"}:
        raise ValueError(f"accelerator must be 'auto', 'cpu', 'cuda' or 'gpu', got {accelerator!r}.")
    if acc == "cpu":
        return torch.device("cpu")
    if acc in {"cuda", "gpu"} and not torch.cuda.is_available():
        raise RuntimeError(
            f"accelerator={accelerator!r} was requested but no CUDA GPU is available; "
            "use accelerator='cpu' or 'auto'."
        )
    if acc == "auto" and not torch.cuda.is_available():
        return torch.device("cpu")
    index = 0  # devices="auto" or a number of devices: the first GPU; a list of indices: its first
    if isinstance(devices, Sequence) and not isinstance(devices, str) and len(devices):
        index = int(devices[0])
    return torch.device(f"cuda:{index}")
