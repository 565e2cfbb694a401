"""Reliability table: public functions × bad inputs, kills survived, outputs kept through h5ad/zarr.

Runs every public ``mg.pp`` function on a fixed list of odd AnnData inputs, ``mg.tl.fit`` on odd dataset
collections and the ``mg.tl`` / ``mg.metrics`` functions on odd joint embeddings, recording for each call
"works" or the error type and message, and whether the input AnnData changed (it must not on error; on
success only the documented outputs may be added). Then runs the crash and format test files
(``tests/test_reliability_resume.py`` incl. the slow kill, ``test_reliability_saved.py``,
``test_reliability_roundtrip.py``) with pytest and records their outcomes.

Usage (from the repository root)::

    python benchmarks/reliability.py

Writes ``benchmarks/results/reliability.json`` and ``benchmarks/results/reliability.md``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

import muse_gnn as mg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from _reliability import CLEAR_ERRORS, CallTimeout, assert_unchanged, snapshot, time_limit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine

__all__ = ["main"]

COMMAND = "python benchmarks/reliability.py"


# ------------------------------------------------------------------------------------------------ inputs
def _base(n_cells: int = 40, n_genes: int = 12, dtype: Any = np.float32, fmt: str = "csr", seed: int = 0) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    X = rng.poisson(2.0, size=(n_cells, n_genes)).astype(np.float64)
    if n_genes and n_cells:
        X[:, : max(1, n_genes // 2)] += rng.gamma(2.0, 3.0, size=(n_cells, 1)).round()
    X = X.astype(dtype)
    M: Any = X if fmt == "dense" else (sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X))
    a = ad.AnnData(M)
    a.var_names = [f"Gene{i + 1:04d}" for i in range(n_genes)]  # mouse-style symbols (MGI case)
    a.obs_names = [f"c{i}" for i in range(n_cells)]
    k = np.arange(n_cells)
    a.obsm["spatial"] = np.column_stack([k % 7, k // 7]).astype(float) * 100.0
    return a


def _set(a: ad.AnnData, i: int, j: int, value: float) -> ad.AnnData:
    X = a.X.toarray() if sp.issparse(a.X) else np.array(a.X, dtype=np.float64)
    X = X.astype(np.float64)
    X[i, j] = value
    a.X = X
    return a


def _zero(a: ad.AnnData, rows: slice) -> ad.AnnData:
    a.X[rows] = 0
    return a


def _as_bool(a: ad.AnnData) -> ad.AnnData:
    a.X = a.X.toarray() > 2
    return a


def _backed(tmp: Path) -> ad.AnnData:
    _base().write_h5ad(tmp / "backed.h5ad")
    return ad.read_h5ad(tmp / "backed.h5ad", backed="r")


def bad_inputs(tmp: Path) -> dict[str, Callable[[], ad.AnnData]]:
    def names(a: ad.AnnData, values: list[Any]) -> ad.AnnData:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a.var.index = pd.Index(values)
        return a

    return {
        "valid (CSR float32)": lambda: _base(),
        "dense float64": lambda: _base(dtype=np.float64, fmt="dense"),
        "dense int64": lambda: _base(dtype=np.int64, fmt="dense"),
        "CSC int32": lambda: _base(dtype=np.int32, fmt="csc"),
        "empty 0×0": lambda: ad.AnnData(np.zeros((0, 0), dtype=np.float32)),
        "0 cells": lambda: _base(n_cells=0),
        "0 genes": lambda: _base(n_genes=0),
        "1 cell": lambda: _base(n_cells=1),
        "1 gene": lambda: _base(n_genes=1),
        "view": lambda: _base(n_cells=45)[5:],
        "backed (h5ad, r)": lambda: _backed(tmp),
        "X is None": lambda: ad.AnnData(obs=_base().obs, var=_base().var, obsm={"spatial": _base().obsm["spatial"]}),
        "NaN": lambda: _set(_base(), 0, 0, np.nan),
        "inf": lambda: _set(_base(), 0, 0, np.inf),
        "negative": lambda: _set(_base(), 0, 0, -1.0),
        "non-integer": lambda: _set(_base(), 0, 0, 0.5),
        "cell with zero counts": lambda: _zero(_base(fmt="dense"), rows=slice(2, 3)),
        "all zero": lambda: _zero(_base(fmt="dense"), rows=slice(None)),
        "bool X": lambda: _as_bool(_base()),
        "duplicate gene names": lambda: names(_base(), ["Gene0001"] * 2 + [f"Gene{i:04d}" for i in range(3, 13)]),
        "integer gene names": lambda: names(_base(), list(range(1, 13))),
        "human symbols (ortholog source is mouse)": lambda: names(_base(), [f"GENE{i:04d}" for i in range(1, 13)]),
    }


PP_FUNCS: dict[str, Callable[[ad.AnnData], Any]] = {
    "pp.coexpression_graph (cscore)": lambda a: mg.pp.coexpression_graph(a, n_top_genes=6, device="cpu"),
    "pp.coexpression_graph (pearson)": lambda a: mg.pp.coexpression_graph(a, n_top_genes=6, method="pearson"),
    "pp.cscore": lambda a: mg.pp.cscore(a, device="cpu"),
    "pp.sparkx": lambda a: mg.pp.sparkx(a),
    "pp.residual_hvg": lambda a: mg.pp.residual_hvg(a, n_top_genes=4),
    "pp.graph_from_edgelist": lambda a: mg.pp.graph_from_edgelist(
        a, pd.DataFrame({"source": ["Gene0002", "Gene0003"], "target": ["Gene0003", "Gene0004"]})),
    "pp.map_orthologs (copy=True)": lambda a: mg.pp.map_orthologs(
        a, mg.datasets.simulate_orthologs(n_genes=20), copy=True),
    "pp.get_graph": lambda a: mg.pp.get_graph(a),
    "pp.residual_features": lambda a: mg.pp.residual_features(a),
}


# ------------------------------------------------------------------------------------------------ runner
def _outcome(name: str, fn: Callable[[], Any], adatas: list[ad.AnnData], seconds: int = 120) -> dict[str, Any]:
    snaps = []
    for a in adatas:
        try:
            snaps.append(snapshot(a))
        except Exception:  # noqa: BLE001 - objects that cannot be snapshotted
            snaps.append(None)
    t0 = time.perf_counter()
    rec: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with time_limit(seconds):
                fn()
        rec["outcome"], rec["message"] = "works", ""
        allow_added = True
    except CLEAR_ERRORS as err:
        rec["outcome"], rec["message"] = type(err).__name__, str(err).strip("'\"")
        allow_added = False
    except CallTimeout:
        rec["outcome"], rec["message"] = "HANG", f"no result within {seconds} s"
        allow_added = True
    except Exception as err:  # noqa: BLE001 - an unclear error is a finding of this benchmark
        rec["outcome"], rec["message"] = f"UNCLEAR {type(err).__name__}", str(err)
        allow_added = False
    rec["seconds"] = round(time.perf_counter() - t0, 3)
    unchanged = True
    for a, s in zip(adatas, snaps, strict=True):
        if s is None:
            continue
        try:
            assert_unchanged(a, s, allow_added=allow_added)
        except AssertionError:
            unchanged = False
    rec["input_unchanged"] = unchanged
    rec["names_function"] = rec["outcome"] == "works" or name.split(" ")[0].split(".")[-1] in rec["message"]
    return rec


def run_pp(tmp: Path) -> list[dict[str, Any]]:
    rows = []
    for fname, fn in PP_FUNCS.items():
        for iname, make in bad_inputs(tmp).items():
            a = make()
            rec = _outcome(fname, lambda fn=fn, a=a: fn(a), [a])
            if a.isbacked:
                a.file.close()
            rows.append({"function": fname, "input": iname, **rec})
    return rows


def _collection() -> dict[str, ad.AnnData]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = mg.datasets.simulate(n_datasets=3, technologies=("scrna", "spatial"), species=("human", "mouse"),
                                    n_genes=80, n_cells=(40, 60), n_modules=4, random_state=0)
        mg.pp.coexpression_graphs(data, n_top_genes=40, method="pearson", show_progress_bar=False)
    return data


def run_tl(tmp: Path) -> list[dict[str, Any]]:
    base = _collection()
    table = mg.datasets.simulate_orthologs(n_genes=80)

    def mapped() -> dict[str, ad.AnnData]:
        out = {k: v.copy() for k, v in base.items()}
        for a in out.values():
            if a.uns["species"] == "mouse":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mg.pp.map_orthologs(a, table)
                    mg.pp.coexpression_graph(a, n_top_genes=40, method="pearson")
        return out

    def disjoint() -> dict[str, ad.AnnData]:
        out = mapped()
        for i, a in enumerate(out.values()):
            a.var_names = [f"D{i}_{g}" for g in a.var_names]
        return out

    def one_dataset_genes() -> dict[str, ad.AnnData]:
        out = mapped()
        last = list(out)[-1]
        out[last].var_names = [f"ONLY_{g}" if i % 2 else g for i, g in enumerate(out[last].var_names)]
        return out

    def without_graph() -> dict[str, ad.AnnData]:
        out = mapped()
        del next(iter(out.values())).varp["muse_connectivities"]
        return out

    def with_view() -> dict[str, ad.AnnData]:
        out = mapped()
        k = next(iter(out))
        out[k] = out[k][:, :]
        return out

    collections = {
        "human + mouse, mapped with map_orthologs": mapped,
        "mouse vs human symbols, not mapped": lambda: {k: v.copy() for k, v in base.items()},
        "datasets sharing no genes": disjoint,
        "half the genes in one dataset only": one_dataset_genes,
        "one dataset without a graph": without_graph,
        "one dataset is a view": with_view,
        "single dataset": lambda: dict([next(iter(mapped().items()))]),
        "empty list": dict,
    }
    rows = []
    for cname, make in collections.items():
        data = make()
        rec = _outcome("fit", lambda data=data: mg.tl.fit(
            data, max_epochs=2, n_latent=8, show_progress_bar=False, accelerator="cpu"), list(data.values()))
        rows.append({"function": "tl.fit", "input": cname, **rec})
        if cname == "datasets sharing no genes":
            rec = _outcome("fit", lambda data=data: mg.tl.fit(
                data, max_epochs=2, n_latent=8, allow_disjoint=True, show_progress_bar=False,
                accelerator="cpu"), list(data.values()))
            rows.append({"function": "tl.fit (allow_disjoint=True)", "input": cname, **rec})

    data = mapped()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mg.tl.fit(data, max_epochs=2, n_latent=8, show_progress_bar=False, accelerator="cpu")
    joint = model.joint_embedding()

    def with_rep(j: ad.AnnData, X: np.ndarray) -> ad.AnnData:
        j.obsm["X_muse"] = X
        return j

    def without_rep(j: ad.AnnData) -> ad.AnnData:
        del j.obsm["X_muse"]
        return j

    X = joint.obsm["X_muse"]
    joints = {
        "valid joint": lambda: joint.copy(),
        "0 rows": lambda: joint[:0].copy(),
        "1 row": lambda: joint[:1].copy(),
        "view": lambda: joint[:60],
        "one dataset only": lambda: joint[joint.obs["dataset"] == joint.obs["dataset"].iloc[0]].copy(),
        "NaN rows": lambda: with_rep(joint.copy(), np.where(np.arange(len(X))[:, None] < 3, np.nan, X)),
        "inf row": lambda: with_rep(joint.copy(), np.where(np.arange(len(X))[:, None] < 1, np.inf, X)),
        "integer embedding": lambda: with_rep(joint.copy(), (X * 10).astype(np.int64)),
        "float64 embedding": lambda: with_rep(joint.copy(), X.astype(np.float64)),
        "no obsm['X_muse']": lambda: without_rep(joint.copy()),
        "duplicate (gene, dataset) rows": lambda: ad.concat([joint[:5], joint[:5]], index_unique="-"),
    }
    gene0 = str(joint.obs["gene"].iloc[0])
    sets = {"a": list(dict.fromkeys(joint.obs["gene"].astype(str)))[:12],
            "b": list(dict.fromkeys(joint.obs["gene"].astype(str)))[12:24]}
    funcs: dict[str, Callable[[ad.AnnData], Any]] = {
        "tl.gene_modules": lambda j: mg.tl.gene_modules(j, n_neighbors=5, copy=True),
        "tl.similar_genes": lambda j: mg.tl.similar_genes(j, gene0, n_top=3),
        "tl.context_shift": lambda j: mg.tl.context_shift(j, between=("heart", "lung"), n_permutations=20),
        "metrics.paper_metrics": lambda j: mg.metrics.paper_metrics(j, model.adatas, n_neighbors=5,
                                                                    lisi_neighbors=10),
        "metrics.ilisi": lambda j: mg.metrics.ilisi(j, n_neighbors=10),
        "metrics.gene_embedding_table": lambda j: mg.metrics.gene_embedding_table(j),
        "metrics.pair_auroc": lambda j: mg.metrics.pair_auroc(j, sets, min_size=2),
        "metrics.same_gene_nn_rate": lambda j: mg.metrics.same_gene_nn_rate(j),
    }
    for fname, fn in funcs.items():
        for jname, make in joints.items():
            j = make()
            rec = _outcome(fname, lambda fn=fn, j=j: fn(j), [j])
            rows.append({"function": fname, "input": jname, **rec})
    return rows


def run_pytest() -> list[dict[str, Any]]:
    checks = {
        "kills (SIGKILL mid-training; kill between write and rename; kill while writing the temp file)": (
            "tests/test_reliability_resume.py"
        ),
        "saved models (fresh-process load, versions, tampered files)": "tests/test_reliability_saved.py",
        "h5ad + zarr round trips of every output": "tests/test_reliability_roundtrip.py",
        "property-based odd inputs (hypothesis)": "tests/test_reliability_inputs.py",
    }
    rows = []
    for label, path in checks.items():
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider", "-m", "slow or not slow",
             "-rA", "--no-header"],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )
        lines = res.stdout.splitlines()
        passed = [ln.split(" ", 1)[1] for ln in lines if ln.startswith("PASSED ")]
        failed = [ln.split(" ", 1)[1] for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
        rows.append({"check": label, "file": path, "returncode": res.returncode, "passed": passed,
                     "failed": failed, "summary": lines[-1] if lines else "",
                     "seconds": round(time.perf_counter() - t0, 1)})
    return rows


# ------------------------------------------------------------------------------------------------ report
def _short(msg: str, n: int = 110) -> str:
    msg = " ".join(msg.split()).replace("|", "\\|")
    return msg if len(msg) <= n else msg[: n - 1] + "…"


def write_report(result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reliability.json").write_text(json.dumps(result, indent=1))
    calls = result["pp"] + result["tl"]
    n_bad = sum(1 for r in calls if r["outcome"].startswith(("UNCLEAR", "HANG")) or not r["input_unchanged"])
    lines = [
        "# Reliability: bad input, crash-safe training, stable saved formats",
        "",
        (
            f"Command: `{COMMAND}` (from the repository root; {result['seconds']:.0f} s on "
            f"{result['machine']['cpu_count']} CPU cores, {result['machine']['date']})."
        ),
        "",
        (
            f"**{len(calls)} calls** of public functions on odd input: "
            f"{sum(r['outcome'] == 'works' for r in calls)} work, "
            f"{sum(r['outcome'] in ('ValueError', 'KeyError', 'TypeError') for r in calls)} raise a "
            "ValueError/KeyError/TypeError whose message says what to do, "
            f"**{n_bad} unclear errors, hangs or modified inputs**. \"input unchanged\": a deep comparison of X, "
            "obs, var, uns, obsm/varm/obsp/varp/layers before and after (on success, only the documented outputs "
            "may be added)."
        ),
        "",
        "## Crash safety, saved formats, round trips (pytest)",
        "",
        "| check | file | passed | failed | time s |",
        "|---|---|---:|---:|---:|",
    ]
    for r in result["pytest"]:
        lines.append(f"| {r['check']} | `{r['file']}` | {len(r['passed'])} | {len(r['failed'])} | {r['seconds']} |")
    kills = next(r for r in result["pytest"] if r["file"].endswith("resume.py"))
    lines += [
        "",
        (
            f"Kills survived: {len(kills['passed'])} of {len(kills['passed']) + len(kills['failed'])} scenarios; "
            "in each the resumed run's parameters are bit-identical (`torch.equal`) to an uninterrupted run, and "
            "a torn or un-renamed temporary checkpoint never replaces the last good `checkpoint.pt`."
        ),
        "",
    ]
    sections = (
        ("`mg.pp` × bad AnnData", result["pp"]),
        ("`mg.tl` / `mg.metrics` × odd collections and joint embeddings", result["tl"]),
    )
    for title, rows in sections:
        lines += [f"## {title}", "", "| function | input | outcome | input unchanged | message |",
                  "|---|---|---|:-:|---|"]
        for r in rows:
            lines.append(f"| {r['function']} | {r['input']} | {r['outcome']} | "
                         f"{'yes' if r['input_unchanged'] else '**NO**'} | {_short(r['message'])} |")
        lines.append("")
    (RESULTS / "reliability.md").write_text("\n".join(lines))


def main() -> None:
    import tempfile

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = {"machine": machine(), "pp": run_pp(Path(tmp)), "tl": run_tl(Path(tmp))}
    result["pytest"] = run_pytest()
    result["seconds"] = time.perf_counter() - t0
    write_report(result)
    bad = [r for r in result["pp"] + result["tl"]
           if r["outcome"].startswith(("UNCLEAR", "HANG")) or not r["input_unchanged"]]
    print(f"{len(result['pp']) + len(result['tl'])} calls, {len(bad)} problems; "
          f"wrote {RESULTS / 'reliability.md'}")
    for r in bad:
        print("  ", r["function"], "|", r["input"], "|", r["outcome"], "|", r["message"][:200])


if __name__ == "__main__":
    main()
