"""The frames of a video file, read one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """The frames of the video file ``path`` in order, as H x W x 3 RGB uint8 arrays;
    ValueError if OpenCV cannot open it as a video."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"frames: cannot open {path} as a video")
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield np.ascontiguousarray(frame[..., ::-1])
    finally:
        capture.release()
