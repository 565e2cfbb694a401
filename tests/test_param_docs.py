"""The public API documents its parameters completely and alike.

For every public function and method of ``mg.pp``, ``mg.tl``, ``mg.pl``, ``mg.metrics``, ``mg.datasets``,
``mg.io`` and :class:`muse_gnn.MuseGNN`, the numpydoc ``Parameters`` section (``Attributes`` for the result
dataclasses) is parsed. Every parameter of the signature must be documented, and a parameter name used by
several public functions must have the same description everywhere, except for the entries of
:data:`ALLOWED`, where the meaning really differs (one line of reason each). Shared descriptions come from one
place (:mod:`muse_gnn._docs`, :mod:`muse_gnn.model._docs`), filled in by :func:`muse_gnn._docs.doc_params`.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import muse_gnn as mg

MODULES = ("pp", "tl", "pl", "metrics", "datasets", "io")

#: (parameter, functions) → why their descriptions of the parameter differ from the shared one (the
#: description of the functions not listed, which must agree).
ALLOWED: dict[tuple[str, tuple[str, ...]], str] = {
    ("accelerator", ("tl.fit", "MuseGNN.train", "MuseGNN.load")): "query mapping notes that it runs on one "
    "device; load places saved weights",
    ("adata", ("pp.coexpression_graph", "pp.cscore", "pp.get_graph", "pp.graph_from_edgelist", "pp.map_orthologs",
               "pp.residual_features", "pp.residual_hvg", "pp.sparkx", "tl.module_scores")):
        "each function needs different contents of the dataset (counts, a graph, coordinates, log data)",
    ("adatas", ("MuseGNN.load", "datasets.planted_modules", "pp.coexpression_graphs", "tl.fit", "tl.gene_modules",
                "tl.joint_embedding")): "training input, optional targets of labels, or datasets to gather",
    ("allow_disjoint", ("tl.fit",)): "fit refers to MuseGNN for its model options",
    ("allow_noncounts", ("pp.graph_from_edgelist",)): "only stored for the node features, not checked here",
    ("ax", ("pl.enrichment", "pl.history", "pl.module_sharing", "pl.similarity")): "each plot lays out its axes "
    "differently",
    ("background", ("tl.enrichment",)): "a gene universe there, the choice of negatives in geneset_auroc",
    ("block_size", ("pp.pearson_residuals",)): "blocks of genes there, of cells in CS-CORE",
    ("cmap", ("pl.similarity",)): "colours similarities there, FDR in pl.enrichment",
    ("copy", ("datasets.planted_modules", "tl.gene_modules", "tl.module_scores")): "copies of the joint "
    "embedding or of the scored dataset, not of a counts AnnData",
    ("counts", ("pp.sparkx_test",)): "any expression matrix there, raw counts in cscore_arrays",
    ("datasets", ("tl.similar_genes",)): "query and target datasets there, displayed datasets in pl.similarity",
    ("decoder", ("tl.fit",)): "fit refers to MuseGNN for its model options",
    ("device", ("pp.coexpression_graph", "pp.sparkx", "pp.sparkx_test")): "says which steps run on the device",
    ("dir_path", ("MuseGNN.save",)): "the folder written, not read",
    ("embedding", ("metrics.geneset_auroc", "metrics.pair_auroc")): "the accepted inputs are described at "
    "geneset_auroc and referred to from the others",
    ("fdr", ("tl.enrichment",)): "filters results there, thresholds edges in coexpression_graph",
    ("gene_key", ("pl.embedding", "pl.similarity")): "plots read a column of the joint embedding, the metric any "
    "obs column",
    ("gene_sets", ("metrics.pair_auroc", "tl.enrichment")): "pair_auroc refers to geneset_auroc; enrichment "
    "names its own columns",
    ("genes", ("pl.similarity", "pp.CSCoreResult", "pp.cscore", "pp.cscore_arrays", "pp.pearson_residuals",
               "pp.sparkx", "tl.similar_genes")): "names, positions or masks of different gene selections",
    ("graph_key", ("metrics.auc_graph", "metrics.neighbor_overlap", "metrics.paper_metrics", "tl.embed",
                   "MuseGNN.map_query")): "metrics read graphs from AnnData; query mapping defaults to the model's",
    ("graphs", ("metrics.neighbor_overlap", "metrics.paper_metrics")): "refer to auc_graph and say how they "
    "treat missing graphs",
    ("groupby", ("pl.module_sharing", "tl.enrichment", "tl.ortholog_coclustering")): "module labels must be "
    "given; no Leiden fall-back as in the metrics",
    ("inplace", ("pp.cscore", "pp.sparkx", "tl.fit")): "each writes and returns different results",
    ("joint", ("pl.embedding", "pl.similarity", "datasets.planted_modules", "metrics.context_separation",
               "metrics.planted_ari", "metrics.planted_nmi", "metrics.same_gene_nn_rate", "pl.module_sharing",
               "tl.context_shift", "tl.enrichment", "tl.gene_modules", "tl.ortholog_coclustering")):
        "each function needs other obs columns of the joint embedding",
    ("key_added", ("pp.coexpression_graph", "pp.coexpression_graphs", "pp.graph_from_edgelist", "tl.embed",
                   "MuseGNN.map_query", "MuseGNN.write_embeddings", "datasets.planted_modules", "pp.cscore",
                   "pp.sparkx", "tl.fit", "tl.gene_modules", "tl.module_scores")):
        "each function writes to different slots",
    ("layer", ("pp.graph_from_edgelist", "tl.module_scores")): "stored for later use, or log-expression to score",
    ("max_epochs", ("tl.fit", "MuseGNN.train")): "query mapping has its own default and epoch",
    ("max_pairs", ("metrics.neighbor_overlap", "metrics.paper_metrics")): "budget per cluster or for both metrics",
    ("max_sets", ("metrics.pair_auroc",)): "geneset_auroc adds the cost of its per-set fits",
    ("max_size", ("tl.enrichment",)): "sizes within the background there, within the embedding for the metrics",
    ("min_size", ("tl.enrichment",)): "sizes within the background there, within the embedding for the metrics",
    ("modules", ("tl.module_scores",)): "modules to score there, modules to show in pl.enrichment",
    ("n_jobs", ("pp.coexpression_graphs",)): "processes over datasets there, fits per set in geneset_auroc",
    ("n_latent", ("tl.fit",)): "fit refers to MuseGNN for its model options",
    ("n_neighbors", ("metrics.ilisi", "metrics.neighbor_overlap", "metrics.paper_metrics", "pl.embedding",
                     "pp.coexpression_graph", "tl.gene_modules")): "kNN graphs of different purposes",
    ("n_top", ("tl.similar_genes",)): "neighbours there, terms per module in pl.enrichment",
    ("n_top_genes", ("pp.residual_hvg",)): "genes flagged there, graph genes in coexpression_graph",
    ("negatives", ("metrics.pair_auroc",)): "the metric's negative gene pairs there, the edge decoder's in training",
    ("orthologs", ("tl.ortholog_coclustering",)): "optional there, with the direction of its species pair",
    ("params", ("pp.CSCoreResult",)): "result attributes of different functions",
    ("random_state", ("metrics.neighbor_overlap", "metrics.paper_metrics", "tl.embed", "MuseGNN.map_query",
                      "MuseGNN", "datasets.simulate", "metrics.auc_graph", "metrics.geneset_auroc",
                      "metrics.pair_auroc", "pl.embedding", "tl.context_shift", "tl.fit", "tl.gene_modules",
                      "tl.module_scores")): "each seed drives different random draws",
    ("resolution", ("metrics.neighbor_overlap", "metrics.paper_metrics", "tl.gene_modules")): "Leiden for "
    "modules or for the metric's clusters, documented with the other Leiden options",
    ("return_all", ("metrics.auc_graph", "metrics.neighbor_overlap")): "each returns its own breakdown",
    ("seq_depth", ("pp.cscore_arrays",)): "an array there; cscore also takes an obs column or None",
    ("share", ("tl.fit",)): "fit refers to MuseGNN for its model options",
    ("show_progress_bar", ("pp.cscore", "pp.cscore_arrays", "pp.sparkx", "pp.sparkx_test",
                           "pp.coexpression_graph", "pp.coexpression_graphs")): "says what the bar counts",
    ("source", ("pp.map_orthologs", "tl.enrichment")): "species, or a column of gene_sets",
    ("species", ("tl.ortholog_coclustering",)): "a species pair there, the species cycled over in simulate",
    ("table", ("metrics.average_rank",)): "input table there, result attribute of GeneSetScores",
    ("target", ("pp.map_orthologs", "tl.enrichment")): "species, or a column of gene_sets",
    ("theta", ("pp.graph_from_edgelist",)): "only stored for the node features",
    ("tissue_key", ("metrics.context_separation", "pl.module_sharing", "tl.context_shift")): "which context "
    "column each compares, and metrics.average_rank's table column",
    ("use_rep", ("metrics.common_gene_ratio", "metrics.gene_embedding_table", "metrics.geneset_auroc",
                 "metrics.pair_auroc", "pl.embedding", "tl.context_shift", "tl.joint_embedding")):
        "other inputs than a joint embedding's obsm, or extra handling of its rows",
    ("weighting", ("metrics.gene_embedding_table",)): "refers to the weightings described in its own docstring",
}


def sections(doc: str | None) -> dict[str, list[str]]:
    """The numpydoc sections of a docstring: header → its lines (dedented docstring)."""
    lines = inspect.cleandoc(doc or "").split("\n")
    out: dict[str, list[str]] = {}
    current = None
    i = 0
    while i < len(lines):
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if lines[i].strip() and not lines[i].startswith(" ") and len(nxt) >= 3 and set(nxt) == {"-"}:
            current = lines[i].strip()
            out[current] = []
            i += 2
            continue
        if current is not None:
            out[current].append(lines[i])
        i += 1
    return out


def parse_params(doc: str | None, section: str = "Parameters") -> dict[str, str]:
    """Parameter name → description (whitespace folded); ``a, b`` entries give each name the shared text."""
    out: dict[str, list[str]] = {}
    names: list[str] = []
    for line in sections(doc).get(section, []):
        if line.strip() and not line.startswith(" "):
            names = [n.strip() for n in line.split(" : ")[0].split(",")]
            for n in names:
                out[n] = []
        elif line.strip() and names:
            for n in names:
                out[n].append(line.strip())
    return {k: " ".join(v) for k, v in out.items()}


def public_api() -> Iterator[tuple[str, Any]]:
    """(qualified name, object) of every public function, class and method."""
    for modname in MODULES:
        mod = getattr(mg, modname)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                yield f"{modname}.{name}", obj
            elif inspect.isclass(obj):
                yield f"{modname}.{name}", obj
                for meth, f in vars(obj).items():
                    if not meth.startswith("_") and inspect.isfunction(f):
                        yield f"{modname}.{name}.{meth}", f
    yield "MuseGNN", mg.MuseGNN
    for meth, f in vars(mg.MuseGNN).items():
        if not meth.startswith("_") and isinstance(f, Callable | classmethod | staticmethod):
            yield f"MuseGNN.{meth}", getattr(mg.MuseGNN, meth)


def signature_params(obj: Any) -> list[str]:
    sig = inspect.signature(obj)
    return [
        name for name, p in sig.parameters.items()
        if name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def documented(obj: Any) -> dict[str, str]:
    params = parse_params(obj.__doc__)
    if inspect.isclass(obj) and not params:  # result dataclasses document their fields as attributes
        params = parse_params(obj.__doc__, "Attributes")
    return params


API = dict(public_api())


def test_api_is_collected() -> None:
    """The walk sees the public API (an empty walk would pass every check below)."""
    assert {"pp.cscore", "tl.embed", "pl.embedding", "metrics.ilisi", "datasets.simulate", "io.read_gmt",
            "MuseGNN.map_query", "MuseGNN"} <= set(API)


@pytest.mark.parametrize("qualname", sorted(API))
def test_every_parameter_documented(qualname: str) -> None:
    obj = API[qualname]
    missing = [p for p in signature_params(obj) if p not in documented(obj)]
    assert not missing, f"{qualname}: parameters without documentation: {missing}"


def descriptions() -> dict[str, dict[str, str]]:
    """Parameter name → {function: description}, over the public API."""
    by_name: dict[str, dict[str, str]] = defaultdict(dict)
    for qualname, obj in API.items():
        params = documented(obj)
        for name in signature_params(obj):
            if name in params:
                by_name[name][qualname] = params[name]
    return by_name


def test_shared_parameters_described_alike() -> None:
    """A parameter name shared by public functions has one description (apart from :data:`ALLOWED`)."""
    problems = []
    for name, texts in sorted(descriptions().items()):
        kept = {q: t for q, t in texts.items() if q not in _exempt(name)}
        variants: dict[str, list[str]] = defaultdict(list)
        for q, t in kept.items():
            variants[t].append(q)
        if len(variants) > 1:
            problems.append(f"{name}: " + " | ".join(f"{sorted(qs)}: {t[:80]!r}" for t, qs in variants.items()))
    assert not problems, "parameters described differently:\n" + "\n".join(problems)


def _exempt(name: str) -> set[str]:
    return {q for (n, funcs) in ALLOWED for q in funcs if n == name}


def test_allow_list_is_current() -> None:
    """Every allowed function has the parameter and a description that differs from the shared one."""
    by_name = descriptions()
    stale = []
    for (name, funcs), reason in ALLOWED.items():
        assert reason.strip() and "\n" not in reason, (name, funcs)
        texts = by_name.get(name, {})
        shared = {t for q, t in texts.items() if q not in _exempt(name)}
        stale += [(name, q) for q in funcs if q not in texts or texts[q] in shared]
    assert not stale, f"allow-list entries without a different description (remove them): {stale}"
