"""Where each photo's outputs go, how they are encoded, and how they are written: whole or not
at all.

The output folder holds one tree per output, each mirroring the input tree:
``OUTPUT/matte/a/b/photo.png``, ``OUTPUT/cutout/a/b/photo.png``,
``OUTPUT/composite/a/b/photo.jpg`` for ``INPUT/a/b/photo.jpg``. Photos of one folder that
differ only by extension (``photo.jpg`` and ``photo.png``) keep their extension in their outputs'
names (``photo.jpg.png``, ``photo.png.png``), so that no output overwrites another.
"""

from __future__ import annotations

import glob
import os
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

# Fixed encoder settings: the same pixels always give the same bytes, whatever OpenCV's
# defaults. WebP keeps the alpha channel lossless at any quality.
ENCODE_PARAMS: dict[str, list[int]] = {
    "png": [cv2.IMWRITE_PNG_COMPRESSION, 1],
    "jpg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    "webp": [cv2.IMWRITE_WEBP_QUALITY, 95],
}
# cv2.imencode expects BGR(A); the outputs hold RGB(A).
_TO_BGR = {3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}
# A file being written is hidden beside its destination under this suffix until renamed.
PARTIAL_SUFFIX = ".part"


@dataclass(frozen=True)
class OutputLayout:
    """The names of the outputs of each photo under ``root``."""

    root: Path
    formats: dict[str, str]  # output kind -> file extension, for the outputs to write
    keep_extension: frozenset[str] = frozenset()  # relative paths whose names would collide

    @classmethod
    def for_inputs(cls, root: Path, formats: dict[str, str], relatives: Iterable[str]):
        """The layout for these input paths: those sharing a folder and a stem keep their
        extension in their outputs' names."""
        relatives = list(relatives)
        stems = Counter(str(PurePosixPath(relative).with_suffix("")) for relative in relatives)
        colliding = frozenset(
            relative
            for relative in relatives
            if stems[str(PurePosixPath(relative).with_suffix(""))] > 1
        )
        return cls(Path(root), dict(formats), colliding)

    def targets(self, relative: str) -> dict[str, str]:
        """Output kind -> path relative to ``root`` (POSIX style), for the photo ``relative``."""
        path = PurePosixPath(relative)
        base = path if relative in self.keep_extension else path.with_suffix("")
        return {kind: f"{kind}/{base}.{extension}" for kind, extension in self.formats.items()}


def encode(image: np.ndarray, extension: str) -> bytes:
    """The bytes of an RGB, RGBA or single-channel uint8 ``image`` in the format ``extension``."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    pixels = cv2.cvtColor(image, _TO_BGR[channels]) if channels in _TO_BGR else image
    ok, buffer = cv2.imencode(f".{extension}", pixels, ENCODE_PARAMS[extension])
    if not ok:
        raise OSError(f"OpenCV could not encode a {pixels.shape} image as {extension}")
    return buffer.tobytes()


def write_atomic(destination: Path, data: bytes) -> None:
    """Writes ``data`` to ``destination`` through a hidden temporary file beside it, renamed
    over it once complete: a reader, or a run killed at any moment, never sees a partial file.

    A temporary file left by a killed run is removed by the next write to the same destination.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_partial(destination)
    temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(6)}{PARTIAL_SUFFIX}")
    try:
        with temporary.open("xb") as file:
            file.write(data)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def remove_partial(destination: Path) -> None:
    """Removes the temporary files of earlier writes to ``destination``. Called only by the
    run that owns the output folder (see :class:`modnet.batch.manifest.Manifest`)."""
    pattern = f".{glob.escape(destination.name)}.*{PARTIAL_SUFFIX}"
    for leftover in destination.parent.glob(pattern):
        leftover.unlink(missing_ok=True)
