"""MODNet in PyTorch on one device, with a pipeline that keeps a GPU's tensors on the GPU.

On a CUDA GPU, :meth:`TorchRunner.matte` uploads the photo once as uint8, resizes, normalises,
runs the network and scales the alpha back on the device, and downloads only the uint8 matte.

Precision: ``scripts/benchmarks/benchmark_precision.py`` rounds each part's convolution
operands to 10 mantissa bits, as float16 and TF32 (cuDNN's default for float32 on recent GPUs)
do, and compares the mattes of the PPM-100 photos. Rounding in the backbone moves some pixels
by tens of grey levels, so convolutions and matrix products run in IEEE float32 here (see
:func:`ieee_float32`). Only the semantic branch stays within one grey level; ``half=True`` runs
it in float16, which is not the default because that bound has not been checked on a GPU's own
float16 kernels.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import NonFiniteOutputError
from ..image import shrinks
from ..limits import SHRINK_FACTOR
from ..network.model import MODNet
from .threads import network_threads


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


# TF32 is allowed or not for the whole process: one device call at a time may change that.
_TF32_FLAGS = (torch.backends.cudnn, torch.backends.cuda.matmul)
# Reentrant: a device call made of several network passes holds it around them all.
_TF32_LOCK = threading.RLock()


@contextmanager
def ieee_float32() -> Iterator[None]:
    """IEEE float32 convolutions and matrix products on CUDA (cuDNN uses TF32 by default),
    without changing them for the rest of the process.

    PyTorch allows TF32 through process-wide flags, not per thread or per call. They are set
    for the call and restored after it under one lock, so calls from several threads run one
    at a time and none restores the flags while another runs (which gave threads sharing a
    session different mattes). On the CPU, where the flags change nothing, the same code runs,
    so that the CPU tests check it."""
    with _TF32_LOCK:
        previous = [flags.allow_tf32 for flags in _TF32_FLAGS]
        for flags in _TF32_FLAGS:
            flags.allow_tf32 = False
        try:
            yield
        finally:
            for flags, allowed in zip(_TF32_FLAGS, previous, strict=True):
                flags.allow_tf32 = allowed


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
        threads = network_threads()
        if threads is not None and self.device.type == "cpu":
            torch.set_num_threads(threads)
        # The largest input (in pixels) run since memory was last given back.
        self.held_pixels = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The network alone, NumPy in and out (see :mod:`modnet.runtime.factory`)."""
        self.held_pixels = max(self.held_pixels, x.shape[-2] * x.shape[-1])
        with torch.inference_mode(), ieee_float32():
            return self.model(torch.from_numpy(x).to(self.device)).cpu().numpy()

    def fit_memory(self, pixels: int) -> None:
        """Gives back the memory kept for inputs of more than ``SHRINK_FACTOR`` times
        ``pixels``, the largest input an image needed. PyTorch frees its CPU tensors, but the C
        library keeps freed memory in the heaps of the threads that used it: after a 1 x 5000
        strip, 6% to 25% more than usual stayed in use from one run to the next. On a GPU,
        PyTorch's cache of device memory is emptied instead."""
        if self.held_pixels <= SHRINK_FACTOR * pixels:
            return
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        elif (trim := _malloc_trim()) is not None:
            trim(0)
        self.held_pixels = 0

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
        self.held_pixels = max(self.held_pixels, size[0] * size[1])
        clock = _Clock(self.device, stages)
        with torch.inference_mode(), ieee_float32():
            x = resize(image.permute(2, 0, 1)[None].float(), size)
            if shrinks(image.shape, size):
                round_as_opencv_area(x, image.shape[:2], size)
            x = x.div_(127.5).sub_(1.0)
            clock.lap("preprocess")
            alpha = self.model(x)
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
        # The whole device call, under the float32 settings: the area resizes are matrix products.
        with torch.inference_mode(), ieee_float32():
            alpha = self.network_alpha(self.upload(rgb), size, stages)
            alpha = resize(alpha, rgb.shape[:2]).mul_(255.0).round_()
            matte = alpha[0, 0].to(torch.uint8).cpu().numpy()
        clock.lap("postprocess")
        if timings is not None:
            timings.update(stages)
            timings["postprocess"] -= sum(stages.values())
        return matte


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """The GNU C library's ``malloc_trim``, which returns the free memory of every thread's heap
    to the system; None under other C libraries."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


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
