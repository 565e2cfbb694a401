"""Read files out of a Debian binary package (``.deb``) without Debian tools.

A ``.deb`` is a Unix ``ar`` archive holding ``debian-binary``, ``control.tar.*`` and ``data.tar.*``; the
installed files are in ``data.tar.*``. Python's standard library reads tar (:mod:`tarfile`) but has no reader of
``ar`` archives, and the ``ar`` program is not installed everywhere (it comes with binutils), so the few lines
below parse the ``ar`` format by hand. The format is simple: the magic ``!<arch>\\n``, then for each member a
60-byte header (name 16, mtime 12, uid 6, gid 6, mode 8, size 10, end marker ``\\x60\\n``) followed by the data,
padded to an even length.

Only the ``.xz``, ``.gz``, ``.bz2`` and uncompressed data tarballs are read (Debian 12 ships ``data.tar.xz``);
``data.tar.zst`` (used by some other distributions, e.g. Ubuntu) needs a zstandard decompressor that the
standard library lacks before Python 3.14, so it is refused with a message saying what to do.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["deb_members", "extract_from_deb"]

_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60


def _ar_members(fh: BinaryIO, path: str | os.PathLike) -> Iterator[tuple[str, int, int]]:
    """``(name, offset of data, size)`` of each member of the ``ar`` archive open in ``fh``."""
    if fh.read(len(_AR_MAGIC)) != _AR_MAGIC:
        raise ValueError(f"{path} is not a Debian package: it does not start with the ar magic '!<arch>'.")
    while True:
        header = fh.read(_AR_HEADER)
        if not header:
            return
        if len(header) < _AR_HEADER or header[58:60] != b"`\n":
            raise ValueError(f"{path}: truncated or corrupt ar member header at byte {fh.tell() - len(header)}.")
        name = header[:16].decode("ascii").strip()
        if name.endswith("/"):  # GNU ar terminates names with "/"; the BSD/Debian form has none
            name = name[:-1]
        size = int(header[48:58].decode("ascii").strip())
        offset = fh.tell()
        yield name, offset, size
        fh.seek(offset + size + (size & 1))


def deb_members(deb: str | os.PathLike) -> list[str]:
    """Names of the ``ar`` members of a ``.deb`` (normally ``debian-binary``, ``control.tar.*``, ``data.tar.*``)."""
    with open(deb, "rb") as fh:
        return [name for name, _, _ in _ar_members(fh, deb)]


class _Slice:
    """Read-only file object over ``size`` bytes of ``fh`` from ``offset`` (an ar member, read by ``tarfile``)."""

    def __init__(self, fh: BinaryIO, offset: int, size: int):
        self._fh, self._start, self._size, self._pos = fh, offset, size, 0

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._pos
        n = left if n is None or n < 0 else min(n, left)
        self._fh.seek(self._start + self._pos)
        data = self._fh.read(n)
        self._pos += len(data)
        return data

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, min(self._size, base + pos))
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


def _norm(path: str) -> str:
    """A path inside the package without its leading ``./`` or ``/``."""
    if path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


_TAR_MODES = {"data.tar.xz": "r:xz", "data.tar.gz": "r:gz", "data.tar.bz2": "r:bz2", "data.tar": "r:"}


def extract_from_deb(deb: str | os.PathLike, members: list[str], dest: str | os.PathLike) -> dict[str, Path]:
    """Extract installed files of a ``.deb`` to ``dest``; returns ``{member: extracted path}``.

    ``members`` are paths as installed (e.g. ``/usr/lib/R/site-library/pkg/data/x.rda``; the leading ``/`` or
    ``./`` is optional). Each file is written to ``dest/<basename>`` (names must differ). Raises
    :class:`KeyError` naming the missing paths when the package lacks one, and :class:`ValueError` for a
    ``data.tar.zst`` package.
    """
    wanted = {_norm(m): m for m in members}
    names = [Path(m).name for m in wanted]
    if len(set(names)) != len(names):
        raise ValueError(f"extract_from_deb: members with the same file name: {sorted(names)}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    with open(deb, "rb") as fh:
        data = [(name, off, size) for name, off, size in _ar_members(fh, deb) if name.startswith("data.tar")]
        if not data:
            raise ValueError(f"{deb} is not a Debian binary package: it has no data.tar member.")
        name, offset, size = data[0]
        if name not in _TAR_MODES:
            if name == "data.tar.zst":
                raise ValueError(
                    f"{deb} stores its files as data.tar.zst (zstandard), which Python's standard library "
                    "cannot decompress. Use the Debian package pinned by muse_gnn (Debian builds use "
                    "data.tar.xz), or repack it: `ar x pkg.deb && unzstd data.tar.zst && xz data.tar && "
                    "ar rc new.deb debian-binary control.tar.* data.tar.xz`."
                )
            raise ValueError(f"{deb}: unsupported data archive {name!r} (expected one of {sorted(_TAR_MODES)}).")
        with tarfile.open(fileobj=_Slice(fh, offset, size), mode=_TAR_MODES[name]) as tar:
            for info in tar:
                key = _norm(info.name)
                if key in wanted and info.isfile():
                    out = dest / Path(key).name
                    src = tar.extractfile(info)
                    with src, open(out, "wb") as target:
                        shutil.copyfileobj(src, target, 1 << 20)
                    found[wanted[key]] = out
                    if len(found) == len(wanted):
                        break
    missing = sorted(set(wanted.values()) - set(found))
    if missing:
        raise KeyError(f"{deb} does not contain {missing}; the package is not the expected version.")
    return found
