"""The person on a new background: pure functions of the photo, its matte and the foreground
colours (see :mod:`modnet.edit.foreground`), uint8 in and out."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import cv2
import numpy as np

from ..image import row_stripes, shrinks, stripe_rows, to_rgb_uint8

BACKGROUNDS = ("transparent", "color", "blur", "image")
DEFAULT_BACKGROUND = "transparent"
# What shows through a transparent background where there can be no alpha.
TRANSPARENT_AS_RGB = (0, 0, 0)
DEFAULT_BACKGROUND_COLOR = (255, 255, 255)
# The blur's standard deviation, in percent of the image's long side.
DEFAULT_BLUR_STRENGTH = 1.5
MAX_BLUR_STRENGTH = 10.0
# The background is blurred at a resolution where the blur's standard deviation is this many
# pixels: fewer pixels to filter, and the bilinear enlargement of so smooth an image is exact
# to within a grey level.
_BLUR_WORKING_SIGMA = 4.0
# Weight of the plain blurred photo where no background pixel is near (a hole in the person).
_HOLE_WEIGHT = 1e-3


def check_background(background: str) -> str:
    if background not in BACKGROUNDS:
        raise ValueError(
            f"background: expected one of {', '.join(BACKGROUNDS)}, got '{background}'"
        )
    return background


def check_background_color(color: Sequence[int]) -> tuple[int, int, int]:
    """Validates an RGB colour: three integers (NumPy's included) in [0, 255], as a tuple, a
    list or a NumPy array."""
    values = tuple(color) if isinstance(color, (tuple, list, np.ndarray)) else ()
    if len(values) != 3 or not all(
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value <= 255
        for value in values
    ):
        raise ValueError(
            f"background_color: expected three integers in [0, 255] (R, G, B), got {color!r}"
        )
    return (int(values[0]), int(values[1]), int(values[2]))


def check_blur_strength(strength: float) -> float:
    """Validates the blur strength: a number (NumPy's included) in (0, 10], percent of the
    long side."""
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real):
        raise ValueError(
            f"blur_strength: expected a number in (0, {MAX_BLUR_STRENGTH:g}], got {strength!r}"
        )
    if not 0.0 < strength <= MAX_BLUR_STRENGTH:
        raise ValueError(
            f"blur_strength: expected a number in (0, {MAX_BLUR_STRENGTH:g}], got {strength}"
        )
    return float(strength)


def cutout(foreground: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """H x W x 4 RGBA: the foreground colours with the matte as alpha."""
    _check_layers(matte, foreground=foreground)
    # One interleaving pass, then the alpha written in its place: several times faster than
    # splitting and merging the planes, or np.dstack, at 24 megapixels.
    rgba = cv2.cvtColor(foreground, cv2.COLOR_RGB2RGBA)
    rgba[..., 3] = matte
    return rgba


def over_color(
    foreground: np.ndarray, matte: np.ndarray, color: Sequence[int] = DEFAULT_BACKGROUND_COLOR
) -> np.ndarray:
    """H x W x 3 RGB: the foreground over a uniform colour."""
    _check_layers(matte, foreground=foreground)
    color = check_background_color(color)
    if color == (0, 0, 0):
        # Over black the blend is the premultiplied foreground, rounded alike: one multiply,
        # about ten times faster (the RGB composite of a transparent background).
        return cv2.multiply(foreground, cv2.merge((matte, matte, matte)), scale=1 / 255)
    background = np.empty_like(foreground)
    background[...] = color
    return _blend(foreground, background, matte)


def over_black(rgba: np.ndarray) -> np.ndarray:
    """H x W x 3 RGB: an RGBA cutout over black, as :func:`over_color` makes it from its
    layers (colours times alpha / 255, rounded), in two of OpenCV's colour conversions: faster
    than ``over_color`` where the cutout is made anyway."""
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"rgba: expected uint8 H x W x 4, got {rgba.dtype} {rgba.shape}")
    height, width = rgba.shape[:2]
    result = np.empty((height, width, 3), np.uint8)
    # In stripes of rows: the premultiplied RGBA between the two conversions is one small
    # buffer that stays in the cache, not a fresh full-size image.
    premultiplied = np.empty((min(stripe_rows(width), height), width, 4), np.uint8)
    for rows in row_stripes(height, width):
        buffer = premultiplied[: rows.stop - rows.start]
        cv2.cvtColor(rgba[rows], cv2.COLOR_RGBA2mRGBA, dst=buffer)
        cv2.cvtColor(buffer, cv2.COLOR_RGBA2RGB, dst=result[rows])
    return result


def over_image(foreground: np.ndarray, matte: np.ndarray, background: np.ndarray) -> np.ndarray:
    """H x W x 3 RGB: the foreground over ``background`` (any format accepted by
    :func:`modnet.image.to_rgb_uint8`), resized to cover the frame and centred."""
    _check_layers(matte, foreground=foreground)
    height, width = matte.shape
    return _blend(foreground, cover(to_rgb_uint8(background), height, width), matte)


def over_blur(
    image: np.ndarray,
    foreground: np.ndarray,
    matte: np.ndarray,
    strength: float = DEFAULT_BLUR_STRENGTH,
) -> np.ndarray:
    """H x W x 3 RGB: the foreground over the photo's own background, blurred like a portrait
    lens with a Gaussian whose standard deviation is ``strength`` percent of the long side.

    The blur averages the background layer only, ``image - alpha * foreground`` (which is
    ``(1 - alpha) * B``), normalised by the blurred ``1 - alpha``: the person's colours do not
    spread into the blurred background.
    """
    _check_layers(matte, image=image, foreground=foreground)
    height, width = matte.shape
    sigma = check_blur_strength(strength) / 100 * max(height, width)
    scale = min(1.0, _BLUR_WORKING_SIGMA / sigma)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    alpha3 = cv2.merge((matte, matte, matte))
    layer = cv2.subtract(image, cv2.multiply(foreground, alpha3, scale=1 / 255))
    planes = [_shrink(plane, size).astype(np.float32) for plane in (layer, 255 - matte, image)]
    # Each axis scaled by its own ratio: a side shrunk to a pixel or two is rounded far from
    # the other side's ratio.
    sigma_x, sigma_y = sigma * size[0] / width, sigma * size[1] / height
    layer, weight, photo = (
        cv2.GaussianBlur(plane, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y) for plane in planes
    )
    weight = weight[..., None] / 255
    blurred = (layer + _HOLE_WEIGHT * photo) / (weight + _HOLE_WEIGHT)
    blurred = np.rint(np.clip(blurred, 0, 255)).astype(np.uint8)
    return _blend(foreground, cv2.resize(blurred, (width, height)), matte)


def replace_background(
    image: np.ndarray,
    foreground: np.ndarray,
    matte: np.ndarray,
    background: str = DEFAULT_BACKGROUND,
    color: Sequence[int] = DEFAULT_BACKGROUND_COLOR,
    blur_strength: float = DEFAULT_BLUR_STRENGTH,
    background_image: np.ndarray | None = None,
    rgb: bool = False,
) -> np.ndarray:
    """The person on the chosen ``background``: RGBA for ``transparent``, else RGB. With
    ``rgb``, for what holds no alpha (video writers, JPEG), ``transparent`` is RGB too: the
    person over black, the cutout's colours premultiplied by its alpha.

    ``image`` is the RGB uint8 photo, ``foreground`` its estimated colours, ``matte`` the uint8
    alpha; all share height and width.
    """
    check_background(background)
    if background == "transparent":
        return (
            over_color(foreground, matte, TRANSPARENT_AS_RGB) if rgb else cutout(foreground, matte)
        )
    if background == "color":
        return over_color(foreground, matte, color)
    if background == "blur":
        return over_blur(image, foreground, matte, blur_strength)
    if background_image is None:
        raise ValueError("background_image: required when background is 'image'")
    return over_image(foreground, matte, background_image)


def cover(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` scaled to cover ``height`` x ``width``, aspect ratio kept, centre cropped."""
    source_height, source_width = image.shape[:2]
    # The largest centred window of the target's aspect ratio, then one resize to the target.
    if source_width * height > width * source_height:
        crop_height, crop_width = source_height, max(1, round(source_height * width / height))
    else:
        crop_height, crop_width = max(1, round(source_width * height / width)), source_width
    top, left = (source_height - crop_height) // 2, (source_width - crop_width) // 2
    window = image[top : top + crop_height, left : left + crop_width]
    if shrinks(window.shape, (height, width)):
        return _shrink(window, (width, height))
    return cv2.resize(window, (width, height), interpolation=cv2.INTER_LINEAR)


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _blend(foreground: np.ndarray, background: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """``alpha * foreground + (1 - alpha) * background``, rounded."""
    weight = matte.astype(np.float32)
    return cv2.blendLinear(foreground, background, weight, 255 - weight)


def _check_layers(matte: np.ndarray, **layers: np.ndarray) -> None:
    """The matte is uint8 H x W and each named layer uint8 H x W x 3."""
    if matte.dtype != np.uint8 or matte.ndim != 2:
        raise ValueError(f"matte: expected uint8 H x W, got {matte.dtype} {matte.shape}")
    for name, layer in layers.items():
        if layer.dtype != np.uint8 or layer.shape != (*matte.shape, 3):
            raise ValueError(
                f"{name}: expected uint8 RGB of the matte's size {matte.shape}, "
                f"got {layer.dtype} {layer.shape}"
            )
