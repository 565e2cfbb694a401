"""Command line: ``muse-gnn demo`` and ``muse-gnn fit``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import scanpy as sc

    import muse_gnn as mg

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"[1/4] simulating {args.n_datasets} datasets ({args.n_genes} genes each)", flush=True)
    adatas = mg.datasets.simulate(
        n_datasets=args.n_datasets, tissues=("heart", "lung"), technologies=("scrna", "spatial"),
        n_genes=args.n_genes, n_cells=(300, 600), n_modules=12, random_state=args.seed,
    )
    print(f"[2/4] building gene graphs ({args.method})", flush=True)
    mg.pp.coexpression_graphs(adatas, n_top_genes=args.n_top_genes, method=args.method)
    for name, ad in adatas.items():
        p = ad.uns["muse"]["params"]
        print(f"      {name}: {p['n_genes']} genes, {p['n_edges']} edges ({p['flavor']})")
    print(f"[3/4] training MuSe-GNN for {args.max_epochs} epochs", flush=True)
    model = mg.tl.fit(adatas, max_epochs=args.max_epochs, accelerator=args.accelerator, random_state=args.seed)
    model.save(out / "model", overwrite=True)
    print("[4/4] joint embedding, UMAP and metrics", flush=True)
    joint = model.joint_embedding()
    sc.pp.neighbors(joint, use_rep="X_muse", random_state=args.seed)
    sc.tl.leiden(joint, random_state=args.seed, flavor="igraph", n_iterations=2, key_added="muse_module")
    sc.tl.umap(joint, random_state=args.seed)
    mg.datasets.planted_modules(joint, adatas, key_added="planted_module")
    joint.write_h5ad(out / "joint_embedding.h5ad")
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    sc.pl.umap(joint, color="dataset", ax=axes[0], show=False, title="(gene, dataset) rows by dataset")
    sc.pl.umap(joint, color="planted_module", ax=axes[1], show=False, title="planted gene module",
               legend_loc="on data", legend_fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "umap.png", dpi=110)
    plt.close(fig)
    from sklearn.metrics import adjusted_rand_score

    keep = joint.obs["planted_module"] != "-1"
    ari = adjusted_rand_score(joint.obs.loc[keep, "planted_module"], joint.obs.loc[keep, "muse_module"])
    summary = (
        f"datasets: {len(adatas)}\nrows (gene, dataset): {joint.n_obs}\n"
        f"final loss: {model.history['loss'].iloc[-1]:.4f}\n"
        f"Leiden modules vs planted modules (ARI): {ari:.3f}\n"
        f"runtime: {time.perf_counter() - t0:.0f} s\n"
    )
    (out / "summary.txt").write_text(summary)
    print(summary + f"written to {out}/: joint_embedding.h5ad, umap.png, summary.txt, model/")
    return 0


def _fit(args: argparse.Namespace) -> int:
    import anndata as ad

    import muse_gnn as mg

    paths = [Path(p) for p in args.h5ad]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"muse-gnn fit: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    adatas = {}
    for p in paths:
        try:
            adatas[p.stem] = ad.read_h5ad(p)
        except Exception as err:  # noqa: BLE001 - any unreadable input ends with one clear line
            print(f"muse-gnn fit: cannot read {p} as h5ad ({type(err).__name__}: {err})", file=sys.stderr)
            return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    todo = {k: v for k, v in adatas.items() if "muse_connectivities" not in v.varp}
    opts = {"n_top_genes": args.n_top_genes, "method": args.method, "layer": args.layer,
            "allow_noncounts": args.allow_noncounts}
    created = False
    try:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torchrun: the ranks share out the graphs
            created = _torchrun_graphs(todo, opts, args.accelerator)
        elif todo:
            mg.pp.coexpression_graphs(todo, **opts)
        model = mg.tl.fit(adatas, max_epochs=args.max_epochs, accelerator=args.accelerator,
                          random_state=args.seed, checkpoint_dir=out / "checkpoints", devices=args.devices,
                          strategy=args.strategy, precision=args.precision)
    finally:
        if created:
            import torch.distributed as dist

            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun: rank 0 alone writes the outputs
        return 0
    model.save(out / "model", overwrite=True)
    joint = model.joint_embedding()
    mg.tl.gene_modules(joint, random_state=args.seed, adatas=adatas)
    joint.write_h5ad(out / "joint_embedding.h5ad")
    for name, a in adatas.items():
        a.write_h5ad(out / f"{name}.h5ad")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = mg.pl.history(model, return_fig=True, show=False)
    fig.savefig(out / "history.png", dpi=110)
    plt.close(fig)
    fig = mg.pl.embedding(joint, color=["dataset", "muse_module"], random_state=args.seed, return_fig=True,
                          show=False)
    fig.savefig(out / "umap.png", dpi=110)
    plt.close(fig)
    print(f"written to {out}/: joint_embedding.h5ad, one .h5ad per dataset (varm['X_muse']), model/, "
          "history.png, umap.png")
    return 0


def _torchrun_graphs(todo: dict, opts: dict, accelerator: str) -> bool:
    """Under torchrun: each rank builds the missing graphs of its share of ``todo``, then all ranks exchange them.

    The datasets are shared out by size (cells × genes, largest first to the least loaded rank); graphs are
    built on this rank's training device (its own GPU under torchrun). Initialises the default process group,
    which training then reuses; returns whether it was created here (the caller destroys it). A failure on one
    rank is raised on every rank, so no rank waits for the others forever.
    """
    import torch
    import torch.distributed as dist

    from .model._distributed import init_from_env, local_device, shard_datasets
    from .pp._graph import _compute_graph, _write_graph, graph_options

    device = local_device(accelerator)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    rank, world, created = init_from_env(device)
    if not todo:
        return created
    names = list(todo)
    costs = [todo[k].n_obs * todo[k].n_vars for k in names]
    owners = shard_datasets(costs, world) if len(names) >= world else list(range(len(names)))
    graph_opts = graph_options({**opts, "device": str(device)}, "fit")
    mine: dict = {}
    error = None
    for name, owner in zip(names, owners, strict=True):
        if owner != rank:
            continue
        try:
            mine[name] = _compute_graph(todo[name], **graph_opts)
        except Exception as err:  # noqa: BLE001 - sent to every rank and raised there
            error = f"dataset {name!r}: {type(err).__name__}: {err}"
            break
    print(f"rank {rank}: built {len(mine)} of {len(names)} missing gene graphs", flush=True)
    group = None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
    shared: list = [None] * world
    dist.all_gather_object(shared, (mine, error), group=group)
    errors = [e for _, e in shared if e is not None]
    if errors:
        raise RuntimeError("building the gene graphs failed: " + "; ".join(errors))
    for part, _ in shared:
        for name, result in part.items():
            _write_graph(todo[name], result, "muse")
    return created


def _devices_arg(value: str) -> int | str | list[int]:
    """``--devices`` as :meth:`muse_gnn.MuseGNN.train` takes it: ``auto``, ``N``, ``-1`` or ``0,1``."""
    from ._utils import parse_devices

    try:
        return parse_devices(value)
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``muse-gnn`` argument parser; training defaults come from :class:`~muse_gnn.model._trainer.TrainConfig`."""
    from .model._trainer import TRAIN_DEFAULTS
    parser = argparse.ArgumentParser(
        prog="muse-gnn", description="MuSe-GNN gene embeddings from many single-cell and spatial datasets."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="simulate a multi-tissue collection, build graphs, train, plot")
    demo.add_argument("--out", default="muse_demo", help="output folder (default: muse_demo)")
    demo.add_argument("--n-datasets", type=int, default=4, help="simulated datasets (default: 4)")
    demo.add_argument("--n-genes", type=int, default=600, help="genes per dataset (default: 600)")
    demo.add_argument("--n-top-genes", type=int, default=300, help="graph genes per dataset (default: 300)")
    demo.add_argument("--method", choices=["cscore", "pearson"], default="cscore",
                      help="co-expression method (default: cscore)")
    demo.add_argument("--max-epochs", type=int, default=100, help="training epochs (default: 100)")
    demo.add_argument("--accelerator", default="auto", help="auto, cpu or cuda (default: auto)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.set_defaults(func=_demo)
    fit = sub.add_parser(
        "fit", help="train on your own .h5ad files (raw counts)",
        description="Build gene graphs where missing, train MuSe-GNN (checkpoints in OUT/checkpoints, resumed "
                    "when present) and write embeddings, the model and figures to OUT. Several processes: "
                    "`torchrun --nproc-per-node N -m muse_gnn fit ...` (or --devices N); rank 0 writes OUT.",
    )
    fit.add_argument("h5ad", nargs="+", help="input AnnData files, one per dataset")
    fit.add_argument("--out", required=True, help="output folder")
    fit.add_argument("--n-top-genes", type=int, default=1000, help="graph genes per dataset (default: 1000)")
    fit.add_argument("--method", choices=["cscore", "pearson"], default="cscore", help="co-expression method")
    fit.add_argument("--layer", default=None, help="layer with raw counts (default: X)")
    fit.add_argument("--allow-noncounts", action="store_true", help="accept non-integer expression values")
    fit.add_argument("--max-epochs", type=int, default=TRAIN_DEFAULTS.max_epochs,
                     help=f"training epochs (default: {TRAIN_DEFAULTS.max_epochs})")
    fit.add_argument("--accelerator", default="auto", help="auto, cpu or cuda (default: auto)")
    fit.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    fit.add_argument("--devices", default="auto", type=_devices_arg,
                     help="number of processes (one GPU each on GPU) to train with under DDP, -1 for every GPU or "
                          "GPU indices such as 0,1 (default: auto = 1); under torchrun each process is one of them "
                          "and this is ignored")
    fit.add_argument("--strategy", choices=["auto", "single", "ddp"], default="auto",
                     help="auto: DDP when several devices or under torchrun (default: auto)")
    fit.add_argument("--precision", choices=["32", "bf16-mixed"], default=TRAIN_DEFAULTS.precision,
                     help=f"32 or bf16-mixed (autocast for GPUs; default: {TRAIN_DEFAULTS.precision})")
    fit.set_defaults(func=_fit)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``muse-gnn`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    from ._settings import settings

    settings.verbosity = "info" if args.verbose else "warning"
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
