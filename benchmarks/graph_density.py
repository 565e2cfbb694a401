"""Graph density against the number of cells: the reference edge rule and the kNN rule on growing cell samples.

Kang 2018 PBMCs (``/work/shared/data``; the script stops with a message when it is absent), control and
stimulated together (13,576 cells): random samples of ``--cells`` cells (``--seeds`` draws each), the 2,000 genes
of highest Pearson-residual variance of each sample, CS-CORE; the density (share of gene pairs linked) of the graph
of every rule in ``--rules`` (``mg.pp.coexpression_graph`` options, as in ``function_real.py``). It measures
whether a rule keeps its density as the number of cells grows, the point of the issue's sparsification.

Usage::

    python benchmarks/graph_density.py
    QUICK=1 python benchmarks/graph_density.py    # 500 genes, 2 sizes, 1 draw

Results: ``benchmarks/results/graph_density.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    quick = os.environ.get("QUICK", "0") not in ("", "0")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", type=int, nargs="+", default=[1000, 13576] if quick else [500, 1000, 2000, 4000,
                                                                                          8000, 13576])
    p.add_argument("--genes", type=int, default=500 if quick else 2000)
    p.add_argument("--rules", nargs="+", default=["reference", "knn,n_neighbors=10", "knn,n_neighbors=50"])
    p.add_argument("--seeds", type=int, default=1 if quick else 2, help="cell samples per size")
    p.add_argument("--name", default="graph_density_quick" if quick else "graph_density")
    args = p.parse_args()
    from function_real import _read, parse_variant, real_data_missing

    if real_data_missing():
        return
    warnings.filterwarnings("ignore", category=UserWarning)
    import muse_gnn as mg
    from _common import RESULTS, machine

    mg.settings.progress_bar = False
    kang = _read("roma_kang_ifnb_pbmc_10x")
    rows = []
    for n in args.cells:
        for seed in range(args.seeds if n < kang.n_obs else 1):
            cells = np.sort(np.random.default_rng(seed).choice(kang.n_obs, size=min(n, kang.n_obs), replace=False))
            sample = kang[cells].copy()
            for rule in args.rules:
                t0 = time.perf_counter()
                a = sample.copy()
                mg.pp.coexpression_graph(a, n_top_genes=args.genes, **parse_variant(rule))
                prm = a.uns["muse"]["params"]
                rows.append({"cells": int(a.n_obs), "seed": seed, "rule": rule, "edges": int(prm["n_edges"]),
                             "density": float(prm["density"]),
                             "edges_per_gene": 2 * int(prm["n_edges"]) / int(prm["n_genes"]),
                             "graph_s": time.perf_counter() - t0})
                print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    summ = df.groupby(["rule", "cells"], sort=False).agg(density=("density", "mean"),
                                                         edges_per_gene=("edges_per_gene", "mean"),
                                                         draws=("seed", "size")).reset_index()
    command = ("QUICK=1 " if quick else "") + "python benchmarks/graph_density.py " + " ".join(sys.argv[1:])
    md = ["# Graph density against the number of cells (Kang 2018 PBMCs, control + stimulated)", "",
          f"Command: `{command}`  ", f"Machine: {machine()}  ",
          f"{args.genes} genes per graph (highest residual variance of each sample), CS-CORE, p < 0.005; mean over "
          "random cell samples.", "", "| rule | cells | draws | density | edges per gene |", "|---|---|---|---|---|"]
    for _, r in summ.iterrows():
        md.append(f"| {r['rule']} | {r['cells']} | {r['draws']} | {r['density']:.4f} | {r['edges_per_gene']:.1f} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text("\n".join(md + [""]))
    (RESULTS / f"{args.name}.json").write_text(json.dumps({"command": command, "args": vars(args), "rows": rows},
                                                          indent=1))
    print("\n".join(md), flush=True)


if __name__ == "__main__":
    main()
