"""Photo in, alpha matte out: the inference pipeline around the network."""

from __future__ import annotations

import functools
import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NonFiniteOutputError
from ..image import network_input, network_size, resize, to_rgb_uint8
from ..limits import INPUT_SIZE_MAX, STRIDE, network_pixel_cap
from ..network.checkpoint_file import check_checkpoint_file
from ..runtime.factory import check_backend, create_runner
from ..runtime.precision import check_device_precision, check_precision
from .multiscale import (
    DEFAULT_QUALITY,
    AlphaAt,
    check_quality,
    fast_alpha,
    high_quality_matte,
)

DEFAULT_INPUT_SIZE = 512
DEFAULT_THRESHOLD = 0.5
INPUT_SIZES = (
    f"a multiple of {STRIDE} from {STRIDE} to {INPUT_SIZE_MAX} (e.g. {DEFAULT_INPUT_SIZE})"
)


def _pixels(size: tuple[int, int]) -> int:
    return size[0] * size[1]


def _type_name(value: object) -> str:
    return type(value).__name__


def check_input_size(input_size: int) -> int:
    """Validates ``input_size``: an integer (NumPy's included) that is a multiple of 32 from 32
    to :data:`modnet.limits.INPUT_SIZE_MAX`; returns it as an ``int``."""
    # bool is an Integral; True as an input size is a mistake, not 1.
    if isinstance(input_size, bool) or not isinstance(input_size, numbers.Integral):
        raise ValueError(
            f"input_size: expected an integer, {INPUT_SIZES}, "
            f"got {input_size!r} ({_type_name(input_size)})"
        )
    value = int(input_size)
    if not STRIDE <= value <= INPUT_SIZE_MAX or value % STRIDE:
        raise ValueError(f"input_size: expected {INPUT_SIZES}, got {value}")
    return value


def mask_level(threshold: float) -> int:
    """The lowest uint8 matte value that the person mask of ``threshold`` counts as a person:
    ``matte / 255 >= threshold``."""
    return math.ceil(check_threshold(threshold) * 255)


def check_threshold(threshold: float) -> float:
    """Validates the segmentation ``threshold``: a real number (NumPy's included) in [0, 1]."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ValueError(
            f"threshold: expected a number in [0, 1], got {threshold!r} ({_type_name(threshold)})"
        )
    if not 0.0 <= threshold <= 1.0:  # also refuses NaN
        raise ValueError(f"threshold: expected a number in [0, 1], got {threshold}")
    return float(threshold)


@dataclass(frozen=True)
class MattingResult:
    """The RGB image that was matted and its alpha matte (uint8, same height and width).

    ``tensors``: when the pipeline ran on a device (see :attr:`MattingSession.output_device`),
    the same image and matte as uint8 tensors there, from which :mod:`modnet.edit.outputs`
    makes the outputs without uploading them again.
    """

    image: np.ndarray
    matte: np.ndarray
    tensors: tuple[Any, Any] | None = field(default=None, compare=False, repr=False)

    def cutout(self) -> np.ndarray:
        """H x W x 4 RGBA uint8: the image's colours with the matte as alpha."""
        return np.dstack((self.image, self.matte))

    def mask(self, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """H x W uint8, 1 where ``matte / 255 >= threshold`` (person), else 0 (background)."""
        return (self.matte >= mask_level(threshold)).view(np.uint8)


class MattingSession:
    """MODNet loaded once on a device, ready to matte any number of images.

    ``backend``: ``torch``, ``onnxruntime`` or ``openvino`` (conversions of the same weights,
    cached in ``cache_dir`` and checked against PyTorch) or ``auto`` (on the CPU the fastest of
    those two installed, timed once per machine; PyTorch on a GPU). With PyTorch on a GPU the
    whole pipeline runs there (see :mod:`modnet.runtime.torch_runner`).

    ``precision``: ``fp32``, ``bf16`` (OpenVINO on a CPU with native bfloat16, the backbone
    kept in float32), ``fp16`` (PyTorch on a CUDA GPU), ``int8`` (ONNX Runtime on the CPU, the
    backbone kept in float32) or ``auto`` (``fp16`` on a CUDA GPU, ``bf16`` where OpenVINO runs
    on a CPU with native bfloat16, never ``int8``); see :mod:`modnet.runtime.precision`.
    ``backend`` and ``precision`` hold what was chosen.
    """

    def __init__(
        self,
        weights: str | Path,
        device: str = "cpu",
        backend: str = "auto",
        cache_dir: str | Path | None = None,
        precision: str = "auto",
    ) -> None:
        check_precision(precision, check_backend(backend))
        self.device = str(device)
        check_device_precision(precision, self.device)
        # Checked before any backend is tried: a missing file is not a reason to fall back.
        self.weights = check_checkpoint_file(weights)
        cache = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.network = create_runner(backend, self.weights, self.device, cache, precision)
        self.backend: str = self.network.name
        self.precision: str = self.network.precision
        # On a GPU, PyTorch makes the whole matte and its outputs, so tensors stay on the
        # device (tests set it on the CPU to run the same code).
        self.on_device = self.backend == "torch" and self.device != "cpu"

    @property
    def output_device(self) -> str | None:
        """The device where the outputs of a matte are made (see :mod:`modnet.edit.outputs`):
        the session's when its pipeline runs there, None for NumPy on the CPU."""
        return self.device if self.on_device else None

    def predict(
        self,
        image: np.ndarray,
        input_size: int = DEFAULT_INPUT_SIZE,
        timings: dict[str, float] | None = None,
        quality: str = DEFAULT_QUALITY,
    ) -> MattingResult:
        """Mattes one image (see :func:`modnet.image.to_rgb_uint8` for the accepted formats).

        ``quality``: ``fast``, one pass of the network (the MODNet paper's protocol) up to an
        ``input_size`` of 512, two above (see :func:`modnet.pipeline.multiscale.fast_alpha`);
        ``high``, see :func:`modnet.pipeline.multiscale.high_quality_matte`. ``timings``, if
        given, receives the seconds spent in each stage: ``preprocess``, ``forward`` and
        ``postprocess``.
        """
        start = time.perf_counter()
        input_size = check_input_size(input_size)
        check_quality(quality)
        rgb = to_rgb_uint8(image)
        prepared = time.perf_counter()
        tensors = None
        try:
            if self.on_device:
                from .multiscale_torch import device_matte

                tensors = device_matte(self.network, rgb, input_size, quality, timings)
                matte = tensors[1].cpu().numpy()
                self._fit_memory(_pixels(network_size(*rgb.shape[:2], input_size)))
            else:
                matte = self._host_matte(rgb, input_size, quality, timings)
        except NonFiniteOutputError as error:
            raise NonFiniteOutputError(f"{self.weights}: {error}") from None
        if timings is not None:
            # Validation and colour conversion count as preprocessing.
            timings["preprocess"] += prepared - start
        return MattingResult(image=rgb, matte=matte, tensors=tensors)

    def predict_batch(
        self,
        images: Sequence[np.ndarray],
        input_size: int = DEFAULT_INPUT_SIZE,
        timings: dict[str, float] | None = None,
        quality: str = DEFAULT_QUALITY,
    ) -> list[MattingResult]:
        """:meth:`predict` of each of ``images``, in order. On a device, the passes of images
        whose network sizes are equal (same-size photos, video frames) go through the network
        together; on the CPU, the images are matted one by one. ``timings``, if given,
        receives the seconds of each stage summed over the images."""
        if not self.on_device:
            results = []
            for image in images:
                stages: dict[str, float] = {}
                results.append(self.predict(image, input_size, stages, quality))
                if timings is not None:
                    for stage, seconds in stages.items():
                        timings[stage] = timings.get(stage, 0.0) + seconds
            return results
        from .multiscale_torch import MAX_BATCH, device_mattes

        start = time.perf_counter()
        input_size = check_input_size(input_size)
        check_quality(quality)
        rgbs = [to_rgb_uint8(image) for image in images]
        if not rgbs:
            return []
        prepared = time.perf_counter()
        try:
            pairs = device_mattes(self.network, rgbs, input_size, quality, timings)
        except NonFiniteOutputError as error:
            raise NonFiniteOutputError(f"{self.weights}: {error}") from None
        # A batch holds the activations of its images together.
        largest = max(_pixels(network_size(*rgb.shape[:2], input_size)) for rgb in rgbs)
        self._fit_memory(min(len(rgbs), MAX_BATCH) * largest)
        if timings is not None:
            timings["preprocess"] += prepared - start
        return [
            MattingResult(image=rgb, matte=pair[1].cpu().numpy(), tensors=pair)
            for rgb, pair in zip(rgbs, pairs, strict=True)
        ]

    def _host_matte(
        self, rgb: np.ndarray, input_size: int, quality: str, timings: dict[str, float] | None
    ) -> np.ndarray:
        stages = {"preprocess": 0.0, "forward": 0.0}
        sizes: list[tuple[int, int]] = []
        alpha_at = self.passes(rgb, stages, sizes, network_pixel_cap(input_size))
        start = time.perf_counter()
        if quality == "high":
            matte = high_quality_matte(alpha_at, rgb, input_size)
        else:
            alpha = fast_alpha(alpha_at, input_size)
            matte = resize(np.rint(alpha * 255.0).astype(np.uint8), rgb.shape[1], rgb.shape[0])
        # Counted per image, since an image's passes differ in size by design.
        self._fit_memory(max(_pixels(size) for size in sizes))
        if timings is not None:
            timings.update(stages)
            timings["postprocess"] = time.perf_counter() - start - sum(stages.values())
        return matte

    def _fit_memory(self, pixels: int) -> None:
        """Lets a runner that keeps memory for the largest input it ran (OpenVINO, PyTorch)
        give back what an input of ``pixels`` did not need."""
        fit_memory = getattr(self.network, "fit_memory", None)
        if fit_memory is not None:
            fit_memory(pixels)

    def passes(
        self,
        rgb: np.ndarray,
        stages: dict[str, float] | None = None,
        sizes: list[tuple[int, int]] | None = None,
        max_pixels: int | None = None,
    ) -> AlphaAt:
        """The float alpha of a pass of the network over the RGB uint8 ``rgb`` at an input
        size, at the network's resolution, for :mod:`modnet.pipeline.multiscale`. Input sizes
        that give the same network size (a long thin image is bounded by its pixel count) share
        one pass; ``stages``, if given, receives the seconds of preprocessing and forward passes,
        ``sizes`` the network size of each pass. ``max_pixels`` bounds every pass (by default
        each pass's own cap): a matte's passes share the cap of the ``input_size`` asked for, so
        that a long thin image's passes keep one size and share it."""

        @functools.cache
        def network_alpha(size: tuple[int, int]) -> np.ndarray:
            if sizes is not None:
                sizes.append(size)
            return self._alpha(rgb, size, stages)

        return lambda input_size: network_alpha(
            network_size(*rgb.shape[:2], input_size, max_pixels)
        )

    def _alpha(
        self, rgb: np.ndarray, size: tuple[int, int], stages: dict[str, float] | None = None
    ) -> np.ndarray:
        """The network's float alpha for ``rgb`` at ``size`` (height, width); adds the seconds
        spent preparing the input and running the network to ``stages``, if given."""
        start = time.perf_counter()
        x = network_input(rgb, size)
        preprocessed = time.perf_counter()
        alpha = self.network(x)[0, 0]
        if not np.isfinite(alpha).all():
            raise NonFiniteOutputError.for_output()
        if stages is not None:
            stages["preprocess"] += preprocessed - start
            stages["forward"] += time.perf_counter() - preprocessed
        return alpha
