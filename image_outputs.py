"""Image outputs whose saved files keep what the image holds.

Ikomia's own ``CImageIO.save`` writes 3-channel BGR, so a saved cutout loses its transparency; and
its auto-save (``Workflow.run_on(folder=...)``) gives every output of a task the same file name,
so each image output overwrites the previous one. :class:`KeptImageIO` saves RGBA as RGBA and a
single-channel matte as one channel, and under auto-save adds its own suffix to the name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from ikomia import dataprocess

from infer_modnet_portrait_matting.modnet import over_color

logger = logging.getLogger(__name__)

# cv2.imwrite expects BGR(A); the outputs hold RGB(A).
_TO_BGR = {3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}
# The formats OpenCV writes with an alpha channel (BMP as 32 bits, which some viewers ignore).
ALPHA_EXTENSIONS = (".png", ".webp", ".tif", ".tiff", ".avif", ".bmp", ".dib")
# Named when a file name has no extension OpenCV can write; OpenCV accepts a few more.
COMMON_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".avif")


def colour_overlay(mask: np.ndarray, colour: Sequence[int]) -> np.ndarray:
    """H x W x 4 RGBA: ``colour``, opaque, where the 0/1 uint8 ``mask`` is 1, transparent black
    elsewhere: the overlay that Ikomia makes from a mask output and a one-colour colour map with
    zero reserved (``set_output_color_map``), for a colour other than black. Each pixel is one
    product of 32-bit integers, its four bytes at once."""
    packed = np.array([*colour, 255], np.uint8).view(np.uint32)
    return np.multiply(mask, packed, dtype=np.uint32).view(np.uint8).reshape(*mask.shape, 4)


def write_image(path: str | Path, image: np.ndarray, name: str = "image") -> None:
    """Writes an RGB, RGBA or single-channel uint8 ``image`` with all its channels. A format
    without alpha (JPEG, GIF...) gets an RGBA image over black, as the composite shows a
    transparent background, with a warning; ``name`` names the image in errors and warnings."""
    path = Path(path)
    if not cv2.haveImageWriter(str(path)):
        raise ValueError(
            f"{name}: cannot save to '{path}': OpenCV has no image format for a file named "
            f"'{path.name}'; end the name with one of {', '.join(COMMON_EXTENSIONS)}"
        )
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 4 and path.suffix.lower() not in ALPHA_EXTENSIONS:
        logger.warning(
            "%s: %s cannot hold alpha, so %s is written over black; save it as PNG, WebP or "
            "TIFF to keep its transparency",
            name,
            path.suffix or path.name,
            path,
        )
        image, channels = over_color(image[..., :3], image[..., 3], (0, 0, 0)), 3
    pixels = cv2.cvtColor(image, _TO_BGR[channels]) if channels in _TO_BGR else image
    if not cv2.imwrite(str(path), pixels):
        raise OSError(f"{name}: cannot write an image to {path}")


class KeptImageIO(dataprocess.CImageIO):
    """A ``CImageIO`` whose ``save`` keeps every channel. ``suffix`` names its file when Ikomia
    auto-saves all outputs of the task under one base name; ``index`` is its output's index,
    for errors."""

    def __init__(self, suffix: str, index: int) -> None:
        dataprocess.CImageIO.__init__(self)
        self.suffix = suffix
        self.label = f"output {index} ({suffix})"

    def save(self, path: str) -> None:
        image = self.get_image()
        if image is None or image.size == 0:
            raise ValueError(
                f"{self.label} has no image yet: save it after a run of the task that succeeded"
            )
        target = Path(path)
        if self.auto_save:
            target = target.with_name(f"{target.stem}_{self.suffix}{target.suffix}")
        write_image(target, image, self.label)
