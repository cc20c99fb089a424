"""The device twin of :mod:`modnet.pipeline.multiscale` and of the session's host pipeline:
the matte of any ``quality`` and ``input_size`` made on the PyTorch runner's device, from one
upload of the photo.

The float alphas are N x C x H x W tensors (1 x 1 x h x w); each function mirrors the NumPy
one of the same name, within float rounding.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..image import network_size
from ..limits import network_pixel_cap
from ..runtime.torch_runner import TorchRunner, ieee_float32, resize
from .guided_filter_torch import guided_upsample_torch
from .multiscale import GUIDE_EPS, GUIDE_RADIUS, SEMANTIC_SIZE, high_sizes, pass_sizes

# The most images that go through the network in one forward pass: the activations of a batch
# grow with it, and a long list of photos must not exhaust the GPU's memory.
MAX_BATCH = 16
# The float alpha of one pass of the network at an input size, at the network's resolution.
AlphaAt = Callable[[int], torch.Tensor]


def with_details_torch(semantic: torch.Tensor, detailed: torch.Tensor) -> torch.Tensor:
    """:func:`modnet.pipeline.multiscale.with_details` on 1 x 1 x h x w tensors."""
    size = tuple(detailed.shape[-2:])
    coarse = resize(resize(detailed, tuple(semantic.shape[-2:])), size)
    return (resize(semantic, size) + (detailed - coarse)).clamp_(0.0, 1.0)


def _with_input_details(alpha_at: AlphaAt, alpha: torch.Tensor, input_size: int) -> torch.Tensor:
    if input_size <= SEMANTIC_SIZE:
        return alpha
    return with_details_torch(alpha, alpha_at(input_size))


def fast_alpha_torch(alpha_at: AlphaAt, input_size: int) -> torch.Tensor:
    """:func:`modnet.pipeline.multiscale.fast_alpha` on the device."""
    return _with_input_details(alpha_at, alpha_at(min(input_size, SEMANTIC_SIZE)), input_size)


def high_alpha_torch(alpha_at: AlphaAt, input_size: int) -> torch.Tensor:
    """:func:`modnet.pipeline.multiscale.high_alpha` on the device: the pixel-wise median of
    three passes (for three values, torch's median is NumPy's)."""
    alphas = [alpha_at(size) for size in high_sizes(input_size)]
    size = tuple(alphas[-1].shape[-2:])
    consensus = torch.cat([resize(alpha, size) for alpha in alphas], dim=1).median(dim=1).values
    return _with_input_details(alpha_at, consensus[:, None], input_size)


def high_quality_alpha_torch(
    alpha_at: AlphaAt, image: torch.Tensor, input_size: int
) -> torch.Tensor:
    """The float alpha of the ``high`` mode at the size of ``image`` (H x W x 3 uint8):
    :func:`high_alpha_torch` brought there by guided upsampling."""
    alpha = high_alpha_torch(alpha_at, input_size)
    photo = image.permute(2, 0, 1)[None].float()
    size = tuple(alpha.shape[-2:])
    guide_small = resize(photo, size)
    # OpenCV shrinks or enlarges the uint8 photo to the guide's size: each value rounded.
    guide_small = guide_small if guide_small is photo else guide_small.round()
    return guided_upsample_torch(alpha, guide_small, photo, GUIDE_RADIUS, GUIDE_EPS)


def device_matte(
    runner: TorchRunner,
    rgb: np.ndarray,
    input_size: int,
    quality: str,
    timings: dict[str, float] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The RGB uint8 ``rgb`` uploaded once, and its H x W uint8 matte made on the runner's
    device, both as tensors there: what :meth:`modnet.pipeline.session.MattingSession.predict`
    makes on the CPU for ``input_size`` and ``quality``. ``timings``, if given, receives the
    seconds of ``preprocess`` (upload and input resizing), ``forward`` and ``postprocess``."""
    return device_mattes(runner, [rgb], input_size, quality, timings)[0]


def device_mattes(
    runner: TorchRunner,
    rgbs: list[np.ndarray],
    input_size: int,
    quality: str,
    timings: dict[str, float] | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """:func:`device_matte` of each of ``rgbs``, the passes of the same network size running
    through the network together (at most :data:`MAX_BATCH` at a time). ``timings``: the
    seconds of the whole batch."""
    start = time.perf_counter()
    stages = {"preprocess": 0.0, "forward": 0.0}
    # The whole device call under the float32 settings (see ieee_float32).
    with torch.inference_mode(), ieee_float32():
        images = [runner.upload(rgb) for rgb in rgbs]
        # Every pass under the cap of the input size asked for (see MattingSession.passes).
        cap = network_pixel_cap(input_size)
        known = _batched_passes(runner, images, pass_sizes(quality, input_size), cap, stages)
        results = []
        for image, alphas in zip(images, known, strict=True):
            height, width = image.shape[:2]

            def alpha_at(size: int, image=image, alphas=alphas) -> torch.Tensor:
                shape = network_size(image.shape[0], image.shape[1], size, cap)
                if shape not in alphas:  # a pass that pass_sizes did not foresee
                    alphas[shape] = runner.network_alpha(image, shape, stages)
                return alphas[shape]

            if quality == "high":
                alpha = high_quality_alpha_torch(alpha_at, image, input_size)
            else:
                alpha = resize(fast_alpha_torch(alpha_at, input_size), (height, width))
            results.append((image, alpha[0, 0].mul(255.0).round_().to(torch.uint8)))
        if timings is not None:
            if runner.device.type == "cuda":
                torch.cuda.synchronize(runner.device)
            timings.update(stages)
            timings["postprocess"] = time.perf_counter() - start - sum(stages.values())
    return results


def _batched_passes(
    runner: TorchRunner,
    images: list[torch.Tensor],
    sizes: tuple[int, ...],
    cap: int,
    stages: dict[str, float],
) -> list[dict[tuple[int, int], torch.Tensor]]:
    """For each image, the 1 x 1 x h x w alpha of its pass at each input size of ``sizes``,
    keyed by network size; the passes of one network size run in batches."""
    groups: dict[tuple[int, int], list[int]] = {}
    for index, image in enumerate(images):
        shapes = {network_size(image.shape[0], image.shape[1], size, cap) for size in sizes}
        for shape in sorted(shapes):
            groups.setdefault(shape, []).append(index)
    known: list[dict[tuple[int, int], torch.Tensor]] = [{} for _ in images]
    for shape, members in groups.items():
        for first in range(0, len(members), MAX_BATCH):
            batch = members[first : first + MAX_BATCH]
            alphas = runner.network_alphas([images[i] for i in batch], shape, stages)
            for index, alpha in zip(batch, alphas.split(1), strict=True):
                known[index][shape] = alpha
    return known
