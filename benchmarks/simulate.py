"""Speed of ``muse_gnn.datasets.simulate``.

Target (issue): 82 datasets × 2,000 genes × 500 cells in under 60 s on a 2-core machine.
Runs each configuration ``--repeats`` times (default 3) and reports the median wall time; results go
to ``benchmarks/results/simulate.json`` and ``.md``.

Usage::

    PYTHONPATH=src python benchmarks/simulate.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from muse_gnn.datasets._simulate import simulate

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results"
PAPER_TISSUES = ("heart", "lung", "liver", "kidney", "thymus", "spleen", "pancreas", "cerebrum")

CONFIGS = {
    "paper_scale_82x2000x500": {
        "n_datasets": 82,
        "tissues": PAPER_TISSUES,
        "technologies": ("scrna", "spatial", "scatac"),
        "species": ("human", "mouse"),
        "n_genes": 2000,
        "n_cells": 500,
        "n_modules": 20,
    },
    "defaults_6_datasets": {},
}


def _summary(data: dict) -> dict:
    cells = sum(a.n_obs for a in data.values())
    nnz = sum(a.X.nnz for a in data.values())
    entries = sum(a.n_obs * a.n_vars for a in data.values())
    by_tech: dict[str, list[float]] = {}
    for a in data.values():
        by_tech.setdefault(a.uns["technology"], []).append(a.X.nnz / (a.n_obs * a.n_vars))
    return {
        "n_datasets": len(data),
        "total_cells": int(cells),
        "total_entries": int(entries),
        "density": round(nnz / entries, 4),
        "density_by_technology": {k: round(float(np.mean(v)), 4) for k, v in sorted(by_tech.items())},
        "csr_megabytes": round(
            sum(a.X.data.nbytes + a.X.indices.nbytes + a.X.indptr.nbytes for a in data.values()) / 2**20, 1
        ),
    }


def main(repeats: int = 3) -> dict:
    """Time every configuration ``repeats`` times and write the results."""
    out: dict = {
        "benchmark": "simulate",
        "repeats": repeats,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpus_available": (
                len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            ),
            "processor": platform.processor() or platform.machine(),
            "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        },
        "results": {},
    }
    for name, kwargs in CONFIGS.items():
        times = []
        data = None
        for r in range(repeats):
            t0 = time.perf_counter()
            data = simulate(random_state=r, **kwargs)
            times.append(time.perf_counter() - t0)
            if r < repeats - 1:
                data = None  # free before the next run
        out["results"][name] = {
            "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
            "times_s": [round(t, 3) for t in times],
            "median_s": round(statistics.median(times), 3),
            **_summary(data),
        }
        print(f"{name}: median {statistics.median(times):.2f} s over {repeats} runs {times}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "simulate.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# simulate: speed",
        "",
        f"Median of {repeats} runs (seeds 0..{repeats - 1}); Python {out['machine']['python']}, "
        f"numpy {out['machine']['numpy']}, {out['machine']['cpus_available']} CPUs available "
        f"(shared; 1-min load average at start {out['machine']['load_average_1min_at_start']}).",
        "Target: 82 datasets × 2,000 genes × 500 cells in under 60 s.",
        "",
        "| configuration | datasets | cells | median (s) | runs (s) | density | CSR (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, res in out["results"].items():
        lines.append(
            f"| {name} | {res['n_datasets']} | {res['total_cells']} | {res['median_s']:.2f} | "
            f"{', '.join(f'{t:.2f}' for t in res['times_s'])} | {res['density']:.3f} | "
            f"{res['csr_megabytes']} |"
        )
    lines += ["", "Density (non-zero fraction) by technology, paper-scale run:", ""]
    for tech, dens in out["results"]["paper_scale_82x2000x500"]["density_by_technology"].items():
        lines.append(f"- {tech}: {dens:.3f}")
    (RESULTS / "simulate.md").write_text("\n".join(lines) + "\n")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    main(repeats=parser.parse_args().repeats)
