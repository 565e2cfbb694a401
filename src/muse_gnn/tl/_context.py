"""Genes whose embedding moves between two contexts (tissues, conditions), with a permutation test."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb
from typing import Literal

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy.stats import false_discovery_control

from .._compat import renamed_parameter
from .._joint import check_joint, get_rep, unit_rows
from .._utils import logger
from .._warnings import MuseGNNWarning

__all__ = ["WITHIN_FLOOR", "context_shift"]

_TOL = 1e-10  # distances this close to the observed one count as ">=" (floating-point noise)
_CHUNK = 2**22  # floats per block of the vectorised null computation (~32 MB)
WITHIN_FLOOR = 0.01
"""Added to a gene's within-context spread before dividing by it (``relative_shift``), so that genes whose rows
agree almost perfectly within each context do not get an unbounded score from a small shift. It is kept below the
spread of nearly every gene (the 1st percentile of ``within`` is about 0.013 on Kang 2018), so that the statistic
stays a ratio: a floor of the order of the typical spread (0.05 before 2026-12-07) makes the ranking depend on how
tightly training aligns the datasets, and with uniform decoder negatives, which align them more, the
interferon-response genes fell from AUROC 0.84 to 0.60 (``benchmarks/context_shift.py``, seed 0)."""


def _shift(Z: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``1 − cos(mean_A, mean_B)`` of every gene (``Z``: genes × k × d) for every A/B split (masks × k).

    Means are of the unit rows; an all-zero mean counts as cosine 0.
    """
    wa = masks / masks.sum(axis=1, keepdims=True)
    wb = ~masks / (~masks).sum(axis=1, keepdims=True)
    out = np.empty((Z.shape[0], masks.shape[0]))
    step = max(1, _CHUNK // max(1, Z.shape[0] * Z.shape[2]))
    for s in range(0, masks.shape[0], step):
        ma = np.einsum("pk,gkd->gpd", wa[s : s + step], Z)
        mb = np.einsum("pk,gkd->gpd", wb[s : s + step], Z)
        num = np.einsum("gpd,gpd->gp", ma, mb)
        den = np.linalg.norm(ma, axis=2) * np.linalg.norm(mb, axis=2)
        out[:, s : s + step] = 1.0 - np.where(den > 1e-24, num / np.maximum(den, 1e-24), 0.0)
    return out


def _pair_means(C: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``1 − cos`` over pairs of datasets in different contexts and in the same context (``C``: genes × k × k
    cosines), for every split (masks × k); NaN where a split has no such pair."""
    k = C.shape[1]
    upper = np.triu(np.ones((k, k), dtype=bool), 1)
    D = np.where(upper, 1.0 - C, 0.0)  # genes × k × k, each pair once
    same = ((masks[:, :, None] & masks[:, None, :]) | (~masks[:, :, None] & ~masks[:, None, :])) & upper
    cross = upper & ~same
    out = []
    for pairs in (cross, same):
        n = pairs.sum(axis=(1, 2)).astype(float)
        tot = np.einsum("gij,pij->gp", D, pairs.astype(float))
        out.append(np.where(n > 0, tot / np.maximum(n, 1), np.nan))
    return out[0], out[1]


def _relative(Zg: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(relative_shift, within)`` of every gene (``Zg``: genes × k × d unit rows) for every split."""
    between, within = _pair_means(np.einsum("gid,gjd->gij", Zg, Zg), masks)
    return between / (within + WITHIN_FLOOR), within


def _statistic(Zg: np.ndarray, masks: np.ndarray, statistic: str) -> np.ndarray:
    """The ranking statistic of every gene for every split (only the one asked for is computed)."""
    return _shift(Zg, masks) if statistic == "shift" else _relative(Zg, masks)[0]


@renamed_parameter("key", "tissue_key")
def context_shift(
    joint: AnnData,
    *,
    between: Sequence[str] = ("heart", "lung"),
    tissue_key: str = "tissue",
    statistic: Literal["relative", "shift"] = "relative",
    use_rep: str = "X_muse",
    n_permutations: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Rank genes by how much their embedding differs between two contexts, with a permutation test.

    The contexts are two values ``A, B = between`` of ``joint.obs[key]`` (a tissue, a condition, a
    technology…), a property of whole datasets. For every gene measured in at least one dataset of each
    context:

    1. **Shift.** Each of its rows (one per dataset of context A or B) is scaled to unit length; the unit
       rows are averaged within A and within B, and ``shift = 1 − cos(mean_A, mean_B)`` (0: same
       direction, up to 2: opposite).
    2. **Relative shift.** A gene measured noisily moves between any two datasets, of the same context or not.
       ``within`` is the mean ``1 − cos`` between its rows of datasets of the same context (over the pairs of
       datasets inside A and inside B), ``between`` the same over the pairs of datasets of different contexts,
       and ``relative_shift = between / (within + WITHIN_FLOOR)`` compares the move between contexts with the
       gene's own dataset-to-dataset spread, as an F-statistic compares variation between groups with the
       variation inside them. It needs two datasets of the gene in at least one context (NaN otherwise).
       ``statistic="relative"`` (default) ranks and tests by it, ``statistic="shift"`` by the raw shift.
       On Kang 2018 (control vs interferon-β, myeloid and lymphoid datasets in each) the raw shift ranks the
       interferon-response genes below chance (their tight module keeps its direction) and the relative shift
       ranks them well above it; ``benchmarks/context_shift.py`` measures both against expression fold changes.
    3. **Permutation null.** The gene's ``k = n_a + n_b`` rows keep their vectors but the context labels
       are reassigned among its datasets: every split of its ``k`` datasets into ``n_a`` labelled A and
       ``n_b`` labelled B is a draw of the null (this is permuting the dataset → context assignment, so
       the null carries the gene's dataset-to-dataset variability within a context). When there are at
       most ``n_permutations`` distinct splits (``C(k, n_a)``), all are enumerated (exact test,
       ``pvalue`` = share of splits, the observed one included, with a shift ``>=`` the observed);
       otherwise ``n_permutations`` random label permutations are drawn and
       ``pvalue = (1 + #{null >= observed}) / (1 + n_permutations)`` (of the chosen ``statistic``). Genes with
       the same datasets share the same draws.
    4. **FDR.** Benjamini–Hochberg over all genes (:func:`scipy.stats.false_discovery_control`).

    The smallest attainable p-value is ``1 / C(k, n_a)``: a gene measured in one dataset per context
    (``k = 2``) always has ``pvalue = 1``, and several datasets per context are needed for a significant
    result. The ``shift`` itself is a usable ranking in every case.

    Parameters
    ----------
    joint
        Joint embedding with ``obs`` columns ``gene``, ``dataset`` and ``key``.
    between
        The two contexts ``(A, B)`` (values of ``joint.obs[key]``).
    tissue_key
        Column of ``joint.obs`` holding the context of each row (a tissue, a condition…); it must be constant
        within a dataset. Formerly ``key``.
    statistic
        ``"relative"``: ``between / (within + WITHIN_FLOOR)``; ``"shift"``: the raw shift (the former behaviour).
    use_rep
        Embedding in ``joint.obsm``. Rows with NaN/inf are ignored (with a warning).
    n_permutations
        Null draws per gene (upper bound on the enumerated splits); ``0`` skips the test (``pvalue`` and
        ``fdr`` NaN).
    random_state
        Seed of the random permutations.

    Returns
    -------
    DataFrame indexed by gene, sorted by decreasing ``statistic`` (NaN last), with columns ``shift``,
    ``within``, ``relative_shift``, ``n_a`` and ``n_b`` (datasets of the gene in context A and B), ``pvalue``,
    ``fdr``, ``n_null`` (null draws used) and ``exact`` (all splits enumerated). ``attrs`` record ``between``,
    ``tissue_key``, ``statistic``, ``n_permutations``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> import numpy as np, pandas as pd
    >>> from anndata import AnnData
    >>> obs = pd.DataFrame({"gene": ["A", "B"] * 4, "dataset": np.repeat(["h1", "h2", "l1", "l2"], 2),
    ...                     "tissue": np.repeat(["heart", "heart", "lung", "lung"], 2)})
    >>> joint = AnnData(obs=obs.set_axis([f"r{i}" for i in range(8)]))
    >>> # gene A points one way in heart and the other way in lung; gene B does not move
    >>> joint.obsm["X_muse"] = np.array([[1, 0], [0, 1]] * 2 + [[-1, 0.1], [0.1, 1]] * 2)
    >>> res = mg.tl.context_shift(joint, between=("heart", "lung"), statistic="shift")
    >>> res.index.tolist(), res["n_null"].tolist()
    (['A', 'B'], [6, 6])
    >>> float(res.loc["A", "pvalue"])  # the true split and its mirror image are the most extreme
    0.3333333333333333
    """
    func = "context_shift"
    key = tissue_key
    ctx_a, ctx_b = _check_options(joint, between, key, statistic, n_permutations, func)
    X = get_rep(joint, use_rep, func, allow_nonfinite=True)
    layout = _layout(joint, X, key, ctx_a, ctx_b, use_rep, func)
    Z = unit_rows(X)
    rng = np.random.default_rng(random_state)
    parts = []
    # genes measured in the same datasets share one set of splits: test them together
    patterns = pd.DataFrame(layout.present[layout.both]).groupby(list(range(layout.ds_is_a.size)), sort=True).indices
    gene_ids = np.flatnonzero(layout.both)
    for pattern, members in patterns.items():
        cols = np.flatnonzero(np.asarray(pattern if isinstance(pattern, tuple) else (pattern,), dtype=bool))
        ids = gene_ids[members]
        part = _test_pattern(Z[layout.pos[np.ix_(ids, cols)]], layout.ds_is_a[cols], statistic, n_permutations, rng)
        part["gene"] = layout.genes[ids]
        parts.append(part)
    res = _result_table(parts, statistic)
    res.attrs.update(between=[ctx_a, ctx_b], tissue_key=key, statistic=statistic, n_permutations=int(n_permutations))
    n_single = int(((res["n_a"] == 1) & (res["n_b"] == 1)).sum())
    logger.info(
        "%s: %d genes in both %r and %r (%d measured in only one dataset of each, p = 1 for them)",
        func, len(res), ctx_a, ctx_b, n_single,
    )
    return res


def _check_options(
    joint: AnnData, between: Sequence[str], key: str, statistic: str, n_permutations: int, func: str
) -> tuple[str, str]:
    """The two contexts compared, after checking the options of :func:`context_shift`."""
    if statistic not in ("relative", "shift"):
        raise ValueError(f"{func}: statistic must be 'relative' or 'shift', got {statistic!r}.")
    check_joint(joint, func, columns=("gene", "dataset", key))
    if isinstance(between, str) or not isinstance(between, Sequence) or len(between) != 2:
        raise ValueError(f"{func}: `between` must be two context values such as ('heart', 'lung'), got "
                         f"{between!r}.")
    ctx_a, ctx_b = (str(v) for v in between)
    if ctx_a == ctx_b:
        raise ValueError(f"{func}: the two contexts of `between` are the same ({ctx_a!r}).")
    if (
        isinstance(n_permutations, bool) or not isinstance(n_permutations, int | np.integer)
        or n_permutations < 0
    ):
        raise ValueError(f"{func}: `n_permutations` must be a non-negative integer, got {n_permutations!r}.")
    return ctx_a, ctx_b


@dataclass(frozen=True)
class _Layout:
    """The joint embedding's rows of the two contexts as a genes × datasets table."""

    genes: np.ndarray  # gene names
    pos: np.ndarray  # genes × datasets -> joint row, -1 where absent
    both: np.ndarray  # genes measured in a dataset of each context
    ds_is_a: np.ndarray  # datasets of the first context

    @property
    def present(self) -> np.ndarray:
        """Genes × datasets: whether the gene has a row in the dataset."""
        return self.pos >= 0


def _layout(joint: AnnData, X: np.ndarray, key: str, ctx_a: str, ctx_b: str, use_rep: str, func: str) -> _Layout:
    """Index the finite rows of the two contexts by gene and dataset (each dataset must have one context)."""
    context = joint.obs[key].astype(str).to_numpy(dtype=object)
    available = list(dict.fromkeys(context.tolist()))
    absent = [c for c in (ctx_a, ctx_b) if c not in available]
    if absent:
        raise ValueError(
            f"{func}: {absent} not found in `joint.obs[{key!r}]`; available values: {available}."
        )
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        warnings.warn(
            f"{func}: {int((~finite).sum())} rows of `obsm[{use_rep!r}]` contain NaN/inf and are ignored.",
            MuseGNNWarning,
            stacklevel=4,
        )
    dataset = joint.obs["dataset"].astype(str).to_numpy(dtype=object)
    gene = joint.obs["gene"].astype(str).to_numpy(dtype=object)
    use = finite & np.isin(context, [ctx_a, ctx_b])
    per_ds = pd.DataFrame({"dataset": dataset[use], "context": context[use]}).groupby("dataset", sort=False)
    mixed = per_ds["context"].nunique()
    if (mixed > 1).any():
        raise ValueError(
            f"{func}: datasets {mixed[mixed > 1].index.tolist()} have rows of both {ctx_a!r} and "
            f"{ctx_b!r} in `joint.obs[{key!r}]`; the context must be a property of whole datasets."
        )
    ds_context = per_ds["context"].first()
    ds_names = ds_context.index.to_numpy(dtype=object)
    ds_is_a = (ds_context == ctx_a).to_numpy()
    rows = np.flatnonzero(use)
    g_codes, g_names = pd.factorize(gene[rows])
    d_codes = pd.Index(ds_names).get_indexer(dataset[rows])
    pos = np.full((g_names.size, ds_names.size), -1, dtype=np.int64)
    pos[g_codes, d_codes] = rows
    present = pos >= 0
    both = (present & ds_is_a).any(axis=1) & (present & ~ds_is_a).any(axis=1)
    if not both.any():
        raise ValueError(
            f"{func}: no gene is measured in a dataset of {ctx_a!r} and in one of {ctx_b!r}; the contexts "
            "share no genes."
        )
    return _Layout(np.asarray(g_names), pos, both, ds_is_a)


def _test_pattern(
    Zg: np.ndarray, is_a: np.ndarray, statistic: str, n_permutations: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Observed statistics and permutation p-values of genes measured in the same datasets (``Zg``: genes × k × d
    unit rows; ``is_a``: the k datasets' context). Every split of the datasets is tried when there are at most
    ``n_permutations`` of them (exact test), else ``n_permutations`` random ones."""
    n = Zg.shape[0]
    k, ka = is_a.size, int(is_a.sum())
    obs_shift = _shift(Zg, is_a[None, :])[:, 0]
    obs_rel, obs_within = (v[:, 0] for v in _relative(Zg, is_a[None, :]))
    obs = obs_shift if statistic == "shift" else obs_rel
    n_splits = comb(k, ka)
    if n_permutations == 0:
        p, used, is_exact = np.full(n, np.nan), 0, False
    elif n_splits <= n_permutations:
        masks = np.zeros((n_splits, k), dtype=bool)
        for i, chosen in enumerate(itertools.combinations(range(k), ka)):
            masks[i, list(chosen)] = True
        null = _statistic(Zg, masks, statistic)
        p = (null >= obs[:, None] - _TOL).mean(axis=1)
        used, is_exact = n_splits, True
    else:
        masks = rng.permuted(np.tile(is_a, (n_permutations, 1)), axis=1)
        null = _statistic(Zg, masks, statistic)
        p = (1.0 + (null >= obs[:, None] - _TOL).sum(axis=1)) / (1.0 + n_permutations)
        used, is_exact = n_permutations, False
    if np.isnan(obs).all() and statistic == "relative":
        p = np.full(n, np.nan)
    return {"shift": obs_shift, "within": obs_within, "relative_shift": obs_rel, "n_a": np.full(n, ka),
            "n_b": np.full(n, k - ka), "pvalue": p, "n_null": np.full(n, used), "exact": np.full(n, is_exact)}


def _result_table(parts: list[dict[str, np.ndarray]], statistic: str) -> pd.DataFrame:
    """One row per gene, BH FDR over the tested genes, sorted by the ranking statistic (then by name)."""
    cols = {c: np.concatenate([part[c] for part in parts]) for c in parts[0]}
    pvalue = cols["pvalue"]
    fdr = np.full(pvalue.size, np.nan)
    tested = ~np.isnan(pvalue)
    if tested.any():
        fdr[tested] = false_discovery_control(pvalue[tested], method="bh")
    res = pd.DataFrame(
        {
            "shift": cols["shift"],
            "within": cols["within"],
            "relative_shift": cols["relative_shift"],
            "n_a": cols["n_a"].astype(np.int64),
            "n_b": cols["n_b"].astype(np.int64),
            "pvalue": pvalue,
            "fdr": fdr,
            "n_null": cols["n_null"].astype(np.int64),
            "exact": cols["exact"].astype(bool),
        },
        index=pd.Index(cols["gene"].astype(str), name="gene"),
    )
    rank = res["relative_shift" if statistic == "relative" else "shift"].to_numpy()
    return res.iloc[np.lexsort((res.index.to_numpy(), -np.nan_to_num(rank, nan=-np.inf)))]
