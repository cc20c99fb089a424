"""Where the weights come from: an explicit file, the plugin's ``weights/`` folder, or a
download from Ikomia's model hub that is verified before it is kept.

The hub publishes no digest of the file it serves, so the SHA-256 of a download that loads into
MODNet is recorded beside it (``<file>.sha256``, as ``sha256sum`` writes it) and the file is
checked against it when it is first used in a process (and again when it changes): a file
damaged on disk since is refused rather than loaded. A file copied into the folder by hand has no
record; the CRC-32 checksums of its zip members are still verified (see
:mod:`modnet.network.checkpoint_file`).
"""

from __future__ import annotations

import http.client
import logging
import math
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .errors import CheckpointError
from .files import file_identity, file_sha256, temporary_beside
from .network.checkpoint_file import check_checkpoint_file

logger = logging.getLogger(__name__)

# The checkpoint is 26 MB: 10 minutes is 0.35 Mbit/s. A server that stops sending for
# STALL_TIMEOUT_S fails sooner; one that trickles is stopped by the deadline.
DOWNLOAD_DEADLINE_S = 600.0
STALL_TIMEOUT_S = 30.0
PROGRESS_EVERY_S = 10.0
CHUNK_BYTES = 1 << 20
# Path -> identity of the default files found to match their recorded digest in this process.
_MATCHED: dict[str, tuple[int, ...]] = {}


@dataclass(frozen=True)
class Weights:
    """A released MODNet checkpoint and what is known about it."""

    filename: str
    hub_folder: str
    license: str
    meta: dict[str, object] = field(default_factory=dict)

    def url(self, hub_url: str) -> str:
        return f"{hub_url.rstrip('/')}/{self.hub_folder}/{self.filename}"


PHOTOGRAPHIC = Weights(
    filename="modnet_photographic_portrait_matting.ckpt",
    hub_folder="infer_modnet_portrait_matting",
    license="Apache-2.0 (Zhanghan Ke et al., https://github.com/ZHKKKe/MODNet)",
    meta={
        "trained_on": "photographic portraits (MODNet authors' release)",
        "input": "N x 3 x H x W RGB in [-1, 1], H and W multiples of 32",
        "output": "N x 1 x H x W alpha in [0, 1]",
    },
)


class WeightsError(RuntimeError):
    """The weights could not be found or fetched."""


def check_model_weight_file(model_weight_file: str | os.PathLike[str]) -> Path:
    """The path of an explicitly chosen checkpoint: an existing PyTorch checkpoint with MODNet's
    tensor names and shapes (read without PyTorch, in milliseconds; see
    :func:`modnet.network.checkpoint_file.check_checkpoint_file`)."""
    path = Path(model_weight_file).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"model_weight_file: no file at '{path}'; give the path of a MODNet .ckpt "
            "checkpoint, or leave it empty to use the default weights"
        )
    try:
        return check_checkpoint_file(path)
    except CheckpointError as error:
        raise CheckpointError(f"model_weight_file: {error}") from None


def resolve_weights(
    model_weight_file: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    hub_url: str,
    weights: Weights = PHOTOGRAPHIC,
) -> Path:
    """Path of the checkpoint to load, downloading it into ``folder`` if needed.

    Order: ``model_weight_file`` when set; ``folder/<filename>`` when present; otherwise a
    download from ``hub_url`` into ``folder``.
    """
    if str(model_weight_file):
        return check_model_weight_file(model_weight_file)
    local = Path(folder) / weights.filename
    if local.is_file():
        return check_recorded_digest(local)
    return download_weights(weights.url(hub_url), local)


def digest_record(path: Path) -> Path:
    """Where the SHA-256 of the downloaded file ``path`` is recorded."""
    return path.with_name(f"{path.name}.sha256")


def check_recorded_digest(path: Path) -> Path:
    """``path``, unless the SHA-256 recorded when it was downloaded no longer matches it
    (:class:`CheckpointError`). Hashing 26 MB takes tens of milliseconds: done once per process
    and version of the file."""
    record = digest_record(path)
    identity = file_identity(path)
    if _MATCHED.get(str(path)) == identity or not record.is_file():
        return path
    fields = record.read_text().split()
    recorded, actual = fields[0] if fields else "none", file_sha256(path)
    if actual != recorded:
        raise CheckpointError(
            f"{path}: damaged: its SHA-256 differs from the one recorded in {record.name} when "
            f"it was downloaded ({actual} instead of {recorded}); delete it to download it again"
        )
    _MATCHED[str(path)] = identity
    return path


def download_weights(
    url: str,
    destination: str | os.PathLike[str],
    timeout: float = STALL_TIMEOUT_S,
    deadline: float = DOWNLOAD_DEADLINE_S,
) -> Path:
    """Downloads a checkpoint to ``destination`` through a temporary file in the same folder,
    renamed only once it loads into MODNet. Nothing is left behind on failure.

    Gives up when no byte arrives for ``timeout`` seconds or when the whole download takes more
    than ``deadline`` seconds.
    """
    destination = Path(destination)
    advice = (
        f"Without network access, copy {destination.name} to {destination}, "
        "or set model_weight_file to its path"
    )
    try:
        with temporary_beside(destination) as part:
            try:
                with part.open("wb") as out:
                    _fetch(url, out, timeout, deadline)
                _check_loads(part, url)
                _record_digest(part, destination)
            # http.client.HTTPException: e.g. IncompleteRead when a chunked response is cut
            # short.
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                raise WeightsError(
                    f"could not download the MODNet weights from {url} ({exc}). " + advice
                ) from exc
            except CheckpointError as exc:
                raise WeightsError(
                    f"the file downloaded from {url} is corrupt and was discarded: {exc}"
                ) from exc
            os.replace(part, destination)
    except OSError as exc:  # the folder cannot be created or written
        raise WeightsError(
            f"the MODNet weights are missing: there is no {destination}, and they cannot be "
            f"downloaded into {destination.parent} ({exc}). Copy {destination.name} there "
            f"(it is at {url}), make the folder writable, or set model_weight_file to the "
            "path of a copy"
        ) from exc
    logger.info("MODNet weights saved to %s", destination)
    return destination


def _record_digest(part: Path, destination: Path) -> None:
    """Records the SHA-256 of ``part`` for ``destination``, which it is about to become."""
    record = digest_record(destination)
    with temporary_beside(record) as temporary:
        temporary.write_text(f"{file_sha256(part)}  {destination.name}\n")
        os.replace(temporary, record)


def _check_loads(path: Path, source: str) -> None:
    # PyTorch is imported here, not at the top: inference from a cached ONNX export needs none.
    from .network.checkpoint import load_weights, read_state_dict
    from .network.model import MODNet

    load_weights(MODNet(), read_state_dict(path), source)


class _Progress:
    """Logs the first bytes, then every 10% or every ``PROGRESS_EVERY_S`` seconds."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.received = 0
        self.next_share = 0.0
        self.next_time = 0.0

    def add(self, count: int) -> None:
        self.received += count
        share = self.received / self.total if self.total else 0.0
        now = time.monotonic()
        if share < self.next_share and now < self.next_time:
            return
        if self.total:
            logger.info(
                "Downloading MODNet weights: %d%% of %.1f MB",
                100 * self.received // self.total,
                self.total / 1e6,
            )
        else:
            logger.info("Downloading MODNet weights: %.1f MB", self.received / 1e6)
        self.next_share = math.floor(share * 10 + 1) / 10
        self.next_time = now + PROGRESS_EVERY_S


def _fetch(url: str, out: BinaryIO, timeout: float, deadline: float) -> None:
    logger.info("Downloading MODNet weights from %s", url)
    end = time.monotonic() + deadline
    with urllib.request.urlopen(url, timeout=timeout) as response:
        progress = _Progress(int(response.headers.get("Content-Length") or 0))
        # read1 returns what one socket read brings, so the deadline is checked as bytes come
        # (read would wait for a whole chunk from a server sending a byte at a time).
        while chunk := response.read1(CHUNK_BYTES):
            out.write(chunk)
            progress.add(len(chunk))
            if time.monotonic() > end:
                raise TimeoutError(
                    f"gave up after {deadline:g} s with {progress.received} bytes received"
                )
    if progress.total and progress.received != progress.total:
        raise OSError(f"connection closed after {progress.received} of {progress.total} bytes")
