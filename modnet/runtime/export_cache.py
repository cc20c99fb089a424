"""A folder of files derived from a source file, such as ONNX exports of a checkpoint.

Each entry is named ``<prefix>-<source>-<content><suffix>``: ``<source>`` digests the source
file's bytes with the recipe's version, so an entry is found only for what it was built from;
``<content>`` digests the entry's own bytes, recorded once the entry passed its builder's checks,
and is verified on every lookup (hashing 26 MB takes milliseconds), so a file that was replaced,
truncated or altered since is rebuilt rather than trusted. Entries are written through
:func:`modnet.files.temporary_beside` (normal permissions, nothing left on failure), and at most
``max_entries`` are kept per prefix, the least recently used going first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from ..files import file_sha256, temporary_beside

logger = logging.getLogger(__name__)

DIGEST_CHARS = 16
# Entries kept per prefix and folder: a few weight files in use, about 26 MB each for MODNet.
MAX_ENTRIES = 3


def file_digest(path: Path, salt: str = "") -> str:
    return file_sha256(path, salt.encode())[:DIGEST_CHARS]


class ExportCache:
    """Entries ``<prefix>-*<suffix>`` of ``folder``, built from sources by a recipe ``version``."""

    def __init__(
        self, folder: Path, prefix: str, suffix: str, version: str, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.folder = Path(folder)
        self.prefix, self.suffix, self.version = prefix, suffix, version
        self.max_entries = max_entries
        hexes = f"[0-9a-f]{{{DIGEST_CHARS}}}"
        # Also matches the names of earlier versions (no content digest), which are evicted.
        self._entry_name = re.compile(rf"{re.escape(prefix)}-{hexes}(-{hexes})?{re.escape(suffix)}")

    def key(self, source: Path) -> str:
        """The digest of ``source``'s bytes and of the recipe's version."""
        return file_digest(source, salt=f"{self.prefix}{self.suffix} {self.version}\n")

    def find(self, key: str) -> Path | None:
        """The entry built from the source of ``key``, verified; ``None`` if there is none. An
        entry whose bytes no longer match its name is removed."""
        for path in sorted(self.folder.glob(f"{self.prefix}-{key}-*{self.suffix}")):
            recorded = path.name.removesuffix(self.suffix).rsplit("-", 1)[1]
            if file_digest(path) == recorded:
                _touch(path)  # most recently used: evicted last
                return path
            logger.warning("%s was modified since it was checked: it is rebuilt", path)
            path.unlink(missing_ok=True)
        return None

    def store(self, key: str, build: Callable[[Path], None]) -> Path:
        """Builds the entry for ``key``: ``build(path)`` writes the file at ``path`` and raises
        if it is not fit to use. Returns the entry's path; older entries beyond ``max_entries``
        are removed."""
        destination = self.folder / f"{self.prefix}-{key}{self.suffix}"
        with temporary_beside(destination) as part:
            build(part)
            entry = self.folder / f"{self.prefix}-{key}-{file_digest(part)}{self.suffix}"
            os.replace(part, entry)
        self._evict(keep=entry)
        return entry

    def entries(self) -> list[Path]:
        """The entries, most recently used first."""
        paths = [p for p in self.folder.iterdir() if self._entry_name.fullmatch(p.name)]
        return sorted(paths, key=_mtime, reverse=True)

    def _evict(self, keep: Path) -> None:
        others = [path for path in self.entries() if path != keep]
        for path in others[self.max_entries - 1 :]:
            logger.info("Removing the least recently used export %s", path)
            path.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by another process meanwhile
        return 0.0


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only cache still serves its entries
        os.utime(path)
