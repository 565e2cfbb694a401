"""Seconds per epoch and peak memory: a reference-style training loop vs the batched default.

(a) ``reference``: as the published MuSe-GNN code, one dataset *t* and one random partner *u* per optimiser step,
    both encoded separately, the dense MLP decoder on Z Zᵀ, three Adam optimisers (input layers, shared layers,
    decoders) stepping after every dataset.
(b) ``default``: ``MuseGNN(decoder="edges").train()`` — all datasets in one block-diagonal pass, sampled-edge
    decoder, one optimiser step per epoch.
(c) ``batched_mlp``: the batched loop with the reference dense decoder (separates the two effects).

Each configuration runs in its own subprocess (so its peak RSS is its own) on the same graphs, written once.
Usage: ``python benchmarks/model_speed.py [--datasets 6 20] [--epochs 3]``; results in
``benchmarks/results/model_speed.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _reference_epoch(model, rng, opts) -> None:
    import torch
    import torch.nn.functional as F

    from muse_gnn.model._losses import nt_xent

    mod, graphs, gi = model.module, model.graphs, model.gene_index
    T = len(graphs)

    def encode(t):
        g = graphs[t]
        h = mod.input_layers[f"d{t}"](g.x, g.edge_index)
        return mod.shared[mod.shared_keys[t]](h, g.edge_index)

    for t in range(T):
        for o in opts:
            o.zero_grad(set_to_none=True)
        g = graphs[t]
        z = encode(t)
        dense = torch.zeros(g.n_nodes, g.n_nodes)
        dense[g.edge_index[0], g.edge_index[1]] = 1.0
        loss = F.binary_cross_entropy_with_logits(mod.decoders[f"d{t}"](z), dense)
        if T > 1:
            u = int(rng.choice([i for i in range(T) if i != t]))
            zu = encode(u)
            la, lb, w = gi.common(t, u)
            if la.size:
                cos = F.cosine_similarity(z[torch.as_tensor(la)], zu[torch.as_tensor(lb)], dim=-1)
                loss = loss - (cos * torch.as_tensor(w)).mean()
            anchors, positives = [], []
            for d, e, zz in ((t, u, z), (u, t, zu)):
                spec = gi.specific(d, e)
                if spec.size:
                    take = spec[rng.choice(spec.size, size=min(100, spec.size), replace=False)]
                    anchors.append(zz[torch.as_tensor(take)])
                    positives.append(zz[torch.as_tensor(gi.positive[d][take])])
            if anchors:
                a, p = torch.cat(anchors)[None], torch.cat(positives)[None]
                loss = loss + 0.01 * nt_xent(a, p, torch.ones(a.shape[:2], dtype=torch.bool))[0]
        loss.backward()
        for o in opts:
            o.step()


def child(args: argparse.Namespace) -> None:
    import anndata as ad
    import torch

    import muse_gnn as mg
    from _common import peak_rss_mb

    paths = sorted(Path(args.data).glob("*.h5ad"))[: args.n]
    adatas = {p.stem: ad.read_h5ad(p) for p in paths}
    rss0 = peak_rss_mb()
    decoder = "edges" if args.mode == "default" else "mlp"
    model = mg.MuseGNN(adatas, decoder=decoder, random_state=0)
    times = []
    if args.mode == "reference":
        mod = model.module
        opts = [torch.optim.Adam(mod.input_layers.parameters(), lr=1e-4),
                torch.optim.Adam(mod.shared.parameters(), lr=1e-4),
                torch.optim.Adam(mod.decoders.parameters(), lr=1e-3)]
        rng = np.random.default_rng(0)
        for _ in range(args.epochs + 1):
            t0 = time.perf_counter()
            _reference_epoch(model, rng, opts)
            times.append(time.perf_counter() - t0)
    else:
        from muse_gnn.model._trainer import TrainConfig, Trainer

        tr = Trainer(model.module, model.graphs, model.gene_index, TrainConfig(), torch.device("cpu"))
        torch.use_deterministic_algorithms(True, warn_only=True)
        for _ in range(args.epochs + 1):
            t0 = time.perf_counter()
            tr.train_epoch()
            times.append(time.perf_counter() - t0)
    edges = int(sum(g.edge_index.shape[1] for g in model.graphs) // 2)
    print(json.dumps({"mode": args.mode, "n_datasets": len(adatas), "epoch_s": times[1:],
                      "median_epoch_s": float(np.median(times[1:])), "peak_rss_mb": peak_rss_mb(),
                      "rss_before_model_mb": rss0, "n_edges": edges}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--datasets", type=int, nargs="+", default=[6, 20])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--n-genes", type=int, default=1000)
    p.add_argument("--method", default="cscore")
    p.add_argument("--cells", type=int, nargs=2, default=[800, 1500])
    p.add_argument("--modes", nargs="+", default=["reference", "batched_mlp", "default"])
    p.add_argument("--name", default="model_speed", help="results file name")
    p.add_argument("--child", action="store_true")
    p.add_argument("--mode")
    p.add_argument("--data")
    p.add_argument("--n", type=int)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    import muse_gnn as mg
    from _common import machine, write

    info = machine()
    tmp = Path(tempfile.mkdtemp(prefix="muse_speed_"))
    t0 = time.perf_counter()
    adatas = mg.datasets.simulate(n_datasets=max(args.datasets), tissues=("heart", "lung", "liver", "kidney"),
                                  technologies=("scrna",), n_genes=int(args.n_genes * 1.3),
                                  n_cells=tuple(args.cells), n_modules=20, random_state=0)
    mg.pp.coexpression_graphs(adatas, n_top_genes=args.n_genes, method=args.method, show_progress_bar=True)
    for i, (name, a) in enumerate(adatas.items()):
        a.write_h5ad(tmp / f"{i:03d}_{name}.h5ad")
    prep = time.perf_counter() - t0
    rows = []
    for n in args.datasets:
        for mode in args.modes:
            out = subprocess.run([sys.executable, __file__, "--child", "--mode", mode, "--data", str(tmp),
                                  "--n", str(n), "--epochs", str(args.epochs)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(r, flush=True)
            rows.append(r)
    n_sets = " and ".join(str(n) for n in args.datasets)
    md = [f"# Training speed and memory: {n_sets} datasets × {args.n_genes} genes", "",
          f"Simulated scRNA datasets, {args.n_genes} graph genes each ({args.method} graphs), "
          f"{args.cells[0]}–{args.cells[1]} cells; "
          f"median of {args.epochs} epochs after one warm-up epoch; CPU, {info['torch_threads']} threads; "
          f"each configuration in its own process (peak RSS of that process). Machine: {info}.", "",
          "| datasets | edges | mode | s / epoch | speed-up vs reference | peak RSS (MB) |", "|---|---|---|---|---|---|"]
    for n in args.datasets:
        ref_rows = [r for r in rows if r["n_datasets"] == n and r["mode"] == "reference"]
        ref = ref_rows[0]["median_epoch_s"] if ref_rows else float("nan")
        for r in rows:
            if r["n_datasets"] == n:
                speedup = "—" if ref != ref else f"{ref / r['median_epoch_s']:.1f}×"  # no reference run: NaN
                md.append(f"| {n} | {r['n_edges']} | {r['mode']} | {r['median_epoch_s']:.3f} | "
                          f"{speedup} | {r['peak_rss_mb']:.0f} |")
    md += ["", f"Command: `python benchmarks/model_speed.py {' '.join(sys.argv[1:])}` "
           f"(graph construction took {prep:.0f} s)."]
    write(args.name, {"machine": info, "rows": rows, "args": vars(args)}, "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
