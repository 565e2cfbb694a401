"""Over-representation of gene sets in gene modules (hypergeometric test, Benjamini–Hochberg FDR)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy.stats import false_discovery_control, hypergeom

from .._utils import logger
from .._joint import check_groupby, check_joint, natural_key

__all__ = ["enrichment"]

_COLUMNS = [
    "module", "term", "n_module", "n_term", "overlap", "overlap_genes", "fold_enrichment", "pvalue", "fdr",
]


def _gene_sets(gene_sets: Any, source: str, target: str, func: str) -> dict[str, set[str]]:
    """``{term: set of genes}`` from a dict or a long (decoupler-style) DataFrame."""
    if isinstance(gene_sets, pd.DataFrame):
        missing = [c for c in (source, target) if c not in gene_sets.columns]
        if missing:
            raise KeyError(
                f"{func}: the gene-set table lacks columns {missing} (it has {list(gene_sets.columns)}); "
                "pass `source=`/`target=` naming the term and gene columns."
            )
        df = gene_sets[[source, target]].dropna().astype(str)
        out = {str(k): set(v) for k, v in df.groupby(source, sort=False)[target]}
    elif isinstance(gene_sets, Mapping):
        out = {}
        for term, genes in gene_sets.items():
            if isinstance(genes, str) or not isinstance(genes, Iterable):
                raise TypeError(
                    f"{func}: gene set {term!r} must be a list of gene names, got {type(genes).__name__}."
                )
            out[str(term)] = {str(g) for g in genes if not pd.isna(g)}
    else:
        raise TypeError(
            f"{func}: `gene_sets` must be a dict {{term: genes}} (e.g. from `mg.io.read_gmt`) or a long "
            f"DataFrame with columns {source!r} and {target!r}, got {type(gene_sets).__name__}."
        )
    if not out:
        raise ValueError(f"{func}: `gene_sets` is empty.")
    return out


def enrichment(
    joint: AnnData,
    gene_sets: Mapping[str, Iterable[str]] | pd.DataFrame,
    *,
    groupby: str = "muse_module",
    background: Iterable[str] | None = None,
    min_size: int = 5,
    max_size: int = 500,
    fdr: float | None = None,
    source: str = "source",
    target: str = "target",
) -> pd.DataFrame:
    """Gene-set over-representation in each gene module (one-sided hypergeometric test, BH FDR).

    A module's gene list is the set of unique gene names of its rows in ``joint.obs[groupby]`` (a gene
    whose rows fall in two modules counts in both). Everything is restricted to the *background*: all
    unique genes of the joint embedding by default. A gene set is tested when its size within the
    background, ``n_term``, lies in ``[min_size, max_size]``. For a module of ``n_module`` background genes
    and a set sharing ``overlap`` of them, the p-value is ``P(X >= overlap)`` for
    ``X ~ Hypergeom(M = |background|, n = n_term, N = n_module)`` (:data:`scipy.stats.hypergeom`), and the
    fold enrichment ``(overlap / n_module) / (n_term / M)``. The Benjamini–Hochberg correction
    (:func:`scipy.stats.false_discovery_control`) runs over all module × set tests, including pairs
    without any overlap (p = 1), which are then left out of the result.

    Parameters
    ----------
    joint
        Joint embedding with ``obs`` columns ``gene`` and ``groupby`` (e.g. from :func:`gene_modules`).
    gene_sets
        ``{term: gene names}`` (e.g. :func:`muse_gnn.io.read_gmt`) or a long DataFrame with one row per
        (term, gene), as in decoupler (columns ``source`` and ``target``).
    groupby
        Module labels in ``joint.obs``; rows with NaN are ignored.
    background
        Gene universe of the test. Default: all genes of ``joint``. When given, module genes outside it
        are dropped (a warning is logged).
    min_size, max_size
        Sizes of gene sets (within the background) to test.
    fdr
        Keep only results with FDR ``<= fdr``. Default: keep every pair with some overlap.
    source, target
        Term and gene columns of a DataFrame ``gene_sets``.

    Returns
    -------
    DataFrame with columns ``module``, ``term``, ``n_module``, ``n_term``, ``overlap``, ``overlap_genes``
    (sorted, comma-joined), ``fold_enrichment``, ``pvalue``, ``fdr``, sorted by ``fdr`` then ``pvalue``;
    ``attrs`` record ``n_background``, ``n_terms_tested`` and ``n_tests``.

    Raises
    ------
    ValueError
        When no gene of any gene set is in the background (e.g. Ensembl IDs against symbols, or mouse
        against human symbols) or no gene set has a size in ``[min_size, max_size]``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> import numpy as np, pandas as pd
    >>> from anndata import AnnData
    >>> genes = [f"G{i}" for i in range(40)]
    >>> obs = pd.DataFrame({"gene": genes, "dataset": "d1", "muse_module": ["0"] * 20 + ["1"] * 20})
    >>> joint = AnnData(obs=obs.set_axis(genes))
    >>> sets = {"first": genes[:10], "mixed": genes[15:25]}
    >>> res = mg.tl.enrichment(joint, sets)
    >>> res.loc[0, "module"], res.loc[0, "term"], int(res.loc[0, "overlap"])
    ('0', 'first', 10)
    """
    func = "enrichment"
    check_joint(joint, func, columns=("gene",), unique=False)
    lab = check_groupby(joint, groupby, func).to_numpy(dtype=object)
    _check_options(min_size, max_size, fdr, func)
    sets = _gene_sets(gene_sets, source, target, func)
    genes = joint.obs["gene"].astype(str).to_numpy(dtype=object)
    universe = _background(genes, background, func)
    modules, A = _module_matrix(joint, groupby, lab, genes, universe, func)
    terms, B = _term_matrix(sets, universe, min_size, max_size, func)
    res = _hypergeometric(modules, terms, A, B, universe)
    if fdr is not None:
        res = res[res["fdr"] <= fdr]
    res = res.sort_values(["fdr", "pvalue", "module", "term"], kind="stable").reset_index(drop=True)
    res.attrs.update(n_background=universe.size, n_terms_tested=len(terms), n_tests=len(modules) * len(terms))
    logger.info("%s: %d modules × %d gene sets tested over %d background genes; %d results", func,
                len(modules), len(terms), universe.size, len(res))
    return res


def _check_options(min_size: Any, max_size: Any, fdr: Any, func: str) -> None:
    for name, val in (("min_size", min_size), ("max_size", max_size)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise ValueError(f"{func}: `{name}` must be a positive integer, got {val!r}.")
    if min_size > max_size:
        raise ValueError(f"{func}: `min_size` ({min_size}) is larger than `max_size` ({max_size}).")
    if fdr is not None and (isinstance(fdr, bool) or not isinstance(fdr, int | float) or not 0 < fdr <= 1):
        raise ValueError(f"{func}: `fdr` must be in (0, 1] or None, got {fdr!r}.")


def _background(genes: np.ndarray, background: Iterable[str] | None, func: str) -> pd.Index:
    """The gene universe of the test: ``background``, or every gene of the joint embedding."""
    if background is None:
        return pd.Index(pd.unique(genes))
    if isinstance(background, str) or not isinstance(background, Iterable):
        raise TypeError(f"{func}: `background` must be a list of gene names, got {background!r}.")
    universe = pd.Index(pd.unique(np.asarray([str(g) for g in background], dtype=object)))
    if universe.empty:
        raise ValueError(f"{func}: `background` is empty.")
    return universe


def _module_matrix(
    joint: AnnData, groupby: str, lab: np.ndarray, genes: np.ndarray, universe: pd.Index, func: str
) -> tuple[list[str], sp.csr_matrix]:
    """Modules (in label order) and the binary module × background-gene matrix (a gene counts once per module)."""
    has_module = pd.notna(lab)
    if not has_module.any():
        raise ValueError(f"{func}: every row of `joint.obs[{groupby!r}]` is NaN; no module to test.")
    gidx = universe.get_indexer(genes)
    outside = has_module & (gidx < 0)
    if outside.any():
        logger.warning("%s: %d module genes are not in `background` and are ignored", func,
                       len(pd.unique(genes[outside])))
    ok = has_module & (gidx >= 0)
    modules = sorted(pd.unique(lab[has_module]), key=natural_key)
    if isinstance(joint.obs[groupby].dtype, pd.CategoricalDtype):
        cats = [str(c) for c in joint.obs[groupby].cat.categories]
        modules = [c for c in cats if c in set(modules)]
    mpos = {m: i for i, m in enumerate(modules)}
    mod_rows = np.fromiter((mpos[m] for m in lab[ok]), dtype=np.int64, count=int(ok.sum()))
    A = sp.csr_matrix((np.ones(mod_rows.size), (mod_rows, gidx[ok])), shape=(len(modules), universe.size))
    A.sum_duplicates()
    A.data[:] = 1.0
    return modules, A


def _term_matrix(
    sets: dict[str, set[str]], universe: pd.Index, min_size: int, max_size: int, func: str
) -> tuple[list[str], sp.csr_matrix]:
    """Gene sets whose size within the background is in ``[min_size, max_size]``, as a term × gene matrix."""
    terms, cols, rows = [], [], []
    any_hit = False
    for term, members in sets.items():
        idx = universe.get_indexer(list(members))
        idx = np.unique(idx[idx >= 0])
        any_hit |= idx.size > 0
        if min_size <= idx.size <= max_size:
            rows.append(np.full(idx.size, len(terms)))
            cols.append(idx)
            terms.append(term)
    if not any_hit:
        example = next(iter(universe[:3]), "")
        raise ValueError(
            f"{func}: no gene of any gene set is in the background ({universe.size} genes, e.g. "
            f"{list(universe[:3])}); check that the gene sets use the same identifiers and species as the joint "
            f"embedding (e.g. symbols like {example!r}, not Ensembl IDs)."
        )
    if not terms:
        raise ValueError(
            f"{func}: no gene set has between min_size={min_size} and max_size={max_size} genes in the "
            f"background; lower `min_size` or raise `max_size`."
        )
    B = sp.csr_matrix(
        (np.ones(sum(c.size for c in cols)), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(terms), universe.size),
    )
    return terms, B


def _hypergeometric(
    modules: list[str], terms: list[str], A: sp.csr_matrix, B: sp.csr_matrix, universe: pd.Index
) -> pd.DataFrame:
    """One-sided hypergeometric test of every module × term pair, BH over all of them; pairs that overlap."""
    M = universe.size
    n_module = np.asarray(A.sum(axis=1)).ravel().astype(np.int64)
    n_term = np.asarray(B.sum(axis=1)).ravel().astype(np.int64)
    overlap = (A @ B.T).toarray().astype(np.int64)  # modules × terms
    N = np.broadcast_to(n_module[:, None], overlap.shape)
    n = np.broadcast_to(n_term[None, :], overlap.shape)
    pvalue = np.clip(hypergeom.sf(overlap - 1, M, n, N), 0.0, 1.0)
    qvalue = false_discovery_control(pvalue.ravel(), method="bh").reshape(pvalue.shape)

    mi, ti = np.nonzero(overlap > 0)
    gene_names = universe.to_numpy(dtype=object)
    overlap_genes = [
        ",".join(sorted(gene_names[A.getrow(m).multiply(B.getrow(t)).indices])) for m, t in zip(mi, ti, strict=True)
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        fold = (overlap[mi, ti] / n_module[mi]) / (n_term[ti] / M)
    return pd.DataFrame(
        {
            "module": np.asarray(modules, dtype=object)[mi],
            "term": np.asarray(terms, dtype=object)[ti],
            "n_module": n_module[mi],
            "n_term": n_term[ti],
            "overlap": overlap[mi, ti],
            "overlap_genes": overlap_genes,
            "fold_enrichment": fold,
            "pvalue": pvalue[mi, ti],
            "fdr": qvalue[mi, ti],
        },
        columns=_COLUMNS,
    )
