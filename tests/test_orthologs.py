from __future__ import annotations

import pandas as pd
import pytest

import muse_gnn as mg


def test_map_orthologs_simulated():
    adatas = mg.datasets.simulate(n_datasets=2, species=("human", "mouse"), technologies=("scrna",),
                                  n_genes=200, n_cells=(50, 60), random_state=0)
    mouse = [a for a in adatas.values() if a.uns["species"] == "mouse"][0]
    human = [a for a in adatas.values() if a.uns["species"] == "human"][0]
    table = mg.datasets.simulate_orthologs(n_genes=200)
    n_before = mouse.n_vars
    mg.pp.map_orthologs(mouse, table)
    info = mouse.uns["map_orthologs"]
    assert info["n_mapped"] + info["n_unmapped"] == n_before
    assert mouse.n_vars == info["n_mapped"]
    assert "mouse_symbol" in mouse.var
    assert len(mouse.var_names.intersection(human.var_names)) > 50


def test_map_orthologs_dict_copy_and_ambiguous():
    import anndata as ad
    import numpy as np

    a = ad.AnnData(np.ones((25, 4)), var=pd.DataFrame(index=["Actb", "Gapdh", "Xist", "Foo"]))
    table = pd.DataFrame({"mouse_symbol": ["Actb", "Gapdh", "Gapdh", "Xist"],
                          "human_symbol": ["ACTB", "GAPDH", "GAPDHX", "XIST"]})
    out = mg.pp.map_orthologs(a, table, copy=True)
    assert list(out.var_names) == ["ACTB", "XIST"]  # Gapdh is ambiguous, Foo unmapped
    assert list(a.var_names) == ["Actb", "Gapdh", "Xist", "Foo"]
    kept = mg.pp.map_orthologs(a, {"Actb": "ACTB"}, drop_unmapped=False, copy=True)
    assert list(kept.var_names) == ["ACTB", "Gapdh", "Xist", "Foo"]
    with pytest.raises(ValueError, match="none of"):
        mg.pp.map_orthologs(a, {"Zzz": "ZZZ"})
    with pytest.raises(KeyError, match="columns"):
        mg.pp.map_orthologs(a, pd.DataFrame({"x": [1]}))
    assert list(a.var_names) == ["Actb", "Gapdh", "Xist", "Foo"]
