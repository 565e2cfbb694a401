"""Peak memory and time of graph construction (`mg.pp.coexpression_graph`, CS-CORE) as cells grow.

One simulated scRNA dataset per size (`mg.datasets.simulate`, sparse counts, simulated and written to ``.h5ad`` by
one process), 2,000 graph genes, CS-CORE on CPU. Each size is then read and processed in its own subprocess;
reported: wall time of `coexpression_graph`, the process's peak RSS after reading the file and after building the
graph (so the graph's own share is visible), and the size of the counts matrix.

Usage: ``python benchmarks/graph_memory.py [--cells 10000 50000] [--genes 2000]``; results in
``benchmarks/results/graph_memory.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def simulate_to(path: Path, n_cells: int, n_genes: int) -> None:
    import muse_gnn as mg

    adatas = mg.datasets.simulate(n_datasets=1, technologies=("scrna",), n_genes=int(n_genes * 1.25),
                                  n_cells=(n_cells, n_cells), random_state=0)
    next(iter(adatas.values())).write_h5ad(path)


def child(path: str, n_genes: int) -> dict:
    import warnings

    import anndata as ad
    from _common import peak_rss_mb

    import muse_gnn as mg

    warnings.filterwarnings("ignore")
    adata = ad.read_h5ad(path)
    n_cells = adata.n_obs
    x = adata.X
    counts_mb = (x.data.nbytes + x.indices.nbytes + x.indptr.nbytes) / 2**20 if hasattr(x, "data") else x.nbytes / 2**20
    before = peak_rss_mb()
    t0 = time.perf_counter()
    mg.pp.coexpression_graph(adata, n_top_genes=n_genes, method="cscore")
    elapsed = time.perf_counter() - t0
    return {"cells": n_cells, "genes": n_genes, "counts_mb": counts_mb, "seconds": elapsed,
            "peak_rss_before_mb": before, "peak_rss_mb": peak_rss_mb(),
            "edges": int(adata.varp["muse_connectivities"].nnz // 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cells", type=int, nargs="+", default=[10_000, 50_000])
    p.add_argument("--genes", type=int, default=2000)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--simulate", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.simulate:
        simulate_to(Path(args.simulate[0]), int(args.simulate[1]), int(args.simulate[2]))
        return
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    import tempfile

    from _common import machine, write

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="muse_graph_mem_"))
    for n in args.cells:
        path = tmp / f"cells_{n}.h5ad"
        subprocess.run([sys.executable, __file__, "--simulate", str(path), str(n), str(args.genes)], check=True)
        out = subprocess.run([sys.executable, __file__, "--child", str(path), str(args.genes)], capture_output=True,
                             text=True, check=True)
        path.unlink()
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    info = machine()
    md = ["# Graph construction: time and memory as cells grow", "",
          (f"CS-CORE graphs of {args.genes} genes on one simulated scRNA dataset per size (sparse counts), CPU; "
          f"each size in its own process. Machine: {info}."), "",
          "| cells | genes | counts (MB) | edges | `coexpression_graph` (s) | peak RSS after reading (MB) | peak RSS after the graph (MB) |",
          "|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['cells']:,} | {r['genes']} | {r['counts_mb']:.0f} | {r['edges']:,} | {r['seconds']:.1f} | "
                  f"{r['peak_rss_before_mb']:.0f} | {r['peak_rss_mb']:.0f} |")
    md += ["", f"Command: `python benchmarks/graph_memory.py {' '.join(sys.argv[1:])}`"]
    write("graph_memory", {"machine": info, "rows": rows, "args": vars(args)}, "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
