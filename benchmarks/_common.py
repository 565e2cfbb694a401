"""Shared helpers of the benchmark scripts: simulated collections, truth annotation, PCA baseline, scores."""

from __future__ import annotations

import json
import platform
import resource
import time
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import torch

import muse_gnn as mg

RESULTS = Path(__file__).resolve().parent / "results"


def parse_option(item: str) -> tuple[str, Any]:
    """``"lambda_similarity=1"`` -> ``("lambda_similarity", 1)``: integers and floats parsed, ``None`` for "None",
    other values kept as strings (command-line options of the scripts, passed on to ``mg.tl.fit`` or
    ``coexpression_graph``)."""
    if "=" not in item:
        raise ValueError(f"option {item!r} is not KEY=VALUE.")
    k, v = item.split("=", 1)
    for cast in (int, float):
        try:
            return k, cast(v)
        except ValueError:
            continue
    return k, None if v == "None" else v


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "muse_gnn": mg.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_avg_1min_at_start": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def collection(seed: int, *, n_datasets: int = 6, n_genes: int = 800, n_top_genes: int = 400,
               n_cells: tuple[int, int] = (400, 800), technologies=("scrna", "spatial"), tissues=("heart", "lung"),
               species=("human",), method: str = "cscore", n_modules: int = 12) -> dict[str, ad.AnnData]:
    adatas = mg.datasets.simulate(n_datasets=n_datasets, tissues=tissues, technologies=technologies,
                                  species=species, n_genes=n_genes, n_cells=n_cells, n_modules=n_modules,
                                  random_state=seed)
    mg.pp.coexpression_graphs(adatas, n_top_genes=n_top_genes, method=method, show_progress_bar=False)
    return adatas


def annotate_truth(joint: ad.AnnData, adatas: dict[str, ad.AnnData]) -> ad.AnnData:
    """Copy each row's planted module and context flag from its dataset's ``.var`` (``mg.datasets.planted_modules``)."""
    mg.datasets.planted_modules(joint, adatas)
    return joint


def pca_joint(adatas: dict[str, ad.AnnData], n_comps: int = 32, key: str = "X_muse") -> ad.AnnData:
    """Per-dataset PCA (``n_comps`` PCs) of the gene × cell residual features, stacked like a joint embedding."""
    from sklearn.decomposition import PCA

    rows, obs = [], []
    for name, a in adatas.items():
        f = mg.pp.residual_features(a)
        k = min(n_comps, *f.shape)
        z = PCA(k, random_state=0).fit_transform(f)
        if k < n_comps:
            z = np.pad(z, ((0, 0), (0, n_comps - k)))
        genes = a.var_names[a.var["muse_selected"].to_numpy()]
        rows.append(z.astype(np.float32))
        obs.append(pd.DataFrame({"gene": genes, "dataset": name, "tissue": a.uns.get("tissue", "unknown")}))
    o = pd.concat(obs, ignore_index=True)
    o.index = (o["gene"] + "@" + o["dataset"]).to_numpy()
    joint = ad.AnnData(obs=o)
    joint.obsm[key] = np.concatenate(rows)
    return joint


def scores(joint: ad.AnnData, adatas: dict[str, ad.AnnData], key: str = "X_muse", seed: int = 0) -> dict[str, float]:
    annotate_truth(joint, adatas)
    out = {
        "planted_ari": mg.metrics.planted_ari(joint, use_rep=key, random_state=seed),
        "planted_nmi": mg.metrics.planted_nmi(joint, use_rep=key, random_state=seed),
        "same_gene_nn": mg.metrics.same_gene_nn_rate(joint, use_rep=key),
    }
    sep = mg.metrics.context_separation(joint, use_rep=key)
    out.update({f"context_{k}": float(v) for k, v in sep.items()})
    return out


def write(name: str, payload: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=1, default=str))
    (RESULTS / f"{name}.md").write_text(markdown)
