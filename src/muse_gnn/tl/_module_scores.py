"""Activity of gene modules per cell or spot (a score per module, built on :func:`scanpy.tl.score_genes`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scanpy as sc
from anndata import AnnData

from .._utils import check_adata, logger

__all__ = ["module_scores"]


def _module_genes(adata: AnnData, modules: Any, func: str) -> dict[str, list[str]]:
    """``{module: genes of adata}`` from a ``var`` column or a mapping; checked, genes in ``var`` order."""
    if isinstance(modules, str):
        if modules not in adata.var.columns:
            raise KeyError(
                f"{func}: `adata.var[{modules!r}]` not found; write module labels with "
                "`mg.tl.gene_modules(joint, adatas=...)` (it fills `var['muse_module']` of each dataset) or pass "
                "a mapping {module: [genes]}."
            )
        labels = adata.var[modules]
        if labels.notna().sum() == 0:
            raise ValueError(f"{func}: `adata.var[{modules!r}]` labels no gene of this dataset (all missing).")
        groups = labels.astype(object).where(labels.notna())
        out: dict[str, list[str]] = {}
        order = labels.cat.categories if isinstance(labels.dtype, pd.CategoricalDtype) else pd.unique(groups.dropna())
        for m in order:
            genes = adata.var_names[(groups == m).to_numpy()].tolist()
            if genes:  # a category without genes here is a module of other datasets
                out[str(m)] = genes
        return out
    if isinstance(modules, Mapping):
        if not modules:
            raise ValueError(f"{func}: `modules` is an empty mapping.")
        out = {}
        present = pd.Index(adata.var_names)
        for m, genes in modules.items():
            if isinstance(genes, str) or not isinstance(genes, Sequence | set | frozenset | pd.Index | np.ndarray):
                raise TypeError(
                    f"{func}: `modules[{m!r}]` must be a list of gene names, got {type(genes).__name__}."
                )
            genes = list(dict.fromkeys(str(g) for g in genes))
            found = [g for g in genes if g in present]
            if len(found) < len(genes):
                logger.info("%s: module %r: %d of %d genes are not in `adata.var_names`", func, m,
                            len(genes) - len(found), len(genes))
            out[str(m)] = found
        if len({str(m) for m in modules}) < len(modules):
            raise ValueError(f"{func}: module names must stay unique as strings, got {list(modules)}.")
        return out
    raise TypeError(
        f"{func}: `modules` must be the name of an `adata.var` column or a mapping {{module: [genes]}}, got "
        f"{type(modules).__name__}."
    )


def module_scores(
    adata: AnnData,
    modules: str | Mapping[str, Sequence[str]] = "muse_module",
    *,
    min_genes: int = 5,
    layer: str | None = None,
    use_raw: bool = False,
    ctrl_size: int = 50,
    n_bins: int = 25,
    random_state: int = 0,
    key_added: str = "module_score",
    copy: bool = False,
) -> AnnData | None:
    """Score each gene module in every cell or spot of one dataset.

    For each module, the score of a cell is the mean expression of the module's genes minus the mean expression of
    a random set of control genes drawn from the same expression bins (:func:`scanpy.tl.score_genes`, the method of
    Tirosh et al. 2016 used by Seurat's ``AddModuleScore``). This is the per-cell view that hdWGCNA (module
    eigengenes, module scores) and Hotspot (module scores) give: where in a tissue or in which cells a module of
    :func:`muse_gnn.tl.gene_modules` is active. score_genes is used rather than a new score because it is scanpy's
    maintained, widely used implementation and its control-gene correction removes the part of a module's mean that
    only reflects how much a cell expresses overall (depth, cell size), which a plain mean of the genes keeps.

    Parameters
    ----------
    adata
        One dataset (cells or spots × genes), not the joint embedding. Use log-normalised expression, as for
        :func:`scanpy.tl.score_genes` (e.g. after :func:`scanpy.pp.normalize_total` and :func:`scanpy.pp.log1p`,
        or a ``layer`` holding such values): on raw counts the score is dominated by library size.
    modules
        The name of an ``adata.var`` column of module labels, as :func:`muse_gnn.tl.gene_modules` writes with
        ``adatas=`` (``"muse_module"``: a categorical, missing for genes outside the dataset's graph; categories
        without a gene in this dataset are ignored), or a mapping ``{module: [genes]}``, whose genes absent from
        ``adata.var_names`` are left out (logged at level ``info``).
    min_genes
        Modules with fewer genes in ``adata`` are skipped, with a warning naming them.
    layer
        Expression layer to score (default: ``adata.X``).
    use_raw
        Score ``adata.raw`` instead (genes are then looked up in ``adata.raw.var_names``). Unlike
        :func:`scanpy.tl.score_genes`, ``.raw`` is used only when asked.
    ctrl_size, n_bins, random_state
        Control-gene options of :func:`scanpy.tl.score_genes`: control genes per module gene, number of expression
        bins, seed of the control-gene draw.
    key_added
        Prefix of the ``obs`` columns: ``f"{key_added}_{module}"`` per module.
    copy
        Return a copy with the scores instead of writing to ``adata``.

    Returns
    -------
    ``None``, or the copy when ``copy=True``. Sets

    * ``adata.obs[f"{key_added}_{module}"]``: the score of each scored module (``float``);
    * ``adata.uns[key_added]``: ``params``, ``modules`` (``{module: genes scored}``) and ``skipped`` (modules
      with fewer than ``min_genes`` genes).

    Nothing is written when an error is raised.

    Examples
    --------
    >>> import numpy as np
    >>> import scanpy as sc
    >>> import muse_gnn as mg
    >>> adata = mg.datasets.simulate(n_datasets=1, technologies="spatial", n_genes=200, n_cells=300,
    ...                              n_modules=4, random_state=0)["spatial_heart_0"]
    >>> sc.pp.normalize_total(adata)
    >>> sc.pp.log1p(adata)
    >>> planted = {f"m{m}": adata.var_names[adata.var["module"] == m].tolist() for m in range(4)}
    >>> mg.tl.module_scores(adata, planted)
    >>> sorted(c for c in adata.obs if c.startswith("module_score_"))
    ['module_score_m0', 'module_score_m1', 'module_score_m2', 'module_score_m3']
    >>> sc.pl.embedding(adata, basis="spatial", color="module_score_m0")  # doctest: +SKIP
    """
    func = "module_scores"
    check_adata(adata, func)
    if not isinstance(key_added, str) or not key_added:
        raise ValueError(f"{func}: `key_added` must be a non-empty string, got {key_added!r}.")
    if isinstance(min_genes, bool) or not isinstance(min_genes, int | np.integer) or min_genes < 1:
        raise ValueError(f"{func}: `min_genes` must be a positive integer, got {min_genes!r}.")
    if use_raw and layer is not None:
        raise ValueError(f"{func}: pass either `layer` or `use_raw=True`, not both.")
    if use_raw and adata.raw is None:
        raise ValueError(f"{func}: `use_raw=True` but `adata.raw` is None.")
    if layer is not None and layer not in adata.layers:
        raise KeyError(f"{func}: layer {layer!r} not found; available: {list(adata.layers.keys())}.")

    if use_raw:
        if isinstance(modules, str):
            raise ValueError(
                f"{func}: with `use_raw=True` pass a mapping {{module: [genes]}}; `var[{modules!r}]` labels the genes "
                "of `adata.var`, not of `adata.raw`."
            )
        target = AnnData(adata.raw.X, obs=pd.DataFrame(index=adata.obs_names),
                         var=pd.DataFrame(index=adata.raw.var_names))
    else:
        matrix = adata.X if layer is None else adata.layers[layer]
        target = AnnData(matrix, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names))
    genes = _module_genes(target if use_raw else adata, modules, func)

    keep = {m: g for m, g in genes.items() if len(g) >= min_genes}
    skipped = {m: len(g) for m, g in genes.items() if len(g) < min_genes}
    if skipped:
        logger.warning(
            "%s: skipped %d module(s) with fewer than %d genes in this dataset: %s", func, len(skipped), min_genes,
            ", ".join(f"{m} ({n})" for m, n in skipped.items()),
        )
    if not keep:
        raise ValueError(
            f"{func}: no module has at least `min_genes`={min_genes} genes in this dataset "
            f"(sizes: {dict(skipped)}); lower `min_genes` or check the module labels."
        )

    columns = {}
    for m, module_genes in keep.items():
        sc.tl.score_genes(target, module_genes, ctrl_size=ctrl_size, n_bins=n_bins, score_name="_score",
                          random_state=random_state, use_raw=False)
        columns[f"{key_added}_{m}"] = target.obs["_score"].to_numpy(dtype=np.float64, copy=True)

    out = adata.copy() if copy else adata
    for col, values in columns.items():
        out.obs[col] = values
    out.uns[key_added] = {
        "params": {"min_genes": int(min_genes), "expression": "raw" if use_raw else ("X" if layer is None else layer),
                   "ctrl_size": int(ctrl_size),
                   "n_bins": int(n_bins), "random_state": int(random_state),
                   "modules": modules if isinstance(modules, str) else "mapping"},
        "modules": {m: list(g) for m, g in keep.items()},
        "skipped": list(skipped),
    }
    logger.info("%s: wrote %d scores to obs[%r...]", func, len(columns), f"{key_added}_")
    return out if copy else None
