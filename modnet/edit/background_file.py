"""Background image files: sized from their header before any decoding, decoded no larger than
the frames they cover need, and kept decoded until the file changes.

A compressed file can be tiny and decode to gigabytes (an 858 kB PNG holds 30000 x 30000
pixels), so the pixel count is read from the header first (by Pillow, which parses headers
without decoding) and a file over :data:`MAX_BACKGROUND_PIXELS` is refused. OpenCV's reduced
decoding then reads the image at 1/2, 1/4 or 1/8 of its size where that still covers the frame:
a JPEG is decoded at that size directly, other formats are decoded whole and reduced at once.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from ..files import file_identity

# 10000 x 10000: the decoded image (three bytes a pixel) takes at most 300 MB while it is read.
MAX_BACKGROUND_PIXELS = 100_000_000
_REDUCED_FLAGS = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


def _too_large(file: Path, pixels: str) -> ValueError:
    return ValueError(
        f"background_image: '{file}' is {pixels}, more than the "
        f"{MAX_BACKGROUND_PIXELS / 1e6:g} megapixels accepted for a background; "
        "give a smaller image"
    )


def header_size(file: Path) -> tuple[int, int] | None:
    """(width, height) of the image in ``file`` from its header, without decoding it; None
    where Pillow is not installed or does not know the format (OpenCV reads a few more)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():
            # Pillow's own warning for large images: the limit below is the one that applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                return image.size
    except Image.DecompressionBombError:
        # Pillow's own refusal, past twice its warning level: above this module's limit.
        raise _too_large(file, "larger than Pillow opens (a decompression bomb)") from None
    except Exception:  # Pillow raises many types for formats it does not know
        return None


def check_background_image(path: str | Path) -> Path:
    """The path of a background image file, which must exist, start as an image format that
    OpenCV reads and, where its header gives its size, hold at most
    :data:`MAX_BACKGROUND_PIXELS` (cheap enough to check when the path is set)."""
    return _checked(path)[0]


def _checked(path: str | Path) -> tuple[Path, tuple[int, int] | None]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"background_image: no file at '{file}'; give the path of an image file")
    if not cv2.haveImageReader(str(file)):
        raise ValueError(f"background_image: '{file}' is not an image file that OpenCV can read")
    size = header_size(file)
    if size is not None and size[0] * size[1] > MAX_BACKGROUND_PIXELS:
        raise _too_large(file, f"{size[0]} x {size[1]} pixels")
    return file, size


def reduction(size: tuple[int, int] | None, frame: tuple[int, int] | None) -> int:
    """The largest of 1, 2, 4 and 8 that divides an image of ``size`` (width, height) such
    that it still covers a ``frame`` of (height, width) without enlargement, in either
    orientation (OpenCV turns photos as their EXIF orientation says; the header does not)."""
    if size is None or frame is None:
        return 1
    factor = 1
    while factor < 8 and min(size) // (2 * factor) >= max(frame):
        factor *= 2
    return factor


def read_background_image(
    path: str | Path, frame: tuple[int, int] | None = None, factor: int | None = None
) -> np.ndarray:
    """The RGB uint8 image in the file at ``path``, reduced by ``factor`` (default: the largest
    that still covers a ``frame`` of (height, width), see :func:`reduction`)."""
    file, size = _checked(path)
    factor = reduction(size, frame) if factor is None else factor
    # imdecode of the bytes, unlike imread, accepts any path the OS does.
    data = np.fromfile(file, dtype=np.uint8)
    image = cv2.imdecode(data, _REDUCED_FLAGS[factor]) if data.size else None
    del data
    if image is None:
        raise ValueError(f"background_image: no image that OpenCV can read in '{file}'")
    height, width = image.shape[:2]
    if size is None and height * width > MAX_BACKGROUND_PIXELS:
        raise _too_large(file, f"{width} x {height} pixels")
    # In place: a second copy of a large image would double the peak.
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)


class BackgroundCache:
    """The decoded image of one background file, decoded again only when the file changes
    (another inode, size, modification or change time: a copy that keeps the modification
    time, ``cp -p`` or ``os.replace``, changes one of the others) or when frames need it
    reduced by another factor. :meth:`clear` lets the image go."""

    def __init__(self) -> None:
        self.image: np.ndarray | None = None
        self._key: tuple[object, ...] | None = None
        self._size: tuple[int, int] | None = None

    def read(self, path: str | Path, frame: tuple[int, int]) -> np.ndarray:
        """The RGB image of the file at ``path``, reduced as far as a ``frame`` of (height,
        width) allows."""
        file = Path(path).expanduser()
        identity = file_identity(file) if file.is_file() else None
        if identity is None or self._key is None or identity != self._key[0]:
            self.clear()
            self._size = _checked(file)[1]  # raises for a missing, foreign or too large file
        factor = reduction(self._size, frame)
        if self._key != (identity, factor):
            self.image = None  # let the previous image go before decoding the next one
            self.image = read_background_image(file, factor=factor)
            self._key = (identity, factor)
        return self.image

    def clear(self) -> None:
        self.image, self._key, self._size = None, None, None
