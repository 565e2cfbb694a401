"""Gene modules of a joint embedding (Leiden) and cross-species co-clustering of orthologs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import doc_joint, doc_params, doc_use_rep
from .._joint import check_groupby, check_joint, get_rep, natural_key
from .._joint import check_joint as _check_joint  # noqa: F401 - tl/_context.py imports these three from here
from .._joint import get_rep as _get_rep  # noqa: F401
from .._joint import unit_rows as _unit_rows  # noqa: F401
from .._utils import logger

__all__ = ["gene_modules", "ortholog_coclustering"]


# --------------------------------------------------------------------------------------------------
# gene_modules
# --------------------------------------------------------------------------------------------------
def _find_neighbors(joint: AnnData, use_rep: str, n_neighbors: int) -> str | None:
    """Key of a neighbour graph of ``joint`` built from ``use_rep`` with ``n_neighbors``, if any."""
    for key, val in joint.uns.items():
        if not isinstance(val, Mapping) or "connectivities_key" not in val:
            continue
        params = val.get("params", {})
        if (
            params.get("use_rep") == use_rep
            and int(params.get("n_neighbors", -1)) == n_neighbors
            and val["connectivities_key"] in joint.obsp
        ):
            return str(key)
    return None


@doc_params(doc_joint=doc_joint, doc_use_rep=doc_use_rep)
def gene_modules(
    joint: AnnData,
    *,
    use_rep: str = "X_muse",
    resolution: float = 1.0,
    n_neighbors: int = 15,
    key_added: str = "muse_module",
    random_state: int = 0,
    adatas: Mapping[str, AnnData] | None = None,
    copy: bool = False,
) -> AnnData | tuple[AnnData, dict[str, AnnData]] | None:
    """Gene modules: Leiden clusters of the (gene, dataset) rows of a joint embedding.

    The rows of the joint embedding are clustered like cells: a kNN graph of ``obsm[use_rep]``
    (:func:`scanpy.pp.neighbors`) and Leiden community detection on it (:func:`scanpy.tl.leiden`,
    ``flavor="igraph"``). An existing neighbour graph of ``joint`` built from ``use_rep`` with the same
    ``n_neighbors`` is reused; otherwise one is computed and stored in ``uns["neighbors"]`` (or, when that
    key already holds a graph of another representation, in ``uns[f"{key_added}_neighbors"]`` so the
    user's graph is kept).

    A gene measured in several datasets has one row per dataset, so it can fall in different modules in
    different datasets (e.g. a gene whose role depends on the tissue).

    Parameters
    ----------
    {doc_joint}
    {doc_use_rep}
    resolution
        Leiden resolution; higher gives more, smaller modules.
    n_neighbors
        Neighbours of the kNN graph.
    key_added
        Module labels go to ``joint.obs[key_added]`` (categorical of strings ``"0"``, ``"1"``, …, as
        :func:`scanpy.tl.leiden` writes them), the Leiden parameters to ``joint.uns[key_added]``.
    random_state
        Seed of the neighbour search and of Leiden.
    adatas
        Optional ``{dataset name: AnnData}`` (e.g. ``model.adatas``): each dataset also gets its rows'
        labels in ``adata.var[key_added]``, a categorical with the same categories in every dataset and
        NaN for genes outside the dataset's graph. Every name must be a dataset of ``joint``; datasets of
        ``joint`` missing from ``adatas`` are skipped.
    copy
        Write nothing into ``joint`` or ``adatas``: return an annotated copy of ``joint`` (and of the datasets).

    Returns
    -------
    ``None``; with ``copy=True`` the annotated copy of ``joint``, or ``(joint copy, {name: dataset copy})`` when
    ``adatas`` is given. Nothing is modified when an error is raised.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=2, n_genes=200, n_cells=(100, 150))
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson", show_progress_bar=False)
    >>> model = mg.tl.fit(adatas, max_epochs=5, show_progress_bar=False)
    >>> joint = model.joint_embedding()
    >>> mg.tl.gene_modules(joint, adatas=model.adatas)
    >>> joint.obs["muse_module"].cat.categories[:3].tolist()
    ['0', '1', '2']
    >>> int(adatas["scrna_heart_0"].var["muse_module"].notna().sum())
    80
    """
    import scanpy as sc

    func = "gene_modules"
    check_joint(joint, func)
    X = get_rep(joint, use_rep, func)
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int | np.integer) or n_neighbors < 2:
        raise ValueError(f"{func}: `n_neighbors` must be an integer >= 2, got {n_neighbors!r}.")
    if joint.n_obs <= n_neighbors:
        raise ValueError(
            f"{func}: the joint embedding has {joint.n_obs} rows, too few for n_neighbors={n_neighbors}; "
            "lower `n_neighbors`."
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int | float) or not resolution > 0:
        raise ValueError(f"{func}: `resolution` must be a positive number, got {resolution!r}.")
    if not isinstance(key_added, str) or not key_added:
        raise ValueError(f"{func}: `key_added` must be a non-empty string, got {key_added!r}.")
    targets = _check_adatas(joint, adatas, func)

    # work on a light object so that `joint` stays unchanged if anything below fails
    work = AnnData(obs=pd.DataFrame(index=joint.obs_names.copy()))
    work.obsm[use_rep] = X
    nkey = _find_neighbors(joint, use_rep, int(n_neighbors))
    new_graph = nkey is None
    if new_graph:
        nkey = "neighbors" if "neighbors" not in joint.uns else f"{key_added}_neighbors"
        logger.info("%s: computing a %d-NN graph of obsm[%r] (uns[%r])", func, n_neighbors, use_rep, nkey)
        sc.pp.neighbors(
            work, use_rep=use_rep, n_neighbors=int(n_neighbors), random_state=random_state,
            key_added=None if nkey == "neighbors" else nkey,
        )
    else:
        logger.info("%s: reusing the neighbour graph in uns[%r]", func, nkey)
        work.uns[nkey] = dict(joint.uns[nkey])
        for k in ("connectivities_key", "distances_key"):
            if k in joint.uns[nkey] and joint.uns[nkey][k] in joint.obsp:
                work.obsp[joint.uns[nkey][k]] = joint.obsp[joint.uns[nkey][k]]
    sc.tl.leiden(
        work, resolution=float(resolution), random_state=random_state, key_added=key_added,
        neighbors_key=nkey, flavor="igraph", n_iterations=2, directed=False,
    )
    labels = work.obs[key_added]
    params = dict(work.uns[key_added]["params"])
    params.update({"use_rep": use_rep, "n_neighbors": int(n_neighbors), "neighbors_key": nkey,
                   "flavor": "igraph"})
    logger.info("%s: %d modules over %d rows", func, labels.cat.categories.size, joint.n_obs)

    out = joint.copy() if copy else joint
    out.obs[key_added] = pd.Categorical(labels.to_numpy(), categories=labels.cat.categories)
    out.uns[key_added] = {"params": params}
    if new_graph:
        out.uns[nkey] = work.uns[nkey]
        for k in ("connectivities_key", "distances_key"):
            out.obsp[work.uns[nkey][k]] = work.obsp[work.uns[nkey][k]]
    if copy:
        targets = {name: (adata.copy(), idx, rows) for name, (adata, idx, rows) in targets.items()}
    for name, (adata, idx, rows) in targets.items():
        values = pd.Categorical(
            np.full(adata.n_vars, np.nan, dtype=object), categories=labels.cat.categories
        )
        values[idx] = labels.to_numpy()[rows]
        adata.var[key_added] = values
        logger.info("%s: wrote var[%r] of dataset %r (%d genes labelled)", func, key_added, name, idx.size)
    if not copy:
        return None
    return (out, {name: t[0] for name, t in targets.items()}) if adatas is not None else out


def _check_adatas(
    joint: AnnData, adatas: Mapping[str, AnnData] | None, func: str
) -> dict[str, tuple[AnnData, np.ndarray, np.ndarray]]:
    """Match ``adatas`` to the joint's datasets: ``{name: (adata, var positions, joint rows)}``."""
    if adatas is None:
        return {}
    if not isinstance(adatas, Mapping):
        raise TypeError(
            f"{func}: `adatas` must be a dict {{dataset name: AnnData}} such as `model.adatas`, got "
            f"{type(adatas).__name__}."
        )
    ds = joint.obs["dataset"].astype(str).to_numpy()
    genes = joint.obs["gene"].astype(str).to_numpy()
    known = list(dict.fromkeys(ds))
    unknown = [str(k) for k in adatas if str(k) not in known]
    if unknown:
        raise KeyError(f"{func}: datasets {unknown} of `adatas` are not in the joint embedding ({known}).")
    out = {}
    for name, adata in adatas.items():
        if adata is None:  # `model.adatas` of a model loaded without its datasets
            continue
        if not isinstance(adata, AnnData):
            raise TypeError(f"{func}: `adatas[{name!r}]` is a {type(adata).__name__}, not an AnnData.")
        if adata.is_view:
            raise ValueError(f"{func}: `adatas[{name!r}]` is a view; pass `adata.copy()` objects you own.")
        rows = np.flatnonzero(ds == str(name))
        idx = adata.var_names.get_indexer(genes[rows])
        if (idx < 0).any():
            missing = genes[rows][idx < 0][:5].tolist()
            raise ValueError(
                f"{func}: genes {missing} of dataset {name!r} in the joint embedding are not in "
                f"`adatas[{name!r}].var_names`; `adatas` must be the datasets the model was trained on."
            )
        out[str(name)] = (adata, idx, rows)
    skipped = [d for d in known if d not in out]
    if skipped:
        logger.info("%s: datasets %s are not in `adatas`; their var is not annotated", func, skipped)
    return out


# --------------------------------------------------------------------------------------------------
# ortholog_coclustering
# --------------------------------------------------------------------------------------------------
def ortholog_coclustering(
    joint: AnnData,
    orthologs: pd.DataFrame | Mapping[str, str] | None = None,
    *,
    groupby: str = "muse_module",
    species_key: str = "species",
    species: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Do orthologous genes of two species fall in the same gene module?

    An *ortholog pair* is a row of species A and a row of species B with the same gene name (after
    :func:`muse_gnn.pp.map_orthologs` mouse genes carry their human symbols, so the name match is the
    ortholog match). A gene measured in several datasets of each species gives one pair per
    combination of its rows. A pair is *co-clustered* when both rows have the same module in
    ``obs[groupby]``. Rows without a module (NaN) are ignored.

    For each module, ``n_pairs`` counts the pairs with at least one row in it and ``n_coclustered`` those
    with both rows in it; ``share = n_coclustered / n_pairs``. Over all modules, each pair counts once:
    ``attrs["overall_share"]`` is the fraction of all pairs that are co-clustered, and
    ``attrs["expected_share"]`` the fraction expected if modules were assigned at random with the same
    sizes (``Σ_m f_A(m) f_B(m)``, ``f_S(m)`` the share of species-S rows of the pairs in module ``m``).

    Parameters
    ----------
    joint
        Joint embedding with ``obs`` columns ``gene``, ``dataset``, ``species_key`` and ``groupby``
        (from :func:`gene_modules`).
    orthologs
        Optional one-to-one ortholog table, as for :func:`muse_gnn.pp.map_orthologs` (columns
        ``f"{B}_symbol"``, ``f"{A}_symbol"`` or a dict ``{B symbol: A symbol}``), for joint embeddings in
        which the genes of species B still carry their own symbols. ``None``: names already match.
    groupby
        Module labels in ``joint.obs``.
    species_key
        Species of each row in ``joint.obs``.
    species
        ``(A, B)``: the reference species (whose symbols are kept) and the mapped one. Default: the two
        species of ``joint`` when there are exactly two, with ``"human"`` first when present.

    Returns
    -------
    DataFrame with one row per module (``module``, ``n_pairs``, ``n_coclustered``, ``share``; modules
    without pairs are left out) and ``attrs`` ``overall_share``, ``expected_share``, ``n_pairs``,
    ``species``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> import numpy as np, pandas as pd
    >>> from anndata import AnnData
    >>> obs = pd.DataFrame({"gene": ["A", "B", "A", "B"], "dataset": ["h", "h", "m", "m"],
    ...                     "species": ["human", "human", "mouse", "mouse"],
    ...                     "muse_module": ["0", "1", "0", "0"]})
    >>> joint = AnnData(obs=obs.set_axis([f"r{i}" for i in range(4)]))
    >>> res = mg.tl.ortholog_coclustering(joint)
    >>> res[["module", "n_pairs", "n_coclustered"]].values.tolist()
    [['0', 2, 1], ['1', 1, 0]]
    >>> res.attrs["overall_share"]
    0.5
    """
    func = "ortholog_coclustering"
    check_joint(joint, func, columns=("gene", "dataset", species_key))
    lab = check_groupby(joint, groupby, func)
    sp_lab = joint.obs[species_key].astype(str).to_numpy()
    present = list(dict.fromkeys(sp_lab))
    if species is None:
        if len(present) < 2:
            raise ValueError(
                f"{func}: the joint embedding holds a single species ({present}); ortholog co-clustering "
                "needs datasets of two species (fit the model on both, after `mg.pp.map_orthologs`)."
            )
        if len(present) > 2:
            raise ValueError(
                f"{func}: the joint embedding holds {len(present)} species {present}; pass "
                "`species=(reference, other)` to choose two."
            )
        species = (
            ("human", next(s for s in present if s != "human")) if "human" in present else tuple(present)
        )
    if (
        not isinstance(species, Sequence) or isinstance(species, str) or len(species) != 2
        or species[0] == species[1]
    ):
        raise ValueError(f"{func}: `species` must be two different species names, got {species!r}.")
    species = (str(species[0]), str(species[1]))
    missing = [s for s in species if s not in present]
    if missing:
        raise ValueError(f"{func}: species {missing} not in `joint.obs[{species_key!r}]` ({present}).")

    genes = joint.obs["gene"].astype(str).to_numpy(dtype=object)
    if orthologs is not None:
        from ..pp._orthologs import ortholog_pairs  # one-to-one table, ambiguous symbols removed

        mapping = ortholog_pairs(orthologs, species[1], species[0])
        is_b = sp_lab == species[1]
        mapped = pd.Series(genes[is_b]).map(mapping)
        logger.info("%s: %d of %d %s rows mapped to %s symbols", func, int(mapped.notna().sum()),
                    int(is_b.sum()), species[1], species[0])
        genes = genes.copy()
        genes[is_b] = np.where(mapped.notna(), mapped.to_numpy(dtype=object), None)

    lab_v = lab.to_numpy(dtype=object)
    keep = pd.notna(lab_v) & pd.notna(genes)
    frames = []
    for s in species:
        m = keep & (sp_lab == s)
        frames.append(pd.DataFrame({"gene": genes[m], "module": lab_v[m]}))
    pairs = frames[0].merge(frames[1], on="gene", suffixes=("_a", "_b"))
    if pairs.empty:
        raise ValueError(
            f"{func}: no gene name is shared by rows of {species[0]!r} and {species[1]!r} with a module; map "
            f"the {species[1]} genes to {species[0]} symbols (`mg.pp.map_orthologs` or `orthologs=`)."
        )
    same = (pairs["module_a"] == pairs["module_b"]).to_numpy()
    if isinstance(joint.obs[groupby].dtype, pd.CategoricalDtype):
        order = [str(c) for c in joint.obs[groupby].cat.categories]
    else:
        order = sorted(pd.unique(np.concatenate([pairs["module_a"], pairs["module_b"]])), key=natural_key)
    rows = []
    for mod in order:
        in_a = (pairs["module_a"] == mod).to_numpy()
        in_b = (pairs["module_b"] == mod).to_numpy()
        n_pairs = int((in_a | in_b).sum())
        if n_pairs == 0:
            continue
        n_co = int((in_a & in_b).sum())
        rows.append((mod, n_pairs, n_co, n_co / n_pairs))
    res = pd.DataFrame(rows, columns=["module", "n_pairs", "n_coclustered", "share"])
    fa = pairs["module_a"].value_counts(normalize=True)
    fb = pairs["module_b"].value_counts(normalize=True)
    res.attrs.update(
        overall_share=float(same.mean()),
        expected_share=float((fa * fb.reindex(fa.index, fill_value=0.0)).sum()),
        n_pairs=len(pairs),
        species=list(species),
    )
    logger.info("%s: %d ortholog pairs, %.1f%% co-clustered (%.1f%% expected by chance)", func, len(pairs),
                100 * res.attrs["overall_share"], 100 * res.attrs["expected_share"])
    return res
