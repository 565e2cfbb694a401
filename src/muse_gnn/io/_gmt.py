"""Reader of gene sets in the GMT format (MSigDB / Enrichr / GO exports)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Literal, overload

import pandas as pd

from muse_gnn._utils import logger

__all__ = ["read_gmt"]


@overload
def read_gmt(path: str | os.PathLike[str], *, as_frame: Literal[False] = ...) -> dict[str, list[str]]: ...


@overload
def read_gmt(path: str | os.PathLike[str], *, as_frame: Literal[True]) -> pd.DataFrame: ...


def read_gmt(path: str | os.PathLike[str], *, as_frame: bool = False) -> dict[str, list[str]] | pd.DataFrame:
    """Read a GMT gene-set file.

    Each non-empty line is ``name <TAB> description <TAB> gene <TAB> gene ...``. Empty gene fields
    (trailing tabs) are skipped, a gene repeated within a set is kept once, and a set may have no genes.
    Files ending in ``.gz`` are decompressed.

    Parameters
    ----------
    path
        Path of the ``.gmt`` (or ``.gmt.gz``) file.
    as_frame
        Return a long :class:`pandas.DataFrame` with columns ``source`` (set name) and ``target`` (gene),
        one row per (set, gene), as decoupler uses, instead of a dict. Sets without genes then have no row.

    Returns
    -------
    ``{set name: [genes]}`` in file order, or the long DataFrame.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        A line has fewer than two fields, an empty set name, or a set name repeats.

    Examples
    --------
    >>> import tempfile, os
    >>> import muse_gnn as mg
    >>> path = os.path.join(tempfile.mkdtemp(), "sets.gmt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("SET_A\\tfirst set\\tTP53\\tMDM2\\n" "SET_B\\tna\\tMYC\\n")
    >>> mg.io.read_gmt(path)
    {'SET_A': ['TP53', 'MDM2'], 'SET_B': ['MYC']}
    >>> mg.io.read_gmt(path, as_frame=True).shape
    (3, 2)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_gmt: no such file: {str(path)!r}.")
    opener = gzip.open if path.suffix == ".gz" else open
    sets: dict[str, list[str]] = {}
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise ValueError(
                    f"read_gmt: {path.name} line {lineno} has {len(fields)} tab-separated field(s); "
                    "a GMT line is 'name<TAB>description<TAB>genes...'."
                )
            name = fields[0].strip()
            if not name:
                raise ValueError(f"read_gmt: {path.name} line {lineno} has an empty set name.")
            if name in sets:
                raise ValueError(f"read_gmt: {path.name} line {lineno}: set name {name!r} appears twice.")
            genes = [g.strip() for g in fields[2:]]
            sets[name] = list(dict.fromkeys(g for g in genes if g))
    logger.info("read_gmt: %d gene sets from %s", len(sets), path.name)
    if not as_frame:
        return sets
    rows = [(name, g) for name, genes in sets.items() for g in genes]
    return pd.DataFrame(rows, columns=["source", "target"])
