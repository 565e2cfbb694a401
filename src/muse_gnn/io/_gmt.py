"""Reader of gene sets in the GMT format (MSigDB / Enrichr / GO exports)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Literal, overload

import pandas as pd

from muse_gnn._utils import logger

__all__ = ["read_gmt"]


_KEYS = ("name", "description")


@overload
def read_gmt(
    path: str | os.PathLike[str], *, as_frame: Literal[False] = ..., key: Literal["name", "description"] = ...
) -> dict[str, list[str]]: ...


@overload
def read_gmt(
    path: str | os.PathLike[str], *, as_frame: Literal[True], key: Literal["name", "description"] = ...
) -> pd.DataFrame: ...


def read_gmt(
    path: str | os.PathLike[str],
    *,
    as_frame: bool = False,
    key: Literal["name", "description"] = "name",
) -> dict[str, list[str]] | pd.DataFrame:
    """Read a GMT gene-set file.

    Each non-empty line is ``name <TAB> description <TAB> gene <TAB> gene ...``. Empty gene fields
    (trailing tabs) are skipped, a gene repeated within a set is kept once, and a set may have no genes.
    Files ending in ``.gz`` are decompressed.

    Parameters
    ----------
    path
        Path of the ``.gmt`` (or ``.gmt.gz``) file.
    as_frame
        Return a long :class:`pandas.DataFrame` with columns ``source`` (set key) and ``target`` (gene),
        one row per (set, gene), as decoupler uses, instead of a dict. Sets without genes then have no row.
    key
        Which column identifies a set: ``"name"`` (first column, e.g. ``GO:0000012``) or ``"description"``
        (second column, e.g. ``single strand break repair`` in GO exports; readable labels for plots).
        Keys must be unique and non-empty: a repeated or empty key is an error, not merged, since two lines
        with the same description may still be different sets (use ``key="name"`` then).

    Returns
    -------
    ``{set key: [genes]}`` in file order, or the long DataFrame.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        ``key`` is not ``"name"`` or ``"description"``; a line has fewer than two fields; a set key (name,
        or description with ``key="description"``) is empty or repeats.

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
    >>> mg.io.read_gmt(path, key="description")
    {'first set': ['TP53', 'MDM2'], 'na': ['MYC']}
    """
    if key not in _KEYS:
        raise ValueError(f"read_gmt: `key` must be 'name' or 'description', got {key!r}.")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_gmt: no such file: {str(path)!r}.")
    opener = gzip.open if path.suffix == ".gz" else open
    sets: dict[str, list[str]] = {}
    name_line: dict[str, int] = {}  # set name -> line number
    key_owner: dict[str, str] = {}  # description -> set name (key="description")
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
            if name in name_line:
                raise ValueError(
                    f"read_gmt: {path.name} line {lineno}: set name {name!r} appears twice "
                    f"(first on line {name_line[name]})."
                )
            name_line[name] = lineno
            if key == "name":
                set_key = name
            else:
                set_key = fields[1].strip()
                if not set_key:
                    raise ValueError(
                        f"read_gmt: {path.name} line {lineno}: set {name!r} has an empty description; "
                        "use key='name'."
                    )
                if set_key in key_owner:
                    raise ValueError(
                        f"read_gmt: {path.name} line {lineno}: description {set_key!r} of set {name!r} is "
                        f"also the description of set {key_owner[set_key]!r} (line {name_line[key_owner[set_key]]}); "
                        "descriptions must be unique with key='description', use key='name'."
                    )
                key_owner[set_key] = name
            genes = [g.strip() for g in fields[2:]]
            sets[set_key] = list(dict.fromkeys(g for g in genes if g))
    logger.info("read_gmt: %d gene sets from %s", len(sets), path.name)
    if not as_frame:
        return sets
    rows = [(name, g) for name, genes in sets.items() for g in genes]
    return pd.DataFrame(rows, columns=["source", "target"])
