"""Wall time of a full default training (`mg.tl.fit`) of the paper-sized collection: 82 datasets × 2,000 genes.

Simulates 82 scRNA datasets (4 tissues, 400–600 cells, 2,600 genes), builds their CS-CORE graphs of 2,000 genes
(`mg.pp.coexpression_graphs`, on ``--accelerator``'s device), then times ``mg.tl.fit`` with every training
option at its default (300 epochs, early stopping, ``decoder="edges"``) except ``accelerator``, ``precision``
and, for a shortened run, ``--max-epochs``. Reported: graph construction time, the ``fit`` wall time, epochs
trained, seconds per epoch (fit time over epochs trained), the process's peak RSS and,
on a GPU, the peak GPU memory.

The goal of issue 7 is a full default training of this collection in under 10 minutes on one H100
(``--accelerator cuda``); on this 2-core CPU machine a full run takes over an hour, so CPU runs here use
``--max-epochs`` and say so in the results.

Usage: ``python benchmarks/full_training.py [--accelerator cuda] [--precision bf16-mixed] [--max-epochs N]
[--datasets 82] [--genes 2000] [--name full_training]``; results in ``benchmarks/results/<name>.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=int, default=82)
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--cells", type=int, nargs=2, default=[400, 600])
    p.add_argument("--accelerator", default="auto")
    p.add_argument("--precision", default="32", choices=["32", "bf16-mixed"])
    p.add_argument("--max-epochs", type=int, default=None, help="default: the model's default (300)")
    p.add_argument("--name", default="full_training")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    import torch
    from _common import machine, peak_rss_mb, write

    import muse_gnn as mg

    info = machine()
    adatas = mg.datasets.simulate(n_datasets=args.datasets, tissues=("heart", "lung", "liver", "kidney"),
                                  technologies=("scrna",), n_genes=int(args.genes * 1.3),
                                  n_cells=tuple(args.cells), n_modules=20, random_state=0)
    device = mg._utils.resolve_device(args.accelerator)
    t0 = time.perf_counter()
    mg.pp.coexpression_graphs(adatas, n_top_genes=args.genes, method="cscore", show_progress_bar=False,
                              device="cuda" if device.type == "cuda" else "cpu")
    graphs_s = time.perf_counter() - t0
    edges = sum(int(a.uns["muse"]["params"]["n_edges"]) for a in adatas.values())
    opts = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    model = mg.tl.fit(adatas, accelerator=args.accelerator, precision=args.precision, random_state=0,
                      show_progress_bar=False, **opts)
    fit_s = time.perf_counter() - t0
    hist = model.history
    row = {
        "datasets": args.datasets, "graph_genes": args.genes, "edges": edges, "device": str(model.device),
        "precision": args.precision, "max_epochs": args.max_epochs or 300,
        "epochs_trained": int(model.train_params["epochs_trained"]),
        "early_stopped": bool(model.train_params["early_stopped"]), "graphs_s": graphs_s, "fit_s": fit_s,
        "fit_s_per_epoch": fit_s / max(1, int(model.train_params["epochs_trained"])),
        "peak_rss_mb": peak_rss_mb(),
        "peak_gpu_mb": float(torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else None,
        "final_loss": float(hist["loss"].iloc[-1]),
    }
    print(row, flush=True)
    shortened = args.max_epochs is not None and args.max_epochs < 300
    gpu = "—" if row["peak_gpu_mb"] is None else f"{row['peak_gpu_mb']:.0f}"
    md = [
        f"# Full default training: {args.datasets} datasets × {args.genes} genes",
        "",
        f"Simulated scRNA datasets ({args.cells[0]}–{args.cells[1]} cells, 4 tissues), CS-CORE graphs of "
        f"{args.genes} genes; `mg.tl.fit` with its defaults, `accelerator={args.accelerator!r}`, "
        f"`precision={args.precision!r}`" + (f", `max_epochs={args.max_epochs}`" if args.max_epochs else "") + ". "
        f"Machine: {info}.",
        "",
        "| device | edges | graphs (s) | epochs | fit (s) | fit s / epoch | peak RSS (MB) | peak GPU (MB) | final loss |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {row['device']} | {edges:,} | {graphs_s:.0f} | {row['epochs_trained']}"
        f"{' (early stop)' if row['early_stopped'] else ''} | {fit_s:.0f} | {row['fit_s_per_epoch']:.2f} "
        f"| {row['peak_rss_mb']:.0f} | {gpu} "
        f"| {row['final_loss']:.4f} |",
        "",
    ]
    if shortened:
        md.append(f"Shortened run ({args.max_epochs} of the default 300 epochs): the fit time is not the full "
                  "default training's; `fit s / epoch` includes start-up and the final embedding pass.")
        md.append("")
    md.append(f"Command: `python benchmarks/full_training.py {' '.join(sys.argv[1:])}`")
    write(args.name, {"machine": info, "row": row, "args": vars(args)}, "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
