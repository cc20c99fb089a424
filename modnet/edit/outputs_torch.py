"""The device twin of :func:`modnet.edit.outputs.make_outputs`: the foreground, the cutout, the
composite and the person mask made by the PyTorch twins on the session's device, each finished
array downloaded once.

The photo and matte come from the session's tensors when the matte is the session's own; a
matte changed on the host since (a temporal filter's) is uploaded with its photo.
"""

from __future__ import annotations

import numpy as np
import torch

from ..image import to_rgb_uint8
from ..pipeline.session import MattingResult, mask_level
from ..runtime.torch_runner import Clock, ieee_float32, upload
from .compositing import TRANSPARENT_AS_RGB
from .compositing_torch import (
    cutout_torch,
    over_blur_torch,
    over_color_torch,
    over_image_torch,
)
from .foreground_torch import estimate_foreground_torch
from .output_settings import Outputs, OutputSettings


def person_mask_torch(matte: torch.Tensor, threshold: float) -> torch.Tensor:
    """H x W uint8, 1 where ``matte / 255 >= threshold``: the twin of
    :meth:`modnet.pipeline.session.MattingResult.mask`."""
    return (matte >= mask_level(threshold)).to(torch.uint8)


def composite_torch(
    image: torch.Tensor,
    foreground: torch.Tensor,
    matte: torch.Tensor,
    settings: OutputSettings,
    background_image: torch.Tensor | None,
) -> torch.Tensor:
    """The twin of :func:`modnet.edit.compositing.replace_background` (values checked by
    ``settings``)."""
    if settings.background == "transparent":
        if settings.rgb:
            return over_color_torch(foreground, matte, TRANSPARENT_AS_RGB)
        return cutout_torch(foreground, matte)
    if settings.background == "color":
        return over_color_torch(foreground, matte, settings.background_color)
    if settings.background == "blur":
        return over_blur_torch(image, foreground, matte, settings.blur_strength)
    assert background_image is not None  # checked by make_outputs
    return over_image_torch(foreground, matte, background_image)


def device_outputs(
    result: MattingResult,
    settings: OutputSettings,
    background_image: np.ndarray | None,
    device: str,
    timings: dict[str, float] | None = None,
) -> Outputs:
    """:func:`modnet.edit.outputs.make_outputs` on ``device``."""
    clock = Clock(torch.device(device), timings)
    # Under the float32 settings: the resizes of the composites are matrix products.
    with torch.inference_mode(), ieee_float32():
        image, matte = _device_layers(result, device)
        foreground = estimate_foreground_torch(image, matte, settings.foreground)
        clock.lap("foreground")
        rgba = cutout_torch(foreground, matte)
        made = None  # a transparent composite without ``rgb`` is the cutout itself
        if settings.background != "transparent" or settings.rgb:
            background = None
            if background_image is not None:
                background = upload(to_rgb_uint8(background_image), device)
            made = composite_torch(image, foreground, matte, settings, background)
        person = person_mask_torch(matte, settings.threshold)
        # Downloaded once all is queued: the device works while the first copy waits for it.
        cutout = rgba.cpu().numpy()
        composite = cutout if made is None else made.cpu().numpy()
        mask = person.cpu().numpy()
    clock.lap("outputs")
    return Outputs(cutout, composite, mask)


def _device_layers(result: MattingResult, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The photo and the matte of ``result`` as uint8 tensors on ``device``."""
    if result.tensors is not None:
        return result.tensors
    return upload(result.image, device), upload(result.matte, device)
