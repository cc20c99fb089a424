"""MODNet in PyTorch on one device, with a pipeline that keeps a GPU's tensors on the GPU.

On a CUDA GPU, :meth:`TorchRunner.matte` uploads the photo once as uint8, resizes, normalises,
runs the network and scales the alpha back on the device, and downloads only the uint8 matte.

Precision: ``fp32`` runs convolutions and matrix products in IEEE float32 (see
:func:`ieee_float32`): ``scripts/benchmarks/benchmark_precision.py`` rounds each part's
convolution operands to 10 mantissa bits, as TF32 (cuDNN's default for float32 on recent GPUs)
does, and in the backbone that moves some pixels by tens of grey levels. ``fp16`` runs the
whole network in float16 (the default on a CUDA GPU, see :mod:`modnet.runtime.precision`); the
resizing around it stays in IEEE float32 either way.
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

from ..errors import NonFiniteOutputError
from ..image import shrinks
from ..limits import SHRINK_FACTOR
from ..network.model import MODNet
from .graphs import GRAPH_SHAPES, GraphCache, cuda_capture
from .threads import network_threads

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


# The arithmetic a runner may use, and the type of the network's weights and activations.
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


class TorchRunner:
    """``model`` moved once to ``device``, in ``precision`` (``fp32`` or ``fp16``: float16
    weights and activations between float32 inputs and outputs; slow on a CPU, whose float16
    convolutions are not vectorised).

    ``channels_last`` (default: on a CUDA GPU) keeps the activations in NHWC order, the one
    cuDNN's fastest convolutions take. ``graph_shapes``: how many input shapes keep a CUDA
    graph of the network (see :mod:`modnet.runtime.graphs`; on a CUDA GPU only, 0 for none)."""

    name = "torch"

    def __init__(
        self,
        model: MODNet,
        device: str,
        precision: str = "fp32",
        channels_last: bool | None = None,
        graph_shapes: int = GRAPH_SHAPES,
    ) -> None:
        if precision not in DTYPES:
            raise ValueError(
                f"precision: the torch runner runs {', '.join(DTYPES)}, got '{precision}'"
            )
        self.device = torch.device(device)
        self.precision = precision
        self.dtype = DTYPES[precision]
        cuda = self.device.type == "cuda"
        self.channels_last = cuda if channels_last is None else channels_last
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model = model.to(self.device, self.dtype, memory_format=self.memory_format).eval()
        self.graphs = GraphCache(cuda_capture if cuda else None, graph_shapes)
        threads = network_threads()
        if threads is not None and self.device.type == "cpu":
            torch.set_num_threads(threads)
        # The largest input (in pixels) run since memory was last given back.
        self.held_pixels = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The network alone, NumPy in and out (see :mod:`modnet.runtime.factory`)."""
        self.held_pixels = max(self.held_pixels, x.shape[-2] * x.shape[-1])
        with torch.inference_mode(), ieee_float32():
            return self.forward(torch.from_numpy(x).to(self.device)).cpu().numpy()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The N x 1 x h x w float32 alpha of the N x 3 x h x w float32 input on the device."""
        x = x.to(self.dtype, memory_format=self.memory_format)
        return self.graphs(self._network, x).float()

    def _network(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def fit_memory(self, pixels: int) -> None:
        """Gives back the memory kept for inputs of more than ``SHRINK_FACTOR`` times
        ``pixels``, the largest input an image needed. PyTorch frees its CPU tensors, but the C
        library keeps freed memory in the heaps of the threads that used it: after a 1 x 5000
        strip, 6% to 25% more than usual stayed in use from one run to the next. On a GPU,
        PyTorch's cache of device memory is emptied instead."""
        if self.held_pixels <= SHRINK_FACTOR * pixels:
            return
        if self.device.type == "cuda":
            self.graphs.clear()  # each holds the activations of its shape
            torch.cuda.empty_cache()
        elif (trim := _malloc_trim()) is not None:
            trim(0)
        self.held_pixels = 0

    def upload(self, rgb: np.ndarray) -> torch.Tensor:
        """The H x W x 3 uint8 ``rgb`` as a uint8 tensor on the device, copied once."""
        return upload(rgb, self.device)

    def network_alpha(
        self,
        image: torch.Tensor,
        size: tuple[int, int],
        stages: dict[str, float] | None = None,
    ) -> torch.Tensor:
        """The network's 1 x 1 x h x w float alpha at ``size`` (height, width) for the H x W x
        3 uint8 ``image`` tensor (see :meth:`network_alphas`)."""
        return self.network_alphas([image], size, stages)

    def network_alphas(
        self,
        images: list[torch.Tensor],
        size: tuple[int, int],
        stages: dict[str, float] | None = None,
    ) -> torch.Tensor:
        """The network's N x 1 x h x w float alphas at ``size`` (height, width) for the N
        H x W x 3 uint8 ``images`` tensors (of any sizes), resized and normalised on the device
        as the CPU path does, in one forward pass. Adds the seconds of preprocessing and forward
        pass to ``stages``, if given (the device is synchronised for them)."""
        self.held_pixels = max(self.held_pixels, len(images) * size[0] * size[1])
        clock = Clock(self.device, stages)
        with torch.inference_mode(), ieee_float32():
            x = torch.cat([network_input(image, size) for image in images])
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
        clock = Clock(self.device, timings)
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


def upload(array: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """``array`` as a tensor of its type on ``device``, copied once."""
    # torch takes no negative strides: a BGR photo flipped to RGB with [..., ::-1].
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def network_input(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The 1 x 3 x h x w float input in [-1, 1] of the network at ``size`` for the H x W x 3
    uint8 ``image``, resized and rounded as the CPU path's OpenCV does."""
    x = resize(image.permute(2, 0, 1)[None].float(), size)
    if shrinks(image.shape, size):
        round_as_opencv_area(x, image.shape[:2], size)
    return x.div_(127.5).sub_(1.0)


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


class Clock:
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
