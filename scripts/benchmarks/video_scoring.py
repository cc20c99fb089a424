"""How the video benchmarks score mattes over frames: clips (synthetic, with exact ground truth
and motion, or real files), the previous alpha warped along a flow or the exact motion, and
per-frame MSE, MAD and flow-aligned flicker (defined in ``benchmark_video.py``)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from synthetic_clips import SyntheticClip


@dataclass
class Clip:
    """Frames (RGB uint8) in order; with ground truth, the exact matte and motion of each."""

    name: str
    frames: Callable[[], Iterator[np.ndarray]]
    truth: Callable[[int], np.ndarray] | None = None
    # 2 x 3 affine map from output pixels of frame t to those of frame t - 1.
    motion: Callable[[int], np.ndarray] | None = None


def synthetic(clip: SyntheticClip) -> Clip:
    motion = (lambda t: clip.motion(t, t - 1)) if clip.rigid else None
    return Clip(clip.name, clip.frames, clip.truth, motion)


def video(path: Path) -> Clip:
    from modnet.frames import video_frames

    return Clip(path.name, lambda: video_frames(path))


# --- measures -------------------------------------------------------------------------------


class Warper:
    """Pulls the previous frame's alpha onto the current frame, along a flow or an affine map,
    with the mask of pixels whose source lies inside the previous frame."""

    def __init__(self, height: int, width: int) -> None:
        self.size = (width, height)
        self.x, self.y = np.meshgrid(
            np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
        )

    def along_flow(self, alpha: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._remap(alpha, self.x + flow[..., 0], self.y + flow[..., 1])

    def along_affine(self, alpha: np.ndarray, motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        (a, b, c), (d, e, f) = motion.astype(np.float32)
        return self._remap(alpha, a * self.x + b * self.y + c, d * self.x + e * self.y + f)

    def _remap(self, alpha: np.ndarray, x: np.ndarray, y: np.ndarray):
        width, height = self.size
        inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        return cv2.remap(alpha, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), inside


def mean_abs_inside(a: np.ndarray, b: np.ndarray, inside: np.ndarray) -> float:
    return float(np.abs(a - b)[inside].mean())


@dataclass
class Scores:
    """One method's measures on each frame of one clip."""

    squared: list[float] = field(default_factory=list)
    absolute: list[float] = field(default_factory=list)
    flicker: list[float] = field(default_factory=list)
    exact_flicker: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def row(self) -> dict[str, float]:
        values = {
            "MSE": self.squared,
            "MAD": self.absolute,
            "flicker": self.flicker,
            "exact-motion flicker": self.exact_flicker,
        }
        row = {name: float(np.mean(v)) for name, v in values.items() if v}
        if self.seconds:
            row["ms/frame"] = 1e3 * statistics.median(self.seconds)
        return row


class Judge:
    """Scores the filtered mattes of frame t, in frame order, against frame t - 1's."""

    def __init__(self, clip: Clip, height: int, width: int) -> None:
        self.clip = clip
        self.warper = Warper(height, width)
        self.scores = Scores()
        self.previous: np.ndarray | None = None
        self.frame = 0

    def score(
        self, alpha: np.ndarray, flows: dict[int, np.ndarray], truths: dict[int, np.ndarray]
    ) -> None:
        """Scores ``alpha`` (in [0, 1]) as the next frame's."""
        alpha = alpha.astype(np.float32)
        t = self.frame
        if t in truths:
            error = alpha - truths[t]
            self.scores.squared.append(float(np.mean(error * error)))
            self.scores.absolute.append(float(np.mean(np.abs(error))))
        if self.previous is not None:
            warped, inside = self.warper.along_flow(self.previous, flows[t])
            self.scores.flicker.append(mean_abs_inside(alpha, warped, inside))
            if self.clip.motion is not None:
                warped, inside = self.warper.along_affine(self.previous, self.clip.motion(t))
                self.scores.exact_flicker.append(mean_abs_inside(alpha, warped, inside))
        self.previous = alpha
        self.frame += 1
