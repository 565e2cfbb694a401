"""Per-dataset gene–gene graphs: selection, co-expression edges, storage in ``varp``."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy import stats

from .._docs import doc_common, doc_params
from .._settings import resolve_n_jobs
from .._utils import as_dataset_dict, check_adata, check_counts, get_matrix, logger, uns_params
from .._warnings import MuseGNNWarning
from ._residuals import pearson_residuals, residual_hvg

__all__ = ["binary_adjacency", "coexpression_graph", "coexpression_graphs", "get_graph", "graph_from_edgelist"]

_MIN_CELLS = 20


def _is_spatial(adata: AnnData, spatial_key: str) -> bool:
    tech = str(adata.uns.get("technology", "")).lower()
    return spatial_key in adata.obsm or tech in {"spatial", "visium", "st", "slide-seq"}


def _pearson(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations between the rows of ``features`` (NaN as 0) and their two-sided p-values (t-test,
    n − 2 df)."""
    n = features.shape[1]
    corr = np.nan_to_num(np.corrcoef(features.astype(np.float64)), nan=0.0)
    r = np.clip(corr, -1 + 1e-12, 1 - 1e-12)
    t = r * np.sqrt((n - 2) / (1 - r * r))
    p = 2 * stats.t.sf(np.abs(t), df=n - 2)
    np.fill_diagonal(p, 1.0)
    return corr, p


def _edges_from_pvalues(p: np.ndarray, pvalue: float, fdr: float | None) -> np.ndarray:
    """Binary symmetric adjacency (no self loops) from a genes × genes p-value matrix."""
    iu = np.triu_indices(p.shape[0], k=1)
    pv = p[iu]
    if fdr is not None:
        keep = np.zeros(pv.size, dtype=bool)
        finite = np.isfinite(pv)
        if finite.any():
            padj = stats.false_discovery_control(pv[finite], method="bh")
            keep[finite] = padj < fdr
    else:
        keep = np.isfinite(pv) & (pv < pvalue)
    adj = np.zeros(p.shape, dtype=bool)
    adj[iu[0][keep], iu[1][keep]] = True
    return adj | adj.T


def _knn_edges(rho: np.ndarray, significant: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Binary symmetric adjacency: each gene linked to its ``n_neighbors`` most positively co-expressed partners
    among its significant pairs (union over both ends, as a kNN graph is made undirected)."""
    n = rho.shape[0]
    score = np.where(significant & (np.nan_to_num(rho, nan=0.0) > 0), np.nan_to_num(rho, nan=0.0), -np.inf)
    np.fill_diagonal(score, -np.inf)
    k = min(int(n_neighbors), n - 1)
    top = np.argpartition(-score, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    cols = top.ravel()
    ok = np.isfinite(score[rows, cols])
    adj = np.zeros((n, n), dtype=bool)
    adj[rows[ok], cols[ok]] = True
    return adj | adj.T


def _check_graph_options(
    *, flavor: str, method: str, edge_rule: str, n_neighbors: int, pvalue: float, fdr: float | None,
    n_comps: int | None, n_top_genes: int, func: str,
) -> None:
    """Raise a clear error for an option :func:`coexpression_graph` does not accept."""
    if flavor not in {"auto", "pearson_residuals", "spatial"}:
        raise ValueError(f"{func}: flavor must be 'auto', 'pearson_residuals' or 'spatial', got {flavor!r}.")
    if method not in {"cscore", "pearson"}:
        raise ValueError(f"{func}: method must be 'cscore' or 'pearson', got {method!r}.")
    if edge_rule not in {"knn", "reference"}:
        raise ValueError(f"{func}: edge_rule must be 'knn' or 'reference', got {edge_rule!r}.")
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int | np.integer) or n_neighbors < 1:
        raise ValueError(f"{func}: n_neighbors must be a positive integer, got {n_neighbors!r}.")
    if not 0 < pvalue < 1:
        raise ValueError(f"{func}: pvalue must be in (0, 1), got {pvalue}.")
    if fdr is not None and not 0 < fdr < 1:
        raise ValueError(f"{func}: fdr must be in (0, 1) or None, got {fdr}.")
    if n_comps is not None and (isinstance(n_comps, bool) or not isinstance(n_comps, int | np.integer) or n_comps < 1):
        raise ValueError(f"{func}: n_comps must be a positive integer or None, got {n_comps!r}.")
    if int(n_top_genes) < 2:
        raise ValueError(f"{func}: n_top_genes must be at least 2, got {n_top_genes}.")


def _candidate_genes(X: Any, n_top_genes: int, func: str) -> tuple[np.ndarray, int, np.ndarray]:
    """Genes with non-zero counts, the number of graph genes to select among them, and the cells' totals."""
    gene_totals = np.asarray(X.sum(axis=0)).ravel()
    nonzero = gene_totals > 0
    n_zero = int((~nonzero).sum())
    if n_zero:
        warnings.warn(
            f"{func}: {n_zero} all-zero genes are excluded from the graph.", MuseGNNWarning, stacklevel=4
        )
    n_candidates = int(nonzero.sum())
    if n_candidates < 2:
        raise ValueError(f"{func}: fewer than two genes have non-zero counts; nothing to build a graph on.")
    n_top = int(n_top_genes)
    if n_candidates < n_top:
        warnings.warn(
            f"{func}: only {n_candidates} non-zero genes, fewer than n_top_genes={n_top}; all are used.",
            MuseGNNWarning,
            stacklevel=4,
        )
        n_top = n_candidates
    cell_totals = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
    if np.any(cell_totals <= 0):
        raise ValueError(
            f"{func}: {int((cell_totals <= 0).sum())} cells have zero total counts; filter them first, e.g. "
            "`sc.pp.filter_cells(adata, min_counts=1)`."
        )
    return np.flatnonzero(nonzero), n_top, cell_totals


def _select_genes(
    adata: AnnData, X: Any, cand: np.ndarray, n_top: int, *, flavor: str, spatial_key: str, theta: float,
    device: str, show_progress_bar: bool | None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The graph genes (indices into ``var``, sorted) and the selection statistics of every gene: SPARK-X p-values
    for spatial data, Pearson-residual variances otherwise (NaN for genes that were not candidates)."""
    stats_var: dict[str, np.ndarray] = {}
    if flavor == "spatial":
        from ._sparkx import sparkx_test

        coords = np.asarray(adata.obsm[spatial_key], dtype=np.float64)
        res = sparkx_test(X[:, cand], coords, device=device, show_progress_bar=show_progress_bar)
        pval = np.asarray(res["pval"], dtype=np.float64)
        padj = np.asarray(res["padj"], dtype=np.float64)
        order = np.lexsort((np.nan_to_num(pval, nan=np.inf), np.nan_to_num(padj, nan=np.inf)))
        chosen = cand[np.sort(order[:n_top])]
        for col, values in (("sparkx_pval", pval), ("sparkx_padj", padj)):
            stats_var[col] = np.full(adata.n_vars, np.nan)
            stats_var[col][cand] = values
    else:
        sub = AnnData(X=X[:, cand], obs=pd.DataFrame(index=adata.obs_names.copy()))
        sub.var_names = adata.var_names[cand]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            hvg = residual_hvg(sub, n_top_genes=n_top, theta=theta, allow_noncounts=True)
        chosen = cand[np.flatnonzero(hvg["highly_variable"].to_numpy())]
        stats_var["residual_variance"] = np.full(adata.n_vars, np.nan)
        stats_var["residual_variance"][cand] = hvg["residual_variances"].to_numpy()
    return chosen, stats_var


def _correlate(
    X: Any, chosen: np.ndarray, cell_totals: np.ndarray, *, method: str, theta: float, clip: float, device: str,
    show_progress_bar: bool | None, func: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Co-expression ``rho`` and its p-values between the graph genes (CS-CORE, or Pearson ρ of residuals)."""
    if method == "cscore":
        from ._cscore import cscore_arrays

        try:
            rho, p, _ = cscore_arrays(X, cell_totals, genes=chosen, post_process=True, device=device,
                                      show_progress_bar=show_progress_bar)
        except ValueError as err:  # e.g. no gene with a positive variance estimate in a tiny dataset
            raise ValueError(
                f"{func}: CS-CORE cannot be estimated on the {chosen.size} selected genes ({err}) "
                "Pass more cells or a larger `n_top_genes`, or use method='pearson'."
            ) from err
        return rho, p
    return _pearson(pearson_residuals(X, chosen, theta=theta, clip=clip, cell_totals=cell_totals))


def _compute_graph(
    adata: AnnData,
    *,
    n_top_genes: int,
    flavor: str,
    method: str,
    edge_rule: str,
    n_neighbors: int,
    pvalue: float,
    fdr: float | None,
    n_comps: int | None,
    layer: str | None,
    spatial_key: str,
    theta: float,
    allow_noncounts: bool,
    device: str,
    show_progress_bar: bool | None = None,
) -> dict[str, Any]:
    """Everything :func:`coexpression_graph` writes, computed without touching ``adata``: options checked, graph
    genes selected, co-expression estimated, edges drawn (:func:`_edges_from_pvalues`, then :func:`_knn_edges`)."""
    func = "coexpression_graph"
    check_adata(adata, func, min_cells=_MIN_CELLS)
    _check_graph_options(flavor=flavor, method=method, edge_rule=edge_rule, n_neighbors=n_neighbors, pvalue=pvalue,
                         fdr=fdr, n_comps=n_comps, n_top_genes=n_top_genes, func=func)
    X = get_matrix(adata, layer, func)
    is_int = check_counts(X, func, allow_noncounts=allow_noncounts)

    used_flavor = flavor
    if flavor == "auto":
        used_flavor = "spatial" if _is_spatial(adata, spatial_key) else "pearson_residuals"
    if used_flavor == "spatial" and spatial_key not in adata.obsm:
        raise KeyError(
            f"{func}: flavor='spatial' needs spot coordinates in `adata.obsm[{spatial_key!r}]`; add them or "
            "use flavor='pearson_residuals'."
        )
    cand, n_top, cell_totals = _candidate_genes(X, n_top_genes, func)
    chosen, stats_var = _select_genes(adata, X, cand, n_top, flavor=used_flavor, spatial_key=spatial_key,
                                      theta=theta, device=device, show_progress_bar=show_progress_bar)
    clip = float(np.sqrt(adata.n_obs))
    rho, p = _correlate(X, chosen, cell_totals, method=method, theta=theta, clip=clip, device=device,
                        show_progress_bar=show_progress_bar, func=func)
    adj_sub = _edges_from_pvalues(p, pvalue, fdr)
    if edge_rule == "knn":
        adj_sub = _knn_edges(rho, adj_sub, n_neighbors)
    rows, cols = np.nonzero(adj_sub)
    n = adata.n_vars
    conn = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (chosen[rows], chosen[cols])), shape=(n, n)
    )
    selected = np.zeros(n, dtype=bool)
    selected[chosen] = True
    n_edges = int(rows.size // 2)
    degree = np.asarray(conn.sum(axis=1)).ravel()
    params = {
        "method": method,
        "flavor": used_flavor,
        "edge_rule": edge_rule,
        "n_neighbors": int(n_neighbors) if edge_rule == "knn" else None,
        "n_top_genes": int(n_top_genes),
        "n_genes": int(chosen.size),
        "pvalue": float(pvalue),
        "fdr": float(fdr) if fdr is not None else None,
        "n_comps": int(n_comps) if n_comps is not None else None,
        "layer": layer,
        "spatial_key": spatial_key,
        "theta": float(theta),
        "clip": clip,
        "integer_counts": bool(is_int),
        "allow_noncounts": bool(allow_noncounts),
        "n_edges": n_edges,
        "n_isolated": int((degree[chosen] == 0).sum()),
        "density": float(2 * n_edges / max(chosen.size * (chosen.size - 1), 1)),
    }
    logger.info(
        "coexpression_graph: %d genes (%s), %d edges, density %.3f (%s, %s, p < %s)",
        chosen.size,
        used_flavor,
        n_edges,
        params["density"],
        method,
        edge_rule if edge_rule == "reference" else f"{n_neighbors} nearest neighbours",
        pvalue if fdr is None else f"FDR {fdr}",
    )
    return {"conn": conn, "selected": selected, "stats_var": stats_var, "params": uns_params(params)}


def _write_graph(adata: AnnData, result: dict[str, Any], key_added: str) -> None:
    adata.varp[f"{key_added}_connectivities"] = result["conn"]
    adata.var[f"{key_added}_selected"] = result["selected"]
    for col, values in result["stats_var"].items():
        adata.var[f"{key_added}_{col}"] = values
    adata.uns[key_added] = {"params": result["params"]}


@doc_params(doc_common)
def coexpression_graph(
    adata: AnnData,
    *,
    n_top_genes: int = 1000,
    flavor: Literal["auto", "pearson_residuals", "spatial"] = "auto",
    method: Literal["cscore", "pearson"] = "cscore",
    edge_rule: Literal["reference", "knn"] = "reference",
    n_neighbors: int = 10,
    pvalue: float = 0.005,
    fdr: float | None = None,
    n_comps: int | None = None,
    layer: str | None = None,
    spatial_key: str = "spatial",
    theta: float = 100.0,
    allow_noncounts: bool = False,
    device: str = "auto",
    show_progress_bar: bool | None = None,
    key_added: str = "muse",
    copy: bool = False,
) -> AnnData | None:
    """Build the MuSe-GNN gene graph of one dataset.

    Genes: the ``n_top_genes`` genes with the highest analytic Pearson residual variance
    (:func:`scanpy.experimental.pp.highly_variable_genes`), or, for spatial data, the genes with the smallest
    SPARK-X p-values (:func:`muse_gnn.pp.sparkx`). Edges: CS-CORE co-expression (:func:`muse_gnn.pp.cscore`)
    between the selected genes. A pair is *significant* when the independence test gives ``p < pvalue`` or, with
    ``fdr``, a Benjamini–Hochberg adjusted p-value below ``fdr``. With ``edge_rule="reference"`` (default; the
    paper's rule, binary and unsigned) every significant pair is an edge; with ``edge_rule="knn"`` each gene keeps
    only its ``n_neighbors`` most positively co-expressed significant partners (ρ > 0), and the graph is the union
    of these lists. The test's power grows with the number of cells, so the reference graph gets denser as a
    dataset grows (``benchmarks/graph_density.py``: on Kang 2018 PBMCs at 2,000 genes, 10 % of gene pairs at
    1,000 cells, 25 % at 13,576) and training on it costs about twice as much as on a kNN graph, which keeps about
    ``n_neighbors`` to ``2 × n_neighbors`` edges per gene whatever the size. The reference rule is the default
    because MuSe-GNN's gene vectors predict GO biological processes better from it on the real-data benchmark
    (3 seeds: clearly on the immune collection, slightly on the multi-tissue one; see the docs' benchmarks page);
    ``edge_rule="knn"`` is the choice when a graph of very many cells is too dense to train.
    ``method="pearson"`` uses Pearson correlation of the residuals instead (faster, less accurate for
    sparse counts). Node features are not stored; :func:`muse_gnn.pp.residual_features` recomputes them.

    Parameters
    ----------
    adata
        Cells × genes AnnData with raw counts (``X`` or ``layer``).
    n_top_genes
        Number of graph genes (all non-zero genes, with a warning, when there are fewer).
    flavor
        ``"pearson_residuals"``, ``"spatial"`` (SPARK-X selection), or ``"auto"``: spatial when
        ``adata.obsm[spatial_key]`` exists or ``adata.uns["technology"]`` says so.
    method
        ``"cscore"`` (reference) or ``"pearson"``.
    edge_rule
        ``"reference"``: every significant pair; ``"knn"``: the ``n_neighbors`` strongest positive significant
        partners of each gene.
    n_neighbors
        Partners kept per gene with ``edge_rule="knn"``.
    pvalue
        Edge threshold on the co-expression p-value (reference 0.005).
    fdr
        If given, threshold on BH-adjusted p-values instead of ``pvalue``.
    n_comps
        Node features: the graph genes' residuals projected on their top ``n_comps`` principal axes across cells
        (:func:`muse_gnn.pp.residual_features`); ``None`` keeps one feature per cell (the reference). Recorded in
        the params and applied when the model recomputes the features.
    {layer}
    {spatial_key}
    {theta}
    {allow_noncounts}
    device
        Device for the CS-CORE matrix products and the SPARK-X pass over the counts (``"auto"``: a GPU when
        present).
    show_progress_bar
        Progress bars of CS-CORE and SPARK-X (``None``: ``mg.settings.progress_bar``).
    key_added
        Prefix of the outputs.
    {copy}

    Returns
    -------
    ``None`` (or a copy when ``copy=True``); writes

    ``adata.varp[f"{key_added}_connectivities"]``
        Sparse binary symmetric genes × genes matrix, zero outside the graph genes.
    ``adata.var[f"{key_added}_selected"]``
        Boolean mask of the graph genes.
    ``adata.var[f"{key_added}_residual_variance"]``, or ``adata.var[f"{key_added}_sparkx_pval"]`` and ``[...padj]``
        Selection statistics of every gene (NaN for all-zero genes): Pearson-residual variances, or SPARK-X
        p-values for spatial data.
    ``adata.uns[key_added]["params"]``
        Every parameter used.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=300, n_cells=(200, 300))
    >>> ad = adatas["scrna_heart_0"]
    >>> mg.pp.coexpression_graph(ad, n_top_genes=100)
    >>> ad.varp["muse_connectivities"].shape
    (300, 300)
    """
    result = _compute_graph(
        adata,
        n_top_genes=n_top_genes,
        flavor=flavor,
        method=method,
        edge_rule=edge_rule,
        n_neighbors=n_neighbors,
        pvalue=pvalue,
        fdr=fdr,
        n_comps=n_comps,
        layer=layer,
        spatial_key=spatial_key,
        theta=theta,
        allow_noncounts=allow_noncounts,
        device=device,
        show_progress_bar=show_progress_bar,
    )
    target = adata.copy() if copy else adata
    _write_graph(target, result, key_added)
    return target if copy else None


def graph_options(kwargs: dict[str, Any], func: str) -> dict[str, Any]:
    """The options of :func:`coexpression_graph` in ``kwargs``, completed with its defaults.

    Raises
    ------
    TypeError
        If ``kwargs`` names an option :func:`coexpression_graph` does not have.

    Examples
    --------
    >>> graph_options({"method": "pearson"}, "f")["method"], graph_options({}, "f")["pvalue"]
    ('pearson', 0.005)
    """
    params = inspect.signature(coexpression_graph).parameters
    names = [
        k for k, p in params.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and k not in ("key_added", "copy", "show_progress_bar")
    ]
    unknown = set(kwargs) - set(names)
    if unknown:
        raise TypeError(f"{func}: unexpected arguments {sorted(unknown)}.")
    return {k: kwargs.get(k, params[k].default) for k in names}


def coexpression_graphs(
    adatas: Sequence[AnnData] | dict[str, AnnData] | Any,
    *,
    n_jobs: int | None = None,
    show_progress_bar: bool | None = None,
    key_added: str = "muse",
    **kwargs: Any,
) -> None:
    """Run :func:`coexpression_graph` on several datasets (a list, a dict of AnnData or a MuData).

    Graphs are computed first (in ``n_jobs`` worker processes) and written only once every dataset
    succeeded, so a failure leaves all datasets unchanged.

    Parameters
    ----------
    adatas
        The datasets.
    n_jobs
        Worker processes (joblib); ``1`` runs in this process, ``-1`` uses all cores (``None``:
        ``mg.settings.n_jobs``).
    show_progress_bar
        Show a progress bar over the datasets (``None``: ``mg.settings.progress_bar``).
    key_added
        Prefix of the outputs.
    **kwargs
        Passed to :func:`coexpression_graph`.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=300, n_cells=(200, 300))
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=100)
    >>> all("muse_connectivities" in ad.varp for ad in adatas.values())
    True
    """
    from .._progress import progress_bar

    named = as_dataset_dict(adatas, "coexpression_graphs")
    opts = graph_options(kwargs, "coexpression_graphs")
    items = list(named.items())
    n_jobs = resolve_n_jobs(n_jobs)
    opts["show_progress_bar"] = False  # one bar over the datasets; workers' bars would interleave
    if n_jobs == 1:
        results = []
        for name, ad in progress_bar(items, desc="gene graphs", show_progress_bar=show_progress_bar):
            try:
                results.append(_compute_graph(ad, **opts))
            except Exception as err:
                raise type(err)(f"dataset {name!r}: {err}") from err
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(
            delayed(_compute_graph)(ad, **opts)
            for _, ad in progress_bar(items, desc="gene graphs", show_progress_bar=show_progress_bar)
        )
    for (_, ad), res in zip(items, results, strict=True):
        _write_graph(ad, res, key_added)


@doc_params(doc_common)
def graph_from_edgelist(
    adata: AnnData,
    edges: pd.DataFrame,
    *,
    source: str = "source",
    target: str = "target",
    layer: str | None = None,
    theta: float = 100.0,
    allow_noncounts: bool = False,
    key_added: str = "muse",
    copy: bool = False,
) -> AnnData | None:
    """Use your own gene graph (e.g. a regulatory network) instead of CS-CORE co-expression.

    The graph genes are the genes of ``adata`` that occur in ``edges``; edges are made undirected and binary
    (MuSe-GNN graphs are unweighted: the model reconstructs which pairs are linked, not how strongly; filter a
    weighted network, e.g. ``edges[edges.weight > cutoff]``, before passing it). Edges naming genes absent from
    ``adata`` are dropped and counted.

    Parameters
    ----------
    adata
        Cells × genes AnnData with counts (used for the node features at training time).
    edges
        DataFrame with gene names in columns ``source`` and ``target``.
    source, target
        Column names.
    layer, theta, allow_noncounts
        As in :func:`coexpression_graph` (stored for the node features).
    key_added
        Prefix of the outputs.
    {copy}

    Returns
    -------
    ``None`` or a copy; writes the same fields as :func:`coexpression_graph`.

    Examples
    --------
    >>> import pandas as pd, muse_gnn as mg
    >>> ad = mg.datasets.simulate(n_datasets=1, n_genes=300, n_cells=(100, 100))["scrna_heart_0"]
    >>> g = ad.var_names
    >>> mg.pp.graph_from_edgelist(ad, pd.DataFrame({"source": g[:5], "target": g[1:6]}))
    >>> int(ad.var["muse_selected"].sum())
    6
    """
    func = "graph_from_edgelist"
    check_adata(adata, func, min_cells=_MIN_CELLS)
    X = get_matrix(adata, layer, func)
    is_int = check_counts(X, func, allow_noncounts=allow_noncounts)
    if not isinstance(edges, pd.DataFrame):
        raise TypeError(f"{func}: `edges` must be a pandas DataFrame with columns {source!r}, {target!r}.")
    missing_cols = [c for c in (source, target) if c not in edges.columns]
    if missing_cols:
        raise KeyError(f"{func}: `edges` lacks columns {missing_cols}; it has {list(edges.columns)}.")
    pos = pd.Series(np.arange(adata.n_vars), index=adata.var_names)
    s = pos.reindex(edges[source].astype(str)).to_numpy()
    t = pos.reindex(edges[target].astype(str)).to_numpy()
    ok = ~(np.isnan(s) | np.isnan(t))
    n_dropped = int((~ok).sum())
    if not ok.any():
        raise ValueError(
            f"{func}: none of the {len(edges)} edges connects two genes of `adata.var_names`; check the "
            "gene identifiers (symbols vs Ensembl IDs, species)."
        )
    if n_dropped:
        warnings.warn(f"{func}: {n_dropped} edges name genes not in `adata`; dropped.", MuseGNNWarning, stacklevel=2)
    s, t = s[ok].astype(np.int64), t[ok].astype(np.int64)
    loops = s == t
    s, t = s[~loops], t[~loops]
    n = adata.n_vars
    conn = sp.coo_matrix((np.ones(2 * s.size, dtype=np.float32), (np.r_[s, t], np.r_[t, s])), shape=(n, n)).tocsr()
    conn.data[:] = 1.0  # an edge listed in both directions (or twice) is one edge
    selected = np.zeros(n, dtype=bool)
    selected[np.unique(np.r_[s, t])] = True
    params = {
        "method": "edgelist",
        "flavor": "edgelist",
        "n_genes": int(selected.sum()),
        "layer": layer,
        "theta": float(theta),
        "clip": float(np.sqrt(adata.n_obs)),
        "integer_counts": bool(is_int),
        "allow_noncounts": bool(allow_noncounts),
        "n_edges": int(conn.nnz // 2),
        "n_edges_dropped": n_dropped,
    }
    result = {"conn": conn.astype(np.float32), "selected": selected, "stats_var": {}, "params": uns_params(params)}
    out = adata.copy() if copy else adata
    _write_graph(out, result, key_added)
    return out if copy else None


def binary_adjacency(adj: Any, *, func: str, name: str | None = None) -> sp.csr_matrix:
    """The edges of a stored gene graph: stored entries with a positive value, off the diagonal, as 0/1.

    The one rule for what an edge is, used by training, query mapping and the metrics alike. Explicit zeros and
    negative or NaN values are not edges; they are dropped with a warning (a user-built graph may hold them).

    Parameters
    ----------
    adj
        Square adjacency (any scipy sparse format or dense array).
    func, name
        Function and dataset named in the warning.

    Returns
    -------
    CSR matrix of ``float32`` ones, symmetric when ``adj``'s positive entries are.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from muse_gnn.pp._graph import binary_adjacency
    >>> binary_adjacency(sp.csr_matrix(np.array([[1.0, 2.0], [2.0, 0.0]])), func="demo").toarray()
    array([[0., 1.],
           [1., 0.]], dtype=float32)
    """
    coo = sp.coo_matrix(adj)
    off = coo.row != coo.col
    keep = off & (coo.data > 0)
    n_bad = int((off & ~(coo.data > 0)).sum())
    if n_bad:
        where = f" (dataset {name!r})" if name is not None else ""
        warnings.warn(
            f"{func}: the gene graph{where} stores {n_bad} off-diagonal entries that are zero, negative or NaN; "
            "they are not edges and are dropped (an edge is a stored positive entry).",
            MuseGNNWarning,
            stacklevel=3,
        )
    out = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (coo.row[keep], coo.col[keep])), shape=coo.shape
    )
    out.sum_duplicates()
    out.data[:] = 1.0
    return out


@doc_params(doc_common)
def get_graph(adata: AnnData, *, graph_key: str = "muse") -> tuple[pd.Index, sp.csr_matrix]:
    """Return the graph genes and their adjacency (graph genes × graph genes, CSR).

    Parameters
    ----------
    adata
        AnnData processed by :func:`coexpression_graph` or :func:`graph_from_edgelist`.
    {graph_key}

    Returns
    -------
    ``(genes, adjacency)``: the adjacency holds a 1 for every edge (a stored positive entry off the diagonal, see
    :func:`binary_adjacency`).

    Examples
    --------
    >>> import muse_gnn as mg
    >>> ad = mg.datasets.simulate(n_datasets=1, n_genes=300, n_cells=(200, 200))["scrna_heart_0"]
    >>> mg.pp.coexpression_graph(ad, n_top_genes=100, method="pearson")
    >>> genes, adj = mg.pp.get_graph(ad)
    >>> adj.shape
    (100, 100)
    """
    sel_key, conn_key = f"{graph_key}_selected", f"{graph_key}_connectivities"
    if sel_key not in adata.var or conn_key not in adata.varp:
        raise KeyError(
            f"get_graph: no gene graph under key {graph_key!r} (missing `var[{sel_key!r}]` or "
            f"`varp[{conn_key!r}]`); run `mg.pp.coexpression_graph(adata, key_added={graph_key!r})` first."
        )
    sel = np.flatnonzero(np.asarray(adata.var[sel_key].to_numpy(), dtype=bool))
    conn = sp.csr_matrix(adata.varp[conn_key])[sel][:, sel]
    return adata.var_names[sel], binary_adjacency(conn, func="get_graph")
