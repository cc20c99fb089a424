"""Photo in, alpha matte out: the inference pipeline around the network."""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .backends import check_backend, create_runner
from .checkpoint_file import check_checkpoint_file
from .errors import NonFiniteOutputError
from .image import network_size, shrinks, to_rgb_uint8
from .limits import INPUT_SIZE_MAX, STRIDE

DEFAULT_INPUT_SIZE = 512
DEFAULT_THRESHOLD = 0.5
INPUT_SIZES = (
    f"a multiple of {STRIDE} from {STRIDE} to {INPUT_SIZE_MAX} (e.g. {DEFAULT_INPUT_SIZE})"
)


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
    """The RGB image that was matted and its alpha matte (uint8, same height and width)."""

    image: np.ndarray
    matte: np.ndarray

    def cutout(self) -> np.ndarray:
        """H x W x 4 RGBA uint8: the image's colours with the matte as alpha."""
        return np.dstack((self.image, self.matte))

    def mask(self, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        """H x W uint8, 1 where ``matte / 255 >= threshold`` (person), else 0 (background)."""
        level = math.ceil(check_threshold(threshold) * 255)
        return (self.matte >= level).view(np.uint8)


class MattingSession:
    """MODNet loaded once on a device, ready to matte any number of images.

    ``backend``: ``torch``, ``onnxruntime`` (an export of the same weights, cached in
    ``cache_dir`` and checked against PyTorch) or ``auto`` (ONNX Runtime on the CPU, PyTorch on
    a GPU). With PyTorch on a GPU the whole pipeline runs there, in IEEE float32 (see
    :mod:`modnet.torch_runner`).
    """

    def __init__(
        self,
        weights: str | Path,
        device: str = "cpu",
        backend: str = "auto",
        cache_dir: str | Path | None = None,
    ) -> None:
        check_backend(backend)
        self.device = str(device)
        # Checked before any backend is tried: a missing file is not a reason to fall back.
        self.weights = check_checkpoint_file(weights)
        cache = Path(cache_dir) if cache_dir is not None else None
        self.network = create_runner(backend, self.weights, self.device, cache)
        self.backend: str = self.network.name
        # On a GPU, PyTorch resizes and normalises too, so tensors stay on the device.
        self.on_device = self.backend == "torch" and self.device != "cpu"

    def predict(
        self,
        image: np.ndarray,
        input_size: int = DEFAULT_INPUT_SIZE,
        timings: dict[str, float] | None = None,
    ) -> MattingResult:
        """Mattes one image (see :func:`modnet.image.to_rgb_uint8` for the accepted formats).

        ``timings``, if given, receives the seconds spent in each stage: ``preprocess``,
        ``forward`` and ``postprocess``.
        """
        start = time.perf_counter()
        input_size = check_input_size(input_size)
        rgb = to_rgb_uint8(image)
        size = network_size(*rgb.shape[:2], input_size)
        prepared = time.perf_counter()
        pipeline = self.network.matte if self.on_device else self._host_matte
        try:
            matte = pipeline(rgb, size, timings)
        except NonFiniteOutputError as error:
            raise NonFiniteOutputError(f"{self.weights}: {error}") from None
        if timings is not None:
            # Validation and colour conversion count as preprocessing.
            timings["preprocess"] += prepared - start
        return MattingResult(image=rgb, matte=matte)

    def _host_matte(
        self, rgb: np.ndarray, size: tuple[int, int], timings: dict[str, float] | None
    ) -> np.ndarray:
        start = time.perf_counter()
        height, width = rgb.shape[:2]
        # Shrinking the uint8 image before it becomes a tensor keeps the work proportional to the
        # network's size rather than the photo's. A photo smaller than that is enlarged in float:
        # OpenCV's uint8 bilinear rounds to 11-bit weights that the GPU path cannot reproduce.
        source = rgb if shrinks(rgb.shape, size) else rgb.astype(np.float32)
        small = _resize(source, size[1], size[0])
        x = np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32)
        x /= 127.5
        x -= 1.0
        preprocessed = time.perf_counter()
        alpha = self.network(x)[0, 0]
        forwarded = time.perf_counter()
        if not np.isfinite(alpha).all():
            raise NonFiniteOutputError.for_output()
        matte = _resize(np.rint(alpha * 255.0).astype(np.uint8), width, height)
        if timings is not None:
            timings["preprocess"] = preprocessed - start
            timings["forward"] = forwarded - preprocessed
            timings["postprocess"] = time.perf_counter() - forwarded
        return matte


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    interpolation = cv2.INTER_AREA if shrinks(image.shape, (height, width)) else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)
