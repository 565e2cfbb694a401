"""Write ``04_interferon_response.ipynb`` (without outputs).

Run ``python tutorials/_make_04.py --execute`` to also execute it in place (nbclient, working directory
``tutorials/``), so that the outputs are stored in the file. The data come from ``mg.datasets.kang2018()`` and
``mg.datasets.go_bp_human()``, which download once into ``mg.settings.datasetdir`` (or find the files there).
"""

from __future__ import annotations

from _nbtools import code, md, write

md(r"""
# Control vs interferon-β: which genes change their role?

Kang et al. (2018) profiled peripheral blood mononuclear cells of eight donors, once as they were and once after
six hours of interferon-β. Interferon switches on hundreds of interferon-stimulated genes (ISGs) in every cell
type. This notebook asks the question MuSe-GNN is built for: which genes change their *co-expression role*
between the two conditions?

Steps:

1. load the data with `mg.datasets.kang2018()` and split it into four datasets: control and stimulated, each as a
   myeloid (monocytes, dendritic cells) and a lymphoid (T, NK, B) compartment;
2. one gene graph per dataset (`mg.pp.coexpression_graphs`) and one model over the four (`mg.tl.fit`);
3. `mg.tl.context_shift` between the conditions, and how its ranking compares with a plain expression fold change
   on the GO sets "response to type I interferon" and "response to virus";
4. the genes that shift most, their GO enrichment and where they sit in the joint embedding.

It runs on a laptop CPU in about ten minutes (1,000 genes per graph, 100 epochs; the benchmarks use 2,000 genes and
the default 300 epochs).
""")

code(r'''
import numpy as np
import pandas as pd
import scanpy as sc
import muse_gnn as mg

mg.settings.verbosity = "info"
mg.settings.progress_bar = False  # keep the stored notebook short
kang = mg.datasets.kang2018()  # downloaded once into mg.settings.datasetdir
kang
''')

md(r"""
## 1. Four datasets: condition × compartment

A gene's co-expression neighbourhood differs between monocytes and lymphocytes for reasons that have nothing to
do with interferon, so each condition is split by compartment; the context analysis then compares the two
conditions while the compartments give it a measure of how much a gene moves for other reasons.
""")

code(r'''
compartments = {
    "myeloid": ["CD14 Mono", "CD16 Mono", "DC"],
    "lymphoid": ["CD4 Naive T", "CD4 Memory T", "CD8 T", "T activated", "NK", "B", "B Activated"],
}
adatas = {}
for stim, condition in (("CTRL", "control"), ("STIM", "stimulated")):
    for comp, types in compartments.items():
        keep = (kang.obs["stim"] == stim) & kang.obs["seurat_annotations"].isin(types)
        ad = kang[keep.to_numpy()].copy()
        ad.uns.update({"tissue": f"blood_{comp}", "technology": "10x", "species": "human", "condition": condition})
        adatas[f"{condition}_{comp}"] = ad
{k: v.n_obs for k, v in adatas.items()}
''')

md(r"""
## 2. Gene graphs and one model

The default graph links every pair of genes that CS-CORE finds significantly co-expressed (p < 0.005), the rule
of the paper, which gave the best gene function on the package's real-data benchmark; the table shows how dense
that is here (`edge_rule="knn"` keeps a fixed number of partners per gene instead). `n_comps=256` projects each
gene's residuals across cells onto 256 axes, which keeps the input layers small.
""")

code(r'''
mg.pp.coexpression_graphs(adatas, n_top_genes=1000, n_comps=256)
pd.DataFrame({k: ad.uns["muse"]["params"] for k, ad in adatas.items()}).loc[["n_genes", "n_edges", "density"]]
''')

code(r'''
model = mg.tl.fit(adatas, max_epochs=100, random_state=0)
joint = model.get_joint_embedding()
joint.obs["condition"] = joint.obs["dataset"].map({k: ad.uns["condition"] for k, ad in adatas.items()})
joint
''')

md(r"""
## 3. Which genes shift between the conditions?

`mg.tl.context_shift` compares, for every gene measured in both conditions, its rows of the control and the
stimulated datasets. The default statistic (`statistic="relative"`) divides the gene's move between conditions by
its spread between datasets of the same condition (here: myeloid vs lymphoid), so a gene whose rows wander in
every dataset (a lowly expressed, noisy gene) is not mistaken for one that changes its role. `statistic="shift"`
is the raw move.
""")

code(r'''
res = mg.tl.context_shift(joint, between=("control", "stimulated"), tissue_key="condition", n_permutations=0)
res.head(15)
''')

md(r"""
How well do the rankings find the interferon genes? We score them with the GO biological-process sets
"response to type I interferon" and "response to virus" (AUROC of the ranking for the set's genes among all
ranked genes), next to the |log2 fold change| of pseudo-bulk expression.
""")

code(r'''
from sklearn.metrics import roc_auc_score

go = mg.datasets.go_bp_human()  # {GO id: genes}, with GO term names in mg.datasets.go_bp_terms()
sets = {"response to type I interferon": go["GO:0034340"], "response to virus": go["GO:0009615"]}


def pseudo_bulk(condition):
    parts = [ad for ad in adatas.values() if ad.uns["condition"] == condition]
    total = sum(pd.Series(np.asarray(ad.X.sum(axis=0)).ravel(), index=ad.var_names) for ad in parts)
    return total / total.sum() * 1e6


lfc = np.log2((pseudo_bulk("stimulated") + 1) / (pseudo_bulk("control") + 1))
rankings = {"context_shift (relative)": res["relative_shift"], "context_shift (raw shift)": res["shift"],
            "|log2 FC| pseudo-bulk": lfc.abs().reindex(res.index)}
rows = []
for name, score in rankings.items():
    ok = score.notna()
    for set_name, genes in sets.items():
        y = score.index[ok].isin(genes)
        rows.append({"ranking": name, "GO set": set_name, "genes": int(ok.sum()), "in set": int(y.sum()),
                     "AUROC": roc_auc_score(y, score[ok])})
pd.DataFrame(rows).pivot(index="ranking", columns="GO set", values="AUROC").round(3)
''')

md(r"""
The raw shift ranks the interferon genes near chance: they form one tight module in both conditions (in the
control cells their low baseline expression is still co-ordinated), so their direction in the embedding moves
little, while noisy genes wander. Dividing by the within-condition spread lifts them: *CXCL11*, *RSAD2*, *OAS1*,
*CXCL10* and *CCL8* are among the 15 most shifted genes above, and the relative shift reaches an AUROC of about 0.90
for "response to type I interferon" (about 0.60 for the broader "response to virus"). The plain
fold change is still the better detector of *induced* genes, because interferon changes how much these genes are
expressed more than whom they are co-expressed with. `benchmarks/context_shift.py` measures this at 2,000
genes. The embedding answers a different question (which genes change partners), and the table keeps the
difference visible; for "which genes respond to the stimulus", use differential expression
(`sc.tl.rank_genes_groups`).

## 4. The shifted genes: enrichment and embedding

We label the 100 genes with the largest relative shift as one group and test it for GO enrichment against all
genes ranked.
""")

code(r'''
top = set(res["relative_shift"].dropna().index[:100])
joint.obs["shifted"] = pd.Categorical(np.where(joint.obs["gene"].isin(top), "top 100 shifted", "other"))
terms = mg.datasets.go_bp_terms()  # GO id -> term name
enr = mg.tl.enrichment(joint, go, groupby="shifted", background=res.index, fdr=0.25)
enr = enr[enr["module"] == "top 100 shifted"].copy()
enr["name"] = enr["term"].map(terms)
enr[["name", "overlap", "fold_enrichment", "fdr", "overlap_genes"]].head(10)
''')

code(r'''
mg.pl.enrichment(enr, n_top=8, modules=["top 100 shifted"])
''')

code(r'''
mg.pl.embedding(joint, color=["condition", "tissue", "shifted"])
''')

md(r"""
## Summary

- Four datasets (condition × compartment) give one joint embedding of 1,000-gene graphs per dataset.
- `mg.tl.context_shift(statistic="relative")` ranks genes by how much they move between conditions relative to how
  much they move between compartments of the same condition; it demotes noisy genes that the raw shift put first.
- On this data the interferon-response genes change their expression more than their co-expression partners:
  a fold change finds them better than the relative shift does (the benchmark page reports the numbers), but the
  most shifted genes include interferon-induced genes, and the 100 most shifted are enriched for
  "response to type I interferon" (FDR 0.004) and "defense response to virus" (FDR 0.02).
""")

write("04_interferon_response.ipynb")
