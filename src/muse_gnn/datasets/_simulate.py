"""Multi-dataset simulator with planted gene modules.

The simulator draws several single-cell / spatial datasets (AnnData, raw counts) that share one gene
universe and one set of gene programs ("modules"), so that a gene-embedding method can be checked
against a known answer: genes of the same module should end up close together, in every dataset in
which they are measured.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from muse_gnn._utils import logger

__all__ = ["SPECIES", "TECHNOLOGIES", "simulate", "simulate_orthologs"]

#: Technologies the simulator knows.
TECHNOLOGIES: tuple[str, ...] = ("scrna", "spatial", "scatac")
#: Species the simulator knows (symbols follow HGNC / MGI capitalisation).
SPECIES: tuple[str, ...] = ("human", "mouse")

# --- fixed model constants (documented in `simulate`) -------------------------------------------
_MODULE_FRACTION = 0.5  # share of the universe that belongs to a module
_SPATIAL_MODULE_FRACTION = 0.25  # share of modules whose activity follows a spatial field
_SPATIAL_ONLY_FRACTION = 0.1  # share of the module-free genes that are purely spatial
_RENAMED_EVERY = 20  # every 20th mouse ortholog gets a "Gm" symbol (not a case change)
# mean counts per gene and cell, lognormal depth sd, NB size multiplier, count cap
_TECH = {
    "scrna": {"depth_per_gene": 1.5, "depth_sd": 0.35, "theta_mult": 1.0, "cap": None},
    "spatial": {"depth_per_gene": 1.0, "depth_sd": 0.3, "theta_mult": 0.7, "cap": None},
    "scatac": {"depth_per_gene": 0.3, "depth_sd": 0.4, "theta_mult": 0.4, "cap": 2},
}
_ACTIVITY_NOISE_SD = 0.5  # cell-level log-normal noise of each program's activity
_SPATIAL_EFFECT = 1.0  # log fold change per sd of a spatial field
_SPOT_SPACING = 100.0  # Visium-like centre-to-centre distance (µm)
_N_FOURIER = 32  # random Fourier features per smooth field
_PROGRAM_ON_RATE = 0.3  # share of (cell type, program) pairs where the program is on
_PROPORTION_CONCENTRATION = 20.0  # Dirichlet concentration of a dataset's cell-type mix around its tissue's
_TYPE_FIELD_STRENGTH = 2.0  # spatial data: weight of the smooth fields in the cell-type logits
_DEPTH_FIELD_STRENGTH = 0.3  # spatial data: log depth change per sd of the depth field
_GENE_NOISE_SD = 0.25  # dataset-specific log-normal noise of each gene's baseline


# ------------------------------------------------------------------------------------------------
# argument checks
# ------------------------------------------------------------------------------------------------
def _check_int(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"simulate: `{name}` must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"simulate: `{name}` must be >= {minimum}, got {value}.")
    return int(value)


def _check_fraction(value: Any, name: str, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"simulate: `{name}` must be a number, got {value!r}.")
    value = float(value)
    if not (np.isfinite(value) and low <= value <= high):
        raise ValueError(f"simulate: `{name}` must lie in [{low}, {high}], got {value}.")
    return value


def _check_labels(values: Any, name: str, allowed: Sequence[str] | None) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"simulate: `{name}` must be a non-empty sequence of strings, got {values!r}.")
    out = tuple(values)
    for v in out:
        if not isinstance(v, str) or not v:
            raise ValueError(f"simulate: `{name}` must hold non-empty strings, got {v!r}.")
        if allowed is not None and v not in allowed:
            raise ValueError(
                f"simulate: unknown value {v!r} in `{name}`; choose from {list(allowed)}."
            )
    if len(set(out)) != len(out):
        raise ValueError(f"simulate: `{name}` contains duplicates: {list(out)}.")
    return out


def _check_n_cells(n_cells: Any) -> tuple[int, int]:
    if isinstance(n_cells, int | np.integer) and not isinstance(n_cells, bool):
        lo = hi = _check_int(n_cells, "n_cells", minimum=2)
        return lo, hi
    if (
        isinstance(n_cells, Sequence)
        and not isinstance(n_cells, str)
        and len(n_cells) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in n_cells)
    ):
        lo, hi = int(n_cells[0]), int(n_cells[1])
        if lo < 2 or hi < lo:
            raise ValueError(
                f"simulate: `n_cells` must be an integer >= 2 or a range (low, high) with 2 <= low <= high, "
                f"got {tuple(n_cells)}."
            )
        return lo, hi
    raise ValueError(
        f"simulate: `n_cells` must be an integer or a (low, high) pair of integers, got {n_cells!r}."
    )


def _seed_sequence(random_state: Any) -> np.random.SeedSequence:
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(0, 2**63 - 1)))
    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise ValueError(
            f"simulate: `random_state` must be an integer, a numpy Generator or None, got {random_state!r}."
        )
    if random_state < 0:
        raise ValueError(f"simulate: `random_state` must be non-negative, got {random_state}.")
    return np.random.SeedSequence(int(random_state))


# ------------------------------------------------------------------------------------------------
# gene symbols
# ------------------------------------------------------------------------------------------------
def _n_universe(n_genes: int, universe_factor: float) -> int:
    return max(n_genes, int(round(universe_factor * n_genes)))


def _symbols(n_universe: int) -> tuple[np.ndarray, np.ndarray]:
    """Human (``GENE0001``) and mouse (``Gene0001`` / ``Gm20020``) symbols of the universe."""
    width = max(4, len(str(n_universe)))
    idx = np.arange(1, n_universe + 1)
    human = np.array([f"GENE{i:0{width}d}" for i in idx], dtype=object)
    mouse = np.array([f"Gene{i:0{width}d}" for i in idx], dtype=object)
    renamed = (idx % _RENAMED_EVERY) == 0
    # MGI-style placeholder symbols for orthologs whose mouse name is not a case change
    mouse[renamed] = [f"Gm{10 ** (width + 1) + i}" for i in idx[renamed]]
    return human, mouse


def simulate_orthologs(*, n_genes: int = 2000, universe_factor: float = 1.5) -> pd.DataFrame:
    """One-to-one human–mouse ortholog table of the gene universe of :func:`simulate`.

    Call it with the same ``n_genes`` and ``universe_factor`` as :func:`simulate` (the table only
    depends on the universe size, not on the seed). Most mouse symbols are the human symbol in MGI
    capitalisation (``GENE0012`` → ``Gene0012``); every 20th gene has an unrelated MGI-style
    placeholder symbol (``GENE0020`` → ``Gm100020``), so a plain case change does not map all genes
    and the table is needed, as with real data.

    Parameters
    ----------
    n_genes
        Genes per dataset (not the universe size).
    universe_factor
        Universe size as a multiple of ``n_genes`` (``>= 1``; ``1`` makes all datasets share all genes).

    Returns
    -------
    DataFrame with columns ``human_symbol``, ``mouse_symbol`` and ``homology_type``
    (``"ortholog_one2one"``), one row per universe gene, the same column names as the Ensembl-derived
    ``orthologs_human_mouse.tsv`` table.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> table = mg.datasets.simulate_orthologs(n_genes=100)
    >>> table.iloc[0].tolist()
    ['GENE0001', 'Gene0001', 'ortholog_one2one']
    >>> len(table)
    150
    """
    n_genes = _check_int(n_genes, "n_genes", minimum=2)
    universe_factor = _check_fraction(universe_factor, "universe_factor", low=1.0, high=100.0)
    human, mouse = _symbols(_n_universe(n_genes, universe_factor))
    return pd.DataFrame(
        {
            "human_symbol": pd.Series(human, dtype=str),
            "mouse_symbol": pd.Series(mouse, dtype=str),
            "homology_type": "ortholog_one2one",
        }
    )


# ------------------------------------------------------------------------------------------------
# smooth spatial fields
# ------------------------------------------------------------------------------------------------
def _hex_grid(n: int) -> np.ndarray:
    """``n`` spot centres on a Visium-like hexagonal lattice (µm)."""
    ncol = int(np.ceil(np.sqrt(n)))
    k = np.arange(n)
    row, col = np.divmod(k, ncol)
    x = (col + 0.5 * (row % 2)) * _SPOT_SPACING
    y = row * _SPOT_SPACING * np.sqrt(3.0) / 2.0
    return np.column_stack([x, y]).astype(np.float64)


def _smooth_fields(rng: np.random.Generator, xy: np.ndarray, n_fields: int) -> np.ndarray:
    """``n_fields`` standardised smooth random fields at ``xy`` (spots × fields).

    Random Fourier features of a Gaussian-kernel Gaussian process with a length scale of ~1/6 of the
    slide's extent, so each field has a few broad hot and cold regions.
    """
    if n_fields == 0:
        return np.zeros((xy.shape[0], 0))
    extent = float(np.ptp(xy, axis=0).max()) or 1.0
    length = extent / 6.0
    omega = rng.standard_normal((2, n_fields * _N_FOURIER)) / length
    phase = rng.uniform(0.0, 2.0 * np.pi, size=n_fields * _N_FOURIER)
    feats = np.cos(xy @ omega + phase).reshape(xy.shape[0], n_fields, _N_FOURIER)
    f = feats.sum(axis=2)
    f -= f.mean(axis=0)
    sd = f.std(axis=0)
    sd[sd == 0] = 1.0
    return f / sd


# ------------------------------------------------------------------------------------------------
# the simulator
# ------------------------------------------------------------------------------------------------
def simulate(
    *,
    n_datasets: int = 6,
    tissues: Sequence[str] = ("heart", "lung"),
    technologies: Sequence[str] = ("scrna", "spatial"),
    species: Sequence[str] = ("human",),
    n_genes: int = 2000,
    n_cells: int | tuple[int, int] = (400, 1200),
    n_modules: int = 20,
    n_cell_types: int = 6,
    universe_factor: float = 1.5,
    shared_fraction: float = 0.5,
    context_fraction: float = 0.1,
    random_state: int | np.random.Generator | None = 0,
) -> dict[str, AnnData]:
    """Simulate several count datasets that share planted gene modules.

    **Datasets.** Dataset ``i`` (``0 <= i < n_datasets``) gets the ``i``-th entry, cycled, of
    ``itertools.product(tissues, technologies, species)``, and is named
    ``f"{technology}_{tissue}_{i}"`` (e.g. ``"scrna_heart_0"``, ``"spatial_heart_1"``,
    ``"scrna_lung_2"`` with the defaults).

    **Genes.** A universe of ``round(universe_factor * n_genes)`` genes is shared by all datasets.
    Each dataset measures exactly ``n_genes`` of them: a core of ``round(shared_fraction * n_genes)``
    genes measured in every dataset, plus genes drawn at random from the rest of the universe, so two
    datasets overlap partially (with the defaults about 75 % of their genes). Human datasets use
    symbols ``GENE0001`` …, mouse datasets MGI-style ``Gene0001`` … (see :func:`simulate_orthologs`
    for the one-to-one ortholog table, also stored in each mouse dataset's ``.uns["orthologs"]``).

    **Modules.** Half of the universe is split into ``n_modules`` gene programs of random sizes; the
    other genes belong to no module (``-1``). A fraction ``context_fraction`` of the module genes are
    *context genes*: their module differs between tissues (each tissue assigns them a different
    module when ``n_modules >= len(tissues)``), mimicking genes whose function depends on the
    tissue. ``.var["module"]`` gives the module in the dataset's tissue.

    **Counts.** Each tissue has ``n_cell_types`` latent cell types, each with a log-normal activity
    level for every program (a few programs high, most low). A cell's activity of program ``m`` is
    its type's level times a cell-level log-normal factor (sd 0.5 on the log scale), shared by all
    genes of the program, so module genes co-vary within cell types too. A gene of module ``m`` has
    relative expression ``b_g · (1 + l_g · a_cm)`` (baseline ``b_g``, loading ``l_g``), a module-free
    gene ``b_g``, each times a technology- and a dataset-specific gene factor (batch effects).
    Relative expression is normalised per cell and multiplied by a log-normal library size; counts are
    negative binomial (gamma–Poisson) with gene-specific dispersion.

    **Technologies.** ``"scrna"``: ~1.5 counts per gene and cell on average. ``"spatial"``: spots on a
    Visium-like hexagonal grid (``.obsm["spatial"]``, µm); cell types form smooth spatial domains, a
    quarter of the modules have their activity multiplied by a smooth random field (log fold change 1
    per sd), a tenth of the module-free genes follow their own smooth field, library size follows a
    field too; ``.var["spatial_gene"]`` flags the spatially patterned genes. ``"scatac"`` (gene
    activity): five times lower depth, stronger overdispersion and counts capped at 2, hence much
    sparser.

    Parameters
    ----------
    n_datasets
        Number of datasets.
    tissues, technologies, species
        Values cycled over the datasets (see above). ``technologies`` from ``"scrna"``,
        ``"spatial"``, ``"scatac"``; ``species`` from ``"human"``, ``"mouse"``. A single string is
        treated as a one-element tuple.
    n_genes
        Genes per dataset (not the universe size).
    n_cells
        Cells (spots) per dataset: an integer, or a ``(low, high)`` range from which each dataset's
        size is drawn uniformly (both ends included).
    n_modules
        Number of planted gene modules (at most ``n_genes``).
    n_cell_types
        Latent cell types per tissue.
    universe_factor
        Universe size as a multiple of ``n_genes`` (``>= 1``; ``1`` makes all datasets share all genes).
    shared_fraction
        Fraction of each dataset's genes taken from a core measured in every dataset.
    context_fraction
        Fraction of module genes whose module switches between tissues.
    random_state
        Seed. Datasets are drawn from independent child streams of it, so dataset ``i`` does not
        depend on ``n_datasets``.

    Returns
    -------
    ``{name: AnnData}`` in dataset order. Each AnnData has

    * ``.X``: raw counts, ``float32`` CSR with integer values;
    * ``.obs``: ``cell_type``, ``tissue``, ``technology``, ``species``, ``dataset`` (categoricals);
    * ``.var``: ``module`` (int, ``-1`` for none), ``context_gene`` (bool), ``spatial_gene`` (bool);
    * ``.obsm["spatial"]`` for spatial datasets;
    * ``.uns``: ``dataset``, ``tissue``, ``technology``, ``species``, ``simulation`` (parameters,
      including ``n_universe`` and how to rebuild the ortholog table) and, for mouse datasets,
      ``orthologs`` (the table of :func:`simulate_orthologs`).

    Examples
    --------
    >>> import muse_gnn as mg
    >>> data = mg.datasets.simulate(n_datasets=3, n_genes=200, n_cells=100, n_modules=5)
    >>> list(data)
    ['scrna_heart_0', 'spatial_heart_1', 'scrna_lung_2']
    >>> ad = data["spatial_heart_1"]
    >>> ad.shape, ad.obsm["spatial"].shape
    ((100, 200), (100, 2))
    >>> int(ad.var["module"].min()), int(ad.var["module"].max()) < 5
    (-1, True)
    """
    n_datasets = _check_int(n_datasets, "n_datasets", minimum=1)
    tissues = _check_labels(tissues, "tissues", None)
    technologies = _check_labels(technologies, "technologies", TECHNOLOGIES)
    species = _check_labels(species, "species", SPECIES)
    n_genes = _check_int(n_genes, "n_genes", minimum=2)
    n_lo, n_hi = _check_n_cells(n_cells)
    n_modules = _check_int(n_modules, "n_modules", minimum=1)
    if n_modules > n_genes:
        raise ValueError(
            f"simulate: `n_modules` ({n_modules}) must not exceed `n_genes` ({n_genes})."
        )
    n_cell_types = _check_int(n_cell_types, "n_cell_types", minimum=1)
    universe_factor = _check_fraction(universe_factor, "universe_factor", low=1.0, high=100.0)
    shared_fraction = _check_fraction(shared_fraction, "shared_fraction")
    context_fraction = _check_fraction(context_fraction, "context_fraction")
    seed_seq = _seed_sequence(random_state)

    n_uni = _n_universe(n_genes, universe_factor)
    children = seed_seq.spawn(n_datasets + 1)
    rng = np.random.default_rng(children[0])
    uni = _draw_universe(rng, n_uni, n_modules, tissues, context_fraction)
    programs = _draw_tissue_programs(rng, tissues, n_cell_types, n_modules)
    n_core = int(round(shared_fraction * n_genes))
    core = np.sort(rng.choice(n_uni, size=n_core, replace=False))
    rest = np.setdiff1d(np.arange(n_uni), core, assume_unique=True)
    params = {
        "n_genes": n_genes,
        "n_universe": n_uni,
        "n_modules": n_modules,
        "n_cell_types": n_cell_types,
        "universe_factor": universe_factor,
        "shared_fraction": shared_fraction,
        "context_fraction": context_fraction,
        "random_state": int(random_state) if isinstance(random_state, int | np.integer) else -1,
        # an int64 array, not a list: anndata writes lists as arrays, so the type survives .h5ad/.zarr
        "spatial_modules": uni.spatial_modules.astype(np.int64),
        "ortholog_table": (
            f"muse_gnn.datasets.simulate_orthologs(n_genes={n_genes}, universe_factor={universe_factor})"
        ),
    }
    symbols = dict(zip(("human", "mouse"), _symbols(n_uni), strict=True))
    orthologs = None
    out: dict[str, AnnData] = {}
    combos = list(itertools.product(tissues, technologies, species))
    for i in range(n_datasets):
        tissue, tech, spec = combos[i % len(combos)]
        drng = np.random.default_rng(children[i + 1])
        name = f"{tech}_{tissue}_{i}"
        n_c = int(drng.integers(n_lo, n_hi + 1))
        genes = np.sort(np.concatenate([core, drng.choice(rest, size=n_genes - n_core, replace=False)]))
        t_idx = tissues.index(tissue)
        cells = _draw_cells(drng, tech, n_c, programs.props[t_idx], n_cell_types, uni.spatial_modules.size)
        counts, mods, spatial_gene = _draw_counts(drng, uni, programs.activity[t_idx], cells, tech, t_idx, genes)
        uns: dict[str, Any] = {"dataset": name, "tissue": tissue, "technology": tech, "species": spec,
                               "simulation": dict(params)}
        if spec == "mouse":
            if orthologs is None:
                orthologs = simulate_orthologs(n_genes=n_genes, universe_factor=universe_factor)
            uns["orthologs"] = orthologs.copy()
        var = pd.DataFrame(
            {"module": mods.astype(np.int64), "context_gene": uni.context[genes], "spatial_gene": spatial_gene},
            index=pd.Index(symbols[spec][genes].astype(str), name=None),
        )
        out[name] = _as_anndata(name, counts, var, cells, uns, n_cell_types)

    logger.info(
        "simulate: %d datasets, %d genes each from a universe of %d, %d modules (%d context genes).",
        n_datasets,
        n_genes,
        n_uni,
        n_modules,
        int(uni.context.sum()),
    )
    return out


# ------------------------------------------------------------------------------------------------
# the steps of `simulate`
# ------------------------------------------------------------------------------------------------
@dataclass
class _Universe:
    """Gene-level truth and parameters shared by all datasets (one entry per universe gene)."""

    tissue_module: np.ndarray  # tissues × universe, -1 for no module
    context: np.ndarray  # bool: the gene's module changes between tissues
    log_baseline: np.ndarray
    loading: np.ndarray
    log_theta: np.ndarray
    tech_effect: dict[str, np.ndarray]
    spatial_modules: np.ndarray  # modules whose activity follows a spatial field
    spatial_only: np.ndarray  # bool: module-free genes with a spatial field of their own


@dataclass
class _Programs:
    """Per tissue: program activity of each cell type (types × modules) and cell-type proportions."""

    activity: list[np.ndarray]
    props: list[np.ndarray]


@dataclass
class _Cells:
    """One dataset's cells: cell types, spot coordinates and smooth fields (spatial only), depth shift."""

    cell_type: np.ndarray
    xy: np.ndarray | None
    fields: np.ndarray | None
    log_depth_shift: np.ndarray


def _draw_universe(
    rng: np.random.Generator, n_uni: int, n_modules: int, tissues: tuple[str, ...], context_fraction: float
) -> _Universe:
    """Planted modules (and the context genes whose module changes between tissues) and gene parameters."""
    n_mod_genes = min(n_uni, max(n_modules, int(round(_MODULE_FRACTION * n_uni))))
    sizes = 1 + rng.multinomial(n_mod_genes - n_modules, rng.dirichlet(np.full(n_modules, 5.0)))
    perm = rng.permutation(n_uni)
    base_module = np.full(n_uni, -1, dtype=np.int64)
    base_module[perm[:n_mod_genes]] = np.repeat(np.arange(n_modules), sizes)
    module_genes = perm[:n_mod_genes]

    n_tis = len(tissues)
    tissue_module = np.tile(base_module, (n_tis, 1))  # tissues × universe
    context = np.zeros(n_uni, dtype=bool)
    n_context = int(round(context_fraction * n_mod_genes)) if (n_tis > 1 and n_modules > 1) else 0
    if n_context:
        ctx = rng.choice(module_genes, size=n_context, replace=False)
        context[ctx] = True
        # distinct non-zero offsets per tissue (when possible), tissue 0 keeps the base module
        offsets = rng.permuted(np.tile(np.arange(1, n_modules), (n_context, 1)), axis=1)
        if n_tis - 1 > n_modules - 1:
            reps = int(np.ceil((n_tis - 1) / (n_modules - 1)))
            offsets = np.tile(offsets, (1, reps))
        for t in range(1, n_tis):
            tissue_module[t, ctx] = (base_module[ctx] + offsets[:, t - 1]) % n_modules

    log_baseline = rng.normal(0.0, 1.0, size=n_uni)
    loading = rng.lognormal(np.log(2.0), 0.5, size=n_uni)
    log_theta = rng.normal(np.log(8.0), 0.5, size=n_uni)
    tech_effect = {t: rng.normal(0.0, 0.3, size=n_uni) for t in TECHNOLOGIES}
    n_spatial_mod = max(1, int(round(_SPATIAL_MODULE_FRACTION * n_modules)))
    spatial_modules = np.sort(rng.choice(n_modules, size=n_spatial_mod, replace=False))
    free_genes = np.flatnonzero(base_module < 0)
    n_spatial_only = int(round(_SPATIAL_ONLY_FRACTION * free_genes.size))
    spatial_only = np.zeros(n_uni, dtype=bool)
    if n_spatial_only:
        spatial_only[rng.choice(free_genes, size=n_spatial_only, replace=False)] = True
    return _Universe(tissue_module, context, log_baseline, loading, log_theta, tech_effect, spatial_modules,
                     spatial_only)


def _draw_tissue_programs(
    rng: np.random.Generator, tissues: tuple[str, ...], n_cell_types: int, n_modules: int
) -> _Programs:
    """Per tissue: which programs each cell type runs (30 % on, log level ~ N(0.7, 0.5), else ~ N(−2, 0.7))."""
    activity, props = [], []
    for _ in tissues:
        on = rng.random((n_cell_types, n_modules)) < _PROGRAM_ON_RATE
        level = np.where(on, rng.normal(0.7, 0.5, on.shape), rng.normal(-2.0, 0.7, on.shape))
        activity.append(np.exp(level))
        props.append(rng.dirichlet(np.full(n_cell_types, 3.0)))
    return _Programs(activity, props)


def _draw_cells(
    drng: np.random.Generator, tech: str, n_c: int, props: np.ndarray, n_cell_types: int, n_spatial_mod: int
) -> _Cells:
    """Cell types of one dataset; spatial data: spots on a hex grid whose types and depth follow smooth fields."""
    if tech != "spatial":
        ct = drng.choice(n_cell_types, size=n_c, p=drng.dirichlet(_PROPORTION_CONCENTRATION * props))
        return _Cells(ct, None, None, np.zeros(n_c))
    xy = _hex_grid(n_c)
    fields = _smooth_fields(drng, xy, n_cell_types + n_spatial_mod + 1)
    logits = _TYPE_FIELD_STRENGTH * fields[:, :n_cell_types] + np.log(props)
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    ct = (drng.random((n_c, 1)) > prob.cumsum(axis=1)).sum(axis=1)
    return _Cells(np.minimum(ct, n_cell_types - 1), xy, fields, _DEPTH_FIELD_STRENGTH * fields[:, -1])


def _draw_counts(
    drng: np.random.Generator, uni: _Universe, activity: np.ndarray, cells: _Cells, tech: str, t_idx: int,
    genes: np.ndarray,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Counts of one dataset (cells × genes): program activity → relative expression → depth → NB counts.

    Returns the counts, the genes' modules in this tissue and which genes follow a spatial field.
    """
    n_c, n_genes = cells.cell_type.size, genes.size
    cfg = _TECH[tech]
    mods = uni.tissue_module[t_idx, genes]
    n_modules = activity.shape[1]
    log_act = np.log(activity[cells.cell_type]) + drng.normal(0.0, _ACTIVITY_NOISE_SD, size=(n_c, n_modules))
    n_types = activity.shape[0]
    if tech == "spatial":
        mod_fields = cells.fields[:, n_types : n_types + uni.spatial_modules.size]
        log_act[:, uni.spatial_modules] += _SPATIAL_EFFECT * mod_fields
    act_pad = np.concatenate([np.exp(log_act), np.zeros((n_c, 1))], axis=1)  # column -1 -> 0

    log_gene = uni.log_baseline[genes] + uni.tech_effect[tech][genes] + drng.normal(0.0, _GENE_NOISE_SD, size=n_genes)
    rel = act_pad[:, mods]  # cells × genes (0 for module-free genes)
    rel *= uni.loading[genes]
    rel += 1.0
    rel *= np.exp(log_gene)
    spatial_gene = np.zeros(n_genes, dtype=bool)
    if tech == "spatial":
        spatial_gene = np.isin(mods, uni.spatial_modules)
        sp_cols = np.flatnonzero(uni.spatial_only[genes])
        if sp_cols.size:
            gene_fields = _smooth_fields(drng, cells.xy, sp_cols.size)
            rel[:, sp_cols] *= np.exp(_SPATIAL_EFFECT * gene_fields)
            spatial_gene[sp_cols] = True

    depth = np.exp(
        np.log(cfg["depth_per_gene"] * n_genes)
        + drng.normal(0.0, cfg["depth_sd"], size=n_c)
        + cells.log_depth_shift
    )
    rel *= (depth / rel.sum(axis=1))[:, None]  # mean counts
    theta = np.exp(uni.log_theta[genes]) * cfg["theta_mult"]
    lam = drng.standard_gamma(np.broadcast_to(theta, rel.shape)) * (rel / theta)
    counts = drng.poisson(lam)
    if cfg["cap"] is not None:
        np.minimum(counts, cfg["cap"], out=counts)
    return sp.csr_matrix(counts.astype(np.float32)), mods, spatial_gene


def _as_anndata(
    name: str, X: sp.csr_matrix, var: pd.DataFrame, cells: _Cells, uns: dict[str, Any], n_cell_types: int
) -> AnnData:
    """One simulated dataset as an AnnData (cell labels in ``obs``, spot coordinates in ``obsm["spatial"]``)."""
    n_c = cells.cell_type.size
    cell_type = pd.Categorical.from_codes(cells.cell_type, categories=[f"type_{k}" for k in range(n_cell_types)])
    labels = {k: pd.Categorical([uns[k]] * n_c) for k in ("tissue", "technology", "species", "dataset")}
    obs = pd.DataFrame({"cell_type": cell_type, **labels}, index=pd.Index([f"{name}_c{j:05d}" for j in range(n_c)]))
    ad = AnnData(X=X, obs=obs, var=var, uns=uns)
    if cells.xy is not None:
        ad.obsm["spatial"] = cells.xy
    return ad
