"""A photo file's bytes to RGB uint8, or a reason why not.

Pillow decodes by content (a PNG named ``.jpg`` is a PNG), refuses truncated files where
OpenCV may return a partly grey image, and reads the size from the header before any pixel is
decoded, so an oversized photo is refused without its memory. Formats are converted as the
core's :func:`modnet.to_rgb_uint8` does: grey repeated to RGB, alpha dropped (the matte
replaces it), 16 bits scaled to 8, CMYK and palettes through Pillow's conversion; EXIF
orientation is applied, as OpenCV's ``imread`` and so the plugin's workflows do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from modnet import to_rgb_uint8

# 24-megapixel photos are the largest the runner is measured on; four times that leaves room
# for medium-format cameras while bounding one decoded photo to about 300 MB.
DEFAULT_MAX_MEGAPIXELS = 100.0
_EXIF_ORIENTATION = 0x0112
# Pillow's modes whose pixels are 16-bit integers, read as such rather than through
# ``convert("RGB")``, which clips them to 255.
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class DecodeError(ValueError):
    """The file holds no photo that can be matted; the message says why."""


@dataclass(frozen=True)
class DecodedImage:
    """RGB uint8 pixels and, when the file was not 8-bit RGB, the mode it was converted from."""

    rgb: np.ndarray
    converted_from: str | None


def check_max_megapixels(max_megapixels: float) -> float:
    if isinstance(max_megapixels, bool) or not max_megapixels > 0:
        raise ValueError(f"max_megapixels: expected a positive number, got {max_megapixels!r}")
    return float(max_megapixels)


def decode_image(data: bytes, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> DecodedImage:
    """The photo in ``data`` (the bytes of an image file). Raises :class:`DecodeError`."""
    if not data:
        raise DecodeError("empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_megapixels * 1e6:
                raise DecodeError(
                    f"{width} x {height} is {width * height / 1e6:.1f} megapixels, more than "
                    f"max_megapixels ({max_megapixels:g})"
                )
            image.load()  # raises on truncated or corrupt data
            if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:
                ImageOps.exif_transpose(image, in_place=True)
            return _to_rgb(image)
    except UnidentifiedImageError:
        raise DecodeError(
            f"not an image file that Pillow can read (starts with {data[:8]!r})"
        ) from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise DecodeError(f"corrupt or truncated image: {error}") from None


def _to_rgb(image: Image.Image) -> DecodedImage:
    mode = image.mode
    if mode == "RGB":
        return DecodedImage(np.asarray(image), None)
    if mode in _SIXTEEN_BIT_MODES:
        pixels = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
    elif mode == "F":
        pixels = np.asarray(image)
    else:
        pixels = np.asarray(image.convert("RGB"))
    try:
        return DecodedImage(to_rgb_uint8(pixels), mode)
    except ValueError as error:  # floats outside [0, 1]
        raise DecodeError(f"unsupported {mode} image: {error}") from None
