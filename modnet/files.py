"""Files written in place of others: built under a temporary name beside their destination,
then renamed, so that readers only ever see complete files.

The temporary file gets the permissions of any new file (0666 less the umask, where
``tempfile.mkstemp`` would give 0600: a folder shared by several users, such as a plugin
installed by root, must stay readable by all of them). It is removed on every exit: exceptions,
``KeyboardInterrupt`` and, in the main thread, SIGTERM; a file left by SIGKILL or a power cut is
removed by the next writer to the same destination once it is older than ``STALE_AFTER_S``.

:func:`file_identity` tells, from one ``stat``, whether a file read before may have changed;
:func:`file_sha256` digests its bytes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Longer than any writer takes (the weights download has a deadline of 10 minutes).
STALE_AFTER_S = 3600.0


class _Terminated(BaseException):
    """SIGTERM, raised where the main thread is, so that ``finally`` blocks run."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    # Only where Python may set handlers (the main thread) and nobody else has one.
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except _Terminated:
        # Cleaned up on the way here: now terminate as SIGTERM would have.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _remove_stale(destination: Path) -> None:
    now = time.time()
    for leftover in destination.parent.glob(f".{destination.name}.*.part"):
        try:
            if now - leftover.stat().st_mtime > STALE_AFTER_S:
                leftover.unlink()
        except OSError:
            pass  # gone already, or not ours to remove


@contextmanager
def temporary_beside(destination: Path) -> Iterator[Path]:
    """A new empty file in ``destination``'s folder (created if needed), to be renamed onto
    ``destination`` with ``os.replace`` once complete; removed if it still exists on exit."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(destination)
    temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(6)}.part")
    with _sigterm_unwinds():
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        try:
            yield temporary
        finally:
            temporary.unlink(missing_ok=True)


def file_identity(path: Path) -> tuple[int, int, int, int, int]:
    """What changes when a file's content may have: its device, inode, size, and modification
    and change times in nanoseconds. A file replaced by another with the same modification time
    (``cp -p``, ``os.replace`` of a file from an archive) has another inode or change time."""
    stat = path.stat()
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def file_sha256(path: Path, salt: bytes = b"") -> str:
    """The SHA-256 of ``salt`` followed by the file's bytes, in hexadecimal."""
    digest = hashlib.sha256(salt)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
