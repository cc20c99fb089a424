"""The device twin of :mod:`modnet.edit.compositing`: the cutout and the composites in
PyTorch, on the tensors' device, within a grey level of the OpenCV implementation.

Images are H x W x 3 RGB and mattes H x W, uint8 tensors; so are the results. Values are
checked by the NumPy functions' callers (:mod:`modnet.edit.outputs`): these take them as given.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..pipeline.filters_torch import gaussian_blur
from ..runtime.torch_runner import resize
from .compositing import _BLUR_WORKING_SIGMA, _HOLE_WEIGHT, check_blur_strength


def cutout_torch(foreground: torch.Tensor, matte: torch.Tensor) -> torch.Tensor:
    """H x W x 4 RGBA: the foreground colours with the matte as alpha."""
    return torch.cat((foreground, matte[:, :, None]), dim=2)


def over_color_torch(
    foreground: torch.Tensor, matte: torch.Tensor, color: Sequence[int]
) -> torch.Tensor:
    """H x W x 3 RGB: the foreground over a uniform colour."""
    if tuple(color) == (0, 0, 0):
        return _to_uint8(foreground.float() * matte[:, :, None].float() / 255)
    background = torch.tensor(color, dtype=torch.float32, device=foreground.device)
    return _blend(foreground.float(), background, matte)


def over_image_torch(
    foreground: torch.Tensor, matte: torch.Tensor, background: torch.Tensor
) -> torch.Tensor:
    """H x W x 3 RGB: the foreground over the uint8 ``background`` (H' x W' x 3), resized to
    cover the frame and centred."""
    height, width = matte.shape
    return _blend(foreground.float(), cover_torch(background, height, width), matte)


def over_blur_torch(
    image: torch.Tensor, foreground: torch.Tensor, matte: torch.Tensor, strength: float
) -> torch.Tensor:
    """H x W x 3 RGB: the foreground over the photo's own background blurred, as
    :func:`modnet.edit.compositing.over_blur` makes it."""
    height, width = matte.shape
    sigma = check_blur_strength(strength) / 100 * max(height, width)
    scale = min(1.0, _BLUR_WORKING_SIGMA / sigma)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    alpha = matte[:, :, None].float()
    premultiplied = _to_uint8(foreground.float() * alpha / 255)
    layer = (image.float() - premultiplied.float()).clamp_(min=0)
    planes = torch.cat((layer, 255 - alpha, image.float()), dim=2).permute(2, 0, 1)[None]
    # Shrunk as OpenCV shrinks uint8 planes: each value rounded.
    small = planes if size == (height, width) else resize(planes, size).round_()
    sigma_x, sigma_y = sigma * size[1] / width, sigma * size[0] / height
    blurred_layer, weight, photo = gaussian_blur(small, sigma_x, sigma_y).split((3, 1, 3), dim=1)
    blurred = (blurred_layer + _HOLE_WEIGHT * photo) / (weight / 255 + _HOLE_WEIGHT)
    blurred = blurred.clamp_(0, 255).round_()
    background = resize(blurred, (height, width))[0].permute(1, 2, 0).round_()
    return _blend(foreground.float(), background, matte)


def cover_torch(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The uint8 ``image`` scaled to cover ``height`` x ``width``, aspect ratio kept, centre
    cropped, as float32 H x W x 3 holding uint8 values (see
    :func:`modnet.edit.compositing.cover`)."""
    source_height, source_width = image.shape[:2]
    if source_width * height > width * source_height:
        crop_height, crop_width = source_height, max(1, round(source_height * width / height))
    else:
        crop_height, crop_width = max(1, round(source_width * height / width)), source_width
    top, left = (source_height - crop_height) // 2, (source_width - crop_width) // 2
    window = image[top : top + crop_height, left : left + crop_width]
    planes = window.permute(2, 0, 1)[None].float()
    return resize(planes, (height, width))[0].permute(1, 2, 0).round_()


def _blend(foreground: torch.Tensor, background: torch.Tensor, matte: torch.Tensor) -> torch.Tensor:
    """``alpha * foreground + (1 - alpha) * background``, rounded, as ``cv2.blendLinear``."""
    weight = matte[:, :, None].float()
    return _to_uint8((foreground * weight + background * (255 - weight)) / (255 + 1e-5))


def _to_uint8(values: torch.Tensor) -> torch.Tensor:
    """Float values rounded and saturated to uint8, as OpenCV stores its results."""
    return values.round().clamp_(0, 255).to(torch.uint8)
