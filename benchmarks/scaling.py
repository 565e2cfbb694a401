"""Scaling of training: time per epoch and peak memory over datasets × genes, and 1 vs 2 processes (DDP, gloo).

Graphs are synthetic so that the grid reaches the paper's scale without hours of graph construction: each
dataset takes a random 77 % of a shared gene vocabulary (so datasets overlap as real ones do), links every gene to
``--degree`` random others (symmetric, about ``degree`` neighbours per gene) and has standard normal node
features over ``--cells`` cells. Each configuration runs in its own subprocess, so its peak RSS is its own.

1. Grid: T ∈ ``--datasets`` × genes ∈ ``--genes``, the default model (``decoder="edges"``, attention ``"auto"``:
   dense up to 4,096 genes, sparse above), one process, median of ``--epochs`` epochs after one warm-up epoch.
2. Processes: one job (``--ddp-job``, T × genes) trained with ``strategy="single"`` and with ``devices=2``
   (two CPU processes, gloo, one thread each). Seconds per epoch = (time of a ``max_epochs=E2`` run − time of a
   ``max_epochs=E1`` run) / (E2 − E1), which removes start-up (process spawn, sharding, final embedding).
   Agreement: with ``decoder="mlp"`` (nothing sampled per process) the largest parameter difference and the
   largest relative loss difference over epochs between 1 and 2 processes.

Usage::

    python benchmarks/scaling.py                                   # full grid + 1 vs 2 processes
    python benchmarks/scaling.py --datasets 10 --genes 1000 --epochs 1   # quick check

Results: ``benchmarks/results/scaling.{json,md}``. On a GPU machine pass ``--accelerator cuda``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def synthetic_model(n_datasets: int, n_genes: int, *, degree: int, cells: int, decoder: str = "edges",
                    seed: int = 0):
    """An untrained :class:`muse_gnn.MuseGNN` over synthetic graphs (see the module docstring)."""
    import scipy.sparse as sp

    from muse_gnn import MuseGNN
    from muse_gnn.model._data import graph_from_arrays

    rng = np.random.default_rng(seed)
    vocab = np.array([f"G{i:05d}" for i in range(int(n_genes * 1.3))])
    graphs = []
    for t in range(n_datasets):
        genes = np.sort(rng.choice(vocab, size=n_genes, replace=False))
        rows = np.repeat(np.arange(n_genes), degree // 2)
        cols = rng.integers(0, n_genes, size=rows.size)
        keep = rows != cols
        a = sp.coo_matrix((np.ones(keep.sum(), dtype=np.float32), (rows[keep], cols[keep])),
                          shape=(n_genes, n_genes)).tocsr()
        a = ((a + a.T) > 0).astype(np.float32)
        x = rng.standard_normal((n_genes, cells), dtype=np.float32)
        graphs.append(graph_from_arrays(f"d{t:03d}", genes, x, a, tissue=f"t{t % 4}", technology="scrna"))
    model = MuseGNN.__new__(MuseGNN)
    model._setup(graphs, {"graph_key": "muse", "n_latent": 32, "share": "all", "decoder": decoder, "heads": 4,
                              "attention": "auto", "allow_disjoint": False, "random_state": seed})
    model.adatas = {g.name: None for g in graphs}
    return model


def child_grid(args: argparse.Namespace) -> dict:
    import torch
    from _common import peak_rss_mb

    from muse_gnn._utils import resolve_device
    from muse_gnn.model._trainer import TrainConfig, Trainer

    t0 = time.perf_counter()
    model = synthetic_model(args.n, args.g, degree=args.degree, cells=args.cells)
    build = time.perf_counter() - t0
    device = resolve_device(args.accelerator)
    model.module.to(device)
    tr = Trainer(model.module, model.graphs, model.gene_index, TrainConfig(), device)
    torch.use_deterministic_algorithms(True, warn_only=True)
    times = []
    for _ in range(args.epochs + 1):
        t1 = time.perf_counter()
        tr.train_epoch()  # ends with one host sync (the loss values), so the time is the epoch's
        times.append(time.perf_counter() - t1)
    edges = int(sum(g.edge_index.shape[1] for g in model.graphs) // 2)
    gpu_peak = float(torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else None
    return {"n_datasets": args.n, "n_genes": args.g, "edges": edges, "passes": len(tr._plan()),
            "epoch_s": times[1:], "median_epoch_s": float(np.median(times[1:])), "peak_rss_mb": peak_rss_mb(),
            "gpu_peak_mb": gpu_peak, "build_s": build}


def child_ddp(args: argparse.Namespace) -> dict:
    from _common import peak_rss_mb

    out = {}
    for decoder in ("edges", "mlp"):
        for procs in (1, 2):
            runs = {}
            for e in (args.e1, args.e2) if decoder == "edges" else (args.e2,):
                model = synthetic_model(args.n, args.g, degree=args.degree, cells=args.cells, decoder=decoder)
                t0 = time.perf_counter()
                if procs == 1:
                    model.train(max_epochs=e, strategy="single", accelerator="cpu", show_progress_bar=False)
                else:
                    model.train(max_epochs=e, devices=2, accelerator="cpu", show_progress_bar=False)
                runs[e] = (time.perf_counter() - t0, model)
            key = f"{decoder}_{procs}"
            out[key] = {"history": runs[args.e2][1].history.to_dict(orient="list"),
                        "state": {k: v.numpy() for k, v in runs[args.e2][1].module.state_dict().items()}}
            if decoder == "edges":
                out[key]["epoch_s"] = (runs[args.e2][0] - runs[args.e1][0]) / (args.e2 - args.e1)
                out[key]["total_s"] = runs[args.e2][0]
    a, b = out["mlp_1"], out["mlp_2"]
    dparam = max(float(np.abs(a["state"][k] - b["state"][k]).max()) for k in a["state"])
    la, lb = np.asarray(a["history"]["loss"]), np.asarray(b["history"]["loss"])
    ea, eb = np.asarray(out["edges_1"]["history"]["loss"]), np.asarray(out["edges_2"]["history"]["loss"])
    return {"n_datasets": args.n, "n_genes": args.g, "epochs": [args.e1, args.e2],
            "epoch_s_1proc": out["edges_1"]["epoch_s"], "epoch_s_2proc": out["edges_2"]["epoch_s"],
            "total_s_1proc": out["edges_1"]["total_s"], "total_s_2proc": out["edges_2"]["total_s"],
            "mlp_max_param_diff": dparam, "mlp_max_rel_loss_diff": float(np.max(np.abs(la - lb) / np.abs(la))),
            "edges_final_loss_1proc": float(ea[-1]), "edges_final_loss_2proc": float(eb[-1]),
            "peak_rss_mb_parent": peak_rss_mb()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", type=int, nargs="+", default=[10, 40, 82])
    p.add_argument("--genes", type=int, nargs="+", default=[1000, 2000, 5000])
    p.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up (T >= 82: 1)")
    p.add_argument("--degree", type=int, default=30)
    p.add_argument("--cells", type=int, default=400)
    p.add_argument("--accelerator", default="cpu")
    p.add_argument("--ddp-job", type=int, nargs=2, default=[10, 1000], metavar=("T", "GENES"))
    p.add_argument("--no-ddp", action="store_true")
    p.add_argument("--name", default="scaling")
    p.add_argument("--child", choices=["grid", "ddp"])
    p.add_argument("--n", type=int)
    p.add_argument("--g", type=int)
    p.add_argument("--e1", type=int, default=2)
    p.add_argument("--e2", type=int, default=6)
    args = p.parse_args()
    if args.child:
        res = child_grid(args) if args.child == "grid" else child_ddp(args)
        print(json.dumps(res))
        return
    from _common import machine, write

    info = machine()
    rows, ddp = [], None
    for n in args.datasets:
        for g in args.genes:
            epochs = 1 if n >= 82 else args.epochs
            cmd = [sys.executable, __file__, "--child", "grid", "--n", str(n), "--g", str(g), "--epochs",
                   str(epochs), "--degree", str(args.degree), "--cells", str(args.cells), "--accelerator",
                   args.accelerator]
            res = subprocess.run(cmd, check=False, capture_output=True, text=True)  # a failed size is reported
            if res.returncode != 0:
                r = {"n_datasets": n, "n_genes": g, "error": res.stderr.strip().splitlines()[-1][:200]}
            else:
                r = json.loads(res.stdout.strip().splitlines()[-1])
            print(r, flush=True)
            rows.append(r)
    if not args.no_ddp:
        n, g = args.ddp_job
        cmd = [sys.executable, __file__, "--child", "ddp", "--n", str(n), "--g", str(g), "--degree",
               str(args.degree), "--cells", str(args.cells)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        ddp = json.loads(res.stdout.strip().splitlines()[-1])
        print(ddp, flush=True)
    dev = info["cuda"] or "CPU"
    grid = f"{'/'.join(map(str, args.datasets))} datasets × {'/'.join(f'{g:,}' for g in args.genes)} genes"
    md = [f"# Scaling: time per epoch and peak memory, {grid}", "",
          (f"Synthetic graphs (about {args.degree} neighbours per gene, {args.cells} cells per dataset, datasets "
          f"overlapping in 77 % of a shared vocabulary; see `benchmarks/scaling.py`), default model "
          f"(`decoder=\"edges\"`, attention dense up to 4,096 genes and sparse above, `max_pass_size=50M`). "
          f"Device: {dev}. Median of {args.epochs} epochs after one warm-up (1 epoch for T ≥ 82); each "
          f"configuration in its own process. Machine: {info}."), "",
          "| datasets | genes | edges | passes / epoch | s / epoch | peak RSS (MB) | peak GPU (MB) |",
          "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            md.append(f"| {r['n_datasets']} | {r['n_genes']} | — | — | failed: {r['error']} | — | — |")
            continue
        gpu = "—" if r["gpu_peak_mb"] is None else f"{r['gpu_peak_mb']:.0f}"
        md.append(f"| {r['n_datasets']} | {r['n_genes']} | {r['edges']:,} | {r['passes']} | "
                  f"{r['median_epoch_s']:.2f} | {r['peak_rss_mb']:.0f} | {gpu} |")
    if ddp is not None:
        md += ["", f"## 1 vs 2 processes (DDP, gloo): {ddp['n_datasets']} datasets × {ddp['n_genes']} genes", "",
               (f"Seconds per epoch from runs of {ddp['epochs'][0]} and {ddp['epochs'][1]} epochs (start-up "
               "removed); 2 processes run one thread each on this machine's cores."), "",
               "| processes | s / epoch | whole `train()` call (s) | final loss (edges decoder) |",
               "|---|---|---|---|",
               f"| 1 | {ddp['epoch_s_1proc']:.3f} | {ddp['total_s_1proc']:.1f} | {ddp['edges_final_loss_1proc']:.4f} |",
               f"| 2 | {ddp['epoch_s_2proc']:.3f} | {ddp['total_s_2proc']:.1f} | {ddp['edges_final_loss_2proc']:.4f} |",
               "",
               (f"Agreement with `decoder=\"mlp\"` (same draws in 1 and 2 processes): largest parameter difference "
               f"{ddp['mlp_max_param_diff']:.2e}, largest relative loss difference {ddp['mlp_max_rel_loss_diff']:.2e} "
               f"over {ddp['epochs'][1]} epochs. Peak RSS of the calling process: {ddp['peak_rss_mb_parent']:.0f} MB "
               "(the workers' own peaks are not measured: Linux carries `ru_maxrss` across `exec`, so "
               "`RUSAGE_CHILDREN` would report the parent's).")]
    md += ["", f"Command: `python benchmarks/scaling.py {' '.join(sys.argv[1:])}`"]
    write(args.name, {"machine": info, "rows": rows, "ddp": ddp, "args": vars(args)}, "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
