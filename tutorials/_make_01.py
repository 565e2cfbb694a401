import nbformat as nbf
nb = nbf.v4.new_notebook()
md = nbf.v4.new_markdown_cell
code = nbf.v4.new_code_cell
nb.cells = [
md("""# Quickstart: gene embeddings from several simulated datasets

This notebook runs the whole MuSe-GNN workflow on a small simulated collection (a few minutes on a laptop CPU):

1. simulate four datasets (heart and lung, scRNA-seq and spatial) whose genes belong to planted modules,
2. build one gene–gene co-expression graph per dataset with `mg.pp.coexpression_graphs` (Pearson-residual HVGs,
   SPARK-X for the spatial datasets, CS-CORE edges),
3. train one model over all datasets with `mg.tl.fit`,
4. cluster the joint gene embedding into modules, compare them with the planted truth, and look at similar genes.

With your own data, replace the simulator by a list or dict of AnnData objects holding raw counts."""),
code("""%matplotlib inline
import warnings

import scanpy as sc

import muse_gnn as mg

warnings.filterwarnings("ignore", category=FutureWarning)
sc.settings.verbosity = 0
mg.__version__"""),
md("""## 1. Data

`mg.datasets.simulate` returns a dict of AnnData objects named `{technology}_{tissue}_{i}`, with raw counts in `.X`,
the planted module of each gene in `.var["module"]` (−1: no module) and, for spatial data, coordinates in
`.obsm["spatial"]`."""),
code("""adatas = mg.datasets.simulate(
    n_datasets=4, tissues=("heart", "lung"), technologies=("scrna", "spatial"),
    n_genes=500, n_cells=(300, 500), n_modules=10, random_state=0,
)
adatas"""),
md("""## 2. One gene graph per dataset

Each dataset gets its 250 most informative genes (Pearson-residual variance, or SPARK-X p-value for spatial data)
and an edge between two genes when CS-CORE finds them co-expressed (p < 0.005). The graph is stored like scanpy's
neighbour graphs, in `adata.varp["muse_connectivities"]`; the selected genes in `adata.var["muse_selected"]`."""),
code("""mg.pp.coexpression_graphs(adatas, n_top_genes=250, show_progress_bar=False)
for name, ad in adatas.items():
    p = ad.uns["muse"]["params"]
    print(f"{name:18s} {p['flavor']:18s} {p['n_genes']} genes, {p['n_edges']} edges")"""),
md("""## 3. Train MuSe-GNN

`mg.tl.fit` trains one graph-transformer over all graphs: a dataset-specific input layer per dataset, shared
layers, and losses that reconstruct each graph, pull the same gene together across datasets where its neighbours
agree (Jaccard-weighted cosine) and keep dataset-specific genes distinct (contrastive term). Each dataset receives
its embedding in `adata.varm["X_muse"]`."""),
code("""model = mg.tl.fit(adatas, max_epochs=150, show_progress_bar=False)
model"""),
code("""mg.pl.history(model)"""),
md("""## 4. The joint embedding

`model.joint_embedding()` stacks one row per (gene, dataset), like cells in a scanpy object, so the usual scanpy
tools apply. `mg.tl.gene_modules` runs Leiden on it."""),
code("""joint = model.joint_embedding()
mg.tl.gene_modules(joint, resolution=1.0, adatas=model.adatas)
# the planted truth, for comparison
joint.obs["planted_module"] = [
    str(adatas[d].var.loc[g, "module"]) for g, d in zip(joint.obs["gene"], joint.obs["dataset"])
]
joint"""),
code("""from sklearn.metrics import adjusted_rand_score

keep = joint.obs["planted_module"] != "-1"
ari = adjusted_rand_score(joint.obs.loc[keep, "planted_module"], joint.obs.loc[keep, "muse_module"])
print(f"Leiden modules vs planted modules: ARI = {ari:.2f}")
print(f"same gene is the nearest cross-dataset neighbour: {mg.metrics.same_gene_nn_rate(joint):.2f}")"""),
code("""mg.pl.embedding(joint, color=["dataset", "planted_module", "muse_module"])"""),
md("""Genes most similar to a gene, within and across datasets:"""),
code("""gene = joint.obs["gene"].value_counts().index[0]
mg.tl.similar_genes(joint, [gene], n_top=3).head(8)"""),
md("""## 5. Save and reload

The model folder holds the weights, the embeddings and the graphs (no pickled Python objects)."""),
code("""import tempfile

path = tempfile.mkdtemp()
model.save(path, overwrite=True)
reloaded = mg.MuseGNN.load(path)
reloaded"""),
]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, str(__import__("pathlib").Path(__file__).with_name("01_quickstart.ipynb")))
