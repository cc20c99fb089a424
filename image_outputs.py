"""Image outputs whose saved files keep what the image holds.

Ikomia's own ``CImageIO.save`` writes 3-channel BGR, so a saved cutout loses its transparency; and
its auto-save (``Workflow.run_on(folder=...)``) gives every output of a task the same file name,
so each image output overwrites the previous one. :class:`KeptImageIO` saves RGBA as RGBA and a
single-channel matte as one channel, and under auto-save adds its own suffix to the name.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from ikomia import dataprocess

# cv2.imwrite expects BGR(A); the outputs hold RGB(A).
_TO_BGR = {3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Writes an RGB, RGBA or single-channel uint8 ``image`` with all its channels (the format
    must hold them: PNG, WebP and TIFF keep alpha, JPEG drops it)."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    pixels = cv2.cvtColor(image, _TO_BGR[channels]) if channels in _TO_BGR else image
    if not cv2.imwrite(str(path), pixels):
        raise OSError(f"cannot write an image to {path}")


class KeptImageIO(dataprocess.CImageIO):
    """A ``CImageIO`` whose ``save`` keeps every channel. ``suffix`` names its file when Ikomia
    auto-saves all outputs of the task under one base name."""

    def __init__(self, suffix: str) -> None:
        dataprocess.CImageIO.__init__(self)
        self.suffix = suffix

    def save(self, path: str) -> None:
        target = Path(path)
        if self.auto_save:
            target = target.with_name(f"{target.stem}_{self.suffix}{target.suffix}")
        write_image(target, self.get_image())
