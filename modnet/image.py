"""Input images: validation, conversion to RGB uint8, and the network's working size."""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np

from .limits import STRIDE, network_pixel_cap

# Full-resolution passes over the band of a matte or between two conversions run on stripes of
# rows of about this many pixels: their temporaries stay in a core's cache and are reused,
# instead of being fresh full-size arrays (page faults cost as much as the arithmetic).
STRIPE_PIXELS = 1 << 18


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Returns ``image`` as H x W x 3 RGB uint8, never modifying the caller's buffer.

    Accepted: H x W or H x W x 1 grayscale, H x W x 3 RGB, H x W x 4 RGBA (alpha ignored), in
    uint8, uint16 (scaled by 255/65535) or float with values in [0, 1]. An input that is already
    RGB uint8 is returned as is (a view), so callers must not write into the result.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"image: expected H x W, H x W x 1, H x W x 3 or H x W x 4, got shape {image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image: empty image of shape {image.shape}")
    image = _to_uint8(image[:, :, :3])
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return image


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        # Exact rounding of x * 255 / 65535 in integers: 65535 = 255 * 257.
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        # min and max propagate NaN (nanmin/nanmax would let a partly-NaN image through).
        low, high = float(image.min()), float(image.max())
        if np.isnan(low) or low < 0.0 or high > 1.0:
            raise ValueError(
                f"image: float images must hold values in [0, 1], got [{low:g}, {high:g}]"
            )
        return np.rint(image * 255.0).astype(np.uint8)
    raise ValueError(
        f"image: unsupported dtype {image.dtype}; use uint8, uint16 or float in [0, 1]"
    )


def stripe_rows(width: int, pixels: int | None = None) -> int:
    """The number of rows of a stripe of an image ``width`` pixels wide: about ``pixels``
    pixels (default :data:`STRIPE_PIXELS`), at least one row."""
    return max(1, (pixels or STRIPE_PIXELS) // max(1, width))


def row_stripes(height: int, width: int, pixels: int | None = None) -> Iterator[slice]:
    """The stripes of :func:`stripe_rows` rows that cover an image, top to bottom."""
    rows = stripe_rows(width, pixels)
    return (slice(top, min(top + rows, height)) for top in range(0, height, rows))


def shrinks(source: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether resizing (height, width) ``source`` to ``target`` loses pixels: such resizes
    average areas, the others interpolate bilinearly."""
    return target[0] * target[1] < source[0] * source[1]


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` at ``width`` x ``height``: area averaging to shrink, bilinear to enlarge
    (``image`` itself when the size does not change)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    interpolation = cv2.INTER_AREA if shrinks(image.shape, (height, width)) else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def network_size(
    height: int, width: int, input_size: int, max_pixels: int | None = None
) -> tuple[int, int]:
    """(height, width) fed to the network: short side scaled to ``input_size`` (the MODNet
    paper's evaluation protocol), or less where that would exceed ``max_pixels`` (by default
    :func:`modnet.limits.network_pixel_cap` of ``input_size``); each side then floored to a
    multiple of 32 and never below 32, the long side at most ``max_pixels // 32``.
    """
    if max_pixels is None:
        max_pixels = network_pixel_cap(input_size)
    short = min(height, width)
    if height * width * input_size**2 <= max_pixels * short**2:
        # Integer arithmetic: the short side maps to exactly ``input_size``.
        scaled = [side * input_size // short for side in (height, width)]
    else:
        # Long thin images: the pixel count sets the scale, sqrt(max_pixels / pixels), exactly
        # (isqrt of the floor is the floor of the square root).
        pixels = height * width
        scaled = [math.isqrt(side * side * max_pixels // pixels) for side in (height, width)]
    sides = [max(STRIDE, side // STRIDE * STRIDE) for side in scaled]
    if sides[0] * sides[1] > max_pixels:  # a side raised to the minimum of 32
        long = 0 if sides[0] >= sides[1] else 1
        sides[long] = max_pixels // sides[1 - long] // STRIDE * STRIDE
    return sides[0], sides[1]


def network_input(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The network's 1 x 3 x H x W float32 input in [-1, 1] for the RGB uint8 ``rgb`` at
    ``size`` (height, width)."""
    # Shrinking the uint8 image before it becomes a tensor keeps the work proportional to the
    # network's size rather than the photo's. A photo smaller than that is enlarged in float:
    # OpenCV's uint8 bilinear rounds to 11-bit weights that the GPU path cannot reproduce.
    source = rgb if shrinks(rgb.shape, size) else rgb.astype(np.float32)
    small = resize(source, size[1], size[0])
    x = np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32)
    x /= 127.5
    x -= 1.0
    return x
