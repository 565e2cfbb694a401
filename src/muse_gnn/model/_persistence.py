"""Persistence of a :class:`~muse_gnn.MuseGNN`: a folder of three files (weights, arrays, JSON attributes).

No pickled Python objects: ``model.pt`` is a tensor state dict (loaded with ``weights_only=True``), ``arrays.npz``
holds the graphs and embeddings, ``attrs.json`` everything else. A folder is written next to its target and moved
into place once complete (:func:`save_model`).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from .._utils import as_dataset_dict, logger, resolve_device
from ._data import GraphData, prepare_graph

if TYPE_CHECKING:
    from ._model import MuseGNN

__all__ = [
    "FORMAT_VERSION",
    "HISTORY_COLUMNS",
    "SAVED_FILES",
    "attach",
    "h5_safe",
    "load_model",
    "save_model",
    "write_files",
]

FORMAT_VERSION = 1
"""Version of the saved-model folder layout; :func:`load_model` refuses newer ones."""

_MODEL_FILE, _ATTR_FILE, _ARRAY_FILE = "model.pt", "attrs.json", "arrays.npz"
SAVED_FILES = (_MODEL_FILE, _ARRAY_FILE, _ATTR_FILE)
"""The files of a saved model (``overwrite=True`` refuses a folder holding any other)."""

HISTORY_COLUMNS = ["loss", "reconstruction", "similarity", "contrastive"]
"""Columns of ``MuseGNN.history``."""


def h5_safe(d: dict[str, Any]) -> dict[str, Any]:
    """Parameters as h5ad-writable scalars (None -> "None")."""
    out = {}
    for k, v in d.items():
        if v is None:
            out[k] = "None"
        elif isinstance(v, bool | int | float | str | np.integer | np.floating):
            out[k] = v
        else:
            out[k] = str(v)
    return out


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("muse-gnn")
    except PackageNotFoundError:  # pragma: no cover
        return "0.0.0"


def save_model(model: MuseGNN, dir_path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Write ``model`` to the folder ``dir_path`` atomically (see :meth:`muse_gnn.MuseGNN.save`)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and int(os.environ.get("RANK", "0")) != 0:
        logger.debug("save: rank %s of a torchrun job, rank 0 writes the model", os.environ.get("RANK"))
        return
    path = Path(dir_path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} is a file; `save` writes a folder. Choose another path.")
    existing = sorted(p.name for p in path.iterdir()) if path.exists() else []
    if existing and not overwrite:
        raise FileExistsError(f"{path} exists and is not empty; pass overwrite=True to replace it.")
    foreign = sorted(set(existing) - set(SAVED_FILES))
    if foreign:  # overwrite replaces the folder as a whole: never delete the user's other files
        raise FileExistsError(
            f"{path} holds files that are not part of a saved MuseGNN model ({foreign[:3]}); overwrite=True "
            "only replaces a saved model. Save to another folder."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    for pattern in (f".{path.name}.tmp-*", f".{path.name}.old-*"):  # left by a process killed while saving
        for stale in path.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)
    # everything goes to a sibling folder first and replaces `path` only once complete, so an error or a
    # kill while saving leaves the previous model (if any) as it was; mkdir (not tempfile.mkdtemp, which
    # makes it private) gives the folder the permissions the user's umask asks for
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        write_files(model, tmp)
        if existing:
            old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if path.exists():
                path.rmdir()  # empty
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)



def write_files(model: MuseGNN, path: Path) -> None:
    """Write the three files of a saved model into the existing folder ``path`` and fsync them."""
    state = {k: v.detach().cpu() for k, v in model.module.state_dict().items()}
    torch.save(state, path / _MODEL_FILE)
    arrays: dict[str, np.ndarray] = {}
    for t, g in enumerate(model.graphs):
        arrays[f"edges_{t}"] = g.edge_index.cpu().numpy()
        if model._embeddings[t] is not None:
            arrays[f"embedding_{t}"] = model._embeddings[t]
    np.savez_compressed(path / _ARRAY_FILE, **arrays)
    attrs = {
        "format_version": FORMAT_VERSION,
        "muse_gnn_version": _version(),
        "init_params": model.init_params,
        "train_params": h5_safe(model.train_params),
        "is_trained": model.is_trained,
        "shared_keys": model.module.shared_keys,
        "datasets": [
            {"name": g.name, "genes": list(map(str, g.genes)), "n_features": g.n_features,
             "tissue": g.tissue, "technology": g.technology, "species": g.species}
            for g in model.graphs
        ],
        "history": {k: [float(x) for x in model.history[k]] for k in model.history.columns},
    }
    (path / _ATTR_FILE).write_text(json.dumps(attrs, indent=1))
    for name in SAVED_FILES:  # on disk before the folder is swapped in
        with open(path / name, "rb") as fh:
            os.fsync(fh.fileno())


def load_model(
    cls: type[MuseGNN], dir_path: str | os.PathLike, adatas: Any = None, *, accelerator: str = "auto"
) -> MuseGNN:
    """Read a model written by :func:`save_model` (see :meth:`muse_gnn.MuseGNN.load`)."""
    path = Path(dir_path)
    if not (path / _ATTR_FILE).exists():
        raise FileNotFoundError(f"{path} holds no saved MuseGNN model ({_ATTR_FILE} missing).")
    attrs = json.loads((path / _ATTR_FILE).read_text())
    fmt = int(attrs.get("format_version", -1))
    if fmt > FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in model format {fmt} by muse_gnn {attrs.get('muse_gnn_version')}; this "
            f"muse_gnn ({_version()}) reads format <= {FORMAT_VERSION}. Upgrade muse_gnn to load it."
        )
    if fmt < 1:
        raise ValueError(f"{path}: unknown model format {fmt}.")
    arrays = np.load(path / _ARRAY_FILE, allow_pickle=False)
    graphs = []
    for t, d in enumerate(attrs["datasets"]):
        g = GraphData(name=d["name"], genes=pd.Index(d["genes"]), x=None,
                      edge_index=torch.as_tensor(arrays[f"edges_{t}"], dtype=torch.long),
                      tissue=d["tissue"], technology=d["technology"], species=d["species"],
                      meta={"n_features": int(d["n_features"])})
        graphs.append(g)
    model = cls.__new__(cls)
    model._setup(graphs, attrs["init_params"])
    state = torch.load(path / _MODEL_FILE, map_location="cpu", weights_only=True)
    model.module.load_state_dict(state)
    model.device = resolve_device(accelerator)
    model.module.to(model.device)
    model.train_params = attrs["train_params"]
    model.history = pd.DataFrame(attrs["history"], columns=HISTORY_COLUMNS)
    model.history.index.name = "epoch"
    model.is_trained = bool(attrs["is_trained"])
    model._embeddings = [arrays[f"embedding_{t}"] if f"embedding_{t}" in arrays else None
                         for t in range(len(graphs))]
    model.adatas = {g.name: None for g in graphs}
    if adatas is not None:
        attach(model, adatas)
    return model


def attach(model: MuseGNN, adatas: Any) -> None:
    """Attach the training AnnData objects to a loaded model, checking that their graphs match."""
    named = as_dataset_dict(adatas, "MuseGNN.load")
    if list(named) != model.dataset_names:
        if len(named) == len(model.graphs) and all(k.startswith("dataset_") for k in named):
            named = dict(zip(model.dataset_names, named.values(), strict=True))
        else:
            raise ValueError(f"dataset names {list(named)} differ from the saved ones {model.dataset_names}.")
    for t, (name, ad) in enumerate(named.items()):
        g = prepare_graph(ad, name, graph_key=model.init_params["graph_key"])
        saved = model.graphs[t]
        if not g.genes.equals(saved.genes):
            diff = [(i, a, b) for i, (a, b) in enumerate(zip(saved.genes, g.genes, strict=False)) if a != b][:5]
            raise ValueError(
                f"dataset {name!r}: its graph genes differ from the saved model's ({len(g.genes)} vs "
                f"{len(saved.genes)} genes; first differences (position, saved, given): {diff}). Pass the "
                "same AnnData, with the same graph, as in training."
            )
        if g.n_features != saved.n_features:
            raise ValueError(f"dataset {name!r}: {g.n_features} cells, but the model was trained on "
                             f"{saved.n_features}.")
        saved.x = g.x
    model.adatas = dict(named)


