"""Helpers shared by the notebook generators ``_make_02.py`` and ``_make_03.py``.

A generator calls :func:`md` and :func:`code` for each cell, then :func:`write`, which saves the notebook next to
this file and, with ``--execute`` on the command line, first executes it in place (nbclient, working directory
``tutorials/``) so that the outputs are stored in the file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["HERE", "cells", "code", "md", "write"]

HERE = Path(__file__).resolve().parent

cells: list = []


def md(text: str) -> None:
    cells.append(new_markdown_cell(text.strip("\n")))


def code(text: str) -> None:
    cells.append(new_code_cell(text.strip("\n")))


def write(name: str) -> None:
    """Write the collected cells to ``tutorials/{name}`` (executed first with ``--execute``)."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    out = HERE / name
    if "--execute" in sys.argv:
        from nbclient import NotebookClient

        start = time.perf_counter()
        try:
            NotebookClient(nb, timeout=1800, kernel_name="python3",
                           resources={"metadata": {"path": str(HERE)}}).execute()
        finally:
            print(f"executed in {time.perf_counter() - start:.0f} s")
            nbformat.write(nb, out)
    else:
        nbformat.write(nb, out)
    print("wrote", out)
