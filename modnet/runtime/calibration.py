"""The images INT8 is calibrated on: only what the plugin ships in ``samples/``.

The sample photo and frames of the sample clip (a pan over the same photo), then crops of 50% to
100% of each side of them, half of them flipped, drawn from a fixed seed so that every machine
builds the same model. Each is prepared as the session prepares a photo at the default input
size. (Calibrating at 512, 256, 384 and 768 in turn moved the sample's matte less from float32
at every size, but the 41 dev photos' MSE and MAD at 512 by +2.0% each, against -0.5% and +0.3%
here.) The evaluation photos are never among them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..frames import video_frames
from ..image import network_input, network_size

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PHOTO, CLIP = "astronaut.png", "astronaut_pan.mp4"
CLIP_FRAMES = 12
CALIBRATION_IMAGES = 48
SEED = 0
# The session's default input size, where the network spends most of its use.
INPUT_SIZE = 512


def _read_photo(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"int8: cannot read the calibration photo {path}")
    return np.ascontiguousarray(bgr[..., ::-1])


def _clip_frames(path: Path, count: int) -> list[np.ndarray]:
    """``count`` RGB frames spread evenly over the clip ``path``, first and last included."""
    frames = list(video_frames(path))
    if not frames:
        raise FileNotFoundError(f"int8: cannot read the calibration clip {path}")
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in picks]


def calibration_images(
    samples: Path = SAMPLES, count: int = CALIBRATION_IMAGES, seed: int = SEED
) -> Iterator[np.ndarray]:
    """``count`` RGB uint8 images: the sample photo and frames of the clip, then seeded crops
    and flips of them."""
    sources = [_read_photo(samples / PHOTO), *_clip_frames(samples / CLIP, CLIP_FRAMES)]
    rng = np.random.default_rng(seed)
    for index in range(count):
        image = sources[index % len(sources)]
        if index >= len(sources):
            h, w = image.shape[:2]
            ch, cw = (int(side * rng.uniform(0.5, 1.0)) for side in (h, w))
            top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
            image = image[top : top + ch, left : left + cw]
            if rng.random() < 0.5:
                image = image[:, ::-1]
        yield np.ascontiguousarray(image)


def calibration_inputs(
    samples: Path = SAMPLES, count: int = CALIBRATION_IMAGES
) -> list[np.ndarray]:
    """The network's inputs for :func:`calibration_images`, at the default input size."""
    return [
        network_input(rgb, network_size(*rgb.shape[:2], INPUT_SIZE))
        for rgb in calibration_images(samples, count)
    ]
