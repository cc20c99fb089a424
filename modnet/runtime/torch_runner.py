"""MODNet in PyTorch on one device, with a pipeline that keeps a GPU's tensors on the GPU.

On a CUDA GPU, :meth:`TorchRunner.matte` uploads the photo once as uint8, resizes, normalises,
runs the network and scales the alpha back on the device, and downloads only the uint8 matte.

Precision: ``scripts/benchmarks/benchmark_precision.py`` rounds each part's convolution
operands to 10 mantissa bits, as float16 and TF32 (cuDNN's default for float32 on recent GPUs)
do, and compares the mattes of the PPM-100 photos. Rounding in the backbone moves some pixels
by tens of grey levels, so CUDA convolutions run in IEEE float32 here. Only the semantic branch
stays within one grey level; ``half=True`` runs it in float16, which is not the default because
that bound has not been checked on a GPU's own float16 kernels."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import NonFiniteOutputError
from ..image import shrinks
from ..network.model import MODNet


class Float16(nn.Module):
    """Runs ``module`` in float16 between float32 inputs and outputs."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module.half()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.half()).float()


def half_semantic_branch(model: MODNet) -> MODNet:
    """``model`` with its low-resolution semantic branch in float16."""
    if not isinstance(model.lr_branch, Float16):
        model.lr_branch = Float16(model.lr_branch)
    return model


@contextmanager
def ieee_float32(device: torch.device) -> Iterator[None]:
    """Full float32 convolutions on CUDA (PyTorch lets cuDNN use TF32 by default)."""
    if device.type != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    previous = cudnn.allow_tf32
    cudnn.allow_tf32 = False
    try:
        yield
    finally:
        cudnn.allow_tf32 = previous


class TorchRunner:
    """``model`` moved once to ``device``; ``half`` runs its semantic branch in float16 (slow
    on a CPU, whose float16 convolutions are not vectorised)."""

    name = "torch"
    precision = "fp32"

    def __init__(self, model: MODNet, device: str, half: bool = False) -> None:
        self.device = torch.device(device)
        if half:
            model = half_semantic_branch(model)
            self.precision = "fp32, semantic branch fp16"
        self.model = model.to(self.device).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), ieee_float32(self.device):
            return self.model(x)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The network alone, NumPy in and out (see :mod:`modnet.runtime.factory`)."""
        return self.forward(torch.from_numpy(x).to(self.device)).cpu().numpy()

    def upload(self, rgb: np.ndarray) -> torch.Tensor:
        """The H x W x 3 uint8 ``rgb`` as a uint8 tensor on the device, copied once."""
        # torch takes no negative strides: a BGR photo flipped to RGB with [..., ::-1].
        return torch.from_numpy(np.ascontiguousarray(rgb)).to(self.device)

    def network_alpha(
        self,
        image: torch.Tensor,
        size: tuple[int, int],
        stages: dict[str, float] | None = None,
    ) -> torch.Tensor:
        """The network's 1 x 1 x h x w float alpha at ``size`` (height, width) for the H x W x
        3 uint8 ``image`` tensor, resized and normalised on the device as the CPU path does.
        Adds the seconds of preprocessing and forward pass to ``stages``, if given (the device
        is synchronised for them)."""
        clock = _Clock(self.device, stages)
        with torch.inference_mode():
            x = resize(image.permute(2, 0, 1)[None].float(), size)
            if shrinks(image.shape, size):
                round_as_opencv_area(x, image.shape[:2], size)
            x = x.div_(127.5).sub_(1.0)
            clock.lap("preprocess")
            alpha = self.forward(x)
            clock.lap("forward")
            if not torch.isfinite(alpha).all():
                raise NonFiniteOutputError.for_output()
        return alpha

    def matte(
        self,
        rgb: np.ndarray,
        size: tuple[int, int],
        timings: dict[str, float] | None = None,
    ) -> np.ndarray:
        """The H x W uint8 matte of the H x W x 3 uint8 ``rgb``, run at ``size`` (height,
        width) with every step on the device. ``timings`` as in
        :meth:`modnet.pipeline.session.MattingSession.predict` (the device is synchronised for
        them)."""
        stages = {"preprocess": 0.0, "forward": 0.0}
        clock = _Clock(self.device, timings)
        alpha = self.network_alpha(self.upload(rgb), size, stages)
        with torch.inference_mode():
            alpha = resize(alpha, rgb.shape[:2]).mul_(255.0).round_()
            matte = alpha[0, 0].to(torch.uint8).cpu().numpy()
        clock.lap("postprocess")
        if timings is not None:
            timings.update(stages)
            timings["postprocess"] -= sum(stages.values())
        return matte


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``x`` (N x C x H x W float) at ``size``: OpenCV's area averaging to shrink, bilinear to
    enlarge. A few pixels of the matte change by tens of grey levels when the network's input
    changes by one, so the device reproduces the CPU path's resizing rather than approximating
    it."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if shrinks(x.shape[-2:], size):
        rows = area_weights(x.shape[-2], size[0], x.device)
        columns = area_weights(x.shape[-1], size[1], x.device)
        return rows @ x @ columns.T
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def round_as_opencv_area(
    x: torch.Tensor, source: tuple[int, ...], target: tuple[int, ...]
) -> torch.Tensor:
    """Rounds in place, as OpenCV rounds a uint8 area average from ``source`` to ``target``
    (height, width): half up where both sides shrink by whole factors (its integer fast path),
    half to even elsewhere (its float path). The network is sensitive enough for the
    difference to move some pixels by tens of grey levels."""
    whole = all(before % after == 0 for before, after in zip(source, target, strict=True))
    return x.add_(0.5).floor_() if whole else x.round_()


@lru_cache(maxsize=8)
def area_weights(source: int, target: int, device: torch.device) -> torch.Tensor:
    """``target`` x ``source`` matrix of cv2.INTER_AREA along one axis: output pixel ``i``
    averages the source interval [i * s, (i + 1) * s), s = source / target, each source pixel
    weighted by the length it shares with that interval. Cached: video frames share their
    sizes, and callers only read the matrix."""
    scale = source / target
    edges = torch.arange(target + 1, dtype=torch.float64) * scale
    pixels = torch.arange(source, dtype=torch.float64)
    overlap = torch.minimum(edges[1:, None], pixels + 1) - torch.maximum(edges[:-1, None], pixels)
    return (overlap.clamp_(min=0.0) / scale).to(device, torch.float32)


class _Clock:
    """Adds the seconds between laps to ``timings``, waiting for the device first."""

    def __init__(self, device: torch.device, timings: dict[str, float] | None) -> None:
        self.device = device
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.timings is None:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        self.last = now
