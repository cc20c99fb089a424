"""Synthetic portrait videos with exact ground truth: a virtual camera moving over a still photo.

Each frame is the photo seen through a crop window (centre, width, tilt) resampled to the
output size; the ground-truth matte is the photo's matte through the same window, so every
frame has an exact matte. The camera pans, zooms or shakes like a hand-held phone: every pair of
frames then has an exact motion too (an affine map). Or the person sways in front of a still
backdrop (another photo): the person is composited over it with the exact matte, so the frame
has moving edges over a still background, as a talking head has, and still an exact matte.
A little sensor noise is added to each frame, as a camera would, so that no two frames are
identical even where nothing moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MOTIONS = ("pan", "zoom", "jitter", "sway")
NOISE_SIGMA = 2.0  # grey levels, per channel and frame

# The still window fills this share of the largest window of the output's shape in the photo,
# which leaves room to pan and shake without leaving it.
WINDOW_SHARE = 0.75
PAN_SPAN = 0.25  # the window's centre travels this share of its width, left to right
ZOOM_END = 0.6  # the window's width at the last frame, relative to the first (zooming in)
JITTER_SHIFT = 0.006  # standard deviation of the shake, as a share of the window's width
JITTER_TILT_DEG = 0.4
JITTER_SCALE = 0.004
JITTER_MEMORY = 0.6  # AR(1) coefficient: a shake is smoother than white noise
SWAY_SHIFT = 0.04  # amplitude of the sway, as a share of the window's width
SWAY_PERIOD = 40  # frames
BACKDROP_CELL = 8  # pixels


@dataclass(frozen=True)
class Window:
    """A crop window in photo pixel coordinates: centre, width and tilt (degrees)."""

    cx: float
    cy: float
    width: float
    tilt: float = 0.0


@dataclass(frozen=True)
class SyntheticClip:
    """Frames of a virtual camera over ``photo``; ``frame(t)`` and ``truth(t)`` render them."""

    name: str
    photo: np.ndarray  # RGB uint8, already reduced to the clip's finest sampling
    alpha: np.ndarray  # float32 in [0, 1], same size
    windows: tuple[Window, ...]  # in ``photo`` pixel coordinates
    size: tuple[int, int]  # output width, height
    seed: int
    backdrop: np.ndarray | None = None  # float32 RGB of the output's size, behind the person

    @property
    def rigid(self) -> bool:
        """Whether the whole frame moves as one (no backdrop): then ``motion`` is exact."""
        return self.backdrop is None

    def __len__(self) -> int:
        return len(self.windows)

    def to_photo(self, t: int) -> np.ndarray:
        """2 x 3 affine map from output pixel (x, y) of frame ``t`` to photo coordinates."""
        window, (width, height) = self.windows[t], self.size
        scale = window.width / width
        angle = np.deg2rad(window.tilt)
        rotation = scale * np.array(
            [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
        )
        # Pixel centres: output (x + 0.5) maps around the window's centre.
        centre = np.array([(width - 1) / 2, (height - 1) / 2])
        offset = np.array([window.cx, window.cy]) - rotation @ centre
        return np.hstack((rotation, offset[:, None]))

    def motion(self, t: int, s: int) -> np.ndarray:
        """2 x 3 affine map from output pixels of frame ``t`` to output pixels of frame ``s``:
        the exact optical flow between the two frames of a rigid clip (of the person alone
        otherwise)."""
        to_s = np.vstack((self.to_photo(s), (0.0, 0.0, 1.0)))
        to_t = np.vstack((self.to_photo(t), (0.0, 0.0, 1.0)))
        return (np.linalg.inv(to_s) @ to_t)[:2]

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t``: RGB uint8 with the clip's sensor noise (the same on every call)."""
        clean = self._render(self.photo, t).astype(np.float32)
        if self.backdrop is not None:
            alpha = self.truth(t)[..., None]
            clean = alpha * clean + (1.0 - alpha) * self.backdrop
        noise = np.random.default_rng((self.seed, t)).normal(0.0, NOISE_SIGMA, clean.shape)
        return np.clip(np.rint(clean + noise), 0, 255).astype(np.uint8)

    def truth(self, t: int) -> np.ndarray:
        """The exact matte of frame ``t``: float32 in [0, 1]."""
        return np.clip(self._render(self.alpha, t), 0.0, 1.0)

    def frames(self) -> Iterator[np.ndarray]:
        return (self.frame(t) for t in range(len(self)))

    def _render(self, image: np.ndarray, t: int) -> np.ndarray:
        to_photo = self.to_photo(t)
        shrink = self.windows[t].width / self.size[0]
        if shrink > 1.0:
            # Area-filter the photo to the frame's sampling first, as a lens and sensor would:
            # a bilinear warp alone would alias when it shrinks.
            target = (round(image.shape[1] / shrink), round(image.shape[0] / shrink))
            sx, sy = target[0] / image.shape[1], target[1] / image.shape[0]
            image = cv2.resize(image, target, interpolation=cv2.INTER_AREA)
            to_photo = np.diag((sx, sy)) @ to_photo
            to_photo[:, 2] += (0.5 * sx - 0.5, 0.5 * sy - 0.5)
        return cv2.warpAffine(
            image,
            to_photo,
            self.size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT101,
        )


def camera_path(motion: str, frames: int, base: Window, seed: int) -> list[Window]:
    """The windows of a ``motion`` ("pan", "zoom" or "jitter") around the still window ``base``."""
    u = np.linspace(0.0, 1.0, frames)
    if motion == "pan":
        # Eased at both ends, as a camera operator starts and stops a pan.
        travel = (0.5 - 0.5 * np.cos(np.pi * u) - 0.5) * PAN_SPAN * base.width
        return [Window(base.cx + dx, base.cy, base.width) for dx in travel]
    if motion == "zoom":
        widths = base.width * ZOOM_END ** (0.5 - 0.5 * np.cos(np.pi * u))
        return [Window(base.cx, base.cy, w) for w in widths]
    if motion == "sway":
        phase = 2.0 * np.pi * np.arange(frames) / SWAY_PERIOD
        shift = SWAY_SHIFT * base.width
        return [
            Window(base.cx + shift * np.sin(p), base.cy + 0.25 * shift * np.sin(2 * p), base.width)
            for p in phase
        ]
    if motion == "jitter":
        rng = np.random.default_rng(seed)
        shake = np.zeros((frames, 4))
        innovation = np.sqrt(1.0 - JITTER_MEMORY**2)
        for t in range(frames):
            previous = shake[t - 1] if t else rng.normal(size=4) / innovation
            shake[t] = JITTER_MEMORY * previous + innovation * rng.normal(size=4)
        return [
            Window(
                base.cx + dx * JITTER_SHIFT * base.width,
                base.cy + dy * JITTER_SHIFT * base.width,
                base.width * (1.0 + ds * JITTER_SCALE),
                dr * JITTER_TILT_DEG,
            )
            for dx, dy, dr, ds in shake
        ]
    raise ValueError(f"motion: expected one of {', '.join(MOTIONS)}, got {motion!r}")


def inside(windows: list[Window], width: int, height: int, aspect: float) -> list[Window]:
    """``windows`` shifted together, as little as possible, to lie inside a width x height photo
    (``aspect``: window height / width; tilts are small enough for the border to cover)."""

    def shift(low: float, high: float, limit: int) -> float:
        return -low if low < 0 else min(0.0, limit - high)

    dx = shift(
        min(w.cx - w.width / 2 for w in windows), max(w.cx + w.width / 2 for w in windows), width
    )
    dy = shift(
        min(w.cy - w.width * aspect / 2 for w in windows),
        max(w.cy + w.width * aspect / 2 for w in windows),
        height,
    )
    return [Window(w.cx + dx, w.cy + dy, w.width, w.tilt) for w in windows]


def read_backdrop(image_path: Path, alpha_path: Path, size: tuple[int, int]) -> np.ndarray:
    """The largest region of the photo without a person (matte <= 2% everywhere) that has the
    shape of ``size``, area-resized to ``size``: float32 RGB."""
    photo = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    alpha = cv2.imread(str(alpha_path), cv2.IMREAD_GRAYSCALE)
    if photo is None or alpha is None:
        raise FileNotFoundError(f"cannot read {image_path} or {alpha_path}")
    # Searched on a grid of BACKDROP_CELL pixels: a cell with any person in it is taken.
    cells = cv2.resize(
        (alpha > 5).astype(np.uint8),
        (alpha.shape[1] // BACKDROP_CELL, alpha.shape[0] // BACKDROP_CELL),
        interpolation=cv2.INTER_AREA,
    )
    taken = cv2.integral((cells > 0).astype(np.uint8))
    out_w, out_h = size
    for width in range(cells.shape[1], 0, -1):
        height = width * out_h // out_w
        if height == 0 or height > cells.shape[0]:
            continue
        count = (
            taken[height:, width:] - taken[:-height, width:] - taken[height:, :-width]
        ) + taken[:-height, :-width]
        free = np.argwhere(count == 0)
        if len(free):
            y, x = free[0] * BACKDROP_CELL
            region = photo[y : y + height * BACKDROP_CELL, x : x + width * BACKDROP_CELL]
            region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
            return region[..., ::-1].astype(np.float32)
    raise ValueError(f"{image_path} has no region without a person")


def synthetic_clip(
    image_path: Path,
    alpha_path: Path,
    motion: str,
    frames: int = 64,
    size: tuple[int, int] = (1280, 720),
    seed: int = 0,
    backdrop: tuple[Path, Path] | None = None,
) -> SyntheticClip:
    """A clip of ``frames`` frames of ``size`` (width, height) over a photo and its matte; a
    "sway" puts the person in front of the part without a person of another photo, given as
    ``backdrop`` (image path, alpha path).

    The still window is centred on the upper part of the person (the bounding box of
    matte > 0.5), higher for the zoom, which closes in on the face; the camera's whole path is
    kept inside the photo.
    """
    photo = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    alpha = cv2.imread(str(alpha_path), cv2.IMREAD_GRAYSCALE)
    if photo is None or alpha is None:
        raise FileNotFoundError(f"cannot read {image_path} or {alpha_path}")
    height, width = alpha.shape
    out_w, out_h = size
    base_width = WINDOW_SHARE * min(width, height * out_w / out_h)
    ys, xs = np.nonzero(alpha > 127)
    cx = (xs.min() + xs.max()) / 2
    cy = ys.min() + (0.25 if motion == "zoom" else 0.35) * (ys.max() - ys.min())
    windows = inside(
        camera_path(motion, frames, Window(cx, cy, base_width), seed), width, height, out_h / out_w
    )

    # Sample the photo once, with an area filter, at the finest resolution the clip needs:
    # the per-frame bilinear warp then never shrinks by much, so frames do not alias.
    reduce = min(1.0, out_w / min(w.width for w in windows))
    if reduce < 1.0:
        target = (round(width * reduce), round(height * reduce))
        photo = cv2.resize(photo, target, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, target, interpolation=cv2.INTER_AREA)
        sx, sy = target[0] / width, target[1] / height
        windows = [
            Window((w.cx + 0.5) * sx - 0.5, (w.cy + 0.5) * sy - 0.5, w.width * sx, w.tilt)
            for w in windows
        ]
    if motion == "sway" and backdrop is None:
        raise ValueError("a sway needs a backdrop photo")
    return SyntheticClip(
        name=f"{image_path.stem[:11]} {motion}",
        photo=np.ascontiguousarray(photo[..., ::-1]),
        alpha=alpha.astype(np.float32) / 255.0,
        windows=tuple(windows),
        size=size,
        seed=seed,
        backdrop=None if motion != "sway" else read_backdrop(*backdrop, size),
    )
