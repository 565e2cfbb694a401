"""Function metrics of a gene embedding against external gene sets (GO BP, pathways).

Two scores (DESIGN §1.5): how well set membership can be predicted from the gene vectors
(:func:`geneset_auroc`), and how much more similar genes of the same set are than other gene pairs
(:func:`pair_auroc`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from muse_gnn._joint import gene_vectors, nonfinite_rows_ignored
from muse_gnn._settings import resolve_n_jobs
from muse_gnn._utils import logger
from muse_gnn._warnings import MuseGNNWarning

__all__ = ["GeneSetScores", "gene_embedding_table", "geneset_auroc", "pair_auroc"]


@dataclass(frozen=True)
class GeneSetScores:
    """Result of :func:`geneset_auroc` and :func:`pair_auroc`.

    Attributes
    ----------
    table
        One row per gene set: ``set``, ``n_genes`` (size as given), ``n_found`` (genes of the set in the
        embedding), ``n_missing``, ``auroc`` (NaN for sets outside the size bounds, ``tested`` False),
        ``tested``, and for :func:`pair_auroc` ``n_pairs`` (positive pairs scored).
    mean
        Mean ``auroc`` over the tested sets.
    metric
        ``"geneset_auroc"`` or ``"pair_auroc"``.
    n_genes_embedding
        Genes in the embedding (after dropping NaN rows).
    n_genes_background
        Genes used as the universe (see the ``background`` argument).
    missing_genes
        Genes named in some set but absent from the embedding (sorted).
    params
        The arguments used.
    """

    table: pd.DataFrame
    mean: float
    metric: str
    n_genes_embedding: int
    n_genes_background: int
    missing_genes: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_tested(self) -> int:
        """Number of gene sets scored."""
        return int(self.table["tested"].sum())

    @property
    def n_missing_genes(self) -> int:
        """Number of distinct set genes absent from the embedding."""
        return len(self.missing_genes)

    def __repr__(self) -> str:
        return (
            f"GeneSetScores({self.metric}: mean {self.mean:.4f} over {self.n_tested} of {len(self.table)} "
            "sets; "
            f"{self.n_genes_embedding} embedded genes, {self.n_missing_genes} set genes not embedded)"
        )


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


def gene_embedding_table(
    embedding: pd.DataFrame | AnnData,
    *,
    use_rep: str | None = None,
    gene_key: str = "gene",
    weighting: Literal["mean", "agreement"] = "mean",
) -> pd.DataFrame:
    """One vector per gene (genes × dims ``DataFrame``) from any supported embedding input.

    * a ``DataFrame`` (index = gene names, numeric columns): one row per gene;
    * an ``AnnData`` whose ``obs`` has a ``gene_key`` column is taken as a joint embedding (one row per
      (gene, dataset)): the rows of each gene are combined as ``weighting`` says;
    * any other ``AnnData`` has one row per gene (``obs_names``).

    A gene measured in several datasets has several rows, and two answers to "its vector" are offered:
    ``weighting="mean"`` is the plain mean of its rows (a gene with one row keeps it as is);
    ``weighting="agreement"`` is what :meth:`muse_gnn.MuseGNN.gene_embedding` computes: rows are
    L2-normalised and averaged with weights equal to their agreement with the gene's other rows (mean cosine,
    floored at 0.05), so a dataset where the gene behaves differently counts less (a gene with one row gets
    its normalised row).

    The vectors are ``obsm[use_rep]``, or with ``use_rep=None`` ``obsm["X_muse"]`` when present and
    ``X`` otherwise. Rows with NaN/inf are dropped before averaging, with a warning giving their count.

    Parameters
    ----------
    embedding
        The embedding, see above.
    use_rep
        Key in ``obsm`` (AnnData input only); ``"X"`` means ``.X``.
    gene_key
        Column of ``obs`` naming the gene of each row of a joint embedding.
    weighting
        ``"mean"`` or ``"agreement"``, see above.

    Returns
    -------
    ``DataFrame`` (genes × dims, float64) with unique gene names as index.

    Examples
    --------
    >>> import numpy as np, pandas as pd, anndata as ad
    >>> import muse_gnn as mg
    >>> obs = pd.DataFrame({"gene": ["a", "b", "a"], "dataset": ["d1", "d1", "d2"]})
    >>> joint = ad.AnnData(obs=obs.rename(index=str), obsm={"X_muse": np.array([[1.0, 0], [0, 1], [3, 0]])})
    >>> mg.metrics.gene_embedding_table(joint).loc["a"].tolist()
    [2.0, 0.0]
    >>> mg.metrics.gene_embedding_table(joint, weighting="agreement").loc["a"].tolist()
    [1.0, 0.0]
    """
    func = "gene_embedding_table"
    if weighting not in ("mean", "agreement"):
        raise ValueError(f"{func}: `weighting` must be 'mean' or 'agreement', got {weighting!r}.")
    if isinstance(embedding, pd.DataFrame):
        if use_rep is not None:
            raise ValueError(f"{func}: `use_rep` only applies to AnnData input.")
        values = embedding.to_numpy()
        if not np.issubdtype(values.dtype, np.number):
            raise TypeError(f"{func}: the embedding DataFrame must hold numeric columns only.")
        genes = embedding.index.astype(str)
        group = False
    elif isinstance(embedding, AnnData):
        if use_rep is None:
            use_rep = "X_muse" if "X_muse" in embedding.obsm else "X"
            logger.info("%s: using %s", func, "obsm['X_muse']" if use_rep == "X_muse" else ".X")
        if use_rep == "X":
            values = embedding.X
            if values is None:
                raise ValueError(f"{func}: `embedding.X` is empty; pass `use_rep=` naming an obsm key.")
        elif use_rep in embedding.obsm:
            values = embedding.obsm[use_rep]
        else:
            raise KeyError(
                f"{func}: `obsm[{use_rep!r}]` not found; available: {list(embedding.obsm.keys())}."
            )
        if isinstance(values, pd.DataFrame):
            values = values.to_numpy()
        values = values.toarray() if sp.issparse(values) else np.asarray(values)
        group = gene_key in embedding.obs.columns
        names = embedding.obs[gene_key] if group else embedding.obs_names
        genes = names.astype(str).to_numpy()
    else:
        raise TypeError(f"{func}: expected a DataFrame or an AnnData, got {type(embedding).__name__}.")
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise ValueError(f"{func}: the embedding is empty (shape {values.shape}).")
    values = values.astype(np.float64, copy=False)
    genes = np.asarray(genes, dtype=object)
    finite = nonfinite_rows_ignored(values, func, "embedding rows")
    if not finite.any():
        raise ValueError(f"{func}: every row of the embedding contains NaN/inf.")
    genes = genes[finite]
    if not group and not pd.Index(genes).is_unique:
        dup = pd.Index(genes)[pd.Index(genes).duplicated()].unique()[:5].tolist()
        raise ValueError(
            f"{func}: gene names are not unique, e.g. {dup}; for a joint embedding give obs[{gene_key!r}]."
        )
    index, vectors, _, _ = gene_vectors(genes, values[finite], weighting=weighting)
    return pd.DataFrame(vectors, index=pd.Index(index, name="gene"))


def _gene_set_dict(gene_sets: Any, func: str) -> dict[str, list[str]]:
    """``{name: [genes]}`` (order kept, duplicates removed) from a dict or a decoupler-style long table."""
    if isinstance(gene_sets, pd.DataFrame):
        if not {"source", "target"} <= set(gene_sets.columns):
            raise KeyError(
                f"{func}: a gene-set DataFrame needs columns 'source' (set) and 'target' (gene), "
                f"got {list(gene_sets.columns)}."
            )
        sets = {
            str(k): v.astype(str).tolist()
            for k, v in gene_sets.groupby("source", sort=False)["target"]
        }
    elif isinstance(gene_sets, Mapping):
        sets = {}
        for k, v in gene_sets.items():
            if isinstance(v, str) or not isinstance(v, Sequence | np.ndarray | pd.Index | set | frozenset):
                raise TypeError(
                    f"{func}: gene set {k!r} must be a list of gene names, got {type(v).__name__}."
                )
            sets[str(k)] = [str(x) for x in v]
    else:
        raise TypeError(
            f"{func}: `gene_sets` must be a dict {{name: [genes]}} or a DataFrame with columns "
            "source/target, "
            f"got {type(gene_sets).__name__}."
        )
    if not sets:
        raise ValueError(f"{func}: no gene sets given.")
    return {k: list(dict.fromkeys(v)) for k, v in sets.items()}


def _prepare(
    embedding: Any,
    gene_sets: Any,
    *,
    use_rep: str | None,
    min_size: int,
    max_size: int,
    max_sets: int | None,
    background: str,
    random_state: int,
    func: str,
) -> tuple[pd.DataFrame, dict[str, list[str]], pd.DataFrame, pd.Index, tuple[str, ...]]:
    """Shared input handling: embedding table, sets, per-set bookkeeping, background, missing genes."""
    if min_size < 2 or max_size < min_size:
        raise ValueError(
            f"{func}: need 2 <= min_size <= max_size, got min_size={min_size}, max_size={max_size}."
        )
    if background not in ("annotated", "all"):
        raise ValueError(f"{func}: background must be 'annotated' or 'all', got {background!r}.")
    emb = gene_embedding_table(embedding, use_rep=use_rep)
    sets = _gene_set_dict(gene_sets, func)
    all_set_genes = pd.Index(pd.unique(np.concatenate([np.asarray(v, dtype=object) for v in sets.values()])))
    in_emb = all_set_genes.isin(emb.index)
    if not in_emb.any():
        raise ValueError(
            f"{func}: none of the {len(all_set_genes)} genes of the gene sets is in the embedding "
            f"({len(emb)} genes, e.g. {emb.index[:3].tolist()}); check the gene identifiers (symbols vs IDs, "
            "species)."
        )
    missing = tuple(sorted(all_set_genes[~in_emb]))
    rows = []
    for name, genes in sets.items():
        n_found = int(emb.index.isin(genes).sum())
        rows.append(
            {"set": name, "n_genes": len(genes), "n_found": n_found, "n_missing": len(genes) - n_found}
        )
    table = pd.DataFrame(rows)
    eligible = (table["n_found"] >= min_size) & (table["n_found"] <= max_size)
    table["tested"] = eligible
    n_elig = int(eligible.sum())
    if n_elig == 0:
        raise ValueError(
            f"{func}: no gene set has between {min_size} and {max_size} genes in the embedding (found sizes "
            f"range {int(table['n_found'].min())}–{int(table['n_found'].max())}); adjust min_size/max_size."
        )
    if max_sets is not None and n_elig > max_sets:
        rng = np.random.default_rng(random_state)
        keep = rng.choice(np.flatnonzero(eligible.to_numpy()), size=max_sets, replace=False)
        table["tested"] = False
        table.loc[keep, "tested"] = True
        logger.info("%s: %d of %d eligible gene sets drawn (max_sets)", func, max_sets, n_elig)
    bg = emb.index[emb.index.isin(all_set_genes)] if background == "annotated" else emb.index
    logger.info(
        "%s: %d gene sets, %d tested (%d–%d genes in the embedding); %d of %d set genes not in the "
        "embedding (%d embedded genes, background %d)",
        func, len(table), int(table["tested"].sum()), min_size, max_size, len(missing), len(all_set_genes),
        len(emb), len(bg),
    )
    return emb, sets, table, bg, missing


# --------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------


def geneset_auroc(
    embedding: pd.DataFrame | AnnData,
    gene_sets: Mapping[str, Sequence[str]] | pd.DataFrame,
    *,
    use_rep: str | None = None,
    min_size: int = 10,
    max_size: int = 500,
    n_folds: int = 5,
    background: Literal["annotated", "all"] = "annotated",
    max_sets: int | None = None,
    n_jobs: int | None = None,
    random_state: int = 0,
) -> GeneSetScores:
    """Cross-validated ROC-AUC of predicting gene-set membership from the gene vectors.

    For every gene set with ``min_size``–``max_size`` genes in the embedding, a logistic regression
    (standardised features, ``class_weight="balanced"``, scikit-learn) predicts membership of the
    background genes; the score is the mean ROC-AUC over ``n_folds`` stratified folds
    (:class:`~sklearn.model_selection.StratifiedKFold`, shuffled with ``random_state``). 0.5 = no
    information. The result's ``mean`` is the average over the tested sets.

    Parameters
    ----------
    embedding
        A genes × dims ``DataFrame``, a gene-level AnnData (genes as ``obs_names``), or a joint embedding
        AnnData with ``obs["gene"]`` whose rows are averaged per gene (see :func:`gene_embedding_table`).
    gene_sets
        ``{set name: [genes]}`` (e.g. from :func:`muse_gnn.io.read_gmt`) or a long DataFrame with columns
        ``source`` (set) and ``target`` (gene), as decoupler uses. Set genes absent from the embedding
        are counted in the output (``n_missing``, ``missing_genes``) and logged.
    use_rep
        ``obsm`` key for AnnData input (default ``"X_muse"`` if present, else ``X``).
    min_size, max_size
        Size bounds, counted on the set genes present in the embedding.
    n_folds
        Number of cross-validation folds (``min_size`` must be at least ``n_folds``).
    background
        Negatives: ``"annotated"``: embedded genes that belong to at least one of the given sets (before
        size filtering); ``"all"``: every embedded gene.
    max_sets
        Score at most this many eligible sets, drawn at random with ``random_state``. GO BP has
        thousands of sets and each costs ``n_folds`` fits (about 0.2 s per set for 5,000 genes × 32
        dimensions on one core).
    n_jobs
        Parallel fits per set, passed to :func:`~sklearn.model_selection.cross_val_score`.
    random_state
        Seed of the folds and of ``max_sets``.

    Returns
    -------
    :class:`GeneSetScores` with the per-set table and the mean.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> genes = [f"g{i}" for i in range(200)]
    >>> X = rng.normal(size=(200, 8)); X[:40, 0] += 3  # the first 40 genes share a direction
    >>> emb = pd.DataFrame(X, index=genes)
    >>> sets = {"planted": genes[:40], "random": list(rng.choice(genes, 40, replace=False))}
    >>> res = mg.metrics.geneset_auroc(emb, sets, background="all")
    >>> bool(res.table.set_index("set").loc["planted", "auroc"] > 0.9)
    True
    """
    func = "geneset_auroc"
    if n_folds < 2:
        raise ValueError(f"{func}: n_folds must be at least 2, got {n_folds}.")
    if min_size < n_folds:
        raise ValueError(f"{func}: min_size ({min_size}) must be at least n_folds ({n_folds}).")
    emb, sets, table, bg, missing = _prepare(
        embedding, gene_sets, use_rep=use_rep, min_size=min_size, max_size=max_size, max_sets=max_sets,
        background=background, random_state=random_state, func=func,
    )
    Xbg = emb.loc[bg].to_numpy()
    auroc = np.full(len(table), np.nan)
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    for k in np.flatnonzero(table["tested"].to_numpy()):
        y = bg.isin(sets[table.at[k, "set"]]).astype(int)
        if y.sum() > len(y) - n_folds:
            # Too few negatives for the folds (a set covering nearly the whole background).
            table.at[k, "tested"] = False
            logger.info("%s: set %s covers almost the whole background; skipped", func, table.at[k, "set"])
            continue
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced"))
        auroc[k] = float(np.mean(cross_val_score(model, Xbg, y, cv=cv, scoring="roc_auc",
                                                 n_jobs=resolve_n_jobs(n_jobs))))
    table["auroc"] = auroc
    if not table["tested"].any():
        raise ValueError(f"{func}: no gene set could be tested (every eligible set covers the background).")
    mean = float(np.nanmean(auroc))
    params = dict(min_size=min_size, max_size=max_size, n_folds=n_folds, background=background,
                  max_sets=max_sets, n_jobs=n_jobs, random_state=random_state)
    return GeneSetScores(table, mean, "geneset_auroc", len(emb), len(bg), missing, params)


def pair_auroc(
    embedding: pd.DataFrame | AnnData,
    gene_sets: Mapping[str, Sequence[str]] | pd.DataFrame,
    *,
    use_rep: str | None = None,
    min_size: int = 10,
    max_size: int = 500,
    n_pairs: int = 10_000,
    max_pairs_per_set: int = 1_000,
    negatives: Literal["different_set", "random"] = "different_set",
    max_sets: int | None = None,
    random_state: int = 0,
) -> GeneSetScores:
    """ROC-AUC of cosine similarity for same-set gene pairs against other gene pairs.

    For every gene set with ``min_size``–``max_size`` embedded genes, its gene pairs (all of them, or
    ``max_pairs_per_set`` drawn uniformly without replacement) are the positives; the negatives are one
    shared sample of ``n_pairs`` pairs of distinct background genes (the embedded genes that belong to
    any of the given sets), drawn uniformly with ``random_state``: with ``negatives="different_set"``
    only pairs sharing no set (DESIGN §1.5), with ``"random"`` any pair. Each set scores the ROC-AUC of
    cosine similarity of its pairs against the negatives; ``mean`` averages the sets (the same as the
    pooled AUC with every set weighted equally).

    Parameters
    ----------
    embedding
        See :func:`geneset_auroc`.
    gene_sets
        See :func:`geneset_auroc`.
    use_rep
        ``obsm`` key for AnnData input.
    min_size, max_size
        Size bounds, counted on the set genes present in the embedding.
    n_pairs
        Number of negative pairs.
    max_pairs_per_set
        Largest number of positive pairs per set.
    negatives
        ``"different_set"`` or ``"random"``, see above.
    max_sets
        Score at most this many eligible sets, drawn at random.
    random_state
        Seed of all sampling.

    Returns
    -------
    :class:`GeneSetScores`; the table has an ``n_pairs`` column (positive pairs of the set).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import muse_gnn as mg
    >>> rng = np.random.default_rng(0)
    >>> genes = [f"g{i}" for i in range(100)]
    >>> X = rng.normal(size=(100, 8)); X[:50, 0] += 4; X[50:, 1] += 4
    >>> sets = {"A": genes[:50], "B": genes[50:]}
    >>> mg.metrics.pair_auroc(pd.DataFrame(X, index=genes), sets).mean > 0.9
    True
    """
    func = "pair_auroc"
    if n_pairs < 1 or max_pairs_per_set < 1:
        raise ValueError(f"{func}: n_pairs and max_pairs_per_set must be positive.")
    if negatives not in ("different_set", "random"):
        raise ValueError(f"{func}: negatives must be 'different_set' or 'random', got {negatives!r}.")
    emb, sets, table, bg, missing = _prepare(
        embedding, gene_sets, use_rep=use_rep, min_size=min_size, max_size=max_size, max_sets=max_sets,
        background="annotated", random_state=random_state, func=func,
    )
    rng = np.random.default_rng(random_state)
    Z = emb.loc[bg].to_numpy()
    norms = np.linalg.norm(Z, axis=1)
    if (norms == 0).any():
        warnings.warn(
            f"{func}: {int((norms == 0).sum())} genes have all-zero vectors; their cosine is 0.",
            MuseGNNWarning,
            stacklevel=2,
        )
    Z = Z / np.where(norms == 0, 1.0, norms)[:, None]
    n_bg = len(bg)

    # Membership matrix background genes × sets (all sets, not only the tested ones), for "different_set".
    cols = [bg.get_indexer(pd.Index(v)) for v in sets.values()]
    r = np.concatenate([c[c >= 0] for c in cols])
    c = np.concatenate([np.full(int((cc >= 0).sum()), k) for k, cc in enumerate(cols)])
    M = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n_bg, len(sets)))

    neg_i, neg_j = np.empty(0, np.int64), np.empty(0, np.int64)
    for _ in range(100):
        need = n_pairs - neg_i.size
        if need <= 0:
            break
        a = rng.integers(0, n_bg, size=2 * need + 16)
        b = rng.integers(0, n_bg, size=a.size)
        keep = a != b
        a, b = a[keep], b[keep]
        if negatives == "different_set":
            shared = np.asarray(M[a].multiply(M[b]).sum(axis=1)).ravel() > 0
            a, b = a[~shared], b[~shared]
        neg_i, neg_j = np.concatenate([neg_i, a]), np.concatenate([neg_j, b])
    if neg_i.size < n_pairs:
        raise ValueError(
            f"{func}: could not draw {n_pairs} gene pairs sharing no set (the sets overlap too much); "
            "use negatives='random' or fewer n_pairs."
        )
    neg_i, neg_j = neg_i[:n_pairs], neg_j[:n_pairs]
    neg = np.einsum("ij,ij->i", Z[neg_i], Z[neg_j])

    auroc = np.full(len(table), np.nan)
    npos = np.zeros(len(table), dtype=np.int64)
    for k in np.flatnonzero(table["tested"].to_numpy()):
        idx = bg.get_indexer(pd.Index(sets[table.at[k, "set"]]))
        idx = idx[idx >= 0]
        m = idx.size
        total = m * (m - 1) // 2
        pi, pj = np.triu_indices(m, k=1)
        if total > max_pairs_per_set:
            pick = rng.choice(total, size=max_pairs_per_set, replace=False)
            pi, pj = pi[pick], pj[pick]
        pos = np.einsum("ij,ij->i", Z[idx[pi]], Z[idx[pj]])
        y = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
        auroc[k] = float(roc_auc_score(y, np.concatenate([pos, neg])))
        npos[k] = pos.size
    table["auroc"] = auroc
    table["n_pairs"] = npos
    mean = float(np.nanmean(auroc))
    params = dict(min_size=min_size, max_size=max_size, n_pairs=n_pairs, max_pairs_per_set=max_pairs_per_set,
                  negatives=negatives, max_sets=max_sets, random_state=random_state)
    return GeneSetScores(table, mean, "pair_auroc", len(emb), n_bg, missing, params)
