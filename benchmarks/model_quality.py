"""Quality of MuSe-GNN on simulated collections with planted modules, vs per-dataset PCA, over seeds.

For each seed: simulate heart/lung × scRNA/spatial datasets, build CS-CORE graphs, train MuSe-GNN with the
default settings (sampled-edge decoder) and with the reference dense MLP decoder, and embed each dataset by
PCA (32 PCs of its gene × cell residual features). Scores (``mg.metrics``): ARI/NMI of Leiden clusters vs
planted modules, same-gene cross-dataset nearest-neighbour rate, context-gene separation (cross-tissue cosine of
genes whose module changes between tissues vs the other shared genes; ``difference`` > 0 means context genes
stay apart).

Usage: ``python benchmarks/model_quality.py [--seeds 0 1 2] [--max-epochs 300]``; results in
``benchmarks/results/model_quality.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--max-epochs", type=int, default=300)
    p.add_argument("--decoders", nargs="+", default=["edges", "mlp"])
    args = p.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import muse_gnn as mg
    from _common import collection, machine, pca_joint, scores, write

    info = machine()
    rows = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        adatas = collection(seed)
        graph_s = time.perf_counter() - t0
        r = scores(pca_joint(adatas), adatas, seed=seed)
        rows.append({"seed": seed, "method": "PCA (32 PCs per dataset)", "train_s": 0.0, **r})
        print(rows[-1], flush=True)
        for dec in args.decoders:
            t0 = time.perf_counter()
            model = mg.tl.fit(adatas, decoder=dec, max_epochs=args.max_epochs, random_state=seed,
                              show_progress_bar=False, inplace=False)
            el = time.perf_counter() - t0
            r = scores(model.joint_embedding(), adatas, seed=seed)
            rows.append({"seed": seed, "method": f"MuSe-GNN (decoder={dec!r})", "train_s": el, **r,
                         "final_loss": float(model.history["loss"].iloc[-1])})
            print(rows[-1], flush=True)
        rows.append({"seed": seed, "method": "_graphs", "train_s": graph_s})
    df = pd.DataFrame([r for r in rows if r["method"] != "_graphs"])
    cols = ["planted_ari", "planted_nmi", "same_gene_nn", "context_context", "context_non_context",
            "context_difference", "train_s"]
    summary = df.groupby("method", sort=False)[cols].agg(["mean", "std"])
    md = ["# Model quality on simulated collections (planted modules)", "",
          f"Seeds {args.seeds}; 6 datasets (heart/lung × scRNA/spatial), 800 genes each, 400 CS-CORE graph genes, "
          f"{args.max_epochs} epochs, other options default. Machine: {info}.", "",
          "Mean ± sd over seeds:", "", "| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for method, row in summary.iterrows():
        md.append(f"| {method} | " + " | ".join(f"{row[(c, 'mean')]:.3f} ± {row[(c, 'std')]:.3f}" for c in cols) + " |")
    md += ["", "Per seed:", "", df.round(3).to_markdown(index=False), "",
           f"Command: `python benchmarks/model_quality.py --seeds {' '.join(map(str, args.seeds))} "
           f"--max-epochs {args.max_epochs}`"]
    write("model_quality", {"machine": info, "rows": rows, "args": vars(args)}, "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
