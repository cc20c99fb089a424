"""The manifest: one JSON line per processed photo, appended as each finishes, so that a run
killed at any moment can be resumed.

A record holds the photo's relative ``path``, its ``size`` and ``mtime_ns`` when it was read,
``params`` (the digest of :meth:`modnet.batch.options.BatchOptions.digest`), ``status``
(``done`` or ``failed``), ``reason`` (why it failed, else null), ``converted_from`` (the
pixel format that was converted to RGB, else null), ``outputs`` (output kind -> path relative
to the output folder) and ``seconds`` (per stage). The last record of a path is its state; a
run ends by rewriting the file with that state only, one line per photo.

A photo is skipped by a rerun when its state is ``done`` with the same parameters, the same
size and modification time, the same output names, and its outputs are still there; anything
else (failed, changed, new) is done again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

from .inputs import InputFile
from .outputs import write_atomic

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one run at a time is then the user's care
    fcntl = None

Record = dict[str, Any]


class ManifestLockedError(RuntimeError):
    """Another run is writing the same manifest."""


class Manifest:
    """The manifest at ``path``, locked against a second run for as long as it is open."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self.path.with_name(f".{self.path.name}.lock").open("a")
        if fcntl is not None:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.close()
                raise ManifestLockedError(
                    f"manifest: '{self.path}' is in use by another run; wait for it to end or "
                    "give another --manifest"
                ) from None
        self.records: dict[str, Record] = _read_records(self.path)
        self._file = self.path.open("a", encoding="utf-8")

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def is_done(self, file: InputFile, digest: str, targets: dict[str, str], root: Path) -> bool:
        """Whether ``file`` was done with the parameters ``digest`` into ``targets`` (relative
        to ``root``), has not changed since, and its outputs are all there."""
        record = self.records.get(file.relative)
        return (
            record is not None
            and record["status"] == "done"
            and record["params"] == digest
            and (record["size"], record["mtime_ns"]) == (file.size, file.mtime_ns)
            and record["outputs"] == targets
            and all((root / target).is_file() for target in targets.values())
        )

    def append(self, record: Record) -> None:
        """Records a photo's state: one line, flushed at once, so a killed run keeps it."""
        self._file.write(json.dumps(record, sort_keys=True) + "\n")
        self._file.flush()
        self.records[record["path"]] = record

    def compact(self) -> None:
        """Rewrites the file with the last record of each path only, sorted by path."""
        self._file.close()
        lines = (
            json.dumps(self.records[path], sort_keys=True) + "\n" for path in sorted(self.records)
        )
        write_atomic(self.path, "".join(lines).encode("utf-8"))
        self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        self._file.close()
        self._lock.close()  # releases the lock


def _read_records(path: Path) -> dict[str, Record]:
    """The last record of each path. A line cut short by a killed run (the last one, without
    its newline) is dropped from the file, so that the next record starts a line of its own."""
    if not path.is_file():
        return {}
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with path.open("r+b") as file:
            file.truncate(len(complete))
    return latest(json.loads(line) for line in complete.decode("utf-8").splitlines() if line)


def latest(records: Iterable[Record]) -> dict[str, Record]:
    """Path -> its last record."""
    state: dict[str, Record] = {}
    for record in records:
        state[record["path"]] = record
    return state


def read_manifest(path: str | Path) -> dict[str, Record]:
    """The state of each photo in the manifest at ``path`` (the last record of each path)."""
    with suppress(FileNotFoundError), Path(path).open(encoding="utf-8") as file:
        return latest(json.loads(line) for line in file if line.endswith("\n"))
    return {}
