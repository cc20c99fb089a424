"""What the plugin shows of a matte: the RGBA cutout of the foreground colours, the composite on
the chosen background and the person mask, made where the matte was made.

On the CPU (``device`` None) NumPy and OpenCV make them (:mod:`modnet.edit.foreground`,
:mod:`modnet.edit.compositing`). On a device, their PyTorch twins do
(:mod:`modnet.edit.outputs_torch`), from the photo and matte that the session kept there, and
only the finished uint8 arrays come back: on a GPU, the CPU work after the network took longer
than the network itself.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from ..pipeline.session import MattingResult
from .compositing import over_black, replace_background
from .foreground import estimate_cutout
from .output_settings import Outputs, OutputSettings


def make_outputs(
    result: MattingResult,
    settings: OutputSettings,
    background_image: np.ndarray | None = None,
    device: str | None = None,
    timings: dict[str, float] | None = None,
) -> Outputs:
    """The outputs of ``result`` under ``settings``; ``background_image`` (RGB uint8, any size)
    for the ``image`` background. ``device``: where to make them (a session's
    :attr:`~modnet.pipeline.session.MattingSession.output_device`), None for the CPU.
    ``timings``, if given, receives the seconds of the ``foreground`` estimate (on the CPU, with
    the cutout it fills) and of the other ``outputs`` (the device is synchronised for them)."""
    if settings.background == "image" and background_image is None:
        raise ValueError("background_image: required when background is 'image'")
    if device is not None:
        from .outputs_torch import device_outputs

        return device_outputs(result, settings, background_image, device, timings)
    start = time.perf_counter()
    image, matte = result.image, result.matte
    # The cutout straight from the photo, in one pass: the RGB foreground that the other
    # composites need is taken from it, in one conversion.
    rgba = estimate_cutout(image, matte, settings.foreground)
    estimated = time.perf_counter()
    if settings.background == "transparent" and settings.rgb:
        # What replace_background makes for it, from the cutout already made.
        composite = over_black(rgba)
    else:
        composite = replace_background(
            image,
            cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB),
            matte,
            settings.background,
            settings.background_color,
            settings.blur_strength,
            background_image,
            rgb=settings.rgb,
        )
    outputs = Outputs(rgba, composite, result.mask(settings.threshold))
    if timings is not None:
        timings["foreground"] = estimated - start
        timings["outputs"] = time.perf_counter() - estimated
    return outputs
