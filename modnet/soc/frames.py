"""Unlabeled frames for SOC: a video file, a folder of images or arrays, at a working size."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ..frames import video_frames
from ..image import network_size, to_rgb_uint8
from ..pipeline.session import check_input_size

IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
FrameSource = str | os.PathLike[str] | Iterable[np.ndarray]


def _image_frames(paths: list[Path]) -> Iterator[np.ndarray]:
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"frames: cannot read {path} as an image")
        yield np.ascontiguousarray(image[..., ::-1])


def _folder_frames(folder: Path) -> Iterator[np.ndarray]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"frames: {folder} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    return _image_frames(paths)


def iterate_frames(source: FrameSource) -> Iterator[np.ndarray]:
    """RGB uint8 frames of ``source``: a video file, an image file, a folder of images (in name
    order) or an iterable of images (see :func:`modnet.to_rgb_uint8` for the accepted arrays)."""
    if isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
        if path.is_dir():
            return _folder_frames(path)
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            return _image_frames([path])
        if path.is_file():
            return video_frames(path)
        raise FileNotFoundError(f"frames: no such video file or folder: {path}")
    if isinstance(source, np.ndarray) and source.ndim == 3:
        raise ValueError("frames: expected several images (a 4-D array or a list), got one image")
    return (to_rgb_uint8(image) for image in source)


def check_working_size(working_size: int) -> int:
    """Validates the frames' short side while adapting: as an input size (a multiple of 32)."""
    try:
        return check_input_size(working_size)
    except ValueError as error:
        raise ValueError(str(error).replace("input_size", "working_size", 1)) from None


def read_frames(
    source: FrameSource, working_size: int, max_frames: int | None = None
) -> list[np.ndarray]:
    """At most ``max_frames`` frames of ``source``, each area-resized so that its short side
    is ``working_size`` (a multiple of 32), its sides floored to multiples of 32."""
    working_size = check_working_size(working_size)
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames: expected an integer >= 1 or None, got {max_frames}")
    frames = []
    for frame in iterate_frames(source):
        height, width = network_size(*frame.shape[:2], working_size)
        frames.append(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
        if max_frames is not None and len(frames) == max_frames:
            break
    if not frames:
        raise ValueError(f"frames: {source!r} holds no frame")
    return frames


def to_tensor_batch(frames: list[np.ndarray]) -> np.ndarray:
    """N x 3 x H x W float32 in [-1, 1], the network's input, from RGB uint8 frames."""
    batch = np.stack(frames).transpose(0, 3, 1, 2).astype(np.float32)
    return batch / 127.5 - 1.0
