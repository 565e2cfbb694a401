"""Tests of :mod:`muse_gnn.pl` (Agg backend)."""

from __future__ import annotations

import itertools
import types
import warnings

import matplotlib

matplotlib.use("Agg")

import anndata as ad  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import muse_gnn as mg  # noqa: E402
from muse_gnn.pl._enrichment import _select_terms  # noqa: E402
from muse_gnn.pl._sharing import _sharing_table  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 2000


def _joint(n_genes: int = 24, seed: int = 0, umap: bool = True) -> ad.AnnData:
    """Synthetic joint embedding: 3 datasets (2 tissues), 4 gene modules, genes missing from some datasets."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 8)) * 4
    datasets = [("scrna_heart_0", "heart", "scrna"), ("spatial_heart_1", "heart", "spatial"),
                ("scrna_lung_2", "lung", "scrna")]
    rows, z = [], []
    for name, tissue, tech in datasets:
        for i in range(n_genes):
            if (i + len(rows)) % 7 == 0 and i > 2:  # some genes not selected in this dataset
                continue
            rows.append((f"G{i}", name, tissue, tech, i % 4))
            z.append(centres[i % 4] + rng.normal(size=8))
    obs = pd.DataFrame(rows, columns=["gene", "dataset", "tissue", "technology", "muse_module"])
    obs.index = (obs["gene"] + "@" + obs["dataset"]).to_numpy()
    for col in ("dataset", "tissue", "technology"):
        obs[col] = pd.Categorical(obs[col], categories=list(dict.fromkeys(obs[col])))
    joint = ad.AnnData(obs=obs)
    joint.obsm["X_muse"] = np.asarray(z, dtype=np.float32)
    if umap:
        joint.obsm["X_umap"] = np.asarray(z, dtype=np.float32)[:, :2] * 1.5
    return joint


def _history_df(n: int = 30) -> pd.DataFrame:
    e = np.arange(n)
    df = pd.DataFrame({
        "loss": 1.0 + np.exp(-e / 8),
        "reconstruction": 0.9 + np.exp(-e / 8),
        "similarity": -0.4 * (1 - np.exp(-e / 4)),
        "contrastive": 7.0 - e / 20,
    })
    df.index.name = "epoch"
    return df


# --------------------------------------------------------------------------------------------- embedding
def test_embedding_uses_existing_layout_and_labels_genes(tmp_path):
    joint = _joint()
    before_uns, before_obsm = set(joint.uns), set(joint.obsm)
    out = tmp_path / "emb.png"
    ax = mg.pl.embedding(joint, color="dataset", genes=["G1", "G5"], show=False, save=out)
    assert isinstance(ax, Axes)
    _assert_png(out)
    # the first scatter holds every row at its X_umap position (scanpy may reorder points)
    offsets = ax.collections[0].get_offsets()
    expected = np.asarray(joint.obsm["X_umap"])
    assert offsets.shape == expected.shape
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(expected[:, 0]), rtol=1e-6)
    labels = {t.get_text() for t in ax.texts}
    assert {"G1", "G5"} <= labels
    # G1's rows are outlined: a scatter of exactly its rows, at its coordinates
    rows_g1 = expected[(joint.obs["gene"] == "G1").to_numpy()]
    outlined = [c for c in ax.collections[1:]
                if isinstance(c, PathCollection) and len(c.get_offsets()) == len(rows_g1)]
    assert any(np.allclose(np.sort(c.get_offsets(), 0), np.sort(rows_g1, 0)) for c in outlined)
    # nothing written into the user's object
    assert set(joint.uns) == before_uns and set(joint.obsm) == before_obsm


def test_embedding_computes_umap_on_a_copy_and_returns_figure(tmp_path):
    joint = _joint(n_genes=16, umap=False)
    fig = mg.pl.embedding(joint, color="tissue", return_fig=True, show=False, n_neighbors=8)
    assert isinstance(fig, Figure)
    assert "X_umap" not in joint.obsm and "neighbors" not in joint.uns and "tissue_colors" not in joint.uns
    out = tmp_path / "umap.png"
    fig.savefig(out)
    _assert_png(out)


def test_embedding_integer_modules_are_categories_and_several_colours():
    joint = _joint()
    axes = mg.pl.embedding(joint, color=["muse_module", "technology"], show=False)
    assert isinstance(axes, list) and len(axes) == 2 and all(isinstance(a, Axes) for a in axes)
    legend = axes[0].get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["0", "1", "2", "3"]
    assert pd.api.types.is_integer_dtype(joint.obs["muse_module"])  # user's column untouched


@pytest.mark.parametrize("names", [["a", "b", "c"], ["scrna_heart_0", "spatial_heart_1", "a_much_longer_dataset_name_2"]])
def test_embedding_legends_do_not_run_into_the_next_panel(names):
    joint = _joint()
    joint.obs["dataset"] = joint.obs["dataset"].cat.rename_categories(names)
    joint.obs["label"] = joint.obs["dataset"].astype(str).str.upper()  # plain strings, not categorical
    axes = mg.pl.embedding(joint, color=["dataset", "label", "tissue"], show=False)
    fig = axes[0].figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for left, right in itertools.pairwise(axes):
        legend = left.get_legend().get_window_extent(renderer)
        nxt = right.get_tightbbox(renderer)  # the next panel with its tick and axis labels
        assert legend.x1 < nxt.x0, (legend, nxt)
    mg.pl.embedding(joint, color=["dataset", "tissue"], wspace=0.05, show=False)  # user's wspace is kept


def test_embedding_errors_and_missing_genes():
    joint = _joint()
    with pytest.raises(KeyError, match="no column"):
        mg.pl.embedding(joint, color="cell_type", show=False)
    with pytest.raises(ValueError, match="one panel"):
        mg.pl.embedding(joint, color=["dataset", "tissue"], ax=plt.subplots()[1], show=False)
    with pytest.raises(KeyError, match="tsne"):
        mg.pl.embedding(joint, basis="tsne", show=False)
    with pytest.raises(TypeError, match="AnnData"):
        mg.pl.embedding(joint.obs, show=False)
    with pytest.warns(UserWarning, match="NOT_A_GENE"):
        ax = mg.pl.embedding(joint, genes=["G2", "NOT_A_GENE"], show=False)
    assert "G2" in {t.get_text() for t in ax.texts}


def test_embedding_given_ax_is_used():
    fig, ax = plt.subplots()
    got = mg.pl.embedding(_joint(), color="dataset", ax=ax)  # show=None with ax: not shown, ax returned
    assert got is ax and got.figure is fig


# ----------------------------------------------------------------------------------------------- history
def test_history_panels_values_and_png(tmp_path):
    df = _history_df()
    out = tmp_path / "hist.png"
    axes = mg.pl.history(df, show=False, save=out)
    assert isinstance(axes, list) and len(axes) == 4 and all(isinstance(a, Axes) for a in axes)
    _assert_png(out)
    for a, term in zip(axes, df.columns, strict=True):
        line = a.get_lines()[0]
        np.testing.assert_allclose(line.get_ydata(), df[term].to_numpy())
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(df)))
        assert a.get_title().startswith(term)
        assert f"{df[term].iloc[-1]:.4g}" in a.get_title()


def test_history_logy_uses_symlog_for_negative_terms():
    axes = mg.pl.history(_history_df(), logy=True, show=False)
    scales = {a.get_title().split()[0]: a.get_yscale() for a in axes}
    assert scales == {"loss": "log", "reconstruction": "log", "similarity": "symlog", "contrastive": "log"}


def test_history_from_model_like_object_single_axes_and_figure():
    model = types.SimpleNamespace(history=_history_df(12))
    fig, ax = plt.subplots()
    got = mg.pl.history(model, terms=["loss", "reconstruction"], ax=ax, show=False)
    assert got is ax and len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "reconstruction"]
    one = mg.pl.history(model, terms="similarity", show=False)
    assert isinstance(one, Axes)
    assert isinstance(mg.pl.history(model, return_fig=True), Figure)


def test_history_errors(small_collection):
    with pytest.raises(KeyError, match="nope"):
        mg.pl.history(_history_df(), terms=["nope"], show=False)
    with pytest.raises(TypeError):
        mg.pl.history([1, 2, 3], show=False)
    with pytest.raises(ValueError, match="axes for"):
        mg.pl.history(_history_df(), ax=list(plt.subplots(1, 2)[1]), show=False)
    model = mg.MuseGNN(small_collection)  # a real, untrained model: empty history
    assert list(model.history.columns) == ["loss", "reconstruction", "similarity", "contrastive"]
    with pytest.raises(ValueError, match="train the model first"):
        mg.pl.history(model, show=False)


# -------------------------------------------------------------------------------------------- similarity
def test_similarity_matrix_order_and_values(tmp_path):
    joint = _joint()
    out = tmp_path / "sim.png"
    ax = mg.pl.similarity(joint, ["G3", "G1"], show=False, save=out)
    assert isinstance(ax, Axes)
    _assert_png(out)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    order = list(joint.obs["dataset"].cat.categories)
    expect = [f"G3@{d}" for d in order if f"G3@{d}" in joint.obs_names]
    expect += [f"G1@{d}" for d in order if f"G1@{d}" in joint.obs_names]
    assert labels == expect
    assert [t.get_text() for t in ax.get_xticklabels()] == expect
    z = joint[expect].obsm["X_muse"].astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), z @ z.T, atol=1e-6)
    # one separator between the two gene blocks, in both directions
    n_g3 = sum(lab.startswith("G3@") for lab in labels)
    hlines = [ln for ln in ax.get_lines() if np.allclose(ln.get_ydata(), n_g3 - 0.5)]
    assert len(hlines) == 1
    assert len(ax.texts) == len(expect) ** 2  # annotated (few rows)


def test_similarity_dataset_subset_figure_and_errors():
    joint = _joint()
    fig = mg.pl.similarity(joint, ["G1", "G2", "G3"], datasets=["scrna_lung_2", "scrna_heart_0"],
                           annotate=False, return_fig=True)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:2] == ["G1@scrna_lung_2", "G1@scrna_heart_0"]
    assert all("spatial" not in lab for lab in labels) and len(ax.texts) == 0
    with pytest.raises(KeyError, match="datasets not in"):
        mg.pl.similarity(joint, ["G1"], datasets=["nope"], show=False)
    with pytest.warns(UserWarning, match="skipped"), pytest.raises(ValueError, match="at least two"):
        mg.pl.similarity(joint, ["NOPE"], show=False)
    with pytest.raises(KeyError, match="obsm"):
        mg.pl.similarity(joint, ["G1", "G2"], use_rep="X_other", show=False)


# -------------------------------------------------------------------------------------------- enrichment
def _enrichment_df() -> pd.DataFrame:
    rows = [
        # module, term, overlap, pvalue, fdr
        (0, "alpha", 10, 1e-8, 1e-6),
        (0, "beta", 4, 1e-4, 1e-3),
        (0, "gamma", 2, 0.01, 0.2),
        (1, "beta", 6, 1e-9, 1e-7),
        (1, "delta", 3, 1e-3, 0.01),
        (1, "alpha", 1, 0.3, 0.6),
        (2, "epsilon", 5, 1e-5, 1e-4),
        (2, "zeta", 0, 1.0, 1.0),
    ]
    df = pd.DataFrame(rows, columns=["module", "term", "overlap", "pvalue", "fdr"])
    df["n_module"], df["n_term"], df["overlap_genes"] = 20, 50, ""
    df["fold_enrichment"] = df["overlap"] / 2.0
    return df


def test_enrichment_selection_and_order():
    shown, modules, terms = _select_terms(_enrichment_df(), n_top=1, max_fdr=None, modules=None)
    assert modules == [0, 1, 2]
    assert terms == ["alpha", "beta", "epsilon"]  # diagonal: best module of each term, left to right
    # every (module, term) row of a chosen term with a positive overlap is drawn
    assert set(zip(shown["module"], shown["term"], strict=True)) == {
        (0, "alpha"), (0, "beta"), (1, "beta"), (1, "alpha"), (2, "epsilon")}
    _, _, terms2 = _select_terms(_enrichment_df(), n_top=2, max_fdr=0.05, modules=[1, 0])
    assert terms2 == ["beta", "delta", "alpha"]


def test_enrichment_plot(tmp_path):
    df = _enrichment_df()
    out = tmp_path / "enr.png"
    ax = mg.pl.enrichment(df, n_top=2, show=False, save=out)
    assert isinstance(ax, Axes)
    _assert_png(out)
    pts = ax.collections[0]
    # chosen terms: alpha, beta (module 0), beta, delta (module 1), epsilon (module 2); all their rows drawn
    expected_fdr = [1e-6, 1e-3, 1e-7, 0.01, 0.6, 1e-4]
    assert len(pts.get_offsets()) == len(expected_fdr)
    np.testing.assert_allclose(np.sort(pts.get_array()), np.sort(-np.log10(expected_fdr)))
    sizes, overlaps = pts.get_sizes(), np.array([10, 4, 6, 3, 1, 5])
    np.testing.assert_allclose(np.sort(sizes) / sizes.max(), np.sort(overlaps) / overlaps.max())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["alpha", "beta", "delta", "epsilon"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert isinstance(mg.pl.enrichment(df, return_fig=True), Figure)


def test_enrichment_errors():
    df = _enrichment_df()
    with pytest.raises(KeyError, match="fdr"):
        mg.pl.enrichment(df.drop(columns="fdr"), show=False)
    with pytest.raises(ValueError, match="no term"):
        mg.pl.enrichment(df, max_fdr=1e-12, show=False)
    with pytest.raises(ValueError, match="n_top"):
        mg.pl.enrichment(df, n_top=0, show=False)


# ---------------------------------------------------------------------------------------- module sharing
def _sharing_joint() -> ad.AnnData:
    spec = {  # module -> rows per tissue
        "a": {"heart": 5, "lung": 4},
        "b": {"heart": 3, "lung": 1},  # lung below min_rows=2
        "c": {"lung": 6},
        "d": {"heart": 2, "lung": 2, "liver": 2},
        "e": {"heart": 4, "lung": 3},
        "f": {"liver": 1},  # nowhere
        "unassigned": {"heart": 9},
    }
    rows = [(m, t) for m, d in spec.items() for t, n in d.items() for _ in range(n)]
    obs = pd.DataFrame(rows, columns=["muse_module", "tissue"], index=[f"r{i}" for i in range(len(rows))])
    obs["tissue"] = pd.Categorical(obs["tissue"], categories=["heart", "lung", "liver"])
    return ad.AnnData(obs=obs)


def test_sharing_table_counts_exact_combinations():
    table, presence = _sharing_table(_sharing_joint(), "muse_module", "tissue", 2, exclude=["unassigned"])
    assert table.to_dict() == {
        ("heart", "lung"): 2, ("heart",): 1, ("lung",): 1, ("heart", "lung", "liver"): 1,
    }
    assert list(table.index)[0] == ("heart", "lung")  # most frequent first
    assert list(table.index)[1:3] == [("heart",), ("lung",)]  # then fewer groups, then group order
    assert not presence.loc["f"].any() and "unassigned" not in presence.index
    assert list(presence.columns) == ["heart", "lung", "liver"]
    table1, _ = _sharing_table(_sharing_joint(), "muse_module", "tissue", 1)
    assert table1[("heart", "lung")] == 3 and table1[("liver",)] == 1 and table1[("heart",)] == 1


def test_module_sharing_plot(tmp_path):
    joint = _sharing_joint()
    out = tmp_path / "share.png"
    ax = mg.pl.module_sharing(joint, min_rows=2, exclude=["unassigned"], show=False, save=out)
    assert isinstance(ax, Axes)
    _assert_png(out)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [2, 1, 1, 1]
    matrix = ax.figure.axes[1]
    assert [t.get_text() for t in matrix.get_yticklabels()] == ["heart (4)", "lung (4)", "liver (1)"]
    assert "1 module(s) present nowhere" in ax.get_title()
    fig = mg.pl.module_sharing(joint, return_fig=True)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    fig2, ax2 = plt.subplots()
    assert mg.pl.module_sharing(joint, ax=ax2) is ax2 and len(fig2.axes) == 2


def test_module_sharing_integer_count_ticks():
    ax = mg.pl.module_sharing(_sharing_joint(), min_rows=2, exclude=["unassigned"], show=False)
    ax.figure.canvas.draw()
    lo, hi = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.isdigit() for label in labels), labels


def test_module_sharing_errors():
    joint = _sharing_joint()
    no_modules = ad.AnnData(obs=joint.obs.drop(columns="muse_module"))
    with pytest.raises(KeyError, match="gene_modules"):
        mg.pl.module_sharing(no_modules, show=False)
    with pytest.raises(ValueError, match="lower `min_rows`"):
        mg.pl.module_sharing(joint, min_rows=100, show=False)


# ------------------------------------------------------------------------------------- show / return rules
def test_show_none_shows_and_returns_none_without_ax():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Agg cannot show
        assert mg.pl.history(_history_df(), show=None) is None
        assert mg.pl.similarity(_joint(), ["G1", "G2"], show=True) is None
    assert isinstance(mg.pl.history(_history_df(), show=True, return_fig=True), Figure)


def test_public_api():
    assert set(mg.pl.__all__) == {"embedding", "history", "similarity", "enrichment", "module_sharing"}
    for name in mg.pl.__all__:
        doc = getattr(mg.pl, name).__doc__
        assert "Examples" in doc and "Returns" in doc


# ----------------------------------------------------------------------------------------------- save= as scanpy
def test_save_follows_scanpy(tmp_path, monkeypatch):
    """True: figdir/<plot>.<format>; a suffix string: figdir/<plot><suffix>; a path with a folder: itself."""
    from muse_gnn._settings import settings

    monkeypatch.setattr(settings, "figdir", tmp_path / "figs")
    monkeypatch.setattr(settings, "file_format_figs", "png")
    df = _history_df()
    mg.pl.history(df, show=False, save=True)
    _assert_png(tmp_path / "figs" / "history.png")
    mg.pl.history(df, show=False, save="_run1.png")
    _assert_png(tmp_path / "figs" / "history_run1.png")
    mg.pl.history(df, show=False, save="_run2")
    _assert_png(tmp_path / "figs" / "history_run2.png")
    monkeypatch.setattr(settings, "file_format_figs", "pdf")
    mg.pl.history(df, show=False, save=True)
    assert (tmp_path / "figs" / "history.pdf").read_bytes()[:4] == b"%PDF"
    nested = tmp_path / "elsewhere" / "h.png"
    mg.pl.history(df, show=False, save=str(nested))
    _assert_png(nested)
    mg.pl.module_sharing(_sharing_joint(), min_rows=2, exclude=["unassigned"], show=False, save=True)
    assert (tmp_path / "figs" / "module_sharing.pdf").exists()
    mg.pl.history(df, show=False, save=False)
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "history.pdf", "history.png", "history_run1.png", "history_run2.png", "module_sharing.pdf"]


def test_module_sharing_between_is_renamed_tissue_key():
    joint = _sharing_joint()
    with pytest.warns(FutureWarning, match="`between` is renamed `tissue_key`"):
        old = mg.pl.module_sharing(joint, between="tissue", min_rows=2, exclude=["unassigned"], show=False)
    new = mg.pl.module_sharing(joint, tissue_key="tissue", min_rows=2, exclude=["unassigned"], show=False)
    assert [p.get_height() for p in old.patches] == [p.get_height() for p in new.patches]
    with pytest.raises(TypeError, match="pass `tissue_key` only"):
        mg.pl.module_sharing(joint, between="tissue", tissue_key="tissue", show=False)
