"""Mapping a new dataset with ``mg.tl.embed`` vs retraining with it.

For each seed: simulate 6 datasets (heart/lung × scRNA/spatial), hold one scRNA dataset out, train on the other
five and map the held-out one with ``mg.tl.embed`` (frozen shared layers); separately train on all six. Score:
the fraction of the held-out dataset's common genes whose nearest row (cosine) among the *other* datasets' rows
is the same gene. Goal: mapping reaches ≥ 80 % of full retraining.

Usage: ``python benchmarks/model_embed.py [--seeds 0 1 2]``; results in ``benchmarks/results/model_embed.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def query_rate(joint, query: str, key: str = "X_muse") -> float:
    ds = joint.obs["dataset"].astype(str).to_numpy()
    genes = joint.obs["gene"].astype(str).to_numpy()
    z = joint.obsm[key] / np.linalg.norm(joint.obsm[key], axis=1, keepdims=True)
    q, o = ds == query, ds != query
    common = q & np.isin(genes, genes[o])
    sim = z[common] @ z[o].T
    return float((genes[o][sim.argmax(1)] == genes[common]).mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--max-epochs", type=int, default=300)
    p.add_argument("--embed-epochs", type=int, default=800)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    import muse_gnn as mg
    from _common import collection, machine, write

    rows = []
    for seed in args.seeds:
        adatas = collection(seed)
        query = [k for k in adatas if k.startswith("scrna")][-1]
        full = mg.tl.fit(adatas, max_epochs=args.max_epochs, random_state=seed, show_progress_bar=False,
                         inplace=False)
        r_full = query_rate(full.joint_embedding(), query)
        rest = {k: v for k, v in adatas.items() if k != query}
        model = mg.tl.fit(rest, max_epochs=args.max_epochs, random_state=seed, show_progress_bar=False,
                          inplace=False)
        t0 = time.perf_counter()
        mg.tl.embed(model, adatas[query], name=query, max_epochs=args.embed_epochs, random_state=seed,
                    show_progress_bar=False, inplace=False)
        el = time.perf_counter() - t0
        r_map = query_rate(model.joint_embedding(), query)
        rows.append({"seed": seed, "query": query, "full_retraining": r_full, "embed": r_map,
                     "ratio": r_map / r_full if r_full else float("nan"), "embed_s": el})
        print(rows[-1], flush=True)
    md = ["# Mapping a new dataset (`mg.tl.embed`) vs retraining", "",
          f"Same-gene nearest-neighbour rate of the held-out dataset's common genes; {args.max_epochs} training "
          f"epochs, {args.embed_epochs} mapping epochs. Machine: {machine()}.", "",
          "| seed | query | full retraining | embed | ratio | embed time (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['seed']} | {r['query']} | {r['full_retraining']:.3f} | {r['embed']:.3f} | "
                  f"{r['ratio']:.2f} | {r['embed_s']:.1f} |")
    ratios = [r["ratio"] for r in rows]
    md += ["", f"Median ratio: {np.median(ratios):.2f} (goal ≥ 0.80).", "",
           f"Command: `python benchmarks/model_embed.py {' '.join(sys.argv[1:])}`"]
    write("model_embed", {"rows": rows, "args": vars(args)}, "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
