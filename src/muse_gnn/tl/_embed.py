"""``mg.tl.embed``: map a new dataset into a trained model without retraining the others."""

from __future__ import annotations

import numpy as np
import torch
from anndata import AnnData

from .._utils import logger, resolve_device
from ..model import MuseGNN
from ..model._data import genes_to_var, prepare_graph
from ..model._losses import edge_bce, weighted_similarity
from ..model._negatives import EdgeLookup, sample_negatives

__all__ = ["embed"]


def embed(
    model: MuseGNN,
    adata: AnnData,
    *,
    name: str | None = None,
    graph_key: str | None = None,
    max_epochs: int = 800,
    lr: float = 1e-3,
    lr_decoder: float | None = None,
    accelerator: str = "auto",
    random_state: int = 0,
    show_progress_bar: bool = True,
    key_added: str = "X_muse",
    inplace: bool = True,
) -> np.ndarray:
    """Add a dataset the model never saw, keeping every trained dataset's embedding fixed.

    Like scArches query mapping: a new input layer (and decoder) is trained for ``adata`` against the
    *frozen* shared layers, with its reconstruction loss and the Jaccard-weighted similarity of its common
    genes to every trained dataset (their stored embeddings are fixed targets, so all are used each epoch). The dataset is then
    part of the model (``model.joint_embedding()`` includes it, ``model.save`` stores it).

    Parameters
    ----------
    model
        A trained :class:`muse_gnn.MuseGNN`.
    adata
        The new dataset, with a graph from :func:`muse_gnn.pp.coexpression_graph`.
    name
        Its name (default ``adata.uns["dataset"]`` or ``"query_{i}"``).
    graph_key
        Its graph key (default: the model's).
    max_epochs, lr, lr_decoder, accelerator, random_state, show_progress_bar
        Training options, as in :meth:`muse_gnn.MuseGNN.train`. One epoch is one step on the new dataset
        alone, so the default 800 epochs cost about as much as a few full-model epochs; on the simulator
        benchmark 800 epochs reached 88 % of the retraining score where 300 reached 78 % (a higher ``lr``
        was worse).
    key_added
        ``adata.varm`` key of the embedding (when ``inplace``).
    inplace
        Write ``adata.varm[key_added]``.

    Returns
    -------
    The new dataset's graph-gene embedding, ``(n_graph_genes, n_latent)``.

    Examples
    --------
    >>> import muse_gnn as mg
    >>> adatas = mg.datasets.simulate(n_datasets=3, n_genes=200, n_cells=(100, 150))
    >>> mg.pp.coexpression_graphs(adatas, n_top_genes=80, method="pearson", show_progress_bar=False)
    >>> query = adatas.pop("scrna_lung_2")
    >>> model = mg.tl.fit(adatas, max_epochs=2, show_progress_bar=False)
    >>> mg.tl.embed(model, query, max_epochs=2, show_progress_bar=False).shape
    (80, 32)
    """
    from .._progress import progress_bar

    if not isinstance(model, MuseGNN):
        raise TypeError(f"embed: `model` must be a MuseGNN, got {type(model).__name__}.")
    model._require_trained()
    if name is None:
        name = str(adata.uns.get("dataset", f"query_{len(model.graphs)}"))
    if name in model.dataset_names:
        raise ValueError(f"embed: a dataset named {name!r} is already in the model; pass another `name=`.")
    graph = prepare_graph(adata, name, graph_key=graph_key or model.init_params["graph_key"])
    device = resolve_device(accelerator)
    module = model.module.to(device)
    share = model.init_params["share"]
    key = "all" if share == "all" else graph.group
    from ..model._module import _module_key

    if share == "group" and _module_key(key) not in module.shared:
        raise ValueError(
            f"embed: the model shares layers per tissue × technology group and has none for {key!r}; "
            f"known groups: {sorted(module.shared.keys())}."
        )
    gi = model.gene_index
    rng = np.random.default_rng([random_state, 2])
    t_new = gi.add(graph, rng)
    common = {u: gi.common(t_new, u) for u in range(t_new)}
    partners = [u for u, c in common.items() if c[0].size and model._embeddings[u] is not None]
    if t_new and not partners:
        gi.gids.pop(); gi.order.pop(); gi.sorted_gids.pop(); gi.adj.pop(); gi.positive.pop()
        raise ValueError(
            f"embed: dataset {name!r} shares no graph gene with the trained datasets; check the gene identifiers "
            "(map other species with `mg.pp.map_orthologs`)."
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        idx = module.add_dataset(graph.n_features, graph.n_nodes, key)
    module.to(device)
    assert idx == t_new
    inp, dec = module.input_layers[f"d{t_new}"], module.decoders[f"d{t_new}"]
    for p in module.parameters():
        p.requires_grad_(False)
    for p in (*inp.parameters(), *dec.parameters()):
        p.requires_grad_(True)
    opt = torch.optim.Adam([{"params": inp.parameters(), "lr": lr},
                            {"params": dec.parameters(), "lr": lr_decoder or 10 * lr}])
    x, ei = graph.x.to(device), graph.edge_index.to(device)
    nb = module.make_batch([t_new], [x], [ei])
    sim_a = torch.as_tensor(np.concatenate([common[u][0] for u in partners] or [np.zeros(0, int)]),
                            dtype=torch.long, device=device)
    target_rows = torch.as_tensor(
        np.concatenate([model._embeddings[u][common[u][1]] for u in partners] or [np.zeros((0, 1))]),
        dtype=torch.float32, device=device)
    sim_w = torch.as_tensor(np.concatenate([common[u][2] for u in partners] or [np.zeros(0)]),
                            dtype=torch.float32, device=device)
    sim_pair = torch.as_tensor(np.concatenate([np.full(common[u][0].size, i) for i, u in enumerate(partners)]
                                              or [np.zeros(0, int)]), dtype=torch.long, device=device)
    gen = torch.Generator(device=device)
    gen.manual_seed(random_state)
    dense = None
    if module.decoder_kind == "mlp":
        dense = torch.zeros(graph.n_nodes, graph.n_nodes, device=device)
        dense[ei[0], ei[1]] = 1.0
    pos = ei[:, ei[0] < ei[1]]
    zero = torch.zeros(pos.shape[1], dtype=torch.long, device=device)
    n_nodes = torch.full_like(zero, graph.n_nodes)
    lookup = EdgeLookup(ei, graph.n_nodes)
    module.eval()
    history = []
    for _ in progress_bar(range(int(max_epochs)), desc=f"embedding {name}", disable=not show_progress_bar):
        inp.train()
        opt.zero_grad(set_to_none=True)
        z = module.encode(nb)
        if dense is not None:
            rec = torch.nn.functional.binary_cross_entropy_with_logits(dec(z), dense)
        else:
            tail, valid = sample_negatives(pos[0], zero, n_nodes, lookup, gen)
            rec = edge_bce(dec(z, pos), dec(z, torch.stack([pos[0], tail])), zero, zero, 1, valid)[0]
        loss = rec
        if partners:
            # the trained datasets' embeddings are fixed targets, so every epoch uses all of them at once
            sim = weighted_similarity(z[sim_a], target_rows, sim_w, sim_pair, len(partners)).mean()
            loss = loss + sim
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    for p in module.parameters():
        p.requires_grad_(True)
    with torch.no_grad():
        inp.eval()
        emb = module.encode(nb).float().cpu().numpy()
    model.graphs.append(graph)
    model._embeddings.append(emb)
    model.adatas[name] = adata
    logger.info("embed: %s mapped (%d genes, final loss %.4f)", name, graph.n_nodes, history[-1] if history else 0)
    if inplace:
        adata.varm[key_added] = genes_to_var(adata, graph.genes, emb, name)
        adata.uns[key_added] = {"params": {"dataset": name, "mapped": True, "max_epochs": int(max_epochs),
                                           "lr": float(lr), "random_state": int(random_state)}}
    return emb


