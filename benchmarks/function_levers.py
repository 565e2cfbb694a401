"""Training levers on real data: GO BP AUROC of MuSe-GNN's gene vectors along training, per configuration.

Companion of ``function_real.py`` (same collections, graphs, genes, GO sets and scores). Each configuration is
trained once per seed and scored at several epochs of the *same* run: training goes on from a checkpoint
(``MuseGNN.train(checkpoint_dir=...)`` resumes with the optimiser state), so the curve costs one run. The
baselines that need no training (aggregated co-expression, PCA per dataset concatenated) are scored beside it,
on the same genes and sets, so every row of the table can be compared to them.

Usage::

    python benchmarks/function_levers.py --collection immune \\
        --configs default lambda_similarity=0.3 lr=3e-3 --epochs 25 50 100 200 300

A configuration is ``default`` or comma-separated options of ``mg.MuseGNN`` / ``MuseGNN.train`` (e.g.
``n_latent=64,lr=3e-3``). Results: ``benchmarks/results/function_levers_{collection}.{md,json}``, rewritten after
every checkpoint.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import function_real as fr  # noqa: E402


def split_options(opts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options of ``MuseGNN(...)`` and of ``MuseGNN.train(...)``."""
    import muse_gnn as mg

    init = set(inspect.signature(mg.MuseGNN.__init__).parameters)
    return {k: v for k, v in opts.items() if k in init}, {k: v for k, v in opts.items() if k not in init}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--collection", default="immune", choices=["immune", "multitissue"])
    p.add_argument("--graph", default="knn", help="graph options, as a variant of function_real.py")
    p.add_argument("--configs", nargs="+", default=["default"])
    p.add_argument("--epochs", type=int, nargs="+", default=[25, 50, 100, 200, 300])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--max-sets", type=int, default=300)
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if fr.real_data_missing():
        return
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch

    torch.set_num_threads(args.threads)
    import muse_gnn as mg
    from _common import RESULTS, machine

    mg.settings.progress_bar = False
    gmt = mg.io.read_gmt(fr.DATA / "annotations" / "go_bp_human.gmt")
    coll = fr.immune_collection() if args.collection == "immune" else fr.multitissue_collection()
    gopts = {k: v for k, v in fr.parse_variant(args.graph).items()}
    adatas, desc = fr.build_graphs(coll, args.genes, gopts)
    counts = pd.Series(np.concatenate([np.asarray(mg.pp.get_graph(a)[0]) for a in adatas.values()])).value_counts()
    genes = pd.Index(sorted(counts.index[counts.to_numpy() >= 2]))
    name = f"function_levers_{args.collection}"
    command = "python benchmarks/function_levers.py " + " ".join(sys.argv[1:])
    per_set: dict[str, list[pd.DataFrame]] = {}
    times: dict[str, list[float]] = {}
    log: list[str] = []
    head = ["# Training levers on real data: GO BP AUROC along training", "", f"Command: `{command}`  ",
            f"Machine: {machine()}  ", f"Collection {args.collection}; graphs `{args.graph}` at {args.genes} genes "
            f"per graph; {len(genes)} genes scored (in >= 2 graphs); seeds {args.seeds}; {args.max_sets} GO BP sets; "
            f"{args.n_boot} bootstrap resamples. Each configuration is one run per seed, scored at epochs "
            f"{args.epochs} (resumed from its checkpoint, optimiser state included).", ""]

    def add(key: str, vectors: pd.DataFrame, seconds: float) -> None:
        per_set.setdefault(key, []).append(fr.score(vectors.reindex(genes).fillna(0.0), gmt, args.max_sets))
        times.setdefault(key, []).append(seconds)
        log.append(f"{key}: GO AUROC {np.nanmean(per_set[key][-1]['go_auroc']):.4f}, pair "
                   f"{np.nanmean(per_set[key][-1]['pair_auroc']):.4f} ({seconds:.0f} s)")
        print(log[-1], flush=True)
        write()

    def write() -> None:
        md = list(head)
        payload: dict[str, Any] = {"command": command, "args": vars(args), "graphs": desc, "genes": len(genes),
                                   "complete": bool(log) and log[-1] == "complete", "metrics": {}}
        ref = fr.AGG
        for metric in ("go_auroc", "pair_auroc"):
            means = {m: pd.concat([t[metric] for t in tabs], axis=1).mean(axis=1) for m, tabs in per_set.items()}
            bt = fr.bootstrap(means, ref, args.n_boot)
            md += [f"## {metric} (mean over seeds per set; 95 % bootstrap over {bt.attrs['n_sets']} sets)", "",
                   f"| method | mean [95 % CI] | method − {ref} [paired 95 % CI] | seeds |", "|---|---|---|---|"]
            for m, r in bt.iterrows():
                diff = "—" if m == ref else f"{-r['diff']:+.4f} [{-r['diff_hi']:+.4f}, {-r['diff_lo']:+.4f}]"
                md.append(f"| {m} | {r['mean']:.4f} [{r['lo']:.4f}, {r['hi']:.4f}] | {diff} | {len(per_set[m])} |")
            md.append("")
            payload["metrics"][metric] = bt.reset_index().to_dict(orient="records")
        md += ["Cumulative training time per run (s, wall): " + ", ".join(
            f"{m} {np.median(v):.0f}" for m, v in times.items()) + ".", "", "## Log", "", "```", *log, "```", ""]
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.md").write_text("\n".join(md))
        (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=1, default=float))

    rhos = {n: fr.coexpression(adatas[n], coll[n][1]) for n in adatas}
    for seed in args.seeds:
        add(fr.AGG, fr.aggregated_coexpression(rhos, genes, seed), 0.0)
        add(fr.PCA_CAT, fr.pca_concatenated(adatas, genes, seed), 0.0)
    for spec in args.configs:
        init, train = split_options({} if spec == "default" else fr.parse_variant(spec))
        for seed in args.seeds:
            model = mg.MuseGNN(adatas, random_state=seed, **init)
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory() as ckpt:
                for ep in sorted(args.epochs):
                    model.train(max_epochs=ep, checkpoint_dir=ckpt, show_progress_bar=False, **train)
                    el = time.perf_counter() - t0
                    add(f"MuSe-GNN [{spec}] @ {ep} epochs", fr.mean_vectors(model.get_joint_embedding(), genes), el)
            ge = model.get_gene_embedding()
            add(f"MuSe-GNN [{spec}] @ {ep} epochs, gene_embedding()",
                pd.DataFrame(ge.obsm["X_muse"], index=ge.obs_names.astype(str)), time.perf_counter() - t0)
    log.append("complete")
    write()


if __name__ == "__main__":
    main()
