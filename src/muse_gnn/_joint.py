"""The joint embedding: one row per (gene, dataset), like cells; built, validated and read here only.

Every tool, plot and metric of :mod:`muse_gnn` takes this AnnData: ``obs`` columns :data:`JOINT_COLUMNS`
(``gene``, ``dataset``, ``tissue``, ``technology``, ``species``; the last four categorical in order of first
appearance), ``obs_names`` ``"{gene}@{dataset}"`` and the vectors in ``obsm[key]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from ._warnings import MuseGNNWarning

__all__ = [
    "AGREEMENT_FLOOR",
    "JOINT_COLUMNS",
    "LABEL_KEYS",
    "JointRows",
    "build_joint",
    "check_groupby",
    "check_joint",
    "check_rep",
    "dataset_label",
    "gene_vectors",
    "get_rep",
    "joint_rows",
    "natural_key",
    "nonfinite_rows_ignored",
    "unit_rows",
]

#: ``obs`` columns of a joint embedding, in order.
JOINT_COLUMNS: tuple[str, ...] = ("gene", "dataset", "tissue", "technology", "species")
#: Dataset-level labels carried into the joint embedding.
LABEL_KEYS: tuple[str, ...] = ("tissue", "technology", "species")
#: Smallest weight of a row in the agreement-weighted gene vector (a row that disagrees still counts a little).
AGREEMENT_FLOOR = 0.05
_NORM_EPS = 1e-12  # norms below this count as zero

_JOINT_HELP = (
    "a joint embedding has one row per (gene, dataset) with obs columns 'gene', 'dataset', 'tissue', "
    "'technology', 'species' and the vectors in obsm (`mg.tl.joint_embedding(adatas)` or "
    "`model.joint_embedding()`); module labels are added by `mg.tl.gene_modules`"
)


# ------------------------------------------------------------------------------------------------ build
def dataset_label(adata: AnnData, key: str) -> str:
    """Dataset-level label (tissue, technology, species): ``uns[key]`` or a constant ``obs[key]``, else "unknown"."""
    if key in adata.uns and np.ndim(adata.uns[key]) == 0:
        return str(adata.uns[key])
    if key in adata.obs and adata.obs[key].nunique() == 1:
        return str(adata.obs[key].iloc[0])
    return "unknown"


def build_joint(
    names: Sequence[str],
    genes: Sequence[Sequence[str]],
    embeddings: Sequence[np.ndarray],
    labels: Sequence[Mapping[str, str]],
    *,
    key_added: str = "X_muse",
    params: Mapping[str, Any] | None = None,
) -> AnnData:
    """Stack per-dataset gene embeddings (rows in ``genes`` order) into a joint embedding.

    ``labels[i]`` gives dataset ``i``'s ``tissue``, ``technology`` and ``species``; ``params`` (the model's
    options), when given, go to ``uns["muse_model"]["params"]``.
    """
    frames = []
    for name, g, lab in zip(names, genes, labels, strict=True):
        frames.append(pd.DataFrame({"gene": np.asarray(g, dtype=object).astype(str), "dataset": str(name),
                                    **{k: str(lab.get(k, "unknown")) for k in LABEL_KEYS}}))
    obs = pd.concat(frames, ignore_index=True)
    obs.index = (obs["gene"] + "@" + obs["dataset"]).to_numpy()
    for col in JOINT_COLUMNS[1:]:
        obs[col] = pd.Categorical(obs[col], categories=list(dict.fromkeys(obs[col])))
    joint = AnnData(obs=obs)
    joint.obsm[key_added] = np.concatenate([np.asarray(z, dtype=np.float32) for z in embeddings])
    if params is not None:
        joint.uns["muse_model"] = {"params": dict(params)}
    return joint


# ------------------------------------------------------------------------------------------------ validate
def check_joint(joint: Any, func: str, *, columns: Sequence[str] = ("gene", "dataset"), unique: bool = True) -> None:
    """Raise the one error of a wrong joint embedding: not an AnnData, ``obs`` columns missing, repeated rows.

    ``unique``: a (gene, dataset) pair may occur once (checked when both columns are required).
    """
    if not isinstance(joint, AnnData):
        raise TypeError(f"{func}: expected a joint embedding AnnData, got {type(joint).__name__}; {_JOINT_HELP}.")
    missing = [c for c in columns if c not in joint.obs.columns]
    if missing:
        raise KeyError(f"{func}: `joint.obs` has no column(s) {missing}; {_JOINT_HELP}.")
    if unique and "gene" in columns and "dataset" in columns:
        pairs = pd.MultiIndex.from_arrays(
            [joint.obs["gene"].astype(str).to_numpy(), joint.obs["dataset"].astype(str).to_numpy()]
        )
        if pairs.has_duplicates:
            _raise_duplicated(func, [f"{g}@{d}" for g, d in pairs[pairs.duplicated()].unique()[:5]])


def _raise_duplicated(func: str, examples: list[str]) -> None:
    raise ValueError(
        f"{func}: the joint embedding has duplicated (gene, dataset) rows, e.g. {examples}; each gene may appear "
        "at most once per dataset."
    )


def check_rep(joint: AnnData, use_rep: str, func: str) -> None:
    """Raise the one error of a missing embedding ``joint.obsm[use_rep]``."""
    if use_rep not in joint.obsm:
        raise KeyError(
            f"{func}: `joint.obsm[{use_rep!r}]` not found; available: {list(joint.obsm.keys())}. Pass "
            "`use_rep=` naming the embedding."
        )


def get_rep(joint: AnnData, use_rep: str, func: str, *, allow_nonfinite: bool = False) -> np.ndarray:
    """``joint.obsm[use_rep]`` as a dense float64 array (rows × dims), checked.

    Non-finite rows raise a ``ValueError`` unless ``allow_nonfinite``; the caller then drops them.
    """
    check_rep(joint, use_rep, func)
    X = joint.obsm[use_rep]
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    X = np.asarray(X.toarray() if sp.issparse(X) else X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{func}: `joint.obsm[{use_rep!r}]` must be a non-empty 2-D array, got {X.shape}.")
    if not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"{func}: `joint.obsm[{use_rep!r}]` must be numeric, got dtype {X.dtype}.")
    X = X.astype(np.float64, copy=False)
    if not allow_nonfinite and not np.isfinite(X).all():
        n_bad = int((~np.isfinite(X).all(axis=1)).sum())
        raise ValueError(
            f"{func}: {n_bad} rows of `joint.obsm[{use_rep!r}]` contain NaN/inf; remove them first, "
            "e.g. `joint = joint[np.isfinite(joint.obsm[use_rep]).all(1)].copy()`."
        )
    return X


def check_groupby(joint: AnnData, groupby: str, func: str) -> pd.Series:
    """``joint.obs[groupby]`` as strings (NaN kept as None), checked."""
    if not isinstance(groupby, str):
        raise TypeError(f"{func}: `groupby` must be the name of an obs column, got {groupby!r}.")
    check_joint(joint, func, columns=(groupby,), unique=False)
    values = [None if pd.isna(v) else str(v) for v in joint.obs[groupby].to_numpy(dtype=object)]
    return pd.Series(values, index=joint.obs_names, dtype=object)


# ------------------------------------------------------------------------------------------------ access
def natural_key(value: str) -> tuple[int, float | str]:
    """Sort key of group labels: numeric labels first, in numeric order ("2" before "10"), then the others."""
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero)."""
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), _NORM_EPS)


def nonfinite_rows_ignored(X: np.ndarray, func: str, what: str, *, stacklevel: int = 3) -> np.ndarray:
    """Mask of the finite rows of ``X`` (``what``, e.g. "rows of `obsm['X_muse']`"); warns how many are ignored.

    The warning points ``stacklevel`` frames up, as :func:`warnings.warn` counts from this function.
    """
    finite = np.isfinite(X).all(axis=1)
    n_bad = int((~finite).sum())
    if n_bad:
        warnings.warn(
            f"{func}: {n_bad} of {X.shape[0]} {what} contain NaN/inf and are ignored.",
            MuseGNNWarning,
            stacklevel=stacklevel,
        )
    return finite


@dataclass
class JointRows:
    """The finite rows of a joint embedding, as plain arrays."""

    X: np.ndarray  # (n, d) float64
    gene: np.ndarray  # (n,) str (object)
    dataset: np.ndarray  # (n,) str (object)
    obs: pd.DataFrame  # obs of the kept rows, same order
    n_dropped: int

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def n_datasets(self) -> int:
        return int(pd.unique(self.dataset).size)

    def subset(self, mask: np.ndarray) -> JointRows:
        return JointRows(self.X[mask], self.gene[mask], self.dataset[mask], self.obs.iloc[mask], self.n_dropped)


def joint_rows(
    joint: Any,
    use_rep: str,
    func: str,
    *,
    gene_key: str = "gene",
    dataset_key: str = "dataset",
    check_unique: bool = True,
    stacklevel: int = 3,
) -> JointRows:
    """Validate a joint embedding and return its finite rows.

    Rows with NaN/inf are dropped (``n_dropped``) with a warning; ``stacklevel`` as :func:`warnings.warn`'s seen
    from the caller (the default points at the user's call when a public function calls this directly).
    """
    check_joint(joint, func, columns=(gene_key, dataset_key), unique=False)
    X = get_rep(joint, use_rep, func, allow_nonfinite=True)
    finite = np.isfinite(X).all(axis=1)
    if not finite.any():
        raise ValueError(f"{func}: every row of `obsm[{use_rep!r}]` contains NaN/inf; nothing to evaluate.")
    nonfinite_rows_ignored(X, func, f"rows of `obsm[{use_rep!r}]`", stacklevel=stacklevel + 1)
    obs = joint.obs.iloc[np.flatnonzero(finite)]
    gene = obs[gene_key].astype(str).to_numpy(dtype=object)
    dataset = obs[dataset_key].astype(str).to_numpy(dtype=object)
    if check_unique:
        dup = pd.DataFrame({"g": gene, "d": dataset}).duplicated().to_numpy()
        if dup.any():
            _raise_duplicated(func, [f"{g}@{d}" for g, d in zip(gene[dup], dataset[dup], strict=True)][:5])
    return JointRows(X[finite], gene, dataset, obs, int((~finite).sum()))


def gene_vectors(
    gene: np.ndarray, X: np.ndarray, *, weighting: Literal["mean", "agreement"] = "mean"
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """One vector per gene from its rows (one per dataset): ``(genes, vectors, n_rows, agreement)``.

    ``"mean"``: the plain mean of the gene's rows. ``"agreement"``: rows are L2-normalised and averaged with
    weights equal to their agreement with the gene's other rows (mean cosine, floored at
    :data:`AGREEMENT_FLOOR`), so a dataset where the gene behaves differently counts less. ``agreement`` is the
    mean pairwise cosine of the gene's rows (NaN for a gene with one row). Genes in order of first appearance.
    """
    if weighting not in ("mean", "agreement"):
        raise ValueError(f"weighting must be 'mean' or 'agreement', got {weighting!r}.")
    codes, genes = pd.factorize(pd.Index(np.asarray(gene, dtype=object).astype(str)))
    G, d = len(genes), X.shape[1]
    n = np.bincount(codes, minlength=G).astype(np.float64)
    zn = unit_rows(X)
    s = np.zeros((G, d))
    np.add.at(s, codes, zn)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(n > 1, ((s * s).sum(1) - n) / (n * np.maximum(n - 1, 1)), np.nan)
    if weighting == "mean":
        rows, w = X, np.ones(len(codes))
    else:
        # agreement of a row with the others of its gene: (s_g - z_r) . z_r / (n_g - 1)
        own = np.einsum("ij,ij->i", s[codes] - zn, zn) / np.maximum(n[codes] - 1, 1)
        rows, w = zn, np.where(n[codes] > 1, np.maximum(own, AGREEMENT_FLOOR), 1.0)
    ws = np.zeros((G, d))
    np.add.at(ws, codes, rows * w[:, None])
    vec = ws / np.maximum(np.bincount(codes, weights=w, minlength=G), _NORM_EPS)[:, None]
    return genes, vec, n.astype(int), agreement
